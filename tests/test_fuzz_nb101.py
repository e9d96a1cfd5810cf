"""NAS-Bench-101 cells and readers under fuzzing.

Specs (random matrices and operation lists, near-valid mutations of valid cells, wrong shapes
and types), the official TFRecord reader (random bytes, valid files with flipped, cut,
inserted or rewritten bytes) and the NAR authors' JSON reader (random JSON, mutated valid
records, damaged text). Every input is either refused with a documented error (ValueError,
its subclass InvalidCellError, or TypeError for a wrong type; a short message that names the
file and, where there is one, the first bad record), or accepted and read back as exactly
what it holds, as an independent decoder written here says. Nothing may hang.

The decoders below restate the rules of NAS-Bench-101 (``nasbench/lib/model_spec.py``) and
of the two file layouts on purpose without the package's code (only the protobuf wire layer,
tested against known bytes elsewhere, is shared).
"""
from __future__ import annotations

import base64
import json
import math
import re
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from nar_utils.benchmarks.formats import nar_json, protobuf, tfrecord
from nar_utils.benchmarks.formats.protobuf import EvaluationData, ModelMetrics, NasbenchRecord
from nar_utils.spaces import nb101
from nar_utils.spaces.nb101 import space as nb101_space
from tests.fuzzing import no_hang

# Deterministic (same examples every run, as the book's tests are), fast (< 30 s in all).
FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
MESSAGE_LIMIT = 700  # characters: an error quotes bad input briefly

OPS = {"input": -1, "conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2, "output": -2}
NAMES = {label: name for name, label in OPS.items()}
EPOCHS = (4, 12, 36, 108)
HEX = re.compile(r"[0-9a-f]{32}")


def _event(text: str) -> None:
    """Count what happened (shown with --hypothesis-show-statistics); a no-op outside a
    property test."""
    if currently_in_test_context():
        event(text)


# -- the rules, restated --------------------------------------------------------------------
def cell_problem(matrix: list[list[int]], labels: list[int], pruned: bool = False) -> bool:
    """Whether (matrix, labels) breaks NAS-Bench-101's rules (``pruned``: or is not pruned).
    ``matrix`` holds Python ints, ``labels`` official labels."""
    n = len(labels)
    if not 2 <= n <= 7 or len(matrix) != n or any(len(row) != n for row in matrix):
        return True
    if any(matrix[i][j] not in (0, 1) for i in range(n) for j in range(n)):
        return True
    if any(matrix[i][j] for i in range(n) for j in range(i + 1)):
        return True
    if labels[0] != -1 or labels[-1] != -2 or any(x not in (0, 1, 2) for x in labels[1:-1]):
        return True
    forward = [v == 0 for v in range(n)]
    for v in range(n):
        forward[v] = forward[v] or any(forward[u] and matrix[u][v] for u in range(v))
    backward = [v == n - 1 for v in range(n)]
    for v in reversed(range(n)):
        backward[v] = backward[v] or any(backward[w] and matrix[v][w] for w in range(v + 1, n))
    if not forward[n - 1]:
        return True
    kept = [forward[v] and backward[v] for v in range(n)]
    if sum(matrix[i][j] for i in range(n) for j in range(n) if kept[i] and kept[j]) > 9:
        return True
    return pruned and not all(kept)


def _strict_int(value) -> bool:
    return type(value) is int


def _brief_and_named(err: BaseException, path=None) -> str:
    message = str(err)
    assert len(message) < MESSAGE_LIMIT, f"{len(message)}-character message"
    if path is not None:
        assert message.startswith(f"{path}: "), message
        message = message[len(f"{path}: "):]
    return message


def _named_record(message: str) -> int | None:
    found = re.match(r"record (\d+)\b", message)
    return None if found is None else int(found.group(1))


# -- specs -----------------------------------------------------------------------------------
LABEL_VALUES = st.sampled_from([-3, -2, -1, 0, 1, 2, 3])


@st.composite
def specs(draw) -> tuple[list[list[int]], list[int]]:
    """Random cells, most of them upper triangular with a sensible labelling, so that valid
    and invalid ones both come up."""
    n = draw(st.integers(0, 9))
    entries = draw(st.lists(st.sampled_from([0, 0, 1, 1, 1, 2, -1]) if draw(st.booleans())
                            else st.integers(0, 1), min_size=n * n, max_size=n * n))
    matrix = [entries[i * n:(i + 1) * n] for i in range(n)]
    if draw(st.integers(0, 3)):  # mostly strictly upper triangular
        matrix = [[v if j > i else 0 for j, v in enumerate(row)] for i, row in enumerate(matrix)]
    if n >= 2 and draw(st.integers(0, 3)):
        labels = [-1] + draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n - 2,
                                      max_size=n - 2)) + [-2]
    else:
        labels = draw(st.lists(LABEL_VALUES, max_size=9))
    return matrix, labels


