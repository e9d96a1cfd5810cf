"""The agreement of independent training runs and the ranking ceiling it sets."""
from __future__ import annotations

import numpy as np
import pytest

from nar_utils.benchmarks import noise


def simulated_runs(n=3000, noise_std=0.5, seeds=3, seed=0):
    """Cells with a spread-out true accuracy and Gaussian run-to-run noise; the third run
    is missing for every other cell, as in NAS-Bench-201."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(80.0, 3.0, size=n)
    runs = truth[:, None] + noise_std * rng.standard_normal((n, seeds))
    runs[::2, 2] = np.nan
    return truth, runs


def test_noiseless_runs_agree_perfectly():
    truth, runs = simulated_runs(noise_std=0.0)
    out = noise.seed_agreement(runs, repeats=2)
    assert out["tau_pair"] == pytest.approx(1.0)
    assert out["tau_run_vs_rest"] == pytest.approx(1.0)
    assert out["ceiling"] == pytest.approx(1.0)
    assert out["noise_std"] == pytest.approx(0.0, abs=1e-9)
    assert out["cells"] == 3000 and out["cells_three_runs"] == 1500


def test_noise_model_reproduces_the_measured_pair_and_estimates_the_true_ceiling():
    truth, runs = simulated_runs(noise_std=1.0)
    out = noise.seed_agreement(runs, repeats=3)
    # The model simulates what can be measured ...
    assert out["tau_pair_model"] == pytest.approx(out["tau_pair"], abs=0.01)
    assert out["noise_std"] == pytest.approx(1.0, abs=0.05)
    # ... and its ceiling is the tau of the true accuracy against the mean label.
    label = np.nanmean(runs, axis=1)
    from nar_utils import metrics

    assert out["ceiling"] == pytest.approx(metrics.kendall_tau(label, truth), abs=0.01)
    # Averaging runs brings the label closer to the truth than a single run.
    assert out["tau_pair"] < out["tau_run_vs_rest"] < out["ceiling"] < 1.0


def test_more_noise_lowers_every_figure():
    quiet = noise.seed_agreement(simulated_runs(noise_std=0.3)[1], repeats=2)
    loud = noise.seed_agreement(simulated_runs(noise_std=2.0)[1], repeats=2)
    for key in ("tau_pair", "tau_run_vs_rest", "ceiling"):
        assert loud[key] < quiet[key] - 0.05


@pytest.mark.parametrize("runs, message", [
    (np.ones(5), "at least 2 seeds"),
    (np.ones((4, 1)), "at least 2 seeds"),
    (np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]]), "first two seed columns"),
    (np.array([[1.0, np.nan, np.nan], [1.0, 2.0, 3.0]]), "fewer than 2 runs"),
])
def test_bad_runs_are_refused_with_the_reason(runs, message):
    with pytest.raises(ValueError, match=message):
        noise.seed_agreement(runs)


def test_nb201_seed_agreement_matches_the_data_readme(data_dir):
    out = noise.nb201_seed_agreement(data_dir=data_dir, repeats=1)
    # The data directory's README: seed 777 vs 888 agree at tau 0.91 / 0.89 / 0.91.
    assert [round(out[d]["tau_pair"], 2) for d in out] == [0.91, 0.89, 0.91]
    for figures in out.values():
        assert figures["tau_pair_model"] == pytest.approx(figures["tau_pair"], abs=0.01)
        assert figures["tau_pair"] < figures["ceiling"] < 1.0


def test_nb201_seed_agreement_needs_the_per_seed_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nb201_seeds.csv.gz"):
        noise.nb201_seed_agreement(data_dir=tmp_path)


def test_reference_rows_put_the_agreement_into_a_ranking_table():
    agreement = {"cifar100": {"tau_pair": 0.89, "ceiling": 0.95}}
    rows = noise.reference_rows(agreement, name="ranker")
    assert rows == [{"dataset": "cifar100", "ranker": noise.TWO_RUNS, "tau": 0.89},
                    {"dataset": "cifar100", "ranker": noise.CEILING, "tau": 0.95}]
