"""Multi-fidelity search: schedulers over a ledger's fidelities, and searchers that stop
unpromising training early.

:func:`hyperband_brackets` is the scheduler: which rung each bracket starts at, how many
cells it starts with and how many survive each successive-halving step. It knows nothing of
how candidates are proposed, so :func:`successive_halving`, :func:`hyperband` (random
proposals) and :func:`bohb` (a density model) share it through one bracket loop. Rungs are
fidelities of the ledger, lowest first, ending at its label: the schedules of a
:class:`~nar_utils.search.ledger.Ledger` ('12', '200') or, on a
:class:`~nar_utils.search.curve_ledger.CurveLedger`, a few epochs of the curve
(:func:`geometric_rungs`, e.g. 7, 22, 66, 200), where promoting a cell pays only the epochs
it has not trained yet.

:func:`lce_random_search` and :func:`lce_regularized_evolution` are NAS-Bench-x11's
learning-curve framework: each new cell is trained to a low fidelity, its final value is
predicted from that prefix (a parametric curve ensemble, 'lce', or an SVR trained on the
cells trained fully so far, 'svr'), and it is trained fully only if the prediction beats the
worst of the top fraction of fully trained cells.

References: L. Li et al., "Hyperband", JMLR 2018; S. Falkner, A. Klein and F. Hutter,
"BOHB", ICML 2018; K. Jamieson and A. Talwalkar, "Non-stochastic best arm identification and
hyperparameter optimization", AISTATS 2016 (successive halving); S. Yan et al.,
"NAS-Bench-x11 and the Power of Learning Curves", NeurIPS 2021 (the LCE framework).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from nar_utils.search.blackbox import (
    SearchOutcome,
    _outcome,
    _random_unknown,
    _SpaceExhausted,
    _top_by_score,
    make_rng,
    mutate,
)
from nar_utils.search.ledger import BudgetExhausted, Ledger


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: start ``sizes[0]`` cells at rung ``start`` (index into the
    fidelities, lowest first) and keep ``sizes[i]`` of them at rung ``start + i``."""

    s: int
    start: int
    sizes: tuple[int, ...]


def hyperband_brackets(num_rungs: int, eta: int = 3) -> list[Bracket]:
    """One Hyperband round over ``num_rungs`` fidelities: the most exploratory bracket
    first (all rungs, ``ceil(num_rungs / (s + 1) * eta**s)`` cells), the last one starting
    at the highest rung. Successive halving keeps ``max(1, int(n * eta**-i))`` at step i."""
    if eta < 2:
        raise ValueError(f"eta must be >= 2, got {eta}")
    if num_rungs < 1:
        raise ValueError(f"num_rungs must be >= 1, got {num_rungs}")
    s_max = num_rungs - 1
    brackets = []
    for s in range(s_max, -1, -1):
        num_new = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        sizes = (num_new, *(max(1, int(num_new * eta ** (-i))) for i in range(1, s + 1)))
        brackets.append(Bracket(s, s_max - s, sizes))
    return brackets


def geometric_rungs(max_epoch: int, eta: int = 3, num_rungs: int = 4,
                    min_epoch: int = 1) -> tuple[int, ...]:
    """Epochs ``max_epoch / eta**k`` for k = num_rungs-1 .. 0, rounded, at least
    ``min_epoch`` and distinct: the rungs of Hyperband over a curve (200 epochs, eta 3, 4
    rungs: 7, 22, 67, 200)."""
    if max_epoch < 1 or num_rungs < 1 or eta < 2:
        raise ValueError(f"need max_epoch >= 1, num_rungs >= 1 and eta >= 2, got {max_epoch}, "
                         f"{num_rungs}, {eta}")
    epochs = {max(min_epoch, int(round(max_epoch / eta**k))) for k in range(num_rungs)}
    return tuple(sorted(e for e in epochs if e <= max_epoch))


