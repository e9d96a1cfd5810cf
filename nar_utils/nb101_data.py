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
  :mod:`nar_utils.nb101`);
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

Reference: C. Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019 (data: Apache-2.0).
"""
from __future__ import annotations

import base64
import json
import os
import struct
import time
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .benchmarks import EMBEDDED, ENV_DATA_DIR, resolve_data_dir
from .nb101 import LABEL_TO_OP, OP_TO_LABEL, SPACE_RELPATH, pad_vertex_lists, read_space

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
            f"hash {module_hash!r} is not in source {self.source!r} ({len(self):,} cells). "
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
            raise ValueError(f"source {self.source!r} cannot select run={run!r}: {reason}. "
                             "Call query() without run, or load the official file "
                             "(source='tfrecord'), which keeps every run.")
        if self._run_rows is None:
            self._run_rows = self.runs.groupby(["hash", "epochs"], sort=False).indices
        rows = self._run_rows.get((module_hash, epochs))
        if rows is None:
            raise ValueError(f"hash {module_hash} has no runs at {epochs} epochs in "
                             f"{self.location}")
        if isinstance(run, (bool, np.bool_)) or not isinstance(run, (int, np.integer)) \
                or not 0 <= run < len(rows):
            raise ValueError(f"run={run!r} is out of range: hash {module_hash} has "
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
            raise TypeError(f"cell index must be an int (or a hash for query), got {index!r}")
        if not 0 <= index < len(self):
            raise IndexError(f"cell index {index} is out of range 0..{len(self) - 1}")
        return int(index)

    @staticmethod
    def _check_metric(metric: str) -> str:
        metric = METRIC_ALIASES.get(metric, metric)
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)} (or the "
                             f"official names {', '.join(METRIC_ALIASES)})")
        return metric

    @staticmethod
    def _check_epochs_name(epochs: int) -> int:
        if isinstance(epochs, (bool, np.bool_)) or epochs not in EPOCHS:
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
        raise ValueError(f"an adjacency matrix holds only 0 and 1, got {np.unique(matrix)}")
    return "|".join("".join("1" if v else "0" for v in row) for row in matrix.tolist())


def adjacency_matrix(text: str) -> np.ndarray:
    """The n x n int8 matrix of a table adjacency string (see :func:`adjacency_string`)."""
    rows = text.split("|")
    if any(len(r) != len(rows) or set(r) - {"0", "1"} for r in rows):
        raise ValueError(f"adjacency {text!r} is not n '|'-joined rows of n '0'/'1' digits")
    return np.array([[int(c) for c in r] for r in rows], dtype=np.int8)


def ops_to_labels(ops: Sequence[str | int]) -> str:
    """The table form (comma-joined official labels) of op names or labels."""
    labels = []
    for op in ops:
        if isinstance(op, str) and op in OP_TO_LABEL:
            labels.append(OP_TO_LABEL[op])
        elif not isinstance(op, str) and int(op) in LABEL_TO_OP:
            labels.append(int(op))
        else:
            raise ValueError(f"unknown NB101 operation {op!r}; valid names: "
                             f"{', '.join(OP_TO_LABEL)} (or labels {sorted(LABEL_TO_OP)})")
    return ",".join(map(str, labels))


def labels_to_ops(text: str) -> list[str]:
    """Op names of a comma-joined label string (``'-1,0,2,-2'``)."""
    try:
        return [LABEL_TO_OP[int(label)] for label in text.split(",")]
    except (KeyError, ValueError):
        raise ValueError(f"ops_labels {text!r} must be comma-joined labels among "
                         f"{sorted(LABEL_TO_OP)}") from None


# -- loading -------------------------------------------------------------------------------
def nb101_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The configured data directory (argument, else ``$NAR_DATA_DIR``); unlike NB201 there
    is no embedded NAS-Bench-101 source, so an unset directory is an error."""
    value = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
    if value is not None and str(value) != EMBEDDED and not Path(value).expanduser().is_dir():
        origin = "argument data_dir" if data_dir is not None else f"${ENV_DATA_DIR}"
        raise FileNotFoundError(f"{origin} = {str(value)!r} is not a directory. Point it at a "
                                f"folder holding {SUBSET_RELPATH} (see data/README.md).")
    path = resolve_data_dir(data_dir)
    if path is None:
        raise FileNotFoundError(
            f"NAS-Bench-101 data is not embedded in the package: pass data_dir, or set "
            f"${ENV_DATA_DIR}, to a data directory holding {SUBSET_RELPATH} (or the official "
            "nasbench_only108.tfrecord in nb101/); see data/README.md.")
    return path


