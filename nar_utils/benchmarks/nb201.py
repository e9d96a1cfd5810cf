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
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from nar_utils.benchmarks.datadir import ENV_DATA_DIR, resolve_data_dir
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
COST_METRICS = ("params", "train-time")

# The analog-nasbench tuple lists edges 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 with its own op
# codes; both are mapped here onto nb201_space.EDGES order and nb201_space.OPS codes.
_ANB_EDGE_ORDER = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_ANB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_ANB_RECORD_CLASSES = {("analognasbench.data", "Architecture"),
                       ("analognasbench.data", "DriftMeasurement")}


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
            trials = json.loads(self.frame[col].iat[index])
            k = int(np.random.default_rng(seed).integers(len(trials)))
            info["valid-accuracy"], info["trial"] = float(trials[k]), k
        return info

    def get_cost_info(self, index: int, dataset: str, hp: str | None = None) -> dict:
        """Cost of arch ``index``: 'params' (millions) and 'train-time' (s, whole schedule)
        where the source holds them."""
        index, dataset, hp = self._check_index(index), self._check_dataset(dataset), \
            self._check_hp(hp)
        return {m: float(self.frame[col].iat[index]) for (d, h, m), col in self.columns.items()
                if d == dataset and h == hp and m in COST_METRICS}

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
        dataset, hp = self._check_dataset(dataset), self._check_hp(hp)
        key = (dataset, hp, metric)
        if key not in self.columns:
            held = ", ".join(self.metrics(dataset, hp))
            raise KeyError(f"source {self.source!r} has no metric {metric!r} for dataset "
                           f"{dataset!r}, hp={hp!r}; it has: {held}")
        return self.frame[self.columns[key]].to_numpy(dtype=float)

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        """Whether the source holds ``metric`` for ``dataset`` (no error)."""
        return (dataset, hp or self.default_hp, metric) in self.columns

    # -- checks ----------------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"arch index must be an int, got {index!r}; use "
                            "query_index_by_arch() for an arch string")
        if not 0 <= index < len(self):
            raise IndexError(f"arch index {index} is out of range 0..{len(self) - 1}")
        return int(index)

    def _check_dataset(self, dataset: str) -> str:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; official names: "
                             f"{', '.join(DATASETS)} (names are never remapped)")
        if dataset not in self.datasets:
            raise KeyError(f"source {self.source!r} holds no results for {dataset!r}; it holds "
                           f"{', '.join(self.datasets)}. Point {ENV_DATA_DIR} at a data "
                           "directory with nb201/nb201.csv.gz for all four datasets.")
        return dataset

    def _check_hp(self, hp: str | None) -> str:
        hp = self.default_hp if hp is None else str(hp)
        if hp not in self.hps:
            raise ValueError(f"unknown hp {hp!r} for source {self.source!r}; valid: "
                             f"{', '.join(self.hps)}")
        return hp




def load_benchmark(data_dir: str | os.PathLike | None = None) -> NB201Benchmark:
    """Load NAS-Bench-201 from the configured source (see the module docstring)."""
    path = resolve_data_dir(data_dir)
    if path is None:
        return load_embedded()
    return load_table(path / TABLE_RELPATH)


def load_table(path: str | os.PathLike) -> NB201Benchmark:
    """Load the NB201 table (``nb201.csv.gz``, schema in data/README.md)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NB201 table not found at {str(path)!r}; the data directory "
                                f"must hold {TABLE_RELPATH} (see data/README.md)")
    start = time.perf_counter()
    frame = pd.read_csv(path, dtype={"op_code": str, "arch_str": str})
    missing = {"arch_index", "arch_str", "op_code"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: not an NB201 table, columns {sorted(missing)} are missing")
    if not (frame["arch_index"].to_numpy() == np.arange(len(frame))).all():
        raise ValueError(f"{path}: rows must be ordered by arch_index 0..{len(frame) - 1}")
    columns = {k: c for k, c in TABLE_COLUMNS.items() if c in frame.columns}
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
    """The best architecture per (dataset, accuracy metric) held by ``bench`` (the published
    optima beside them: :func:`nar_utils.reproduce.anchors.add_published_optima`)."""
    rows = []
    hp = bench.default_hp if hp is None else hp
    for dataset in bench.datasets:
        for metric in ("valid-accuracy", "test-accuracy"):
            if not bench.has(dataset, metric, hp):
                continue
            values = bench.column(dataset, metric, hp)
            best = int(np.nanargmax(values))
            rows.append({"dataset": dataset, "metric": metric, "hp": hp, "arch_index": best,
                         "arch_str": bench[best], "best": float(values[best])})
    return pd.DataFrame(rows)