def _check_spec(matrix, labels) -> None:
    """Cell(matrix, labels) accepts exactly the valid cells, and an accepted cell is the one
    given; pack_strings and benchmark_cell agree."""
    invalid = cell_problem(matrix, labels)
    try:
        with no_hang():
            cell = nb101.Cell(np.array(matrix, dtype=np.int64).reshape(len(matrix), -1)
                              if matrix else np.zeros((0, 0), dtype=np.int64), labels)
    except (ValueError, TypeError) as err:
        _brief_and_named(err)
        assert invalid, f"a valid cell was refused: {err}"
        _event("refused")
        return
    assert not invalid, "an invalid cell was accepted"
    _event("accepted")
    assert cell.matrix.tolist() == matrix and list(cell.labels) == labels
    packed = nb101.pack([cell])
    assert nb101.unpack(packed[0]) == cell
    strings = cell.to_strings()
    assert nb101.Cell.from_strings(*strings) == cell
    assert np.array_equal(nb101.pack_strings([strings[0]], [strings[1]]), packed)
    unpruned = cell_problem(matrix, labels, pruned=True)
    try:
        nb101.pack_strings([strings[0]], [strings[1]], pruned=True)
        nb101_space.benchmark_cell(matrix, labels)
        assert not unpruned, "an unpruned cell passed as a benchmark cell"
    except nb101_space.InvalidCellError as err:
        assert unpruned, f"a pruned cell was refused: {err}"
        assert "no input-to-output path" in str(err)


@FUZZ
@given(spec=specs())
def test_random_specs(spec):
    _check_spec(*spec)


@pytest.fixture(scope="module")
def valid_cells() -> list[tuple[list[list[int]], list[int]]]:
    """Valid cells of 2 to 6 vertices from the enumeration, decoded here."""
    packed = nb101.enumerate_packed(max_vertices=6)[::40]
    cells = []
    for row in packed.tolist():
        labels = [x for x in row[49:] if x != -3]
        n = len(labels)
        cells.append(([row[i * 7:i * 7 + n] for i in range(n)], labels))
    seven = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1],
             [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7]
    cells.append((seven, [-1, 0, 2, 0, 0, 1, -2]))
    return cells


def _mutate_cell(draw, matrix, labels):
    matrix = [list(row) for row in matrix]
    labels = list(labels)
    n = len(labels)
    kind = draw(st.sampled_from(["flip", "label", "drop", "insert", "swap", "transpose",
                                 "flip2"]))
    if kind in ("flip", "flip2"):
        for _ in range(1 if kind == "flip" else 2):
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            matrix[i][j] = draw(st.sampled_from([1 - matrix[i][j], 2, -1]))
    elif kind == "label":
        labels[draw(st.integers(0, n - 1))] = draw(LABEL_VALUES)
    elif kind == "drop":
        k = draw(st.integers(0, n - 1))
        matrix = [row[:k] + row[k + 1:] for i, row in enumerate(matrix) if i != k]
        labels = labels[:k] + labels[k + 1:]
    elif kind == "insert":
        k = draw(st.integers(0, n))
        column = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
        row = draw(st.lists(st.integers(0, 1), min_size=n + 1, max_size=n + 1))
        matrix = [r[:k] + [column[i]] + r[k:] for i, r in enumerate(matrix)]
        matrix.insert(k, row)
        labels.insert(k, draw(st.sampled_from([0, 1, 2, -1, -2])))
    elif kind == "swap":
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        labels[i], labels[j] = labels[j], labels[i]
    else:
        matrix = [list(column) for column in zip(*matrix)]
    _event(f"mutation {kind}")
    return matrix, labels


