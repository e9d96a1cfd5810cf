"""The protobuf wire format and the official NAS-Bench-101 record layout, decoded without
TensorFlow or the protobuf package."""
from __future__ import annotations

import base64
import json
import os
import struct
import time
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nar_utils.benchmarks.formats.tfrecord import (
    _FRAME_BYTES,
    iter_tfrecord_frames,
    write_tfrecord,
)
from nar_utils.benchmarks.nb101 import (
    EPOCH_METRICS,
    EPOCHS,
    NB101Benchmark,
    _first_bad_cell,
    _first_bad_value,
    _hash_problem,
    _missing,
    adjacency_string,
    ops_to_labels,
)
from nar_utils.spaces.nb101.space import MAX_VERTICES, benchmark_cell, quote

# -- protobuf wire format ------------------------------------------------------------------
WIRE_VARINT, WIRE_64BIT, WIRE_BYTES, WIRE_32BIT = 0, 1, 2, 5
_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "start-group",
               4: "end-group", 5: "32-bit"}
_DOUBLE = struct.Struct("<d")


def encode_varint(value: int) -> bytes:
    """Base-128 varint; a negative value is written as its 64-bit two's complement (10 bytes),
    as protobuf writes negative int32/int64."""
    if value < 0:
        value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf: bytes, pos: int = 0) -> tuple[int, int]:
    """Decode a varint at ``buf[pos]``; returns (value, position after it)."""
    result = shift = 0
    start = pos
    while True:
        if pos >= len(buf):
            raise ValueError(f"truncated varint at byte {start} of a {len(buf)}-byte message")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError(f"varint at byte {start} is longer than 10 bytes")


