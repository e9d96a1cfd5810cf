"""A drop-in for the official NAS-Bench-201 and NATS-Bench (topology) query APIs.

Code written against the official packages runs unchanged on the book's data::

    from nar_utils.benchmarks.compat import NASBench201API as API   # for nas_201_api's API
    from nar_utils.benchmarks.compat import create                  # for nats_bench.create
    api = API(None)                  # the configured data directory, else the embedded source
    api.get_more_info(112, "cifar10", None, hp="200", is_random=True)

The book's own API (:class:`nar_utils.benchmarks.nb201.NB201Benchmark`) stays explicit and
deterministic; this layer keeps the official signatures and defaults instead, positional
arguments included: ``hp='12'`` and ``is_random=True`` (one training seed drawn at random).
Random draws come from ``api.rng`` (``numpy.random.Generator``), seeded with the ``seed``
argument of the constructor (None: fresh entropy, as the official API); a one-time warning
says that such results vary. ``is_random`` may also be ``False`` (the mean over seeds) or a
seed number (777, 888 or 999, that seed's trial).

What is served, from which file, is listed in ``book/compat.md``. In short: the final
accuracies of every dataset and schedule the table holds (``nb201/nb201.csv.gz``), per-seed
final accuracies where ``nb201/nb201_seeds.csv.gz`` is present (200-epoch validation; test
and valid+test on CIFAR-100 and ImageNet16-120), per-epoch training and validation
accuracy of cells 0-199 on cifar10-valid where ``nb201/nb201_curves_200.csv.gz`` is present,
training time from the table, and FLOPs and parameters counted exactly under the
benchmark's own convention for the benchmark's network
(:meth:`nar_utils.benchmarks.nb201.NB201Benchmark.costs`; ``'flops-nar'`` adds the book's
and NAR's convention, which also counts batch norms). A value the data does not hold is
``None`` (a latency is ``-1``, as the official ``ResultsCount`` reports a missing one) and
never made up; fields without per-seed values (losses, times, training accuracy, CIFAR-10
test accuracy) are the mean over seeds in every trial; weights are not part of this data,
so ``get_net_param`` and ``reload`` raise. Indices, epochs and seeds are integers: a bool or
a float is refused, not truncated.

Reference: X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020, and X. Dong et al., "NATS-Bench",
TPAMI 2021 (their APIs' documented methods and signatures; written here from that
documentation).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nar_utils.benchmarks.nb201 import (
    NB201Benchmark,
    load_benchmark,
    load_table,
    read_table_file,
)
from nar_utils.spaces.base import as_index, quote

SEEDS = (777, 888, 999)
SEEDS_RELPATH = Path("nb201") / "nb201_seeds.csv.gz"
CURVES_RELPATH = Path("nb201") / "nb201_curves_200.csv.gz"
#: Epochs of each schedule.
EPOCHS = {"12": 12, "200": 200}
#: Official set names of each dataset -> the book's metric prefix.
SETNAMES = {
    "cifar10-valid": {"train": "train", "x-valid": "valid", "ori-test": "test"},
    "cifar10": {"train": "train", "ori-test": "test"},
    "cifar100": {"train": "train", "x-valid": "valid", "x-test": "test", "ori-test": "valtest"},
    "ImageNet16-120": {"train": "train", "x-valid": "valid", "x-test": "test",
                       "ori-test": "valtest"},
}
#: Per-seed columns of nb201_seeds.csv.gz: (dataset, book prefix) -> column stem.
_SEED_STEMS = {("cifar10-valid", "valid"): "c10v_val_200",
               ("cifar100", "valid"): "c100_val_200", ("cifar100", "test"): "c100_test_200",
               ("cifar100", "valtest"): "c100_valtest_200",
               ("ImageNet16-120", "valid"): "in16_val_200",
               ("ImageNet16-120", "test"): "in16_test_200",
               ("ImageNet16-120", "valtest"): "in16_valtest_200"}
_NETWORK_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
NO_WEIGHTS = ("trained weights are not part of this data (the book holds the benchmark's "
              "tables, not its checkpoints); build the network with get_cell_based_tiny_net("
              "api.get_net_config(index, dataset)) and train it with "
              "nar_utils.training.trainer.train_network")
_warned_random = False


def _warn_random() -> None:
    global _warned_random
    if not _warned_random:
        _warned_random = True
        warnings.warn("is_random=True (the official default) draws one training seed at random: "
                      "results vary from call to call. Pass is_random=False for the mean over "
                      "seeds, a seed (777, 888, 999) for one trial, or seed the API "
                      "(API(..., seed=0)) for repeatable draws.", stacklevel=3)


class ResultsCount:
    """One training trial (one seed) of one cell on one dataset, as the official
    ``ResultsCount``: ``get_train``, ``get_eval``, ``get_latency``, ``get_net_param``."""

    def __init__(self, api: NASBench201API, index: int, dataset: str, seed: int | None,
                 hp: str):
        self.api, self.index, self.dataset, self.seed, self.hp = api, index, dataset, seed, hp
        self.name = dataset
        self.arch_str = api[index]

    def __repr__(self) -> str:
        return (f"ResultsCount(arch={self.index}, dataset={self.dataset!r}, seed={self.seed}, "
                f"hp={self.hp!r})")

    def get_train(self, iepoch: int | None = None) -> dict[str, Any]:
        return self.api._metrics(self.index, self.dataset, "train", iepoch, self.hp,
                                 self.seed)

    def get_eval(self, name: str, iepoch: int | None = None) -> dict[str, Any]:
        if not isinstance(name, str) or name not in SETNAMES[self.dataset] or name == "train":
            raise KeyError(f"{self.dataset} has no evaluation set {quote(name)}; it has "
                           f"{[s for s in SETNAMES[self.dataset] if s != 'train']}")
        return self.api._metrics(self.index, self.dataset, name, iepoch, self.hp, self.seed)

    def get_latency(self) -> float:
        return -1  # not held: the official value for a trial without latency

    def get_net_param(self, clone: bool = False):
        raise NotImplementedError(NO_WEIGHTS)


class ArchResults:
    """All results of one cell under one schedule, as the official ``ArchResults``."""

    def __init__(self, api: NASBench201API, index: int, hp: str):
        self.api, self.arch_index, self.hp = api, index, hp
        self.arch_str = api[index]

    def __repr__(self) -> str:
        return f"ArchResults(arch-index={self.arch_index}, arch={self.arch_str}, hp={self.hp!r})"

    def get_dataset_names(self) -> list[str]:
        return list(self.api.datasets)

    def get_dataset_seeds(self, dataset: str) -> list[int]:
        return self.api._seeds_of(self.arch_index, dataset, self.hp)

    def get_metrics(self, dataset: str, setname: str, iepoch: int | None = None,
                    is_random: bool | int = False) -> dict[str, Any]:
        """``{'loss', 'accuracy', 'cur_time', 'all_time'}`` of ``setname`` ('train',
        'x-valid', 'x-test' or 'ori-test', as the dataset has them); ``None`` where not held."""
        self.api._check_dataset(dataset)
        if not isinstance(setname, str) or setname not in SETNAMES[dataset]:
            raise KeyError(f"{dataset} has no set {quote(setname)}; it has "
                           f"{list(SETNAMES[dataset])}")
        seed = self.api._pick_seed(self.arch_index, dataset, self.hp, is_random)
        return self.api._metrics(self.arch_index, dataset, setname, iepoch, self.hp, seed)

    def get_compute_costs(self, dataset: str) -> dict[str, Any]:
        return self.api.get_cost_info(self.arch_index, dataset, self.hp)

    def get_config(self, str2structure=None) -> dict[str, Any]:
        return self.api.get_net_config(self.arch_index, "cifar10")

    def get_net_param(self, dataset: str, seed: int | None):
        raise NotImplementedError(NO_WEIGHTS)

    def query(self, dataset: str, seed: int | None = None):
        seeds = self.get_dataset_seeds(dataset)
        if seed is not None:
            seed = as_index(seed, "seed")
        if seed is None:
            return {s: ResultsCount(self.api, self.arch_index, dataset, s, self.hp)
                    for s in seeds}
        if seed not in seeds:
            raise KeyError(f"no trial with seed {seed} for arch {self.arch_index} on {dataset}; "
                           f"seeds held: {seeds}")
        return ResultsCount(self.api, self.arch_index, dataset, seed, self.hp)


class NASBench201API:
    """``nas_201_api.NASBench201API`` over the book's data (see the module docstring).

    ``file_path_or_dict``: None (the configured data directory, else the embedded source), a
    data directory, the path of the book's table (``nb201.csv.gz``), or an official
    ``.pth`` file (converted once with :func:`nar_utils.benchmarks.convert.convert_official`,
    which needs the official package to read it). ``seed`` seeds :attr:`rng`, the generator
    of every ``is_random=True`` draw.
    """

    def __init__(self, file_path_or_dict: str | os.PathLike | None = None,
                 verbose: bool = True, *, seed: int | None = None):
        self.bench = self._open(file_path_or_dict)
        self.rng = np.random.default_rng(seed)
        self.verbose = verbose
        self.used_time = 0.0
        root = Path(self.bench.location).parent.parent if self.bench.source == "nb201-table" \
            else None
        self._seeds = _read_optional(root / SEEDS_RELPATH if root else None)
        self._curves = _read_optional(root / CURVES_RELPATH if root else None)
        if verbose:
            print(f"{type(self).__name__} over {self.bench.source} ({len(self)} architectures"
                  f"{', per-seed results' if self._seeds is not None else ''}"
                  f"{', 200 learning curves' if self._curves is not None else ''})")

    @staticmethod
    def _open(source) -> NB201Benchmark:
        if isinstance(source, dict):
            raise TypeError("a dict of the official archive cannot be read here; give a data "
                            "directory, a table path or None (the configured source)")
        if source is None:
            return load_benchmark(None)
        path = Path(source)
        if path.suffix == ".pth":
            return _converted(path)
        if path.is_dir() or str(source) == "embedded":
            return load_benchmark(str(source))
        return load_table(path)

    # -- the container protocol ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.bench)

    def __getitem__(self, index: int) -> str:
        return self.bench[index]

    def __iter__(self):
        return iter(self.bench)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({len(self)} architectures, source="
                f"{self.bench.source!r})")

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.bench.datasets

    def arch(self, index: int) -> str:
        return self.bench[index]

    def query_index_by_arch(self, arch) -> int:
        """Index of an arch string or of an object with ``tostr()`` (a CellStructure); -1
        when absent, as the official API."""
        if hasattr(arch, "tostr"):
            arch = arch.tostr()
        return self.bench.query_index_by_arch(arch)

    def show(self, index: int = -1) -> None:
        index = self.bench._check_index(index) if as_index(index, "arch index") >= 0 else -1
        if index < 0:
            print(repr(self))
            return
        self.bench.show(index)

    # -- queries ---------------------------------------------------------------------------
    def query_meta_info_by_index(self, arch_index: int, hp: str = "12") -> ArchResults:
        return ArchResults(self, self.bench._check_index(arch_index), self._check_hp(hp))

    def query_by_index(self, arch_index: int, dataname: str | None = None, hp: str = "12"):
        """``{seed: ResultsCount}`` for ``dataname``, or ``{dataset: {seed: ResultsCount}}``."""
        results = self.query_meta_info_by_index(arch_index, hp)
        if dataname is None:
            return {d: results.query(d) for d in self.datasets}
        self._check_dataset(dataname)
        return results.query(dataname)

    def get_more_info(self, index: int, dataset: str, iepoch: int | None = None,
                      hp: str = "12", is_random: bool | int = True) -> dict[str, Any]:
        """The official keys of ``dataset``'s sets (train-, valid-, test-, valtest- ×
        loss / accuracy / per-time / all-time); values not held are None."""
        index = self.bench._check_index(index)
        self._check_dataset(dataset)
        hp = self._check_hp(hp)
        seed = self._pick_seed(index, dataset, hp, is_random)
        info: dict[str, Any] = {}
        for setname, prefix in SETNAMES[dataset].items():
            values = self._metrics(index, dataset, setname, iepoch, hp, seed)
            info[f"{prefix}-loss"] = values["loss"]
            info[f"{prefix}-accuracy"] = values["accuracy"]
            info[f"{prefix}-per-time"] = values["cur_time"]
            info[f"{prefix}-all-time"] = values["all_time"]
        return info

    def get_cost_info(self, index: int, dataset: str, hp: str = "12") -> dict[str, Any]:
        """The official keys: ``flops`` and ``params`` (millions, the benchmark's own
        convention, counted for the benchmark's network: the official API's figures, see
        :meth:`nar_utils.benchmarks.nb201.NB201Benchmark.costs`), ``latency`` (s; None where
        the data does not hold it, as the official API reports a missing one), training time
        per epoch and in total (the table's); plus ``flops-nar`` (millions, the book's and
        NAR's convention, which also counts batch norms). For data of other networks than the
        benchmark's (a regenerated benchmark of another width) the FLOPs are None and
        ``params`` is the data's own figure."""
        index = self.bench._check_index(index)
        self._check_dataset(dataset)
        hp = self._check_hp(hp)
        cost = self.bench.get_cost_info(index, dataset, hp)
        latency = self._value(dataset, hp, "latency", index)
        total = self._value(dataset, hp, "train-time", index)
        return {"flops": cost.get("flops"), "flops-nar": cost.get("flops-nar"),
                "params": cost.get("params"),
                "latency": latency if latency is not None and latency > 0 else None,
                "T-train@epoch": None if total is None or hp not in EPOCHS else
                total / EPOCHS[hp],
                "T-train@total": total, "T-ori-test@epoch": None, "T-ori-test@total": None}

    def get_net_config(self, index: int, dataset: str) -> dict[str, Any]:
        """The official network configuration ('infer.tiny', C=16, N=5, the cell, classes)."""
        self._check_dataset(dataset)
        return {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": self[index],
                "num_classes": _NETWORK_CLASSES[dataset]}

    def find_best(self, dataset: str, metric_on_set: str, FLOP_max: float | None = None,  # noqa: N803
                  Param_max: float | None = None, hp: str = "12") -> tuple[int, float]:  # noqa: N803
        """``(index, accuracy)`` of the most accurate cell on ``metric_on_set`` (mean over
        seeds) under optional FLOPs (the benchmark's convention) and parameter limits (M), as
        the official ``find_best``."""
        self._check_dataset(dataset)
        hp = self._check_hp(hp)
        prefix = SETNAMES[dataset].get(metric_on_set)
        if prefix is None:
            raise KeyError(f"{dataset} has no set {metric_on_set!r}; it has "
                           f"{list(SETNAMES[dataset])}")
        metric = f"{prefix}-accuracy"
        if not self.bench.has(dataset, metric, hp):
            raise KeyError(f"{self.bench.source} holds no {metric_on_set} accuracy for "
                           f"{dataset} with hp={hp!r}")
        accuracy = self.bench.column(dataset, metric, hp).copy()
        if FLOP_max is not None or Param_max is not None:
            costs = self.bench.costs(dataset)
            keep = np.ones(len(accuracy), bool)
            if FLOP_max is not None:
                keep &= costs["flops"] <= FLOP_max
            if Param_max is not None:
                keep &= costs["params"] <= Param_max
            accuracy[~keep] = -np.inf
        best = int(np.nanargmax(accuracy))
        return best, float(accuracy[best])

    def get_net_param(self, index: int, dataset: str, seed: int | None, hp: str = "12"):
        raise NotImplementedError(NO_WEIGHTS)

    def reload(self, archive_root: str | None = None, index: int | None = None) -> None:
        raise NotImplementedError(f"reload: {NO_WEIGHTS}; every result this data holds is "
                                  "loaded already")

    def clear_params(self, index: int, hp: str | None = None) -> None:
        """Nothing to clear: no weights are loaded."""

    # -- helpers ---------------------------------------------------------------------------
    def _check_dataset(self, dataset: str) -> str:
        return self.bench._check_dataset(dataset)

    def _check_hp(self, hp) -> str:
        hp = self.bench._hp_name(hp if hp is not None else "None")
        if hp not in self.bench.hps:
            raise ValueError(f"hp={quote(hp)} is not held by {self.bench.source}; it holds "
                             f"{', '.join(self.bench.hps)}")
        return hp

    def _value(self, dataset: str, hp: str, metric: str, index: int) -> float | None:
        if not self.bench.has(dataset, metric, hp):
            return None
        value = float(self.bench.column(dataset, metric, hp)[index])
        return None if np.isnan(value) else value

    def _seeds_of(self, index: int, dataset: str, hp: str) -> list[int]:
        """Seeds with per-seed values for ``dataset`` (200-epoch schedule; none for
        'cifar10', whose per-seed test accuracies the data does not hold)."""
        stem = _SEED_STEMS.get((dataset, "valid"))
        if self._seeds is None or hp != "200" or stem is None:
            return []
        row = self._seeds.iloc[index]
        return [s for s in SEEDS if not pd.isna(row.get(f"{stem}_s{s}"))]

    def _pick_seed(self, index: int, dataset: str, hp: str, is_random) -> int | None:
        """None (the mean) or the seed of one trial, as ``is_random`` asks."""
        if isinstance(is_random, np.bool_):
            is_random = bool(is_random)
        if is_random is False or is_random is None:
            return None
        seeds = self._seeds_of(index, dataset, hp)
        if is_random is not True:
            is_random = as_index(is_random, "is_random (True, False or a seed)")
        if is_random is True:
            _warn_random()
            if not seeds:
                return None  # no per-seed values held: the mean stands for every trial
            return int(self.rng.choice(seeds))
        seed = int(is_random)
        if seed not in seeds:
            raise KeyError(f"no trial with seed {seed} for arch {index} on {dataset} (hp={hp}); "
                           f"seeds held: {seeds or 'none (no nb201_seeds.csv.gz or hp=12)'}")
        return seed

    def _metrics(self, index: int, dataset: str, setname: str, iepoch: int | None, hp: str,
                 seed: int | None) -> dict[str, Any]:
        prefix = SETNAMES[dataset][setname]
        epochs = EPOCHS.get(hp)  # None: a schedule of unknown length (the embedded source's)
        last = None if epochs is None else epochs - 1
        out = {"loss": None, "accuracy": None, "cur_time": None, "all_time": None}
        if iepoch is not None:
            iepoch = as_index(iepoch, "iepoch")
        if iepoch is not None and (last is None or iepoch != last):
            if last is None:
                raise IndexError(f"per-epoch values of schedule hp={hp!r} are not held; ask for "
                                 "iepoch=None (the final values)")
            if not 0 <= iepoch <= last:
                raise IndexError(f"iepoch {iepoch} is outside 0..{last} (hp={hp})")
            out["accuracy"] = self._curve_value(index, dataset, prefix, iepoch, hp)
            out["iepoch"] = iepoch
            return out
        accuracy = None
        if seed is not None and (dataset, prefix) in _SEED_STEMS:
            value = self._seeds.iloc[index].get(f"{_SEED_STEMS[(dataset, prefix)]}_s{seed}")
            accuracy = None if pd.isna(value) else float(value)
        if accuracy is None:
            accuracy = self._value(dataset, hp, f"{prefix}-accuracy", index)
        out["accuracy"] = accuracy
        out["loss"] = self._value(dataset, hp, f"{prefix}-loss", index)
        if prefix == "train":
            total = self._value(dataset, hp, "train-time", index)
            if total is None:
                total = self._value(dataset, hp, "train-all-time", index)
        else:
            total = self._value(dataset, hp, f"{prefix}-all-time", index)
        out["all_time"] = total
        out["cur_time"] = None if total is None or epochs is None else total / epochs
        out["iepoch"] = last
        return out

    def _curve_value(self, index: int, dataset: str, prefix: str, iepoch: int, hp: str):
        """A per-epoch accuracy: cifar10-valid, 200-epoch schedule, cells in the curves file."""
        if self._curves is None or dataset != "cifar10-valid" or hp != "200" or \
                prefix not in ("train", "valid"):
            return None
        rows = self._curves.index[self._curves["arch_index"] == index]
        if not len(rows):
            return None
        values = json.loads(self._curves.at[rows[0], f"{'train' if prefix == 'train' else 'val'}"
                                                     "_accs"])
        return float(values[iepoch])


class NATStopology(NASBench201API):
    """``nats_bench``'s topology-space API ('tss'): the NAS-Bench-201 methods plus
    :meth:`simulate_train_eval` and its time accounting."""

    def __init__(self, file_path_or_dict=None, fast_mode: bool = False, verbose: bool = True,
                 *, seed: int | None = None):
        super().__init__(file_path_or_dict, verbose=verbose, seed=seed)
        self.fast_mode = fast_mode

    def simulate_train_eval(self, arch, dataset: str, iepoch: int | None = None,
                            hp: str = "12", account_time: bool = True):
        """``(validation accuracy, latency, time cost, total time so far)`` of training
        ``arch`` (an index or an arch string) as the official API simulates it: the
        validation accuracy of one trial drawn at random (cifar10: of cifar10-valid) and the
        training time the table holds (its evaluation time is not held and not added)."""
        if isinstance(arch, (str, list, tuple, np.ndarray)) or hasattr(arch, "tostr"):
            index = self.query_index_by_arch(arch)
        else:
            index = as_index(arch, "arch (an index, an arch string or op codes)")
        if index < 0:
            raise KeyError(f"architecture {quote(arch)} is not in the space")
        source = "cifar10-valid" if dataset == "cifar10" else dataset
        info = self.get_more_info(index, source, iepoch=iepoch, hp=hp, is_random=True)
        time_cost = info.get("train-all-time")
        if time_cost is None:
            cost = self.get_cost_info(index, source, hp)
            time_cost = cost["T-train@total"]
        if account_time and time_cost is not None:
            self.used_time += time_cost
        return info["valid-accuracy"], None, time_cost, self.used_time

    def reset_time(self) -> None:
        self.used_time = 0.0


def create(file_path_or_dict=None, search_space: str = "tss", fast_mode: bool = False,
           verbose: bool = True, *, seed: int | None = None) -> NATStopology:
    """``nats_bench.create``: the topology search space ('tss' / 'topology') only."""
    if search_space not in ("tss", "topology"):
        raise ValueError(f"search space {quote(search_space)} is not part of this data: the book "
                         "holds the topology space ('tss'); the size space ('sss') is not held")
    return NATStopology(file_path_or_dict, fast_mode=fast_mode, verbose=verbose, seed=seed)


def get_cell_based_tiny_net(config: dict[str, Any]):
    """The network of an official configuration (``get_net_config``): the book's NB201
    network (:func:`nar_utils.spaces.nb201.network.build_network`)."""
    from nar_utils.spaces.nb201.network import build_network

    datasets = {10: "cifar10", 100: "cifar100", 120: "ImageNet16-120"}
    if config.get("name") != "infer.tiny" or config.get("num_classes") not in datasets:
        raise ValueError(f"not a NAS-Bench-201 network configuration: {config!r}")
    return build_network(config["arch_str"], datasets[config["num_classes"]],
                         channels=int(config["C"]), cells_per_stage=int(config["N"]))


def per_seed_values(data_dir: str | os.PathLike | None, dataset: str, metric: str
                    ) -> np.ndarray:
    """``(15625, 3)`` final accuracies of seeds 777, 888, 999 (NaN where a seed was not run)
    from ``nb201/nb201_seeds.csv.gz`` of the configured data directory; row i = official arch
    index i. ``metric``: 'valid-accuracy', or 'test-accuracy' / 'valtest-accuracy' for
    'cifar100' and 'ImageNet16-120' (the data holds no per-seed CIFAR-10 test accuracy)."""
    from nar_utils.benchmarks.datadir import resolve_data_dir

    stem = _SEED_STEMS.get((dataset, metric.removesuffix("-accuracy"))) \
        if isinstance(dataset, str) and isinstance(metric, str) else None
    if stem is None:
        held = sorted({f"{d} {p}-accuracy" for d, p in _SEED_STEMS})
        raise KeyError(f"no per-seed {quote(metric)} for {quote(dataset)}; held: "
                       f"{', '.join(held)}")
    root = resolve_data_dir(data_dir)
    frame = _read_optional(root / SEEDS_RELPATH if root else None)
    if frame is None:
        raise FileNotFoundError(f"per-seed results need {SEEDS_RELPATH} in the data directory "
                                f"({root or 'none configured: the embedded source has none'})")
    return frame[[f"{stem}_s{s}" for s in SEEDS]].to_numpy(dtype=float)


def _read_optional(path: Path | None):
    """An optional file of the data directory (None when absent); a damaged one raises
    :class:`nar_utils.benchmarks.nb201.TableError` naming it."""
    return read_table_file(path) if path is not None and path.is_file() else None


def _converted(path: Path) -> NB201Benchmark:
    """The book's table of an official ``.pth`` file, converted once (cached beside it)."""
    table = path.with_suffix(".nar-table.csv.gz")
    if not table.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"official benchmark file {path} not found")
        try:
            from nas_201_api import NASBench201API as Official
        except ImportError as err:
            raise ImportError(f"reading {path.name} needs the official package once (pip install "
                              "nas-bench-201); it is then converted into the book's table "
                              f"{table.name} beside it") from err
        from nar_utils.benchmarks.convert import convert_official

        convert_official(Official(str(path), verbose=False), table)
    return load_table(table)


__all__ = ["ArchResults", "NASBench201API", "NATStopology", "ResultsCount", "create",
           "get_cell_based_tiny_net", "per_seed_values"]
