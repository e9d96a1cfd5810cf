import numpy as np
import pytest

from nar_utils.spaces import nb201

ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
         "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")


def test_arch0_op_code_and_round_trip():
    assert nb201.op_code_from_arch_str(ARCH0) == "421211"
    assert nb201.arch_str_from_op_code("421211") == ARCH0
    assert nb201.adjacency(ARCH0)[0, 1] == 4 and nb201.adjacency(ARCH0)[2, 3] == 1


def test_all_cells_round_trip_strings_indices_op_codes():
    codes = nb201.all_op_codes()
    strs = nb201.all_arch_strs()
    assert codes.shape == (15625, 6) and len(set(strs)) == 15625
    for index in range(0, 15625):
        arch_str = strs[index]
        ops = nb201.parse_arch_str(arch_str)
        assert ops == tuple(codes[index])
        assert nb201.format_arch_str(ops) == arch_str
        op_code = nb201.op_code_from_arch_str(arch_str)
        assert nb201.arch_str_from_op_code(op_code) == arch_str
        assert nb201.space_index(op_code) == index
        assert nb201.ops_from_space_index(index) == ops
    np.testing.assert_array_equal(nb201.op_codes_array(strs), codes)


def test_disconnected_count():
    assert sum(nb201.is_disconnected(c) for c in nb201.all_op_codes()) == 341
    assert nb201.is_disconnected("000000")
    assert not nb201.is_disconnected("000100")  # a single 0->3 edge connects


@pytest.mark.parametrize("bad, fragment", [
    (ARCH0.replace("skip_connect~2", "conv_5x5~2"), "unknown operation 'conv_5x5'"),
    (ARCH0.replace("skip_connect~2", "skip_connect~1"), "token 'skip_connect~1'"),
    (ARCH0.replace("+", "", 1), "node groups"),
    (ARCH0[1:], "must start and end with '|'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "has 1 inputs, expected 2"),
])
def test_malformed_arch_strings_name_the_token(bad, fragment):
    with pytest.raises(ValueError, match=fragment.replace("|", r"\|").replace("+", r"\+")):
        nb201.parse_arch_str(bad)


def test_malformed_position_is_reported():
    bad = ARCH0.replace("skip_connect~2", "conv~2")
    with pytest.raises(ValueError) as err:
        nb201.parse_arch_str(bad)
    assert f"character {bad.index('conv~2')}" in str(err.value)


@pytest.mark.parametrize("bad", ["42121", "4212111", "42121a", "521211"])
def test_bad_op_codes(bad):
    with pytest.raises(ValueError, match=repr(bad)):
        nb201.parse_op_code(bad)


def test_bad_inputs_types_and_ranges():
    with pytest.raises(TypeError):
        nb201.parse_op_code(421211)
    with pytest.raises(IndexError, match="out of range"):
        nb201.ops_from_space_index(15625)
    with pytest.raises(ValueError, match="out of range"):
        nb201.format_arch_str([0, 0, 0, 0, 0, 5])
    with pytest.raises(ValueError, match="expected 6"):
        nb201.format_arch_str([0, 0, 0])


HUGE = "|nor_conv_3x3~0|" * 65_536  # about 1 MB


@pytest.mark.parametrize("bad", [
    HUGE,
    "|none~0|+|none~0|none~1|+" + HUGE,
    "|none~0|+|none~0|none~1|+|none~0|none~1|" + "x" * 1_000_000 + "~2|",
    "|none~0|+" * 100_000,
    "4" * 1_000_000,
])
def test_a_huge_bad_string_gives_a_short_message(bad):
    with pytest.raises(ValueError) as err:
        nb201.format_arch_str(bad)
    message = str(err.value)
    assert len(message) < 600 and f"({len(bad):,} characters in all)" in message


def test_a_huge_bad_sequence_gives_a_short_message():
    with pytest.raises(ValueError) as err:
        nb201.format_arch_str(list(range(300_000)))
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("bad, error, fragment", [
    (3.7, TypeError, "got float 3.7"),
    (3.0, TypeError, "got float 3.0"),
    (True, TypeError, "got the bool True"),
    (np.bool_(False), TypeError, "bool"),
    ("7", TypeError, "got str '7'"),
])
def test_space_indices_are_integers_never_truncated(bad, error, fragment):
    with pytest.raises(error, match=fragment):
        nb201.ops_from_space_index(bad)


def test_numpy_integers_stay_accepted():
    assert nb201.ops_from_space_index(np.int64(7)) == nb201.ops_from_space_index(7)
    assert nb201.format_arch_str(np.array([4, 2, 1, 2, 1, 1], dtype=np.uint8)) == ARCH0
    assert nb201.format_arch_str([4.0, 2.0, 1.0, 2.0, 1.0, 1.0]) == ARCH0  # whole floats


@pytest.mark.parametrize("ops, error, fragment", [
    ([4, 2, 1, 2, 1, 1.5], ValueError, "1.5 at edge 5 is not a whole number"),
    ([4, 2, 1, 2, True, 1], TypeError, "edge 4 must be an integer 0..4, got the bool True"),
    ([4, 2, 1, 2, 1, float("nan")], ValueError, "not a whole number"),
    ([4, 2, 1, 2, 1, None], TypeError, "got NoneType None"),
    (np.array([4, 2, 1, 2, 1, 1.5]), ValueError, "not a whole number"),
    (True, TypeError, "got bool True"),
    (3.7, TypeError, "got float 3.7"),
    (b"421211", TypeError, "decode it"),
])
def test_op_codes_are_refused_rather_than_truncated(ops, error, fragment):
    with pytest.raises(error, match=fragment):
        nb201.format_arch_str(ops)
    with pytest.raises(error, match=fragment):
        nb201.op_codes_array([ops])


def test_vectorised_formatting_equals_one_by_one():
    codes = nb201.all_op_codes()
    assert nb201.format_arch_strs(codes[::97]) == [nb201.format_arch_str(r) for r in codes[::97]]
    assert nb201.format_arch_strs(codes[:0]) == []
    with pytest.raises(ValueError, match="0..4"):
        nb201.format_arch_strs(np.full((1, 6), 5))
    with pytest.raises(ValueError, match="integer array"):
        nb201.format_arch_strs(codes.astype(float))
    op_codes = ["".join(map(str, r)) for r in codes[:50].tolist()]
    np.testing.assert_array_equal(nb201.op_codes_array(op_codes), codes[:50])
    with pytest.raises(ValueError, match="position 5"):
        nb201.op_codes_array(op_codes[:3] + ["42121/"])
