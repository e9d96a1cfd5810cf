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
