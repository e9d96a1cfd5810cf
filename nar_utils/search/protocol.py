"""Search protocols: every search method of the book by name, under one ledger and one
budget, and the NAS-Bench-201 paper's protocol.

:func:`run_at_budget` is the single entry point of chapters 04 and 05 and of
``perf/bench_search.py``: it builds the ledger for a :class:`~nar_utils.benchmarks.Task`
(label from the task, test
accuracy read only for the report), runs the method, and returns the final choice's test
accuracy, the queries spent (predictor training labels included) and the best-so-far
trajectory.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nar_utils.benchmarks.task import Task
from nar_utils.search import sampler
from nar_utils.search.blackbox import SearchOutcome, random_search, regularized_evolution, reinforce
from nar_utils.search.guided import predictor_evolution, predictor_random_search
from nar_utils.search.ledger import PAPER_TIME_BUDGET, BenchmarkLike, Ledger, ledger_for
from nar_utils.search.multifidelity import bohb

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


#: Methods :func:`run_at_budget` knows. 'nar-sampler' is NAR's tier-statistics search.
METHODS = ("random", "rea", "reinforce", "bohb", "predictor-random", "predictor-evolution",
           "nar-sampler")
#: NAR's NAS-Bench-201 split of a budget: 1,256 ranker labels + 640 queried picks.
NAR_LABEL_SHARE = 1256 / 1896


def task_ledger(bench, task: Task, *, max_queries: int | None = None,
                max_time: float | None = None, fidelity_hps=()) -> Ledger:
    """A ledger driven by ``task``'s label."""
    return Ledger(bench, task.label_dataset, task.label_metric, task.hp,
                         max_queries=max_queries, max_time=max_time, fidelity_hps=fidelity_hps)


def run_at_budget(bench, task: Task, method: str, budget: int, seed: int, *,
                  predictor_factory: Callable[[int], Any] | None = None,
                  ranker_factory: Callable[[int], Any] | None = None,
                  faithful_kl: bool = False, method_options: Mapping[str, Any] | None = None,
                  sampler_options: Mapping[str, Any] | None = None,
                  num_train_labels: int | None = None,
                  ranker_labels: Sequence[int] | None = None) -> dict[str, Any]:
    """Run ``method`` with at most ``budget`` distinct look-ups and report its final choice.

    ``predictor_factory(seed)`` builds the predictor of the predictor-guided methods,
    ``ranker_factory(seed)`` the ranker of 'nar-sampler', which spends ``num_train_labels``
    (default ``round(budget * 1256 / 1896)``, NAR's NAS-Bench-201 split) on training it and
    the rest on its picks. A ranker trained beforehand on ``ranker_labels`` (arch indices)
    has those labels bought through this ledger, so they count, and they seed its tier
    statistics. ``method_options`` override the searcher's keyword arguments,
    ``sampler_options`` the :class:`~nar_utils.search.sampler.TierSamplerConfig` fields.
    Returns the ledger's report (on ``task.report_metric``) plus 'method', 'budget', 'seed',
    'trajectory' (queries vs best-so-far label and reported value) and, for the sampler, the
    authors' oracle statistic ('oracle_test', 'oracle_rank').
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    fidelity = ("12",) if method == "bohb" and bench.has(task.label_dataset, task.label_metric,
                                                           "12") else ()
    ledger = task_ledger(bench, task, max_queries=budget, fidelity_hps=fidelity)
    extra: dict[str, Any] = {}
    options = dict(method_options or {})
    if method in SEARCHERS:
        outcome = run_search(method, ledger, seed, **options)
    elif method in ("predictor-random", "predictor-evolution"):
        if predictor_factory is None:
            raise ValueError(f"{method} needs predictor_factory(seed) -> predictor")
        common = {"num_initial": max(20, budget // 5), "top_k": max(5, budget // 20)}
        if method == "predictor-random":
            outcome = predictor_random_search(ledger, predictor_factory(seed), seed,
                                              **{"pool_size": 2000, **common, **options})
        else:
            outcome = predictor_evolution(ledger, predictor_factory(seed), seed,
                                          **{"num_mutants": 200, **common, **options})
    else:
        if ranker_factory is None:
            raise ValueError("nar-sampler needs ranker_factory(seed) -> ranker")
        num_train = round(budget * NAR_LABEL_SHARE) if num_train_labels is None \
            else int(num_train_labels)
        config = sampler.TierSamplerConfig(**{
            "top_k": max(1, math.ceil((budget - num_train) / 50)), "faithful": faithful_kl,
            **(sampler_options or {})})
        ranker, warmup = ranker_factory(seed), None
        if ranker_labels is not None:  # trained beforehand: its labels count all the same
            warmup = np.asarray(ranker_labels, dtype=np.int64)
            ledger.charge_labels(warmup)
            num_train = 0
        result = sampler.tier_sampler_search(ledger, ranker, seed, config,
                                             cost_dataset=task.label_dataset,
                                             num_train_labels=num_train,
                                             warmup_indices=warmup, **options)
        outcome = result.outcome
        oracle = sampler.oracle_statistic(ledger, result.picks, task.dataset,
                                          task.report_metric, task.hp)
        extra.update(oracle)
        extra.update({"failures": result.num_failures, "slots": result.num_slots,
                      "train_labels": result.num_train_labels, "iterations": len(result.iterations),
                      "tier_records": result.iterations})
    trajectory = ledger.trajectory_frame(task.dataset, task.report_metric, task.hp)
    report = ledger.report(task.dataset, task.report_metric, task.hp)
    return {"method": method, "budget": budget, "seed": seed, "dataset": task.dataset,
            **report, "stop_reason": outcome.stop_reason, "trajectory": trajectory, **extra}


# == the NAS-Bench-201 paper protocol =======================================================
def paper_protocol(bench: BenchmarkLike, dataset: str, method: str,
                   seed: int | np.random.Generator, time_budget: float = PAPER_TIME_BUDGET,
                   **kwargs: Any) -> dict[str, Any]:
    """One run of the NB201 paper protocol: search with the 12-epoch validation accuracy
    (of the :data:`SEARCH_LABELS` dataset) as label under a simulated ``time_budget`` of
    training seconds, then report the 200-epoch test accuracy of the final choice on
    ``dataset``. Returns :meth:`Ledger.report` plus the method, seed, stop reason and where
    the training times came from. The paper's own figures are in
    :data:`nar_utils.reproduce.anchors.PAPER_PROTOCOL_REPORTED`."""
    if dataset not in ("cifar10", "cifar100", "ImageNet16-120"):
        raise ValueError(f"paper protocol datasets are 'cifar10', 'cifar100', "
                         f"'ImageNet16-120'; got {dataset!r}")
    ledger = ledger_for(bench, dataset, hp="12", max_time=time_budget)
    outcome = run_search(method, ledger, seed, **kwargs)
    report = ledger.report(dataset, "test-accuracy", "200")
    report.update(method=method, seed=seed if isinstance(seed, (int, np.integer)) else None,
                  stop_reason=outcome.stop_reason, time_source=ledger.time_sources["12"])
    return report