def encode_field(number: int, wire_type: int, value: int | bytes) -> bytes:
    """One field: key (number, wire type) then the payload. ``value`` is an int for varints
    and bytes otherwise (8 bytes for 64-bit, 4 for 32-bit, any length for length-delimited)."""
    key = encode_varint(number << 3 | wire_type)
    if wire_type == WIRE_VARINT:
        return key + encode_varint(int(value))
    sizes = {WIRE_64BIT: 8, WIRE_32BIT: 4}
    if wire_type in sizes:
        if len(value) != sizes[wire_type]:
            raise ValueError(f"field {number}: a {_WIRE_NAMES[wire_type]} value needs "
                             f"{sizes[wire_type]} bytes, got {len(value)}")
        return key + bytes(value)
    if wire_type == WIRE_BYTES:
        return key + encode_varint(len(value)) + bytes(value)
    raise ValueError(f"field {number}: unsupported wire type {wire_type}; valid: "
                     f"{WIRE_VARINT}, {WIRE_64BIT}, {WIRE_BYTES}, {WIRE_32BIT}")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) of a serialized message: an int for varints,
    the raw bytes otherwise. Groups (wire types 3 and 4, deprecated) are refused."""
    pos, end = 0, len(buf)
    while pos < end:
        start = pos
        key = buf[pos]
        if key < 0x80:  # one-byte key (fields 1..15): the common case, decoded inline
            pos += 1
        else:
            key, pos = decode_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ValueError(f"invalid field number 0 at byte {start}")
        if wire_type == WIRE_VARINT:
            value, pos = decode_varint(buf, pos)
            yield number, wire_type, value
            continue
        if wire_type == WIRE_BYTES:
            size, pos = decode_varint(buf, pos)
        elif wire_type == WIRE_64BIT:
            size = 8
        elif wire_type == WIRE_32BIT:
            size = 4
        else:
            raise ValueError(f"field {number} at byte {start} has wire type {wire_type} "
                             f"({_WIRE_NAMES.get(wire_type, 'unknown')}), which is not supported")
        if pos + size > end:
            raise ValueError(f"field {number} at byte {start} needs {size} bytes but the "
                             f"message ends {end - pos} bytes later (truncated)")
        yield number, wire_type, buf[pos:pos + size]
        pos += size


def _expect_wire(message: str, name: str, number: int, wire_type: int, expected: int) -> None:
    if wire_type != expected:
        raise ValueError(f"{message}.{name} (field {number}) has wire type {wire_type} "
                         f"({_WIRE_NAMES.get(wire_type)}); expected {expected} "
                         f"({_WIRE_NAMES[expected]})")


def _double_field(number: int, value: float) -> bytes:
    return encode_field(number, WIRE_64BIT, _DOUBLE.pack(value))


def _as_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# EvaluationData with doubles 1-5 in field order: key byte (field << 3 | 1), 8 bytes, x5.
_CANONICAL_KEYS = bytes(number << 3 | WIRE_64BIT for number in range(1, 6))
_CANONICAL_DOUBLES = struct.Struct("<" + "xd" * 5)


@dataclass
class EvaluationData:
    """``nasbench.EvaluationData``: one evaluation during training (model_metrics.proto).

    Fields 1-5 are doubles, 6 a string; unset fields read as proto2 defaults (0, '').
    """

    current_epoch: float = 0.0        # field 1
    training_time: float = 0.0        # field 2, seconds up to this point, evaluation excluded
    train_accuracy: float = 0.0       # field 3, fraction
    validation_accuracy: float = 0.0  # field 4, fraction
    test_accuracy: float = 0.0        # field 5, fraction
    checkpoint_path: str = ""         # field 6

    _DOUBLES = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy",
                "test_accuracy")

    def to_bytes(self) -> bytes:
        out = b"".join(_double_field(number, getattr(self, name))
                       for number, name in enumerate(self._DOUBLES, start=1))
        if self.checkpoint_path:
            out += encode_field(6, WIRE_BYTES, self.checkpoint_path.encode("utf-8"))
        return out

    @classmethod
    def from_bytes(cls, buf: bytes) -> EvaluationData:
        values: dict[str, Any] = {}
        if len(buf) >= _CANONICAL_DOUBLES.size and buf[0:45:9] == _CANONICAL_KEYS:
            # Fast path: fields 1-5 first and in order, as protobuf serializers write them
            # (4/5 of the time of reading the official file otherwise goes to this decoding).
            doubles = _CANONICAL_DOUBLES.unpack_from(buf)
            if len(buf) == _CANONICAL_DOUBLES.size:
                return cls(*doubles)
            values.update(zip(cls._DOUBLES, doubles, strict=True))
            buf = buf[_CANONICAL_DOUBLES.size:]
        for number, wire_type, raw in iter_fields(buf):
            if 1 <= number <= 5:
                name = cls._DOUBLES[number - 1]
                if wire_type != WIRE_64BIT:
                    _expect_wire("EvaluationData", name, number, wire_type, WIRE_64BIT)
                values[name] = _DOUBLE.unpack(raw)[0]
            elif number == 6:
                _expect_wire("EvaluationData", "checkpoint_path", 6, wire_type, WIRE_BYTES)
                values["checkpoint_path"] = bytes(raw).decode("utf-8")
            # Any other field is unknown to this schema: skipped, as protobuf parsers do.
        return cls(**values)


@dataclass
class ModelMetrics:
    """``nasbench.ModelMetrics``: all evaluations of one training run (model_metrics.proto).

    Field 1 ``evaluation_data`` (repeated EvaluationData: start, halfway point, end of
    training in the official data), 2 ``trainable_parameters`` (int32), 3 ``total_time``
    (double, s, training and evaluation).
    """

    evaluation_data: list[EvaluationData] = field(default_factory=list)
    trainable_parameters: int = 0
    total_time: float = 0.0

    def to_bytes(self) -> bytes:
        parts = [encode_field(1, WIRE_BYTES, e.to_bytes()) for e in self.evaluation_data]
        parts.append(encode_field(2, WIRE_VARINT, int(self.trainable_parameters)))
        parts.append(_double_field(3, self.total_time))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, buf: bytes) -> ModelMetrics:
        metrics = cls()
        for number, wire_type, raw in iter_fields(buf):
            if number == 1:
                _expect_wire("ModelMetrics", "evaluation_data", 1, wire_type, WIRE_BYTES)
                metrics.evaluation_data.append(EvaluationData.from_bytes(raw))
            elif number == 2:
                _expect_wire("ModelMetrics", "trainable_parameters", 2, wire_type, WIRE_VARINT)
                metrics.trainable_parameters = _as_int32(raw)
            elif number == 3:
                _expect_wire("ModelMetrics", "total_time", 3, wire_type, WIRE_64BIT)
                metrics.total_time = _DOUBLE.unpack(raw)[0]
        return metrics

    @property
    def final(self) -> EvaluationData:
        """The evaluation at the end of training (the last one)."""
        if not self.evaluation_data:
            raise ValueError("ModelMetrics holds no evaluation_data")
        return self.evaluation_data[-1]

    @property
    def halfway(self) -> EvaluationData | None:
        """The evaluation at the halfway point, where the run holds the official three
        (start, halfway, end); else None."""
        return self.evaluation_data[1] if len(self.evaluation_data) == 3 else None


# -- the official record layout ------------------------------------------------------------
_DAMAGED = "the file is corrupted or not NAS-Bench-101's"


@dataclass
class NasbenchRecord:
    """One record of the official file: one training run of one cell for ``epochs``.

    :meth:`to_bytes` and :meth:`from_bytes` check the record as the reader does: a module
    hash of 32 hex digits, a NAS-Bench-101 budget, a valid and pruned cell
    (:func:`nar_utils.spaces.nb101.space.benchmark_cell`), accuracies in [0, 1] and
    non-negative times and parameter count.
    """

    module_hash: str
    epochs: int
    adjacency: np.ndarray  # n x n, 0/1
    operations: list[str]  # op names, 'input' first and 'output' last
    metrics: ModelMetrics

    def to_bytes(self) -> bytes:
        matrix = np.asarray(self.adjacency)
        adjacency_string(matrix)  # validates shape and values
        raw_adjacency = "".join(str(int(v)) for v in matrix.ravel())
        if len(self.operations) != len(matrix):
            raise ValueError(f"hash {quote(self.module_hash)}: {len(self.operations)} "
                             f"operations for a {len(matrix)}-vertex adjacency matrix")
        ops_to_labels(self.operations)  # validates the names
        self._check()
        raw_metrics = base64.b64encode(self.metrics.to_bytes()).decode("ascii")
        row = [self.module_hash, int(self.epochs), raw_adjacency, ",".join(self.operations),
               raw_metrics]
        return json.dumps(row).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> NasbenchRecord:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = _split_record(data)
        record = cls(module_hash, epochs, _flat_adjacency_matrix(raw_adjacency),
                     raw_operations.split(","), _decode_metrics(raw_metrics))
        record._check()
        return record

    def _check(self) -> None:
        problem = _hash_problem(self.module_hash) or _epochs_problem(self.epochs)
        if problem is not None:
            raise ValueError(problem)
        benchmark_cell(self.adjacency, list(self.operations))
        problem = _metrics_problem(self.metrics)
        if problem is not None:
            raise ValueError(f"hash {self.module_hash}: {problem}")


def _epochs_problem(epochs: object) -> str | None:
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)) \
            or epochs not in EPOCHS:
        return (f"epochs {quote(epochs)} is not a NAS-Bench-101 budget (an int among "
                f"{', '.join(map(str, EPOCHS))})")
    return None


def _metrics_problem(metrics: ModelMetrics) -> str | None:
    """What is wrong with one run's metrics as the table would hold them, None if nothing."""
    if not metrics.evaluation_data:
        return "the run holds no evaluation"
    columns: dict[str, list[float]] = {"params": [metrics.trainable_parameters]}
    final = _evaluation_values(metrics.final)
    columns.update({name: [value] for name, value in zip(_RUN_METRICS, final, strict=True)})
    found = _first_bad_value(columns, missing=False)
    if found is None:
        halfway = _evaluation_values(metrics.halfway)
        found = _first_bad_value({name: [value] for name, value in
                                  zip(_HALFWAY_METRICS, halfway, strict=True)})
    return None if found is None else found[1]


