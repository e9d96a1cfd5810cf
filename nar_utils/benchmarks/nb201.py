"""NAS-Bench-201 queries: one API over interchangeable data sources.

``load_benchmark()`` returns an :class:`NB201Benchmark` whose methods follow the official
``nas_201_api`` (``len``, iteration, ``api[i]``, ``query_index_by_arch``, ``get_more_info``,
``get_cost_info``, ``show``) and adds vectorised access (:meth:`NB201Benchmark.column`).

Sources, chosen by configuration (argument ``data_dir``, else the environment variable
``NAR_DATA_DIR``, else the embedded default):

* ``nb201-table``: ``<data_dir>/nb201/nb201.csv.gz``, one row per official arch index
  0..15,624 (schema in ``data/README.md``). Datasets 'cifar10-valid', 'cifar10', 'cifar100',
  'ImageNet16-120'; schedules ``hp='200'`` and ``hp='12'``.
* ``analog-nasbench``: the ``analog-nasbench`` package from PyPI, embedded so that the book
  runs on a machine without benchmark files. It holds one accuracy per cell, its own
  CIFAR-10 test accuracy after its own training schedule (``hp='anb'``), so it offers one
  dataset, 'cifar10', and the metric 'test-accuracy' only. Its arch index is this package's
  space index (:func:`nar_utils.spaces.nb201.space_index`), not the official NB201 index.

Where the official API is ambiguous this one is explicit:

* Results are deterministic: the mean over training seeds, unless ``seed`` is given, in which
  case one seed's trial is drawn with ``numpy.random.default_rng(seed)`` (validation
  accuracy only: the sources keep per-seed values for nothing else).
* Dataset names are the official ones and never remapped. 'cifar10' is trained on train+valid
  and has a test split only; 'cifar10-valid' is trained on the train half and evaluated on the
  valid half ('valid-*') and on the test set ('test-*'); for 'cifar100' and 'ImageNet16-120'
  'valid-*' and 'test-*' are the two halves of the original test set and 'valtest-*' both.
* A metric the source does not hold raises ``KeyError`` listing what it does hold, rather
  than returning ``None``.
* A table is checked as it loads (:func:`check_table`): every cell of the space once, op
  codes that agree with the arch strings, accuracies in percent, no negative losses, times
  or costs. A table that fails raises :class:`TableError` naming the file, the column and
  the first bad row, instead of answering queries with wrong numbers.
* Costs (:meth:`NB201Benchmark.get_cost_info`) are counted for the benchmark's network
  under the benchmark's own convention ('flops', 'params'); NAR's convention, which also
  counts batch norms, is named apart ('flops-nar').
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from nar_utils.benchmarks.datadir import ENV_DATA_DIR, resolve_data_dir
from nar_utils.spaces.base import as_index, quote
from nar_utils.spaces.nb201 import space as nb201_space
from nar_utils.spaces.nb201.space import DATASETS

HPS: tuple[str, ...] = ("200", "12")

TABLE_RELPATH = Path("nb201") / "nb201.csv.gz"

#: (dataset, hp, metric) -> column of the NB201 table. Accuracies in %, times in seconds.
TABLE_COLUMNS: dict[tuple[str, str, str], str] = {
    ("cifar10-valid", "200", "train-accuracy"): "c10v_train_accuracy_200",
    ("cifar10-valid", "200", "train-loss"): "c10v_train_loss_200",
    ("cifar10-valid", "200", "valid-accuracy"): "c10v_val_200",
    ("cifar10-valid", "200", "valid-loss"): "c10v_valid_loss_200",
    ("cifar10-valid", "200", "test-accuracy"): "c10v_test_accuracy_200",
    ("cifar10-valid", "200", "test-loss"): "c10v_test_loss_200",
    ("cifar10-valid", "200", "train-all-time"): "c10v_train_all_time_200",
    ("cifar10-valid", "200", "valid-all-time"): "c10v_valid_all_time_200",
    ("cifar10-valid", "200", "test-all-time"): "c10v_test_all_time_200",
    ("cifar10-valid", "200", "train-time"): "c10v_train_time_200",
    ("cifar10-valid", "200", "params"): "params_mb_c10v",
    ("cifar10-valid", "12", "valid-accuracy"): "c10v_val_12",
    ("cifar10-valid", "12", "train-time"): "c10v_train_time_12",
    ("cifar10-valid", "12", "params"): "params_mb_c10v",
    ("cifar10", "200", "test-accuracy"): "c10_test_200",
    ("cifar10", "200", "params"): "params_mb_c10v",  # same network as cifar10-valid
    ("cifar10", "12", "test-accuracy"): "c10_test_12",
    ("cifar10", "12", "params"): "params_mb_c10v",
    ("cifar100", "200", "valid-accuracy"): "c100_val_200",
    ("cifar100", "200", "test-accuracy"): "c100_test_200",
    ("cifar100", "200", "valtest-accuracy"): "c100_valtest_200",
    ("cifar100", "200", "train-time"): "c100_train_time_200",
    ("cifar100", "200", "params"): "params_mb_c100",
    ("cifar100", "12", "valid-accuracy"): "c100_val_12",
    ("cifar100", "12", "test-accuracy"): "c100_test_12",
    ("cifar100", "12", "params"): "params_mb_c100",
    ("ImageNet16-120", "200", "valid-accuracy"): "in16_val_200",
    ("ImageNet16-120", "200", "test-accuracy"): "in16_test_200",
    ("ImageNet16-120", "200", "valtest-accuracy"): "in16_valtest_200",
    ("ImageNet16-120", "200", "train-time"): "in16_train_time_200",
    ("ImageNet16-120", "200", "params"): "params_mb_in16",
    ("ImageNet16-120", "12", "valid-accuracy"): "in16_val_12",
    ("ImageNet16-120", "12", "test-accuracy"): "in16_test_12",
    ("ImageNet16-120", "12", "params"): "params_mb_in16",
}
#: dataset -> column of the per-seed 200-epoch validation accuracies (JSON lists).
SEED_COLUMNS = {
    "cifar10-valid": "c10v_val_200_seeds",
    "cifar100": "c100_val_200_seeds",
    "ImageNet16-120": "in16_val_200_seeds",
}
#: dataset -> column of the inference latency (s per batch, as the official API reports it),
#: for both schedules. Optional: the converter writes it from the official files; the book's
#: table does not hold it.
LATENCY_COLUMNS = {
    "cifar10-valid": "latency_c10v",
    "cifar10": "latency_c10",
    "cifar100": "latency_c100",
    "ImageNet16-120": "latency_in16",
}
COST_METRICS = ("params", "train-time", "latency")
#: The least share of cells whose recorded parameters equal the benchmark network's count for
#: a source to be taken as holding that network (the NB201 table: 99.0%, its 150 faulty
#: records aside; a source of other networks agrees on next to none).
_SAME_NETWORK_SHARE = 0.95

# The analog-nasbench tuple lists edges 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 with its own op
# codes; both are mapped here onto nb201_space.EDGES order and nb201_space.OPS codes.
_ANB_EDGE_ORDER = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_ANB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_ANB_RECORD_CLASSES = {("analognasbench.data", "Architecture"),
                       ("analognasbench.data", "DriftMeasurement")}


class TableError(ValueError):
    """An NB201 table that cannot be read or breaks the schema of data/README.md.

    ``path``, ``column`` and ``row`` (0-based data row = arch index; None where the fault is
    not one cell's) say where; the message says what and how to fix it.
    """

    def __init__(self, path: str | os.PathLike, problem: str, column: str | None = None,
                 row: int | None = None):
        self.path, self.column, self.row = str(path), column, row
        where = "".join([f", column {column!r}" if column is not None else "",
                         f", row {row} (line {row + 2} of the file)" if row is not None
                         else ""])
        super().__init__(f"{path}{where}: {problem}")


#: What each metric of the schema may hold (NaN, a missing value, is allowed in every metric
#: column: a regenerated table leaves cells without runs empty, a converted one the metrics
#: the official API lacks).
_PERCENT, _NON_NEGATIVE = "percent", "non-negative"
#: A JSON number in [0, 100] (no leading zeros, as JSON wants; ASCII digits only).
_SEED_LIST_NUMBER = (r"(?:100(?:\.0+)?|[1-9]?[0-9](?:\.[0-9]+)?(?:[eE]-[0-9]+)?"
                     r"|[0-9](?:\.[0-9]+)?[eE]-[0-9]+)")
#: A per-seed list as json.dumps writes it, every value a percentage in [0, 100].
_SEED_LIST = (rf"\[[ \t]*(?:{_SEED_LIST_NUMBER}(?:[ \t]*,[ \t]*{_SEED_LIST_NUMBER})*)?"
              r"[ \t]*\]")
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeError, ValueError)


def _metric_kind(metric: str) -> str:
    return _PERCENT if metric.endswith("-accuracy") else _NON_NEGATIVE


def read_table_file(path: str | os.PathLike, **read_csv_args) -> pd.DataFrame:
    """``pandas.read_csv`` of one of the benchmark's files (gzip inferred from '.gz'), with
    any failure to read it (truncated or not gzip, not text, not CSV, empty) raised as one
    :class:`TableError` that names the file, instead of zlib's or the CSV parser's own."""
    try:
        return pd.read_csv(path, **read_csv_args)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _READ_ERRORS as err:
        detail = quote(str(err).strip().splitlines()[0] if str(err).strip() else "", 160)
        compressed = " gzip-compressed" if str(path).endswith(".gz") else ""
        raise TableError(path, f"cannot be read as a{compressed} CSV table "
                               f"({type(err).__name__}: {detail}); the file is truncated, "
                               "damaged or not this table: fetch or rebuild it "
                               "(data/README.md)") from err


def check_table(frame: pd.DataFrame, path: str | os.PathLike = "<table>",
                columns: Mapping[tuple[str, str, str], str] | None = None,
                seed_columns: Mapping[str, str] | None = None) -> np.ndarray:
    """Check an NB201 table against the schema of data/README.md; return its ``(15625, 6)``
    int8 op codes (row i = arch index i).

    Refused, with a :class:`TableError` naming ``path``, the column and the first bad row:
    missing key columns; rows not ordered by ``arch_index`` 0..N-1; a row count other than the
    space's 15,625; an ``op_code`` that is not 6 digits 0..4 or does not match its ``arch_str``;
    an ``arch_str`` that is not canonical; a cell listed twice; a metric column that is not
    numeric; accuracies outside [0, 100] or all at most 1 (fractions, not percentages);
    negative or infinite losses, times, parameters or latencies; per-seed lists that are not
    JSON lists of percentages. Missing values (NaN) are allowed in metric columns only.
    Columns outside the schema are left alone.
    Vectorised: the real table is checked in a few tens of milliseconds.
    """
    columns = TABLE_COLUMNS if columns is None else columns
    seed_columns = SEED_COLUMNS if seed_columns is None else seed_columns
    missing = [c for c in ("arch_index", "arch_str", "op_code") if c not in frame.columns]
    if missing:
        raise TableError(path, f"not an NB201 table: columns {missing} are missing (schema: "
                               "data/README.md)")
    arch_index = frame["arch_index"].to_numpy()
    ordered = arch_index == np.arange(len(frame))
    if not ordered.all():
        row = int(np.flatnonzero(~ordered)[0])
        value = arch_index[row]
        shown = quote(value) if isinstance(value, str) else str(value)
        raise TableError(path, f"rows must be ordered by arch_index 0..{len(frame) - 1}; this "
                               f"row holds {shown}", "arch_index", row)
    if len(frame) != nb201_space.NUM_ARCHS:
        raise TableError(path, f"holds {len(frame)} rows; the NAS-Bench-201 space has "
                               f"{nb201_space.NUM_ARCHS} cells, one row each (a partial or "
                               "concatenated table?)")
    codes = _check_cells(frame, path)
    metric_columns: dict[str, str] = {}
    for (_, _, metric), column in columns.items():
        if column in frame.columns:
            metric_columns.setdefault(column, _metric_kind(metric))
    metric_columns.update({c: _NON_NEGATIVE for c in LATENCY_COLUMNS.values()
                           if c in frame.columns})
    for column, kind in metric_columns.items():
        _check_values(frame[column], column, kind, path)
    for column in seed_columns.values():
        if column in frame.columns:
            _check_seed_lists(frame[column], column, path)
    return codes


def _check_cells(frame: pd.DataFrame, path) -> np.ndarray:
    """Op codes and arch strings: valid, in agreement, every cell once."""
    op_code_list = frame["op_code"].tolist()
    codes = nb201_space._op_code_strings(op_code_list)
    if codes is None:  # some op code is not 6 digits 0..4: name the first
        for row, value in enumerate(op_code_list):
            try:
                nb201_space.parse_op_code(value)
            except (TypeError, ValueError) as err:
                raise TableError(path, f"{err} (read op_code as a string: '000123', not "
                                       "123)", "op_code", row) from None
        codes = nb201_space.op_codes_array(op_code_list)
    expected = np.asarray(nb201_space.format_arch_strs(codes), dtype=object)
    given = frame["arch_str"].to_numpy(dtype=object)
    agree = expected == given
    if not agree.all():
        row = int(np.flatnonzero(~agree)[0])
        try:
            actual = nb201_space.op_code_from_arch_str(given[row])
        except (TypeError, ValueError) as err:
            raise TableError(path, f"not a canonical arch string: {err}", "arch_str",
                             row) from None
        raise TableError(path, f"op_code {op_code_list[row]!r} does not match arch_str "
                               f"{given[row]!r}, whose op code is {actual!r}", "op_code", row)
    index = codes.astype(np.int64) @ nb201_space._POWERS
    _, first = np.unique(index, return_index=True)
    if len(first) != len(index):
        is_first = np.zeros(len(index), dtype=bool)
        is_first[first] = True
        row = int(np.flatnonzero(~is_first)[0])
        earlier = int(np.flatnonzero(index == index[row])[0])
        raise TableError(path, f"arch_str {given[row]!r} is listed twice (first at row "
                               f"{earlier}); every cell must appear once", "arch_str", row)
    return codes


def _check_values(series: pd.Series, column: str, kind: str, path) -> None:
    if series.dtype.kind not in "fiu":  # text, bools, mixed: not numbers
        numbers = pd.to_numeric(series, errors="coerce")
        bad = series.notna().to_numpy() & numbers.isna().to_numpy()
        if series.dtype.kind == "b" or not bad.any():
            bad = np.ones(len(series), dtype=bool)
        row = int(np.flatnonzero(bad)[0])
        raise TableError(path, f"{quote(series.iat[row])} is not a number; the column holds "
                               f"{'percentages' if kind == _PERCENT else 'numbers >= 0'} "
                               "or nothing", column, row)
    values = series.to_numpy(dtype=float)
    present = ~np.isnan(values)
    if kind == _PERCENT:
        bad = present & ~((values >= 0) & (values <= 100))
        rule = "accuracies are percentages in [0, 100]"
    else:
        bad = present & ~((values >= 0) & np.isfinite(values))
        rule = "losses, times, parameters and latencies are finite and >= 0"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise TableError(path, f"value {float(values[row])!r} is out of range: {rule}", column,
                         row)
    if kind == _PERCENT and present.any() and values[present].max() <= 1.0:
        row = int(np.flatnonzero(present)[0])
        raise TableError(path, f"every value is at most 1 (this one: {float(values[row])!r}): "
                               "fractions, not percentages; multiply the column by 100",
                         column, row)


def _check_seed_lists(series: pd.Series, column: str, path) -> None:
    present = series.notna().to_numpy()
    if not present.any():
        return
    if series.dtype.kind in "fiub":  # numbers where JSON lists belong
        row = int(np.flatnonzero(present)[0])
        raise TableError(path, f"{quote(series.iat[row])} is not a JSON list of per-seed "
                               "accuracies like '[91.2, 90.8]'", column, row)
    text = series[present].astype(str)
    good = text.str.fullmatch(_SEED_LIST).to_numpy(dtype=bool)
    if good.all():
        return
    row = int(np.flatnonzero(present)[np.flatnonzero(~good)[0]])
    value = series.iat[row]
    try:
        trials = json.loads(value)
        problem = "values must be percentages in [0, 100]" \
            if isinstance(trials, list) else "not a JSON list"
    except (TypeError, ValueError):
        problem = "not a JSON list"
    raise TableError(path, f"{quote(value)}: {problem}; per-seed accuracies are written like "
                           "'[91.2, 90.8]'", column, row)


@dataclass
class NB201Benchmark:
    """A NAS-Bench-201 table behind an API like the official one.

    ``frame`` has one row per arch index with ``arch_str``, ``op_code`` and one column per
    (dataset, hp, metric) key of ``columns``.
    """

    frame: pd.DataFrame
    columns: Mapping[tuple[str, str, str], str]
    source: str
    location: str
    seed_columns: Mapping[str, str] = field(default_factory=dict)
    default_hp: str = "200"
    index_kind: str = "official"
    load_seconds: float = float("nan")

    def __post_init__(self) -> None:
        self._index_of = {a: i for i, a in enumerate(self.frame["arch_str"].tolist())}
        self._op_codes = nb201_space.op_codes_array(self.frame["op_code"].tolist())
        self._costs: dict[str, dict[str, np.ndarray] | None] = {}  # dataset -> counted

    # -- the official API ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self) -> Iterator[str]:
        return iter(self.frame["arch_str"].tolist())

    def __getitem__(self, index: int) -> str:
        return self.frame["arch_str"].iat[self._check_index(index)]

    def __repr__(self) -> str:
        return (f"NB201Benchmark(source={self.source!r}, archs={len(self)}, "
                f"datasets={self.datasets}, location={self.location!r})")

    @property
    def datasets(self) -> tuple[str, ...]:
        """Official dataset names this source holds accuracies for."""
        present = {d for (d, _, m) in self.columns if m not in COST_METRICS}
        return tuple(d for d in DATASETS if d in present)

    @property
    def hps(self) -> tuple[str, ...]:
        """Training schedules (``hp`` values) this source holds."""
        return tuple(dict.fromkeys(h for (_, h, _) in self.columns))

    @property
    def arch_strs(self) -> list[str]:
        return self.frame["arch_str"].tolist()

    @property
    def op_codes(self) -> np.ndarray:
        """(N, 6) int8 op codes; row i is arch index i."""
        return self._op_codes

    def metrics(self, dataset: str, hp: str | None = None) -> tuple[str, ...]:
        """Metric names held for ``dataset`` under schedule ``hp``."""
        dataset, hp = self._check_dataset(dataset), self._check_hp(hp)
        return tuple(m for (d, h, m) in self.columns if d == dataset and h == hp)

    def costs(self, dataset: str) -> dict[str, np.ndarray]:
        """Cost figures of every arch's network on ``dataset`` (row i = arch index i), each
        counted for the benchmark's network (C=16, N=5, one image) from the cell itself:

        * ``'flops'``: millions, NAS-Bench-201's own convention (AutoDL's
          ``get_model_infos``: multiply-adds of every convolution and of the classifier,
          biases included; batch norm, pooling and ReLU not counted), e.g. 15.64737 for arch
          0 on CIFAR-10, as the official API reports it;
        * ``'flops-nar'``: millions, the book's and NAR's per-operation convention
          (:mod:`nar_utils.spaces.nb201.cellinfo`: batch norms count 2 per element, global
          pooling 1, classifier bias not), 16.315008 for arch 0;
        * ``'params'``: millions of trainable parameters, batch-norm scale and shift
          included, as the official ``count_parameters_in_MB`` (divided by 1e6) counts them;
          the same in both conventions.

        Counted, not read: the NB201 table's ``params_mb_*`` columns (``column(dataset,
        'params')``) agree on 15,475 of 15,625 cells; on the other 150 the benchmark's
        200-epoch cost record holds another network's count (NATS-Bench issue 36), which
        ``column`` keeps as the source has it. A source whose parameter counts disagree on
        most cells (a benchmark regenerated with another width or depth, a proxy) holds other
        networks than the benchmark's: for it this raises ``KeyError``, since counts for the
        benchmark's network would describe networks it never trained.
        """
        dataset = self._check_dataset(dataset)
        if dataset not in self._costs:
            self._costs[dataset] = self._counted_costs(dataset)
        counted = self._costs[dataset]
        if counted is None:
            raise KeyError(f"source {self.source!r} records, for {dataset!r}, the parameters of "
                           "other networks than the benchmark's (C=16, N=5): their FLOPs are "
                           "not known here; column(dataset, 'params') holds the source's own "
                           "counts")
        return counted

    def _counted_costs(self, dataset: str) -> dict[str, np.ndarray] | None:
        from nar_utils.spaces.nb201 import cellinfo, network

        codes = self.op_codes
        counted = {"flops": cellinfo.official_flops(dataset, codes) / 1e6,
                   "flops-nar": cellinfo.network_totals(dataset, codes)[0] / 1e6,
                   "params": network.param_counts(dataset, codes) / 1e6}
        held = next((self.frame[c].to_numpy(dtype=float) for (d, _, m), c in
                     self.columns.items() if d == dataset and m == "params"), None)
        if held is not None and (~np.isnan(held)).any():
            present = ~np.isnan(held)
            agree = np.abs(counted["params"][present] - held[present]) < 5e-7
            if agree.mean() < _SAME_NETWORK_SHARE:
                return None
        return counted

    def query_index_by_arch(self, arch: str | Sequence[int]) -> int:
        """Arch index of an arch string, 6-digit op code or op-code tuple (-1 if absent,
        as in the official API; a malformed string raises ``ValueError``)."""
        arch_str = nb201_space.format_arch_str(arch) if not isinstance(arch, str) or \
            not arch.startswith("|") \
            else nb201_space.format_arch_str(nb201_space.parse_arch_str(arch))
        return self._index_of.get(arch_str, -1)

    def get_more_info(self, index: int, dataset: str, hp: str | None = None,
                      seed: int | None = None) -> dict:
        """All metrics of arch ``index`` on ``dataset`` after schedule ``hp``.

        Keys follow the official API ('train-accuracy', 'valid-accuracy', 'test-accuracy',
        '...-loss', 'valtest-accuracy', '...-all-time'), present only where the source holds
        them. With ``seed``, 'valid-accuracy' is one seed's trial drawn by
        ``numpy.random.default_rng(seed)`` and 'trial' names it; otherwise values are means.
        """
        index, dataset, hp = self._check_index(index), self._check_dataset(dataset), \
            self._check_hp(hp)
        if seed is not None:
            seed = as_index(seed, "seed")
            if seed < 0:
                raise ValueError(f"seed must be >= 0 (numpy.random.default_rng), got {seed}")
        info: dict = {}
        for (d, h, metric), col in self.columns.items():
            if d == dataset and h == hp and metric not in COST_METRICS:
                info[metric] = float(self.frame[col].iat[index])
        if not info:
            raise KeyError(f"source {self.source!r} holds no metrics for dataset {dataset!r} "
                           f"with hp={hp!r}; it holds hp in {self.hps}")
        if seed is not None:
            col = self.seed_columns.get(dataset)
            if col is None or hp != "200":
                raise KeyError(f"source {self.source!r} keeps no per-seed trials for "
                               f"({dataset!r}, hp={hp!r}); call without seed for the mean")
            text = self.frame[col].iat[index]
            trials = json.loads(text) if isinstance(text, str) else []
            if not trials:
                raise KeyError(f"source {self.source!r} holds no per-seed trials of arch "
                               f"{index} on {dataset!r} (a cell without runs); call without "
                               "seed")
            k = int(np.random.default_rng(seed).integers(len(trials)))
            info["valid-accuracy"], info["trial"] = float(trials[k]), k
        return info

    def get_cost_info(self, index: int, dataset: str, hp: str | None = None) -> dict:
        """Cost of arch ``index`` on ``dataset``, as the official API names it:

        * ``'flops'`` (millions, NAS-Bench-201's own counting convention) and ``'params'``
          (millions, "MB" in the official API), counted for the benchmark's network;
        * ``'flops-nar'`` (millions, the book's and NAR's convention, with batch norms);
        * ``'train-time'`` (s, the whole schedule ``hp``) and ``'latency'`` (s) where the
          source holds them for this arch (absent, not NaN, where it does not).

        See :meth:`costs` for the two conventions and why 'params' is counted, not read. For
        a source of other networks than the benchmark's (:meth:`costs` raises) the FLOPs are
        absent and 'params' is the source's own figure.
        """
        index, dataset, hp = self._check_index(index), self._check_dataset(dataset), \
            self._check_hp(hp)
        try:
            info: dict[str, Any] = {name: float(values[index])
                                    for name, values in self.costs(dataset).items()}
        except KeyError:  # other networks than the benchmark's: the source's figures only
            info = {}
        for (d, h, m), col in self.columns.items():
            if d == dataset and h == hp and m in COST_METRICS and m not in info:
                value = float(self.frame[col].iat[index])
                if not np.isnan(value):  # an empty cell: not held for this arch
                    info[m] = value
        return info

    def show(self, index: int) -> str:
        """A printable summary of one architecture over every dataset held (also printed)."""
        index = self._check_index(index)
        lines = [f"arch {index} ({self.index_kind} index) from {self.source}: {self[index]}"]
        for dataset in self.datasets:
            for hp in self.hps:
                info = {(m): v for (d, h, m), col in self.columns.items()
                        if d == dataset and h == hp
                        for v in [self.frame[col].iat[index]]}
                if info:
                    text = ", ".join(f"{m}={v:.3f}" for m, v in info.items())
                    lines.append(f"  {dataset:<15} hp={hp:<4} {text}")
        out = "\n".join(lines)
        print(out)
        return out

    # -- vectorised access -----------------------------------------------------------------
    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray:
        """One metric for all archs as a float array (row i = arch index i)."""
        key = self._key(dataset, metric, hp)
        self._check_dataset(key[0])
        self._check_hp(key[1])
        if key not in self.columns:
            held = ", ".join(self.metrics(key[0], key[1]))
            raise KeyError(f"source {self.source!r} has no metric {quote(metric)} for dataset "
                           f"{key[0]!r}, hp={key[1]!r}; it has: {held}")
        return self.frame[self.columns[key]].to_numpy(dtype=float)

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        """Whether :meth:`column` would answer ``(dataset, metric, hp)``: the same argument
        forms (``hp`` None for the default schedule, or a str or int such as ``200``), False
        where the source lacks the dataset, schedule or metric. A name that is no official
        dataset raises ``ValueError`` (a typo must not read as "not held")."""
        return self._key(dataset, metric, hp) in self.columns

    # -- checks ----------------------------------------------------------------------------
    def _key(self, dataset: str, metric: str, hp: str | None) -> tuple[str, str, str]:
        """The one normalisation of a ``(dataset, metric, hp)`` query, shared by
        :meth:`column`, :meth:`has` and :func:`optima`: an official dataset name, ``hp`` as
        its string (None: the source's default), the metric as given."""
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {quote(dataset)}; official names: "
                             f"{', '.join(DATASETS)} (names are never remapped)")
        if not isinstance(metric, str):
            raise TypeError(f"metric must be a str such as 'valid-accuracy', got "
                            f"{quote(metric)}")
        return str(dataset), self._hp_name(hp), metric

    def _hp_name(self, hp) -> str:
        if hp is None:
            return self.default_hp
        if isinstance(hp, (bool, np.bool_)) or not isinstance(hp, (str, int, np.integer)):
            raise TypeError(f"hp must be a str such as '200' (or an int), got {quote(hp)}")
        return str(hp)

    def _check_index(self, index: int) -> int:
        try:
            index = as_index(index, "arch index")
        except TypeError as err:
            raise TypeError(f"{err}; use query_index_by_arch() for an arch string") from None
        if not 0 <= index < len(self):
            raise IndexError(f"arch index {index} is out of range 0..{len(self) - 1}")
        return index

    def _check_dataset(self, dataset: str) -> str:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {quote(dataset)}; official names: "
                             f"{', '.join(DATASETS)} (names are never remapped)")
        if dataset not in self.datasets:
            raise KeyError(f"source {self.source!r} holds no results for {dataset!r}; it holds "
                           f"{', '.join(self.datasets)}. Point {ENV_DATA_DIR} at a data "
                           "directory with nb201/nb201.csv.gz for all four datasets.")
        return str(dataset)

    def _check_hp(self, hp: str | None) -> str:
        hp = self._hp_name(hp)
        if hp not in self.hps:
            raise ValueError(f"unknown hp {quote(hp)} for source {self.source!r}; valid: "
                             f"{', '.join(self.hps)}")
        return hp