@FUZZ
@given(data=st.data())
def test_near_valid_specs(valid_cells, data):
    matrix, labels = data.draw(st.sampled_from(valid_cells))
    _check_spec(*_mutate_cell(data.draw, matrix, labels))


ODD_VALUES = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.text(max_size=5),
                       st.integers(-3, 3), st.binary(max_size=3), st.just(np.int64(1)),
                       st.just([]), st.just({}), st.just(np.float64(0.0)))


@FUZZ
@given(matrix=st.one_of(
           st.lists(st.lists(ODD_VALUES, max_size=4), max_size=4),
           st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=3, max_size=3),
           st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=3, max_size=3),
           ODD_VALUES,
           st.just(np.zeros((2, 2, 2), dtype=int))),
       ops=st.one_of(st.lists(st.one_of(ODD_VALUES, st.sampled_from(list(OPS))), max_size=4),
                     ODD_VALUES))
def test_specs_of_wrong_shapes_and_types(matrix, ops):
    """Floats, booleans, strings, None and ragged lists are refused with ValueError or
    TypeError; what is accepted (boolean matrices are edges) is a valid cell as given."""
    try:
        with no_hang():
            cell = nb101.Cell(matrix, ops)
    except (ValueError, TypeError) as err:
        _brief_and_named(err)
        _event("refused")
        return
    _event("accepted")
    array = np.asarray(matrix)
    assert array.dtype.kind in "biu"
    assert all(isinstance(op, (str, int, np.integer)) and not isinstance(op, bool) for op in ops)
    labels = [OPS[op] if isinstance(op, str) else int(op) for op in ops]
    assert not cell_problem(array.astype(int).tolist(), labels)
    assert cell.labels == tuple(labels)


TABLE_CHARS = st.sampled_from(list("01|,-2 x٢") + ["-1", "-2", "10", "\x00"])


RANDOM_ROWS = st.tuples(st.lists(TABLE_CHARS, max_size=30).map("".join),
                        st.lists(TABLE_CHARS, max_size=16).map("".join))


@st.composite
def near_valid_rows(draw, cells) -> tuple[str, str]:
    """The table strings of a valid cell with one character changed, added or removed."""
    matrix, labels = draw(st.sampled_from(cells))
    texts = ["|".join("".join(map(str, row)) for row in matrix), ",".join(map(str, labels))]
    side = draw(st.integers(0, 1))
    at = draw(st.integers(0, len(texts[side])))
    texts[side] = texts[side][:at] + draw(TABLE_CHARS | st.just("")) \
        + texts[side][at + draw(st.integers(0, 1)):]
    return texts[0], texts[1]


@FUZZ
@given(data=st.data())
def test_table_strings(valid_cells, data):
    """pack_strings refuses with InvalidCellError naming the first bad row, or packs exactly
    the cells the strings describe."""
    rows = data.draw(st.lists(RANDOM_ROWS | near_valid_rows(valid_cells), max_size=4))
    adjacency = [a for a, _ in rows]
    ops_labels = [o for _, o in rows]
    expected = []
    first_bad = None
    for row, (a, o) in enumerate(rows):
        matrix_rows = a.split("|")
        parsed = None
        if all(len(r) == len(matrix_rows) and set(r) <= {"0", "1"} for r in matrix_rows) \
                and o.isascii():
            try:
                labels = [int(t) for t in o.split(",")]
                parsed = ([[int(c) for c in r] for r in matrix_rows], labels)
            except ValueError:
                pass
        if parsed is None or cell_problem(*parsed):
            first_bad = row
            break
        expected.append(parsed)
    try:
        with no_hang():
            packed = nb101.pack_strings(adjacency, ops_labels)
    except nb101_space.InvalidCellError as err:
        _brief_and_named(err)
        assert err.row == first_bad, (err.row, first_bad, str(err))
        _event("refused")
        return
    _event("accepted")
    assert first_bad is None
    for row, (matrix, labels) in zip(packed.tolist(), expected, strict=True):
        n = len(labels)
        assert [row[i * 7:i * 7 + n] for i in range(n)] == matrix and row[49:49 + n] == labels


