"""Predictor contract (fit / predict / rank / top_k, seeds) and the evaluation protocol."""
from __future__ import annotations

import numpy as np
import pytest

import nar_utils as nar
from nar_utils import metrics, predictors
from nar_utils.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_NAR = dict(n_layers=1, d_model=16, n_heads=2, d_ff=32, d_tier_hidden=16,
                d_aux_hidden=32, num_epochs=8, batch_size=64, warmup_steps=8)
#: Small but real training runs, a second or so each on one core.
TINY = {
    "nar": TINY_NAR,
    "narc": {**TINY_NAR, "ensemble": 2, "tier_epochs": 2},
    "mlp": dict(num_epochs=40, hidden=(64, 64)),
    "gbdt": dict(n_estimators=150),
    "renas": dict(num_epochs=15, hidden=16),
    "gcn": dict(num_epochs=25, hidden=32, n_layers=3),
    "brp": dict(num_epochs=15, hidden=32, n_layers=3),
}


def synthetic_task(n_train=300, n_test=300, seed=0):
    """Random NB201 cells and an accuracy that depends on their ops (additive per edge, plus
    a bonus for 3x3 convolutions on both edges into the output node)."""
    rng = np.random.default_rng(seed)
    codes = nb201.all_op_codes()[rng.choice(nb201.NUM_ARCHS, n_train + n_test,
                                             replace=False)].astype(np.int64)
    edge_op_value = rng.normal(size=(nb201.NUM_EDGES, nb201.NUM_OPS))
    y = edge_op_value[np.arange(nb201.NUM_EDGES), codes].sum(axis=1)
    y += 1.5 * ((codes[:, 4] == 3) & (codes[:, 5] == 3))
    return (codes[:n_train], y[:n_train]), (codes[n_train:], y[n_train:])


@pytest.fixture(scope="module")
def task():
    return synthetic_task()


@pytest.mark.parametrize("name", list(predictors.PREDICTORS))
def test_predictor_contract_and_seeds(name, task):
    (train_codes, train_y), (test_codes, test_y) = task
    make = lambda seed: predictors.make_predictor(  # noqa: E731
        name, dataset="cifar10-valid", seed=seed, **TINY[name])
    predictor = make(7)
    assert predictor.name == name and predictor.seed == 7 and predictor.device == "cpu"
    with pytest.raises(RuntimeError, match="not fitted"):
        predictor.predict(test_codes)
    assert predictor.fit(train_codes, train_y, val_archs=test_codes[:60],
                         val_y=test_y[:60]) is predictor
    assert predictor.fit_seconds > 0
    held_out = test_codes[60:]
    scores = predictor.predict(held_out)
    assert scores.shape == (len(held_out),) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    tau = metrics.kendall_tau(test_y[60:], scores)
    assert tau > 0.2, f"{name}: held-out Kendall tau {tau:.3f} is not clearly above random"
    order = predictor.rank(held_out)
    np.testing.assert_array_equal(order, np.argsort(-scores, kind="stable"))
    np.testing.assert_array_equal(predictor.top_k(held_out, 5), order[:5])
    # Arch strings work as well as op codes (compared at one batch size: float32 kernels may
    # sum in another order for another batch shape, so only the same shape is bit-exact).
    arch_strs = [nb201.format_arch_str(code) for code in held_out[:4]]
    np.testing.assert_array_equal(predictor.predict(arch_strs), predictor.predict(held_out[:4]))
    np.testing.assert_allclose(predictor.predict(held_out[:4]), scores[:4], rtol=1e-5,
                               atol=1e-5 * np.abs(scores).max())
    # Same seed, same predictions; another seed, other predictions.
    again = make(7).fit(train_codes, train_y, val_archs=test_codes[:60], val_y=test_y[:60])
    np.testing.assert_array_equal(again.predict(held_out), scores)
    other = make(8).fit(train_codes, train_y, val_archs=test_codes[:60], val_y=test_y[:60])
    assert not np.array_equal(other.predict(held_out), scores)


def test_fit_checks_its_input(task):
    (train_codes, train_y), _ = task
    predictor = predictors.MLPPredictor(num_epochs=1)
    with pytest.raises(ValueError, match=r"shape \(300,\)"):
        predictor.fit(train_codes, train_y[:-1])
    with pytest.raises(ValueError, match="both val_archs and val_y"):
        predictor.fit(train_codes, train_y, val_archs=train_codes)
    with pytest.raises(ValueError, match="NaN"):
        predictor.fit(train_codes, np.where(np.arange(300) == 3, np.nan, train_y))


