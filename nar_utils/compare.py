"""Run any search method of the book under one ledger and one budget, for comparison tables.

:func:`run_at_budget` is the single entry point chapter 04 and ``benchmarks/bench_search.py``
use: it builds the ledger for a :class:`~nar_utils.benchmarks.Task` (label from the task, test
accuracy read only for the report), runs the method, and returns the final choice's test
accuracy, the queries spent (predictor training labels included) and the best-so-far
trajectory.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import sampler, search
from .benchmarks import Task

#: Methods :func:`run_at_budget` knows. 'nar-sampler' is NAR's tier-statistics search.
METHODS = ("random", "rea", "reinforce", "bohb", "predictor-random", "predictor-evolution",
           "nar-sampler")
#: NAR's NAS-Bench-201 split of a budget: 1,256 ranker labels + 640 queried picks.
NAR_LABEL_SHARE = 1256 / 1896


def task_ledger(bench, task: Task, *, max_queries: int | None = None,
                max_time: float | None = None, fidelity_hps=()) -> search.Ledger:
    """A ledger driven by ``task``'s label."""
    return search.Ledger(bench, task.label_dataset, task.label_metric, task.hp,
                         max_queries=max_queries, max_time=max_time, fidelity_hps=fidelity_hps)


def run_at_budget(bench, task: Task, method: str, budget: int, seed: int, *,
                  predictor_factory: Callable[[int], Any] | None = None,
                  ranker_factory: Callable[[int], Any] | None = None,
                  faithful_kl: bool = False) -> dict[str, Any]:
    """Run ``method`` with at most ``budget`` distinct look-ups and report its final choice.

    ``predictor_factory(seed)`` builds the predictor of the predictor-guided methods,
    ``ranker_factory(seed)`` the ranker of 'nar-sampler' (which spends
    ``round(budget * 1256 / 1896)`` labels on training it and the rest on its picks, as NAR
    does on NAS-Bench-201). Returns the ledger's report plus 'method', 'budget', 'seed',
    'trajectory' (queries vs best-so-far label and test accuracy) and, for the sampler, the
    authors' oracle statistic ('oracle_test', 'oracle_rank').
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    fidelity = ("12",) if method == "bohb" and bench.has(task.label_dataset, task.label_metric,
                                                           "12") else ()
    ledger = task_ledger(bench, task, max_queries=budget, fidelity_hps=fidelity)
    extra: dict[str, Any] = {}
    if method in search.SEARCHERS:
        outcome = search.run_search(method, ledger, seed)
    elif method in ("predictor-random", "predictor-evolution"):
        if predictor_factory is None:
            raise ValueError(f"{method} needs predictor_factory(seed) -> predictor")
        common = {"num_initial": max(20, budget // 5), "top_k": max(5, budget // 20)}
        if method == "predictor-random":
            outcome = search.predictor_random_search(ledger, predictor_factory(seed), seed,
                                                     pool_size=2000, **common)
        else:
            outcome = search.predictor_evolution(ledger, predictor_factory(seed), seed,
                                                 num_mutants=200, **common)
    else:
        if ranker_factory is None:
            raise ValueError("nar-sampler needs ranker_factory(seed) -> ranker")
        num_train = round(budget * NAR_LABEL_SHARE)
        config = sampler.TierSamplerConfig(top_k=max(1, math.ceil((budget - num_train) / 50)),
                                           faithful=faithful_kl)
        result = sampler.tier_sampler_search(ledger, ranker_factory(seed), seed, config,
                                             cost_dataset=task.label_dataset,
                                             num_train_labels=num_train)
        outcome = result.outcome
        oracle = sampler.oracle_statistic(ledger, result.picks, task.dataset, "test-accuracy",
                                          task.hp)
        extra.update(oracle)
        extra.update({"failures": result.num_failures, "slots": result.num_slots,
                      "train_labels": result.num_train_labels, "iterations": len(result.iterations),
                      "tier_records": result.iterations})
    trajectory = ledger.trajectory_frame(task.dataset, "test-accuracy", task.hp)
    report = ledger.report(task.dataset, "test-accuracy", task.hp)
    return {"method": method, "budget": budget, "seed": seed, "dataset": task.dataset,
            **report, "stop_reason": outcome.stop_reason, "trajectory": trajectory, **extra}
