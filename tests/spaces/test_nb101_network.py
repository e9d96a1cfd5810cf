"""The NB101 network and its cell information: parameter counts against the benchmark, the
NAR authors' record, analytic vs traced counts, padded layout, writers and readers."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.spaces.nb101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OP_TO_LABEL,
    OUTPUT,
    cellinfo,
    space,
)
from nar_utils.spaces.nb101 import network as net

SUBSET_RELPATH = "nb101/nb101_30k.csv.gz"
EXAMPLE_RELPATH = "nar/nasbench101_vertice_example.json"
RECORD_HASH = "00005c142e6f48ac74fdcf73e3439874"

# Hand-made cells: (matrix, labels).
CHAIN = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
DIRECT = ([[0, 1], [0, 0]], [INPUT, OUTPUT])
# Three feeders of the output (128 / 3 = 42 rest 2) and an input -> output edge.
THREE_FEEDERS = ([[0, 1, 1, 1, 1],
                  [0, 0, 0, 0, 1],
                  [0, 0, 0, 0, 1],
                  [0, 0, 0, 0, 1],
                  [0, 0, 0, 0, 0]], [INPUT, CONV1X1, MAXPOOL3X3, CONV3X3, OUTPUT])
# Vertex 1 feeds only vertices 2 and 3, which feed the output: it takes the wider of them.
FAN_OUT = ([[0, 1, 0, 0, 0],
            [0, 0, 1, 1, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0]], [INPUT, MAXPOOL3X3, CONV3X3, CONV1X1, OUTPUT])
HAND_MADE = (CHAIN, DIRECT, THREE_FEEDERS, FAN_OUT)


@pytest.fixture(autouse=True, scope="module")
def _torch_threads(one_torch_thread):
    """Every test here runs torch on one thread (see conftest)."""


@pytest.fixture(scope="module")
def subset(data_dir) -> pd.DataFrame:
    path = data_dir / SUBSET_RELPATH
    if not path.is_file():
        pytest.skip(f"no NB101 subset table at {path}")
    return nb101_data.read_table(path)


@pytest.fixture(scope="module")
def subset_cells(subset):
    """Padded batch of the subset with its analytic costs."""
    matrices, labels = net.cells_from_frame(subset)
    return matrices, labels, cellinfo.cell_info_arrays(matrices, labels), \
        cellinfo.network_totals(matrices, labels)


@pytest.fixture(scope="module")
def authors_record(data_dir) -> dict:
    path = data_dir / EXAMPLE_RELPATH
    if not path.is_file():
        pytest.skip(f"no NAR example record at {path}")
    records = json.loads(path.read_text())
    assert isinstance(records, list) and len(records) == 1
    return records[0]


def record_cell(record: dict) -> tuple[list, list[int]]:
    return record["module_adjacency"], [OP_TO_LABEL[op] for op in record["module_operations"]]


def sample_rows(labels: np.ndarray, count: int, seed: int) -> list[int]:
    """Seeded sample of subset rows plus the 2- and 3-vertex cells."""
    rng = np.random.default_rng(seed)
    small = np.flatnonzero((labels != space.PAD).sum(axis=1) <= 3).tolist()
    return small + rng.choice(len(labels), size=count, replace=False).tolist()


# -- parameters against the benchmark --------------------------------------------------------
def test_analytic_params_equal_the_benchmark_for_all_subset_cells(subset, subset_cells):
    _, labels, _, (total_flops, total_params) = subset_cells
    assert len(subset) == 30_001
    assert total_params.shape == total_flops.shape == (30_001,)
    assert total_params.dtype == total_flops.dtype == np.int64
    np.testing.assert_array_equal(total_params, subset["params"].to_numpy())
    row = subset.index[subset["hash"] == RECORD_HASH][0]
    assert total_params[row] == 8_555_530
    # Every vertex count 2..7 is present, the 2-vertex cell (a lone projection) included.
    assert set((labels != space.PAD).sum(axis=1).tolist()) == {2, 3, 4, 5, 6, 7}


def test_widths_never_grow_along_an_edge(subset_cells):
    """Cutting a predecessor to a vertex's width is always possible."""
    matrices, labels, _, _ = subset_cells
    for shape in net.BENCHMARK.modules[:4]:
        channels = cellinfo.batch_vertex_channels(matrices, labels, shape.in_channels,
                                             shape.out_channels)
        interior = np.isin(labels, (CONV3X3, CONV1X1, MAXPOOL3X3))
        edge = (matrices == 1) & interior[:, :, None] & interior[:, None, :]
        assert (channels[:, :, None] >= channels[:, None, :])[edge].all()


def test_built_networks_have_the_analytic_parameter_count(subset_cells):
    matrices, labels, _, (_, total_params) = subset_cells
    for row in sample_rows(labels, 30, seed=0):
        network = net.build_network(*net.unpad_cell(matrices[row], labels[row]), device="meta")
        assert net.count_parameters(network) == total_params[row], row


