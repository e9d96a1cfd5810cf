"""NB101 data sources and the official-format readers (TFRecord, protobuf, NAR JSON)."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.benchmarks.formats import nar_json, protobuf, tfrecord
from nar_utils.benchmarks.formats.protobuf import EvaluationData, ModelMetrics, NasbenchRecord

EXAMPLE_HASH = "00005c142e6f48ac74fdcf73e3439874"
EXAMPLE_PARAMS = 8_555_530
EXAMPLE_ADJACENCY = "0100110|0010000|0001001|0000010|0000010|0000001|0000000"
EXAMPLE_OPS_LABELS = "-1,0,2,0,0,1,-2"


@pytest.fixture(scope="module")
def subset(data_dir: Path) -> nb101_data.NB101Benchmark:
    return nb101_data.load_nb101(data_dir)


@pytest.fixture(scope="module")
def nar_example(data_dir: Path) -> Path:
    path = data_dir / "nar" / "nasbench101_vertice_example.json"
    if not path.is_file():
        pytest.skip(f"no NAR example record at {path}")
    return path


# -- the 30k subset and the space ----------------------------------------------------------
def test_subset_loads_and_queries_the_example_cell(subset):
    assert len(subset) == 30_001 and subset.source == "subset"
    assert subset.epochs == (4, 12, 36, 108)
    row = subset.index_of(EXAMPLE_HASH)
    assert subset[row] == EXAMPLE_HASH and EXAMPLE_HASH in subset
    assert next(iter(subset)) == subset[0]
    info = subset.query(EXAMPLE_HASH)
    assert info["trainable_parameters"] == EXAMPLE_PARAMS
    assert 0 <= info["validation_accuracy"] <= 1
    assert info["test_accuracy"] is None  # the subset holds no test accuracy
    assert info["training_time"] > 0
    assert info["adjacency"].shape == (7, 7) and info["adjacency"][0].tolist() == \
        [0, 1, 0, 0, 1, 1, 0]
    assert info["ops"][0] == "input" and info["ops"][-1] == "output"
    assert subset.query(row)["validation_accuracy"] == info["validation_accuracy"]
    early = subset.query(row, epochs=4)
    assert early["validation_accuracy"] < info["validation_accuracy"]
    assert early["training_time"] is None  # the subset times only the 108-epoch runs


def test_subset_columns_hold_fractions(subset):
    for epochs in subset.epochs:
        values = subset.column("val_acc", epochs)
        assert values.shape == (30_001,) and np.nanmin(values) >= 0 and np.nanmax(values) <= 1
    assert subset.column("validation_accuracy").tolist() == subset.column("val_acc").tolist()
    assert subset.has("val_acc", 4) and subset.has("train_time", 108)
    assert not subset.has("test_acc", 108) and not subset.has("train_time", 4)
    assert subset.column("params")[subset.index_of(EXAMPLE_HASH)] == EXAMPLE_PARAMS
    with pytest.raises(KeyError, match="test_acc"):
        subset.column("test_acc", 108)


def test_subset_keeps_one_run(subset):
    with pytest.raises(ValueError, match="one training run per cell"):
        subset.query(0, run=0)


def test_unknown_hash_metric_and_epochs(subset):
    with pytest.raises(ValueError, match=r"f{32}.*load_space"):
        subset.index_of("f" * 32)
    with pytest.raises(ValueError, match="unknown metric 'accuracy'.*val_acc"):
        subset.column("accuracy")
    with pytest.raises(ValueError, match="unknown metric"):
        subset.has("accuracy")
    with pytest.raises(ValueError, match="unknown epochs 200.*4, 12, 36, 108"):
        subset.column("val_acc", 200)
    with pytest.raises(ValueError, match="unknown epochs 200"):
        subset.query(0, epochs=200)
    with pytest.raises(IndexError, match="30001"):
        subset[30_001]
    with pytest.raises(TypeError):
        subset[1.0]


def test_space_holds_every_cell(data_dir):
    space = nb101_data.load_space(data_dir)
    assert len(space) == 423_624
    assert list(space.columns) == list(nb101_data.SPACE_COLUMNS)
    row = space[space["hash"] == EXAMPLE_HASH].iloc[0]
    assert row["adjacency"] == EXAMPLE_ADJACENCY and row["ops_labels"] == EXAMPLE_OPS_LABELS
    assert row["num_edges"] == EXAMPLE_ADJACENCY.count("1") == 9


# -- missing files ---------------------------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    ("subset", "nb101_30k.csv.gz"), ("tfrecord", "nasbench_only108.tfrecord"),
    ("nar-json", "nasbench101_vertice.json")])
def test_missing_source_file_names_path_and_fix(tmp_path, source, expected):
    with pytest.raises(FileNotFoundError, match=expected) as err:
        nb101_data.load_nb101(tmp_path, source=source)
    assert str(tmp_path) in str(err.value) and "data/README.md" in str(err.value)
    assert "not embedded" in str(err.value)


def test_missing_space_and_data_dir(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nb101_space.csv.gz"):
        nb101_data.load_space(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        nb101_data.load_nb101(tmp_path / "nowhere")
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="not embedded.*NAR_DATA_DIR"):
        nb101_data.load_nb101()
    with pytest.raises(ValueError, match="unknown NB101 source 'full'.*subset"):
        nb101_data.load_nb101(tmp_path, source="full")


# -- CRC-32C and TFRecord framing ----------------------------------------------------------
def test_crc32c_known_values_and_batch_agree():
    assert tfrecord.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert tfrecord.crc32c(b"hello world") == 3381945770
    assert tfrecord.crc32c(b"") == 0
    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
              for n in (0, 1, 7, 8, 300, 33, 0, 1024)]
    assert tfrecord._crc32c_many(chunks).tolist() == [tfrecord._pure_crc32c(c) for c in chunks]
    crc = tfrecord.crc32c(b"abc")
    masked = tfrecord._mask(np.array([crc], dtype=np.uint32)).tolist()
    assert masked == [tfrecord.masked_crc32c(b"abc")]


def _records() -> list[bytes]:
    rng = np.random.default_rng(1)
    return [b"", b"x"] + [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
                          for n in (5, 64, 700, 3)]


def test_tfrecord_round_trip(tmp_path):
    path = tmp_path / "plain.tfrecord"
    records = _records()
    assert tfrecord.write_tfrecord(path, records) == len(records)
    assert list(tfrecord.iter_tfrecord(path)) == records
    assert path.stat().st_size == sum(len(r) + 16 for r in records)
    # framing: uint64 length, masked CRC of it, data, masked CRC of the data
    raw = path.read_bytes()
    assert struct.unpack_from("<QI", raw, 0) == (0, tfrecord.masked_crc32c(struct.pack("<Q", 0)))


def _offset_of(records: list[bytes], number: int) -> int:
    return sum(len(r) + 16 for r in records[:number])


def test_tfrecord_corrupt_data_names_the_record(tmp_path):
    path, records = tmp_path / "bad.tfrecord", _records()
    tfrecord.write_tfrecord(path, records)
    raw = bytearray(path.read_bytes())
    offset = _offset_of(records, 3)
    raw[offset + 12 + 10] ^= 0xFF  # one data byte of record 3
    path.write_bytes(bytes(raw))
    reader = tfrecord.iter_tfrecord(path)
    assert [next(reader) for _ in range(3)] == records[:3]  # the records before the damage
    with pytest.raises(ValueError, match=f"record 3 at byte offset {offset}.*data.*damaged"):
        next(reader)
    assert len(list(tfrecord.iter_tfrecord(path, check_crc=False))) == len(records)


def test_tfrecord_corrupt_length_names_the_record(tmp_path):
    path, records = tmp_path / "bad_length.tfrecord", _records()
    tfrecord.write_tfrecord(path, records)
    raw = bytearray(path.read_bytes())
    offset = _offset_of(records, 4)
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=f"record 4 at byte offset {offset}.*length"):
        list(tfrecord.iter_tfrecord(path))


@pytest.mark.parametrize("cut", [1, 4, 14, 20, 16 + 3 + 8])
def test_tfrecord_truncated(tmp_path, cut):
    path, records = tmp_path / "short.tfrecord", _records()
    tfrecord.write_tfrecord(path, records)
    raw = path.read_bytes()
    path.write_bytes(raw[:-cut])
    last = len(records) - 1 if cut <= 16 + 3 else len(records) - 2
    with pytest.raises(ValueError, match=f"record {last} .*damaged"):
        list(tfrecord.iter_tfrecord(path, check_crc=False))


# -- protobuf wire format ------------------------------------------------------------------
def test_varint_round_trip_and_known_bytes():
    for value in (0, 1, 127, 128, 300, 2**31 - 1, 2**32, 2**64 - 1):
        encoded = protobuf.encode_varint(value)
        assert protobuf.decode_varint(encoded) == (value, len(encoded))
    assert protobuf.encode_varint(300) == b"\xac\x02"
    assert len(protobuf.encode_varint(-1)) == 10
    assert protobuf.encode_field(2, protobuf.WIRE_VARINT, 300) == b"\x10\xac\x02"
    assert protobuf.encode_field(3, protobuf.WIRE_64BIT, struct.pack("<d", 1.0)) == \
        b"\x19" + struct.pack("<d", 1.0)
    assert protobuf.encode_field(1, protobuf.WIRE_BYTES, b"ab") == b"\x0a\x02ab"
    with pytest.raises(ValueError, match="truncated varint"):
        protobuf.decode_varint(b"\x80\x80")


def _metrics(params: int = 1234, val: float = 0.9, test: float = 0.89,
             seconds: float = 1700.5) -> ModelMetrics:
    evaluations = [EvaluationData(0.0, 0.0, 0.1, 0.1, 0.1),
                   EvaluationData(54.0, seconds / 2, 0.8, val - 0.1, test - 0.1),
                   EvaluationData(108.0, seconds, 1.0, val, test, "model.ckpt-42")]
    return ModelMetrics(evaluations, params, seconds + 30.25)


def test_model_metrics_round_trip():
    metrics = _metrics()
    assert ModelMetrics.from_bytes(metrics.to_bytes()) == metrics
    negative = ModelMetrics([], -5, 0.0)  # int32 written as 10-byte two's complement
    assert ModelMetrics.from_bytes(negative.to_bytes()).trainable_parameters == -5
    assert metrics.final.validation_accuracy == 0.9 and metrics.halfway.current_epoch == 54.0
    assert ModelMetrics().to_bytes() != b"" and ModelMetrics.from_bytes(b"") == ModelMetrics()


def test_protobuf_skips_unknown_fields():
    unknown = (protobuf.encode_field(9, protobuf.WIRE_VARINT, 77)
               + protobuf.encode_field(10, protobuf.WIRE_64BIT, b"\x00" * 8)
               + protobuf.encode_field(11, protobuf.WIRE_BYTES, b"future field")
               + protobuf.encode_field(12, protobuf.WIRE_32BIT, b"\x01\x02\x03\x04"))
    evaluation = EvaluationData(4.0, 12.5, 0.5, 0.4, 0.3)
    assert EvaluationData.from_bytes(unknown + evaluation.to_bytes() + unknown) == evaluation
    assert EvaluationData.from_bytes(evaluation.to_bytes() + unknown) == evaluation
    # the last value wins
    later = protobuf.encode_field(4, protobuf.WIRE_64BIT, struct.pack("<d", 0.25))
    assert EvaluationData.from_bytes(evaluation.to_bytes() + later).validation_accuracy == 0.25
    metrics = _metrics()
    blob = unknown + metrics.to_bytes() + unknown
    assert ModelMetrics.from_bytes(blob) == metrics
    with pytest.raises(ValueError, match="wire type 3"):
        list(protobuf.iter_fields(protobuf.encode_varint(13 << 3 | 3)))
    with pytest.raises(ValueError, match="truncated"):
        ModelMetrics.from_bytes(metrics.to_bytes()[:-3])
    with pytest.raises(ValueError, match="trainable_parameters.*wire type 1"):
        ModelMetrics.from_bytes(protobuf.encode_field(2, protobuf.WIRE_64BIT, b"\x00" * 8))


# -- the official record layout ------------------------------------------------------------
CELLS = {
    "a" * 32: ([[0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 0]],
               ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3",
                "conv3x3-bn-relu", "conv1x1-bn-relu", "output"], 3_000_000),
    "b" * 32: ([[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0]],
               ["input", "maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"],
               1_500_000),
    "c" * 32: ([[0, 1], [0, 0]], ["input", "output"], 20_000),
}


def _runs(epochs: tuple[int, ...] = (108,)) -> list[NasbenchRecord]:
    """Three runs per cell and budget, interleaved across cells as a real file may be."""
    rows = []
    for run in range(3):
        for e in epochs:
            for k, (module_hash, (matrix, ops, params)) in enumerate(CELLS.items()):
                val, test = 0.80 + 0.03 * k + 0.01 * run + e / 1e4, 0.79 + 0.02 * k + 0.005 * run
                metrics = _metrics(params, val, test, 100.0 * (k + 1) + run + e)
                rows.append(NasbenchRecord(module_hash, e, np.array(matrix), ops, metrics))
    return rows


def test_nasbench_tfrecord_round_trip(tmp_path):
    path = tmp_path / "nb101" / "nasbench_only108.tfrecord"
    path.parent.mkdir()
    rows = _runs()
    assert protobuf.write_nasbench_tfrecord(path, rows) == 9
    decoded = list(protobuf.iter_nasbench_records(path))
    assert [r.module_hash for r in decoded] == [r.module_hash for r in rows]
    assert decoded[4].metrics == rows[4].metrics and decoded[4].operations == rows[4].operations
    np.testing.assert_array_equal(decoded[4].adjacency, rows[4].adjacency)
    record = json.loads(next(tfrecord.iter_tfrecord(path)))  # the official 5-element list
    assert record[0] == "a" * 32 and record[1] == 108 and len(record[2]) == 49
    assert record[3].startswith("input,conv3x3-bn-relu")

    bench = nb101_data.load_nb101(tmp_path, source="tfrecord")
    assert bench.source == "tfrecord" and len(bench) == 3 and list(bench) == list(CELLS)
    assert bench.epochs == (108,) and len(bench.runs) == 9
    for module_hash, (matrix, ops, params) in CELLS.items():
        mine = [r.metrics.final for r in rows if r.module_hash == module_hash]
        info = bench.query(module_hash)
        assert info["validation_accuracy"] == pytest.approx(
            np.mean([m.validation_accuracy for m in mine]), abs=1e-12)
        assert info["test_accuracy"] == pytest.approx(np.mean([m.test_accuracy for m in mine]))
        assert info["training_time"] == pytest.approx(np.mean([m.training_time for m in mine]))
        assert info["trainable_parameters"] == params and info["ops"] == ops
        np.testing.assert_array_equal(info["adjacency"], matrix)
        for run in range(3):
            one = bench.query(module_hash, run=run)
            assert one["validation_accuracy"] == mine[run].validation_accuracy
            assert one["test_accuracy"] == mine[run].test_accuracy
    row = bench.frame.iloc[1]
    assert row["adjacency"] == "01010|00100|00010|00001|00000" and row["ops_labels"] == \
        "-1,2,0,1,-2" and row["num_vertices"] == 5
    halfway = bench.runs.loc[0, "halfway_val_acc"]
    assert halfway == pytest.approx(rows[0].metrics.evaluation_data[1].validation_accuracy)
    with pytest.raises(ValueError, match="run=3 is out of range.*0..2"):
        bench.query(0, run=3)
    with pytest.raises(ValueError, match="no results at 4 epochs.*108"):
        bench.query(0, epochs=4)


def test_nasbench_tfrecord_several_budgets(tmp_path):
    path = tmp_path / "full.tfrecord"
    protobuf.write_nasbench_tfrecord(path, _runs((36, 108)))
    bench = protobuf.read_nasbench_tfrecord(path)
    assert bench.epochs == (36, 108)
    assert bench.has("test_acc", 36) and not bench.has("val_acc", 4)
    early, late = bench.column("val_acc", 36), bench.column("val_acc", 108)
    np.testing.assert_allclose(late - early, (108 - 36) / 1e4)
    assert bench.query("b" * 32, epochs=36, run=2)["training_time"] == 200.0 + 2 + 36


def test_nasbench_tfrecord_conflicting_cell_is_refused(tmp_path):
    rows = _runs()[:2]
    rows[1] = NasbenchRecord("a" * 32, 108, rows[1].adjacency, rows[1].operations,
                             rows[1].metrics)
    path = tmp_path / "conflict.tfrecord"
    protobuf.write_nasbench_tfrecord(path, rows)
    with pytest.raises(ValueError, match="record 1 gives hash a{32} another cell"):
        protobuf.read_nasbench_tfrecord(path)


def test_nasbench_tfrecord_foreign_record_is_refused(tmp_path):
    path = tmp_path / "foreign.tfrecord"
    tfrecord.write_tfrecord(path, [_runs()[0].to_bytes(), b'{"not": "a nasbench record"}'])
    with pytest.raises(ValueError, match="record 1: not a NAS-Bench-101 record"):
        protobuf.read_nasbench_tfrecord(path)


def test_nasbench_record_checks_its_cell():
    metrics = _metrics()
    with pytest.raises(ValueError, match="unknown NB101 operation 'conv5x5'"):
        NasbenchRecord("d" * 32, 108, np.zeros((2, 2)), ["input", "conv5x5"],
                       metrics).to_bytes()
    with pytest.raises(ValueError, match="3 operations for a 2-vertex"):
        NasbenchRecord("d" * 32, 108, np.zeros((2, 2)), ["input", "maxpool3x3", "output"],
                       metrics).to_bytes()


# -- the NAR authors' JSON -----------------------------------------------------------------
def test_nar_json_example_agrees_with_the_subset(nar_example, subset):
    bench = nar_json.read_nar_nb101_json(nar_example)
    assert bench.source == "nar-json" and len(bench) == 1 and bench[0] == EXAMPLE_HASH
    assert bench.epochs == (108,)
    info = bench.query(EXAMPLE_HASH)
    assert info["trainable_parameters"] == EXAMPLE_PARAMS
    assert 0.9 < info["validation_accuracy"] < 1 and 0.9 < info["test_accuracy"] < 1
    assert info["training_time"] == pytest.approx(1768.785, abs=1e-3)
    row = bench.frame.iloc[0]
    mine = subset.frame.iloc[subset.index_of(EXAMPLE_HASH)]
    assert row["adjacency"] == mine["adjacency"] == EXAMPLE_ADJACENCY
    assert row["ops_labels"] == mine["ops_labels"] == EXAMPLE_OPS_LABELS
    assert row["params"] == mine["params"] and row["flops"] == 2_527_684_618
    raw = json.loads(nar_example.read_text())[0]
    assert bench.vertex_costs(0) == {"vertex_flops": raw["vertex_flops"],
                                     "vertex_params": raw["vertex_params"]}
    assert bench.modules[0] == "stack0/module0" and bench.vertex_flops.shape == (1, 9, 7)
    with pytest.raises(ValueError, match="averages over the training runs"):
        bench.query(0, run=0)
    with pytest.raises(KeyError, match="no per-vertex costs"):
        subset.vertex_costs(0)


def _nar_record(module_hash: str, matrix, ops, params: int, val: float) -> dict:
    n = len(ops)
    costs = {f"stack{s}/module{m}": list(range(n)) for s in range(3) for m in range(3)}
    return {"module_adjacency": matrix, "module_operations": ops,
            "trainable_parameters": params, "avg_training_time": 1000.0 + val,
            "avg_train_accuracy": 1.0, "avg_validation_accuracy": val,
            "avg_test_accuracy": val - 0.01, "unique_hash": module_hash,
            "vertex_flops": costs, "vertex_params": costs, "flops": 10 * params}


@pytest.mark.parametrize("keyed_by_hash", [False, True])
def test_nar_json_two_records(tmp_path, keyed_by_hash):
    records = [_nar_record(h, m, o, p, 0.9 - 0.1 * k)
               for k, (h, (m, o, p)) in enumerate(list(CELLS.items())[:2])]
    content = {r["unique_hash"]: r for r in records} if keyed_by_hash else records
    (tmp_path / "nb101").mkdir()
    (tmp_path / "nb101" / "nasbench101_vertice.json").write_text(json.dumps(content))
    bench = nb101_data.load_nb101(tmp_path, source="nar-json")
    assert list(bench) == ["a" * 32, "b" * 32]
    np.testing.assert_allclose(bench.column("val_acc"), [0.9, 0.8])
    np.testing.assert_allclose(bench.column("test_accuracy"), [0.89, 0.79])
    assert bench.column("params").tolist() == [3_000_000, 1_500_000]
    assert bench.frame["ops_labels"].tolist() == ["-1,0,1,2,0,1,-2", "-1,2,0,1,-2"]
    assert bench.vertex_costs("b" * 32)["vertex_params"]["stack2/module1"] == [0, 1, 2, 3, 4]
    assert bench.vertex_flops[1, 0].tolist() == [0, 1, 2, 3, 4, 0, 0]  # zero-padded


def test_nar_json_missing_key(tmp_path):
    record = _nar_record("a" * 32, *CELLS["a" * 32][:2], 1, 0.9)
    del record["module_operations"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([record]))
    with pytest.raises(ValueError, match=r"record 0 lacks \['module_operations'\]"):
        nar_json.read_nar_nb101_json(path)