def _missing(kind: str, path: Path, fix: str) -> FileNotFoundError:
    return FileNotFoundError(f"{kind} not found at {str(path)!r}. {fix} See data/README.md; "
                             "NAS-Bench-101 data is not embedded in the package.")


def load_nb101(data_dir: str | os.PathLike | None = None,
               source: str = "subset") -> NB101Benchmark:
    """Load NAS-Bench-101 from ``source`` ('subset', 'tfrecord' or 'nar-json') under the
    configured data directory (see the module docstring)."""
    if source not in SOURCES:
        raise ValueError(f"unknown NB101 source {source!r}; valid: {', '.join(SOURCES)}")
    root = nb101_data_dir(data_dir)
    if source == "subset":
        return read_subset(root / SUBSET_RELPATH)
    if source == "tfrecord":
        for relpath in TFRECORD_RELPATHS:
            if (root / relpath).is_file():
                return read_nasbench_tfrecord(root / relpath)
        raise _missing("the official NAS-Bench-101 file", root / TFRECORD_RELPATHS[0],
                       f"Download nasbench_only108.tfrecord (or nasbench_full.tfrecord) from "
                       f"the NAS-Bench-101 authors and put it in {root / 'nb101'}.")
    path = root / NAR_JSON_RELPATH
    if not path.is_file():
        raise _missing("the NAR authors' NB101 cell-information file", path,
                       f"Put their nasbench101_vertice.json in {root / 'nb101'}.")
    return read_nar_nb101_json(path)


def read_subset(path: str | os.PathLike) -> NB101Benchmark:
    """Read the 30k-cell table (``nb101_30k.csv.gz``; one training run per cell, no test
    accuracy)."""
    path = Path(path)
    if not path.is_file():
        raise _missing("the NB101 subset table", path,
                       f"The data directory must hold {SUBSET_RELPATH}.")
    start = time.perf_counter()
    frame = pd.read_csv(path, dtype=_STRING_DTYPES)
    _check_columns(frame, CELL_COLUMNS + ("params",), path)
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


# -- CRC-32C ---------------------------------------------------------------------------------
_CRC_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()
_CRC_TABLE_NP = np.array(_CRC_TABLE, dtype=np.uint32)


def _pure_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _find_crc_backend():
    """A compiled CRC-32C when one is installed (much faster on the 500 MB official file)."""
    try:
        import crc32c as package  # ICRAR's crc32c
        return "crc32c", package.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c as package
        return "google-crc32c", package.value
    except ImportError:
        return "numpy", None


#: Which CRC-32C implementation is in use: 'crc32c', 'google-crc32c' or 'numpy' (this
#: module's own: pure Python per record, vectorised over records when reading files).
CRC_BACKEND, _compiled_crc32c = _find_crc_backend()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as TFRecord uses it (unmasked)."""
    if _compiled_crc32c is not None:
        return int(_compiled_crc32c(bytes(data)))
    return _pure_crc32c(data)


def _crc32c_many(chunks: Sequence[bytes]) -> np.ndarray:
    """CRC-32C of many byte strings at once (uint32 array).

    The table-driven update runs one byte position at a time over all strings together,
    longest first, so that the strings still running at position p are a prefix of the order.
    """
    if _compiled_crc32c is not None or not chunks:
        return np.array([crc32c(c) for c in chunks], dtype=np.uint32)
    lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
    flat = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    ascending = lengths[::-1]
    running = len(chunks) - np.searchsorted(ascending, np.arange(int(lengths[0])), side="right")
    crc = np.full(len(chunks), 0xFFFFFFFF, dtype=np.uint32)
    for position, count in enumerate(running.tolist()):
        current = crc[:count]
        byte = flat[starts[:count] + position]
        crc[:count] = _CRC_TABLE_NP[(current ^ byte) & 0xFF] ^ (current >> 8)
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord stores: rotate right by 15 bits, add a constant."""
    return _mask(crc32c(data))