def _check_rungs(ledger: Ledger, rungs: Sequence[int | str] | None) -> tuple[str, ...]:
    """The rungs as ledger hps: given ones must be fidelities of the ledger, increasing and
    ending at its label (the search chooses by the label)."""
    if rungs is None:
        return tuple(ledger.fidelities)
    hps = tuple(ledger._check_hp(str(r)) for r in rungs)
    order = [ledger.fidelities.index(h) for h in hps]
    if not hps or order != sorted(set(order)) or hps[-1] != ledger.label_hp:
        raise ValueError(f"rungs must be increasing fidelities of the ledger ending at its "
                         f"label hp {ledger.label_hp!r}, got {list(rungs)}")
    return hps


def _run_brackets(ledger: Ledger, rng: np.random.Generator, rungs: tuple[str, ...],
                  schedule: list[Bracket], propose: Callable[[str, list[int]], int],
                  progress: dict[str, int]) -> None:
    """Run the brackets of ``schedule`` round after round until the ledger refuses a look-up
    (BudgetExhausted and _SpaceExhausted propagate); ``propose(rung, members)`` gives a new
    cell for a bracket (-1: draw one at random); ``progress['brackets']`` counts the brackets
    finished."""
    while True:
        for bracket in schedule:
            start = bracket.start
            members: list[int] = []
            labels: list[float] = []
            for _ in range(bracket.sizes[0]):
                arch = propose(rungs[start], members)
                if arch < 0:
                    arch = int(_random_unknown(ledger, rng, 1, rungs[start], members)[0])
                members.append(arch)
                labels.append(ledger.query(arch, rungs[start]))
            for i, keep in enumerate(bracket.sizes[1:], start=1):
                members = [int(a) for a in _top_by_score(np.array(members), np.array(labels),
                                                         keep)]
                labels = [ledger.query(a, rungs[start + i]) for a in members]
            progress["brackets"] += 1


def successive_halving(ledger: Ledger, seed: int | np.random.Generator, eta: int = 3,
                       rungs: Sequence[int | str] | None = None) -> SearchOutcome:
    """Successive halving, repeated: each bracket starts ``eta**(R-1)`` random cells at the
    lowest of R rungs and keeps the best 1/eta at each next rung, up to the label; brackets
    follow each other until the budget ends (the most exploratory Hyperband bracket alone)."""
    rng = make_rng(seed)
    rungs = _check_rungs(ledger, rungs)
    schedule = hyperband_brackets(len(rungs), eta)[:1]
    return _scheduled("successive-halving", ledger, rng, rungs, schedule,
                      lambda rung, members: -1)


def hyperband(ledger: Ledger, seed: int | np.random.Generator, eta: int = 3,
              rungs: Sequence[int | str] | None = None) -> SearchOutcome:
    """Hyperband with random proposals: round after round of all its brackets, from the
    most exploratory (every rung) to the one that trains its cells at the label alone."""
    rng = make_rng(seed)
    rungs = _check_rungs(ledger, rungs)
    return _scheduled("hyperband", ledger, rng, rungs, hyperband_brackets(len(rungs), eta),
                      lambda rung, members: -1)


