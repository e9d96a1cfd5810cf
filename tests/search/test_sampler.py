"""NAR's tier-statistics sampler: divergences, histograms, constraints, budgets."""
from __future__ import annotations

import math

import numpy as np
import pytest
from test_search import BEST_OPS, Ridge, ToyBench

from nar_utils import metrics
from nar_utils.search import Ledger, sampler
from nar_utils.search.sampler import TierSamplerConfig, kl_divergence, tier_sampler_search


def toy_costs(op_codes):
    """Synthetic FLOPs and params: convolutions cost, 3x3 most."""
    codes = np.asarray(op_codes)
    flops = 9.0 * (codes == 3).sum(1) + 1.0 * (codes == 2).sum(1) + 0.5
    params = 2.0 * (codes >= 2).sum(1) + 0.1 * (codes == 1).sum(1)
    return flops, params


class TieredRidge(Ridge):
    """A ranker that also predicts tiers: 0 for a predicted label above 75, else 1..4."""

    def __init__(self):
        super().__init__()
        self.tier_calls = 0

    def predict_tiers(self, archs):
        self.tier_calls += 1
        scores = self.predict(archs)
        return np.where(scores > 75, 0, np.clip((80 - scores) // 5, 1, 4)).astype(int)


SMALL = dict(num_iterations=12, num_candidates=48, top_k=4)


# -- divergences ---------------------------------------------------------------------------
def test_kl_default_and_faithful_on_a_hand_worked_example():
    # Top tier (2, 0) against low tier (0, 2).
    # Proper KL, pseudo-count 1: p = (3/4, 1/4), q = (1/4, 3/4),
    #   KL = 3/4 ln 3 + 1/4 ln(1/3) = ln(3) / 2.
    # Faithful: p = softmax(2, 0), q = softmax(0, 2); KL(p || q) = (p1 - p2) * 2 = 2 tanh(1),
    #   divided by the 2 bins ('batchmean' over a 1-D tensor) = tanh(1).
    assert kl_divergence([2, 0], [0, 2]) == pytest.approx(math.log(3) / 2)
    assert kl_divergence([2, 0], [0, 2], faithful=True) == pytest.approx(math.tanh(1))
    # Equal proportions seen through different sample sizes: the proper KL is near zero,
    # the softmax of raw counts calls them different.
    assert kl_divergence([1, 3], [10, 30]) < 0.02
    assert kl_divergence([1, 3], [10, 30], faithful=True) > 0.9
    # Identical histograms: both zero.
    assert kl_divergence([4, 1, 0], [4, 1, 0]) == pytest.approx(0.0)
    assert kl_divergence([4, 1, 0], [4, 1, 0], faithful=True) == pytest.approx(0.0)


def test_faithful_divergence_matches_torch_kl_div_batchmean():
    torch = pytest.importorskip("torch")
    top, low = [5.0, 2.0, 0.0, 1.0, 0.0], [1.0, 1.0, 3.0, 0.0, 2.0]
    expected = torch.nn.functional.kl_div(
        torch.log_softmax(torch.tensor(low), -1), torch.log_softmax(torch.tensor(top), -1),
        reduction="batchmean", log_target=True).item()
    assert kl_divergence(top, low, faithful=True) == pytest.approx(expected, rel=1e-5)


def test_right_closed_bins_and_top_tier_rule():
    edges = sampler.bin_edges(np.arange(6.0), 5)
    np.testing.assert_allclose(edges, [0, 1, 2, 3, 4, 5])
    assert sampler.bin_index([0, 1, 1.5, 2, 5], edges).tolist() == [0, 0, 1, 1, 4]
    counts = np.array([[8, 2, 0], [3, 3, 4], [1, 1, 8]], dtype=float)
    dist = sampler.top_tier_distribution(counts, 0.1, (1, 2), min_top_fraction=0.1)
    np.testing.assert_allclose(dist, [0.8, 0.2, 0.0])
    assert sampler.top_tier_distribution(counts, 10.0, (1, 2), 0.1) is None  # too similar
    assert sampler.top_tier_distribution(counts, 0.1, (1, 2), 0.5) is None  # top too small


def test_quantile_tiers_are_equal_size_and_ordered():
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0])
    tiers = metrics.tiers_from_scores(scores, 5)
    assert np.bincount(tiers).tolist() == [2, 2, 2, 2, 2]
    assert set(np.flatnonzero(tiers == 0)) == {1, 6}


