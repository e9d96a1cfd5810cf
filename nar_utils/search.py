"""Architecture search at equal budgets on NAS-Bench-201.

Every search method here sees accuracies through one object, the :class:`Ledger`, so that
methods are compared at the same cost. The ledger

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
:data:`SEARCH_LABELS`): 'cifar10' is trained on train+valid and has no validation accuracy,
so a search reported on 'cifar10' test accuracy is driven by the 'cifar10-valid' validation
accuracy; 'cifar100' and 'ImageNet16-120' are searched on their own validation half. A ledger
asked for a label the source lacks raises an error naming this convention.

Simulated time is the table's 'train-time' of the label's (dataset, hp). The tables hold the
12-epoch time for 'cifar10-valid' only; for another dataset at ``hp='12'`` the ledger derives
it as the 200-epoch time x 12/200 (training time per epoch is fixed for a given network and
dataset, and the cifar10-valid columns obey this ratio exactly for all 15,625 archs). The
official simulation also adds the evaluation time, which these tables do not hold: time here
is training time only. A source without any train time (the embedded analog-nasbench one)
works with query budgets, and a time budget on it raises ``ValueError``.

Baselines, each ``method(ledger, seed, ...) -> SearchOutcome`` and running until the ledger
refuses a look-up (or the space is exhausted): :func:`random_search`,
:func:`regularized_evolution`, :func:`reinforce`, :func:`bohb`, and two predictor-guided
searches, :func:`predictor_random_search` and :func:`predictor_evolution`, which accept any
predictor with ``fit(archs, y)`` / ``predict(archs)`` (archs = (N, 6) op codes, higher
prediction = better). :func:`paper_protocol` runs the NAS-Bench-201 paper's protocol.

References: X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020 (protocol and baselines);
E. Real et al., "Regularized Evolution for Image Classifier Architecture Search", AAAI 2019;
R. J. Williams, "Simple statistical gradient-following algorithms", Machine Learning 1992;
S. Falkner, A. Klein and F. Hutter, "BOHB", ICML 2018.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np
import pandas as pd

from . import spaces

#: For each reported dataset, the (dataset, metric) a search is driven by (NB201 convention).
SEARCH_LABELS: dict[str, tuple[str, str]] = {
    "cifar10": ("cifar10-valid", "valid-accuracy"),
    "cifar10-valid": ("cifar10-valid", "valid-accuracy"),
    "cifar100": ("cifar100", "valid-accuracy"),
    "ImageNet16-120": ("ImageNet16-120", "valid-accuracy"),
}

#: Simulated time budget (s) of the NAS-Bench-201 paper's search protocol.
PAPER_TIME_BUDGET = 12000.0

#: Mean test accuracy (%) of the final choice under the NB201 paper protocol, as reported in
#: the NAS-Bench-201 paper (Dong & Yang, ICLR 2020, Table 5): as reported, unverified.
PAPER_PROTOCOL_REPORTED: dict[str, dict[str, float]] = {
    "rea": {"cifar10": 93.92, "cifar100": 71.84, "ImageNet16-120": 45.54},
    "random": {"cifar10": 93.70, "cifar100": 71.04, "ImageNet16-120": 44.57},
    "reinforce": {"cifar10": 93.85, "cifar100": 71.71, "ImageNet16-120": 45.24},
    "bohb": {"cifar10": 93.61, "cifar100": 70.85, "ImageNet16-120": 44.42},
}
REPORTED_LABEL = "as reported, unverified"


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

        self.space = getattr(bench, "space", "nb201")
        if self.space == "nb201":
            codes = np.asarray(bench.op_codes)
            if codes.ndim != 2 or codes.shape[1] != spaces.NUM_EDGES:
                raise ValueError(f"bench.op_codes must be (N, {spaces.NUM_EDGES}), got "
                                 f"{codes.shape}")
            self._archs = codes.astype(np.int64)
            self._arch_of_space = np.full(spaces.NUM_ARCHS, -1, dtype=np.int64)
            self._arch_of_space[self._archs @ _POWERS] = np.arange(len(codes))
            self.op_choices: tuple[tuple[int, ...], ...] = tuple(
                tuple(int(c) for c in np.unique(self._archs[:, e]))
                for e in range(spaces.NUM_EDGES))
            self._names: list[str] | None = None
        else:
            archs = np.asarray(bench.archs)
            if archs.ndim != 2 or archs.dtype.kind not in "iu":
                raise ValueError(f"bench.archs must be an (N, D) int array, got {archs.shape} "
                                 f"{archs.dtype}")
            self._archs = archs.astype(np.int64)
            self._row_index = {row.tobytes(): i for i, row in enumerate(self._archs)}
            self.op_choices = ()
            self._names = list(bench.arch_names)
        self._archs.setflags(write=False)

        self._known: dict[tuple[int, str], float] = {}
        self.trajectory: list[Step] = []
        self.num_queries = 0
        self.time_used = 0.0
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
        """(N, 6) op codes of every arch (read-only); row i = arch index i. NB201 only."""
        self._require_nb201("op_codes")
        return self._archs

    def _require_nb201(self, what: str) -> None:
        if self.space != "nb201":
            raise ValueError(f"{what} needs NAS-Bench-201 op codes, but this ledger holds "
                             f"{self.space!r} archs; use ledger.archs, and a method that "
                             "samples from the benchmark's cells (random search, "
                             "predictor-guided random search, the tier sampler)")

    @property
    def label_spec(self) -> str:
        return f"{self.label_dataset} {self.label_metric} (hp={self.label_hp})"

    def index_of(self, op_codes: np.ndarray | Sequence[int]) -> np.ndarray | int:
        """Arch index of one op-code row (int) or of each row of an (M, 6) array; -1 where the
        benchmark lacks the cell. Other spaces: rows of :attr:`archs`' form."""
        if self.space != "nb201":
            rows = np.asarray(op_codes, dtype=np.int64)
            flat = rows.reshape(-1, self._archs.shape[1])
            found = np.array([self._row_index.get(r.tobytes(), -1) for r in flat],
                             dtype=np.int64)
            return int(found[0]) if rows.ndim == 1 else found
        codes = np.asarray(op_codes, dtype=np.int64)
        if codes.shape[-1] != spaces.NUM_EDGES or codes.min(initial=0) < 0 or \
                codes.max(initial=0) >= spaces.NUM_OPS:
            raise ValueError(f"op codes must be (..., {spaces.NUM_EDGES}) ints in "
                             f"0..{spaces.NUM_OPS - 1}, got shape {codes.shape}")
        out = self._arch_of_space[codes @ _POWERS]
        return int(out) if out.ndim == 0 else out

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
        if self.max_queries is not None and self.num_queries + 1 > self.max_queries:
            self._exhaust("query budget")
        times = self._times[hp]
        cost = float(times[index]) if times is not None else math.nan
        if self.max_time is not None and self.time_used + cost > self.max_time:
            self._exhaust("time budget")
        label = float(self._labels[hp][index])
        self._known[key] = label
        self.num_queries += 1
        self.time_used += cost
        if hp == self.label_hp and label > self._best_label:
            self._best_index, self._best_label = index, label
        self.trajectory.append(Step(len(self.trajectory), index, hp, kind, label,
                                    self.num_queries, self.time_used, self._best_index,
                                    self._best_label if self._best_index >= 0 else math.nan))
        return label

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
        arch_str = (spaces.format_arch_str(self._archs[index]) if self._names is None
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


_POWERS = spaces.NUM_OPS ** np.arange(spaces.NUM_EDGES - 1, -1, -1, dtype=np.int64)


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


# == search outcomes and shared helpers =====================================================
@dataclass
class SearchOutcome:
    """What a search method returns: why it stopped and the ledger's final choice."""

    method: str
    stop_reason: str  # 'query budget', 'time budget', 'space exhausted', 'converged', ...
    best_index: int
    best_label: float
    num_queries: int
    time_used: float
    info: dict[str, Any] = field(default_factory=dict)


def _outcome(method: str, ledger: Ledger, reason: str, **info: Any) -> SearchOutcome:
    try:
        index, label = ledger.best(), ledger.best_label()
    except RuntimeError:
        index, label = -1, math.nan
    return SearchOutcome(method, reason, index, label, ledger.num_queries, ledger.time_used,
                         info)


def make_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """A NumPy generator from an int seed (or the generator itself)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


class _SpaceExhausted(Exception):
    """Every arch of the space has been bought."""


def _random_unknown(ledger: Ledger, rng: np.random.Generator, count: int,
                    hp: str | None = None, exclude: Iterable[int] = ()) -> np.ndarray:
    """Up to ``count`` distinct arch indices whose label at ``hp`` is not bought yet, drawn
    uniformly (raises _SpaceExhausted when none is left)."""
    blocked = set(int(i) for i in exclude)
    hp = ledger._check_hp(hp)
    # Rejection first (cheap while most of the space is unknown), then an exact draw.
    draws = rng.integers(ledger.num_archs, size=4 * count + 16)
    picked: list[int] = []
    for i in draws:
        i = int(i)
        if i not in blocked and not ledger.is_known(i, hp):
            blocked.add(i)
            picked.append(i)
            if len(picked) == count:
                return np.array(picked, dtype=np.int64)
    pool = np.array([i for i in range(ledger.num_archs)
                     if i not in blocked and not ledger.is_known(i, hp)], dtype=np.int64)
    if len(pool) == 0 and not picked:
        raise _SpaceExhausted()
    extra = rng.permutation(pool)[:count - len(picked)]
    return np.concatenate([np.array(picked, dtype=np.int64), extra])


def mutate(ledger: Ledger, op_code: np.ndarray, rng: np.random.Generator) -> int:
    """Arch index of a one-edge mutant of ``op_code``: one edge (among those with a choice)
    changes its op uniformly to another op; -1 if the benchmark lacks that cell."""
    ledger._require_nb201("mutate")
    edges = [e for e in range(spaces.NUM_EDGES) if len(ledger.op_choices[e]) > 1]
    if not edges:
        return -1
    edge = edges[int(rng.integers(len(edges)))]
    others = [c for c in ledger.op_choices[edge] if c != op_code[edge]]
    child = np.array(op_code, dtype=np.int64)
    child[edge] = others[int(rng.integers(len(others)))]
    return ledger.index_of(child)


def _top_by_score(indices: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` indices with the highest scores (stable: earlier wins ties)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return np.asarray(indices)[order[:k]]


# == baselines ==============================================================================
def random_search(ledger: Ledger, seed: int | np.random.Generator) -> SearchOutcome:
    """Random search: query archs uniformly without replacement until the budget ends."""
    rng = make_rng(seed)
    reason = "space exhausted"
    try:
        for index in rng.permutation(ledger.num_archs):
            ledger.query(int(index))
    except BudgetExhausted as exc:
        reason = exc.reason
    return _outcome("random", ledger, reason)


def regularized_evolution(ledger: Ledger, seed: int | np.random.Generator,
                          population_size: int = 10, sample_size: int = 3,
                          max_retries: int = 100) -> SearchOutcome:
    """Regularized (aging) evolution (Real et al. 2019) as set up in NAS-Bench-201.

    Population of ``population_size`` random archs; each cycle draws ``sample_size`` members
    (without replacement), mutates the one with the best label (one edge to another op),
    queries the child, adds it and removes the oldest member. A repeat query is free under
    the ledger, so a child whose label is already bought would let the population cycle
    without spending budget: the mutation is redrawn (new tournament) up to ``max_retries``
    times, then a random unqueried arch is used.
    """
    if population_size < 1 or not 1 <= sample_size <= population_size:
        raise ValueError(f"need population_size >= 1 and 1 <= sample_size <= population_size, "
                         f"got {population_size}, {sample_size}")
    rng = make_rng(seed)
    population: deque[tuple[int, float]] = deque()
    reason = "space exhausted"
    try:
        for index in _random_unknown(ledger, rng, population_size):
            population.append((int(index), ledger.query(int(index))))
        while True:
            child = -1
            for _ in range(max_retries):
                picks = rng.choice(len(population), size=min(sample_size, len(population)),
                                   replace=False)
                parent = population[int(picks[np.argmax([population[p][1] for p in picks])])]
                candidate = mutate(ledger, ledger.op_codes[parent[0]], rng)
                if candidate >= 0 and not ledger.is_known(candidate):
                    child = candidate
                    break
            if child < 0:
                child = int(_random_unknown(ledger, rng, 1)[0])
            population.append((child, ledger.query(child)))
            population.popleft()
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome("rea", ledger, reason)


def reinforce(ledger: Ledger, seed: int | np.random.Generator, lr: float = 0.5,
              ema_momentum: float = 0.9, init_scale: float = 1e-3,
              betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
              max_repeats: int = 500) -> SearchOutcome:
    """REINFORCE with a factorised policy: 6 x 5 logits, one categorical per edge.

    Our reading of the NB201 settings: the reward is the ledger's label (in %), the baseline
    is an exponential moving average of rewards with momentum ``ema_momentum`` = 0.9
    (bias-corrected: numerator and denominator both averaged, as in the NB201 code), and the
    logits take Adam steps (betas 0.9/0.999) of learning rate ``lr`` = 0.5 on
    ``-log pi(arch) * (reward - baseline)``, one sampled arch per step; logits start at
    ``init_scale`` x N(0, 1). (The public NB201 search script passes a far smaller rate,
    0.001, under which the policy barely moves within the budget.)
    The final choice is the ledger's best label, not the policy's argmax.

    A sampled arch whose label is bought costs nothing, so once the policy has collapsed it
    would sample free repeats forever: after ``max_repeats`` repeats in a row the search stops
    with reason 'converged' and leaves the rest of the budget unspent.
    """
    ledger._require_nb201("REINFORCE")
    rng = make_rng(seed)
    mask = np.zeros((spaces.NUM_EDGES, spaces.NUM_OPS), dtype=bool)
    for e, choices in enumerate(ledger.op_choices):
        mask[e, list(choices)] = True
    logits = np.where(mask, init_scale * rng.standard_normal(mask.shape), -np.inf)
    first_moment, second_moment = np.zeros(mask.shape), np.zeros(mask.shape)
    ema_num = ema_den = 0.0
    steps = repeats = 0
    reason = "converged"
    try:
        while repeats < max_repeats:
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            cdf = np.cumsum(probs, axis=1)
            u = rng.random(spaces.NUM_EDGES)[:, None]
            actions = np.minimum((u >= cdf).sum(axis=1), spaces.NUM_OPS - 1)
            index = ledger.index_of(actions)
            if index < 0:  # a cell the benchmark lacks: no reward, draw again
                repeats += 1
                continue
            repeats = repeats + 1 if ledger.is_known(index) else 0
            reward = ledger.query(index)
            steps += 1
            ema_num = ema_momentum * ema_num + (1 - ema_momentum) * reward
            ema_den = ema_momentum * ema_den + (1 - ema_momentum)
            advantage = reward - ema_num / ema_den
            onehot = np.zeros(mask.shape)
            onehot[np.arange(spaces.NUM_EDGES), actions] = 1.0
            grad = np.where(mask, -(onehot - probs) * advantage, 0.0)  # d loss / d logits
            first_moment = betas[0] * first_moment + (1 - betas[0]) * grad
            second_moment = betas[1] * second_moment + (1 - betas[1]) * grad**2
            m_hat = first_moment / (1 - betas[0] ** steps)
            v_hat = second_moment / (1 - betas[1] ** steps)
            logits = np.where(mask, logits - lr * m_hat / (np.sqrt(v_hat) + eps), -np.inf)
    except BudgetExhausted as exc:
        reason = exc.reason
    greedy = ledger.index_of(np.argmax(logits, axis=1))
    return _outcome("reinforce", ledger, reason, steps=steps, policy_argmax=greedy)


def _aitchison_aitken(candidates: np.ndarray, data: np.ndarray, bandwidth: float,
                      num_choices: np.ndarray) -> np.ndarray:
    """Product categorical-kernel density of each candidate row under ``data`` rows: per edge
    the kernel keeps 1 - bandwidth on the same op and spreads bandwidth over the others."""
    same = candidates[:, None, :] == data[None, :, :]
    other = bandwidth / np.maximum(num_choices - 1, 1)
    per_edge = np.where(same, 1.0 - bandwidth, other[None, None, :])
    return per_edge.prod(axis=2).mean(axis=1)


def bohb(ledger: Ledger, seed: int | np.random.Generator, eta: int = 3,
         num_samples: int = 64, random_fraction: float = 1 / 3, top_fraction: float = 0.15,
         bandwidth: float = 0.2, bandwidth_factor: float = 2.0,
         min_points: int | None = None) -> SearchOutcome:
    """A compact BOHB: Hyperband brackets over the ledger's fidelities with a TPE-style
    density model (Falkner et al. 2018).

    Fidelities are the ledger's schedules, lowest first (``ledger.fidelities``, e.g.
    ('12', '200'): the 12-epoch validation accuracy as low fidelity, the 200-epoch one as
    high), each look-up charged by the ledger (one query and that schedule's training time).
    The original BOHB runs on NB201 used epochs 1..12 of the 12-epoch schedule as budgets;
    the tables hold no per-epoch accuracies, so with a single fidelity (the paper protocol's
    12-epoch label) the brackets hold one arch each and BOHB reduces to its model-based part.

    Brackets follow Hyperband with ``eta``: with s_max = #fidelities - 1, bracket s starts
    ceil((s_max + 1) / (s + 1) * eta**s) new archs at fidelity s_max - s and promotes the best
    1/eta to each next fidelity. Each new arch is drawn uniformly with probability
    ``random_fraction`` (or while no model exists); otherwise from the model built on the
    highest fidelity holding at least ``min_points + 2`` labels (default min_points = 7 =
    edges + 1): the best ``top_fraction`` (at least min_points) form the "good" set and the
    rest (at least min_points) the "bad" set; each is a product of per-edge categorical
    (Aitchison-Aitken) kernels, i.e. a KDE over the one-hot encoding, with fixed ``bandwidth``;
    ``num_samples`` candidates are drawn from the good density widened by
    ``bandwidth_factor`` and the unbought one maximising good/bad density is taken.
    """
    if eta < 2:
        raise ValueError(f"eta must be >= 2, got {eta}")
    if not 0 < bandwidth < 1:
        raise ValueError(f"bandwidth must lie in (0, 1), got {bandwidth}")
    rng = make_rng(seed)
    rungs = ledger.fidelities
    s_max = len(rungs) - 1
    min_points = spaces.NUM_EDGES + 1 if min_points is None else int(min_points)
    num_choices = np.array([len(c) for c in ledger.op_choices], dtype=float)
    sample_bw = np.minimum(bandwidth * bandwidth_factor, (num_choices - 1) / num_choices)

    def model_proposal(rung: str, exclude: set[int]) -> int:
        for hp in reversed(rungs):
            index, labels = ledger.known(hp)
            if len(index) >= min_points + 2:
                break
        else:
            return -1
        order = np.argsort(-labels, kind="stable")
        n_good = max(min_points, int(math.ceil(top_fraction * len(index))))
        n_bad = max(min_points, len(index) - n_good)
        good = ledger.op_codes[index[order[:n_good]]]
        bad = ledger.op_codes[index[order[-n_bad:]]]
        centres = good[rng.integers(len(good), size=num_samples)]
        jump = rng.random(centres.shape) < sample_bw[None, :]
        samples = centres.copy()
        for e in range(spaces.NUM_EDGES):
            choices = np.array(ledger.op_choices[e])
            for row in np.flatnonzero(jump[:, e]):
                others = choices[choices != centres[row, e]]
                if len(others):
                    samples[row, e] = others[int(rng.integers(len(others)))]
        ratio = _aitchison_aitken(samples, good, bandwidth, num_choices) / np.maximum(
            _aitchison_aitken(samples, bad, bandwidth, num_choices), 1e-300)
        archs = ledger.index_of(samples)
        for k in np.argsort(-ratio, kind="stable"):
            a = int(archs[k])
            if a >= 0 and a not in exclude and not ledger.is_known(a, rung):
                return a
        return -1

    reason = "space exhausted"
    brackets = 0
    try:
        while True:
            for s in range(s_max, -1, -1):
                num_new = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
                start = s_max - s
                members: list[int] = []
                labels: list[float] = []
                for _ in range(num_new):
                    arch = -1
                    if rng.random() >= random_fraction:
                        arch = model_proposal(rungs[start], set(members))
                    if arch < 0:
                        arch = int(_random_unknown(ledger, rng, 1, rungs[start], members)[0])
                    members.append(arch)
                    labels.append(ledger.query(arch, rungs[start]))
                for i in range(1, s + 1):
                    keep = max(1, int(num_new * eta ** (-i)))
                    members = [int(a) for a in _top_by_score(np.array(members), np.array(labels),
                                                             keep)]
                    labels = [ledger.query(a, rungs[start + i]) for a in members]
                brackets += 1
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome("bohb", ledger, reason, brackets=brackets)


# == predictor-guided search ================================================================
class Predictor(Protocol):
    """The shared predictor contract: archs are (N, 6) op-code int arrays; higher = better."""

    def fit(self, archs: np.ndarray, y: np.ndarray) -> Any: ...

    def predict(self, archs: np.ndarray) -> np.ndarray: ...


def _fit_on_bought(ledger: Ledger, predictor: Predictor) -> None:
    index, labels = ledger.known()
    predictor.fit(ledger.archs[index], labels)


def predictor_random_search(ledger: Ledger, predictor: Predictor,
                            seed: int | np.random.Generator, num_initial: int = 20,
                            pool_size: int = 1000, top_k: int = 10) -> SearchOutcome:
    """Predictor-guided random search: buy ``num_initial`` random labels (charge_labels),
    then repeat: fit the predictor on every label bought so far, score a pool of
    ``pool_size`` random unbought archs, query the ``top_k`` best-scored."""
    rng = make_rng(seed)
    reason, rounds = "space exhausted", 0
    try:
        ledger.charge_labels(_random_unknown(ledger, rng, num_initial))
        while True:
            _fit_on_bought(ledger, predictor)
            pool = _random_unknown(ledger, rng, pool_size)
            scores = predictor.predict(ledger.archs[pool])
            for index in _top_by_score(pool, scores, top_k):
                ledger.query(int(index))
            rounds += 1
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome("predictor-random", ledger, reason, rounds=rounds)


def predictor_evolution(ledger: Ledger, predictor: Predictor,
                        seed: int | np.random.Generator, num_initial: int = 20,
                        population_size: int = 10, sample_size: int = 3,
                        num_mutants: int = 100, top_k: int = 10) -> SearchOutcome:
    """Predictor-guided regularized evolution: buy ``num_initial`` random labels
    (charge_labels), then repeat: fit the predictor on every label bought, make up to
    ``num_mutants`` distinct unbought mutants (each from its own tournament of
    ``sample_size``), query the ``top_k`` best-predicted; each queried child joins the
    population as its oldest member leaves (the children of a round in increasing label
    order, so the best of a large round survive; the initial labels form the first
    population by the same rule)."""
    if num_initial < population_size:
        raise ValueError(f"num_initial ({num_initial}) must be >= population_size "
                         f"({population_size})")
    rng = make_rng(seed)
    reason, rounds = "space exhausted", 0
    try:
        initial = _random_unknown(ledger, rng, num_initial)
        labels = ledger.charge_labels(initial)
        born = sorted(zip(initial.tolist(), labels.tolist()), key=lambda c: c[1])
        population = deque(born[-population_size:])
        while True:
            _fit_on_bought(ledger, predictor)
            mutants: list[int] = []
            for _ in range(num_mutants):
                picks = rng.choice(len(population), size=min(sample_size, len(population)),
                                   replace=False)
                parent = population[int(picks[np.argmax([population[p][1] for p in picks])])]
                child = mutate(ledger, ledger.op_codes[parent[0]], rng)
                if child >= 0 and child not in mutants and not ledger.is_known(child):
                    mutants.append(child)
            if not mutants:
                mutants = _random_unknown(ledger, rng, top_k).tolist()
            scores = predictor.predict(ledger.op_codes[np.array(mutants)])
            children = [(int(index), ledger.query(int(index)))
                        for index in _top_by_score(np.array(mutants), scores, top_k)]
            # Children of one round are born together: they join in increasing label order,
            # so that when a round outnumbers the population the best of it survive.
            for child in sorted(children, key=lambda c: c[1]):
                population.append(child)
                population.popleft()
            rounds += 1
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome("predictor-evolution", ledger, reason, rounds=rounds)


#: Baselines by name: ``SEARCHERS[name](ledger, seed, **kwargs) -> SearchOutcome``.
SEARCHERS: dict[str, Callable[..., SearchOutcome]] = {
    "random": random_search,
    "rea": regularized_evolution,
    "reinforce": reinforce,
    "bohb": bohb,
}


def run_search(method: str, ledger: Ledger, seed: int | np.random.Generator,
               **kwargs: Any) -> SearchOutcome:
    """Run the baseline ``method`` (a key of :data:`SEARCHERS`) under ``ledger``."""
    if method not in SEARCHERS:
        raise ValueError(f"unknown search method {method!r}; valid: {', '.join(SEARCHERS)} "
                         "(predictor-guided searches are called directly)")
    return SEARCHERS[method](ledger, seed, **kwargs)


# == the NAS-Bench-201 paper protocol =======================================================
def paper_protocol(bench: BenchmarkLike, dataset: str, method: str,
                   seed: int | np.random.Generator, time_budget: float = PAPER_TIME_BUDGET,
                   **kwargs: Any) -> dict[str, Any]:
    """One run of the NB201 paper protocol: search with the 12-epoch validation accuracy
    (of the :data:`SEARCH_LABELS` dataset) as label under a simulated ``time_budget`` of
    training seconds, then report the 200-epoch test accuracy of the final choice on
    ``dataset``. Returns :meth:`Ledger.report` plus the method, stop reason and the value
    reported in the paper (:data:`PAPER_PROTOCOL_REPORTED`, unverified)."""
    if dataset not in ("cifar10", "cifar100", "ImageNet16-120"):
        raise ValueError(f"paper protocol datasets are 'cifar10', 'cifar100', "
                         f"'ImageNet16-120'; got {dataset!r}")
    ledger = ledger_for(bench, dataset, hp="12", max_time=time_budget)
    outcome = run_search(method, ledger, seed, **kwargs)
    report = ledger.report(dataset, "test-accuracy", "200")
    report.update(method=method, seed=seed if isinstance(seed, (int, np.integer)) else None,
                  stop_reason=outcome.stop_reason, time_source=ledger.time_sources["12"],
                  reported=PAPER_PROTOCOL_REPORTED.get(method, {}).get(dataset, math.nan),
                  reported_note=REPORTED_LABEL)
    return report
