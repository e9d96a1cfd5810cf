import numpy as np
import pytest

from nar_utils import spaces

ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
         "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")


def test_arch0_op_code_and_round_trip():
    assert spaces.op_code_from_arch_str(ARCH0) == "421211"
    assert spaces.arch_str_from_op_code("421211") == ARCH0
    assert spaces.adjacency(ARCH0)[0, 1] == 4 and spaces.adjacency(ARCH0)[2, 3] == 1


def test_all_cells_round_trip_strings_indices_op_codes():
    codes = spaces.all_op_codes()
    strs = spaces.all_arch_strs()
    assert codes.shape == (15625, 6) and len(set(strs)) == 15625
    for index in range(0, 15625):
        arch_str = strs[index]
        ops = spaces.parse_arch_str(arch_str)
        assert ops == tuple(codes[index])
        assert spaces.format_arch_str(ops) == arch_str
        op_code = spaces.op_code_from_arch_str(arch_str)
        assert spaces.arch_str_from_op_code(op_code) == arch_str
        assert spaces.space_index(op_code) == index
        assert spaces.ops_from_space_index(index) == ops
    np.testing.assert_array_equal(spaces.op_codes_array(strs), codes)


def test_disconnected_count():
    assert sum(spaces.is_disconnected(c) for c in spaces.all_op_codes()) == 341
    assert spaces.is_disconnected("000000")
    assert not spaces.is_disconnected("000100")  # a single 0->3 edge connects


@pytest.mark.parametrize("bad, fragment", [
    (ARCH0.replace("skip_connect~2", "conv_5x5~2"), "unknown operation 'conv_5x5'"),
    (ARCH0.replace("skip_connect~2", "skip_connect~1"), "token 'skip_connect~1'"),
    (ARCH0.replace("+", "", 1), "node groups"),
    (ARCH0[1:], "must start and end with '|'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "has 1 inputs, expected 2"),
])
def test_malformed_arch_strings_name_the_token(bad, fragment):
    with pytest.raises(ValueError, match=fragment.replace("|", r"\|").replace("+", r"\+")):
        spaces.parse_arch_str(bad)


def test_malformed_position_is_reported():
    bad = ARCH0.replace("skip_connect~2", "conv~2")
    with pytest.raises(ValueError) as err:
        spaces.parse_arch_str(bad)
    assert f"character {bad.index('conv~2')}" in str(err.value)


@pytest.mark.parametrize("bad", ["42121", "4212111", "42121a", "521211"])
def test_bad_op_codes(bad):
    with pytest.raises(ValueError, match=repr(bad)):
        spaces.parse_op_code(bad)


def test_bad_inputs_types_and_ranges():
    with pytest.raises(TypeError):
        spaces.parse_op_code(421211)
    with pytest.raises(IndexError, match="out of range"):
        spaces.ops_from_space_index(15625)
    with pytest.raises(ValueError, match="out of range"):
        spaces.format_arch_str([0, 0, 0, 0, 0, 5])
    with pytest.raises(ValueError, match="expected 6"):
        spaces.format_arch_str([0, 0, 0])