def _split_record(data: bytes) -> tuple[str, int, str, str, str]:
    """The five fields of one record, their types checked (the hash and budget included)."""
    try:
        row = json.loads(bytes(data).decode("utf-8"))
        if not isinstance(row, list):  # a dict or a string would unpack into 5 names too
            raise TypeError
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = row
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError):
        raise ValueError(f"not a NAS-Bench-101 record (a JSON list [module_hash, epochs, "
                         f"raw_adjacency, raw_operations, raw_metrics]): "
                         f"{quote(bytes(data))}") from None
    problem = _epochs_problem(epochs)
    for name, value in (("module_hash", module_hash), ("raw_adjacency", raw_adjacency),
                        ("raw_operations", raw_operations), ("raw_metrics", raw_metrics)):
        if not isinstance(value, str):
            problem = problem or f"{name} is {quote(value)}, not a string"
    if problem is not None:
        raise ValueError(problem)
    return module_hash, epochs, raw_adjacency, raw_operations, raw_metrics


def _decode_metrics(raw_metrics: str) -> ModelMetrics:
    try:
        return ModelMetrics.from_bytes(base64.b64decode(raw_metrics, validate=True))
    except ValueError as err:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise ValueError(f"raw_metrics: {err}") from None


def _flat_adjacency_matrix(raw_adjacency: str) -> np.ndarray:
    n = round(len(raw_adjacency) ** 0.5)
    if n * n != len(raw_adjacency) or not 2 <= n <= MAX_VERTICES \
            or set(raw_adjacency) - {"0", "1"}:
        raise ValueError(f"raw adjacency {quote(raw_adjacency)} is not n*n '0'/'1' "
                         f"digits with 2 <= n <= {MAX_VERTICES}")
    return np.frombuffer(raw_adjacency.encode("ascii"), dtype=np.uint8).reshape(n, n) \
        .astype(np.int8) - ord("0")


