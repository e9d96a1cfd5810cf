"""The NB101 readers check what they read: every cell by the space's own rules, every value
by its range, every TFRecord frame; a bad record is refused with the file, the record and the
problem named, and no message quotes a megabyte of bad input."""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.benchmarks.formats import nar_json, protobuf, tfrecord
from nar_utils.benchmarks.formats.protobuf import EvaluationData, ModelMetrics, NasbenchRecord

HASH_A, HASH_B, HASH_C = "a" * 32, "b" * 32, "c" * 32
# A valid, pruned 5-vertex cell.
MATRIX = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
OPS = ["input", "maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
CHAIN = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
HUGE = "x" * 1_000_000

# Cells that break one rule each, and what the error says.
BAD_CELLS = [
    pytest.param([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"],
                 "output is not reachable from the input", id="disconnected"),
    pytest.param([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
                 ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"],
                 "vertex 2 lies on no input-to-output path", id="not-pruned"),
    pytest.param(np.triu(np.ones((7, 7), dtype=int), 1).tolist(),
                 ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"], "more than 9 edges",
                 id="21-edges"),
    pytest.param([[0, 1], [1, 0]], ["input", "output"], "strictly upper triangular",
                 id="lower-triangle"),
    pytest.param(CHAIN, ["input", "output", "conv3x3-bn-relu"],
                 "last vertex must be the output", id="output-not-last"),
    pytest.param(CHAIN, ["conv3x3-bn-relu", "input", "output"], "vertex 0 must be the input",
                 id="input-not-first"),
    pytest.param(CHAIN, ["input", "input", "output"], "interior vertex takes",
                 id="input-inside"),
]


def _metrics(params: int = 1000, val: float = 0.9, test: float = 0.88, train: float = 1.0,
             seconds: float = 100.0, halfway_val: float = 0.8) -> ModelMetrics:
    return ModelMetrics([EvaluationData(0.0, 0.0, 0.1, 0.1, 0.1),
                         EvaluationData(54.0, seconds / 2, 0.7, halfway_val, 0.7),
                         EvaluationData(108.0, seconds, train, val, test)], params, seconds + 5)


def _raw(module_hash: object = HASH_A, epochs: object = 108, matrix=MATRIX, ops=OPS,
         metrics: ModelMetrics | None = None) -> bytes:
    """One record in the official layout, written by hand (no checks), so that a test can
    hold what the writer would refuse."""
    raw_adjacency = "".join(str(v) for row in matrix for v in row)
    raw_metrics = base64.b64encode((metrics or _metrics()).to_bytes()).decode("ascii")
    return json.dumps([module_hash, epochs, raw_adjacency, ",".join(ops),
                       raw_metrics]).encode("utf-8")


def _tfrecord(tmp_path: Path, records: list[bytes], name: str = "nb.tfrecord") -> Path:
    path = tmp_path / name
    tfrecord.write_tfrecord(path, records)
    return path


def _refused(path: Path, *patterns: str, reader=protobuf.read_nasbench_tfrecord) -> str:
    with pytest.raises(ValueError) as err:
        reader(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for pattern in patterns:
        assert re.search(pattern, message[len(f"{path}: "):]), (pattern, message)
    assert len(message) < 1000, f"{len(message)}-character message"
    return message


# -- the official file: cells ------------------------------------------------------------------
@pytest.mark.parametrize("matrix, ops, problem", BAD_CELLS)
def test_tfrecord_refuses_a_cell_that_breaks_the_space_rules(tmp_path, matrix, ops, problem):
    path = _tfrecord(tmp_path, [_raw(HASH_B), _raw(HASH_A, matrix=matrix, ops=ops)])
    _refused(path, rf"record 1 \(hash {HASH_A}\): .*{problem}", "byte offset")


@pytest.mark.parametrize("raw_adjacency, raw_operations, problem", [
    ("0" * 64, ",".join(["input"] + ["maxpool3x3"] * 6 + ["output"]), "2 <= n <= 7"),
    ("010001000", "input,output", "2 labels for a 3-vertex"),
    ("010001000", "input,conv5x5,output", "unknown NB101 operation 'conv5x5'"),
    ("01020", "input,output", "not n\\*n '0'/'1' digits"),
])
def test_tfrecord_refuses_malformed_cell_fields(tmp_path, raw_adjacency, raw_operations,
                                                problem):
    metrics = base64.b64encode(_metrics().to_bytes()).decode()
    data = json.dumps([HASH_A, 108, raw_adjacency, raw_operations, metrics]).encode()
    path = _tfrecord(tmp_path, [data])
    _refused(path, "record 0", problem)


@pytest.mark.parametrize("row, problem", [
    ([HASH_A, 108.7, "0100", "input,output", ""], "epochs 108.7 is not a NAS-Bench-101 budget"),
    ([HASH_A, "108", "0100", "input,output", ""], "epochs '108' is not"),
    ([HASH_A, True, "0100", "input,output", ""], "epochs True is not"),
    ([HASH_A, 200, "0100", "input,output", ""], "epochs 200 is not"),
    ([["a"], 108, "0100", "input,output", ""], r"module_hash is \['a'\], not a string"),
    (["A" * 32, 108, "0100", "input,output", "AAAA"], "32 lowercase hex digits"),
    ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, "not a NAS-Bench-101 record"),
    ("abcde", "not a NAS-Bench-101 record"),
    ([HASH_A, 108, 100, "input,output", ""], "raw_adjacency is 100, not a string"),
])
def test_tfrecord_refuses_fields_of_the_wrong_type(tmp_path, row, problem):
    """A float budget used to be truncated (108.7 read as 108), '108' parsed, a dict of five
    keys unpacked as the five fields, a list as hash crashed with TypeError."""
    path = _tfrecord(tmp_path, [json.dumps(row).encode()])
    _refused(path, "record 0", problem)


# -- the official file: values -----------------------------------------------------------------
@pytest.mark.parametrize("metrics, problem", [
    (_metrics(val=1.5), r"val_acc is 1.5; an accuracy is a fraction in \[0, 1\]"),
    (_metrics(test=-0.1), "test_acc is -0.1"),
    (_metrics(train=math.nan), "train_acc is nan"),
    (_metrics(seconds=-1.0), "train_time is -1.0; a training time is a non-negative"),
    (_metrics(seconds=math.inf), "train_time is inf"),
    (_metrics(halfway_val=7.0), "halfway_val_acc is 7.0"),
    (_metrics(params=-5), "params is -5; a count is a non-negative integer"),
    (ModelMetrics([], 1000, 1.0), "the run holds no evaluation"),
])
def test_tfrecord_refuses_values_out_of_range(tmp_path, metrics, problem):
    path = _tfrecord(tmp_path, [_raw(HASH_B), _raw(HASH_B), _raw(HASH_A, metrics=metrics)])
    _refused(path, rf"record 2 \(hash {HASH_A}\): {problem}")


def test_tfrecord_refuses_runs_that_disagree_on_the_parameter_count(tmp_path):
    path = _tfrecord(tmp_path, [_raw(metrics=_metrics(params=1000)),
                                _raw(metrics=_metrics(params=1001))])
    _refused(path, f"record 1 gives hash {HASH_A} 1001 trainable parameters, its first "
                   "record, record 0, 1000")


def test_tfrecord_names_the_first_bad_record(tmp_path):
    """A record that cannot be parsed (record 2) must not hide a bad cell before it (record
    1), whose rules are checked in bulk."""
    disconnected = _raw(HASH_B, matrix=[[0, 1, 0], [0, 0, 0], [0, 0, 0]],
                        ops=["input", "conv3x3-bn-relu", "output"])
    high = _raw(HASH_C, metrics=_metrics(val=2.0))
    path = _tfrecord(tmp_path, [_raw(), disconnected, b"garbage", high])
    _refused(path, f"record 1 \\(hash {HASH_B}\\): the output is not reachable")
    path = _tfrecord(tmp_path, [_raw(), high, disconnected])
    _refused(path, f"record 1 \\(hash {HASH_C}\\): val_acc is 2.0")


def test_tfrecord_iterator_and_record_check_their_cells(tmp_path):
    disconnected = _raw(HASH_B, matrix=[[0, 1, 0], [0, 0, 0], [0, 0, 0]],
                        ops=["input", "conv3x3-bn-relu", "output"])
    path = _tfrecord(tmp_path, [_raw(), disconnected])
    records = protobuf.iter_nasbench_records(path)
    assert next(records).module_hash == HASH_A
    with pytest.raises(ValueError, match=f"{path}: record 1: .*not reachable.*byte offset "
                                         f"{len(_raw()) + 16}"):
        next(records)
    with pytest.raises(ValueError, match="not reachable"):
        NasbenchRecord.from_bytes(disconnected)
    # the writer refuses what the reader would
    with pytest.raises(ValueError, match="not reachable"):
        NasbenchRecord(HASH_B, 108, np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]),
                       ["input", "conv3x3-bn-relu", "output"], _metrics()).to_bytes()
    with pytest.raises(ValueError, match="val_acc is 1.5"):
        NasbenchRecord(HASH_A, 108, np.array(MATRIX), OPS, _metrics(val=1.5)).to_bytes()


# -- the official file: framing ----------------------------------------------------------------
def test_tfrecord_framing_errors_name_the_file_and_the_first_damaged_record(tmp_path):
    """The data checksums are checked in batches: a damaged length in record 2 must not be
    reported before the damaged data of record 1."""
    records = [_raw(HASH_A), _raw(HASH_B), _raw(HASH_C)]
    path = _tfrecord(tmp_path, records)
    raw = bytearray(path.read_bytes())
    second = len(records[0]) + 16
    third = second + len(records[1]) + 16
    raw[second + 12 + 5] ^= 0x20  # a data byte of record 1
    raw[third] ^= 0x01  # the length of record 2
    path.write_bytes(bytes(raw))
    message = _refused(path, rf"record 1 at byte offset {second}: the checksum of the record "
                             "data does not match")
    assert "damaged" in message
    # without checksums the damaged data (hash b... became bbbbbBb...) passes the framing but
    # not the record checks
    with pytest.raises(ValueError, match="record 1 .*not 32 lowercase hex digits"):
        protobuf.read_nasbench_tfrecord(path, check_crc=False)


@pytest.mark.parametrize("cut", [3, 10, 30])
def test_truncated_tfrecord_names_file_and_offset(tmp_path, cut):
    records = [_raw(HASH_A), _raw(HASH_B)]
    path = _tfrecord(tmp_path, records)
    path.write_bytes(path.read_bytes()[:-cut])
    _refused(path, rf"record 1 at byte offset {len(records[0]) + 16}: .*damaged")


def test_tfrecord_error_quotes_a_huge_record_briefly(tmp_path):
    path = _tfrecord(tmp_path, [HUGE.encode()])
    message = _refused(path, "record 0: not a NAS-Bench-101 record", r"1,000,000 bytes in all")
    assert len(message) < 600
    data = json.dumps([HASH_A, 108, "0" * 1_000_000, HUGE, ""]).encode()
    path = _tfrecord(tmp_path, [data])
    assert len(_refused(path, "record 0")) < 600


# -- the NAR authors' JSON ---------------------------------------------------------------------
def _nar(module_hash: str = HASH_A, matrix=MATRIX, ops=OPS, **fields) -> dict:
    n = len(ops)
    costs = {f"stack{s}/module{m}": list(range(1, n + 1)) for s in range(3) for m in range(3)}
    record = {"module_adjacency": matrix, "module_operations": ops,
              "trainable_parameters": 1000, "avg_training_time": 1000.0,
              "avg_train_accuracy": 1.0, "avg_validation_accuracy": 0.9,
              "avg_test_accuracy": 0.89, "unique_hash": module_hash,
              "vertex_flops": costs, "vertex_params": {m: list(v) for m, v in costs.items()},
              "flops": 10_000}
    record.update(fields)
    return record


def _nar_file(tmp_path: Path, content, name: str = "nar.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _nar_refused(path: Path, *patterns: str) -> str:
    return _refused(path, *patterns, reader=nar_json.read_nar_nb101_json)


@pytest.mark.parametrize("matrix, ops, problem", BAD_CELLS)
def test_nar_json_refuses_a_cell_that_breaks_the_space_rules(tmp_path, matrix, ops, problem):
    path = _nar_file(tmp_path, [_nar(HASH_B), _nar(HASH_A, matrix, ops)])
    _nar_refused(path, rf"record 1 \(hash {HASH_A}\): .*{problem}")


@pytest.mark.parametrize("fields, problem", [
    ({"module_adjacency": [[0, True], [0, 0]], "module_operations": ["input", "output"]},
     "module_adjacency holds True; its entries are the integers 0 and 1"),
    ({"module_adjacency": [[0, 1.0], [0, 0]], "module_operations": ["input", "output"]},
     "module_adjacency holds 1.0"),
    ({"module_adjacency": [[0, 1], [0]]}, "is not square"),
    ({"module_adjacency": np.zeros((8, 8), dtype=int).tolist()}, "has 8 rows"),
    ({"module_operations": OPS[:-1]}, "is not a list of 5 operations"),
    ({"module_operations": OPS[:-1] + ["conv5x5"]}, "unknown NB101 operation 'conv5x5'"),
    ({"avg_validation_accuracy": 1.5}, r"avg_validation_accuracy is 1.5; an accuracy is a "
                                       r"fraction in \[0, 1\]"),
    ({"avg_test_accuracy": "0.89"}, "avg_test_accuracy is '0.89', not a finite number"),
    ({"avg_train_accuracy": True}, "avg_train_accuracy is True, not a finite number"),
    ({"avg_training_time": -3.0}, "avg_training_time is -3.0"),
    ({"avg_training_time": 10 ** 400}, "not a finite number"),
    ({"trainable_parameters": 3.7}, "trainable_parameters is 3.7; a count is a non-negative"),
    ({"trainable_parameters": "1000"}, "trainable_parameters is '1000'"),
    ({"trainable_parameters": -1}, "trainable_parameters is -1"),
    ({"flops": 2 ** 70}, "flops is"),
    ({"unique_hash": "not-a-hash"}, "not 32 lowercase hex digits"),
])
def test_nar_json_refuses_fields_of_the_wrong_type_or_range(tmp_path, fields, problem):
    """Strings, booleans and floats used to be converted (float('0.89'), int(3.7) = 3)."""
    path = _nar_file(tmp_path, [_nar(HASH_B), _nar(HASH_A, **fields)])
    _nar_refused(path, rf"record 1\b.*{problem}")


@pytest.mark.parametrize("change, problem", [
    (lambda r: r["vertex_flops"].__setitem__("stack1/module2", [1, 2, 3]),
     r"vertex_flops\['stack1/module2'\] holds 3 values; expected a list of 5 values, one per "
     "vertex of its 5-vertex cell"),
    (lambda r: r["vertex_params"].__setitem__("stack0/module0", list(range(7))),
     r"vertex_params\['stack0/module0'\] holds 7 values; expected a list of 5"),
    (lambda r: r["vertex_flops"]["stack0/module1"].__setitem__(2, 2.5),
     "stack0/module1, vertex 2: 2.5 is not a count"),
    (lambda r: r["vertex_params"]["stack0/module1"].__setitem__(0, -4),
     "vertex 0: -4 is not a count"),
    (lambda r: r.pop("vertex_flops"), r"lacks \['vertex_flops', 'vertex_params'\]|holds "),
    (lambda r: r["vertex_flops"].pop("stack2/module2"), "for modules"),
])
def test_nar_json_refuses_per_vertex_lists_that_do_not_fit(tmp_path, change, problem):
    """A list of the wrong length used to be zero-padded (or cut off at 7) silently, so its
    values landed on other vertices; a record without the lists dropped every record's."""
    second = _nar(HASH_B)
    change(second)
    path = _nar_file(tmp_path, [_nar(HASH_A), second])
    _nar_refused(path, rf"record 1 \(hash {HASH_B}\)", problem)


def test_nar_json_names_the_first_bad_record(tmp_path):
    bad_cell = _nar(HASH_B, [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
                    ["input", "conv3x3-bn-relu", "output"])
    path = _nar_file(tmp_path, [_nar(HASH_A), bad_cell, {"unique_hash": HASH_C}])
    _nar_refused(path, f"record 1 \\(hash {HASH_B}\\): the output is not reachable")
    # per-vertex values are checked in bulk too, flops before params: still the first record
    bad_params, bad_flops = _nar(HASH_B), _nar(HASH_C)
    bad_params["vertex_params"]["stack0/module0"][0] = -1
    bad_flops["vertex_flops"]["stack0/module0"][0] = 0.5
    path = _nar_file(tmp_path, [_nar(HASH_A), bad_params, bad_flops, bad_cell])
    _nar_refused(path, f"^record 1 \\(hash {HASH_B}\\): vertex_params, stack0/module0, vertex "
                       "0: -1 is not a count")


@pytest.mark.parametrize("content, problem", [
    ("[5]", "record 0 is 5, not a JSON object"),
    ('[{"unique_hash": "' + HASH_A + '", "unique_hash": "' + HASH_B + '"}]',
     "not a JSON file of NB101 records: the key 'unique_hash' appears twice"),
    ("[NaN]", "non-standard JSON constant NaN"),
    ("[" * 100_000, "not a JSON file"),
    ('{"' + HASH_A + '": ' + json.dumps(_nar(HASH_B)) + "}",
     f"holds unique_hash '{HASH_B}', another hash than its key"),
    (json.dumps([_nar(HASH_A), _nar(HASH_A)]), "record 1 .*repeats the hash of record 0"),
    ("[]", "no records"),
])
def test_nar_json_refuses_malformed_files(tmp_path, content, problem):
    _nar_refused(_nar_file(tmp_path, content), problem)


def test_nar_json_reads_nulls_as_missing_values(tmp_path):
    """The book's own writer (cellinfo.to_nar_json) writes null for what a table lacks; the
    reader used to fail on it with TypeError (float(None))."""
    from nar_utils.spaces.nb101 import cellinfo

    frame = pd.DataFrame({"hash": [HASH_A, HASH_B], "adjacency": ["01|00", "010|001|000"],
                          "ops_labels": ["-1,-2", "-1,2,-2"], "val_acc_108": [0.5, np.nan]})
    path = cellinfo.to_nar_json(frame, tmp_path / "ours.json")
    bench = nar_json.read_nar_nb101_json(path)
    assert list(bench) == [HASH_A, HASH_B]
    assert bench.query(HASH_A)["validation_accuracy"] == 0.5
    assert bench.query(HASH_B)["validation_accuracy"] is None
    assert not bench.has("test_acc")  # all null: absent
    records = json.loads(path.read_text())
    assert bench.vertex_costs(1)["vertex_flops"] == records[1]["vertex_flops"]


def test_nar_json_error_quotes_huge_values_briefly(tmp_path):
    path = _nar_file(tmp_path, [_nar(HASH_A, module_operations=OPS[:-1] + [HUGE])])
    message = _nar_refused(path, "1,000,000 characters in all")
    assert len(message) < 600
    path = _nar_file(tmp_path, [_nar(HUGE)])
    assert len(_nar_refused(path, "record 0")) < 600


# -- the subset table --------------------------------------------------------------------------
def _subset_file(tmp_path: Path, **change) -> Path:
    rows = {"hash": [HASH_A, HASH_B], "num_vertices": [2, 3],
            "adjacency": ["01|00", "011|001|000"], "ops_labels": ["-1,-2", "-1,0,-2"],
            "val_acc_108": [0.5, 0.6], "train_time_108": [10.0, 11.0], "params": [5, 6]}
    for column, (row, value) in change.items():
        rows[column][row] = value
    path = tmp_path / "nb101_30k.csv.gz"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("change, problem", [
    ({"val_acc_108": (1, 60.0)}, "val_acc_108 is 60.0; an accuracy is a fraction"),
    ({"train_time_108": (1, -1.0)}, "train_time_108 is -1.0"),
    ({"params": (1, 6.5)}, "params is 6.5; a count"),
    ({"adjacency": (1, "010|000|000")}, "the output is not reachable"),
    ({"adjacency": (1, "011|000|000")}, "vertex 1 lies on no input-to-output path"),
    ({"num_vertices": (1, 4)}, "num_vertices is 4 but the adjacency has 3 vertices"),
    ({"hash": (1, "b" * 31)}, "not 32 lowercase hex digits"),
    ({"ops_labels": (1, "-1,٢,-2")}, "must be a comma list of integer labels"),
])
def test_subset_table_is_checked_as_it_is_read(tmp_path, change, problem):
    path = _subset_file(tmp_path, **change)
    _refused(path, r"row 1 \(hash ", problem, reader=nb101_data.read_subset)


def test_subset_table_reads_when_valid(tmp_path):
    bench = nb101_data.read_subset(_subset_file(tmp_path))
    assert list(bench) == [HASH_A, HASH_B] and bench.query(1)["validation_accuracy"] == 0.6


# -- bounded messages and integer arguments of the benchmark -----------------------------------
@pytest.fixture
def small(tmp_path) -> nb101_data.NB101Benchmark:
    return nb101_data.read_subset(_subset_file(tmp_path))


@pytest.mark.parametrize("call", [
    lambda b: b.index_of(HUGE),
    lambda b: b.query(HUGE),
    lambda b: b.column(HUGE),
    lambda b: b.column("val_acc", list(range(100_000))),
    lambda b: b[list(range(100_000))],
    lambda b: nb101_data.adjacency_matrix(HUGE),
    lambda b: nb101_data.labels_to_ops(HUGE),
    lambda b: nb101_data.ops_to_labels(["input", HUGE]),
    lambda b: nb101_data.load_nb101(".", source=HUGE),
    lambda b: nb101_data.LedgerView(b).column("cifar10", HUGE),
    lambda b: nb101_data.LedgerView(b).column(HUGE, "valid-accuracy"),
    lambda b: nb101_data.LedgerView(b).column("cifar10", "valid-accuracy", HUGE),
])
def test_errors_quote_huge_arguments_briefly(small, call):
    with pytest.raises((ValueError, TypeError, IndexError, KeyError)) as err:
        call(small)
    assert len(str(err.value)) < 600, f"{len(str(err.value))}-character message"


@pytest.mark.parametrize("call, problem", [
    (lambda b: b[1.0], "cell index must be an int"),
    (lambda b: b[True], "cell index must be an int"),
    (lambda b: b.query(0.7), "cell index must be an int"),
    (lambda b: b.query(0, epochs=108.0), "epochs must be an int"),
    (lambda b: b.column("val_acc", True), "epochs must be an int"),
    (lambda b: b.has("val_acc", 107.9), "epochs must be an int"),
])
def test_float_and_bool_indices_are_refused(small, call, problem):
    with pytest.raises(TypeError, match=problem):
        call(small)


def test_numpy_integers_stay_accepted(small):
    assert small[np.int64(1)] == HASH_B
    info = small.query(np.int32(1), epochs=np.int64(108))
    assert info["validation_accuracy"] == 0.6
    assert small.column("val_acc", np.int16(108)).tolist() == [0.5, 0.6]
    assert nb101_data.ops_to_labels(["input", np.int64(0), "output"]) == "-1,0,-2"


@pytest.mark.parametrize("ops", [["input", 0.5, "output"], ["input", True, "output"],
                                 [-1, 0.0, -2]])
def test_ops_to_labels_refuses_floats_and_bools(ops):
    """int(0.5) = 0 and int(True) = 1 used to turn them into conv3x3 and conv1x1."""
    with pytest.raises(ValueError, match="unknown NB101 operation"):
        nb101_data.ops_to_labels(ops)


def test_real_subset_still_reads_and_holds_valid_rows(data_dir):
    bench = nb101_data.load_nb101(data_dir)
    assert len(bench) == 30_001
    frame = bench.frame
    assert frame["val_acc_108"].between(0, 1).all() and (frame["params"] > 0).all()



def test_long_records_are_checksummed_one_by_one():
    """One numpy step per byte position made a megabyte record take half a minute."""
    chunks = [b"x" * 50_000, b"ab", b"", bytes(range(256)) * 100]
    assert tfrecord._crc32c_many(chunks).tolist() == [tfrecord._pure_crc32c(c) for c in chunks]