def test_forward_pass_gives_logits():
    network = net.build_network(*THREE_FEEDERS, seed=1)
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = network(images)
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\).*\(2, 3, 16, 16\)"):
        network(torch.zeros(2, 3, 16, 16))


def test_same_seed_same_weights_and_small_skeletons():
    skeleton = net.Skeleton(stem_channels=8, num_stacks=2, modules_per_stack=1, input_size=8)
    first = net.build_network(*FAN_OUT, seed=3, skeleton=skeleton)
    second = net.build_network(*FAN_OUT, seed=3, skeleton=skeleton)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    assert [m.name for m in skeleton.modules] == ["stack0/module0", "stack1/module0"]
    with torch.no_grad():
        assert first(torch.zeros(1, 3, 8, 8)).shape == (1, 10)


# -- the channel rule ------------------------------------------------------------------------
def test_vertex_channels_follow_the_benchmark_rule():
    assert net.vertex_channels(np.array(THREE_FEEDERS[0]), 128, 128) == [128, 43, 43, 42, 128]
    assert net.vertex_channels(np.array(THREE_FEEDERS[0]), 256, 512) == [256, 171, 171, 170, 512]
    assert net.vertex_channels(np.array(FAN_OUT[0]), 128, 256) == [128, 128, 128, 128, 256]
    assert net.vertex_channels(np.array(DIRECT[0]), 128, 256) == [128, 256]
    matrices, labels = net.pad_cells(*zip(*HAND_MADE, strict=True))
    for shape in net.BENCHMARK.modules:
        batch = cellinfo.batch_vertex_channels(matrices, labels, shape.in_channels,
                                          shape.out_channels)
        for row, (matrix, _) in enumerate(HAND_MADE):
            n = len(matrix)
            assert batch[row, :n].tolist() == net.vertex_channels(
                np.array(matrix), shape.in_channels, shape.out_channels)
            assert not batch[row, n:].any()


# -- cell information ------------------------------------------------------------------------
def test_the_authors_record_is_reproduced_value_for_value(authors_record):
    matrix, labels = record_cell(authors_record)
    flops, params = cellinfo.cell_info(matrix, labels)
    _, their_flops, their_params = cellinfo.nar_arrays([authors_record])
    np.testing.assert_array_equal(flops, their_flops[0])
    np.testing.assert_array_equal(params, their_params[0])
    assert list(authors_record["vertex_flops"]) == list(net.MODULE_NAMES)
    # The worked example of the module docstring.
    assert flops[0, 1] == 2 * 9 * 64 * 64 * 1024 + 2 * 128 * 64 * 1024 == 92_274_688
    assert params[0, 1] == 9 * 64 * 64 + 128 + 128 * 64 + 128 == 45_312
    assert flops[0, 5] == 25_296_896
    total_flops, total_params = cellinfo.network_totals(*net.pad_cells([matrix], [labels]))
    assert total_flops[0] == authors_record["flops"] == 2_527_684_618
    assert total_params[0] == authors_record["trainable_parameters"] == 8_555_530


def test_nar_record_of_the_subset_row_matches_the_authors_fields(authors_record, subset):
    row = subset[subset["hash"] == RECORD_HASH]
    ours = next(iter(cellinfo.nar_records(row)))
    assert list(ours) == list(authors_record)  # same keys, same order
    for field in ("module_adjacency", "module_operations", "trainable_parameters",
                  "unique_hash", "vertex_flops", "vertex_params", "flops"):
        assert ours[field] == authors_record[field], field
    # One training run of the table, not the authors' mean of three.
    assert ours["avg_validation_accuracy"] == pytest.approx(row["val_acc_108"].iloc[0])
    assert ours["avg_training_time"] == pytest.approx(row["train_time_108"].iloc[0])
    assert all(ours[field] is None for field in cellinfo.NULL_FIELDS)
    assert set(cellinfo.NULL_FIELDS) == {"avg_test_accuracy", "avg_train_accuracy"}


@pytest.mark.parametrize("cell", HAND_MADE, ids=["chain", "direct", "three_feeders", "fan_out"])
def test_hand_made_cells_analytic_equals_traced(cell):
    traced = cellinfo.traced_cell_info(*cell)
    flops, params = cellinfo.cell_info(*cell)
    np.testing.assert_array_equal(traced.flops, flops)
    np.testing.assert_array_equal(traced.params, params)
    total_flops, total_params = cellinfo.network_totals(*net.pad_cells([cell[0]], [cell[1]]))
    assert (traced.total_flops, traced.total_params) == (total_flops[0], total_params[0])