def _scheduled(name: str, ledger: Ledger, rng: np.random.Generator, rungs: tuple[str, ...],
               schedule: list[Bracket], propose: Callable[[str, list[int]], int]
               ) -> SearchOutcome:
    reason, progress = "space exhausted", {"brackets": 0}
    try:
        _run_brackets(ledger, rng, rungs, schedule, propose, progress)
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome(name, ledger, reason, rungs=list(rungs), brackets=progress["brackets"])


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
         min_points: int | None = None, rungs: Sequence[int | str] | None = None
         ) -> SearchOutcome:
    """A compact BOHB: Hyperband brackets over the ledger's fidelities with a TPE-style
    density model (Falkner et al. 2018).

    Fidelities are ``rungs`` (default: the ledger's schedules), lowest first (e.g.
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
    rungs = _check_rungs(ledger, rungs)
    schedule = hyperband_brackets(len(rungs), eta)
    ledger.require_op_choices("BOHB")
    num_edges = len(ledger.op_choices)
    min_points = num_edges + 1 if min_points is None else int(min_points)
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
        for e in range(num_edges):
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

    def propose(rung: str, members: list[int]) -> int:
        if rng.random() >= random_fraction:
            return model_proposal(rung, set(members))
        return -1

    return _scheduled("bohb", ledger, rng, rungs, schedule, propose)




# == NAS-Bench-x11's learning-curve framework ===============================================
EXTRAPOLATORS = ("lce", "svr")


class _EarlyStopper:
    """Train a cell to the low fidelity, predict its value at ``target`` epochs, and train
    it fully only if the prediction beats the worst of the top ``top_fraction`` of the cells
    trained fully so far (their value at ``target``)."""

    def __init__(self, ledger: Any, extrapolator: str, single_fidelity: int,
                 target_epoch: int | None, top_fraction: float, seed: int,
                 min_train: int) -> None:
        if not hasattr(ledger, "observed"):
            raise ValueError("learning-curve searchers need a ledger over curves "
                             "(nar_utils.search.curve_ledger.CurveLedger); this one holds "
                             f"schedules {ledger.fidelities} only")
        if extrapolator not in EXTRAPOLATORS:
            raise ValueError(f"unknown extrapolator {extrapolator!r}; valid: "
                             f"{', '.join(EXTRAPOLATORS)}")
        if not 0 < top_fraction <= 1:
            raise ValueError(f"top_fraction must lie in (0, 1], got {top_fraction}")
        epochs = [int(e) for e in ledger.epochs]
        target = epochs[-1] if target_epoch is None else int(target_epoch)
        if single_fidelity not in epochs or target not in epochs \
                or not single_fidelity < target:
            raise ValueError(f"single_fidelity ({single_fidelity}) and target_epoch ({target}) "
                             f"must be epochs of the ledger with single_fidelity < target; "
                             f"epochs: {epochs[0]}..{epochs[-1]}")
        # The low-fidelity prefix: one run shows every epoch up to it; separate schedules are
        # each bought (and charged) up to it.
        self.prefix = [e for e in epochs if e <= single_fidelity] if not ledger.one_run \
            else [single_fidelity]
        num_points = single_fidelity if ledger.one_run else len(self.prefix)
        if num_points < 3:
            raise ValueError(f"a prefix of {num_points} point(s) up to epoch {single_fidelity} "
                             "is too short to extrapolate (3 at least): raise single_fidelity")
        self.ledger, self.extrapolator, self.target = ledger, extrapolator, target
        self.top_fraction, self.seed, self.min_train = top_fraction, seed, min_train
        self.prefixes: list[np.ndarray] = []
        self.targets: list[float] = []
        self._model: Any = None
        self._tuned: dict[str, Any] | None = None
        self._tuned_at = 0
        self.promoted = self.stopped = 0

    def _low(self, arch: int) -> tuple[np.ndarray, np.ndarray]:
        for epoch in self.prefix:
            self.ledger.query(arch, str(epoch))
        epochs, values = self.ledger.observed(arch)
        keep = epochs <= self.prefix[-1]
        return epochs[keep], values[keep]

    def train_fully(self, arch: int) -> float:
        """Train ``arch`` to the label and learn from its curve; returns the label."""
        self._low(arch)
        label = self.ledger.query(arch)
        epochs, values = self.ledger.observed(arch)
        prefix = values[epochs <= self.prefix[-1]]
        self.prefixes.append(prefix)
        self.targets.append(float(values[np.flatnonzero(epochs == self.target)[0]]))
        self._model = None
        return label

    def _predict(self, epochs: np.ndarray, values: np.ndarray) -> float:
        if self.extrapolator == "lce":
            from nar_utils.predictors.lce import extrapolate

            # One start per family: on the NB201 curves more starts change no prediction.
            return float(extrapolate(epochs, values, [self.target], n_starts=1).mean[0])
        from nar_utils.predictors.lce import LcSVR

        if self._model is None:
            # Hyperparameters are tuned by cross-validation when the training set has doubled
            # since the last tuning, and kept in between (x11 tunes at every refit).
            prefixes, targets = np.vstack(self.prefixes), np.array(self.targets)
            if len(targets) < 10:  # too few for 5-fold tuning: the SVR's defaults
                self._model = LcSVR(len(values), seed=self.seed, tune=False).fit(prefixes,
                                                                                 targets)
            elif self._tuned is None or len(targets) >= 2 * self._tuned_at:
                self._model = LcSVR(len(values), seed=self.seed).fit(prefixes, targets)
                self._tuned, self._tuned_at = self._model.best_params_, len(targets)
            else:
                self._model = LcSVR(len(values), seed=self.seed, tune=False,
                                    **self._tuned).fit(prefixes, targets)
        return float(self._model.predict(values[None, :])[0])

    def evaluate(self, arch: int) -> float | None:
        """Train ``arch`` to the low fidelity, then fully if its prediction is promising;
        the label when trained fully, else None."""
        if len(self.targets) < self.min_train:
            return self.train_fully(arch)
        epochs, values = self._low(arch)
        prediction = self._predict(epochs, values)
        ranked = np.sort(np.array(self.targets))
        threshold = ranked[-max(1, int(math.ceil(self.top_fraction * len(ranked))))]
        if np.isfinite(prediction) and prediction > threshold:
            self.promoted += 1
            return self.train_fully(arch)
        self.stopped += 1
        return None

    def info(self) -> dict[str, Any]:
        return {"extrapolator": self.extrapolator, "single_fidelity": self.prefix[-1],
                "target_epoch": self.target, "top_fraction": self.top_fraction,
                "trained_fully": len(self.targets), "promoted": self.promoted,
                "stopped_early": self.stopped}


def lce_random_search(ledger: Any, seed: int | np.random.Generator, extrapolator: str = "lce",
                      single_fidelity: int = 20, target_epoch: int | None = None,
                      top_fraction: float = 0.5, num_init: int = 10) -> SearchOutcome:
    """Random search with early stopping by learning-curve extrapolation (x11's framework
    applied to random search): the first ``num_init`` random cells are trained fully; every
    later one is trained to ``single_fidelity`` epochs, its value at ``target_epoch``
    (default: the last epoch) predicted by ``extrapolator`` ('lce': the parametric ensemble
    of :func:`nar_utils.predictors.lce.extrapolate`; 'svr': :class:`~nar_utils.predictors.lce.
    LcSVR` trained on the fully trained cells), and it is trained fully only if that beats the
    worst of the top ``top_fraction`` of the fully trained cells (x11 on NB201: 20 epochs,
    top 50 %)."""
    rng = make_rng(seed)
    stopper = _EarlyStopper(ledger, extrapolator, single_fidelity, target_epoch, top_fraction,
                            int(rng.integers(2**31)), num_init)
    reason = "space exhausted"
    try:
        while True:
            stopper.evaluate(int(_random_unknown(ledger, rng, 1)[0]))
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome(f"random-{extrapolator}", ledger, reason, **stopper.info())


def lce_regularized_evolution(ledger: Any, seed: int | np.random.Generator,
                              extrapolator: str = "lce", single_fidelity: int = 20,
                              target_epoch: int | None = None, top_fraction: float = 0.5,
                              population_size: int = 10, sample_size: int = 3,
                              max_retries: int = 100) -> SearchOutcome:
    """Regularized evolution with x11's learning-curve early stopping: the population
    (``population_size`` random cells) is trained fully; each child of a tournament of
    ``sample_size`` is trained to ``single_fidelity``, extrapolated as in
    :func:`lce_random_search`, and joins the population (the oldest member leaving) only when
    trained fully. Children are drawn as in :func:`~nar_utils.search.regularized_evolution`
    (a cell already started is redrawn, then a random one)."""
    if population_size < 1 or not 1 <= sample_size <= population_size:
        raise ValueError(f"need population_size >= 1 and 1 <= sample_size <= population_size, "
                         f"got {population_size}, {sample_size}")
    ledger.require_op_choices("regularized evolution")
    rng = make_rng(seed)
    stopper = _EarlyStopper(ledger, extrapolator, single_fidelity, target_epoch, top_fraction,
                            int(rng.integers(2**31)), population_size)
    low = str(stopper.prefix[0])
    population: deque[tuple[int, float]] = deque()
    reason = "space exhausted"
    try:
        for index in _random_unknown(ledger, rng, population_size):
            population.append((int(index), stopper.train_fully(int(index))))
        while True:
            child = -1
            for _ in range(max_retries):
                picks = rng.choice(len(population), size=sample_size, replace=False)
                parent = population[int(picks[np.argmax([population[p][1] for p in picks])])]
                candidate = mutate(ledger, ledger.op_codes[parent[0]], rng)
                if candidate >= 0 and not ledger.is_known(candidate, low):
                    child = candidate
                    break
            if child < 0:
                child = int(_random_unknown(ledger, rng, 1, low)[0])
            label = stopper.evaluate(child)
            if label is not None:
                population.append((child, label))
                population.popleft()
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome(f"rea-{extrapolator}", ledger, reason, **stopper.info())


# == comparing searchers on learning curves =================================================
#: The spaces of :func:`curve_task`, and what each holds.
CURVE_SPACES = {
    "nb211": "all 15,625 NB201 cells: 200 real curves, the rest surrogate (real last epoch)",
    "pool": "the NB201 cells with real 200-epoch curves only (everything read is real)",
    "schedules": "NB201's 12- and 200-epoch schedules, each a separate run (all real)",
    "nb101": "the NB101 subset's 4 / 12 / 36 / 108-epoch budgets, separate runs (all real)",
}


@dataclass
class CurveTask:
    """One space to search with its curves, as :func:`curve_task` builds it."""

    name: str
    curves: Any  # nar_utils.benchmarks.curves.Curves
    bench: Any  # the benchmark the ledger reads cells, times (and test values) from
    dataset: str  # the curves' label dataset
    test: np.ndarray | None  # reported test value per curve row (None: the source has none)
    rungs: tuple[str, ...]  # Hyperband rungs (ledger hps)
    single_fidelity: int | None  # low fidelity of the learning-curve searchers (None: none)
    product_space: bool  # cells built from per-edge choices (REA, BOHB can run)

    def ledger(self, max_time: float | None = None, max_queries: int | None = None):
        from nar_utils.search.curve_ledger import CurveLedger

        return CurveLedger(self.curves, self.bench, self.dataset, max_time=max_time,
                           max_queries=max_queries)

    def mean_full_seconds(self) -> float:
        """Mean simulated time of training one cell to the last epoch."""
        per_epoch = self.ledger().seconds_per_epoch
        if per_epoch is None:
            raise ValueError(f"{self.name}: the source holds no training times")
        return float(np.mean(per_epoch)) * self.curves.num_epochs


def curve_task(name: str, bench: Any = None, data_dir: Any = None, real: Any = None,
               seed: int = 0, eta: int = 3) -> CurveTask:
    """The space ``name`` of :data:`CURVE_SPACES` from the data directory: ``bench`` is the
    NB201 table (loaded when None), ``real`` its 200-epoch curves (read when None), ``seed``
    the surrogate's noise draws (nb211)."""
    if name not in CURVE_SPACES:
        raise ValueError(f"unknown curve space {name!r}; valid: {', '.join(CURVE_SPACES)}")
    return _TASK_BUILDERS[name](name, bench, data_dir, real, seed, eta)


