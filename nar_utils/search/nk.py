"""The N/K protocol of Siamese-NAS: few labels, then the predictor's best K looked up.

One run (:func:`run_nk`): buy the labels of ``N`` cells (at random, or as the method's own
acquisition does: BTS for Siamese-NAS, rounds of best-predicted cells for BRP-NAS), train the
predictor, rank every cell not labelled yet, buy the best ``K``. The figure of merit is
**MaxAcc**, the best label among the ``N + K`` cells bought, plotted against ``N + K``;
beside it the Spearman rho of the predictor's scores over the whole space. Every label goes
through a :class:`~nar_utils.search.ledger.Ledger` (exactly ``N + K`` are bought, none
twice), and so do the seconds of the estimation codes a Siamese predictor reads.

Labels (:func:`cell_labels`) are either the mean over the benchmark's training seeds or **one
seed per cell** (drawn per run from the seeds that cell was trained with), as the authors'
files hold. A single seed is noisier: its maximum over the space (74.28 on CIFAR-100 test)
lies above the best mean (73.51), so MaxAcc on single-seed labels can exceed anything a mean
label reaches. Each row therefore also reports the mean test accuracy of the cell chosen,
``best_reported``, which the noise of one seed does not inflate.

Methods (:data:`NK_METHODS`): 'random' (N + K cells at random), 'siamese' (options ``nsam``,
``bts``, ``faithful``, ``num_epochs``, ``rerank_k``, ...), 'brp' (BRP-NAS: half the labels at
random, the rest over ``rounds - 1`` rounds of the best-predicted unseen cells, our reading of
its iterative data selection), and every predictor of
:data:`nar_utils.predictors.registry.PREDICTORS` ('gbdt', 'gcn', ...: N at random, ``rounds``
1 unless given).

Reference: S.-W. Zhang et al., "Siamese-NAS", arXiv 2210.00546 (Fig. 6 is this protocol on
NB201 CIFAR-100); Ł. Dudziak et al., "BRP-NAS", NeurIPS 2020.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from nar_utils import metrics
from nar_utils.search.ledger import Ledger

SEED_CHOICES = ("mean", "single")
NK_METHODS = ("random", "siamese", "brp", "<any predictor name>")
_SIAMESE_OPTIONS = {"nsam", "bts", "faithful", "num_epochs", "rerank_k", "stage_k", "stages",
                    "hidden", "batch_size", "lr"}


@dataclass(frozen=True)
class CellLabels:
    """What an N/K run may buy: ``values[i]`` is cell i's label; ``reported[i]`` its mean
    accuracy (reported, never searched on)."""

    op_codes: np.ndarray
    values: np.ndarray
    reported: np.ndarray
    dataset: str
    metric: str
    seeds: str
    description: str
    train_seconds: np.ndarray | None = None  # what each label's training run took

    # BenchmarkLike, so that a Ledger sells these labels (and their training time) only.
    source = "nk-labels"

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        held = ("label",) if self.train_seconds is None else ("label", "train-time")
        return dataset == self.dataset and metric in held and hp in (None, "200")

    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray:
        if not self.has(dataset, metric, hp):
            raise KeyError(f"these labels are ({self.dataset!r}, 'label'), not "
                           f"({dataset!r}, {metric!r}, hp={hp!r})")
        return self.values if metric == "label" else self.train_seconds

    def ledger(self, max_queries: int) -> Ledger:
        return Ledger(self, self.dataset, "label", "200", max_queries=max_queries)


def cell_labels(bench, dataset: str = "cifar100", metric: str = "test-accuracy",
                seeds: str = "mean", seed: int = 0,
                data_dir: str | None = None) -> CellLabels:
    """Labels of every cell of ``bench``: ``metric`` on ``dataset`` after the source's default
    schedule (200 epochs for the NB201 table), the mean over seeds or, ``seeds='single'``, one
    seed per cell drawn with ``numpy.random.default_rng(seed)`` among those it was trained with
    (:func:`nar_utils.benchmarks.compat.per_seed_values`, from ``data_dir``)."""
    if seeds not in SEED_CHOICES:
        raise ValueError(f"seeds must be one of {SEED_CHOICES}, got {seeds!r}")
    if not bench.has(dataset, metric):
        raise KeyError(f"{bench.source} holds no {metric!r} for {dataset!r} (it holds "
                       f"{', '.join(bench.datasets)}); choose one it holds")
    reported = np.asarray(bench.column(dataset, metric), dtype=float)
    hp = getattr(bench, "default_hp", "200")
    if seeds == "mean":
        values, text = reported, "mean over seeds (as the source holds it)"
    else:
        from nar_utils.benchmarks.compat import per_seed_values

        trials = per_seed_values(data_dir, dataset, metric)
        held = ~np.isnan(trials)
        if len(trials) != len(reported) or not held.any(axis=1).all():
            raise ValueError("the per-seed file does not match the table (a cell without any "
                             "seed, or another number of cells)")
        # One held seed per cell: the k-th held one, k uniform over how many it has.
        rng = np.random.default_rng(seed)
        pick = np.floor(rng.random(len(trials)) * held.sum(axis=1)).astype(int)
        column = np.argmax(np.cumsum(held, axis=1) > pick[:, None], axis=1)
        values = trials[np.arange(len(trials)), column]
        text = f"one seed per cell (draw {seed})"
    time_key = ("cifar10-valid" if dataset == "cifar10" else dataset, "train-time", hp)
    train_seconds = (np.asarray(bench.column(*time_key), dtype=float)
                     if bench.has(*time_key) else None)
    return CellLabels(np.asarray(bench.op_codes), values, reported, dataset, metric, seeds,
                      f"{dataset} {metric} ({bench.source}, hp {hp}), {text}", train_seconds)


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _buyer(ledger: Ledger, pool_index: np.ndarray):
    return lambda rows: ledger.charge_labels(pool_index[np.asarray(rows, dtype=int)])


def _unseen_order(ranking: np.ndarray, seen: set[int]) -> np.ndarray:
    return np.array([i for i in ranking if int(i) not in seen], dtype=int)


def run_nk(method: str, labels: CellLabels, n_labelled: int, ks: Sequence[int] = (30,),
           seed: int = 0, *, options: dict[str, Any] | None = None, codes=None,
           device: str = "cpu") -> list[dict[str, Any]]:
    """One N/K run; one row per K of ``ks`` (the best K of one ranking, so K = 30 and K = 60
    come from the same run).

    ``codes``: the :class:`~nar_utils.predictors.siamese.predictor.CodeProvider` of a
    'siamese' run (its code seconds are charged to the run's ledger). Rows hold the
    ``max_label`` (MaxAcc), the chosen cell and its ``best_reported`` mean accuracy,
    ``rho`` (NaN for random), ``labels`` (= N + K), ``code_cells`` and ``code_seconds``
    (the codes' cost, charged to the ledger), ``cost_seconds`` (the ledger's simulated time:
    the labels' training runs plus the codes; NaN without train times) and ``seconds`` (wall
    clock of the run).
    """
    from nar_utils.predictors.registry import PREDICTORS, make_predictor

    n_labelled = _check_count("n_labelled", n_labelled)
    ks = sorted({_check_count("K", k) for k in ks})
    options = dict(options or {})
    pool = labels.op_codes
    if n_labelled + ks[-1] > len(pool):
        raise ValueError(f"N + K = {n_labelled + ks[-1]} exceeds the {len(pool)} cells")
    start = time.perf_counter()
    ledger = labels.ledger(n_labelled + ks[-1])
    every = np.arange(len(pool))
    buy = _buyer(ledger, every)
    rng = np.random.default_rng(seed)
    rho = float("nan")

    if method == "random":
        order = rng.permutation(len(pool))
        buy(order[:n_labelled])
        ranking = order[n_labelled:]
    elif method == "siamese":
        from nar_utils.predictors.siamese.predictor import CodeProvider, SiamesePredictor

        unknown = set(options) - _SIAMESE_OPTIONS
        if unknown:
            raise ValueError(f"unknown siamese option(s) {sorted(unknown)}; valid: "
                             f"{sorted(_SIAMESE_OPTIONS)}")
        if not isinstance(codes, CodeProvider):
            raise TypeError("method 'siamese' needs codes=a CodeProvider (TableCodes or "
                            "TrainedCodes)")
        bts = options.pop("bts", True)
        stage = {name: options.pop(name) for name in ("stage_k", "stages") if name in options}
        codes.start_run()
        predictor = SiamesePredictor(seed=seed, device=device, codes=codes, **options)
        if bts:
            predictor.fit_bts(pool, buy, n_labelled, **stage)
        else:
            first = rng.choice(len(pool), n_labelled, replace=False)
            predictor.fit(pool[first], buy(first))
        seen = set(int(i) for i in ledger.known()[0])
        unseen = np.array([i for i in every if i not in seen])
        ranking = unseen[predictor.rank_two_stage(pool[unseen], predictor.rerank_k)]
        rho = metrics.spearman_rho(labels.values, predictor.coarse(pool))
    elif method == "brp" or method in PREDICTORS:
        rounds = _check_count("rounds", options.pop("rounds", 4 if method == "brp" else 1))
        first = n_labelled if rounds == 1 else max(n_labelled // 2, 5)
        chosen = list(rng.choice(len(pool), min(first, n_labelled), replace=False))
        buy(np.array(chosen))
        per_round = np.diff(np.linspace(len(chosen), n_labelled, rounds, dtype=int))
        try:
            make_predictor(method, seed=seed, device=device, **options)
        except TypeError as err:
            raise ValueError(f"bad options {options} for predictor {method!r}: {err}") from None
        for count in [*per_round, 0]:
            predictor = make_predictor(method, seed=seed, device=device, **options)
            index, y = ledger.known()
            predictor.fit(pool[index], y)
            scores = predictor.predict(pool)
            if count:
                new = _unseen_order(np.argsort(-scores, kind="stable"), set(index.tolist()))
                buy(new[:count])
        seen = set(ledger.known()[0].tolist())
        ranking = _unseen_order(np.argsort(-scores, kind="stable"), seen)
        rho = metrics.spearman_rho(labels.values, scores)
    else:
        raise ValueError(f"unknown N/K method {method!r}; valid: 'random', 'siamese', 'brp', "
                         f"or a predictor name ({', '.join(PREDICTORS)})")

    known_before = ledger.num_queries
    if known_before != n_labelled:
        raise RuntimeError(f"{method} bought {known_before} labels for training, not "
                           f"N = {n_labelled}")
    code_cells, code_seconds = codes.run_cost() if method == "siamese" else (0, 0.0)
    if code_cells and np.isfinite(code_seconds):
        ledger.charge_seconds(code_seconds, f"estimation codes of {code_cells} cells")
    rows = []
    bought = n_labelled
    for k in ks:
        buy(ranking[:k][bought - n_labelled:])
        bought = n_labelled + k
        best = ledger.best()
        rows.append({"method": method, "seed": seed, "N": n_labelled, "K": k,
                     "labels": ledger.num_queries, "max_label": ledger.best_label(),
                     "best_index": best, "best_reported": float(labels.reported[best]),
                     "rho": rho, "code_cells": code_cells, "code_seconds": code_seconds,
                     "cost_seconds": ledger.time_used,
                     "seconds": time.perf_counter() - start})
    return rows


def nk_curves(variants: dict[str, tuple[str, dict[str, Any]]], labels: CellLabels,
              ns: Sequence[int], ks: Sequence[int] = (30,), repeats: int = 20, *,
              first_seed: int = 0, codes=None, device: str = "cpu",
              progress: bool = True) -> pd.DataFrame:
    """:func:`run_nk` for every variant (``name -> (method, options)``), N of ``ns`` and
    repeat (seeds ``first_seed ..``); one row per (variant, N, K, repeat)."""
    repeats = _check_count("repeats", repeats)
    rows = []
    jobs = [(name, n, r) for name in variants for n in ns for r in range(repeats)]
    for name, n, r in tqdm(jobs, desc="N/K runs", disable=not progress):
        method, options = variants[name]
        for row in run_nk(method, labels, n, ks, first_seed + r, options=options,
                          codes=codes, device=device):
            rows.append({"variant": name, **row})
    frame = pd.DataFrame(rows)
    frame.attrs["labels"] = labels.description
    return frame


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repeats of MaxAcc, the chosen cell's reported
    accuracy and rho, per variant, N and K (with N + K)."""
    out = frame.assign(**{"N+K": frame["N"] + frame["K"]}).groupby(
        ["variant", "K", "N", "N+K"], sort=False).agg(
        max_label=("max_label", "mean"), max_label_std=("max_label", "std"),
        best_reported=("best_reported", "mean"), best_reported_std=("best_reported", "std"),
        rho=("rho", "mean"), repeats=("seed", "count"),
        code_seconds=("code_seconds", "mean"), cost_seconds=("cost_seconds", "mean"),
        seconds=("seconds", "mean"))
    return out.reset_index()


__all__ = ["NK_METHODS", "SEED_CHOICES", "CellLabels", "cell_labels", "nk_curves", "run_nk",
           "summarise"]
