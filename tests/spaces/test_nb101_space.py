"""The NAS-Bench-101 space: cells, pruning, the official hash, enumeration and packing."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import datadir
from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.spaces import nb101
from nar_utils.spaces.nb101 import PAD, Cell
from nar_utils.spaces.nb101 import cellinfo as nb101_cellinfo

# The first row of nb101_space.csv.gz.
EXAMPLE_HASH = "00005c142e6f48ac74fdcf73e3439874"
EXAMPLE_ADJACENCY = "0100110|0010000|0001001|0000010|0000010|0000001|0000000"
EXAMPLE_LABELS = "-1,0,2,0,0,1,-2"


def rows(adjacency: str) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in adjacency.split("|")], dtype=np.uint8)


@pytest.fixture(scope="module")
def example() -> Cell:
    return Cell.from_strings(EXAMPLE_ADJACENCY, EXAMPLE_LABELS)


@pytest.fixture(scope="module")
def space(data_dir) -> pd.DataFrame:
    return nb101_data.read_space(data_dir)


@pytest.fixture(scope="module")
def space_packed(space) -> np.ndarray:
    return nb101.pack_strings(space["adjacency"], space["ops_labels"])


# -- the official hash -----------------------------------------------------------------------
def test_hash_of_the_example(example):
    labels = [-1, 0, 2, 0, 0, 1, -2]
    assert example.hash == EXAMPLE_HASH
    assert nb101.spec_hash(rows(EXAMPLE_ADJACENCY), labels) == EXAMPLE_HASH
    assert nb101.spec_hash(rows(EXAMPLE_ADJACENCY).tolist(), example.ops) == EXAMPLE_HASH
    # numpy integers print differently from ints (numpy 2); the hash must not see it
    assert nb101.spec_hash(rows(EXAMPLE_ADJACENCY).astype(np.int64),
                           np.array(labels, dtype=np.int64)) == EXAMPLE_HASH
    assert nb101.hash_many([example, (rows(EXAMPLE_ADJACENCY), labels)],
                           processes=1) == [EXAMPLE_HASH] * 2


def test_hash_is_invariant_under_renumbering_the_interior(example):
    # Vertex 4 (edges 0 -> 4 -> 5) may come anywhere before vertex 5: another topological
    # numbering of the same DAG, i.e. an isomorphic cell with a different matrix.
    order = [0, 4, 1, 2, 3, 5, 6]
    matrix = example.matrix[np.ix_(order, order)]
    renumbered = Cell(matrix, [example.labels[v] for v in order])
    assert renumbered != example
    assert renumbered.to_strings()[0] != EXAMPLE_ADJACENCY
    assert renumbered.hash == EXAMPLE_HASH


def test_hash_tells_different_cells_apart(example):
    labels = list(example.labels)
    labels[4] = nb101.MAXPOOL3X3
    assert Cell(example.matrix, labels).hash != EXAMPLE_HASH
    matrix = example.matrix.copy()
    matrix[0, 6] = 1  # one more edge
    matrix[0, 1] = 0
    assert Cell(matrix, example.labels).hash != EXAMPLE_HASH


def test_hash_reads_the_pruned_cell():
    # Vertex 2 is fed by the input but feeds nothing: it is pruned before hashing.
    cell = Cell.from_strings("0110|0001|0000|0000", "-1,0,2,-2")
    assert not cell.is_pruned
    minimal = Cell.from_strings("010|001|000", "-1,0,-2")
    assert cell.pruned() == minimal
    assert cell.hash == minimal.hash == nb101.spec_hash(minimal.matrix, minimal.labels)


def test_hash_many_does_not_depend_on_processes(space_packed, space):
    first = space_packed[:3000]
    one = nb101.hash_many(first, processes=1)
    two = nb101.hash_many(first, processes=2, chunk_size=500)
    assert one == two == space["hash"].iloc[:3000].tolist()


def test_hash_of_every_cell_of_the_space(space, space_packed):
    """All 423,624 official hashes, bit for bit (about half a minute on two cores)."""
    assert len(space) == nb101.NUM_CELLS
    hashes = nb101.hash_many(space_packed, processes=2)
    mismatched = np.flatnonzero(np.array(hashes) != space["hash"].to_numpy(dtype=object))
    assert mismatched.size == 0, f"{mismatched.size} hashes differ, first at row {mismatched[0]}"


def test_hash_of_the_30k_subset(data_dir, space):
    subset = pd.read_csv(data_dir / "nb101" / "nb101_30k.csv.gz",
                         dtype={"hash": str, "adjacency": str, "ops_labels": str})
    packed = nb101.pack_strings(subset["adjacency"], subset["ops_labels"])
    assert nb101.hash_many(packed, processes=2) == subset["hash"].tolist()
    assert set(subset["hash"]) <= set(space["hash"])


# -- pruning ---------------------------------------------------------------------------------
def test_prune_removes_a_dangling_vertex():
    # 0 -> 1 -> 3 and 0 -> 2, where vertex 2 has no out-edge
    matrix, labels = nb101.prune(rows("0110|0001|0000|0000"), [-1, 0, 1, -2])
    assert matrix.tolist() == rows("010|001|000").tolist()
    assert labels == (-1, 0, -2)


def test_prune_removes_a_vertex_not_fed_by_the_input_with_its_edges():
    # 0 -> 2 -> 3, and vertex 1 (no in-edge) feeds 2 and 3: it goes, with both its edges
    matrix, labels = nb101.prune(rows("0010|0011|0001|0000"), ["input", "maxpool3x3",
                                                               "conv1x1-bn-relu", "output"])
    assert matrix.tolist() == rows("010|001|000").tolist()
    assert labels == (-1, 1, -2)
    cell = Cell(rows("0010|0011|0001|0000"), [-1, 2, 1, -2])
    assert cell.num_edges == 4 and cell.pruned().num_edges == 2


def test_prune_keeps_a_minimal_cell(example):
    matrix, labels = nb101.prune(example.matrix, example.labels)
    assert matrix.tolist() == example.matrix.tolist() and labels == example.labels
    assert example.is_pruned and example.pruned() is example


def test_prune_rejects_an_unreachable_output():
    with pytest.raises(ValueError, match="output .* not reachable from the input"):
        nb101.prune(rows("010|000|000"), [-1, 0, -2])
    with pytest.raises(ValueError, match="not reachable"):
        Cell(rows("0100|0010|0000|0000"), [-1, 0, 0, -2])


# -- the cell --------------------------------------------------------------------------------
@pytest.mark.parametrize("matrix, ops, message", [
    (np.zeros((3, 4), dtype=int), [-1, 0, -2], r"must be square .* shape \(3, 4\)"),
    (np.triu(np.ones((8, 8), dtype=int), 1), [-1] + [0] * 6 + [-2], r"2 to 7 vertices .*, got 8"),
    (rows("02|00"), [-1, -2], "0 or 1, got 2 at"),
    (np.array([[0, 1], [1, 0]]), [-1, -2], r"strictly upper triangular .* \(1, 0\)"),
    (rows("011|001|000"), [-1, 0], "got 2 operations for a 3-vertex matrix"),
    (rows("011|001|000"), [0, 0, -2], "vertex 0 must be the input .* got label 0"),
    (rows("011|001|000"), [-1, 0, 1], r"last vertex \(2\) must be the output .* got label 1"),
    (rows("011|001|000"), [-1, 5, -2], "vertex 1 has label 5; .* takes 0"),
    (rows("011|001|000"), [-1, -1, -2], "vertex 1 has label -1"),
    (rows("011|001|000"), ["input", "conv5x5", "output"], "unknown operation 'conv5x5'"),
    (rows("0110|0000|0000|0000"), [-1, 0, 0, -2], "not reachable from the"),
    (np.triu(np.ones((6, 6), dtype=int), 1), [-1, 0, 0, 0, 0, -2], "has 15 edges once pruned"),
])
def test_cell_validation_names_the_problem(matrix, ops, message):
    with pytest.raises(ValueError, match=message):
        Cell(matrix, ops)


def test_an_op_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="0.5 is neither a label"):
        Cell(rows("011|001|000"), [-1, 0.5, -2])


def test_edges_are_counted_after_pruning():
    # 11 edges as given, 9 once the dangling vertex 5 (fed by 1 and 2, feeding nothing) is gone
    matrix = np.zeros((7, 7), dtype=np.uint8)
    for source, target in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (1, 6), (2, 6),
                           (0, 2), (1, 5), (2, 5)]:
        matrix[source, target] = 1
    cell = Cell(matrix, [-1, 0, 0, 0, 0, 0, -2])
    assert cell.num_edges == 11 and cell.pruned().num_edges == 9
    assert cell.pruned().num_vertices == 6


def test_from_strings_rejects_malformed_rows():
    with pytest.raises(ValueError, match="not n rows of n digits"):
        Cell.from_strings("011|01|000", "-1,0,-2")
    with pytest.raises(ValueError, match="not a comma list of integer labels"):
        Cell.from_strings("011|001|000", "-1,conv,-2")


def test_cell_semantics(example):
    assert example.num_vertices == 7 and example.num_edges == 9
    assert example.ops[0] == "input" and example.ops[2] == "maxpool3x3"
    assert example.to_strings() == (EXAMPLE_ADJACENCY, EXAMPLE_LABELS)
    same = Cell(rows(EXAMPLE_ADJACENCY).tolist(), example.ops)
    assert same == example and hash(same) == hash(example) and len({same, example}) == 1
    assert eval(repr(example), {"Cell": Cell}) == example
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.labels = (-1, -2)
    with pytest.raises(ValueError):
        example.matrix[0, 1] = 0  # read-only


# -- packing ---------------------------------------------------------------------------------
SMALL_CELLS = [("01|00", "-1,-2"), ("011|001|000", "-1,2,-2"), ("0110|0001|0000|0000", "-1,0,1,-2"),
               (EXAMPLE_ADJACENCY, EXAMPLE_LABELS)]


def test_pack_pads_and_unpack_inverts():
    cells = [Cell.from_strings(*strings) for strings in SMALL_CELLS]
    packed = nb101.pack(cells)
    assert packed.shape == (4, nb101.PACKED_WIDTH) == (4, 56) and packed.dtype == np.int8
    labels = packed[:, 49:]
    assert labels[0].tolist() == [-1, -2] + [PAD] * 5
    assert labels[2].tolist() == [-1, 0, 1, -2] + [PAD] * 3
    square = packed[2, :49].reshape(7, 7)
    assert square[:4, :4].tolist() == rows("0110|0001|0000|0000").tolist()
    assert not square[4:].any() and not square[:, 4:].any()
    assert [nb101.unpack(row) for row in packed] == cells
    strings = nb101.packed_strings(packed)
    assert list(zip(*strings)) == SMALL_CELLS
    assert np.array_equal(nb101.pack_strings(*strings), packed)


@pytest.mark.parametrize("edit, message", [
    (lambda row: row.__setitem__(49 + 1, PAD), "padding label"),
    (lambda row: row.__setitem__(49, 0), "vertex 0 must be the input"),
    (lambda row: row.__setitem__(49 + 1, 4), "interior vertex"),
    (lambda row: row.__setitem__(7 * 1 + 0, 1), "strictly upper triangular"),
    (lambda row: row.__setitem__(7 * 0 + 5, 1), "after the output vertex must be zero"),
    (lambda row: row.__setitem__(1, 2), "0 or 1"),
])
def test_unpack_rejects_bad_rows(edit, message):
    row = nb101.pack([Cell.from_strings("0110|0001|0001|0000", "-1,0,1,-2")])[0].copy()
    edit(row)
    with pytest.raises(ValueError, match=message):
        nb101.unpack(row)
    with pytest.raises(ValueError, match="packed row 0"):
        nb101.hash_many(row[None, :])


def test_pack_strings_rejects_bad_rows():
    with pytest.raises(ValueError, match="row 1: adjacency '011|01' is not"):
        nb101.pack_strings(["01|00", "011|01"], ["-1,-2", "-1,0,-2"])
    with pytest.raises(ValueError, match="row 0: .* has 3 labels for a 2-vertex"):
        nb101.pack_strings(["01|00"], ["-1,0,-2"])
    with pytest.raises(ValueError, match="row 0: .* unknown label"):
        nb101.pack_strings(["011|001|000"], ["-1,7,-2"])
    with pytest.raises(ValueError, match="row 0: the output is not reachable"):
        nb101.pack_strings(["010|000|000"], ["-1,0,-2"])
    with pytest.raises(ValueError, match="a packed row is 56 integers"):
        nb101.unpack(np.zeros(55, dtype=np.int8))


def test_pack_strings_of_the_space_round_trips(space, space_packed):
    assert space_packed.shape == (nb101.NUM_CELLS, 56)
    sizes = (space_packed[:, 49:] != PAD).sum(axis=1)
    assert np.array_equal(sizes, space["num_vertices"].to_numpy())
    assert np.array_equal(space_packed[:, :49].sum(axis=1), space["num_edges"].to_numpy())
    adjacency, ops_labels = nb101.packed_strings(space_packed)
    assert adjacency == space["adjacency"].tolist() and ops_labels == space["ops_labels"].tolist()
    assert nb101.unpack(space_packed[0]) == Cell.from_strings(EXAMPLE_ADJACENCY, EXAMPLE_LABELS)


def test_read_space_names_the_missing_file(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"nb101/nb101_space.csv.gz .*data/README.md"):
        nb101_data.read_space(tmp_path)
    monkeypatch.delenv(datadir.ENV_DATA_DIR, raising=False)
    with pytest.raises(FileNotFoundError, match="NAR_DATA_DIR"):
        nb101_data.read_space()


# -- enumeration -----------------------------------------------------------------------------
def test_enumeration_up_to_five_vertices_reproduces_the_table(space):
    frame = nb101.enumerate_space(max_vertices=5, processes=1)
    expected = space[space["num_vertices"] <= 5].reset_index(drop=True)
    assert frame["num_vertices"].value_counts().sort_index().tolist() == [1, 6, 84, 2441]
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_enumeration_counts_without_data():
    packed = nb101.enumerate_packed(max_vertices=5)
    sizes = (packed[:, 49:] != PAD).sum(axis=1)
    assert np.bincount(sizes).tolist()[2:] == [nb101.NUM_CELLS_BY_VERTICES[n] for n in (2, 3, 4, 5)]
    assert np.array_equal(packed, nb101.enumerate_packed(max_vertices=5))  # deterministic
    # fewer edges allowed: a subset of the cells
    few = nb101.packed_strings(nb101.enumerate_packed(max_vertices=5, max_edges=5))
    assert set(zip(*few)) < set(zip(*nb101.packed_strings(packed)))


def test_enumeration_of_the_whole_space_gives_the_tables_cells(space):
    """All 423,624 representatives, without the md5 hashes (the benchmark hashes them too)."""
    packed = nb101.enumerate_packed()
    assert len(packed) == nb101.NUM_CELLS
    cells = set(zip(*nb101.packed_strings(packed)))
    assert cells == set(zip(space["adjacency"], space["ops_labels"]))


@pytest.mark.parametrize("kwargs, message", [
    ({"max_vertices": 8}, r"max_vertices must lie in 2..7 .*, got 8"),
    ({"max_vertices": 1}, "got 1"),
    ({"max_edges": -1}, "max_edges must be non-negative"),
])
def test_enumeration_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nb101.enumerate_packed(**kwargs)


def test_pad_vertex_lists_pads_and_names_the_bad_record():
    modules = ("stack0/module0", "stack0/module1")
    costs = [{"stack0/module0": [1, 2, 0], "stack0/module1": [3, 4, 5]},
             {"stack0/module1": [6, 0, 0, 0, 0, 0, 1], "stack0/module0": [7, 8, 9, 10, 11, 12, 13]}]
    out = nb101_cellinfo.pad_vertex_lists(costs, modules, [3, 7])
    assert out.shape == (2, 2, 7) and out.dtype == np.int64
    assert out[0].tolist() == [[1, 2, 0, 0, 0, 0, 0], [3, 4, 5, 0, 0, 0, 0]]
    assert out[1].tolist() == [[7, 8, 9, 10, 11, 12, 13], [6, 0, 0, 0, 0, 0, 1]]
    with pytest.raises(KeyError, match="record 1 has no values for module 'stack0/module1'"):
        nb101_cellinfo.pad_vertex_lists([costs[0], {"stack0/module0": [1, 2]}], modules, [3, 2])
    with pytest.raises(ValueError, match="record 0 lists 8 values for stack0/module0; expected a "
                                         "list of 7 values, one per vertex"):
        nb101_cellinfo.pad_vertex_lists([{"stack0/module0": list(range(8)), "stack0/module1": []}],
                                        modules, [7])


@pytest.mark.parametrize("values, message", [
    ([1, 2], "record 0 lists 2 values for stack0/module0; expected a list of 3 values"),
    ([1, 2, 3, 4], "record 0 lists 4 values for stack0/module0; expected a list of 3"),
    ([1, 2.7, 3], r"record 0, stack0/module0, vertex 1: 2.7 is not a count"),
    ([1, True, 3], r"vertex 1: True is not a count"),
    ([1, -5, 3], r"vertex 1: -5 is not a count"),
    ([1, "5", 3], r"vertex 1: '5' is not a count"),
    ([1, 2**70, 3], r"vertex 1: \d+ is not a count"),
])
def test_pad_vertex_lists_refuses_a_list_that_does_not_fit_its_cell(values, message):
    """A list shorter or longer than its cell, or values that int64 would truncate or
    reinterpret, used to be padded or cast without a word."""
    costs = [{"stack0/module0": values}]
    with pytest.raises(ValueError, match=message):
        nb101_cellinfo.pad_vertex_lists(costs, ("stack0/module0",), [3])
    with pytest.raises(ValueError, match=r"^cell 'x'(,| lists) .*stack0/module0"):
        nb101_cellinfo.pad_vertex_lists(costs, ("stack0/module0",), [3], names=["cell 'x'"])