def _table_adjacency(raw_adjacency: str) -> str:
    """The table form ('|'-joined rows) of an official flattened adjacency string."""
    n = len(_flat_adjacency_matrix(raw_adjacency))  # validates it
    return "|".join(raw_adjacency[i * n:(i + 1) * n] for i in range(n))


def write_nasbench_tfrecord(path: str | os.PathLike, rows: Iterable[NasbenchRecord]) -> int:
    """Write training runs in the official NAS-Bench-101 layout (one record per run; a hash
    appears once per run and budget). Returns the number of records. Each record is checked
    as the reader checks it (:class:`NasbenchRecord`), so that what is written can be read."""
    return write_tfrecord(path, (row.to_bytes() for row in rows))


def iter_nasbench_records(path: str | os.PathLike,
                          check_crc: bool = True) -> Iterator[NasbenchRecord]:
    """Yield the decoded records of an official NAS-Bench-101 file, in file order, each
    checked (:class:`NasbenchRecord`); a bad one raises ValueError naming the file, the
    record number and its byte offset."""
    for number, offset, data in iter_tfrecord_frames(path, check_crc=check_crc):
        try:
            yield NasbenchRecord.from_bytes(data)
        except ValueError as err:
            raise ValueError(f"{path}: record {number}: {err} (the record starts at byte "
                             f"offset {offset}); {_DAMAGED}") from None


_RUN_METRICS = EPOCH_METRICS  # final evaluation of a run
_HALFWAY_METRICS = tuple(f"halfway_{m}" for m in EPOCH_METRICS)


def _evaluation_values(evaluation: EvaluationData | None) -> tuple[float, float, float, float]:
    if evaluation is None:
        return (float("nan"),) * 4
    return (evaluation.validation_accuracy, evaluation.test_accuracy,
            evaluation.train_accuracy, evaluation.training_time)


