"""Black-box searchers under the ledger: random search, regularized evolution, REINFORCE.

Each is ``method(ledger, seed, ...) -> SearchOutcome`` and runs until the ledger refuses a
look-up (or the space is exhausted); the final choice is the ledger's. Regularized evolution
and REINFORCE build cells edge by edge, so they need a space of per-edge choices
(NAS-Bench-201); random search samples the benchmark's cells and runs on any space.

References: X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020 (baselines); E. Real et al.,
"Regularized Evolution for Image Classifier Architecture Search", AAAI 2019; R. J. Williams,
"Simple statistical gradient-following algorithms", Machine Learning 1992.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from nar_utils.search.ledger import BudgetExhausted, Ledger


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


def mutate(ledger: Ledger, arch: np.ndarray, rng: np.random.Generator) -> int:
    """Arch index of a one-edge mutant of ``arch`` (:meth:`SearchSpace.mutate` over the
    ledger's per-edge choices); -1 if the benchmark lacks that cell or no edge has a choice."""
    ledger.require_op_choices("mutate")
    child = ledger.space.mutate(arch, rng, ledger.op_choices)
    return -1 if child is None else ledger.index_of(child)


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
    ledger.require_op_choices("REINFORCE")
    rng = make_rng(seed)
    num_edges, num_ops = len(ledger.op_choices), len(ledger.space.op_names)
    mask = np.zeros((num_edges, num_ops), dtype=bool)
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
            u = rng.random(num_edges)[:, None]
            actions = np.minimum((u >= cdf).sum(axis=1), num_ops - 1)
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
            onehot[np.arange(num_edges), actions] = 1.0
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