# -- the search ------------------------------------------------------------------------------
def test_constraints_hold_for_every_accepted_candidate():
    ledger = Ledger(ToyBench(), "toy", max_queries=400)
    config = TierSamplerConfig(**SMALL, reuse_step=5, max_trials=3)
    result = tier_sampler_search(ledger, Ridge(), 0, config, cost_fn=toy_costs,
                                 num_train_labels=40)
    flops, params = toy_costs(ledger.op_codes)
    constrained = 0
    for (accepted, f_bounds, p_bounds), record in zip(result.accepted, result.iterations):
        assert len(accepted) == record["accepted"] == len(f_bounds) == len(p_bounds)
        assert np.all(flops[accepted] <= f_bounds) and np.all(params[accepted] <= p_bounds)
        assert record["accepted"] + record["failures"] == 24  # 48 x (1 - 0.5) slots
        assert record["accepted"] + record["noisy"] == 48
        constrained += int(np.isfinite(f_bounds).sum())
    assert constrained > 100  # the bounds were real, not infinite
    assert result.num_failures > 0  # only 3 draws per slot: some slots must fail
    assert result.num_failures == sum(r["failures"] for r in result.iterations)
    assert result.num_slots == 12 * 24


def test_sampler_reads_only_bought_labels_and_respects_the_budget():
    audit: list = []
    ledger = Ledger(ToyBench(audit), "toy", max_queries=55)
    result = tier_sampler_search(ledger, Ridge(), 0, TierSamplerConfig(**SMALL),
                                 cost_fn=toy_costs, num_train_labels=40)
    assert result.outcome.stop_reason == "query budget" and ledger.num_queries == 55
    assert sorted(audit) == sorted(s.arch_index for s in ledger.trajectory)
    assert result.num_train_labels == 40
    assert [s.kind for s in ledger.trajectory[:40]] == ["train-label"] * 40


def test_sampler_finds_the_optimum_and_reports_both_statistics():
    for seed in (0, 1):
        ledger = Ledger(ToyBench(), "toy", max_queries=200)
        config = TierSamplerConfig(num_iterations=30)
        result = tier_sampler_search(ledger, Ridge(), seed, config, cost_fn=toy_costs,
                                     num_train_labels=40)
        optimum = ledger.index_of(np.array(BEST_OPS))
        assert ledger.best() == optimum, seed
        stats = sampler.compare_statistics(ledger, result, "toy")
        test = ToyBench().column("toy", "test-accuracy")
        picked = np.concatenate(result.picks)
        assert stats["oracle_test"] == pytest.approx(test[picked].max())
        assert stats["oracle_rank"] == int((test > test[picked].max()).sum()) + 1
        assert stats["ours_test"] == pytest.approx(test[optimum])
        assert stats["ours_queries"] == ledger.num_queries <= 200
        assert stats["train_labels"] == 40


def test_ranker_tiers_are_used_when_present():
    ranker = TieredRidge()
    ledger = Ledger(ToyBench(), "toy", max_queries=300)
    result = tier_sampler_search(ledger, ranker, 0, TierSamplerConfig(**SMALL),
                                 cost_fn=toy_costs, num_train_labels=40)
    assert ranker.tier_calls == 1 + len(result.iterations)  # warm-up + every iteration
    scores = ranker.predict(ledger.op_codes[np.concatenate(result.picks)])
    assert np.all(scores > 75)  # every pick was predicted in tier 0


def test_same_seed_same_sampler_run_and_faithful_changes_decisions():
    def run(seed, faithful):
        ledger = Ledger(ToyBench(), "toy", max_queries=300)
        result = tier_sampler_search(ledger, Ridge(), seed,
                                     TierSamplerConfig(**SMALL, faithful=faithful),
                                     cost_fn=toy_costs, num_train_labels=40)
        return [s.arch_index for s in ledger.trajectory], result

    first, result = run(3, False)
    again, _ = run(3, False)
    assert first == again
    _, faithful = run(3, True)
    uses = [[r["uses_top_tier"][k] for k in sampler.STATISTICS] for r in result.iterations]
    uses_faithful = [[r["uses_top_tier"][k] for k in sampler.STATISTICS]
                     for r in faithful.iterations]
    assert uses != uses_faithful


def test_default_costs_come_from_cellinfo():
    from nar_utils.spaces.nb201 import cellinfo

    ledger = Ledger(ToyBench(), "toy", max_queries=60)
    result = tier_sampler_search(ledger, Ridge(), 0, TierSamplerConfig(**SMALL),
                                 cost_dataset="cifar10-valid", num_train_labels=40)
    flops, params = cellinfo.network_totals("cifar10-valid", ledger.op_codes)
    for accepted, f_bounds, p_bounds in result.accepted:
        assert np.all(flops[accepted] <= f_bounds) and np.all(params[accepted] <= p_bounds)
    assert any(np.isfinite(f).any() for _, f, _ in result.accepted)


def test_bad_sampler_settings_raise():
    with pytest.raises(ValueError, match="noisy_fraction"):
        TierSamplerConfig(noisy_fraction=1.5)
    ledger = Ledger(ToyBench(), "toy", max_queries=10)
    with pytest.raises(ValueError, match="cost_fn"):
        tier_sampler_search(ledger, Ridge(), 0, cost_fn=lambda c: (np.ones(3), np.ones(3)))