def _nb101_task(name, bench, data_dir, real, seed, eta) -> CurveTask:
    from nar_utils.benchmarks import curves as C
    from nar_utils.benchmarks import nb101

    view = nb101.LedgerView(nb101.load_nb101(data_dir))
    return CurveTask(name, C.nb101_schedules(bench=view.bench), view, "cifar10", None,
                     ("4", "12", "36", "108"), 36, False)


def _nb201_task(name, bench, data_dir, real, seed, eta) -> CurveTask:
    from nar_utils.benchmarks import curves as C
    from nar_utils.benchmarks import nb201, surrogate

    bench = nb201.load_benchmark(data_dir) if bench is None else bench
    if name == "schedules":
        curves, rungs, single = C.nb201_schedules(bench), ("12", "200"), None
    else:
        real = C.read_nb201_curves(data_dir) if real is None else real
        curves = surrogate.nb211(bench, real, seed=seed) if name == "nb211" else real
        rungs = tuple(str(r) for r in geometric_rungs(curves.num_epochs, eta))
        single = 20
    test = np.asarray(bench.column("cifar10", "test-accuracy", "200"))[curves.arch_index]
    return CurveTask(name, curves, bench, "cifar10-valid", test, rungs, single,
                     name != "pool")


_TASK_BUILDERS = {"nb211": _nb201_task, "pool": _nb201_task, "schedules": _nb201_task,
                  "nb101": _nb101_task}


