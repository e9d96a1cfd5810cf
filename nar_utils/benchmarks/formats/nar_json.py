"""The NAR authors' NAS-Bench-101 cell-information file as a benchmark table."""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from nar_utils.benchmarks.nb101 import (
    CELL_COLUMNS,
    NAR_JSON_RELPATH,
    NB101Benchmark,
    _first_bad_cell,
    _hash_problem,
    _missing,
    _refuse,
)
from nar_utils.spaces.nb101.cellinfo import VertexListError, pad_vertex_lists
from nar_utils.spaces.nb101.space import MAX_VERTICES, OP_TO_LABEL, quote

# -- the NAR authors' cell-information file ------------------------------------------------
_NAR_REQUIRED = ("module_adjacency", "module_operations", "trainable_parameters",
                 "avg_validation_accuracy")
# NAR record key -> column of the table (all at 108 epochs).
_NAR_FIELDS = {"avg_validation_accuracy": "val_acc_108", "avg_test_accuracy": "test_acc_108",
               "avg_train_accuracy": "train_acc_108", "avg_training_time": "train_time_108"}
_VERTEX_KEYS = ("vertex_flops", "vertex_params")
_DAMAGED = "the file is damaged or not the NAR authors' NB101 cell information"


class _RecordError(ValueError):
    """What is wrong with one record (the reader adds the file and the record's name);
    ``verb``: the message continues the name ('lacks ...') rather than following a colon."""

    def __init__(self, message: str, verb: bool = False):
        super().__init__(message)
        self.verb = verb


def _refuse_constant(name: str) -> float:
    # json reads NaN and Infinity, which are not JSON: a NaN would pass for a null (missing).
    raise ValueError(f"the non-standard JSON constant {name} (a missing value is null)")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    # json keeps the last of two equal keys without a word: two values for one field (or one
    # hash) are refused instead.
    content = dict(pairs)
    if len(content) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {quote(twice)} appears twice in one JSON object")
    return content


