"""NAS-Bench-101 data: one table API over three sources, and readers of the official formats.

:func:`load_nb101` returns an :class:`NB101Benchmark`, whose methods follow the spirit of the
official ``nasbench.api.NASBench`` (``len``, iteration over module hashes, ``query``) and of
:class:`nar_utils.benchmarks.NB201Benchmark` (``bench[i]``, :meth:`NB101Benchmark.column`,
:meth:`NB101Benchmark.has`). Sources, found under the data directory (argument ``data_dir``,
else ``$NAR_DATA_DIR``; NAS-Bench-101 data is not embedded in the package):

* ``'subset'``: ``nb101/nb101_30k.csv.gz``, 30,001 cells with the validation accuracy after
  4, 12, 36 and 108 epochs, the training time at 108 epochs and the parameter count. One
  training run per cell, and **no test accuracy**.
* ``'tfrecord'``: the official file ``nb101/nasbench_only108.tfrecord`` (or
  ``nasbench_full.tfrecord``), read without TensorFlow by :func:`read_nasbench_tfrecord`.
  Three training runs per cell and budget; train/validation/test accuracy and training time.
* ``'nar-json'``: ``nb101/nasbench101_vertice.json``, the NAR authors' cell-information file
  (averages over runs at 108 epochs, plus FLOPs and parameters per vertex of every module),
  read by :func:`read_nar_nb101_json`.

:func:`load_space` reads ``nb101/nb101_space.csv.gz``: all 423,624 unique cells (hash,
adjacency, operations), without accuracies.

Every source is normalised to one :attr:`NB101Benchmark.frame` schema, one row per cell:

* ``hash``: the official module hash (32 hex digits);
* ``num_vertices``; ``adjacency``: the rows of the upper-triangular 0/1 matrix joined by
  ``'|'`` (``'0100110|0010000|...'``); ``ops_labels``: the official integer labels joined by
  ``','`` (-1 input, 0 conv3x3-bn-relu, 1 conv1x1-bn-relu, 2 maxpool3x3, -2 output; see
  :mod:`nar_utils.spaces.nb101`);
* per epoch budget ``e`` in (4, 12, 36, 108), where the source holds it: ``val_acc_e``,
  ``test_acc_e``, ``train_acc_e`` (accuracies as fractions in [0, 1], as the official API
  reports them) and ``train_time_e`` (training time in seconds, evaluation excluded);
* ``params``: trainable parameters of the whole network (a count, not millions);
* source-specific extras (``flops`` for 'nar-json').

A metric column is absent when the source does not hold it. Results are deterministic: where
the source keeps several training runs per cell (the official file: three), a value is the
mean over runs unless ``run=k`` asks for one run (numbered in file order, as the official
``computed_stats[epochs][k]``); the per-run values are in :attr:`NB101Benchmark.runs`.

The official file layout, decoded here without TensorFlow or the protobuf package:

* TFRecord framing (:func:`iter_tfrecord`, :func:`write_tfrecord`): per record a uint64
  little-endian length, the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C
  of the data. CRC-32C uses the package ``crc32c`` or ``google-crc32c`` when importable, else
  this module's own table-driven implementation (vectorised over records with numpy).
* Record data (:class:`NasbenchRecord`): UTF-8 JSON ``[module_hash, epochs, raw_adjacency,
  raw_operations, raw_metrics]``; ``raw_adjacency`` is the n x n matrix flattened row-major as
  '0'/'1' digits, ``raw_operations`` the comma-joined op names and ``raw_metrics`` base64 of a
  serialized protobuf ``nasbench.ModelMetrics`` (:class:`ModelMetrics`), whose
  ``evaluation_data`` hold the evaluations at the start, halfway point and end of training.

Every reader checks what it reads, as it reads it: each cell by the space's own rules
(:func:`nar_utils.spaces.nb101.pack_strings` with ``pruned=True``: 2 to 7 vertices, a 0/1
strictly upper-triangular matrix, input first and output last, interior operations from the
vocabulary, an input-to-output path, at most 9 edges, every vertex on such a path), each hash
(32 hex digits) and each value (accuracies in [0, 1], non-negative times and counts). A bad
record is refused with ValueError naming the file, the record (number, byte offset, hash) and
the problem; quoted input is cut short (:func:`nar_utils.spaces.base.quote`).

Reference: C. Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019 (data: Apache-2.0).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nar_utils.benchmarks.datadir import ENV_DATA_DIR, require_data_dir
from nar_utils.spaces.nb101.space import (
    LABEL_TO_OP,
    OP_TO_LABEL,
    InvalidCellError,
    as_index,
    pack_strings,
    quote,
)

#: Training budgets (epochs) of NAS-Bench-101.
EPOCHS: tuple[int, ...] = (4, 12, 36, 108)
#: Metrics measured per budget (column ``<metric>_<epochs>``), then ``params`` (one column).
EPOCH_METRICS: tuple[str, ...] = ("val_acc", "test_acc", "train_acc", "train_time")
METRICS: tuple[str, ...] = EPOCH_METRICS + ("params",)
#: The official API's names of the same metrics, accepted wherever a metric is named.
METRIC_ALIASES: dict[str, str] = {
    "validation_accuracy": "val_acc", "test_accuracy": "test_acc",
    "train_accuracy": "train_acc", "training_time": "train_time",
    "trainable_parameters": "params"}
SOURCES: tuple[str, ...] = ("subset", "tfrecord", "nar-json")

#: Where the space table lies in a data directory.
SPACE_RELPATH = Path("nb101") / "nb101_space.csv.gz"
SUBSET_RELPATH = Path("nb101") / "nb101_30k.csv.gz"
#: Official file names, tried in this order (the 108-epoch file is four times smaller).
TFRECORD_RELPATHS: tuple[Path, ...] = (Path("nb101") / "nasbench_only108.tfrecord",
                                       Path("nb101") / "nasbench_full.tfrecord")
NAR_JSON_RELPATH = Path("nb101") / "nasbench101_vertice.json"

CELL_COLUMNS: tuple[str, ...] = ("hash", "num_vertices", "adjacency", "ops_labels")
SPACE_COLUMNS: tuple[str, ...] = CELL_COLUMNS + ("num_edges",)
_STRING_DTYPES = {"hash": str, "adjacency": str, "ops_labels": str}

# Why a source keeps no per-run values (said when query(..., run=k) is asked of it).
_NO_RUNS_REASON = {
    "subset": "the subset holds one training run per cell, and its values are that run's",
    "nar-json": "the NAR authors' file holds only averages over the training runs",
}


# -- the benchmark -------------------------------------------------------------------------
@dataclass
class NB101Benchmark:
    """A NAS-Bench-101 table (schema in the module docstring) behind an API like the
    official one.

    ``runs`` (sources that keep them): one row per training run with ``hash``, ``epochs``,
    ``run`` and that run's final ``val_acc``, ``test_acc``, ``train_acc``, ``train_time``,
    plus the same at the halfway point (``halfway_*``). ``vertex_flops`` / ``vertex_params``
    ('nar-json'): (N, len(modules), 7) int64 arrays, row i for cell i, zero-padded beyond
    each cell's vertices; :meth:`vertex_costs` gives one cell's in the authors' layout.
    """

    frame: pd.DataFrame
    source: str
    location: str
    runs: pd.DataFrame | None = None
    modules: tuple[str, ...] = ()
    vertex_flops: np.ndarray | None = field(default=None, repr=False)
    vertex_params: np.ndarray | None = field(default=None, repr=False)
    load_seconds: float = float("nan")

    def __post_init__(self) -> None:
        missing = [c for c in CELL_COLUMNS + ("params",) if c not in self.frame.columns]
        if missing:
            raise ValueError(f"an NB101 frame needs the columns {missing}; it has "
                             f"{list(self.frame.columns)}")
        hashes = self.frame["hash"].tolist()
        self._index_of = {h: i for i, h in enumerate(hashes)}
        if len(self._index_of) != len(hashes):
            duplicated = self.frame["hash"][self.frame["hash"].duplicated()].iat[0]
            raise ValueError(f"{self.location}: hash {duplicated} appears more than once; "
                             "a benchmark holds one row per cell")
        self._run_rows: dict | None = None  # (hash, epochs) -> rows of `runs`, built on demand

    # -- the official-like API -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self) -> Iterator[str]:
        """Module hashes in row order (the official API's ``hash_iterator``)."""
        return iter(self.frame["hash"].tolist())

    def __getitem__(self, index: int) -> str:
        """The hash of row ``index``."""
        return self.frame["hash"].iat[self._check_index(index)]

    def __contains__(self, module_hash: object) -> bool:
        return module_hash in self._index_of

    def __repr__(self) -> str:
        return (f"NB101Benchmark(source={self.source!r}, cells={len(self)}, "
                f"epochs={self.epochs}, location={self.location!r})")

    @property
    def hashes(self) -> list[str]:
        """Module hashes in row order."""
        return self.frame["hash"].tolist()

    @property
    def epochs(self) -> tuple[int, ...]:
        """Epoch budgets this source holds accuracies for."""
        return tuple(e for e in EPOCHS
                     if f"val_acc_{e}" in self.frame or f"test_acc_{e}" in self.frame)

    def metrics(self, epochs: int = 108) -> tuple[str, ...]:
        """Metric names this source holds at budget ``epochs`` (``params`` at every one)."""
        epochs = self._check_epochs_name(epochs)
        return tuple(m for m in METRICS if self._column_name(m, epochs) in self.frame)

    def index_of(self, module_hash: str) -> int:
        """Row of ``module_hash``; ``ValueError`` naming it when this source lacks it."""
        try:
            return self._index_of[module_hash]
        except (KeyError, TypeError):
            pass
        raise ValueError(
            f"hash {quote(module_hash)} is not in source {self.source!r} "
            f"({len(self):,} cells). "
            f"It may still be a valid NAS-Bench-101 cell: load_space() reads every cell of the "
            f"space ({SPACE_RELPATH}, adjacency and operations without accuracies).")

    def query(self, index_or_hash: int | str, epochs: int = 108,
              run: int | None = None) -> dict:
        """Metrics of one cell after ``epochs`` of training.

        Returns ``validation_accuracy``, ``test_accuracy``, ``train_accuracy`` (fractions),
        ``training_time`` (s), ``trainable_parameters``, ``adjacency`` (n x n int8 array),
        ``ops`` (op names), and ``hash``, ``epochs``, ``run``. A value the source does not
        hold is None (the subset has no test accuracy). Values are means over the training
        runs unless ``run`` picks one (sources that keep runs: 'tfrecord').
        """
        row = self._row(index_or_hash)
        epochs = self._check_epochs(epochs)
        module_hash = self.frame["hash"].iat[row]
        if run is None:
            values = {m: self._value(row, m, epochs) for m in EPOCH_METRICS}
        else:
            values = self._run_values(module_hash, epochs, run)
        return {
            "hash": module_hash, "epochs": epochs, "run": run,
            "validation_accuracy": values["val_acc"], "test_accuracy": values["test_acc"],
            "train_accuracy": values["train_acc"], "training_time": values["train_time"],
            "trainable_parameters": int(self.frame["params"].iat[row]),
            "adjacency": adjacency_matrix(self.frame["adjacency"].iat[row]),
            "ops": labels_to_ops(self.frame["ops_labels"].iat[row]),
        }

    # -- vectorised access -----------------------------------------------------------------
    def column(self, metric: str, epochs: int = 108) -> np.ndarray:
        """One metric of every cell as a float array (row i = ``self[i]``); ``epochs`` is
        ignored for ``params``, which does not depend on the budget."""
        metric, epochs = self._check_metric(metric), self._check_epochs_name(epochs)
        name = self._column_name(metric, epochs)
        if name not in self.frame:
            raise KeyError(f"source {self.source!r} has no {metric!r} at {epochs} epochs; it "
                           f"has: {', '.join(self.metrics(epochs)) or 'nothing'} "
                           f"(budgets with accuracies: {self.epochs})")
        return self.frame[name].to_numpy(dtype=float)

    def has(self, metric: str, epochs: int = 108) -> bool:
        """Whether this source holds ``metric`` at ``epochs`` (names are still checked)."""
        metric, epochs = self._check_metric(metric), self._check_epochs_name(epochs)
        return self._column_name(metric, epochs) in self.frame

    def vertex_costs(self, index_or_hash: int | str) -> dict[str, dict[str, list[int]]]:
        """Per-vertex FLOPs and parameters of one cell in every module, in the NAR authors'
        layout: ``{'vertex_flops': {module: [per vertex]}, 'vertex_params': {...}}``."""
        if self.vertex_flops is None or self.vertex_params is None:
            raise KeyError(f"source {self.source!r} holds no per-vertex costs; the NAR "
                           f"authors' file ({NAR_JSON_RELPATH}, source 'nar-json') does")
        row = self._row(index_or_hash)
        n = int(self.frame["num_vertices"].iat[row])
        return {name: {module: values[row, m, :n].tolist()
                       for m, module in enumerate(self.modules)}
                for name, values in (("vertex_flops", self.vertex_flops),
                                     ("vertex_params", self.vertex_params))}

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _column_name(metric: str, epochs: int) -> str:
        return "params" if metric == "params" else f"{metric}_{epochs}"

    def _value(self, row: int, metric: str, epochs: int) -> float | None:
        name = self._column_name(metric, epochs)
        if name not in self.frame:
            return None
        value = float(self.frame[name].iat[row])
        return None if np.isnan(value) else value

    def _run_values(self, module_hash: str, epochs: int, run: int) -> dict:
        if self.runs is None:
            reason = _NO_RUNS_REASON.get(self.source, "it keeps no per-run values")
            raise ValueError(f"source {self.source!r} cannot select run={quote(run)}: "
                             f"{reason}. Call query() without run, or load the official file "
                             "(source='tfrecord'), which keeps every run.")
        if self._run_rows is None:
            self._run_rows = self.runs.groupby(["hash", "epochs"], sort=False).indices
        rows = self._run_rows.get((module_hash, epochs))
        if rows is None:
            raise ValueError(f"hash {module_hash} has no runs at {epochs} epochs in "
                             f"{self.location}")
        if isinstance(run, (bool, np.bool_)) or not isinstance(run, (int, np.integer)) \
                or not 0 <= run < len(rows):
            raise ValueError(f"run={quote(run)} is out of range: hash {module_hash} has "
                             f"{len(rows)} runs at {epochs} epochs, numbered 0..{len(rows) - 1}")
        picked = self.runs.iloc[rows[int(run)]]
        return {m: (None if m not in picked or np.isnan(picked[m]) else float(picked[m]))
                for m in EPOCH_METRICS}

    def _row(self, index_or_hash: int | str) -> int:
        if isinstance(index_or_hash, str):
            return self.index_of(index_or_hash)
        return self._check_index(index_or_hash)

    def _check_index(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            # 3.7 or True would otherwise be read as row 3 or 1
            raise TypeError(f"cell index must be an int (or a hash for query), got "
                            f"{quote(index)} ({type(index).__name__})")
        if not 0 <= index < len(self):
            raise IndexError(f"cell index {index} is out of range 0..{len(self) - 1}")
        return int(index)

    @staticmethod
    def _check_metric(metric: str) -> str:
        if not isinstance(metric, str):
            raise TypeError(f"metric must be a name, got {quote(metric)}; valid: "
                            f"{', '.join(METRICS)}")
        metric = METRIC_ALIASES.get(metric, metric)
        if metric not in METRICS:
            raise ValueError(f"unknown metric {quote(metric)}; valid: {', '.join(METRICS)} "
                             f"(or the official names {', '.join(METRIC_ALIASES)})")
        return metric

    @staticmethod
    def _check_epochs_name(epochs: int) -> int:
        if as_index(epochs, "epochs") not in EPOCHS:
            raise ValueError(f"unknown epochs {epochs!r}; NAS-Bench-101 budgets are "
                             f"{', '.join(map(str, EPOCHS))}")
        return int(epochs)

    def _check_epochs(self, epochs: int) -> int:
        epochs = self._check_epochs_name(epochs)
        if epochs not in self.epochs:
            raise ValueError(f"source {self.source!r} holds no results at {epochs} epochs; it "
                             f"holds epochs {self.epochs} (the official nasbench_full.tfrecord "
                             "holds all four)")
        return epochs


# -- cells: adjacency and operations in the table's text form ------------------------------
def adjacency_string(matrix: Any) -> str:
    """The table form of an adjacency matrix: rows of '0'/'1' digits joined by '|'."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"an adjacency matrix must be square, got shape {matrix.shape}")
    if not ((matrix == 0) | (matrix == 1)).all():
        raise ValueError(f"an adjacency matrix holds only 0 and 1, got values "
                         f"{quote(np.unique(matrix).tolist())}")
    return "|".join("".join("1" if v else "0" for v in row) for row in matrix.tolist())


def adjacency_matrix(text: str) -> np.ndarray:
    """The n x n int8 matrix of a table adjacency string (see :func:`adjacency_string`)."""
    if not isinstance(text, str):
        raise TypeError(f"adjacency must be a string, got {quote(text)}")
    rows = text.split("|") if len(text) < 4096 else []
    if not rows or any(len(r) != len(rows) or set(r) - {"0", "1"} for r in rows):
        raise ValueError(f"adjacency {quote(text)} is not n '|'-joined rows of n '0'/'1' "
                         "digits")
    return np.array([[int(c) for c in r] for r in rows], dtype=np.int8)


def ops_to_labels(ops: Sequence[str | int]) -> str:
    """The table form (comma-joined official labels) of op names or labels."""
    labels = []
    for op in ops:
        if isinstance(op, str) and op in OP_TO_LABEL:
            labels.append(OP_TO_LABEL[op])
        elif isinstance(op, (int, np.integer)) and not isinstance(op, (bool, np.bool_)) \
                and int(op) in LABEL_TO_OP:
            labels.append(int(op))  # a float or bool is refused: int() would truncate it
        else:
            raise ValueError(f"unknown NB101 operation {quote(op)}; valid names: "
                             f"{', '.join(OP_TO_LABEL)} (or integer labels "
                             f"{sorted(LABEL_TO_OP)})")
    return ",".join(map(str, labels))


def labels_to_ops(text: str) -> list[str]:
    """Op names of a comma-joined label string (``'-1,0,2,-2'``)."""
    try:
        if not isinstance(text, str) or len(text) > 4096:
            raise ValueError
        return [LABEL_TO_OP[int(label)] for label in text.split(",")]
    except (KeyError, ValueError):
        raise ValueError(f"ops_labels {quote(text)} must be comma-joined labels among "
                         f"{sorted(LABEL_TO_OP)}") from None


# -- checking what a file holds --------------------------------------------------------------
# Readers check every cell and value as they read them, so that a damaged or foreign file is
# refused with the file, the record and the problem named, instead of surfacing later as a
# wrong number or an error far from its cause.

#: The official module hash: the md5 hex digest of the pruned cell.
_HASH = re.compile(r"[0-9a-f]{32}")


def _hash_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a module hash, None when it is one."""
    if not isinstance(value, str):
        return f"the hash {quote(value)} is not a string"
    if _HASH.fullmatch(value) is None:
        return (f"the hash {quote(value)} is not 32 lowercase hex digits (the official "
                "module hash, an md5 digest)")
    return None


def _first_bad_hash(hashes: Sequence[object]) -> tuple[int, str] | None:
    """``(row, problem)`` of the first entry of ``hashes`` that is not a module hash."""
    for row, value in enumerate(hashes):
        if not (isinstance(value, str) and _HASH.fullmatch(value)):
            return row, str(_hash_problem(value))
    return None


def _metric_kind(name: str) -> str | None:
    """'accuracy', 'seconds' or 'count' for a metric column or record field, None otherwise."""
    if name in ("params", "flops"):
        return "count"
    if "_acc" in name:
        return "accuracy"
    if "train_time" in name:
        return "seconds"
    return None


_KIND_RULE = {"accuracy": "an accuracy is a fraction in [0, 1]",
              "seconds": "a training time is a non-negative, finite number of seconds",
              "count": "a count is a non-negative integer"}


def _first_bad_value(columns: Mapping[str, Any], missing: bool = True
                     ) -> tuple[int, str] | None:
    """``(row, problem)`` of the first row where a metric lies outside its range, None when
    all do: accuracies in [0, 1] (fractions, as the official API reports them), training
    times finite and >= 0 (s), counts (``params``, ``flops``) non-negative integers. NaN is a
    value the source does not hold: accepted for accuracies and times when ``missing``, never
    for counts. Columns of other names are not checked. Vectorised."""
    first: tuple[int, str] | None = None
    for name, values in columns.items():
        kind = _metric_kind(name)
        if kind is None:
            continue
        array = np.asarray(values).ravel()
        if array.dtype.kind in "iuf":
            numbers = array.astype(float)
            not_number = np.zeros(len(array), dtype=bool)
        elif array.dtype.kind == "b":  # True is not one second, nor one parameter
            numbers = np.full(len(array), np.nan)
            not_number = np.ones(len(array), dtype=bool)
        else:  # text in a table, or objects: what does not read as a number is refused
            series = pd.Series(array, dtype=object)
            numbers = pd.to_numeric(series, errors="coerce").to_numpy(float)
            is_bool = series.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(bool)
            not_number = (np.isnan(numbers) & ~series.isna().to_numpy()) | is_bool
        absent = np.isnan(numbers) & ~not_number
        with np.errstate(invalid="ignore"):
            if kind == "accuracy":
                bad = ~((numbers >= 0) & (numbers <= 1))
            elif kind == "seconds":
                bad = ~(np.isfinite(numbers) & (numbers >= 0))
            else:  # a count is never missing
                bad = ~(np.isfinite(numbers) & (numbers >= 0) & (numbers == np.round(numbers)))
        if missing and kind != "count":
            bad &= ~absent
        bad |= not_number
        hits = np.flatnonzero(bad)
        if len(hits) and (first is None or hits[0] < first[0]):
            row = int(hits[0])
            first = (row, f"{name} is {quote(array[row])}; {_KIND_RULE[kind]}")
    return first


def _first_bad_cell(adjacency: Sequence[str], ops_labels: Sequence[str]
                    ) -> tuple[tuple[int, str] | None, np.ndarray | None]:
    """``((row, problem) or None, vertex counts or None)``: the first table cell that breaks
    NAS-Bench-101's rules or is not pruned, by the space's own check
    (:func:`nar_utils.spaces.nb101.pack_strings` with ``pruned=True``)."""
    try:
        packed = pack_strings(adjacency, ops_labels, pruned=True)
    except InvalidCellError as err:
        return (int(err.row), err.reason), None
    return None, (packed[:, -7:] != -3).sum(axis=1)


def _refuse(path: Path, problems: Sequence[tuple[int, str] | None], name_row,
            fix: str = "the file is damaged or not NAS-Bench-101's") -> None:
    """Raise ValueError for the problem of the smallest row (None entries: no problem),
    naming the file and the row as ``name_row(row)`` says."""
    found = [p for p in problems if p is not None]
    if found:
        row, problem = min(found, key=lambda p: p[0])
        raise ValueError(f"{path}: {name_row(row)}: {problem}; {fix}")


def _check_table(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a table whose hashes, cells (valid and pruned, ``num_vertices`` their vertex
    count) or metric values are wrong, naming the first bad row."""
    hashes = frame["hash"].tolist()
    cell_problem, sizes = _first_bad_cell(frame["adjacency"].tolist(),
                                          frame["ops_labels"].tolist())
    size_problem = None
    if sizes is not None:
        given = pd.to_numeric(frame["num_vertices"], errors="coerce").to_numpy(float)
        wrong = np.flatnonzero(given != sizes)
        if len(wrong):
            row = int(wrong[0])
            size_problem = (row, f"num_vertices is {quote(frame['num_vertices'].iat[row])} "
                                 f"but the adjacency has {sizes[row]} vertices")
    values = _first_bad_value({c: frame[c].to_numpy() for c in frame.columns})

    def name_row(row: int) -> str:
        return f"row {row} (hash {quote(hashes[row])})"

    _refuse(path, [_first_bad_hash(hashes), cell_problem, size_problem, values], name_row)



# -- loading -------------------------------------------------------------------------------
def nb101_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The configured data directory (:func:`~nar_utils.benchmarks.datadir.require_data_dir`):
    unlike NB201 there is no embedded NAS-Bench-101 source, so an unset directory is an
    error."""
    return require_data_dir(data_dir, holds=f"{SUBSET_RELPATH} (or the official "
                            "nasbench_only108.tfrecord in nb101/)", what="NAS-Bench-101 data")


def _missing(kind: str, path: Path, fix: str) -> FileNotFoundError:
    return FileNotFoundError(f"{kind} not found at {str(path)!r}. {fix} See data/README.md; "
                             "NAS-Bench-101 data is not embedded in the package.")


def load_nb101(data_dir: str | os.PathLike | None = None,
               source: str = "subset") -> NB101Benchmark:
    """Load NAS-Bench-101 from ``source`` ('subset', 'tfrecord' or 'nar-json') under the
    configured data directory (see the module docstring)."""
    if source not in SOURCES:
        raise ValueError(f"unknown NB101 source {quote(source)}; valid: "
                         f"{', '.join(SOURCES)}")
    root = nb101_data_dir(data_dir)
    if source == "subset":
        return read_subset(root / SUBSET_RELPATH)
    if source == "tfrecord":
        for relpath in TFRECORD_RELPATHS:
            if (root / relpath).is_file():
                from nar_utils.benchmarks.formats.protobuf import read_nasbench_tfrecord

                return read_nasbench_tfrecord(root / relpath)
        raise _missing("the official NAS-Bench-101 file", root / TFRECORD_RELPATHS[0],
                       f"Download nasbench_only108.tfrecord (or nasbench_full.tfrecord) from "
                       f"the NAS-Bench-101 authors and put it in {root / 'nb101'}.")
    path = root / NAR_JSON_RELPATH
    if not path.is_file():
        raise _missing("the NAR authors' NB101 cell-information file", path,
                       f"Put their nasbench101_vertice.json in {root / 'nb101'}.")
    from nar_utils.benchmarks.formats.nar_json import read_nar_nb101_json

    return read_nar_nb101_json(path)


def read_subset(path: str | os.PathLike) -> NB101Benchmark:
    """Read the 30k-cell table (``nb101_30k.csv.gz``; one training run per cell, no test
    accuracy). Every row is checked (hash, a valid and pruned cell, accuracies in [0, 1],
    non-negative times and parameter counts); a bad one is refused, named."""
    path = Path(path)
    if not path.is_file():
        raise _missing("the NB101 subset table", path,
                       f"The data directory must hold {SUBSET_RELPATH}.")
    start = time.perf_counter()
    frame = read_table(path)
    _check_columns(frame, CELL_COLUMNS + ("params",), path)
    _check_table(frame, path)
    return NB101Benchmark(frame, "subset", str(path),
                          load_seconds=time.perf_counter() - start)


def load_space(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every unique NAS-Bench-101 cell (``nb101/nb101_space.csv.gz``): ``hash``,
    ``num_vertices``, ``adjacency``, ``ops_labels``, ``num_edges``; no accuracies."""
    path = nb101_data_dir(data_dir) / SPACE_RELPATH
    if not path.is_file():
        raise _missing("the NB101 space table", path,
                       f"The data directory must hold {SPACE_RELPATH}.")
    frame = read_space(path)
    _check_columns(frame, SPACE_COLUMNS, path)
    return frame


def _check_columns(frame: pd.DataFrame, needed: Sequence[str], path: Path) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not an NB101 table, columns {missing} are missing (it has "
                         f"{list(frame.columns)})")



def read_space(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The table of every unique cell (``nb101/nb101_space.csv.gz``: hash, num_vertices,
    adjacency, ops_labels, num_edges; 423,624 rows). ``path``: the file, or a data directory
    holding it; None reads the configured data directory."""
    if path is None or Path(path).expanduser().is_dir():
        path = require_data_dir(path, holds=str(SPACE_RELPATH),
                                what="The NB101 space table") / SPACE_RELPATH
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"NB101 space table not found at {str(path)!r}; the data "
                                f"directory ({ENV_DATA_DIR}) must hold {SPACE_RELPATH} (see "
                                "data/README.md)")
    return read_table(path)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an NB101 table (``nb101_30k.csv.gz``, ``nb101_space.csv.gz``), hashes as text."""
    return pd.read_csv(path, dtype=_STRING_DTYPES)


# -- searching the table under the budget ledger ---------------------------------------------
#: The ledger's metric names (NB201 vocabulary) and the NB101 columns they read.
_LEDGER_METRICS = {"valid-accuracy": "val_acc", "test-accuracy": "test_acc",
                   "train-accuracy": "train_acc", "train-time": "train_time"}
#: The one dataset NAS-Bench-101 trains on.
NB101_DATASET = "cifar10"


class LedgerView:
    """An :class:`NB101Benchmark` as :class:`nar_utils.search.Ledger` reads a benchmark.

    ``column(dataset, metric, hp)`` takes the ledger's vocabulary: dataset 'cifar10' (the
    only one), metric 'valid-accuracy', 'test-accuracy', 'train-accuracy' (in %, as NB201's)
    or 'train-time' (s), and ``hp`` the epoch budget as a string ('108', '36', '12', '4').
    ``archs`` are the cells packed by :func:`nar_utils.spaces.nb101.pack_strings` (row i = cell i),
    the form the predictors read with ``space='nb101'``; ``arch_names`` their hashes.
    """

    space = "nb101"

    def __init__(self, bench: NB101Benchmark) -> None:
        from nar_utils.spaces.nb101 import space as nb101

        self.bench = bench
        self.source = f"nb101 {bench.source}"
        self.archs = nb101.pack_strings(bench.frame["adjacency"], bench.frame["ops_labels"])
        self.arch_names = bench.hashes

    def __len__(self) -> int:
        return len(self.bench)

    def _column_args(self, dataset: str, metric: str, hp: str | None) -> tuple[str, int]:
        if dataset != NB101_DATASET:
            raise ValueError(f"NAS-Bench-101 has one dataset, {NB101_DATASET!r}; got "
                             f"{quote(dataset)}")
        if not isinstance(metric, str) or metric not in _LEDGER_METRICS:
            raise ValueError(f"unknown metric {quote(metric)}; valid: "
                             f"{', '.join(_LEDGER_METRICS)}")
        # The budget as text ('108') or an int; 108.0 or True are not budgets.
        text = str(hp) if isinstance(hp, (str, int, np.integer)) \
            and not isinstance(hp, (bool, np.bool_)) else ""
        epochs = 108 if hp is None else int(text) if text.isascii() and text.isdigit() \
            and len(text) < 8 else -1
        if epochs not in EPOCHS:
            raise ValueError(f"unknown hp {quote(hp)}; NAS-Bench-101 budgets are "
                             f"{', '.join(map(str, EPOCHS))} epochs")
        return _LEDGER_METRICS[metric], epochs

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        name, epochs = self._column_args(dataset, metric, hp)
        return self.bench.has(name, epochs)

    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray:
        name, epochs = self._column_args(dataset, metric, hp)
        values = self.bench.column(name, epochs)
        return values if name == "train_time" else 100.0 * values