def test_make_predictor_lists_valid_names():
    with pytest.raises(ValueError, match="valid: nar, narc, mlp, gbdt, renas, gcn, brp"):
        predictors.make_predictor("xgboost")
    with pytest.raises(ValueError, match="unknown dataset"):
        predictors.make_predictor("nar", dataset="cifar-10")
    with pytest.raises(ValueError, match="unknown ranking score"):
        predictors.make_predictor("nar", score="best")
    with pytest.raises(TypeError, match="seed must be an int"):
        predictors.make_predictor("mlp", seed="0")


def test_rank_targets_keep_order_and_resist_outliers():
    y = np.array([90.0, 10.0, 91.0, 89.0, 90.0])
    targets = predictors.rank_targets(y)
    assert targets.min() == -1 and targets.max() == 1
    assert metrics.kendall_tau(y, targets) == pytest.approx(1.0)
    assert targets[0] == targets[4]  # ties share a target
    assert targets[3] - targets[1] == pytest.approx(0.5)  # the outlier is one rank below


def test_split_indices_are_disjoint_and_seeded():
    train_idx, val_idx, test_idx = predictors.split_indices(100, 30, 20, seed=4)
    assert (len(train_idx), len(val_idx), len(test_idx)) == (30, 20, 50)
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, val_idx, test_idx])),
                                  np.arange(100))
    again = predictors.split_indices(100, 30, 20, seed=4)
    for a, b in zip((train_idx, val_idx, test_idx), again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(predictors.split_indices(100, 30, 20, seed=5)[0], train_idx)
    with pytest.raises(ValueError, match="exceeds n_total"):
        predictors.split_indices(100, 90, 20)


class _Oracle(predictors.Predictor):
    """Predicts a known function of the op codes (for checking :func:`evaluate`)."""

    name = "oracle"

    def _fit(self, codes, y, val_codes, val_y):
        pass

    def _predict(self, codes):
        return codes.sum(axis=1).astype(float) + codes[:, 0] * 0.01


def test_evaluate_scores_a_perfect_and_a_reversed_ranking():
    (codes, _), _ = synthetic_task(n_train=200, n_test=0, seed=1)
    oracle = _Oracle().fit(codes[:10], np.arange(10.0))
    truth = oracle.predict(codes)
    result = predictors.evaluate(oracle, codes, truth, -truth, ks=(10, 50))
    assert result["tau"] == pytest.approx(1.0) and result["rho"] == pytest.approx(1.0)
    assert result["precision@10"] == 1.0 and result["N@10"] == 1
    assert result["tau_test"] == pytest.approx(-1.0)
    assert result["tier_accuracy"] == 1.0
    assert {"predict_seconds", "fit_seconds", "precision@50", "N@50"} <= set(result)


def test_nar_learns_real_nb201_rankings(table):
    """A tiny NAR trained on 400 real NB201 labels ranks 2000 held-out cells (tau > 0.3)."""
    y = table.column("cifar10-valid", "valid-accuracy", hp="200")
    train_idx, val_idx, test_idx = predictors.split_indices(len(y), 400, 100, seed=0)
    codes = table.op_codes
    predictor = nar.predictors.NARPredictor("cifar10-valid", seed=0, **TINY_NAR)
    predictor.fit(codes[train_idx], y[train_idx], val_archs=codes[val_idx], val_y=y[val_idx])
    result = predictors.evaluate(predictor, codes[test_idx[:2000]], y[test_idx[:2000]])
    assert result["tau"] > 0.3, result
    details = predictor.predict_details(codes[test_idx[:5]])
    assert details["tier_probs"].shape == (5, 5)
    np.testing.assert_array_equal(details["score"], details["aux"])  # the default score


def test_narc_ranks_real_nb201_cells_and_sorts_them_into_tiers(table):
    """NAR-C, shortened (one model, 30 epochs), on 500 real NB201 labels: it ranks 2000
    held-out cells, and its tier stage sorts them into quintiles well above chance."""
    y = table.column("cifar10-valid", "valid-accuracy", hp="200")
    train_idx, val_idx, test_idx = predictors.split_indices(len(y), 500, 100, seed=0)
    codes = table.op_codes
    predictor = predictors.make_predictor("narc", seed=0, ensemble=1, num_epochs=30)
    assert (predictor.canonical, predictor.op_onehot) == ("function", True)
    predictor.fit(codes[train_idx], y[train_idx], val_archs=codes[val_idx], val_y=y[val_idx])
    test = test_idx[:2000]
    result = predictors.evaluate(predictor, codes[test], y[test])
    assert result["tau"] > 0.6, result
    tiers = predictor.predict_tiers(codes[test])
    accuracy = metrics.tier_accuracy(metrics.tiers_from_scores(y[test]), tiers)
    assert accuracy > 0.4, accuracy


def test_nar_predict_tiers_are_the_most_probable_tier():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, size=(96, 6))
    y = codes.sum(axis=1) + rng.normal(0, 0.1, size=96)
    nar = predictors.NARPredictor(dataset="cifar10-valid", seed=0, num_epochs=2, d_model=16,
                                  n_heads=2, d_ff=32, d_tier_hidden=16, d_aux_hidden=16,
                                  batch_size=32)
    nar.fit(codes, y)
    tiers = nar.predict_tiers(codes)
    assert tiers.shape == (96,) and tiers.min() >= 0 and tiers.max() < 5
    np.testing.assert_array_equal(tiers, nar.predict_details(codes)["tier_probs"].argmax(1))


