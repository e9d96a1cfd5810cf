"""Learning curves: the Curves type, its readers, and the x11-style surrogate."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import curves as C
from nar_utils.benchmarks import surrogate as S
from nar_utils.metrics import kendall_tau


def _family(num_cells: int = 120, num_epochs: int = 60, seed: int = 0):
    """Synthetic curves c - a * t**-alpha whose parameters are linear in 6 binary features,
    so a regressor from the features can learn every curve's shape."""
    rng = np.random.default_rng(seed)
    features = rng.integers(0, 2, size=(num_cells, 6)).astype(float)
    c = 60 + 30 * features[:, :3].mean(axis=1)
    a = 20 + 20 * features[:, 3]
    alpha = 0.4 + 0.4 * features[:, 4]
    t = np.arange(1, num_epochs + 1)
    values = c[:, None] - a[:, None] * t[None, :] ** -alpha[:, None]
    curves = C.Curves(t, values, np.ones_like(values, dtype=bool), np.arange(num_cells),
                      "cifar10-valid valid-accuracy", True, "synthetic")
    return curves, features


def test_curves_validate_their_shape_and_provenance():
    epochs = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="increasing positive ints"):
        C.Curves(np.array([1, 3, 2]), np.zeros((2, 3)), np.ones((2, 3), bool), np.arange(2),
                 "m", True, "s")
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        C.Curves(epochs, np.zeros((2, 4)), np.ones((2, 4), bool), np.arange(2), "m", True, "s")
    with pytest.raises(ValueError, match="marked real is NaN"):
        C.Curves(epochs, np.full((1, 3), np.nan), np.ones((1, 3), bool), [0], "m", True, "s")
    curves = C.Curves(epochs, [[1.0, 2.0, np.nan]], [[True, True, False]], [7], "m", True, "s")
    assert curves.real_fraction() == 1.0
    assert curves.upto(2).values.shape == (1, 2)
    with pytest.raises(ValueError, match="epoch 5 is not on this curve axis; valid: 1, 2, 3"):
        curves.at(5)
    with pytest.raises(KeyError, match="cell 3 has no curve"):
        curves.row_of(3)
    frame = curves.to_frame()
    assert list(frame.columns) == ["arch_index", "epoch", "value", "real"]
    assert frame["real"].tolist() == [True, True, False]


def test_real_nb201_curves_end_at_the_tables_validation_accuracy(data_dir, table):
    curves = C.read_nb201_curves(data_dir)
    assert curves.one_run and curves.epochs.tolist() == list(range(1, 201))
    assert curves.real.all() and len(curves) == 200
    expected = table.column("cifar10-valid", "valid-accuracy", "200")[curves.arch_index]
    np.testing.assert_allclose(curves.final, expected, atol=1e-5)
    train = C.read_nb201_curves(data_dir, metric="train")
    assert (train.final > curves.final).mean() > 0.9  # training accuracy ends higher


def test_schedule_readers_mark_separate_runs(data_dir, table):
    nb201 = C.nb201_schedules(table)
    assert not nb201.one_run and nb201.epochs.tolist() == [12, 200]
    np.testing.assert_array_equal(nb201.at(12), table.column("cifar10-valid",
                                                             "valid-accuracy", "12"))
    nb101 = C.nb101_schedules(data_dir)
    assert nb101.epochs.tolist() == [4, 12, 36, 108] and nb101.space == "nb101"
    assert 0 < np.nanmin(nb101.values) and np.nanmax(nb101.values) <= 100  # percent


def test_regenerated_curves_average_seeds_per_epoch(tmp_path):
    rows = [{"arch_index": 5, "dataset": "cifar10-valid", "hp": 200, "seed": seed,
             "epoch": e, "valid_acc": 10.0 * e + seed} for seed in (0, 2) for e in (1, 2)]
    rows.append({"arch_index": 6, "dataset": "cifar100", "hp": 200, "seed": 0, "epoch": 1,
                 "valid_acc": 1.0})
    (tmp_path / "nb201").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / C.REGENERATED_CURVES_RELPATH, index=False)
    curves = C.read_regenerated_curves(tmp_path)
    assert curves.arch_index.tolist() == [5]
    np.testing.assert_allclose(curves.values, [[11.0, 21.0]])
    with pytest.raises(ValueError, match="no curves of dataset 'ImageNet16-120'"):
        C.read_regenerated_curves(tmp_path, dataset="ImageNet16-120")
    with pytest.raises(FileNotFoundError, match="merge trained runs"):
        C.read_regenerated_curves(tmp_path / "elsewhere")


