"""Ranking metrics for architecture predictors.

All functions take 1-D arrays over the same architectures, ``y_true`` (a measured quantity,
higher = better, e.g. validation accuracy) and ``y_pred`` (a predictor's score, higher =
better), and never depend on the order in which the architectures are listed, except where a
tie has to be broken (``precision_at_k``, ``tiers_from_scores``): there the architecture
listed first wins, so results are deterministic.

================================  ================================================================
function                          what
================================  ================================================================
:func:`kendall_tau`               Kendall tau-b (ties in either argument handled), O(N log N)
:func:`spearman_rho`              Spearman rho: Pearson correlation of average ranks
:func:`precision_at_k`            share of the true top-K found in the predicted top-K
:func:`n_at_k`                    best true rank (1-based) among the predicted top-K
:func:`tiers_from_scores`         equal-size quality tiers, tier 0 = best
:func:`tier_accuracy`             share of architectures put in their true tier
:func:`tier_confusion`            ``(n_tiers, n_tiers)`` counts, row = true tier
================================  ================================================================

Reference for tau-b: M. G. Kendall, "The treatment of ties in ranking problems", Biometrika
33 (1945); the counting of discordant pairs by inversions follows W. R. Knight, "A computer
method for calculating Kendall's tau with ungrouped data", JASA 61 (1966).
"""
from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both arguments as float64 1-D arrays of one length, free of NaN."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(f"expected 1-D arrays, got shapes {y_true.shape} and {y_pred.shape}")
    if len(y_true) != len(y_pred):
        raise ValueError(f"arrays differ in length: {len(y_true)} and {len(y_pred)}")
    if np.isnan(y_true).any() or np.isnan(y_pred).any():
        raise ValueError("NaN in the input; drop those architectures first")
    return y_true, y_pred