def curve_searchers(task: CurveTask, eta: int = 3) -> dict[str, Callable[[Any, int], Any]]:
    """The searchers that run on ``task``: name -> run(ledger, seed). Random search,
    successive halving and Hyperband everywhere; REA and BOHB on NB201 spaces of per-edge
    choices; the learning-curve variants (-LCE, -SVR) where there is a low fidelity."""
    from nar_utils.search.blackbox import random_search, regularized_evolution

    rungs = task.rungs
    methods: dict[str, Callable[[Any, int], Any]] = {
        "RS": random_search,
        "SH": lambda L, s: successive_halving(L, s, eta, rungs),
        "HB": lambda L, s: hyperband(L, s, eta, rungs)}
    if task.product_space:
        methods["REA"] = regularized_evolution
        methods["BOHB"] = lambda L, s: bohb(L, s, eta, rungs=rungs)
    if task.single_fidelity is not None:
        low = task.single_fidelity
        for kind in EXTRAPOLATORS:
            methods[f"RS-{kind.upper()}"] = (
                lambda L, s, k=kind: lce_random_search(L, s, k, low))
            if task.product_space:
                methods[f"REA-{kind.upper()}"] = (
                    lambda L, s, k=kind: lce_regularized_evolution(L, s, k, low))
    return methods


