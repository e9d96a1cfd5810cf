"""Predictor-guided search: any predictor on the shared contract ranks candidates."""
from __future__ import annotations

from collections import deque
from typing import Any, Protocol

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