def _tied_pairs(values: np.ndarray) -> int:
    """Number of pairs with equal values."""
    _, counts = np.unique(values, return_counts=True)
    return int((counts * (counts - 1) // 2).sum())


def _dense_ranks(values: np.ndarray) -> np.ndarray:
    """0-based dense ranks (equal values share a rank)."""
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


def _count_inversions(values: np.ndarray) -> int:
    """Pairs ``i < j`` with ``values[i] > values[j]`` (strictly), by a vectorised merge sort.

    At each level, runs of length ``width`` are already sorted; for each pair of neighbouring
    runs (left, right) the number of left elements strictly above each right element is read
    off with one ``searchsorted`` over all runs at once (run ids are added to the values, so
    the concatenation of all left runs is globally sorted).
    """
    n = len(values)
    ranks = _dense_ranks(values)  # integers 0..n-1, so run_id * n + rank cannot collide
    inversions = 0
    width = 1
    while width < n:
        position = np.arange(n)
        pair_id = position // (2 * width)
        in_right = (position // width) % 2 == 1
        keys = pair_id * n + ranks
        left_keys = keys[~in_right]
        right_keys = keys[in_right]
        # Left elements <= a right element, counted over all left runs up to its own pair ...
        at_most = np.searchsorted(left_keys, right_keys, side="right")
        # ... minus those of earlier pairs: the start of its own left run in left_keys.
        right_pairs = pair_id[in_right]
        left_start = np.searchsorted(pair_id[~in_right], right_pairs, side="left")
        left_length = np.minimum(width, n - right_pairs * 2 * width)
        inversions += int((left_length - (at_most - left_start)).sum())
        # Merge: sort within runs of length 2 * width.
        order = np.argsort(keys, kind="stable")
        ranks = ranks[order]
        width *= 2
    return inversions


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b between two score vectors; ties in either are allowed.

    ``tau_b = (C - D) / sqrt((P - T_true) * (P - T_pred))`` with C and D the concordant and
    discordant pairs, P all pairs, and T the pairs tied in one argument. Agrees with
    ``scipy.stats.kendalltau`` (its default, variant 'b'). Returns NaN when either argument is
    constant (the coefficient is undefined), as scipy does. O(N log N).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    n = len(y_true)
    if n < 2:
        return float("nan")
    # Sort by y_true, breaking ties by y_pred ascending: pairs tied in y_true then never count
    # as inversions of y_pred, and the inversions left are exactly the discordant pairs.
    order = np.lexsort((y_pred, y_true))
    discordant = _count_inversions(y_pred[order])
    all_pairs = n * (n - 1) // 2
    tied_true = _tied_pairs(y_true)
    tied_pred = _tied_pairs(y_pred)
    joint = np.stack([_dense_ranks(y_true), _dense_ranks(y_pred)], axis=1)
    _, joint_counts = np.unique(joint, axis=0, return_counts=True)
    tied_both = int((joint_counts * (joint_counts - 1) // 2).sum())
    untied = all_pairs - tied_true - tied_pred + tied_both  # = concordant + discordant
    denominator = np.sqrt(float(all_pairs - tied_true) * float(all_pairs - tied_pred))
    if denominator == 0:
        return float("nan")
    return float((untied - 2 * discordant) / denominator)


def average_ranks(values) -> np.ndarray:
    """1-based ranks, ties given the mean of the ranks they span (``scipy.stats.rankdata``)."""
    values = np.asarray(values, dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    # Ranks of the group g span first..first+count-1 where first = 1 + items below the group.
    first = np.concatenate([[1], 1 + np.cumsum(counts)[:-1]])
    return (first + (counts - 1) / 2.0)[inverse]


def spearman_rho(y_true, y_pred) -> float:
    """Spearman's rank correlation: Pearson correlation of the average ranks (ties included).

    Agrees with ``scipy.stats.spearmanr``; NaN when either argument is constant.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if len(y_true) < 2:
        return float("nan")
    rank_true = average_ranks(y_true) - (len(y_true) + 1) / 2
    rank_pred = average_ranks(y_pred) - (len(y_pred) + 1) / 2
    denominator = np.sqrt((rank_true**2).sum() * (rank_pred**2).sum())
    if denominator == 0:
        return float("nan")
    return float((rank_true * rank_pred).sum() / denominator)


def _check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k must be an int in 1..{n} (the number of architectures), got {k!r}")
    return int(k)


def top_k_indices(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first; equal scores keep their order."""
    scores = np.asarray(scores, dtype=np.float64)
    k = _check_k(k, len(scores))
    return np.argsort(-scores, kind="stable")[:k]


def precision_at_k(y_true, y_pred, k: int) -> float:
    """``|predicted top-K  intersect  true top-K| / K``.

    Both top-K sets break ties by listing order (see the module docstring), so with ties at
    the K-th place the value depends on that order; with distinct values it does not.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    k = _check_k(k, len(y_true))
    found = np.intersect1d(top_k_indices(y_pred, k), top_k_indices(y_true, k))
    return len(found) / k


def true_ranks(y_true) -> np.ndarray:
    """1-based rank of each architecture by ``y_true`` (1 = best); ties share the best rank."""
    y_true = np.asarray(y_true, dtype=np.float64)
    ascending = np.sort(y_true)
    # rank = 1 + number of strictly better architectures
    return 1 + len(y_true) - np.searchsorted(ascending, y_true, side="right")


def n_at_k(y_true, y_pred, k: int) -> int:
    """N@K: the best true rank (1-based, ties share the best rank) among the predicted top-K.

    1 means the predictor's top-K contains a truly best architecture. Equal predicted scores
    at the K-th place are broken by listing order.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    k = _check_k(k, len(y_true))
    return int(true_ranks(y_true)[top_k_indices(y_pred, k)].min())


def tiers_from_scores(y, n_tiers: int = 5, allow_empty_tiers: bool = False) -> np.ndarray:
    """Split architectures into ``n_tiers`` equal-size quality tiers; tier 0 = best.

    The architectures are sorted by ``y`` descending (equal values: listed order) and the
    ``i``-th of ``N`` goes to tier ``floor(i * n_tiers / N)``, so tier sizes differ by at most
    one (the paper's tiers 1..5 are indices 0..4 here). Fewer than ``n_tiers`` scores leave
    some tiers empty, which is an error unless ``allow_empty_tiers`` (a search scoring a
    small batch).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if isinstance(n_tiers, bool) or not isinstance(n_tiers, (int, np.integer)) or n_tiers < 1:
        raise ValueError(f"n_tiers must be a positive int, got {n_tiers!r}")
    if len(y) < n_tiers and not allow_empty_tiers:
        raise ValueError(f"need at least n_tiers={n_tiers} scores to fill every tier, "
                         f"got {len(y)}")
    if np.isnan(y).any():
        raise ValueError("NaN in y; drop those architectures first")
    order = np.argsort(-y, kind="stable")
    tiers = np.empty(len(y), dtype=np.int64)
    tiers[order] = np.arange(len(y)) * n_tiers // len(y)
    return tiers


def tier_accuracy(true_tiers, pred_tiers) -> float:
    """Share of architectures whose predicted tier equals their true tier."""
    true_tiers, pred_tiers = np.asarray(true_tiers), np.asarray(pred_tiers)
    if true_tiers.shape != pred_tiers.shape or true_tiers.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of one shape, got {true_tiers.shape} and "
                         f"{pred_tiers.shape}")
    return float((true_tiers == pred_tiers).mean())


def tier_confusion(true_tiers, pred_tiers, n_tiers: int = 5) -> np.ndarray:
    """``(n_tiers, n_tiers)`` int counts: entry ``[t, p]`` = architectures of true tier ``t``
    predicted in tier ``p``."""
    true_tiers = np.asarray(true_tiers, dtype=np.int64)
    pred_tiers = np.asarray(pred_tiers, dtype=np.int64)
    if true_tiers.shape != pred_tiers.shape or true_tiers.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of one shape, got {true_tiers.shape} and "
                         f"{pred_tiers.shape}")
    for name, tiers in (("true_tiers", true_tiers), ("pred_tiers", pred_tiers)):
        if len(tiers) and (tiers.min() < 0 or tiers.max() >= n_tiers):
            raise ValueError(f"{name} must lie in 0..{n_tiers - 1}, got values "
                             f"{tiers.min()}..{tiers.max()}")
    counts = np.zeros((n_tiers, n_tiers), dtype=np.int64)
    np.add.at(counts, (true_tiers, pred_tiers), 1)
    return counts


def ranking_report(y_true, y_pred, ks=(10, 50, 100)) -> dict[str, float]:
    """Kendall tau, Spearman rho, precision@K and N@K (for each K <= N) in one dict."""
    y_true, y_pred = _pair(y_true, y_pred)
    out: dict[str, float] = {"tau": kendall_tau(y_true, y_pred),
                             "rho": spearman_rho(y_true, y_pred)}
    for k in ks:
        if k <= len(y_true):
            out[f"precision@{k}"] = precision_at_k(y_true, y_pred, k)
            out[f"N@{k}"] = n_at_k(y_true, y_pred, k)
    return out


__all__ = [
    "average_ranks",
    "kendall_tau",
    "n_at_k",
    "precision_at_k",
    "ranking_report",
    "spearman_rho",
    "tier_accuracy",
    "tier_confusion",
    "tiers_from_scores",
    "top_k_indices",
    "true_ranks",
]
