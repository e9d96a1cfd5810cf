"""Learning-curve extrapolation: curve families, the BIC ensemble, its fallback and LcSVR."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from nar_utils.predictors import lce

EPOCHS = np.arange(1, 201, dtype=float)
HALF = 100

#: Parameters (percent) for which each family rises from low accuracy to a plateau over
#: epochs 1..200 and is identifiable from the first 100 epochs.
TRUE_PARAMS = {
    "pow3": (93.0, 60.0, 0.5),
    "log_power": (92.0, np.log(3.0), -1.2),
    "exp3": (91.0, 0.03, np.log(70.0)),
    "janoschek": (92.0, 15.0, 0.2, 0.6),
    "weibull": (90.0, 10.0, 0.02, 0.8),
    "mmf": (94.0, 10.0, 0.1, 1.2),
    "ilog2": (95.0, 40.0),
}

#: Noise-free data: rmse of a fit to the whole curve, in percent points.
RMSE_TOL = 1e-3
#: Noise-free data: error at epoch 200 of a fit to epochs 1..100, in percent points.
EXTRAPOLATION_TOL = 1e-2


def pow3_curve() -> np.ndarray:
    return lce.CURVE_FAMILIES["pow3"].func(EPOCHS, *TRUE_PARAMS["pow3"])


# == families ================================================================================
def test_the_domhan_families_are_all_there_with_consistent_bounds():
    assert set(TRUE_PARAMS) <= set(lce.CURVE_FAMILIES)
    for name, family in lce.CURVE_FAMILIES.items():
        assert family.name == name
        assert len(family.param_names) == len(family.lower) == len(family.upper)
        assert np.all(np.asarray(family.lower) < np.asarray(family.upper))


@pytest.mark.parametrize("name", sorted(TRUE_PARAMS))
def test_each_family_recovers_a_noise_free_curve_and_extrapolates_it(name):
    family = lce.CURVE_FAMILIES[name]
    truth = np.asarray(TRUE_PARAMS[name])
    assert np.all((truth >= family.lower) & (truth <= family.upper))
    y = family.func(EPOCHS, *truth)
    # a learning curve: rising from low accuracy towards its plateau
    assert y[0] < 50 and np.all(np.diff(y) > 0) and 80 < y[-1] < 100

    full = lce.fit_family(family, EPOCHS, y)
    assert full.success and full.family == name
    assert full.rmse < RMSE_TOL
    np.testing.assert_allclose(full.predict(EPOCHS), y, atol=10 * RMSE_TOL)

    prefix = lce.fit_family(name, EPOCHS[:HALF], y[:HALF])
    assert prefix.success and prefix.rmse < RMSE_TOL
    assert np.all((prefix.params >= family.lower) & (prefix.params <= family.upper))
    assert abs(prefix.predict(200.0) - y[-1]) < EXTRAPOLATION_TOL
    # the prefix determines the parameters, not just the curve
    np.testing.assert_allclose(prefix.params, truth, rtol=1e-3, atol=1e-6)


def test_fit_family_reports_numerical_trouble_instead_of_raising(monkeypatch):
    class NaNResult:
        x = np.array([np.nan, np.nan, np.nan])
        success = False

    monkeypatch.setattr(lce, "least_squares", lambda *args, **kwargs: NaNResult())
    fit = lce.fit_family("pow3", EPOCHS[:50], pow3_curve()[:50])
    assert not fit.success and fit.rmse == np.inf
    assert np.all(np.isnan(fit.predict([60.0, 200.0])))


def test_unknown_family_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown curve family 'pow9'.*'pow3'"):
        lce.fit_family("pow9", EPOCHS[:10], pow3_curve()[:10])
    with pytest.raises(ValueError, match="unknown curve family 'nope'"):
        lce.extrapolate(EPOCHS[:10], pow3_curve()[:10], 200, families=["pow3", "nope"])


# == ensemble ================================================================================
def test_ensemble_puts_its_weight_on_the_true_family_of_a_noise_free_curve():
    y = pow3_curve()
    result = lce.extrapolate(EPOCHS[:HALF], y[:HALF], [HALF, 200])
    assert not result.fallback
    assert max(result.weights, key=result.weights.get) == "pow3"
    assert result.weights["pow3"] > 0.99
    assert sum(result.weights.values()) == pytest.approx(1.0)
    assert set(result.fits) == set(lce.CURVE_FAMILIES)
    np.testing.assert_allclose(result.mean, y[[HALF - 1, 199]], atol=0.5)
    assert abs(result.mean[1] - y[-1]) < 0.01
    assert np.all((result.std > 0) & (result.std < 0.01))


def test_equally_good_fits_are_weighted_by_their_parameter_count():
    # exp3 curves are the delta = 1 members of janoschek and weibull: all three fit the
    # prefix exactly (below rmse_floor), and BIC prefers 3 parameters to 4 by sqrt(n) = 10.
    y = lce.CURVE_FAMILIES["exp3"].func(EPOCHS, *TRUE_PARAMS["exp3"])
    result = lce.extrapolate(EPOCHS[:HALF], y[:HALF], 200)
    for name in ("exp3", "janoschek", "weibull"):
        assert result.fits[name].rmse < 1e-3
    assert result.weights["exp3"] / result.weights["weibull"] == pytest.approx(10.0, rel=1e-6)
    assert result.weights["exp3"] / result.weights["janoschek"] == pytest.approx(10.0, rel=1e-6)
    assert abs(result.mean[0] - y[-1]) < EXTRAPOLATION_TOL


def test_ensemble_on_a_noisy_curve_covers_the_truth_within_three_std():
    y = pow3_curve()
    rng = np.random.default_rng(1)
    noisy = y + rng.normal(0.0, 0.5, size=len(y))
    result = lce.extrapolate(EPOCHS[:50], noisy[:50], [100, 200])
    assert not result.fallback
    # the residual noise alone gives std >= about 0.4 points
    assert np.all(result.std > 0.3)
    assert np.all(np.abs(result.mean - y[[99, 199]]) < 3 * result.std)
    assert result.target_epochs.tolist() == [100.0, 200.0]


def test_families_predicting_outside_0_100_at_a_target_are_dropped():
    y = pow3_curve()
    result = lce.extrapolate(EPOCHS[:HALF], y[:HALF], [1e-3, 200.0])
    # pow3 diverges to -inf near epoch 0, so its (perfect) fit cannot be used there
    assert result.fits["pow3"].success and "pow3" not in result.weights
    assert result.weights and not result.fallback
    assert np.all((result.mean >= 0) & (result.mean <= 100))


def test_when_every_fit_fails_it_falls_back_to_the_last_value(monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("overflow")

    monkeypatch.setattr(lce, "least_squares", broken)
    y = pow3_curve()[:30]
    result = lce.extrapolate(EPOCHS[:30], y, [100, 200])
    assert result.fallback and result.weights == {}
    np.testing.assert_array_equal(result.mean, [y[-1], y[-1]])
    assert np.all(np.isnan(result.std))
    assert all(not f.success and f.rmse == np.inf for f in result.fits.values())


def test_extrapolate_final_matches_extrapolate_row_by_row():
    y = pow3_curve()
    rng = np.random.default_rng(3)
    prefixes = np.stack([y[:20], y[:20] - 5.0, y[:20] + rng.normal(0.0, 0.3, 20)])
    families = ["pow3", "exp3", "mmf"]
    mean, std = lce.extrapolate_final(prefixes, EPOCHS[:20], 200, families=families)
    assert mean.shape == std.shape == (3,)
    for row, m, s in zip(prefixes, mean, std):
        one = lce.extrapolate(EPOCHS[:20], row, 200, families=families)
        assert one.mean[0] == m and one.std[0] == s
    assert abs(mean[0] - y[-1]) < 0.5
    with pytest.raises(ValueError, match=r"prefixes must be \(N, k\) with k = len\(epochs\)"):
        lce.extrapolate_final(prefixes, EPOCHS[:19], 200)


@pytest.mark.parametrize("epochs, values, match", [
    ([1, 2], [10.0, 20.0], "at least 3 observed points.*got 2"),
    ([1, 2, 3, 4], [10.0, 20.0, 30.0], "same length; got 4 epochs and 3 values"),
    ([1, 2, 2, 3], [10.0, 20.0, 30.0, 35.0], r"strictly increasing.*epochs\[2\] = 2 after 2"),
    ([0, 1, 2], [10.0, 20.0, 30.0], r"positive.*epochs\[0\] = 0"),
    ([1, 2, 3], [10.0, np.nan, 30.0], r"finite.*positions \[1\]"),
    ([1, 2, 3], [0.1, 0.2, 130.0], r"percent, within \[0, 100\]; got range \[0.1, 130\]"),
])
def test_bad_curves_are_refused_with_the_reason(epochs, values, match):
    with pytest.raises(ValueError, match=match):
        lce.extrapolate(epochs, values, 200)


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="target_epochs must be positive finite"):
        lce.extrapolate([1, 2, 3], [10.0, 20.0, 25.0], [-5])


# == LcSVR ===================================================================================
def synthetic_curves(n: int, seed: int) -> np.ndarray:
    """pow3 curves over epochs 1..200 with random plateau, scale and rate, plus noise."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(80.0, 95.0, n)
    a = rng.uniform(30.0, 70.0, n)
    alpha = rng.uniform(0.3, 1.2, n)
    curves = c[:, None] - a[:, None] * EPOCHS[None, :] ** (-alpha[:, None])
    return curves + rng.normal(0.0, 0.3, curves.shape)