def load_benchmark(data_dir: str | os.PathLike | None = None) -> NB201Benchmark:
    """Load NAS-Bench-201 from the configured source (see the module docstring)."""
    path = resolve_data_dir(data_dir)
    if path is None:
        return load_embedded()
    return load_table(path / TABLE_RELPATH)


def load_table(path: str | os.PathLike) -> NB201Benchmark:
    """Load the NB201 table (``nb201.csv.gz``, schema in data/README.md), checked as it
    loads (:func:`check_table`): a table that cannot be read or breaks the schema raises
    :class:`TableError` (a ``ValueError``) naming the file, the column and the first bad
    row."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NB201 table not found at {str(path)!r}; the data directory "
                                f"must hold {TABLE_RELPATH} (see data/README.md)")
    start = time.perf_counter()
    frame = read_table_file(path, dtype={"op_code": str, "arch_str": str})
    check_table(frame, path)
    columns = {k: c for k, c in TABLE_COLUMNS.items() if c in frame.columns}
    for dataset, column in LATENCY_COLUMNS.items():
        if column in frame.columns:
            columns.update({(dataset, hp, "latency"): column for hp in HPS})
    seeds = {d: c for d, c in SEED_COLUMNS.items() if c in frame.columns}
    return NB201Benchmark(frame, columns, "nb201-table", str(path), seeds,
                          load_seconds=time.perf_counter() - start)


class _RecordUnpickler(pickle.Unpickler):
    """Admits only the two plain record classes of analog-nasbench's data file."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ANB_RECORD_CLASSES:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the "
                                         "analog-nasbench data file")
        return type(name, (), {})  # a bare holder: pickle restores its __dict__