# -- the official TFRecord file --------------------------------------------------------------
def _metrics(k: int) -> ModelMetrics:
    return ModelMetrics([EvaluationData(0.0, 0.0, 0.1, 0.1, 0.1),
                         EvaluationData(54.0, 50.0 + k, 0.7, 0.6 + k / 100, 0.6),
                         EvaluationData(108.0, 100.0 + k, 1.0, 0.9 - k / 100, 0.89)],
                        1000 + k, 120.0)


def _valid_records(cells) -> list[bytes]:
    """Five records: three cells, the first with three runs (one at 36 epochs)."""
    picks = [cells[3], cells[-1], cells[len(cells) // 2]]
    rows = []
    for k, (epochs, c) in enumerate([(108, 0), (108, 1), (36, 0), (108, 2), (108, 0)]):
        matrix, labels = picks[c]
        metrics = _metrics(k)
        metrics.trainable_parameters = 1000 + c
        rows.append(NasbenchRecord(f"{c:x}" * 32, epochs, np.array(matrix),
                                   [NAMES[x] for x in labels], metrics).to_bytes())
    return rows


def _decode_frames(raw: bytes, check_crc: bool) -> tuple[list[bytes], int | None]:
    """The records of TFRecord bytes, and the number of the first damaged frame (or None)."""
    records, pos = [], 0
    while pos < len(raw):
        if len(raw) - pos < 12:
            return records, len(records)
        (length,) = struct.unpack_from("<Q", raw, pos)
        (length_crc,) = struct.unpack_from("<I", raw, pos + 8)
        if check_crc and tfrecord.masked_crc32c(raw[pos:pos + 8]) != length_crc:
            return records, len(records)
        if pos + 16 + length > len(raw):
            return records, len(records)
        data = raw[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack_from("<I", raw, pos + 12 + length)
        if check_crc and tfrecord.masked_crc32c(data) != data_crc:
            return records, len(records)
        records.append(data)
        pos += 16 + length
    return records, None


def _decode_run(data: bytes):
    """(hash, epochs, matrix, labels, metrics) of one record, None when it is not valid."""
    try:
        row = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(row, list) or len(row) != 5:
        return None
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = row
    if not (isinstance(module_hash, str) and HEX.fullmatch(module_hash) and _strict_int(epochs)
            and epochs in EPOCHS and all(isinstance(x, str) for x in row[2:])):
        return None
    n = round(len(raw_adjacency) ** 0.5)
    if n * n != len(raw_adjacency) or not 2 <= n <= 7 or set(raw_adjacency) - {"0", "1"}:
        return None
    ops = raw_operations.split(",")
    if any(op not in OPS for op in ops):
        return None
    matrix = [[int(c) for c in raw_adjacency[i * n:(i + 1) * n]] for i in range(n)]
    labels = [OPS[op] for op in ops]
    if cell_problem(matrix, labels, pruned=True):
        return None
    try:
        metrics = ModelMetrics.from_bytes(base64.b64decode(raw_metrics, validate=True))
    except ValueError:
        return None
    if not metrics.evaluation_data or metrics.trainable_parameters < 0:
        return None
    final = metrics.evaluation_data[-1]
    values = [final.validation_accuracy, final.test_accuracy, final.train_accuracy]
    if not all(0 <= v <= 1 for v in values) or not 0 <= final.training_time < math.inf:
        return None
    halfway = metrics.evaluation_data[1] if len(metrics.evaluation_data) == 3 else None
    if halfway is not None:
        values = [halfway.validation_accuracy, halfway.test_accuracy, halfway.train_accuracy]
        if not all(0 <= v <= 1 or math.isnan(v) for v in values):
            return None
        if not (0 <= halfway.training_time < math.inf or math.isnan(halfway.training_time)):
            return None
    return module_hash, epochs, matrix, labels, metrics


def _expected_tfrecord(raw: bytes, check_crc: bool):
    """(cells, runs) the file holds, or (None, number of the first bad record)."""
    records, damaged = _decode_frames(raw, check_crc)
    cells: dict[str, tuple] = {}
    runs = []
    for number, data in enumerate(records):
        decoded = _decode_run(data)
        if decoded is None:
            return None, number
        module_hash, epochs, matrix, labels, metrics = decoded
        cell = (matrix, labels, metrics.trainable_parameters)
        if cells.setdefault(module_hash, cell) != cell:
            return None, number
        runs.append((module_hash, epochs, metrics))
    if damaged is not None or not runs:
        return None, damaged
    return cells, runs


def _evaluation(evaluation) -> list[float]:
    if evaluation is None:
        return [math.nan] * 4
    return [evaluation.validation_accuracy, evaluation.test_accuracy,
            evaluation.train_accuracy, evaluation.training_time]


def _check_tfrecord(path, raw: bytes, check_crc: bool) -> None:
    path.write_bytes(raw)
    cells, runs = _expected_tfrecord(raw, check_crc)
    try:
        with no_hang():
            bench = protobuf.read_nasbench_tfrecord(path, check_crc=check_crc, progress=False)
    except ValueError as err:
        message = _brief_and_named(err, path)
        assert cells is None, f"a valid file was refused: {message}"
        if runs is not None:  # the first bad record is the one named
            assert _named_record(message) == runs, (runs, message)
        _event("refused")
        return
    _event("accepted")
    assert cells is not None, "a damaged file was read"
    assert bench.hashes == list(cells)
    frame = bench.frame
    for row, (matrix, labels, params) in enumerate(cells.values()):
        assert frame["adjacency"].iat[row] == "|".join("".join(map(str, r)) for r in matrix)
        assert frame["ops_labels"].iat[row] == ",".join(map(str, labels))
        assert frame["num_vertices"].iat[row] == len(labels)
        assert frame["params"].iat[row] == params
    assert bench.runs["hash"].tolist() == [h for h, _, _ in runs]
    assert bench.runs["epochs"].tolist() == [e for _, e, _ in runs]
    names = ["val_acc", "test_acc", "train_acc", "train_time"]
    for k, (_, _, metrics) in enumerate(runs):
        got = bench.runs.iloc[k]
        halfway = metrics.evaluation_data[1] if len(metrics.evaluation_data) == 3 else None
        for name, value in zip(names, _evaluation(metrics.evaluation_data[-1]), strict=True):
            assert got[name] == value
        for name, value in zip(names, _evaluation(halfway), strict=True):
            assert got[f"halfway_{name}"] == value or (math.isnan(value)
                                                       and math.isnan(got[f"halfway_{name}"]))
    for module_hash in cells:
        for epochs in sorted({e for h, e, _ in runs if h == module_hash}):
            mine = [m.evaluation_data[-1].validation_accuracy for h, e, m in runs
                    if h == module_hash and e == epochs]
            assert bench.query(module_hash, epochs=epochs)["validation_accuracy"] == \
                pytest.approx(float(np.mean(mine)), rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def tfrecord_case(tmp_path_factory, valid_cells):
    records = _valid_records(valid_cells)
    folder = tmp_path_factory.mktemp("fuzz_tfrecord")
    path = folder / "valid.tfrecord"
    tfrecord.write_tfrecord(path, records)
    return folder / "fuzzed.tfrecord", path.read_bytes(), records


def test_the_valid_file_reads_back(tfrecord_case):
    path, raw, _ = tfrecord_case
    _check_tfrecord(path, raw, check_crc=True)
    assert len(protobuf.read_nasbench_tfrecord(path).runs) == 5


@FUZZ
@given(raw=st.binary(max_size=400), check_crc=st.booleans())
def test_tfrecord_random_bytes(tfrecord_case, raw, check_crc):
    _check_tfrecord(tfrecord_case[0], raw, check_crc)


@st.composite
def byte_mutations(draw, raw: bytes) -> bytes:
    """A valid file with bytes flipped, set, cut, inserted, removed or repeated."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0, 0xFF, ord("0"), ord("1"), ord('"'), ord(",")]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            size = draw(st.integers(1, 64))
            data[at:at] = data[at:at + size]
        _event(f"bytes {kind}")
    return bytes(data)


@FUZZ
@given(data=st.data(), check_crc=st.booleans())
def test_tfrecord_mutated_bytes(tfrecord_case, data, check_crc):
    path, raw, _ = tfrecord_case
    _check_tfrecord(path, data.draw(byte_mutations(raw)), check_crc)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False), st.text(max_size=8),
                         st.sampled_from([108, 36, 4, 108.0, "108", 0.5, 1.5, -1, "input",
                                          "a" * 32, "0110", ""]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


@st.composite
def payload_mutations(draw, records: list[bytes]) -> list[bytes]:
    """Valid framing around records whose JSON (or the metrics inside) is changed."""
    records = list(records)
    k = draw(st.integers(0, len(records) - 1))
    row = json.loads(records[k])
    kind = draw(st.sampled_from(["field", "text", "metrics", "drop", "extra", "swap"]))
    if kind == "field":
        row[draw(st.integers(0, 4))] = draw(JSON_VALUES)
    elif kind == "text":  # a character of the hash, the adjacency or the operations
        i = draw(st.sampled_from([0, 2, 3]))
        at = draw(st.integers(0, max(len(row[i]) - 1, 0)))
        row[i] = row[i][:at] + draw(st.sampled_from(["0", "1", "2", ",", "", "x", "A"])) \
            + row[i][at + draw(st.integers(0, 1)):]
    elif kind == "metrics":
        blob = bytearray(base64.b64decode(row[4]))
        at = draw(st.integers(0, len(blob) - 1))
        if draw(st.booleans()):
            blob[at] ^= 1 << draw(st.integers(0, 7))
        else:  # a double changed to a value of interest, where one starts
            value = draw(st.sampled_from([math.nan, math.inf, -0.5, 1.5, 2.0, 0.0, 1e300]))
            at = min(at, len(blob) - 8)
            blob[at:at + 8] = struct.pack("<d", value)
        row[4] = base64.b64encode(bytes(blob)).decode("ascii")
    elif kind == "drop":
        del row[draw(st.integers(0, 4))]
    elif kind == "extra":
        row.append(draw(JSON_SCALARS))
    else:
        j = draw(st.integers(0, len(records) - 1))
        other = json.loads(records[j])
        row[0] = other[0]  # another cell's hash: a conflict unless it is the same cell
    _event(f"payload {kind}")
    records[k] = json.dumps(row).encode("utf-8")
    return records


@FUZZ
@given(data=st.data())
def test_tfrecord_mutated_records(tfrecord_case, data):
    path, _, records = tfrecord_case
    tfrecord.write_tfrecord(path, data.draw(payload_mutations(records)))
    _check_tfrecord(path, path.read_bytes(), check_crc=True)


# -- the NAR authors' JSON -------------------------------------------------------------------
MODULES = [f"stack{s}/module{m}" for s in range(3) for m in range(3)]


def _nar_record(k: int, matrix, labels) -> dict:
    n = len(labels)
    return {"module_adjacency": matrix, "module_operations": [NAMES[x] for x in labels],
            "trainable_parameters": 5000 + k, "avg_training_time": 1000.0 + k,
            "avg_train_accuracy": 1.0, "avg_validation_accuracy": 0.9 - k / 100,
            "avg_test_accuracy": None if k == 1 else 0.88, "unique_hash": f"{k + 10:x}" * 32,
            "vertex_flops": {m: [10 * k + v for v in range(n)] for m in MODULES},
            "vertex_params": {m: [k + v for v in range(n)] for m in MODULES},
            "flops": 10 ** 9 + k}


class _Refuse(Exception):
    """The decoder below refuses (``record``: the first bad record, None for the file)."""

    def __init__(self, record: int | None = None):
        self.record = record


def _reject_constant(name):
    raise _Refuse()


def _pairs(pairs):
    if len({key for key, _ in pairs}) != len(pairs):
        raise _Refuse()
    return dict(pairs)


def _metric(record, key):
    value = record.get(key)
    if value is None:
        return math.nan
    if type(value) not in (int, float):
        raise ValueError
    try:
        value = float(value)
    except OverflowError:
        raise ValueError from None
    if not math.isfinite(value):
        raise ValueError
    if key.endswith("accuracy") and not 0 <= value <= 1 or key.endswith("time") and value < 0:
        raise ValueError
    return value


def _count(value) -> int:
    if type(value) is not int or not 0 <= value < 2 ** 63:
        raise ValueError
    return value


def _expected_nar(text: str):
    """The records the text holds, decoded and checked here; raises _Refuse."""
    try:
        content = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        raise _Refuse() from None
    if isinstance(content, dict):
        items = list(content.items())
    elif isinstance(content, list):
        items = [(None, record) for record in content]
    else:
        raise _Refuse()
    if not items:
        raise _Refuse()
    out, seen, modules = [], set(), None
    for number, (key, record) in enumerate(items):
        try:
            if not isinstance(record, dict):
                raise ValueError
            if key is not None:
                if record.get("unique_hash", key) != key:
                    raise ValueError
                record = dict(record, unique_hash=key)
            required = ("module_adjacency", "module_operations", "trainable_parameters",
                        "avg_validation_accuracy", "unique_hash")
            if any(k not in record for k in required):
                raise ValueError
            module_hash = record["unique_hash"]
            if not isinstance(module_hash, str) or not HEX.fullmatch(module_hash) \
                    or module_hash in seen:
                raise ValueError
            matrix, ops = record["module_adjacency"], record["module_operations"]
            if not isinstance(matrix, list) or not all(isinstance(r, list) for r in matrix) \
                    or not all(type(v) is int for r in matrix for v in r):
                raise ValueError
            if not isinstance(ops, list) or len(ops) != len(matrix) \
                    or not all(isinstance(op, str) and op in OPS for op in ops):
                raise ValueError
            labels = [OPS[op] for op in ops]
            if cell_problem(matrix, labels, pruned=True):
                raise ValueError
            values = [_metric(record, key) for key in (
                "avg_validation_accuracy", "avg_test_accuracy", "avg_train_accuracy",
                "avg_training_time")]
            params = _count(record["trainable_parameters"])
            flops = math.nan if record.get("flops") is None else _count(record["flops"])
            present = [k for k in ("vertex_flops", "vertex_params") if k in record]
            if number == 0:
                modules = None if not present else record.get("vertex_flops")
                if present:
                    if not isinstance(modules, dict) or not modules:
                        raise ValueError
                    modules = list(modules)
            if (modules is None) != (not present):
                raise ValueError
            costs = []
            for k in ("vertex_flops", "vertex_params") if modules is not None else ():
                per_module = record.get(k)
                if not isinstance(per_module, dict) or set(per_module) != set(modules):
                    raise ValueError
                rows = []
                for module in modules:
                    lst = per_module[module]
                    if not isinstance(lst, list) or len(lst) != len(labels):
                        raise ValueError
                    rows.append([_count(v) for v in lst] + [0] * (7 - len(labels)))
                costs.append(rows)
        except ValueError:
            raise _Refuse(number) from None
        seen.add(module_hash)
        out.append((module_hash, matrix, labels, values, params, flops, costs))
    return out, modules


def _check_nar(path, text: str, record_level: bool) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        expected, modules = _expected_nar(text)
        refuse = None
    except _Refuse as why:
        expected, refuse = None, why
    try:
        with no_hang():
            bench = nar_json.read_nar_nb101_json(path)
    except ValueError as err:
        message = _brief_and_named(err, path)
        assert refuse is not None, f"a valid file was refused: {message}"
        if record_level and refuse.record is not None:
            assert _named_record(message) == refuse.record, (refuse.record, message)
        _event("refused")
        return
    _event("accepted")
    assert refuse is None, "a damaged file was read"
    frame = bench.frame
    assert bench.hashes == [e[0] for e in expected]
    columns = ["val_acc_108", "test_acc_108", "train_acc_108", "train_time_108"]
    for row, (_, matrix, labels, values, params, flops, costs) in enumerate(expected):
        assert frame["adjacency"].iat[row] == "|".join("".join(map(str, r)) for r in matrix)
        assert frame["ops_labels"].iat[row] == ",".join(map(str, labels))
        assert frame["params"].iat[row] == params
        for column, value in zip(columns, values, strict=True):
            got = frame[column].iat[row] if column in frame else math.nan
            assert got == value or (math.isnan(got) and math.isnan(value))
        got = frame["flops"].iat[row] if "flops" in frame else math.nan
        assert got == flops or (math.isnan(got) and math.isnan(flops))
        if modules is None:
            assert bench.vertex_flops is None and bench.vertex_params is None
        else:
            assert list(bench.modules) == modules
            assert bench.vertex_flops[row].tolist() == costs[0]
            assert bench.vertex_params[row].tolist() == costs[1]


@pytest.fixture(scope="module")
def nar_case(tmp_path_factory, valid_cells):
    picks = [valid_cells[5], valid_cells[-1], valid_cells[len(valid_cells) // 3]]
    records = [_nar_record(k, *cell) for k, cell in enumerate(picks)]
    return tmp_path_factory.mktemp("fuzz_nar") / "nar.json", records


def test_the_valid_nar_file_reads_back(nar_case):
    path, records = nar_case
    _check_nar(path, json.dumps(records), record_level=True)
    assert len(nar_json.read_nar_nb101_json(path)) == 3
    _check_nar(path, json.dumps({r["unique_hash"]: r for r in records}), record_level=True)


@FUZZ
@given(content=JSON_VALUES)
def test_nar_random_json(nar_case, content):
    _check_nar(nar_case[0], json.dumps(content), record_level=True)


def _paths(value, prefix=()):
    """Every place inside a JSON value: tuples of keys and indices."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, prefix + (index,))


@st.composite
def record_mutations(draw, records: list[dict]):
    """Valid records with one place replaced, deleted, extended, or records swapped."""
    records = json.loads(json.dumps(records))
    places = [p for p in _paths(records) if len(p) >= 2]
    place = draw(st.sampled_from(places))
    parent = records
    for key in place[:-1]:
        parent = parent[key]
    last = place[-1]
    kind = draw(st.sampled_from(["replace", "delete", "append", "nudge", "keyed", "swap"]))
    if kind == "replace":
        parent[last] = draw(JSON_VALUES)
    elif kind == "delete":
        del parent[last]
    elif kind == "append" and isinstance(parent[last], list):
        parent[last].append(draw(st.sampled_from([0, 1, 5, "output", 2.5, None])))
    elif kind == "nudge" and type(parent[last]) in (int, float):
        parent[last] = draw(st.sampled_from([parent[last] + 1, -parent[last], parent[last] / 3,
                                             True, str(parent[last])]))
    elif kind == "swap":
        a, b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        records[a]["unique_hash"], records[b]["unique_hash"] = \
            records[b]["unique_hash"], records[a]["unique_hash"]
        if a == b:
            records.append(records[a])  # the same hash twice
    _event(f"record {kind}")
    if kind == "keyed":
        return json.dumps({str(r.get("unique_hash")) if isinstance(r, dict) else "k": r
                           for r in records})
    return json.dumps(records)


@FUZZ
@given(data=st.data())
def test_nar_mutated_records(nar_case, data):
    path, records = nar_case
    _check_nar(path, data.draw(record_mutations(records)), record_level=True)


@FUZZ
@given(data=st.data())
def test_nar_damaged_text(nar_case, data):
    path, records = nar_case
    text = json.dumps(records)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text) - 1))
        piece = data.draw(st.sampled_from(["", "0", "1", "]", "}", ",", '"', "-", "9" * 30,
                                           "NaN", "true", "null", "\\u0000", "é"]))
        text = text[:at] + piece + text[at + data.draw(st.integers(0, 2)):]
    _check_nar(path, text, record_level=False)


# -- index arguments -------------------------------------------------------------------------
INDEX_VALUES = st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans(), st.none(),
                         st.text(max_size=3), st.sampled_from([np.int64(1), np.float64(1.0),
                                                               np.bool_(True), [0], (1,)]))


