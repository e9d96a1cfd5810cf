"""NB101 encodings, predictors on NB101 cells, and searches over the NB101 subset."""
import numpy as np
import pandas as pd
import pytest

import nar_utils as nar
from nar_utils.spaces import nb101
from nar_utils.spaces.nb101 import cellinfo as nb101_cellinfo
from nar_utils.spaces.nb101 import encoding as nb101_encoding

# input -> conv3x3 -> output, input -> output (3 vertices), and a 5-vertex cell
SMALL = pd.DataFrame({
    "adjacency": ["011|001|000", "01100|00010|00010|00001|00000"],
    "ops_labels": ["-1,0,-2", "-1,1,2,0,-2"],
})


@pytest.fixture(autouse=True, scope="module")
def _torch_threads(one_torch_thread):
    """Every test here runs torch on one thread (see conftest)."""


@pytest.fixture(scope="module")
def small() -> np.ndarray:
    return nb101.pack_strings(SMALL["adjacency"], SMALL["ops_labels"])


@pytest.fixture(scope="module")
def subset(data_dir):
    path = data_dir / nar.benchmarks.nb101.SUBSET_RELPATH
    if not path.is_file():
        pytest.skip(f"no NB101 subset at {path}")
    return nar.benchmarks.nb101.load_nb101(data_dir)


@pytest.fixture(scope="module")
def view(subset):
    return nar.benchmarks.nb101.LedgerView(subset)


def test_feature_tensor_layout_and_padding(small):
    tensor = nb101_encoding.feature_tensor(small)
    assert tensor.shape == (2, 19, 7, 7) and tensor.dtype == np.float32
    # the 3-vertex cell: everything outside its 3x3 corner is zero padding
    assert not tensor[0, :, 3:, :].any() and not tensor[0, :, :, 3:].any()
    assert not tensor[1, :, 5:, :].any() and not tensor[1, :, :, 5:].any()
    # default scaling: op channel in [-1, 1], costs in [0, 1)
    assert np.abs(tensor[:, 0]).max() <= 1.0
    assert tensor[:, 1:].min() >= 0.0 and tensor[:, 1:].max() < 1.0


def test_faithful_tensor_holds_raw_codes_and_costs(small):
    raw = nb101_encoding.feature_tensor(small, faithful=True)
    matrices, labels = nb101_encoding.unpack(small)
    flops, params = nb101_cellinfo.cell_info_arrays(matrices, labels)
    # edge 0 -> 1 of the first cell feeds the conv3x3 (code 1); 0 -> 2 and 1 -> 2 the output
    assert raw[0, 0, 0, 1] == 1 and raw[0, 0, 0, 2] == 4 and raw[0, 0, 1, 2] == 4
    assert raw[0, 0, 1, 0] == 0  # faithful: nothing in the lower triangle
    for m in range(9):  # a vertex's costs sit on every edge that feeds it
        assert raw[1, 1 + 2 * m, 0, 1] == flops[1, m, 1]
        assert raw[1, 2 + 2 * m, 1, 3] == params[1, m, 3]
        assert raw[1, 1 + 2 * m, 2, 3] == flops[1, m, 3]


def test_default_op_channel_tells_every_type_apart(small):
    matrix = nb101_encoding.op_type_matrix(small)
    first = {(matrix[1, i, j], matrix[1, j, i]) for i, j in [(0, 1), (1, 3), (3, 4), (0, 2)]}
    assert len(first) == 4  # conv1x1, conv3x3, output, maxpool: four distinct points
    assert matrix[1, 0, 3] == 0 and matrix[1, 3, 0] == 0  # no edge 0 -> 3


def test_adjacency_onehot_and_graph(small):
    flat = nb101_encoding.adjacency_onehot(small)
    assert flat.shape == (2, 36)
    assert flat[0, :21].sum() == 3 and flat[1, :21].sum() == 5
    assert flat[0, 21:].tolist()[:3] == [1, 0, 0] and flat[0, 24:].sum() == 0
    adjacency, types = nb101_encoding.graph_encoding(small)
    assert types.shape == (2, 7, 5)
    assert types[0, 2, 4] == 1 and not types[0, 3:].any()  # output at slot 2, then padding
    assert adjacency[1].sum() == 5