def read_analog_records() -> dict[tuple[int, ...], object]:
    """The analog-nasbench records, read without importing its module (which needs
    ``pkg_resources``) and with a restricted unpickler."""
    blob = analog_data_path().read_bytes()
    return _RecordUnpickler(io.BytesIO(blob)).load()


def analog_data_path() -> Path:
    """Where analog-nasbench's data file lies, found without executing the package."""
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the embedded source needs the package analog-nasbench: "
                                  "pip install analog-nasbench==0.1.3")
    return Path(next(iter(spec.submodule_search_locations))) / "data.anb"


def analog_tuple_to_op_codes(arch: Sequence[int]) -> tuple[int, ...]:
    """Map an analog-nasbench tuple (its edge order and op codes) to spaces op codes."""
    by_edge = {edge: nb201_space.OP_CODE[_ANB_OPS[code]]
               for edge, code in zip(_ANB_EDGE_ORDER, arch)}
    return tuple(by_edge[edge] for edge in nb201_space.EDGES)


def load_embedded() -> NB201Benchmark:
    """The embedded default source: analog-nasbench's CIFAR-10 accuracies, in space-index
    order."""
    start = time.perf_counter()
    records = read_analog_records()
    acc = np.full(nb201_space.NUM_ARCHS, np.nan)
    for arch, record in records.items():
        acc[nb201_space.space_index(analog_tuple_to_op_codes(arch))] = record.baseline_accuracy
    if np.isnan(acc).any():
        raise ValueError(f"analog-nasbench covers {np.isfinite(acc).sum()} of "
                         f"{nb201_space.NUM_ARCHS} cells; expected all")
    codes = nb201_space.all_op_codes()
    frame = pd.DataFrame({
        "arch_index": np.arange(nb201_space.NUM_ARCHS),
        "arch_str": [nb201_space.format_arch_str(c) for c in codes],
        "op_code": ["".join(map(str, c)) for c in codes],
        "anb_test_accuracy": acc,
    })
    columns = {("cifar10", "anb", "test-accuracy"): "anb_test_accuracy"}
    location = str(analog_data_path())
    return NB201Benchmark(frame, columns, "analog-nasbench", location, default_hp="anb",
                          index_kind="space", load_seconds=time.perf_counter() - start)


def optima(bench: NB201Benchmark, hp: str | None = None) -> pd.DataFrame:
    """The best architecture per (dataset, accuracy metric) held by ``bench`` under schedule
    ``hp`` (None: the source's default; the forms :meth:`NB201Benchmark.column` takes; a
    schedule the source lacks raises ``ValueError``), the published optima beside them:
    :func:`nar_utils.reproduce.anchors.add_published_optima`."""
    rows = []
    hp = bench._check_hp(hp)
    for dataset in bench.datasets:
        for metric in ("valid-accuracy", "test-accuracy"):
            if not bench.has(dataset, metric, hp):
                continue
            values = bench.column(dataset, metric, hp)
            if np.isnan(values).all():
                continue  # a regenerated table without runs for this dataset
            best = int(np.nanargmax(values))
            rows.append({"dataset": dataset, "metric": metric, "hp": hp, "arch_index": best,
                         "arch_str": bench[best], "best": float(values[best])})
    return pd.DataFrame(rows)
