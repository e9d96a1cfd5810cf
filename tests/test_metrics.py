"""Ranking metrics: agreement with scipy.stats and hand-worked examples (ties included)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats

from nar_utils import metrics


def _brute_inversions(values) -> int:
    return sum(a > b for a, b in itertools.combinations(values, 2))


@pytest.mark.parametrize("seed", range(5))
def test_inversion_count_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    for n in (1, 2, 3, 7, 16, 33):
        values = rng.integers(0, 5, size=n).astype(float)
        assert metrics._count_inversions(values) == _brute_inversions(values)


def test_kendall_tau_agrees_with_scipy_with_and_without_ties():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 80))
        y_true = rng.integers(0, int(rng.integers(2, 9)), size=n).astype(float)
        y_pred = (rng.normal(size=n) if trial % 2 else
                  rng.integers(0, int(rng.integers(2, 9)), size=n).astype(float))
        expected = scipy.stats.kendalltau(y_true, y_pred).statistic
        got = metrics.kendall_tau(y_true, y_pred)
        if np.isnan(expected):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_large_input_agrees_with_scipy():
    rng = np.random.default_rng(1)
    y_true = np.round(rng.normal(size=5000), 2)  # many ties
    y_pred = y_true + rng.normal(size=5000)
    assert metrics.kendall_tau(y_true, y_pred) == pytest.approx(
        scipy.stats.kendalltau(y_true, y_pred).statistic, abs=1e-12)


def test_kendall_tau_hand_examples():
    # One swapped pair of 6: (5 concordant - 1 discordant) / 6.
    assert metrics.kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # Ties: pairs (0,1) tied in x, (1,2) tied in y, the other 4 concordant:
    # tau_b = 4 / sqrt((6 - 1) * (6 - 1)) = 0.8.
    assert metrics.kendall_tau([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(0.8)
    assert metrics.kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(metrics.kendall_tau([1, 1, 1], [1, 2, 3]))


def test_spearman_rho_agrees_with_scipy_and_hand_example():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(3, 60))
        y_true = rng.integers(0, 6, size=n).astype(float)
        y_pred = rng.normal(size=n)
        expected = scipy.stats.spearmanr(y_true, y_pred).statistic
        if not np.isnan(expected):
            assert metrics.spearman_rho(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    # ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): centred (-1.5, 0, 0, 1.5) and
    # (-1.5, -0.5, 0.5, 1.5) give 4.5 / sqrt(4.5 * 5).
    assert metrics.spearman_rho([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(
        4.5 / np.sqrt(4.5 * 5))
    np.testing.assert_allclose(metrics.average_ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1])


def test_precision_and_n_at_k_hand_examples():
    y_true = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    y_pred = np.array([1.0, 4.0, 3.0, 2.0, 5.0])  # predicted order: 4, 1, 2, 3, 0
    assert metrics.precision_at_k(y_true, y_pred, 1) == 0.0
    assert metrics.precision_at_k(y_true, y_pred, 2) == 0.5  # {4, 1} vs {0, 1}
    assert metrics.precision_at_k(y_true, y_pred, 5) == 1.0
    assert metrics.n_at_k(y_true, y_pred, 1) == 5  # predicted best is the true worst
    assert metrics.n_at_k(y_true, y_pred, 2) == 2
    assert metrics.n_at_k(y_true, y_true, 1) == 1


def test_true_ranks_share_the_best_rank_on_ties():
    np.testing.assert_array_equal(metrics.true_ranks([3.0, 3.0, 1.0, 5.0]), [2, 2, 4, 1])
    # Predicted top-1 is index 1, tied with index 0 for the true second place.
    assert metrics.n_at_k([3.0, 3.0, 1.0, 5.0], [0.0, 9.0, 1.0, 2.0], 1) == 2


def test_tiers_from_scores_are_equal_size_best_first():
    y = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6, 0.0])
    tiers = metrics.tiers_from_scores(y, 5)
    np.testing.assert_array_equal(np.bincount(tiers), [2, 2, 2, 2, 2])
    assert tiers[1] == 0 and tiers[6] == 0  # 0.9 and 0.8 are the best tier
    assert tiers[9] == 4
    # 7 items into 3 tiers: sizes differ by at most one; ties broken by listing order.
    tiers = metrics.tiers_from_scores([1, 1, 1, 1, 1, 1, 1], 3)
    np.testing.assert_array_equal(tiers, [0, 0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="at least n_tiers"):
        metrics.tiers_from_scores([1.0, 2.0], 5)


def test_tier_accuracy_and_confusion():
    true_tiers = np.array([0, 0, 1, 2, 2])
    pred_tiers = np.array([0, 1, 1, 2, 0])
    assert metrics.tier_accuracy(true_tiers, pred_tiers) == pytest.approx(3 / 5)
    confusion = metrics.tier_confusion(true_tiers, pred_tiers, n_tiers=3)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="0..2"):
        metrics.tier_confusion([0, 3], [0, 0], n_tiers=3)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        metrics.spearman_rho([1, np.nan, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="k must be an int in 1..3"):
        metrics.precision_at_k([1, 2, 3], [1, 2, 3], 4)


def test_ranking_report_keys():
    rng = np.random.default_rng(3)
    y = rng.normal(size=60)
    report = metrics.ranking_report(y, y, ks=(10, 50, 100))
    assert report["tau"] == pytest.approx(1.0) and report["rho"] == pytest.approx(1.0)
    assert report["precision@10"] == 1.0 and report["N@50"] == 1
    assert "precision@100" not in report  # K larger than N is skipped
