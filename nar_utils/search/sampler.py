"""NAR's tier-statistics sampler on NAS-Bench-201, under the budget ledger.

NAR (Guo et al., arXiv 2201.12725) searches by sampling: each iteration draws candidates,
scores them with the ranker and keeps per-tier statistics of what it has scored. When the
archs predicted in the top tier look different enough from those predicted in the low tiers,
the next candidates are drawn to resemble the top tier. Paper settings for NB201
(:class:`TierSamplerConfig` defaults): 50 iterations of 128 candidates, half of them uniform
("noisy"), 5 bins, 5 tiers.

One iteration here:

1. *Targets.* Per predicted tier, histograms of FLOPs and params (``num_bins`` bins spanning
   the range of every arch scored so far, right-closed as in the NAR code) and the counts of
   each op over the 6 edges. A statistic uses the top tier's histogram when the top tier holds
   at least ``min_top_fraction`` of all scored archs and its divergence from *every* low tier
   (``low_tiers``, by default tiers 4 and 5) reaches the threshold; otherwise it is uniform.
   A FLOPs bin and a params bin are drawn from those distributions; their upper edges are the
   constraints (FLOPs <= bound and params <= bound, as in the NAR code), redrawn every
   ``reuse_step`` slots.
2. *Constrained candidates.* For each of ``num_candidates * (1 - noisy_fraction)`` slots,
   up to ``max_trials`` cells are drawn with each edge's op from the op distribution; the
   first that exists and meets both bounds is accepted. Every accepted candidate meets its
   constraints (the NAR code keeps the last draw even when it fails them); a slot with no
   success is a *failure*, counted and reported, and left to the uniform fill.
3. *Noise.* The remaining slots are filled with uniform random archs.
4. *Scoring.* ``ranker.predict(archs)`` gives scores; tiers come from
   ``ranker.predict_tiers(archs)`` (0 = best) when the ranker has it, else from equal-size
   quantiles of the scores among the candidates. The candidates' FLOPs, params and op counts
   join the statistics of their predicted tier.
5. *Queries.* Among the candidates predicted in the top tier, the ``top_k`` distinct archs
   with the best scores are the iteration's picks; each is queried through the ledger.

Two statistics are reported side by side (:func:`compare_statistics`):

* **oracle** (the NAR authors' statistic): the best *test* accuracy among each iteration's
  top-k picks, maximised over iterations, and its rank among all archs. It selects with test
  accuracy, so it is an upper bound, not a search result.
* **ours**: the ledger's final choice, the pick (or training label) with the best validation
  label, its test accuracy, and the number of queries it cost, the ranker's training labels
  included.

Divergence between a top-tier histogram ``t`` and a low-tier one ``l``:

* default: a proper Kullback-Leibler divergence KL(p || q) in nats between the smoothed
  histograms p = (t + a) / (sum t + a B), q = (l + a) / (sum l + a B), with pseudo-count
  a = ``smoothing`` (1) and B bins; it depends on the proportions (and, through the
  smoothing, slightly on the counts).
* ``faithful=True``: the NAR code's variant. It treats the raw *counts* as logits:
  p = softmax(t), q = softmax(l), and returns sum p (log p - log q) / B (PyTorch's
  ``kl_div(..., reduction='batchmean')`` applied to a 1-D histogram divides by its length).
  This is questionable: softmax of counts depends on their absolute size, not on the
  proportions, so the same two distributions seen through more samples look ever more
  different (counts (1, 3) against (10, 30) give about 1.0 although the proportions are
  equal), a thresholds' meaning drifts as statistics accumulate, and the division by B has
  no role in a divergence. Its default thresholds are the NAR config's (0.35, 0.3, 1.5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from nar_utils.metrics import tiers_from_scores
from nar_utils.search.blackbox import SearchOutcome, _outcome, make_rng
from nar_utils.search.ledger import BudgetExhausted, Ledger
from nar_utils.spaces import SearchSpace, get_space

#: KL thresholds (FLOPs, params, ops) of the NAR NB201 config, for ``faithful=True``.
FAITHFUL_KL_THRESHOLDS = (0.35, 0.3, 1.5)
#: Thresholds (nats) of the proper KL divergence used by default.
DEFAULT_KL_THRESHOLDS = (0.1, 0.1, 0.1)
STATISTICS = ("flops", "params", "ops")


class Ranker(Protocol):
    """``predict(archs) -> scores`` (higher = better); optionally
    ``predict_tiers(archs) -> int array`` (0 = best tier)."""

    def predict(self, archs: np.ndarray) -> np.ndarray: ...


@dataclass
class TierSamplerConfig:
    """Settings of the tier-statistics sampler (defaults: NAR's NB201 settings)."""

    num_iterations: int = 50  # sampling iterations
    num_candidates: int = 128  # candidates scored per iteration
    noisy_fraction: float = 0.5  # share of uniform random candidates
    num_bins: int = 5  # histogram bins for FLOPs and params
    num_tiers: int = 5  # tiers when the ranker has no predict_tiers
    top_k: int = 5  # picks queried per iteration (top-tier archs by score)
    max_trials: int = 100  # rejection-sampling draws per constrained slot
    reuse_step: int = 25  # slots between redraws of the FLOPs/params targets
    min_top_fraction: float = 0.1  # top tier's minimum share of scored archs to be used
    low_tiers: tuple[int, ...] = (3, 4)  # tiers the top tier must differ from (0-based)
    faithful: bool = False  # the NAR code's softmax-of-counts "KL" instead of a proper KL
    kl_thresholds: tuple[float, float, float] | None = None  # (flops, params, ops); None ->
    # DEFAULT_KL_THRESHOLDS, or FAITHFUL_KL_THRESHOLDS when faithful
    smoothing: float = 1.0  # pseudo-count of the proper KL
    force_uniform: bool = False  # ignore the statistics (uniform bins and ops)

    def __post_init__(self) -> None:
        checks = {
            "num_iterations": self.num_iterations >= 0,
            "num_candidates": self.num_candidates >= 1,
            "noisy_fraction": 0.0 <= self.noisy_fraction <= 1.0,
            "num_bins": self.num_bins >= 1, "num_tiers": self.num_tiers >= 2,
            "top_k": self.top_k >= 1, "max_trials": self.max_trials >= 1,
            "reuse_step": self.reuse_step >= 1,
            "min_top_fraction": 0.0 <= self.min_top_fraction <= 1.0,
            "low_tiers": all(0 < t < self.num_tiers for t in self.low_tiers),
            "smoothing": self.smoothing > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid TierSamplerConfig values: "
                             f"{', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")

    @property
    def thresholds(self) -> tuple[float, float, float]:
        if self.kl_thresholds is not None:
            return tuple(self.kl_thresholds)  # type: ignore[return-value]
        return FAITHFUL_KL_THRESHOLDS if self.faithful else DEFAULT_KL_THRESHOLDS


def kl_divergence(top_counts: np.ndarray, low_counts: np.ndarray, faithful: bool = False,
                  smoothing: float = 1.0) -> float:
    """Divergence of a top-tier histogram from a low-tier one (see the module docstring):
    proper KL between Laplace-smoothed histograms, or the NAR code's softmax-of-counts variant
    with ``faithful=True``."""
    top = np.asarray(top_counts, dtype=float)
    low = np.asarray(low_counts, dtype=float)
    if top.shape != low.shape or top.ndim != 1 or len(top) == 0:
        raise ValueError(f"histograms must be 1-D of equal length, got {top.shape} and "
                         f"{low.shape}")
    if faithful:
        log_p = top - np.logaddexp.reduce(top)
        log_q = low - np.logaddexp.reduce(low)
        return float(np.sum(np.exp(log_p) * (log_p - log_q)) / len(top))
    p = (top + smoothing) / (top.sum() + smoothing * len(top))
    q = (low + smoothing) / (low.sum() + smoothing * len(low))
    return float(np.sum(p * np.log(p / q)))


def bin_edges(values: np.ndarray, num_bins: int) -> np.ndarray:
    """``num_bins + 1`` equal-width edges spanning ``values``."""
    values = np.asarray(values, dtype=float)
    return np.linspace(values.min(), values.max(), num_bins + 1)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Right-closed bin of each value: bin i holds (edges[i], edges[i+1]], bin 0 also its
    lower edge."""
    index = np.searchsorted(edges, np.asarray(values, dtype=float), side="left") - 1
    return np.clip(index, 0, len(edges) - 2)


@dataclass
class TierStatistics:
    """FLOPs, params and op counts of every scored arch, grouped by predicted tier."""

    num_tiers: int
    num_bins: int
    flops: list[list[float]] = field(default_factory=list)
    params: list[list[float]] = field(default_factory=list)
    ops: np.ndarray | None = None  # (num_tiers, num_ops) summed op counts
    num_ops: int = 5  # op vocabulary: NB201's 5 edge ops, NB101's 3 vertex ops

    def __post_init__(self) -> None:
        self.flops = [[] for _ in range(self.num_tiers)]
        self.params = [[] for _ in range(self.num_tiers)]
        self.ops = np.zeros((self.num_tiers, self.num_ops))

    @property
    def size(self) -> int:
        return sum(len(f) for f in self.flops)

    def update(self, tiers: np.ndarray, flops: np.ndarray, params: np.ndarray,
               op_counts: np.ndarray) -> None:
        for tier, f, p, c in zip(tiers, flops, params, op_counts):
            self.flops[int(tier)].append(float(f))
            self.params[int(tier)].append(float(p))
            self.ops[int(tier)] += c

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-tier counts ``(num_tiers, bins)`` of statistic ``name`` and the bin edges
        (None for 'ops', whose bins are the ops)."""
        if name == "ops":
            return self.ops.copy(), None
        per_tier = self.flops if name == "flops" else self.params
        pooled = np.concatenate([np.asarray(v, dtype=float) for v in per_tier])
        edges = bin_edges(pooled, self.num_bins)
        counts = np.zeros((self.num_tiers, self.num_bins))
        for tier, values in enumerate(per_tier):
            if values:
                counts[tier] = np.bincount(bin_index(values, edges), minlength=self.num_bins)
        return counts, edges


def top_tier_distribution(counts: np.ndarray, threshold: float, low_tiers: tuple[int, ...],
                          min_top_fraction: float, faithful: bool = False,
                          smoothing: float = 1.0) -> np.ndarray | None:
    """The top tier's normalised histogram when it holds at least ``min_top_fraction`` of
    all counts and differs from every low tier by at least ``threshold``; else None
    (meaning: sample uniformly)."""
    top = counts[0]
    if counts.sum() == 0 or top.sum() < max(min_top_fraction * counts.sum(), 1e-12):
        return None
    for tier in low_tiers:
        if kl_divergence(top, counts[tier], faithful, smoothing) < threshold:
            return None
    return top / top.sum()


def default_cost_fn(dataset: str, space: str | SearchSpace = "nb201"
                    ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """FLOPs and params of whole networks, as the space computes them
    (:meth:`SearchSpace.network_totals`)."""
    space = get_space(space)
    return lambda archs: space.network_totals(archs, dataset)


def op_counts(space: str | SearchSpace, archs: np.ndarray) -> np.ndarray:
    """``(N, num_ops)`` how often each op occurs in each arch (:meth:`SearchSpace.op_counts`:
    NB201's 5 ops over the 6 edges; NB101's 3 interior ops over the vertices)."""
    return get_space(space).op_counts(archs)


@dataclass
class TierSamplerResult:
    """What :func:`tier_sampler_search` returns."""

    outcome: SearchOutcome  # the ledger's final choice (ours)
    picks: list[np.ndarray]  # per iteration, the top-k top-tier picks (arch indices)
    iterations: list[dict[str, Any]]  # per iteration: counts, bounds, statistics used
    accepted: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per iteration: constrained
    # candidates and the FLOPs / params bounds each was accepted under
    num_failures: int  # constrained slots with no accepted draw after max_trials
    num_slots: int  # constrained slots attempted
    num_train_labels: int  # labels bought to train the ranker


def tier_sampler_search(ledger: Ledger, ranker: Ranker, seed: int | np.random.Generator,
                        config: TierSamplerConfig | None = None, *,
                        cost_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
                        | None = None, cost_dataset: str | None = None,
                        num_train_labels: int = 0,
                        warmup_indices: np.ndarray | None = None) -> TierSamplerResult:
    """Run NAR's tier-statistics sampler under ``ledger`` (see the module docstring).

    ``num_train_labels`` > 0: first buy that many random labels (``charge_labels``) and
    ``ranker.fit`` on them; their predicted tiers seed the statistics. With 0 the ranker must
    be fitted already (buy its labels through the same ledger so they are counted);
    ``warmup_indices`` then optionally seed the statistics. ``cost_fn(op_codes) -> (flops,
    params)`` defaults to :func:`nar_utils.spaces.nb201.cellinfo.network_totals` on ``cost_dataset``
    (default: the ledger's label dataset); it sees structure only, never labels.
    """
    config = config or TierSamplerConfig()
    rng = make_rng(seed)
    if cost_fn is None:
        cost_fn = default_cost_fn(cost_dataset or ledger.label_dataset, ledger.space)
    flops_all, params_all = (np.asarray(v, dtype=float) for v in cost_fn(ledger.archs))
    if flops_all.shape != (ledger.num_archs,) or params_all.shape != (ledger.num_archs,):
        raise ValueError(f"cost_fn must return two arrays of shape ({ledger.num_archs},), got "
                         f"{flops_all.shape} and {params_all.shape}")
    op_counts_all = op_counts(ledger.space, ledger.archs)
    stats = TierStatistics(config.num_tiers, config.num_bins, num_ops=op_counts_all.shape[1])
    thresholds = dict(zip(STATISTICS, config.thresholds))

    def score(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        archs = ledger.archs[indices]
        scores = np.asarray(ranker.predict(archs), dtype=float).reshape(-1)
        if hasattr(ranker, "predict_tiers"):
            tiers = np.asarray(ranker.predict_tiers(archs), dtype=np.int64).reshape(-1)
            num_tiers = config.num_tiers
            if tiers.min(initial=0) < 0 or tiers.max(initial=0) >= num_tiers:
                raise ValueError(f"predict_tiers returned tiers outside 0..{num_tiers - 1}; "
                                 "set TierSamplerConfig.num_tiers to the ranker's tier count")
        else:
            tiers = tiers_from_scores(scores, config.num_tiers, allow_empty_tiers=True)
        stats.update(tiers, flops_all[indices], params_all[indices], op_counts_all[indices])
        return scores, tiers

    picks: list[np.ndarray] = []
    records: list[dict[str, Any]] = []
    accepted_log: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    num_failures = num_slots = 0
    reason = "iterations"
    train_labels = 0
    try:
        if num_train_labels > 0:
            train_index = rng.choice(ledger.num_archs, size=num_train_labels, replace=False)
            labels = ledger.charge_labels(train_index)
            train_labels = len(train_index)
            ranker.fit(ledger.archs[train_index], labels)
            warmup_indices = train_index
        if warmup_indices is not None and len(warmup_indices):
            score(np.asarray(warmup_indices, dtype=np.int64))

        num_constrained = int(config.num_candidates * (1 - config.noisy_fraction))
        for iteration in range(config.num_iterations):
            dists, edges = _target_distributions(stats, config, thresholds)
            draw = (_pool_candidates if ledger.op_choices is None
                    else _constrained_candidates)
            guided, f_bounds, p_bounds, failures = draw(
                ledger, rng, num_constrained, dists, edges, flops_all, params_all, config,
                op_counts_all)
            num_failures += failures
            num_slots += num_constrained
            noisy = rng.integers(ledger.num_archs, size=config.num_candidates - len(guided))
            candidates = np.concatenate([guided, noisy]).astype(np.int64)
            scores, tiers = score(candidates)
            top = candidates[tiers == 0]
            top_scores = scores[tiers == 0]
            _, first = np.unique(top, return_index=True)  # distinct archs, best score kept
            keep = np.sort(first)
            order = np.argsort(-top_scores[keep], kind="stable")
            chosen = top[keep][order[:config.top_k]]
            picks.append(chosen)
            accepted_log.append((guided, f_bounds, p_bounds))
            records.append({
                "iteration": iteration, "accepted": len(guided), "failures": failures,
                "noisy": len(noisy), "top_tier_size": int((tiers == 0).sum()),
                "uses_top_tier": {name: dists[name] is not None for name in STATISTICS},
                "picks": chosen.tolist()})
            for index in chosen:
                ledger.query(int(index))
    except BudgetExhausted as exc:
        reason = exc.reason
    outcome = _outcome("tier-sampler", ledger, reason, iterations=len(records),
                       failures=num_failures, slots=num_slots, train_labels=train_labels)
    return TierSamplerResult(outcome, picks, records, accepted_log, num_failures, num_slots,
                             train_labels)


def _target_distributions(stats: TierStatistics, config: TierSamplerConfig,
                          thresholds: dict[str, float]
                          ) -> tuple[dict[str, np.ndarray | None], dict[str, np.ndarray | None]]:
    dists: dict[str, np.ndarray | None] = {}
    edges: dict[str, np.ndarray | None] = {}
    for name in STATISTICS:
        if stats.size == 0:
            dists[name], edges[name] = None, None
            continue
        counts, edges[name] = stats.histograms(name)
        dists[name] = None if config.force_uniform else top_tier_distribution(
            counts, thresholds[name], config.low_tiers, config.min_top_fraction,
            config.faithful, config.smoothing)
    return dists, edges


Trials = Callable[[float, float], tuple[np.ndarray, np.ndarray]]


def _fill_slots(rng: np.random.Generator, num_slots: int, dists: dict[str, np.ndarray | None],
                edges: dict[str, np.ndarray | None], config: TierSamplerConfig,
                trials: Trials) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Rejection sampling shared by both draws: per slot, ``trials(flops_bound,
    params_bound)`` proposes ``(indices, acceptable)`` and the first acceptable index is
    kept; the bounds are redrawn every ``reuse_step`` slots. Returns the accepted arch
    indices, the FLOPs and params bound each met, and the number of failed slots."""
    accepted, f_bounds, p_bounds = [], [], []
    failures = 0
    flops_bound = params_bound = math.inf
    for slot in range(num_slots):
        if slot % config.reuse_step == 0:
            flops_bound = _draw_bound(rng, dists["flops"], edges["flops"])
            params_bound = _draw_bound(rng, dists["params"], edges["params"])
        index, ok = trials(flops_bound, params_bound)
        hits = np.flatnonzero(ok)
        if len(hits) == 0:
            failures += 1
            continue
        accepted.append(int(index[hits[0]]))
        f_bounds.append(flops_bound)
        p_bounds.append(params_bound)
    return (np.array(accepted, dtype=np.int64), np.array(f_bounds, dtype=float),
            np.array(p_bounds, dtype=float), failures)


def _constrained_candidates(ledger: Ledger, rng: np.random.Generator, num_slots: int,
                            dists: dict[str, np.ndarray | None],
                            edges: dict[str, np.ndarray | None], flops_all: np.ndarray,
                            params_all: np.ndarray, config: TierSamplerConfig,
                            op_counts_all: np.ndarray | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The NB201 draw: each trial builds a cell edge by edge from the op distribution and
    is acceptable when the benchmark has it and it meets both bounds (see
    :func:`_fill_slots` for what is returned)."""
    # Per-edge op probabilities: the top tier's op distribution restricted to the edge's
    # choices, else uniform over them.
    num_edges, num_ops = len(ledger.op_choices), len(ledger.space.op_names)
    op_probs = np.zeros((num_edges, num_ops))
    for e, choices in enumerate(ledger.op_choices):
        weights = np.zeros(num_ops)
        weights[list(choices)] = 1.0 if dists["ops"] is None else dists["ops"][list(choices)]
        if weights.sum() == 0:
            weights[list(choices)] = 1.0
        op_probs[e] = weights / weights.sum()
    cdf = np.cumsum(op_probs, axis=1)

    def trials(flops_bound: float, params_bound: float) -> tuple[np.ndarray, np.ndarray]:
        u = rng.random((config.max_trials, num_edges))
        codes = np.minimum((u[:, :, None] >= cdf[None]).sum(axis=2), num_ops - 1)
        index = ledger.index_of(codes)
        safe = np.maximum(index, 0)
        return index, ((index >= 0) & (flops_all[safe] <= flops_bound)
                       & (params_all[safe] <= params_bound))

    return _fill_slots(rng, num_slots, dists, edges, config, trials)


def _pool_candidates(ledger: Ledger, rng: np.random.Generator, num_slots: int,
                     dists: dict[str, np.ndarray | None], edges: dict[str, np.ndarray | None],
                     flops_all: np.ndarray, params_all: np.ndarray, config: TierSamplerConfig,
                     op_counts_all: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         int]:
    """The constrained draw for a space given as a pool of cells (NB101 restricted to the
    benchmark's cells): each trial picks a cell of the pool uniformly and accepts it with
    probability ``prod_v p(op_v) / max(p) ** n_ops`` over its interior vertices, so that the
    accepted cells' ops follow the target op distribution (uniform: every cell accepted),
    and only if it meets both bounds. The NB201 draw builds cells edge by edge instead; a
    pool cannot, as most random NB101 graphs are not in it."""
    log_accept = None
    if dists["ops"] is not None:
        with np.errstate(divide="ignore"):
            log_accept = op_counts_all @ np.log(dists["ops"] / dists["ops"].max())

    def trials(flops_bound: float, params_bound: float) -> tuple[np.ndarray, np.ndarray]:
        index = rng.integers(ledger.num_archs, size=config.max_trials)
        ok = (flops_all[index] <= flops_bound) & (params_all[index] <= params_bound)
        if log_accept is not None:
            ok &= np.log(rng.random(config.max_trials)) < log_accept[index]
        return index, ok

    return _fill_slots(rng, num_slots, dists, edges, config, trials)


def _draw_bound(rng: np.random.Generator, dist: np.ndarray | None,
                edges: np.ndarray | None) -> float:
    """Upper edge of a bin drawn from ``dist`` (uniform when None); inf before any edges."""
    if edges is None:
        return math.inf  # nothing scored yet: no constraint
    num_bins = len(edges) - 1
    b = int(rng.integers(num_bins)) if dist is None else int(rng.choice(num_bins, p=dist))
    return float(edges[b + 1])


def oracle_statistic(ledger: Ledger, picks: list[np.ndarray], test_dataset: str,
                     test_metric: str = "test-accuracy", test_hp: str = "200"
                     ) -> dict[str, Any]:
    """The NAR authors' statistic ('oracle'): the best test value among each iteration's
    picks, maximised over iterations, with its rank among all archs (1 = best; ties share the
    better rank). Reads test values, so it seals the ledger; an upper bound, not a search
    result."""
    test = ledger.test_column(test_dataset, test_metric, test_hp)
    best_value, best_index, best_iteration = -math.inf, -1, -1
    for iteration, chosen in enumerate(picks):
        for index in chosen:
            if test[index] > best_value:
                best_value, best_index, best_iteration = float(test[index]), int(index), iteration
    if best_index < 0:
        return {"oracle_test": math.nan, "oracle_rank": -1, "oracle_arch_index": -1,
                "oracle_iteration": -1}
    rank = int(np.sum(test > best_value)) + 1
    return {"oracle_test": best_value, "oracle_rank": rank, "oracle_arch_index": best_index,
            "oracle_iteration": best_iteration, "num_archs": len(test)}


def compare_statistics(ledger: Ledger, result: TierSamplerResult, test_dataset: str,
                       test_metric: str = "test-accuracy", test_hp: str = "200"
                       ) -> dict[str, Any]:
    """Both statistics side by side: 'oracle' (authors': best test among the picks) and
    'ours' (the ledger's choice by validation label, with the queries it cost)."""
    ours = ledger.report(test_dataset, test_metric, test_hp)
    oracle = oracle_statistic(ledger, result.picks, test_dataset, test_metric, test_hp)
    return {**oracle, "ours_test": ours["test_value"], "ours_arch_index": ours["arch_index"],
            "ours_label": ours["label_value"], "ours_queries": ours["num_queries"],
            "train_labels": result.num_train_labels, "failures": result.num_failures,
            "slots": result.num_slots, "stop_reason": result.outcome.stop_reason}