def _mask(crc: int | np.ndarray):
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint64)
        return ((((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF).astype(np.uint32)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# -- TFRecord framing ------------------------------------------------------------------------
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_FRAME_BYTES = _HEADER.size + _FOOTER.size
_CHECK_BATCH_RECORDS = 8192
_CHECK_BATCH_BYTES = 16 << 20


def _damaged(path: Path, number: int, offset: int, what: str) -> ValueError:
    return ValueError(f"{path}: record {number} at byte offset {offset}: {what}. The file is "
                      "damaged (truncated or corrupted): download it again.")


def iter_tfrecord(path: str | os.PathLike, check_crc: bool = True) -> Iterator[bytes]:
    """Yield the data of every record of a TFRecord file, in order.

    With ``check_crc`` the checksums of each length and data are verified; a mismatch or a
    file that ends inside a record raises ``ValueError`` naming the record number and its
    byte offset.
    """
    path = Path(path)
    size = path.stat().st_size
    pending: list[tuple[int, int, bytes, int]] = []  # (number, offset, data, stored crc)
    pending_bytes = 0
    number = offset = 0
    with path.open("rb") as stream:
        while True:
            header = stream.read(_HEADER.size)
            if not header:
                break
            if len(header) < _HEADER.size:
                raise _damaged(path, number, offset, f"the file ends inside the record header "
                                                     f"({len(header)} of {_HEADER.size} bytes)")
            length, length_crc = _HEADER.unpack(header)
            if check_crc and masked_crc32c(header[:8]) != length_crc:
                raise _damaged(path, number, offset, "the checksum of the record length "
                                                     "does not match")
            if offset + _FRAME_BYTES + length > size:
                raise _damaged(path, number, offset, f"the record claims {length} data bytes "
                                                     f"but the file ends after {size} bytes")
            data = stream.read(length)
            (data_crc,) = _FOOTER.unpack(stream.read(_FOOTER.size))
            if check_crc:
                pending.append((number, offset, data, data_crc))
                pending_bytes += length
                if len(pending) >= _CHECK_BATCH_RECORDS or pending_bytes >= _CHECK_BATCH_BYTES:
                    yield from _verified(path, pending)
                    pending, pending_bytes = [], 0
            else:
                yield data
            offset += _FRAME_BYTES + length
            number += 1
    yield from _verified(path, pending)


def _verified(path: Path, pending: list[tuple[int, int, bytes, int]]) -> Iterator[bytes]:
    """The data of ``pending`` records, checked in one batch; the records before the first
    bad one are still yielded, in order, before the error."""
    computed = _mask(_crc32c_many([data for _, _, data, _ in pending]))
    stored = np.array([crc for _, _, _, crc in pending], dtype=np.uint32)
    bad = np.flatnonzero(computed != stored)
    first_bad = int(bad[0]) if len(bad) else len(pending)
    for _, _, data, _ in pending[:first_bad]:
        yield data
    if len(bad):
        number, offset, _, _ = pending[first_bad]
        raise _damaged(path, number, offset, "the checksum of the record data does not match")


def write_tfrecord(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Write ``records`` (byte strings) as a TFRecord file; returns how many were written."""
    path = Path(path)
    count = 0
    with path.open("wb") as stream:
        batch: list[bytes] = []

        def flush() -> None:
            crcs = _mask(_crc32c_many(batch)).tolist()
            for data, data_crc in zip(batch, crcs, strict=True):
                length = struct.pack("<Q", len(data))
                stream.write(length + _FOOTER.pack(masked_crc32c(length)))
                stream.write(data + _FOOTER.pack(data_crc))
            batch.clear()

        for data in records:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"record {count} must be bytes, got {type(data).__name__}")
            batch.append(bytes(data))
            count += 1
            if len(batch) >= _CHECK_BATCH_RECORDS:
                flush()
        flush()
    return count


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
@dataclass
class NasbenchRecord:
    """One record of the official file: one training run of one cell for ``epochs``."""

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
            raise ValueError(f"hash {self.module_hash}: {len(self.operations)} operations for "
                             f"a {len(matrix)}-vertex adjacency matrix")
        ops_to_labels(self.operations)  # validates the names
        raw_metrics = base64.b64encode(self.metrics.to_bytes()).decode("ascii")
        row = [self.module_hash, int(self.epochs), raw_adjacency, ",".join(self.operations),
               raw_metrics]
        return json.dumps(row).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> NasbenchRecord:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = _split_record(data)
        return cls(module_hash, epochs, _flat_adjacency_matrix(raw_adjacency),
                   raw_operations.split(","),
                   ModelMetrics.from_bytes(base64.b64decode(raw_metrics)))


def _split_record(data: bytes) -> tuple[str, int, str, str, str]:
    try:
        row = json.loads(data.decode("utf-8"))
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = row
    except (UnicodeDecodeError, ValueError, TypeError):
        raise ValueError(f"not a NAS-Bench-101 record (a JSON list [module_hash, epochs, "
                         f"raw_adjacency, raw_operations, raw_metrics]): {data[:80]!r}") from None
    return module_hash, int(epochs), raw_adjacency, raw_operations, raw_metrics


def _flat_adjacency_matrix(raw_adjacency: str) -> np.ndarray:
    n = round(len(raw_adjacency) ** 0.5)
    if n * n != len(raw_adjacency) or set(raw_adjacency) - {"0", "1"}:
        raise ValueError(f"raw adjacency {raw_adjacency!r} is not n*n '0'/'1' digits")
    return np.frombuffer(raw_adjacency.encode("ascii"), dtype=np.uint8).reshape(n, n) \
        .astype(np.int8) - ord("0")


def _table_adjacency(raw_adjacency: str) -> str:
    """The table form ('|'-joined rows) of an official flattened adjacency string."""
    n = len(_flat_adjacency_matrix(raw_adjacency))  # validates it
    return "|".join(raw_adjacency[i * n:(i + 1) * n] for i in range(n))


def write_nasbench_tfrecord(path: str | os.PathLike, rows: Iterable[NasbenchRecord]) -> int:
    """Write training runs in the official NAS-Bench-101 layout (one record per run; a hash
    appears once per run and budget). Returns the number of records."""
    return write_tfrecord(path, (row.to_bytes() for row in rows))


def iter_nasbench_records(path: str | os.PathLike,
                          check_crc: bool = True) -> Iterator[NasbenchRecord]:
    """Yield the decoded records of an official NAS-Bench-101 file, in file order."""
    for data in iter_tfrecord(path, check_crc=check_crc):
        yield NasbenchRecord.from_bytes(data)


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
        from tqdm.auto import tqdm
        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"reading {path.name}")

    code_of: dict[str, int] = {}
    cells: list[tuple[str, str, str, int]] = []  # hash, raw adjacency, raw ops, params
    codes, epochs_of, run_of = array("q"), array("q"), array("q")
    values = {name: array("d") for name in _RUN_METRICS + _HALFWAY_METRICS}
    runs_seen: dict[tuple[int, int], int] = {}
    for number, data in enumerate(iter_tfrecord(path, check_crc=check_crc)):
        try:
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = \
                _split_record(data)
            metrics = ModelMetrics.from_bytes(base64.b64decode(raw_metrics, validate=True))
        except ValueError as err:  # binascii.Error is a ValueError too
            raise ValueError(f"{path}: record {number}: {err}; the file is corrupted or not "
                             "NAS-Bench-101's") from None
        code = code_of.setdefault(module_hash, len(code_of))
        if code == len(cells):
            cells.append((module_hash, raw_adjacency, raw_operations,
                          metrics.trainable_parameters))
        elif cells[code][1:3] != (raw_adjacency, raw_operations):
            raise ValueError(f"{path}: record {number} gives hash {module_hash} another cell "
                             f"({raw_adjacency}, {raw_operations}) than its first record "
                             f"({cells[code][1]}, {cells[code][2]}); the file is corrupted")
        if not metrics.evaluation_data:
            raise ValueError(f"{path}: record {number} (hash {module_hash}) holds no "
                             "evaluation; the file is corrupted")
        run = runs_seen.get((code, epochs), 0)
        runs_seen[(code, epochs)] = run + 1
        codes.append(code)
        epochs_of.append(epochs)
        run_of.append(run)
        final = _evaluation_values(metrics.final)
        for name, value in zip(_RUN_METRICS, final, strict=True):
            values[name].append(value)
        halfway = _evaluation_values(metrics.halfway)
        for name, value in zip(_HALFWAY_METRICS, halfway, strict=True):
            values[name].append(value)
        if bar is not None:
            bar.update(len(data) + _FRAME_BYTES)
    if bar is not None:
        bar.close()
    if not cells:
        raise ValueError(f"{path} holds no records; the file is damaged: download it again")

    hashes = np.array([c[0] for c in cells], dtype=object)
    code_array = np.frombuffer(codes, dtype=np.int64)
    runs = pd.DataFrame({"hash": hashes[code_array],
                         "epochs": np.frombuffer(epochs_of, dtype=np.int64),
                         "run": np.frombuffer(run_of, dtype=np.int64),
                         **{name: np.frombuffer(v, dtype=np.float64)
                            for name, v in values.items()}})
    budgets = sorted(set(runs["epochs"].unique().tolist()))
    unknown = [e for e in budgets if e not in EPOCHS]
    if unknown:
        raise ValueError(f"{path}: epochs {unknown} are not NAS-Bench-101 budgets {EPOCHS}")
    means = runs[list(_RUN_METRICS)].groupby([code_array, runs["epochs"]]).mean()
    wide = means.unstack("epochs")
    wide.columns = [f"{metric}_{epochs}" for metric, epochs in wide.columns]
    wide = wide[[f"{m}_{e}" for m in _RUN_METRICS for e in budgets]].reindex(range(len(cells)))
    frame = pd.DataFrame({
        "hash": hashes,
        "num_vertices": [round(len(c[1]) ** 0.5) for c in cells],
        "adjacency": [_table_adjacency(c[1]) for c in cells],
        "ops_labels": [ops_to_labels(c[2].split(",")) for c in cells],
    })
    frame = pd.concat([frame, wide.reset_index(drop=True)], axis=1)
    frame["params"] = np.array([c[3] for c in cells], dtype=np.int64)
    return NB101Benchmark(frame, "tfrecord", str(path), runs=runs,
                          load_seconds=time.perf_counter() - start)


# -- the NAR authors' cell-information file ------------------------------------------------
_NAR_REQUIRED = ("module_adjacency", "module_operations", "trainable_parameters",
                 "avg_validation_accuracy")
# NAR record key -> column of the table (all at 108 epochs).
_NAR_FIELDS = {"avg_validation_accuracy": "val_acc_108", "avg_test_accuracy": "test_acc_108",
               "avg_train_accuracy": "train_acc_108", "avg_training_time": "train_time_108"}


def _nar_records(path: Path) -> list[tuple[str, Mapping]]:
    with path.open("r", encoding="utf-8") as stream:
        content = json.load(stream)
    if isinstance(content, Mapping):
        content = [dict(record, unique_hash=record.get("unique_hash", key))
                   for key, record in content.items()]
    if not isinstance(content, list):
        # A malformed file is a bad value, not a caller's wrong type: ValueError.
        message = (f"{path}: expected a JSON list of records (or a dict keyed by hash), got "
                   f"{type(content).__name__}")
        raise ValueError(message)  # noqa: TRY004
    out = []
    for number, record in enumerate(content):
        missing = [k for k in _NAR_REQUIRED + ("unique_hash",) if k not in record]
        if missing:
            raise ValueError(f"{path}: record {number} lacks {missing}; the NAR authors' NB101 "
                             f"records hold {', '.join(_NAR_REQUIRED)}, unique_hash, ...")
        out.append((record["unique_hash"], record))
    return out


def _vertex_array(path: Path, records: list[tuple[str, Mapping]], key: str,
                  modules: tuple[str, ...]) -> np.ndarray | None:
    if not all(key in record for _, record in records):
        return None
    for module_hash, record in records:
        if tuple(record[key]) != modules:
            raise ValueError(f"{path}: hash {module_hash} lists {key} for modules "
                             f"{sorted(record[key])}, the first record for {list(modules)}")
    try:
        return pad_vertex_lists([record[key] for _, record in records], modules)
    except ValueError as err:
        raise ValueError(f"{path}, {key}: {err}") from None


def read_nar_nb101_json(path: str | os.PathLike) -> NB101Benchmark:
    """Read the NAR authors' NB101 cell-information file (source 'nar-json').

    Its accuracies and training time are averages over the official runs at 108 epochs;
    ``flops`` (whole network) becomes a column, the per-vertex FLOPs and parameters of every
    module are kept as arrays (:meth:`NB101Benchmark.vertex_costs`).
    """
    path = Path(path)
    if not path.is_file():
        raise _missing("the NAR authors' NB101 cell-information file", path,
                       f"Put their nasbench101_vertice.json at {NAR_JSON_RELPATH} in the data "
                       "directory.")
    start = time.perf_counter()
    records = _nar_records(path)
    if not records:
        raise ValueError(f"{path} holds no records")
    columns: dict[str, list] = {c: [] for c in CELL_COLUMNS}
    columns.update({c: [] for c in _NAR_FIELDS.values()})
    columns.update(params=[], flops=[])
    for module_hash, record in records:
        matrix = np.asarray(record["module_adjacency"])
        operations = record["module_operations"]
        if len(operations) != len(matrix):
            raise ValueError(f"{path}: hash {module_hash} has {len(operations)} operations for "
                             f"a {len(matrix)}-vertex adjacency matrix")
        columns["hash"].append(module_hash)
        columns["num_vertices"].append(len(matrix))
        columns["adjacency"].append(adjacency_string(matrix))
        columns["ops_labels"].append(ops_to_labels(operations))
        for key, column in _NAR_FIELDS.items():
            columns[column].append(float(record.get(key, float("nan"))))
        columns["params"].append(int(record["trainable_parameters"]))
        columns["flops"].append(float(record.get("flops", float("nan"))))
    frame = pd.DataFrame(columns)
    frame["params"] = frame["params"].astype(np.int64)
    if frame["flops"].notna().all():
        frame["flops"] = frame["flops"].astype(np.int64)
    frame = frame.dropna(axis=1, how="all")  # a metric the file lacks is absent, not NaN
    first = records[0][1]
    modules = tuple(first.get("vertex_flops") or first.get("vertex_params") or ())
    return NB101Benchmark(frame, "nar-json", str(path), modules=modules,
                          vertex_flops=_vertex_array(path, records, "vertex_flops", modules),
                          vertex_params=_vertex_array(path, records, "vertex_params", modules),
                          load_seconds=time.perf_counter() - start)


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
    ``archs`` are the cells packed by :func:`nar_utils.nb101.pack_strings` (row i = cell i),
    the form the predictors read with ``space='nb101'``; ``arch_names`` their hashes.
    """

    space = "nb101"

    def __init__(self, bench: NB101Benchmark) -> None:
        from . import nb101

        self.bench = bench
        self.source = f"nb101 {bench.source}"
        self.archs = nb101.pack_strings(bench.frame["adjacency"], bench.frame["ops_labels"])
        self.arch_names = bench.hashes

    def __len__(self) -> int:
        return len(self.bench)

    def _column_args(self, dataset: str, metric: str, hp: str | None) -> tuple[str, int]:
        if dataset != NB101_DATASET:
            raise ValueError(f"NAS-Bench-101 has one dataset, {NB101_DATASET!r}; got "
                             f"{dataset!r}")
        if metric not in _LEDGER_METRICS:
            raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(_LEDGER_METRICS)}")
        epochs = 108 if hp is None else int(str(hp)) if str(hp).isdigit() else -1
        if epochs not in EPOCHS:
            raise ValueError(f"unknown hp {hp!r}; NAS-Bench-101 budgets are "
                             f"{', '.join(map(str, EPOCHS))} epochs")
        return _LEDGER_METRICS[metric], epochs

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        name, epochs = self._column_args(dataset, metric, hp)
        return self.bench.has(name, epochs)

    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray:
        name, epochs = self._column_args(dataset, metric, hp)
        values = self.bench.column(name, epochs)
        return values if name == "train_time" else 100.0 * values
