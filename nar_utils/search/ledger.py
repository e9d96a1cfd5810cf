"""The budget ledger: the one way a search sees accuracies.

Every search method of :mod:`nar_utils.search` sees accuracies through one object, the
:class:`Ledger`, so that methods are compared at the same cost. The ledger

* answers ``ledger.query(arch_index)`` with the *search label*: one configured
  (dataset, metric, hp) of the benchmark, e.g. the 200-epoch validation accuracy on
  'cifar10-valid';
* counts every distinct architecture it reveals (a repeat look-up of a label already bought is
  free and not counted again: the result of a training run is known once it has been paid
  for) and the simulated training time those look-ups would have cost;
* refuses, by raising :class:`BudgetExhausted`, the first look-up that would exceed the query
  budget or the time budget, so budgets hold exactly, never one query over;
* keeps the trajectory (order, label, cumulative queries and time, best so far);
* makes the final choice, :meth:`Ledger.best` (the arch with the highest label bought), and
  reads the test accuracy of that choice only for reporting, after which it refuses further
  look-ups (:meth:`Ledger.report`).

Search label and reported dataset (NAS-Bench-201 convention, explicit in
:data:`nar_utils.benchmarks.task.SEARCH_LABELS`): 'cifar10' is trained on train+valid and has
no validation accuracy, so a search reported on 'cifar10' test accuracy is driven by the
'cifar10-valid' validation accuracy; 'cifar100' and 'ImageNet16-120' are searched on their
own validation half. A ledger asked for a label the source lacks raises an error naming this
convention.

Simulated time is the table's 'train-time' of the label's (dataset, hp). The tables hold the
12-epoch time for 'cifar10-valid' only; for another dataset at ``hp='12'`` the ledger derives
it as the 200-epoch time x 12/200 (training time per epoch is fixed for a given network and
dataset, and the cifar10-valid columns obey this ratio exactly for all 15,625 archs). The
official simulation also adds the evaluation time, which these tables do not hold: time here
is training time only. A source without any train time (the embedded analog-nasbench one)
works with query budgets, and a time budget on it raises ``ValueError``.

The ledger reads cells through the benchmark's search space
(:func:`nar_utils.spaces.get_space`): NAS-Bench-201 op codes, or NAS-Bench-101 packed cells,
whose benchmarks hold a pool of the space.

Reference: X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020 (protocol).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

import numpy as np
import pandas as pd

from nar_utils.benchmarks.task import SEARCH_LABELS
from nar_utils.spaces import get_space

#: Simulated time budget (s) of the NAS-Bench-201 paper's search protocol.
PAPER_TIME_BUDGET = 12000.0

class BenchmarkLike(Protocol):
    """What the ledger needs from a benchmark: ``op_codes`` ((N, 6) ints, row i = arch i),
    ``column(dataset, metric, hp) -> (N,) floats`` and ``has(dataset, metric, hp) -> bool``.

    A benchmark of another search space gives ``space`` (e.g. 'nb101'), ``archs`` ((N, D)
    ints, row i = arch i, the batch form its predictors read) and ``arch_names`` (N str, e.g.
    NB101 hashes) instead of ``op_codes``; NB201-only methods (evolution's mutation,
    REINFORCE, BOHB) then refuse it with a clear error.
    """

    op_codes: np.ndarray

    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray: ...

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool: ...


class BudgetExhausted(RuntimeError):
    """Raised by a :class:`Ledger` instead of a look-up that would exceed its budget.

    ``reason`` is 'query budget' or 'time budget'. The refused look-up is not charged and its
    label is not read.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Step:
    """One bought label, as kept in :attr:`Ledger.trajectory`."""

    step: int  # position in the trajectory, 0-based
    arch_index: int
    hp: str  # the schedule whose label was bought (the label hp or a lower fidelity)
    kind: str  # 'query' (evaluated by the search) or 'train-label' (bought for a predictor)
    label: float
    num_queries: int  # cumulative, this one included
    time_used: float  # cumulative simulated seconds (nan without a time source)
    best_index: int  # best arch by label at the label hp so far (-1 before the first)
    best_label: float