def read_nasbench_tfrecord(path: str | os.PathLike, check_crc: bool = True,
                           progress: bool | None = None) -> NB101Benchmark:
    """Read an official NAS-Bench-101 file (``nasbench_only108.tfrecord`` or
    ``nasbench_full.tfrecord``) into an :class:`NB101Benchmark` (source 'tfrecord').

    Per (cell, budget) the table holds the mean over runs of the final evaluation; every run
    is kept in ``runs`` (numbered in file order). Cells are in order of first appearance.
    ``progress``: a progress bar (default: for files over 64 MB).

    Every record is checked as it is read: its framing and checksums (``check_crc``), its
    fields (a 32-hex-digit hash, a NAS-Bench-101 budget, a cell that is valid and pruned by
    the NB101 space's own rules and the same in every record of its hash, as is the parameter
    count), and its values (accuracies in [0, 1], non-negative finite times and counts). The
    first bad record is refused with ValueError naming the file, the record number, its byte
    offset and hash, and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing("the official NAS-Bench-101 file", path,
                       "Download nasbench_only108.tfrecord from the NAS-Bench-101 authors.")
    start = time.perf_counter()
    size = path.stat().st_size
    show = size > 64 << 20 if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm
        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"reading {path.name}")

    reading = _Reading(path)
    frames = iter_tfrecord_frames(path, check_crc=check_crc)
    try:
        while True:
            try:
                number, offset, data = next(frames)
            except StopIteration:
                break
            except ValueError:  # damaged framing: a bad record before it is named first
                reading.check()
                raise
            reading.add(number, offset, data)
            if bar is not None:
                bar.update(len(data) + _FRAME_BYTES)
        reading.check()
    finally:
        if bar is not None:
            bar.close()
    if not reading.cells:
        raise ValueError(f"{path}: no records (an empty file); the file is damaged: download "
                         "it again")
    return reading.benchmark(time.perf_counter() - start)


class _Conflict(ValueError):
    """A record that disagrees with the first record of its hash."""


class _Reading:
    """The state of :func:`read_nasbench_tfrecord`: cells in order of first appearance, one
    run per record. What is cheap per record is checked per record; the rest (the cells'
    rules, the values' ranges) in bulk, by :meth:`check`, before an error is raised for a
    later record, so that the error always names the first bad record of the file."""

    def __init__(self, path: Path):
        self.path = path
        self.code_of: dict[str, int] = {}
        # per cell: hash, raw adjacency, raw operations, params, number of its first record
        self.cells: list[tuple[str, str, str, int, int]] = []
        self.adjacency: list[str] = []  # per cell, table forms
        self.ops_labels: list[str] = []
        self.codes, self.epochs_of, self.run_of = array("q"), array("q"), array("q")
        self.offsets = array("q")
        self.values = {name: array("d") for name in _RUN_METRICS + _HALFWAY_METRICS}
        self.runs_seen: dict[tuple[int, int], int] = {}

    @staticmethod
    def name(number: int, module_hash: object = None) -> str:
        if module_hash is None:
            return f"record {number}"
        shown = module_hash if _hash_problem(module_hash) is None else quote(module_hash)
        return f"record {number} (hash {shown})"

    def refuse(self, number: int, offset: int, message: str) -> ValueError:
        return ValueError(f"{self.path}: {message} (the record starts at byte offset "
                          f"{offset}); {_DAMAGED}")

    def add(self, number: int, offset: int, data: bytes) -> None:
        module_hash = None
        try:
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = \
                _split_record(data)
            code = self.code_of.get(module_hash)
            if code is None:
                problem = _hash_problem(module_hash)
                if problem is not None:
                    raise ValueError(problem)
                # Types and shapes here; the cell's rules in bulk (check()).
                adjacency = _table_adjacency(raw_adjacency)
                ops_labels = ops_to_labels(raw_operations.split(","))
            metrics = _decode_metrics(raw_metrics)
            if not metrics.evaluation_data:
                raise ValueError("the run holds no evaluation")
            if code is not None:
                first = self.cells[code]
                if first[1:3] != (raw_adjacency, raw_operations):
                    raise _Conflict(
                        f"gives hash {module_hash} another cell ({quote(raw_adjacency)}, "
                        f"{quote(raw_operations)}) than its first record, record "
                        f"{first[4]} ({first[1]}, {first[2]})")
                if first[3] != metrics.trainable_parameters:
                    raise _Conflict(
                        f"gives hash {module_hash} {metrics.trainable_parameters} trainable "
                        f"parameters, its first record, record {first[4]}, {first[3]}")
        except _Conflict as err:
            self.check()  # an earlier record may be bad too: it is the one to name
            raise self.refuse(number, offset, f"{self.name(number)} {err}") from None
        except ValueError as err:
            self.check()
            raise self.refuse(number, offset, f"{self.name(number, module_hash)}: {err}") \
                from None
        if code is None:
            code = self.code_of[module_hash] = len(self.cells)
            self.cells.append((module_hash, raw_adjacency, raw_operations,
                               metrics.trainable_parameters, number))
            self.adjacency.append(adjacency)
            self.ops_labels.append(ops_labels)
        run = self.runs_seen.get((code, epochs), 0)
        self.runs_seen[(code, epochs)] = run + 1
        self.codes.append(code)
        self.epochs_of.append(epochs)
        self.run_of.append(run)
        self.offsets.append(offset)
        final = _evaluation_values(metrics.final)
        for name, value in zip(_RUN_METRICS, final, strict=True):
            self.values[name].append(value)
        halfway = _evaluation_values(metrics.halfway)
        for name, value in zip(_HALFWAY_METRICS, halfway, strict=True):
            self.values[name].append(value)

    def check(self) -> None:
        """The bulk checks of every record added so far; raises for the first bad one."""
        cell_problem, _ = _first_bad_cell(self.adjacency, self.ops_labels)
        params = _first_bad_value({"params": [cell[3] for cell in self.cells]}, missing=False)
        problems = []  # (record number, problem)
        for found in (cell_problem, params):
            if found is not None:
                problems.append((self.cells[found[0]][4], found[1]))
        final = _first_bad_value({n: self.values[n] for n in _RUN_METRICS}, missing=False)
        halfway = _first_bad_value({n: self.values[n] for n in _HALFWAY_METRICS})
        problems += [found for found in (final, halfway) if found is not None]
        if problems:
            number, problem = min(problems, key=lambda p: p[0])
            offset = self.offsets[number]  # records are numbered as they were added
            module_hash = self.cells[self.codes[number]][0]
            raise self.refuse(number, offset, f"{self.name(number, module_hash)}: {problem}")

    def benchmark(self, seconds: float) -> NB101Benchmark:
        cells = self.cells
        hashes = np.array([c[0] for c in cells], dtype=object)
        code_array = np.frombuffer(self.codes, dtype=np.int64)
        runs = pd.DataFrame({"hash": hashes[code_array],
                             "epochs": np.frombuffer(self.epochs_of, dtype=np.int64),
                             "run": np.frombuffer(self.run_of, dtype=np.int64),
                             **{name: np.frombuffer(v, dtype=np.float64)
                                for name, v in self.values.items()}})
        budgets = sorted(set(runs["epochs"].unique().tolist()))
        means = runs[list(_RUN_METRICS)].groupby([code_array, runs["epochs"]]).mean()
        wide = means.unstack("epochs")
        wide.columns = [f"{metric}_{epochs}" for metric, epochs in wide.columns]
        wide = wide[[f"{m}_{e}" for m in _RUN_METRICS for e in budgets]] \
            .reindex(range(len(cells)))
        frame = pd.DataFrame({
            "hash": hashes,
            "num_vertices": [round(len(c[1]) ** 0.5) for c in cells],
            "adjacency": self.adjacency,
            "ops_labels": self.ops_labels,
        })
        frame = pd.concat([frame, wide.reset_index(drop=True)], axis=1)
        frame["params"] = np.array([c[3] for c in cells], dtype=np.int64)
        return NB101Benchmark(frame, "tfrecord", str(self.path), runs=runs,
                              load_seconds=seconds)