@pytest.mark.parametrize("name", ["gbdt", "nar"])
def test_canonical_inputs_give_isomorphic_cells_one_prediction(name, task):
    (train_codes, train_y), (test_codes, _) = task
    predictor = predictors.make_predictor(name, dataset="cifar10-valid", canonical="function",
                                          **TINY[name])
    assert predictor.canonical == "function" and "canonical='function'" in repr(predictor)
    predictor.fit(train_codes, train_y)
    # Three cells that compute the same function: the edges into node 1 and 2 differ only
    # where node 2 never reaches the output.
    same = ["|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
            "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|",
            "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"]
    from nar_utils.spaces.nb201 import isomorphism

    assert len(set(isomorphism.class_ids(same, "function"))) == 1
    scores = predictor.predict(same)
    assert scores[0] == scores[1] == scores[2]
    # The plain predictor tells them apart (it reads the dead edges' ops).
    plain = predictors.make_predictor(name, dataset="cifar10-valid", **TINY[name])
    assert len(set(plain.fit(train_codes, train_y).predict(same))) > 1
    if name == "nar":  # the tier read-out goes through the same canonical inputs
        tiers = predictor.predict_tiers(same)
        assert tiers[0] == tiers[1] == tiers[2]


def test_canonical_conventions_are_checked_per_space():
    with pytest.raises(ValueError, match="no isomorphism convention 'graphs'; it has nb201, "
                                         "function, graph"):
        predictors.make_predictor("gbdt", canonical="graphs")
    with pytest.raises(ValueError, match="'nb101' has no isomorphism convention 'function'; "
                                         "it has none: its cells are unique"):
        predictors.make_predictor("gbdt", space="nb101", canonical="function")
    space = nar.spaces.get_space("nb201")
    codes = nb201.all_op_codes().astype(np.int64)
    canonical = space.canonical(codes, "function")
    assert len(np.unique(canonical, axis=0)) == 4930  # the 'function' classes
    np.testing.assert_array_equal(space.canonical(canonical, "function"), canonical)
    assert space.canonical(codes, None) is codes


@pytest.mark.parametrize("space, archs, shape", [
    ("nb201", ["|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"],
     (1, 36, 4, 4)),
    ("nb101", None, (1, 23, 7, 7)),
])
def test_one_hot_op_channels_come_before_the_feature_tensor(space, archs, shape):
    if archs is None:  # a 3-vertex NB101 cell: input -> conv3x3 -> output
        archs = nar.spaces.nb101.pack_strings(["010|001|000"], ["-1,0,-2"])
    dataset = "cifar10-valid" if space == "nb201" else "cifar10"
    plain = predictors.make_predictor("nar", space=space, dataset=dataset)
    onehot = predictors.make_predictor("nar", space=space, dataset=dataset, op_onehot=True)
    features = onehot.features(archs)
    assert features.shape == shape and onehot.model_config.n_patches == shape[1]
    k = shape[1] - plain.model_config.n_patches
    np.testing.assert_array_equal(features[:, k:], plain.features(archs))
    channels = features[0, :k]
    assert set(np.unique(channels)) <= {0.0, 1.0}
    if space == "nb201":  # one op per edge: the channels sum to the upper triangle
        np.testing.assert_array_equal(channels.sum(axis=0), np.triu(np.ones((4, 4)), 1))
        assert channels[3, 0, 1] == 1 and channels[1, 0, 2] == 1 and channels[0, 1, 2] == 1
    else:  # edge 0 -> 1 feeds the conv3x3, edge 1 -> 2 the output
        assert channels[0, 0, 1] == 1 and channels[3, 1, 2] == 1 and channels.sum() == 2