@pytest.fixture(scope="module")
def curves():
    all_curves = synthetic_curves(200, seed=7)
    return all_curves[:150], all_curves[150:]


@pytest.fixture(scope="module")
def fitted_svr(curves):
    train, _ = curves
    return lce.LcSVR(20, seed=0).fit(train[:, :20], train[:, -1])


def test_lcsvr_ranks_held_out_finals_and_beats_the_last_prefix_value(curves, fitted_svr):
    _, test = curves
    pred = fitted_svr.predict(test)  # longer curves: only the first 20 epochs are read
    finals = test[:, -1]
    assert pred.shape == (50,)
    assert kendalltau(pred, finals)[0] > 0.8
    assert np.mean(np.abs(pred - finals)) < np.mean(np.abs(test[:, 19] - finals))
    assert set(fitted_svr.best_params_) == {"C", "gamma", "epsilon"}


def test_lcsvr_same_seed_same_predictions(curves, fitted_svr):
    train, test = curves
    again = lce.LcSVR(20, seed=0).fit(train[:, :20], train[:, -1])
    np.testing.assert_array_equal(again.predict(test[:, :20]), fitted_svr.predict(test[:, :20]))


def test_lcsvr_subsamples_long_prefixes_keeping_the_last_point(curves):
    train, _ = curves
    model = lce.LcSVR(50, seed=0, tune=False).fit(train[:, :50], train[:, -1])
    # 20 values + the two end differences
    assert model.model_.n_features_in_ == 22
    changed = train[:, :50].copy()
    changed[:, 48] += 5.0  # epoch 49 is skipped by the subsampling, but enters the slopes
    assert not np.array_equal(model.predict(changed), model.predict(train[:, :50]))