def test_subset_sample_analytic_equals_traced(subset_cells):
    matrices, labels, (flops, params), (total_flops, total_params) = subset_cells
    rows = sample_rows(labels, 10, seed=1)
    n = (labels != space.PAD).sum(axis=1)
    rows.append(int(np.flatnonzero(matrices[np.arange(len(n)), 0, n - 1] == 1)[0]))
    for row in rows:
        traced = cellinfo.traced_cell_info(*net.unpad_cell(matrices[row], labels[row]))
        np.testing.assert_array_equal(traced.flops, flops[row], err_msg=str(row))
        np.testing.assert_array_equal(traced.params, params[row], err_msg=str(row))
        assert traced.total_flops == total_flops[row] and traced.total_params == total_params[row]


def test_small_skeleton_analytic_equals_traced():
    skeleton = net.Skeleton(stem_channels=12, num_stacks=2, modules_per_stack=2,
                            num_classes=7, input_size=8)
    matrices, labels = net.pad_cells(*zip(*HAND_MADE, strict=True))
    flops, params = cellinfo.cell_info_arrays(matrices, labels, skeleton)
    total_flops, total_params = cellinfo.network_totals(matrices, labels, skeleton)
    assert flops.shape == (len(HAND_MADE), 4, 7)
    for row, cell in enumerate(HAND_MADE):
        traced = cellinfo.traced_cell_info(*cell, skeleton=skeleton)
        np.testing.assert_array_equal(traced.flops, flops[row])
        np.testing.assert_array_equal(traced.params, params[row])
        assert (traced.total_flops, traced.total_params) == (total_flops[row],
                                                             total_params[row])


def test_padded_layout_and_the_input_to_output_projection():
    matrices, labels = net.pad_cells(*zip(*HAND_MADE, strict=True))
    assert labels[0].tolist() == [INPUT, CONV3X3, OUTPUT] + [space.PAD] * 4
    flops, params = cellinfo.cell_info_arrays(matrices, labels)
    assert flops.shape == params.shape == (len(HAND_MADE), 9, 7)
    for row, (matrix, _) in enumerate(HAND_MADE):
        n = len(matrix)
        assert not flops[row, :, n:].any() and not params[row, :, n:].any()
        assert not flops[row, :, 0].any() and not params[row, :, 0].any()  # input vertex
        output_costs = bool(matrix[0][n - 1])
        assert (flops[row, :, n - 1] > 0).all() == output_costs
        assert (params[row, :, n - 1] > 0).all() == output_costs
    # 2-vertex cell, stack0/module0 (128 -> 128 at 32 x 32): the projection alone.
    assert flops[1, 0, 1] == 2 * 128 * 128 * 1024 and params[1, 0, 1] == 128 * 128 + 256
    # Three feeders: projection plus one addition joining it to the concatenation.
    assert flops[2, 0, 4] == 2 * 128 * 128 * 1024 + 128 * 1024


# -- parsing and validation ------------------------------------------------------------------
def test_cells_from_frame_parses_the_table_strings(subset, authors_record):
    row = subset[subset["hash"] == RECORD_HASH]
    matrices, labels = net.cells_from_frame(row)
    matrix, record_labels = record_cell(authors_record)
    np.testing.assert_array_equal(matrices[0], matrix)
    assert labels[0].tolist() == record_labels
    small = pd.DataFrame({"adjacency": ["01|00", "010|001|000"],
                          "ops_labels": ["-1,-2", "-1,2,-2"]})
    matrices, labels = net.cells_from_frame(small)
    assert labels.tolist() == [[-1, -2] + [space.PAD] * 5, [-1, 2, -2] + [space.PAD] * 4]
    np.testing.assert_array_equal(matrices, net.pad_cells(
        [[[0, 1], [0, 0]], [[0, 1, 0], [0, 0, 1], [0, 0, 0]]], [[-1, -2], [-1, 2, -2]])[0])


@pytest.mark.parametrize("adjacency, ops, match", [
    ("01|0", "-1,-2", "n rows of n digits"),
    ("02|00", "-1,-2", "0/1 digits"),
    ("010|001|000", "-1,-2", "2 labels for a 3-vertex"),
    ("010|001|000", "-1,x,-2", "comma list of integer labels"),
    ("010|001|000", "-1,5,-2", "row 0.*unknown label"),
    ("010|001|000", "-1,-2,-1", "row 0: the last vertex must be the output"),
])
def test_cells_from_frame_rejects_bad_strings(adjacency, ops, match):
    with pytest.raises(ValueError, match=match):
        net.cells_from_frame(pd.DataFrame({"adjacency": [adjacency], "ops_labels": [ops]}))


