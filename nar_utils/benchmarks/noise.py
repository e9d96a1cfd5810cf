"""How far a ranking of NAS-Bench-201 cells can go: the agreement of independent training runs.

Every cell of NAS-Bench-201 was trained two or three times (seeds 777, 888, 999), and the
label a predictor learns and is scored against is the *mean over those runs*. A second run of
the same cells does not reproduce the first run's order exactly, so no predictor, however
good, can reach Kendall tau 1 against that label. :func:`seed_agreement` measures the
disagreement and turns it into a ceiling:

* ``tau_pair``: tau between two single runs of the same cells (seed 777 vs 888, every cell
  holds both): what "run it again" gives.
* ``tau_run_vs_rest``: tau between one run and the mean of the other two, on the cells with
  three runs (mean over the three choices of the single run).
* ``ceiling``: the expected tau between the cells' *true* expected accuracy and the label
  (the mean over their 2 or 3 runs), the best any predictor of the expected accuracy can
  score. It cannot be measured directly (the truth is unknown), so it is estimated with a
  noise model: a run's accuracy = the cell's expected accuracy + Gaussian noise whose spread
  depends on the accuracy level (pooled within-cell variance of the runs, in ``bins``
  quantile bins of the cells' mean). The model is checked on what can be measured: it
  simulates ``tau_pair`` as well (``tau_pair_model``), which should match the measured one.

The expected accuracies of the simulation are the observed means, shrunk towards their
overall mean by the share of their variance that is noise, so the simulated truth is not
more spread out than the real one. The figures are the mean over ``repeats`` simulations.
"""
from __future__ import annotations

import numpy as np

from nar_utils import metrics

#: Seeds of the per-seed columns, in column order.
SEEDS = (777, 888, 999)


def _check_runs(runs) -> np.ndarray:
    runs = np.asarray(runs, dtype=np.float64)
    if runs.ndim != 2 or runs.shape[1] < 2:
        raise ValueError(f"runs must be (cells, seeds) with at least 2 seeds, got shape "
                         f"{runs.shape}")
    held = np.isfinite(runs).sum(axis=1)
    if (held < 2).any():
        raise ValueError(f"{int((held < 2).sum())} cells hold fewer than 2 runs; drop them "
                         "first (the noise of one run cannot be measured)")
    if not np.isfinite(runs[:, :2]).all():
        raise ValueError("the first two seed columns must be held for every cell (seeds 777 "
                         "and 888 in NAS-Bench-201)")
    return runs


def _noise_std(means: np.ndarray, runs: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell noise std of one run (pooled within-cell variance per quantile bin of the
    means) and the bin of each cell."""
    edges = np.quantile(means, np.linspace(0, 1, bins + 1)[1:-1])
    which = np.searchsorted(edges, means, side="right")
    held = np.isfinite(runs)
    deviations = np.where(held, runs - means[:, None], 0.0)
    sums = np.bincount(which, weights=(deviations ** 2).sum(axis=1), minlength=bins)
    dof = np.bincount(which, weights=held.sum(axis=1) - 1.0, minlength=bins)
    variance = sums / np.maximum(dof, 1.0)
    return np.sqrt(variance)[which], which


def seed_agreement(runs, *, bins: int = 20, repeats: int = 5, seed: int = 0
                   ) -> dict[str, float]:
    """Agreement of independent runs and the ceiling it sets (see the module docstring).

    Args:
        runs: ``(cells, seeds)`` accuracies of each run, NaN where a seed was not run; the
            first two columns must be held for every cell.
        bins: quantile bins of the mean accuracy within which the noise spread is pooled.
        repeats: simulations averaged for the model-based figures.
        seed: seeds the simulations.

    Returns ``tau_pair``, ``tau_run_vs_rest`` (NaN when no cell has three runs),
    ``tau_pair_model``, ``ceiling``, ``noise_std`` (the mean per-cell spread of one run, in
    the accuracy's units), ``cells`` and ``cells_three_runs``.
    """
    runs = _check_runs(runs)
    counts = np.isfinite(runs).sum(axis=1)
    means = np.nanmean(runs, axis=1)
    out: dict[str, float] = {"cells": float(len(runs)),
                             "cells_three_runs": float((counts >= 3).sum())}
    out["tau_pair"] = metrics.kendall_tau(runs[:, 0], runs[:, 1])
    full = runs[counts == runs.shape[1]]
    if len(full) > 1 and runs.shape[1] >= 3:
        taus = [metrics.kendall_tau(full[:, k], np.delete(full, k, axis=1).mean(axis=1))
                for k in range(runs.shape[1])]
        out["tau_run_vs_rest"] = float(np.mean(taus))
    else:
        out["tau_run_vs_rest"] = float("nan")
    noise, which = _noise_std(means, runs, bins)
    out["noise_std"] = float(noise.mean())
    # Simulated truth: the means shrunk towards their mean by the share of their variance
    # that is noise (the variance of a mean of n runs is var(truth) + noise^2 / n).
    centre = means.mean()
    noise_of_mean = float(np.mean(noise ** 2 / counts))
    keep = np.sqrt(max(0.0, 1.0 - noise_of_mean / max(float(means.var()), 1e-12)))
    truth = centre + (means - centre) * keep
    rng = np.random.default_rng(seed)
    pair, ceiling = [], []
    for _ in range(repeats):
        draws = truth[:, None] + noise[:, None] * rng.standard_normal((len(truth), 3))
        pair.append(metrics.kendall_tau(draws[:, 0], draws[:, 1]))
        label = truth + noise * rng.standard_normal(len(truth)) / np.sqrt(counts)
        ceiling.append(metrics.kendall_tau(label, truth))
    out["tau_pair_model"] = float(np.mean(pair))
    out["ceiling"] = float(np.mean(ceiling))
    return out


#: Names of the reference rows :func:`reference_rows` adds to a ranking table.
TWO_RUNS = "two training runs (777 vs 888)"
CEILING = "ceiling: predicting the mean over runs"


def reference_rows(agreement: dict[str, dict[str, float]], name: str = "predictor"
                   ) -> list[dict]:
    """Two rows per dataset for a ranking table: ``{'dataset', name, 'tau'}`` of
    :data:`TWO_RUNS` (measured) and :data:`CEILING` (estimated), from
    :func:`nb201_seed_agreement`'s result, so every table of Kendall taus shows how far
    ranking can go beside what the predictors reached."""
    rows = []
    for dataset, figures in agreement.items():
        rows.append({"dataset": dataset, name: TWO_RUNS, "tau": figures["tau_pair"]})
        rows.append({"dataset": dataset, name: CEILING, "tau": figures["ceiling"]})
    return rows


def nb201_seed_agreement(datasets=("cifar10-valid", "cifar100", "ImageNet16-120"),
                         data_dir=None, **kwargs) -> dict[str, dict[str, float]]:
    """:func:`seed_agreement` of the 200-epoch validation accuracy of each dataset, read from
    ``nb201/nb201_seeds.csv.gz`` of the data directory (``FileNotFoundError`` naming the file
    when it is not there, e.g. on the embedded source)."""
    from nar_utils.benchmarks.compat import per_seed_values

    return {dataset: seed_agreement(per_seed_values(data_dir, dataset, "valid-accuracy"),
                                    **kwargs)
            for dataset in datasets}


__all__ = ["CEILING", "SEEDS", "TWO_RUNS", "nb201_seed_agreement", "reference_rows",
           "seed_agreement"]