def test_path_encoding_by_hand(small):
    paths = nb101_encoding.path_encoding(small)
    names = nb101_encoding.path_feature_names()
    assert paths.shape == (2, nb101_encoding.NUM_PATH_FEATURES) == (2, 364)
    on = lambda row: sorted(names[k] for k in np.flatnonzero(paths[row]))  # noqa: E731
    assert on(0) == ["", "conv3x3-bn-relu"]
    assert on(1) == ["conv1x1-bn-relu>conv3x3-bn-relu", "maxpool3x3>conv3x3-bn-relu"]


def test_unpack_rejects_bad_input():
    with pytest.raises(ValueError, match="56"):
        nb101_encoding.unpack(np.zeros((2, 30), dtype=np.int64))
    bad = nb101.pack_strings(SMALL["adjacency"], SMALL["ops_labels"])
    bad[0, 49 + 1] = 7
    with pytest.raises(ValueError, match="vertex label 7"):
        nb101_encoding.unpack(bad)


def test_encodings_of_the_whole_subset(subset, view):
    tensor = nb101_encoding.feature_tensor(view.archs[:2000])
    assert tensor.shape == (2000, 19, 7, 7) and np.isfinite(tensor).all()
    assert nb101_encoding.path_encoding(view.archs[:2000]).sum(axis=1).min() >= 1


@pytest.mark.parametrize("name", ["gbdt", "mlp", "renas", "gcn", "brp", "nar"])
def test_every_predictor_learns_nb101(view, name):
    y = view.column("cifar10", "valid-accuracy", "108")
    train, val, test = nar.split_indices(len(view), 300, 60, seed=0)
    test = test[:3000]
    small_sizes = {"mlp": {"num_epochs": 30}, "renas": {"num_epochs": 8},
                   "gcn": {"num_epochs": 15},
                   "brp": {"num_epochs": 15, "hidden": 64}, "nar": {"num_epochs": 6}, "gbdt": {}}
    predictor = nar.make_predictor(name, space="nb101", dataset="cifar10", seed=0,
                                   **small_sizes[name])
    predictor.fit(view.archs[train], y[train], val_archs=view.archs[val], val_y=y[val])
    scores = nar.evaluate(predictor, view.archs[test], y[test])
    assert scores["tau"] > 0.2  # far from chance (0) on 3000 held-out cells
    if name == "nar":
        assert predictor.model.config.feature_shape == (19, 7, 7)
        assert predictor.train_config.aux_weight == 9.0


def test_nb201_only_dataset_names_refused_on_nb101():
    with pytest.raises(ValueError, match="'cifar10-valid' for space 'nb101'"):
        nar.make_predictor("renas", space="nb101", dataset="cifar10-valid")
    with pytest.raises(ValueError, match="unknown search space"):
        nar.make_predictor("mlp", space="nb301")


def test_ledger_over_the_subset(view):
    ledger = nar.Ledger(view, "cifar10", "valid-accuracy", "108", max_queries=50)
    outcome = nar.search.random_search(ledger, seed=0)
    assert outcome.num_queries == 50 and outcome.stop_reason == "query budget"
    report = ledger.report("cifar10", "valid-accuracy", "108")
    assert report["arch_str"] == view.arch_names[report["arch_index"]]
    assert report["test_value"] == pytest.approx(report["label_value"])
    assert ledger.index_of(view.archs[17]) == 17
    ledger = nar.Ledger(view, "cifar10", "valid-accuracy", "108", max_queries=50)
    with pytest.raises(ValueError, match="needs NAS-Bench-201 op codes"):
        nar.search.regularized_evolution(ledger, seed=0)
    with pytest.raises(ValueError, match="holds no 'test-accuracy'"):
        nar.Ledger(view, "cifar10", "test-accuracy", "108")


def test_tier_sampler_on_the_subset_meets_its_bounds(view):
    ledger = nar.Ledger(view, "cifar10", "valid-accuracy", "108", max_queries=200)
    ranker = nar.make_predictor("gbdt", space="nb101", seed=0)
    config = nar.search.sampler.TierSamplerConfig(num_iterations=10, num_candidates=64)
    result = nar.search.sampler.tier_sampler_search(ledger, ranker, 0, config, num_train_labels=100)
    assert result.num_train_labels == 100 and ledger.num_queries <= 200
    assert len(result.iterations) >= 1 and result.outcome.num_queries == ledger.num_queries
    flops, params = nar.search.sampler.default_cost_fn("cifar10", "nb101")(view.archs)
    for accepted, f_bounds, p_bounds in result.accepted:
        assert (flops[accepted] <= f_bounds).all() and (params[accepted] <= p_bounds).all()
