"""Search where budgets are tight: who finds the best cell within 50 to 200 queries.

At 500 queries regularized evolution already picks the best-validation cell of cifar10 in
most seeds, so comparisons there say little. This module compares searchers at
:data:`TIGHT_BUDGETS` (queries, the labels a predictor is trained on included) by two
questions a practitioner asks: *how often* does a search end holding the cell with the best
validation label of the whole space, and *after how many queries* does it first hold it.

Every method but the tier sampler is **anytime**: its first B queries do not depend on the
total budget, so each runs once per seed up to the largest budget and its trajectory is read
at every smaller one. The guided searches use fixed settings for that (:data:`GUIDED`: 10
random labels, then rounds of 5 queries, the predictor refitted on every label bought before
each round), instead of :func:`~nar_utils.search.protocol.run_at_budget`'s budget-scaled
ones. NAR's tier sampler splits its budget between the ranker's training labels and its picks
(NAR's 1,256 / 640 proportion), so it runs once per budget.

Methods (:data:`METHODS`): 'random', 'rea', 'bohb' (with the 12-epoch labels as its low
fidelity, each a query); '<predictor>-guided' (predictor-guided regularized evolution with a
predictor of the registry, e.g. 'gbdt-guided', 'narc-guided'); '<predictor>-sampler' (NAR's
tier sampler ranking with that predictor, e.g. 'narc-sampler').
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from nar_utils.benchmarks.task import Task
from nar_utils.search.protocol import run_at_budget

#: The budgets compared, in queries.
TIGHT_BUDGETS: tuple[int, ...] = (50, 100, 150, 200)
#: Settings of the guided searches at tight budgets (the same at every budget: anytime).
GUIDED: dict[str, int] = dict(num_initial=10, top_k=5, population_size=10)
#: The default methods of the comparison.
METHODS: tuple[str, ...] = ("random", "rea", "bohb", "gbdt-guided", "narc-guided",
                            "narc-sampler")


def _kind(method: str) -> tuple[str, str | None]:
    """('random' | 'rea' | 'bohb' | 'guided' | 'sampler', predictor name or None)."""
    if method in ("random", "rea", "bohb"):
        return method, None
    for suffix in ("guided", "sampler"):
        if method.endswith(f"-{suffix}") and len(method) > len(suffix) + 1:
            return suffix, method[:-len(suffix) - 1]
    raise ValueError(f"unknown tight-budget method {method!r}; valid: random, rea, bohb, "
                     "'<predictor>-guided' or '<predictor>-sampler' with a predictor name "
                     "of nar_utils.predictors.PREDICTORS (e.g. gbdt-guided, narc-sampler)")


def _at_budgets(trajectory: pd.DataFrame, budgets: Sequence[int], label: np.ndarray,
                test: np.ndarray) -> list[dict[str, Any]]:
    """What a run held after each budget: its choice, and when it first held the best cell."""
    best_value = float(np.max(label))
    queries = trajectory["num_queries"].to_numpy()
    best_label = trajectory["best_label"].to_numpy(dtype=float)
    best_index = trajectory["best_index"].to_numpy()
    hit = np.flatnonzero(best_label >= best_value)
    first = int(queries[hit[0]]) if len(hit) else None
    rows = []
    for budget in budgets:
        seen = np.flatnonzero(queries <= budget)
        held = [i for i in seen if best_index[i] >= 0]
        index = int(best_index[held[-1]]) if held else -1
        rows.append({"budget": int(budget), "queries": int(queries[seen[-1]]) if len(seen) else 0,
                     "found": first is not None and first <= budget,
                     "queries_to_best": first if first is not None and first <= budget
                     else None,
                     "arch_index": index,
                     "label_value": float(label[index]) if index >= 0 else float("nan"),
                     "val_regret": best_value - float(label[index]) if index >= 0
                     else float("nan"),
                     "test_value": float(test[index]) if index >= 0 else float("nan")})
    return rows


def run_tight(bench, task: Task, method: str, seed: int,
              budgets: Sequence[int] = TIGHT_BUDGETS,
              predictor_factory: Callable[[str, int], Any] | None = None
              ) -> list[dict[str, Any]]:
    """One seed of ``method`` on ``task``: one row per budget (see :func:`_at_budgets`'s
    fields: found, queries_to_best, the choice's label, validation regret and test value).

    ``predictor_factory(name, seed)`` builds the predictors of the guided and sampler
    methods (default: ``make_predictor(name, dataset=task.label_dataset, seed=seed)``).
    """
    kind, name = _kind(method)
    budgets = sorted(int(b) for b in budgets)
    if not budgets or budgets[0] < 1:
        raise ValueError(f"budgets must be positive query counts, got {budgets}")
    if predictor_factory is None:
        from nar_utils.predictors import make_predictor

        def predictor_factory(predictor: str, s: int):
            return make_predictor(predictor, dataset=task.label_dataset, seed=s)

    label, test = task.labels(bench), task.test(bench)
    common = dict(dataset=task.dataset, method=method, seed=seed)
    if kind == "sampler":
        rows = []
        for budget in budgets:
            run = run_at_budget(bench, task, "nar-sampler", budget, seed,
                                ranker_factory=lambda s: predictor_factory(name, s))
            rows += _at_budgets(run["trajectory"], [budget], label, test)
        return [{**common, **row} for row in rows]
    if kind == "guided":
        run = run_at_budget(bench, task, "predictor-evolution", budgets[-1], seed,
                            predictor_factory=lambda s: predictor_factory(name, s),
                            method_options=dict(GUIDED))
    else:
        run = run_at_budget(bench, task, kind, budgets[-1], seed)
    return [{**common, **row} for row in _at_budgets(run["trajectory"], budgets, label, test)]


def summarise_tight(rows) -> pd.DataFrame:
    """Per dataset, budget and method: ``found`` (share of seeds that hold the best cell),
    ``median_queries_to_best`` (over seeds; NaN when half or more never found it within the
    budget, shown as '> budget'), mean validation regret and test value, and seeds."""
    frame = pd.DataFrame(list(rows))

    def median_or_nan(values: pd.Series) -> float:
        found = values.dropna().to_numpy(dtype=float)
        if len(found) * 2 <= len(values):  # half or more censored: the median is not found
            return float("nan")
        padded = np.concatenate([found, np.full(len(values) - len(found), np.inf)])
        return float(np.median(padded))

    grouped = frame.groupby(["dataset", "budget", "method"], sort=False)
    return grouped.agg(found=("found", "mean"),
                       median_queries_to_best=("queries_to_best", median_or_nan),
                       val_regret=("val_regret", "mean"), test_value=("test_value", "mean"),
                       seeds=("seed", "nunique")).reset_index()


__all__ = ["GUIDED", "METHODS", "TIGHT_BUDGETS", "run_tight", "summarise_tight"]