@FUZZ
@given(index=st.integers(-1, 3) | INDEX_VALUES,
       epochs=st.sampled_from([108, np.int64(108), 108.0, 36, True, "108"]) | INDEX_VALUES)
def test_index_and_budget_arguments(nar_case, index, epochs):
    """A cell index is an int (numpy's included) in range, a budget one of the benchmark's;
    nothing else is truncated into one: 1.0 or True are refused, not read as row 1."""
    path, records = nar_case
    path = path.with_name("valid.json")
    if not path.exists():
        path.write_text(json.dumps(records))
    bench = nar_json.read_nar_nb101_json(path)
    is_int = isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_))
    try:
        info = bench.query(index, epochs=epochs)
    except (TypeError, ValueError, IndexError) as err:
        _brief_and_named(err)
        budget_ok = isinstance(epochs, (int, np.integer)) \
            and not isinstance(epochs, (bool, np.bool_)) and epochs == 108
        assert not (is_int and 0 <= index < len(records) and budget_ok), str(err)
        _event("refused")
        return
    _event("accepted")
    assert is_int and 0 <= index < len(records) and epochs == 108
    assert isinstance(epochs, (int, np.integer)) and not isinstance(epochs, (bool, np.bool_))
    assert info["hash"] == records[int(index)]["unique_hash"]
