"""Entry points of the NB101 space refuse what they would otherwise misread: floats and
booleans where an integer is meant (no silent truncation), unpruned cells where a benchmark
cell is meant; their errors name the first bad row and quote bad input briefly."""
from __future__ import annotations

import numpy as np
import pytest

from nar_utils.spaces import nb101
from nar_utils.spaces.nb101 import PAD, Cell
from nar_utils.spaces.nb101 import space as nb101_space
from nar_utils.spaces.nb101.space import InvalidCellError, as_index, benchmark_cell, quote

HUGE = "1" * 1_000_000
CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])


# -- quoting and integers ----------------------------------------------------------------------
def test_brief_repr_bounds_what_it_quotes():
    assert quote("abc") == "'abc'" and quote(3) == "3" and quote(np.int64(4)) == "4"
    text = quote(HUGE)
    assert len(text) < 120 and text.endswith("(1,000,000 characters in all)")
    assert quote(b"\x00" * 10_000).endswith("(10,000 bytes in all)")
    assert quote(list(range(10**6))).endswith("(1,000,000 items in all)")
    assert len(quote({"k": [HUGE] * 3})) < 120
    assert quote(np.zeros((100, 100))) == "<array of shape (100, 100), dtype float64>"


@pytest.mark.parametrize("value", [3.7, 3.0, True, np.bool_(False), "3", None, np.float32(2)])
def test_check_int_refuses_what_int_would_truncate(value):
    with pytest.raises(TypeError, match="must be an int"):
        as_index(value, "index")


def test_check_int_accepts_numpy_integers():
    assert as_index(np.int8(-3), "x") == -3 and type(as_index(np.uint64(7), "x")) is int