def train_time_column(bench: BenchmarkLike, dataset: str, hp: str
                      ) -> tuple[np.ndarray | None, str]:
    """Simulated training time (s) of every arch on ``dataset`` under schedule ``hp``, and
    where it comes from: the table, derived from another schedule (time per epoch x number of
    epochs, for numeric hps), or ``(None, 'none')`` when the source holds no train time."""
    if bench.has(dataset, "train-time", hp):
        return np.asarray(bench.column(dataset, "train-time", hp), dtype=float), "table"
    if str(hp).isdigit():
        for ref in ("200", "12"):
            if ref != hp and bench.has(dataset, "train-time", ref):
                times = np.asarray(bench.column(dataset, "train-time", ref), dtype=float)
                return times * int(hp) / int(ref), f"derived: {ref}-epoch train-time x {hp}/{ref}"
    return None, "none"


class Ledger:
    """The budget ledger: the only way a search sees accuracies (see the module docstring).

    Parameters
    ----------
    bench : any object with ``op_codes``, ``column`` and ``has`` (e.g.
        :class:`nar_utils.benchmarks.NB201Benchmark` or a test fixture).
    label_dataset, label_metric, label_hp : the search label, e.g. ('cifar10-valid',
        'valid-accuracy', '200'). Use :func:`ledger_for` for the NB201 convention.
    max_queries : budget of distinct look-ups (None = unlimited).
    max_time : budget of simulated training seconds (None = unlimited).
    fidelity_hps : lower-fidelity schedules a multi-fidelity search may also buy, lowest
        first (e.g. ``('12',)`` under a '200' label); each distinct (arch, hp) look-up counts
        one query and costs that schedule's training time.

    The label column is kept as the benchmark returned it and read one element per bought
    label, so that a test can audit every read.
    """

    def __init__(self, bench: BenchmarkLike, label_dataset: str,
                 label_metric: str = "valid-accuracy", label_hp: str = "200", *,
                 max_queries: int | None = None, max_time: float | None = None,
                 fidelity_hps: Sequence[str] = ()) -> None:
        self._bench = bench
        self.label_dataset, self.label_metric = label_dataset, label_metric
        self.label_hp = str(label_hp)
        fidelity_hps = tuple(str(h) for h in fidelity_hps)
        if self.label_hp in fidelity_hps:
            raise ValueError(f"fidelity_hps {fidelity_hps} must not contain the label hp "
                             f"{self.label_hp!r}; list only the lower fidelities")
        self.fidelities: tuple[str, ...] = (*fidelity_hps, self.label_hp)
        for hp in self.fidelities:
            if not bench.has(label_dataset, label_metric, hp):
                raise ValueError(_missing_label_message(bench, label_dataset, label_metric, hp))
        if max_queries is not None and (int(max_queries) != max_queries or max_queries < 0):
            raise ValueError(f"max_queries must be a non-negative int or None, got "
                             f"{max_queries!r}")
        if max_time is not None and not (max_time >= 0):
            raise ValueError(f"max_time must be a non-negative number of seconds or None, "
                             f"got {max_time!r}")
        self.max_queries = None if max_queries is None else int(max_queries)
        self.max_time = None if max_time is None else float(max_time)

        self._labels = {hp: bench.column(label_dataset, label_metric, hp)
                        for hp in self.fidelities}
        self._times: dict[str, np.ndarray | None] = {}
        self.time_sources: dict[str, str] = {}
        for hp in self.fidelities:
            self._times[hp], self.time_sources[hp] = train_time_column(bench, label_dataset, hp)
        if self.max_time is not None:
            lacking = [hp for hp in self.fidelities if self._times[hp] is None]
            if lacking:
                raise ValueError(
                    f"a time budget needs training times, but the source holds no "
                    f"'train-time' for dataset {label_dataset!r} at hp {lacking} (nor one to "
                    "derive it from); use max_queries instead, or a source with train times "
                    "(the NB201 table)")

        self.space = get_space(getattr(bench, "space", "nb201"))
        self._archs = self.space.benchmark_archs(bench)
        self._index_of = self.space.indexer(self._archs)
        #: Per edge, the ops the benchmark's cells hold there; None for a space that is not a
        #: product of per-edge choices (NB101), whose searches sample the benchmark's cells.
        self.op_choices = self.space.op_choices(self._archs)
        names = getattr(bench, "arch_names", None)
        self._names: list[str] | None = None if names is None else list(names)
        self._archs.setflags(write=False)

        self._known: dict[tuple[int, str], float] = {}
        self.trajectory: list[Step] = []
        self.num_queries = 0
        self.time_used = 0.0
        #: Other work charged to the time budget: (what, seconds), in order.
        self.extra_charges: list[tuple[str, float]] = []
        self.exhausted = False
        self.stop_reason: str | None = None
        self.sealed = False
        self._best_index, self._best_label = -1, -math.inf

    # -- structure (free: no labels) -----------------------------------------------------
    @property
    def num_archs(self) -> int:
        return len(self._archs)

    @property
    def archs(self) -> np.ndarray:
        """Every arch in the batch form its space's predictors read (read-only); row i = arch
        index i. NB201: the (N, 6) op codes; NB101: (N, 56) packed cells."""
        return self._archs

    @property
    def op_codes(self) -> np.ndarray:
        """(N, 6) op codes of every arch (read-only); row i = arch index i. Spaces built from
        per-edge choices only (NB201)."""
        self.require_op_choices("op_codes")
        return self._archs

    def require_op_choices(self, what: str) -> None:
        """Raise unless this ledger's space is a product of per-edge choices."""
        if self.op_choices is None:
            raise ValueError(f"{what} needs NAS-Bench-201 op codes (a space built from per-edge "
                             f"choices), but this ledger holds {self.space.name!r} archs; use "
                             "ledger.archs, and a method that samples from the benchmark's "
                             "cells (random search, predictor-guided random search, the tier "
                             "sampler)")

    @property
    def label_spec(self) -> str:
        return f"{self.label_dataset} {self.label_metric} (hp={self.label_hp})"

    def index_of(self, archs: np.ndarray | Sequence[int]) -> np.ndarray | int:
        """Arch index of one cell row (int) or of each row of an (M, D) array, in the form of
        :attr:`archs` (NB201: op codes); -1 where the benchmark lacks the cell."""
        return self._index_of(archs)

    def is_known(self, arch_index: int, hp: str | None = None) -> bool:
        """Whether the label of ``arch_index`` at ``hp`` has been bought (a look-up is free)."""
        return (int(arch_index), self._check_hp(hp)) in self._known

    def known(self, hp: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Arch indices and labels bought so far at ``hp`` (default: the label hp), in the
        order they were bought."""
        hp = self._check_hp(hp)
        pairs = [(s.arch_index, s.label) for s in self.trajectory if s.hp == hp]
        index = np.array([p[0] for p in pairs], dtype=np.int64)
        return index, np.array([p[1] for p in pairs], dtype=float)

    @property
    def remaining_queries(self) -> int | None:
        return None if self.max_queries is None else self.max_queries - self.num_queries

    @property
    def remaining_time(self) -> float | None:
        return None if self.max_time is None else self.max_time - self.time_used

    # -- buying labels -----------------------------------------------------------------------
    def query(self, arch_index: int, hp: str | None = None) -> float:
        """The search label of ``arch_index`` (at the label hp, or at a lower fidelity ``hp``).

        Charges one query and the arch's training time unless this (arch, hp) was bought
        before; raises :class:`BudgetExhausted` instead of exceeding a budget.
        """
        return self._buy(arch_index, hp, "query")

    def charge_labels(self, arch_indices: Iterable[int], hp: str | None = None) -> np.ndarray:
        """Buy the labels of ``arch_indices`` to train a predictor, in order, counted like
        queries; returns them. If the budget runs out part-way, the labels bought before stay
        bought (see :meth:`known`) and :class:`BudgetExhausted` is raised."""
        return np.array([self._buy(i, hp, "train-label") for i in arch_indices], dtype=float)

    def charge_seconds(self, seconds: float, what: str) -> None:
        """Charge ``seconds`` of other work a search pays for (the short training runs of
        Siamese-NAS estimation codes, say) to :attr:`time_used`, without a query; listed in
        :attr:`extra_charges`. Raises :class:`BudgetExhausted`, charging nothing, when it
        would exceed the time budget."""
        if self.sealed:
            raise RuntimeError("this ledger has reported test accuracy, so the search is over; "
                               "start a new Ledger for a new search")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.floating)) \
                or not seconds >= 0:
            raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")
        if self.exhausted:
            raise BudgetExhausted(f"budget already exhausted ({self.stop_reason})",
                                  self.stop_reason or "budget")
        if self.max_time is not None and self.time_used + seconds > self.max_time:
            self._exhaust("time budget")
        self.time_used += float(seconds)
        self.extra_charges.append((str(what), float(seconds)))

    def _buy(self, arch_index: int, hp: str | None, kind: str) -> float:
        if self.sealed:
            raise RuntimeError("this ledger has reported test accuracy, so the search is over; "
                               "start a new Ledger for a new search")
        index, hp = self._check_index(arch_index), self._check_hp(hp)
        key = (index, hp)
        if key in self._known:
            return self._known[key]
        if self.exhausted:
            raise BudgetExhausted(f"budget already exhausted ({self.stop_reason})",
                                  self.stop_reason or "budget")
        cost, new_query = self._price(index, hp)
        if new_query and self.max_queries is not None \
                and self.num_queries + 1 > self.max_queries:
            self._exhaust("query budget")
        if self.max_time is not None and self.time_used + cost > self.max_time:
            self._exhaust("time budget")
        label = float(self._labels[hp][index])
        self._known[key] = label
        self.num_queries += int(new_query)
        self.time_used += cost
        self._bought(index, hp)
        if hp == self.label_hp and label > self._best_label:
            self._best_index, self._best_label = index, label
        self.trajectory.append(Step(len(self.trajectory), index, hp, kind, label,
                                    self.num_queries, self.time_used, self._best_index,
                                    self._best_label if self._best_index >= 0 else math.nan))
        return label

    def _price(self, index: int, hp: str) -> tuple[float, bool]:
        """What buying (index, hp) costs: simulated seconds, and whether it counts a query.
        Here every (arch, schedule) is its own training run and query."""
        times = self._times[hp]
        return (float(times[index]) if times is not None else math.nan), True

    def _bought(self, index: int, hp: str) -> None:
        """Called after (index, hp) was bought and charged (a subclass keeps its state)."""

    def _exhaust(self, reason: str) -> None:
        self.exhausted, self.stop_reason = True, reason
        used = (f"{self.num_queries}/{self.max_queries} queries" if reason == "query budget"
                else f"{self.time_used:.1f}/{self.max_time:.1f} s")
        raise BudgetExhausted(f"{reason} exhausted: {used} used", reason)

    # -- the final choice and reporting ------------------------------------------------------
    def best(self) -> int:
        """Arch index with the highest label bought at the label hp (first bought on ties).

        A multi-fidelity search that bought no label at the label hp falls back to its highest
        fidelity holding labels (see :attr:`chosen_hp`)."""
        return self._choice()[0]

    def best_label(self) -> float:
        return self._choice()[1]

    @property
    def chosen_hp(self) -> str:
        """The schedule whose labels :meth:`best` chose by."""
        return self._choice()[2]

    def _choice(self) -> tuple[int, float, str]:
        if self._best_index >= 0:
            return self._best_index, self._best_label, self.label_hp
        for hp in reversed(self.fidelities[:-1]):
            index, labels = self.known(hp)
            if len(index):
                k = int(np.argmax(labels))
                return int(index[k]), float(labels[k]), hp
        raise RuntimeError("no label has been bought yet, so there is no choice to make; "
                           "the budget may be too small for one query")

    def test_column(self, test_dataset: str, test_metric: str = "test-accuracy",
                    test_hp: str = "200") -> np.ndarray:
        """Test values of all archs, for reporting only: seals the ledger (no look-up after)."""
        self.sealed = True
        return np.asarray(self._bench.column(test_dataset, test_metric, test_hp), dtype=float)

    def report(self, test_dataset: str, test_metric: str = "test-accuracy",
               test_hp: str = "200") -> dict[str, Any]:
        """The final choice and its test value (read only now; the ledger is sealed)."""
        index, label, hp = self._choice()
        test = self.test_column(test_dataset, test_metric, test_hp)
        arch_str = (self.space.arch_str(self._archs[index]) if self._names is None
                    else self._names[index])
        return {"arch_index": index, "arch_str": arch_str,
                "label": self.label_spec, "chosen_at_hp": hp, "label_value": label,
                "test": f"{test_dataset} {test_metric} (hp={test_hp})",
                "test_value": float(test[index]), "num_queries": self.num_queries,
                "time_used": self.time_used, "stop_reason": self.stop_reason}

    def trajectory_frame(self, test_dataset: str | None = None,
                         test_metric: str = "test-accuracy", test_hp: str = "200"
                         ) -> pd.DataFrame:
        """The trajectory as a table; with ``test_dataset`` also 'best_test', the test value
        of the best-by-label arch at each step (for plots; seals the ledger)."""
        frame = pd.DataFrame([s.__dict__ for s in self.trajectory],
                             columns=list(Step.__dataclass_fields__))
        if test_dataset is not None:
            test = self.test_column(test_dataset, test_metric, test_hp)
            best = frame["best_index"].to_numpy(dtype=np.int64)
            frame["best_test"] = np.where(best >= 0, test[np.maximum(best, 0)], np.nan)
        return frame

    # -- checks ------------------------------------------------------------------------------
    def _check_hp(self, hp: str | None) -> str:
        hp = self.label_hp if hp is None else str(hp)
        if hp not in self.fidelities:
            raise ValueError(f"hp {hp!r} is not a fidelity of this ledger; valid: "
                             f"{', '.join(self.fidelities)} (declare lower fidelities with "
                             "fidelity_hps)")
        return hp

    def _check_index(self, index: int) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"arch index must be an int, got {index!r}")
        if not 0 <= index < self.num_archs:
            raise IndexError(f"arch index {index} is out of range 0..{self.num_archs - 1}")
        return int(index)

    def __repr__(self) -> str:
        return (f"Ledger(label={self.label_spec!r}, queries={self.num_queries}/"
                f"{self.max_queries}, time={self.time_used:.1f}/{self.max_time}, "
                f"stop_reason={self.stop_reason!r})")



def _missing_label_message(bench: Any, dataset: str, metric: str, hp: str) -> str:
    hint = ""
    if metric == "valid-accuracy" and dataset == "cifar10":
        hint = (" 'cifar10' is trained on train+valid and has no validation accuracy; by the "
                "NB201 convention search on ('cifar10-valid', 'valid-accuracy') and report "
                "'cifar10' test accuracy (SEARCH_LABELS, ledger_for).")
    source = getattr(bench, "source", type(bench).__name__)
    return (f"source {source!r} holds no {metric!r} for dataset {dataset!r} at hp={hp!r}."
            f"{hint}")


def ledger_for(bench: BenchmarkLike, dataset: str, hp: str = "200", **kwargs: Any) -> Ledger:
    """A ledger whose search label follows the NB201 convention for reporting on
    ``dataset`` (:data:`SEARCH_LABELS`); ``kwargs`` go to :class:`Ledger` (budgets, ...)."""
    if dataset not in SEARCH_LABELS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(SEARCH_LABELS)}")
    label_dataset, label_metric = SEARCH_LABELS[dataset]
    return Ledger(bench, label_dataset, label_metric, hp, **kwargs)


