"""Property-based tests of everything that reads NAS-Bench-201 input: arch strings and op
codes, index arguments, and the table loader.

For every input, each entry point either answers correctly (an arch string that parses is
the canonical string of the codes it gives; an index gives the cell that index names) or
raises one of the errors it documents (``ValueError`` and its ``TableError``, ``TypeError``,
``KeyError``, ``IndexError`` for an integer out of range) with a short message. Nothing may
hang, crash with another exception, or quietly answer for a different cell, epoch, trial or
table. Examples are drawn deterministically (``derandomize``) and nothing is stored.
"""
from __future__ import annotations

import gzip
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nar_utils.benchmarks import compat
from nar_utils.benchmarks import nb201 as nb201_data
from nar_utils.spaces import get_space, nb201
from tests.fuzzing import synthetic_nb201_frame

ALL_ARCH_STRS = nb201.all_arch_strs()
ALL_CODES = nb201.all_op_codes()
MAX_MESSAGE = 1000  # characters: a message quotes a bounded prefix of any bad input
DOCUMENTED = (ValueError, TypeError, KeyError, IndexError)


def fuzz(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def short(err: BaseException) -> None:
    assert len(str(err)) < MAX_MESSAGE, str(err)[:200]


# -- a small valid benchmark, built from the space itself -----------------------------------
FRAME = synthetic_nb201_frame()
CSV_TEXT = FRAME.to_csv(index=False)
GZIP_BYTES = gzip.compress(CSV_TEXT.encode(), compresslevel=1, mtime=0)
ACCURACY_COLUMNS = ("c10_test_200", "c10v_val_200")
NON_NEGATIVE_COLUMNS = ("c10v_train_loss_200", "c10v_train_time_200", "params_mb_c10v")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzdata")
    (root / "nb201").mkdir()
    (root / nb201_data.TABLE_RELPATH).write_bytes(GZIP_BYTES)
    return root


@pytest.fixture(scope="module")
def bench(data_dir):
    return nb201_data.load_table(data_dir / nb201_data.TABLE_RELPATH)


@pytest.fixture(scope="module")
def api(data_dir):
    return compat.NASBench201API(str(data_dir), verbose=False, seed=0)


# -- arch strings and op codes --------------------------------------------------------------
OP_LIKE = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "None",
           "skip-connect", "nor_conv_5x5", "conv", "", "avg_pool_3x3 ", "NOR_CONV_1X1"]
INDEX_LIKE = ["0", "1", "2", "3", "-1", "01", "0.0", " 0", "", "٠", "1e0", "9"]
SEPARATORS = ["|", "+", "~", "||", "++", "", " ", "/", "\n", "|+|", "~~"]


@st.composite
def near_valid_arch_strs(draw) -> str:
    """A valid arch string with one to three small faults (or none)."""
    text = ALL_ARCH_STRS[draw(st.integers(0, nb201.NUM_ARCHS - 1))]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["char", "insert", "delete", "op", "index", "separator",
                                     "group"]))
        pos = draw(st.integers(0, len(text)))
        if kind == "char":
            text = text[:pos] + draw(st.characters()) + text[pos + 1:]
        elif kind == "insert":
            text = text[:pos] + draw(st.text(max_size=6)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 6)):]
        elif kind == "op":
            names = [n for n in OP_LIKE[:5] if n in text]
            text = text.replace(draw(st.sampled_from(names)), draw(st.sampled_from(OP_LIKE)), 1)
        elif kind == "index":
            at = text.find("~", pos)
            if at >= 0:
                text = text[:at + 1] + draw(st.sampled_from(INDEX_LIKE)) + text[at + 2:]
        elif kind == "separator":
            spots = [i for i, ch in enumerate(text) if ch in "|+~"]
            if spots:
                at = draw(st.sampled_from(spots))
                text = text[:at] + draw(st.sampled_from(SEPARATORS)) + text[at + 1:]
        else:
            groups = text.split("+")
            k = draw(st.integers(0, len(groups) - 1))
            groups.insert(k, groups[draw(st.integers(0, len(groups) - 1))])
            if draw(st.booleans()):
                groups.pop(draw(st.integers(0, len(groups) - 1)))
            text = "+".join(groups)
    return text