def test_lcsvr_uses_architecture_features_and_checks_their_width(curves):
    train, test = curves
    onehot = np.eye(3)[np.arange(150) % 3]
    shifted = train[:, -1] + 2.0 * (np.arange(150) % 3)
    model = lce.LcSVR(20, seed=0, tune=False).fit(train[:, :20], shifted, features=onehot)
    pred = model.predict(test[:, :20], features=np.eye(3)[np.arange(50) % 3])
    assert pred.shape == (50,)
    with pytest.raises(ValueError, match="features have 4 columns, but LcSVR was fitted with 3"):
        model.predict(test[:, :20], features=np.ones((50, 4)))
    with pytest.raises(ValueError, match="fitted with 3 architecture features"):
        model.predict(test[:, :20])
    plain = lce.LcSVR(20, seed=0, tune=False).fit(train[:, :20], train[:, -1])
    with pytest.raises(ValueError, match="fitted without architecture features"):
        plain.predict(test[:, :20], features=np.ones((50, 3)))


def test_lcsvr_refuses_short_prefixes_and_unfitted_use(curves):
    train, _ = curves
    with pytest.raises(ValueError, match=r"k >= prefix_epochs = 20; got shape \(150, 10\)"):
        lce.LcSVR(20).fit(train[:, :10], train[:, -1])
    with pytest.raises(ValueError, match="prefix_epochs must be an integer >= 3"):
        lce.LcSVR(2)
    with pytest.raises(RuntimeError, match="not fitted"):
        lce.LcSVR(20).predict(train[:, :20])