def _nar_records(path: Path) -> list[tuple[str, object, object]]:
    """``(name, record, key)`` of every record, in file order; ``name`` says where it is
    (``record 3``, or ``record 3 (key '...')`` in a file keyed by hash, whose key is
    ``key``; None in a list)."""
    try:
        with path.open("r", encoding="utf-8") as stream:
            content = json.load(stream, parse_constant=_refuse_constant,
                                object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError
        reason = str(err) if len(str(err)) <= 200 else f"{str(err)[:200]}..."
        raise ValueError(f"{path}: not a JSON file of NB101 records: {reason}") from None
    if isinstance(content, Mapping):
        return [(f"record {number} (key {quote(key)})", record, key)
                for number, (key, record) in enumerate(content.items())]
    if not isinstance(content, list):
        # A malformed file is a bad value, not a caller's wrong type: ValueError.
        message = (f"{path}: expected a JSON list of records (or a dict keyed by hash), got "
                   f"{type(content).__name__}")
        raise ValueError(message)  # noqa: TRY004
    return [(f"record {number}", record, None) for number, record in enumerate(content)]


def _count(record: Mapping, key: str) -> int:
    value = record[key]
    if type(value) is not int or not 0 <= value < 2 ** 63:  # bool and float refused
        raise _RecordError(f"{key} is {quote(value)}; a count is a non-negative integer")
    return value


def _number(record: Mapping, key: str) -> float:
    """A metric of the record as a float, NaN when null or absent (not held)."""
    value = record.get(key)
    if value is None:
        return math.nan
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise OverflowError
        value = float(value)
    except OverflowError:  # also an integer too large for a float
        raise _RecordError(f"{key} is {quote(value)}, not a finite number") from None
    if key.endswith("accuracy") and not 0 <= value <= 1:
        raise _RecordError(f"{key} is {value!r}; an accuracy is a fraction in [0, 1]")
    if key.endswith("time") and value < 0:
        raise _RecordError(f"{key} is {value!r}; a training time is >= 0 seconds")
    return value


def _cell_strings(record: Mapping) -> tuple[int, str, str]:
    """``(num_vertices, adjacency, ops_labels)`` in the table's text form; the types and
    shapes are checked here, the cell rules later by the space's own check."""
    matrix, operations = record["module_adjacency"], record["module_operations"]
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        raise _RecordError(f"module_adjacency {quote(matrix)} is not a list of rows")
    n = len(matrix)
    if not 2 <= n <= MAX_VERTICES:
        raise _RecordError(f"module_adjacency has {n} rows; an NB101 cell has 2 to "
                           f"{MAX_VERTICES} vertices")
    if any(len(row) != n for row in matrix):
        raise _RecordError(f"module_adjacency {quote(matrix)} is not square")
    flat = [value for row in matrix for value in row]
    if not set(map(type, flat)) <= {int} or not set(flat) <= {0, 1}:  # true and 1.0 refused
        bad = next(v for v in flat if type(v) is not int or v not in (0, 1))
        raise _RecordError(f"module_adjacency holds {quote(bad)}; its entries are the "
                           "integers 0 and 1")
    if not isinstance(operations, list) or len(operations) != n:
        raise _RecordError(f"module_operations {quote(operations)} is not a list of {n} "
                           f"operations for the {n}-vertex module_adjacency")
    labels = []
    for op in operations:
        if not isinstance(op, str) or op not in OP_TO_LABEL:
            raise _RecordError(f"unknown NB101 operation {quote(op)} in "
                               f"module_operations; valid: {', '.join(OP_TO_LABEL)}")
        labels.append(str(OP_TO_LABEL[op]))
    adjacency = "|".join("".join(map(str, row)) for row in matrix)
    return n, adjacency, ",".join(labels)


def _vertex_modules(record: Mapping, modules: tuple[str, ...] | None, n: int,
                    first: bool) -> tuple[str, ...] | None:
    """Check the per-vertex dicts of one record and return the file's modules (None: the file
    holds no per-vertex costs). Every record holds both dicts or neither; each dict lists the
    first record's modules, each module one value per vertex (the values themselves are
    checked in bulk by ``pad_vertex_lists``)."""
    present = [key for key in _VERTEX_KEYS if key in record]
    if not present:
        if first or modules is None:
            return None
        raise _RecordError(f"lacks {list(_VERTEX_KEYS)}, which the records before it hold",
                           verb=True)
    if not first and modules is None:
        raise _RecordError(f"holds {present}, which the records before it lack; a file holds "
                           "per-vertex costs for every cell or for none", verb=True)
    for key in _VERTEX_KEYS:
        if key not in record:
            raise _RecordError(f"holds {present} but lacks {key}", verb=True)
        costs = record[key]
        if not isinstance(costs, Mapping) or not costs:
            raise _RecordError(f"{key} is {quote(costs)}, not a dict {{module: [one value "
                               "per vertex]}")
        if modules is None:
            modules = tuple(costs)
        if set(costs) != set(modules):
            raise _RecordError(f"lists {key} for modules {quote(sorted(costs))}, the "
                               f"first record for {quote(sorted(modules))}", verb=True)
        for module in modules:
            values = costs[module]
            if not isinstance(values, list) or len(values) != n:
                what = f"{len(values)} values" if isinstance(values, list) else \
                    quote(values)
                raise _RecordError(f"{key}[{quote(module)}] holds {what}; expected a list "
                                   f"of {n} values, one per vertex of its {n}-vertex cell")
    return modules


def read_nar_nb101_json(path: str | os.PathLike) -> NB101Benchmark:
    """Read the NAR authors' NB101 cell-information file (source 'nar-json').

    Its accuracies and training time are averages over the official runs at 108 epochs;
    ``flops`` (whole network) becomes a column, the per-vertex FLOPs and parameters of every
    module are kept as arrays (:meth:`NB101Benchmark.vertex_costs`). A null value (as
    :func:`nar_utils.spaces.nb101.cellinfo.to_nar_json` writes for what a table lacks) is a
    value the file does not hold.

    Every record is checked as it is read: a 32-hex-digit hash, a cell that is valid and
    pruned by the NB101 space's own rules, accuracies in [0, 1], non-negative times and
    counts, per-vertex lists of one value per vertex. The first bad record is refused with
    ValueError naming the file, the record (number, and key or hash) and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing("the NAR authors' NB101 cell-information file", path,
                       f"Put their nasbench101_vertice.json at {NAR_JSON_RELPATH} in the data "
                       "directory.")
    start = time.perf_counter()
    records = _nar_records(path)
    if not records:
        raise ValueError(f"{path}: no records (an empty list or dict); {_DAMAGED}")
    columns: dict[str, list] = {c: [] for c in CELL_COLUMNS}
    columns.update({c: [] for c in _NAR_FIELDS.values()})
    columns.update(params=[], flops=[])
    names: list[str] = []
    number_of: dict[str, int] = {}
    modules: tuple[str, ...] | None = None
    for number, (name, record, key) in enumerate(records):
        try:
            if not isinstance(record, Mapping):
                raise _RecordError(f"is {quote(record)}, not a JSON object", verb=True)
            if key is not None:  # keyed by hash: the key is the hash, unless the record differs
                if record.get("unique_hash", key) != key:
                    raise _RecordError(f"holds unique_hash {quote(record['unique_hash'])}"
                                       ", another hash than its key", verb=True)
                record = dict(record, unique_hash=key)
            missing = [k for k in _NAR_REQUIRED + ("unique_hash",) if k not in record]
            if missing:
                raise _RecordError(f"lacks {missing}; the NAR authors' NB101 records hold "
                                   f"{', '.join(_NAR_REQUIRED)}, unique_hash, ...", verb=True)
            module_hash = record["unique_hash"]
            problem = _hash_problem(module_hash)
            if problem is not None:
                raise _RecordError(problem)
            name = f"record {number} (hash {module_hash})"
            if module_hash in number_of:
                raise _RecordError(f"repeats the hash of record {number_of[module_hash]}; a "
                                   "file holds one record per cell", verb=True)
            n, adjacency, ops_labels = _cell_strings(record)
            values = {column: _number(record, field) for field, column in _NAR_FIELDS.items()}
            params = _count(record, "trainable_parameters")
            flops = math.nan if record.get("flops") is None else _count(record, "flops")
            modules = _vertex_modules(record, modules, n, first=number == 0)
        except _RecordError as err:
            # A record before this one may hold a cell that breaks the space's rules (checked
            # in bulk below): the first bad record of the file is the one to name.
            _check_cells(path, columns, names, records, modules, upto=number)
            separator = " " if err.verb else ": "
            raise ValueError(f"{path}: {name}{separator}{err}; {_DAMAGED}") from None
        names.append(name)
        number_of[module_hash] = number
        columns["hash"].append(module_hash)
        columns["num_vertices"].append(n)
        columns["adjacency"].append(adjacency)
        columns["ops_labels"].append(ops_labels)
        for column, value in values.items():
            columns[column].append(value)
        columns["params"].append(params)
        columns["flops"].append(flops)
    vertex_flops, vertex_params = _check_cells(path, columns, names, records, modules,
                                               upto=len(records))
    frame = pd.DataFrame(columns)
    frame["params"] = frame["params"].astype(np.int64)
    if frame["flops"].notna().all():
        frame["flops"] = frame["flops"].astype(np.int64)
    frame = frame.dropna(axis=1, how="all")  # a metric the file lacks is absent, not NaN
    return NB101Benchmark(frame, "nar-json", str(path), modules=modules or (),
                          vertex_flops=vertex_flops, vertex_params=vertex_params,
                          load_seconds=time.perf_counter() - start)


def _check_cells(path: Path, columns: dict[str, list], names: list[str],
                 records: list[tuple[str, Mapping, object]], modules: tuple[str, ...] | None,
                 upto: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The bulk checks of the first ``upto`` records (all read without error): their cells
    by the space's rules, and their per-vertex values, padded (``(N, modules, 7)`` int64
    arrays, None when the file holds none). The first bad record is named."""
    problem, _ = _first_bad_cell(columns["adjacency"][:upto], columns["ops_labels"][:upto])
    first = upto if problem is None else problem[0]
    bad_values: VertexListError | None = None
    arrays: list[np.ndarray | None] = [None, None]
    for k, key in enumerate(_VERTEX_KEYS if modules else ()):
        try:  # only the records before the first bad one found so far need looking at
            arrays[k] = pad_vertex_lists(
                [record[key] for _, record, _ in records[:first]], modules,
                columns["num_vertices"][:first],
                names=[f"{name}: {key}" for name in names[:first]])
        except VertexListError as err:
            bad_values, first = err, err.row
    if bad_values is not None:
        raise ValueError(f"{path}: {bad_values}; {_DAMAGED}") from None
    _refuse(path, [problem], lambda row: names[row], _DAMAGED)
    return arrays[0], arrays[1]