def compare_on_curves(task: CurveTask, methods: Sequence[str], seeds: Sequence[int],
                      budget: float, progress: bool = False):
    """Run every method of ``methods`` (names of :func:`curve_searchers`) once per seed
    under a simulated time budget of ``budget`` seconds. Returns (runs, trajectories): one
    row per run (final validation and test regret in points, cells started, cells trained
    fully, share of real values read, wall seconds) and, per run, the best-so-far validation
    and test regret after each purchase against simulated time."""
    import time

    import pandas as pd

    available = curve_searchers(task)
    unknown = [m for m in methods if m not in available]
    if unknown:
        raise ValueError(f"methods {unknown} do not run on {task.name!r}; valid: "
                         f"{', '.join(available)}")
    val = task.curves.final
    best_val = float(np.nanmax(val))
    best_test = None if task.test is None else float(np.nanmax(task.test))
    rows, curves = [], []
    for method in methods:
        for seed in seeds:
            ledger = task.ledger(max_time=budget)
            start = time.perf_counter()
            outcome = available[method](ledger, int(seed))
            seconds = time.perf_counter() - start
            chosen = outcome.best_index
            rows.append({
                "space": task.name, "method": method, "seed": int(seed),
                "val_regret": best_val - float(val[chosen]),
                "test_regret": np.nan if best_test is None else best_test - task.test[chosen],
                "cells": ledger.num_queries, "trained_fully": len(ledger.known()[0]),
                "real_read": ledger.real_fraction_read, "time_used": ledger.time_used,
                "stop_reason": outcome.stop_reason, "seconds": seconds})
            steps = [s for s in ledger.trajectory if s.best_index >= 0]
            best = np.array([s.best_index for s in steps], dtype=np.int64)
            curves.append(pd.DataFrame({
                "space": task.name, "method": method, "seed": int(seed),
                "time": [s.time_used for s in steps],
                "val_regret": best_val - val[best] if len(best) else [],
                "test_regret": (best_test - task.test[best]) if best_test is not None
                and len(best) else np.nan}))
            if progress:
                print(f"[{task.name}] {method} seed {seed}: val regret "
                      f"{rows[-1]['val_regret']:.3f} in {seconds:.1f} s", flush=True)
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)