HUGE_STRINGS = st.builds(lambda token, count, tail: token * count + tail,
                         st.sampled_from(["|nor_conv_3x3~0|", "|none~0|+", "+", "|", "x",
                                          "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]),
                         st.integers(20_000, 70_000), st.sampled_from(["", "|", "~2|", "+"]))
ARCH_TEXTS = st.one_of(st.text(max_size=80), near_valid_arch_strs(), HUGE_STRINGS)


def check_arch_str(text: str, bench) -> None:
    try:
        codes = nb201.parse_arch_str(text)
    except ValueError as err:
        short(err)
        with pytest.raises(ValueError):
            bench.query_index_by_arch(text)
        return
    assert len(codes) == nb201.NUM_EDGES and all(0 <= c < nb201.NUM_OPS for c in codes)
    assert nb201.format_arch_str(codes) == text  # only canonical strings parse
    index = bench.query_index_by_arch(text)
    assert bench[index] == text and tuple(bench.op_codes[index]) == codes


@fuzz(300)
@given(text=ARCH_TEXTS)
def test_arch_strings_parse_to_their_own_cell_or_are_refused_briefly(text, bench):
    check_arch_str(text, bench)


@fuzz(150)
@given(text=st.one_of(st.text(alphabet="0123456789ab|~+ \n", max_size=8), st.text(max_size=8),
                      st.builds(lambda n: "4" * n, st.integers(10_000, 1_000_000))))
def test_op_code_strings_parse_to_their_digits_or_are_refused_briefly(text, bench):
    try:
        codes = nb201.parse_op_code(text)
    except ValueError as err:
        short(err)
        return
    assert "".join(map(str, codes)) == text
    assert bench.query_index_by_arch(text) == bench.query_index_by_arch(list(codes))


OP_VALUES = st.one_of(st.integers(-3, 7), st.integers(-2**70, 2**70), st.floats(),
                      st.booleans(), st.sampled_from(OP_LIKE), st.none(), st.text(max_size=3),
                      st.builds(np.int64, st.integers(-2, 6)),
                      st.builds(np.float32, st.floats(-2, 6, width=32)))


def expected_code(value):
    """What an op value means, or None for a value that must be refused."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, str):
        return nb201.OP_CODE.get(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or not float(value).is_integer():
            return None
        value = int(value)
    return int(value) if 0 <= int(value) < nb201.NUM_OPS else None


ONE_ODD_CODE = st.builds(lambda codes, k, value: codes[:k] + [value] + codes[k + 1:],
                        st.lists(st.integers(0, 4), min_size=6, max_size=6),
                        st.integers(0, 5), OP_VALUES)


@fuzz(300)
@given(ops=st.one_of(st.lists(OP_VALUES, min_size=0, max_size=8), ONE_ODD_CODE, ONE_ODD_CODE,
                     st.lists(OP_VALUES, min_size=6, max_size=6),
                     st.integers(), st.floats(), st.booleans(), st.none(), st.binary(max_size=8),
                     st.dictionaries(st.sampled_from(OP_LIKE), st.integers(), max_size=6)))
def test_op_code_sequences_give_their_cell_or_are_refused(ops):
    try:
        arch_str = nb201.format_arch_str(ops)
    except (ValueError, TypeError) as err:
        short(err)
        if isinstance(ops, list) and len(ops) == nb201.NUM_EDGES:
            assert any(expected_code(v) is None for v in ops), ops
        return
    assert isinstance(ops, (list, dict)) and len(ops) == nb201.NUM_EDGES
    want = [expected_code(v) for v in ops]
    assert None not in want and nb201.parse_arch_str(arch_str) == tuple(want)


# -- index arguments ------------------------------------------------------------------------
NUMPY_INTS = st.builds(lambda kind, value: kind(value),
                       st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8,
                                        np.uint16, np.uint32, np.uint64]),
                       st.integers(0, 127))
INDEX_ARGS = st.one_of(st.integers(-3, 15_630), st.integers(-2**70, 2**70), NUMPY_INTS,
                       st.floats(), st.builds(np.float64, st.floats(-2, 20_000)), st.booleans(),
                       st.builds(np.bool_, st.booleans()), st.text(max_size=4), st.none(),
                       st.just([1]), st.just((2,)))


def is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def expect(call, value, upper: int, same_as=None):
    """``call(value)`` answers as ``call(int(value))`` for an integer in 0..upper-1, raises
    IndexError for another integer and TypeError for anything else."""
    if is_integer(value) and 0 <= int(value) < upper:
        result = call(value)
        if same_as is not None:
            assert result == same_as(int(value))
        return
    error = IndexError if is_integer(value) else TypeError
    with pytest.raises(error) as err:
        call(value)
    short(err.value)


@fuzz(400)
@given(value=INDEX_ARGS)
def test_index_arguments_name_their_cell_or_are_refused(value, bench):
    n = nb201.NUM_ARCHS
    expect(lambda i: bench[i], value, n, same_as=lambda i: ALL_ARCH_STRS[i])
    expect(lambda i: bench.get_more_info(i, "cifar10"), value, n,
           same_as=lambda i: {"test-accuracy": float(FRAME["c10_test_200"][i])})
    expect(nb201.ops_from_space_index, value, n, same_as=lambda i: tuple(ALL_CODES[i]))


@fuzz(200)
@given(value=INDEX_ARGS)
def test_the_official_api_drop_in_takes_the_same_indices(value, api):
    n = nb201.NUM_ARCHS
    expect(api.arch, value, n, same_as=lambda i: ALL_ARCH_STRS[i])
    expect(lambda i: api.get_more_info(i, "cifar10", hp="200", is_random=False), value, n,
           same_as=lambda i: api.get_more_info(i, "cifar10", None, "200", False))
    def epoch(i):
        return api.get_more_info(3, "cifar10-valid", i, hp="200", is_random=False)

    if value is None:  # iepoch=None: the final values
        assert epoch(None) == epoch(199)
    else:
        expect(epoch, value, 200, same_as=epoch)


@fuzz(200)
@given(value=st.one_of(INDEX_ARGS, st.just(777), st.just(np.int64(888))))
def test_seed_arguments_pick_that_trial_or_are_refused(value, bench, api):
    if value is None or isinstance(value, (bool, np.bool_)):
        if value is None:
            assert "trial" not in bench.get_more_info(3, "cifar10-valid", seed=value)
        else:
            with pytest.raises(TypeError):
                bench.get_more_info(3, "cifar10-valid", seed=value)
        mean = api.get_more_info(3, "cifar10-valid", hp="200", is_random=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # is_random=True warns once that draws vary
            got = api.get_more_info(3, "cifar10-valid", hp="200", is_random=value)
        assert got == mean  # no per-seed file here: every trial is the mean
        return
    if is_integer(value):
        if value < 0:
            with pytest.raises(ValueError, match="seed must be >= 0"):
                bench.get_more_info(3, "cifar10-valid", seed=value)
        else:
            info = bench.get_more_info(3, "cifar10-valid", seed=value)
            trials = json.loads(FRAME["c10v_val_200_seeds"][3])
            assert info["valid-accuracy"] == trials[info["trial"]]
        with pytest.raises(KeyError, match="seeds held"):
            api.get_more_info(3, "cifar10-valid", hp="200", is_random=value)
        return
    for call in (lambda: bench.get_more_info(3, "cifar10-valid", seed=value),
                 lambda: api.get_more_info(3, "cifar10-valid", hp="200", is_random=value)):
        with pytest.raises(TypeError) as err:
            call()
        short(err.value)


@fuzz(150)
@given(value=INDEX_ARGS)
def test_the_space_object_takes_counts_and_codes_as_integers(value):
    space = get_space("nb201")
    if is_integer(value) and 0 <= int(value) <= 50:
        assert space.sample(np.random.default_rng(0), value).shape == (int(value), 6)
    elif not is_integer(value):
        with pytest.raises(TypeError):
            space.sample(np.random.default_rng(0), value)
    row = [value, 0, 0, 0, 0, 0]
    code = expected_code(value) if not isinstance(value, (list, tuple)) else None
    if code is None:
        with pytest.raises((ValueError, TypeError)) as err:
            space.arch_str(row)
        short(err.value)
    else:
        assert space.arch_str(row) == nb201.format_arch_str([code, 0, 0, 0, 0, 0])


# -- the table loader -----------------------------------------------------------------------
def assert_valid_table(frame: pd.DataFrame) -> None:
    """What an accepted table must satisfy, checked independently of the loader."""
    assert len(frame) == nb201.NUM_ARCHS
    assert frame["arch_index"].tolist() == list(range(nb201.NUM_ARCHS))
    arch_strs, op_codes = frame["arch_str"].tolist(), frame["op_code"].tolist()
    assert len(set(arch_strs)) == nb201.NUM_ARCHS
    assert all(nb201.op_code_from_arch_str(a) == o for a, o in zip(arch_strs, op_codes))
    for column in ACCURACY_COLUMNS + NON_NEGATIVE_COLUMNS:
        if column in frame.columns:
            values = frame[column].to_numpy(dtype=float)
            present = values[~np.isnan(values)]
            assert (present >= 0).all() and np.isfinite(present).all()
            if column in ACCURACY_COLUMNS:
                assert (present <= 100).all() and (present.size == 0 or present.max() > 1)
    if "c10v_val_200_seeds" in frame.columns:
        for text in frame["c10v_val_200_seeds"].dropna():
            trials = json.loads(text)
            assert isinstance(trials, list) and all(0 <= float(t) <= 100 for t in trials)


def load(path, content: bytes):
    path.write_bytes(content)
    try:
        bench = nb201_data.load_table(path)
    except nb201_data.TableError as err:
        assert isinstance(err, ValueError) and str(path) in str(err)
        short(err)
        event(f"refused: {err.column or type(err.__cause__).__name__}")
        return None
    event("accepted")
    return bench


@st.composite
def mutated_csv(draw) -> str:
    text = CSV_TEXT
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["digit", "digit", "digit", "truncate", "char", "insert",
                                     "delete", "drop_line", "duplicate_line", "swap_lines"]))
        pos = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "digit":  # most such files stay valid tables, with other numbers
            at = next((i for i in range(pos, min(pos + 60, len(text))) if text[i].isdigit()),
                      None)
            if at is not None:
                text = text[:at] + draw(st.sampled_from("0123456789")) + text[at + 1:]
        elif kind == "truncate":
            text = text[:pos]
        elif kind == "char":
            text = text[:pos] + draw(st.characters()) + text[pos + 1:]
        elif kind == "insert":
            text = text[:pos] + draw(st.text(max_size=12)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
        else:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "drop_line":
                lines.pop(k)
            elif kind == "duplicate_line":
                lines.insert(j, lines[k])
            else:
                lines[k], lines[j] = lines[j], lines[k]
            text = "\n".join(lines)
    return text


@fuzz(30)
@given(text=mutated_csv(), compress=st.sampled_from([True, True, True, False]))
def test_the_loader_refuses_or_returns_a_valid_table_for_mutated_text(text, compress,
                                                                      tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "mutated.csv.gz"
    content = gzip.compress(text.encode("utf-8", "surrogatepass"), compresslevel=1) \
        if compress else text.encode("utf-8", "surrogatepass")
    bench = load(path, content)
    if bench is not None:
        assert compress  # plain text under a .gz name is never read as a table
        assert_valid_table(bench.frame)
        np.testing.assert_array_equal(bench.op_codes, nb201.op_codes_array(bench.arch_strs))


@st.composite
def damaged_gzip(draw) -> bytes:
    data = bytearray(GZIP_BYTES)
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "header"]))
    if kind == "truncate":
        return bytes(data[:draw(st.integers(0, len(data) - 1))])
    if kind == "insert":
        pos = draw(st.integers(0, len(data)))
        return bytes(data[:pos]) + draw(st.binary(min_size=1, max_size=8)) + bytes(data[pos:])
    positions = st.integers(0, 11) if kind == "header" else st.integers(0, len(data) - 1)
    for pos in draw(st.lists(positions, min_size=1, max_size=4)):
        data[pos] ^= draw(st.integers(1, 255))
    return bytes(data)


@fuzz(25)
@given(content=damaged_gzip())
def test_a_damaged_gzip_file_is_refused_or_reads_unchanged(content, tmp_path_factory):
    bench = load(tmp_path_factory.getbasetemp() / "damaged.csv.gz", content)
    if bench is not None:  # gzip's checksum leaves only harmless header changes unnoticed
        pd.testing.assert_frame_equal(bench.frame, nb201_data.read_table_file(
            io.BytesIO(GZIP_BYTES), compression="gzip",
            dtype={"op_code": str, "arch_str": str}))


CELL_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 200),
                        st.text(max_size=10), st.none(), st.booleans(),
                        st.sampled_from(["[]", "[50.0, 60.0]", "[101]", "[-1]", "[1e-05]",
                                         "[05.0]", "[\"50\"]", "{}", "[50.0,", "null"]),
                        st.sampled_from(ALL_ARCH_STRS[:5] + ["421211", "000000", "42121"]))


@st.composite
def mutated_frame(draw) -> pd.DataFrame:
    frame = FRAME.copy()
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "value", "value", "drop",
                                     "duplicate", "swap", "scale"]))
        row = draw(st.integers(0, len(frame) - 1))
        if kind == "cell":
            column = draw(st.sampled_from(list(frame.columns)))
            frame[column] = frame[column].astype(object)
            frame.loc[row, column] = draw(CELL_VALUES)
        elif kind == "value":  # a plausible number: most such tables stay valid
            column = draw(st.sampled_from(ACCURACY_COLUMNS + NON_NEGATIVE_COLUMNS))
            frame.loc[row, column] = draw(st.floats(-1.0, 101.0))
        elif kind == "drop":
            frame = frame.drop(index=row).reset_index(drop=True)
        elif kind == "duplicate":
            other = draw(st.integers(0, len(frame) - 1))
            frame.loc[row, ["arch_str", "op_code"]] = \
                frame.loc[other, ["arch_str", "op_code"]].to_numpy()
        elif kind == "swap":
            other = draw(st.integers(0, len(frame) - 1))
            column = draw(st.sampled_from(["arch_str", "op_code"]))
            frame.loc[[row, other], column] = frame.loc[[other, row], column].to_numpy()
        else:
            column = draw(st.sampled_from(ACCURACY_COLUMNS))
            frame[column] = frame[column].astype(float) * draw(st.sampled_from([0.01, 1.5, -1]))
    return frame


@fuzz(40)
@given(frame=mutated_frame())
def test_the_checks_refuse_or_pass_a_table_that_is_valid(frame):
    try:
        codes = nb201_data.check_table(frame, "mutated.csv.gz")
    except nb201_data.TableError as err:
        short(err)
        event(f"refused: {err.column}")
        assert err.path == "mutated.csv.gz"
        assert err.column is None or err.column in frame.columns
        assert err.row is None or 0 <= err.row < len(frame)
        return
    event("accepted")
    assert_valid_table(frame)
    np.testing.assert_array_equal(codes, nb201.op_codes_array(frame["op_code"].tolist()))