def test_svd_round_trip_on_real_curves(data_dir, table):
    curves = C.read_nb201_curves(data_dir)
    features = S.cell_features("nb201", table.op_codes[curves.arch_index])
    full = S.CurveSurrogate(num_components=len(curves) - 1, num_trees=5).fit(curves, features)
    np.testing.assert_allclose(full.reconstruct(curves.values), curves.values, atol=1e-8)
    six = S.CurveSurrogate(num_components=6, num_trees=5).fit(curves, features)
    error = np.sqrt(((six.reconstruct(curves.values) - curves.values) ** 2).mean())
    assert six.explained_variance().sum() > 0.98 and error < 2.5  # 1.9 points measured


def test_surrogate_reproduces_held_out_curves_of_a_synthetic_family():
    curves, features = _family()
    train, held = np.arange(100), np.arange(100, 120)
    model = S.CurveSurrogate(num_components=4, num_trees=400, min_child_samples=3).fit(
        curves.rows(train), features[train])
    predicted = model.mean_curves(features[held])
    rmse = np.sqrt(((predicted - curves.values[held]) ** 2).mean())
    assert rmse < 1.5, rmse  # the curves span about 40 points
    assert kendall_tau(curves.final[held], predicted[:, -1]) > 0.8
    pinned = model.mean_curves(features[held], final=curves.final[held])
    np.testing.assert_allclose(pinned[:, -1], curves.final[held], atol=1e-9)


def test_surrogate_noise_is_seeded_and_marked_surrogate():
    curves, features = _family()
    model = S.CurveSurrogate(num_components=3, num_trees=50).fit(curves, features)
    one = model.curves(np.arange(5), features[:5], seed=3)
    again = model.curves(np.arange(5), features[:5], seed=3)
    other = model.curves(np.arange(5), features[:5], seed=4)
    np.testing.assert_array_equal(one.values, again.values)
    assert not np.array_equal(one.values, other.values)
    assert not one.real.any()
    anchored = model.curves(np.arange(5), features[:5], final=curves.final[:5], seed=3)
    assert anchored.real[:, -1].all() and not anchored.real[:, :-1].any()
    np.testing.assert_array_equal(anchored.final, curves.final[:5])


def test_surrogate_refuses_mismatched_inputs():
    curves, features = _family()
    model = S.CurveSurrogate(num_components=3, num_trees=5).fit(curves, features)
    with pytest.raises(ValueError, match="fitted on 6 features and 0 anchor columns; got 5"):
        model.mean_curves(features[:, :5])
    with pytest.raises(ValueError, match="num_components must lie in"):
        S.CurveSurrogate(num_components=500).fit(curves, features)
    gappy = C.Curves(curves.epochs, np.where(np.arange(60) == 3, np.nan, curves.values),
                     np.where(np.arange(60) == 3, False, curves.real), curves.arch_index,
                     curves.metric, True, "gappy")
    with pytest.raises(ValueError, match="unknown values"):
        S.CurveSurrogate().fit(gappy, features)
    with pytest.raises(RuntimeError, match="not fitted"):
        S.CurveSurrogate().sample_noise(1)


def test_cross_validation_scores_held_out_cells_only():
    curves, features = _family(num_cells=80)
    quality = S.cross_validate(curves, features, folds=4, num_components=3, num_trees=200,
                               min_child_samples=3)
    assert quality.rmse_per_epoch.shape == (60,)
    assert quality.final_tau > 0.7 and quality.rmse < 3.0
    noisy = C.Curves(curves.epochs, curves.values + 5 * np.random.default_rng(0).standard_normal(
        curves.values.shape), curves.real, curves.arch_index, curves.metric, True, "noisy")
    worse = S.cross_validate(noisy, features, folds=4, num_components=3, num_trees=200,
                             min_child_samples=3)
    assert worse.noise_std_final > quality.noise_std_final


def test_nb211_keeps_real_curves_and_pins_every_final(data_dir, table):
    real = C.read_nb201_curves(data_dir)
    full = S.nb211(table, real, num_trees=20)
    assert len(full) == len(table) and full.one_run
    np.testing.assert_array_equal(full.values[real.arch_index], real.values)
    assert full.real[real.arch_index].all()
    others = np.setdiff1d(np.arange(len(table)), real.arch_index)
    assert full.real[others, -1].all() and not full.real[others, :-1].any()
    np.testing.assert_allclose(full.final, table.column("cifar10-valid", "valid-accuracy",
                                                        "200"))