# -- float and bool arguments of the entry points ------------------------------------------------
def test_network_cells_refuse_float_and_bool_labels():
    """int(0.7) = 0 and int(True) = 1 used to turn them into conv3x3 and conv1x1."""
    from nar_utils.spaces.nb101 import network

    for labels in ([-1, 0.7, -2], [-1, True, -2], np.array([-1.0, 0.0, -2.0])):
        with pytest.raises(TypeError, match="neither a label"):
            network.check_cell(CHAIN, labels)
    matrix, labels = network.check_cell(CHAIN, np.array([-1, 2, -2], dtype=np.int64))
    assert labels == (-1, 2, -2)
    padded, padded_labels = network.pad_cells([CHAIN], [[-1, 0, -2]])
    with pytest.raises(TypeError, match="integer array"):
        network.unpad_cell(padded[0], padded_labels[0].astype(float) + 0.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        network.build_network(CHAIN, [-1, 0, -2], device="meta", seed=3.7)
    assert network.build_network(CHAIN, [-1, 0, -2], device="meta", seed=np.int64(3))
    with pytest.raises(TypeError, match="in_channels must be an int"):
        network.vertex_channels(CHAIN, 128.5, 256)


def test_cell_information_refuses_float_widths():
    from nar_utils.spaces.nb101 import cellinfo, network

    matrices, labels = network.pad_cells([CHAIN], [[-1, 0, -2]])
    with pytest.raises(TypeError, match="out_channels must be an int"):
        cellinfo.batch_vertex_channels(matrices, labels, 128, 256.0)
    assert cellinfo.batch_vertex_channels(matrices, labels, np.int64(128), 256)[0, :3].tolist() \
        == [128, 256, 256]


@pytest.mark.parametrize("kwargs", [{"max_edges": 9.5}, {"max_edges": True},
                                    {"max_vertices": 4.0}, {"max_vertices": True}])
def test_enumeration_refuses_float_and_bool_sizes(kwargs):
    """max_edges=9.5 used to run as 9 (a comparison with a float)."""
    with pytest.raises(TypeError, match="must be an int"):
        nb101.enumerate_packed(**kwargs)


def test_enumeration_and_hashing_accept_numpy_integers():
    packed = nb101.enumerate_packed(max_vertices=np.int64(3), max_edges=np.int32(9))
    assert len(packed) == 1 + 6
    hashes = nb101.hash_many(packed, processes=np.int64(1), chunk_size=np.int64(4))
    assert hashes == nb101.hash_many(packed, processes=1)


@pytest.mark.parametrize("kwargs", [{"processes": True}, {"processes": 1.5},
                                    {"chunk_size": 2.5}])
def test_hash_many_refuses_float_and_bool_counts(kwargs):
    packed = nb101.enumerate_packed(max_vertices=3)
    with pytest.raises(TypeError, match="must be an int"):
        nb101.hash_many(packed, **kwargs)


def test_encoding_refuses_a_float_chunk_size():
    from nar_utils.spaces.nb101 import encoding

    packed = nb101.enumerate_packed(max_vertices=3)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        encoding.feature_tensor(packed, chunk_size=1.5)


def test_space_indexer_refuses_float_rows():
    """A float row used to be cast to int64 (0.7 -> 0) and found as another cell."""
    packed = nb101.enumerate_packed(max_vertices=3).astype(np.int64)
    index_of = nb101.NB101Space().indexer(packed)
    assert index_of(packed[2]) == 2 and index_of(packed[[1, 2]]).tolist() == [1, 2]
    nudged = packed[2].astype(float)
    nudged[nudged == 0] = 0.4
    with pytest.raises(TypeError, match="packed integer rows"):
        index_of(nudged)


# -- validation of cells and table strings -------------------------------------------------------
def test_benchmark_cell_refuses_unpruned_cells():
    matrix = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    labels = [-1, 0, 1, -2]
    assert not Cell(matrix, labels).is_pruned  # a valid cell, with a dangling vertex 2
    with pytest.raises(InvalidCellError, match=r"vertices \[2\] lie on no input-to-output"):
        benchmark_cell(matrix, labels)
    with pytest.raises(InvalidCellError, match="not reachable"):
        benchmark_cell(CHAIN * 0, [-1, 0, -2])
    assert benchmark_cell(CHAIN, ["input", "maxpool3x3", "output"]).labels == (-1, 2, -2)
    strings = Cell(matrix, labels).to_strings()
    assert nb101.pack_strings(*zip(strings)).shape == (1, 56)  # not pruned, still a cell
    with pytest.raises(InvalidCellError, match="row 0: vertex 2 lies on no input-to-output"):
        nb101.pack_strings(*zip(strings), pruned=True)


def test_pack_strings_names_the_first_bad_row():
    """Each rule used to be checked over the whole batch in turn, so a later row breaking an
    earlier rule (or a parse error) was named before the first bad row."""
    adjacency = ["01|00", "010|000|000", "0110|0001|0001|0000", "01|00"]
    ops_labels = ["-1,-2", "-1,0,-2", "-1,0,0,-2", "-1,x"]
    with pytest.raises(InvalidCellError) as err:
        nb101.pack_strings(adjacency, ops_labels)
    assert err.value.row == 1 and "row 1: the output is not reachable" in str(err.value)
    assert err.value.reason.startswith("the output is not reachable")
    ops_labels[2] = "-1,0,-2,-2"  # an interior output in row 2, and row 1 still disconnected
    with pytest.raises(InvalidCellError, match="row 1: "):
        nb101.pack_strings(adjacency, ops_labels)


@pytest.mark.parametrize("ops_labels, problem", [
    ("-1," + "9" * 40 + ",-2", "unknown label"),  # numpy used to raise OverflowError
    ("-1,٢,-2", "comma list of integer labels"),  # an Arabic-Indic 2, which int() reads
    ("-1,1_0,-2", "unknown label"),
    ("-1," + HUGE + ",-2", "comma list of integer labels"),  # too many digits for int()
])
def test_pack_strings_refuses_odd_labels_with_a_value_error(ops_labels, problem):
    with pytest.raises(InvalidCellError, match=problem) as err:
        nb101.pack_strings(["010|001|000"], [ops_labels])
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("call", [
    lambda: Cell.from_strings(HUGE, "-1,-2"),
    lambda: Cell.from_strings("01|00", HUGE),
    lambda: Cell(CHAIN, ["input", "x" * 1_000_000, "output"]),
    lambda: Cell(CHAIN, HUGE),
    lambda: nb101.pack_strings([HUGE], ["-1,-2"]),
    lambda: nb101.pack_strings(["01|00"], [HUGE]),
    lambda: nb101.pack_strings(["01|00", "0" * 10**6], ["-1,-2", "-1,-2"]),
])
def test_errors_quote_huge_input_briefly(call):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert len(str(err.value)) < 400, f"{len(str(err.value))}-character message"


def test_packed_rows_name_the_first_bad_row():
    packed = nb101.pack([Cell.from_strings("01|00", "-1,-2")] * 3).astype(np.int64)
    packed[2, 49] = 0  # row 2: input is not first
    packed[1, 1] = 0  # row 1: output not reachable
    with pytest.raises(InvalidCellError, match="packed row 1: the output is not reachable"):
        nb101_space._check_packed(packed)
    assert (packed[:, 49:] == PAD).sum() == 15