def test_bad_cells_raise_naming_the_problem():
    with pytest.raises(ValueError, match="strictly upper triangular"):
        net.check_cell([[0, 1], [1, 0]], [INPUT, OUTPUT])
    with pytest.raises(ValueError, match=r"labels must be -1.*got \(-1, 7, -2\)"):
        net.check_cell(CHAIN[0], [INPUT, 7, OUTPUT])
    with pytest.raises(ValueError, match="vertex 1 has no outgoing edge; prune"):
        net.check_cell([[0, 1, 1], [0, 0, 0], [0, 0, 0]], [INPUT, CONV1X1, OUTPUT])
    matrices, labels = net.pad_cells(*zip(*HAND_MADE, strict=True))
    with pytest.raises(ValueError, match=r"\(N, 7, 7\).*pad_cells"):
        cellinfo.cell_info_arrays(matrices[:, :5, :5], labels)
    bad = labels.copy()
    bad[0, 5] = CONV3X3  # a label after the output
    with pytest.raises(ValueError, match="labels of row 0"):
        cellinfo.cell_info_arrays(matrices, bad)
    bad = matrices.copy()
    bad[2, 4, 5] = 1  # an edge into a padding slot
    with pytest.raises(ValueError, match="row 2 must be 0/1, strictly upper triangular and zero"):
        cellinfo.network_totals(bad, labels)
    bad = matrices.copy()
    bad[3, 1, 2] = 0  # vertex 2 of FAN_OUT loses its only input
    with pytest.raises(ValueError, match="row 3 has a vertex without.*vertex 2"):
        cellinfo.cell_info_arrays(bad, labels)
    with pytest.raises(ValueError, match="divisible"):
        net.Skeleton(input_size=30)
    with pytest.raises(KeyError, match="ops_labels"):
        net.cells_from_frame(pd.DataFrame({"adjacency": ["01|00"]}))


# -- writers and readers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_frame(subset) -> pd.DataFrame:
    """20 subset rows (the record's first) plus the 2-vertex cell."""
    rows = [0] + np.random.default_rng(2).choice(len(subset), 18, replace=False).tolist()
    rows.append(int(np.flatnonzero(subset["num_vertices"].to_numpy() == 2)[0]))
    return subset.iloc[rows].reset_index(drop=True)


def test_nar_json_round_trip(small_frame, tmp_path):
    path = cellinfo.to_nar_json(small_frame, tmp_path / "cellinfo.json")
    records = cellinfo.read_nar_json(path)
    assert records == list(cellinfo.nar_records(small_frame))
    assert [r["unique_hash"] for r in records] == small_frame["hash"].tolist()
    hashes, flops, params = cellinfo.nar_arrays(records)
    assert hashes == small_frame["hash"].tolist()
    expected = cellinfo.cell_info_arrays(*net.cells_from_frame(small_frame))
    np.testing.assert_array_equal(flops, expected[0])
    np.testing.assert_array_equal(params, expected[1])
    assert [r["trainable_parameters"] for r in records] == small_frame["params"].tolist()
    assert all(len(r["vertex_flops"]["stack2/module2"]) == len(r["module_operations"])
               for r in records)
    indented = cellinfo.to_nar_json(small_frame, tmp_path / "indented.json", indent=2)
    assert cellinfo.read_nar_json(indented) == records
    (tmp_path / "object.json").write_text('{"0": {}}')
    with pytest.raises(ValueError, match="expected a list of records"):
        cellinfo.read_nar_json(tmp_path / "object.json")


def test_nar_records_of_a_table_without_accuracies():
    frame = pd.DataFrame({"hash": ["a", "b"], "adjacency": ["01|00", "010|001|000"],
                          "ops_labels": ["-1,-2", "-1,0,-2"]})
    records = list(cellinfo.nar_records(frame))
    assert [r["avg_validation_accuracy"] for r in records] == [None, None]
    assert records[1]["module_operations"] == ["input", "conv3x3-bn-relu", "output"]
    assert records[0]["vertex_flops"]["stack0/module0"] == [0, 2 * 128 * 128 * 1024]


def test_parquet_round_trip(small_frame, tmp_path):
    path = cellinfo.write_cellinfo(small_frame, tmp_path / "cellinfo.parquet")
    frame = cellinfo.read_cellinfo(path)
    assert len(frame) == len(small_frame)
    assert frame["hash"].tolist() == small_frame["hash"].tolist()
    np.testing.assert_array_equal(frame["val_acc_108"], small_frame["val_acc_108"])
    np.testing.assert_array_equal(frame["params"], small_frame["params"])
    matrices, labels = net.cells_from_frame(frame)  # the table strings survive
    flops, params = cellinfo.frame_arrays(frame)
    expected = cellinfo.cell_info_arrays(matrices, labels)
    np.testing.assert_array_equal(flops, expected[0])
    np.testing.assert_array_equal(params, expected[1])
    np.testing.assert_array_equal(frame["flops"], cellinfo.network_totals(matrices, labels)[0])
    with pytest.raises(KeyError, match="vertex_flops"):
        cellinfo.frame_arrays(small_frame)
