"""Learning-curve extrapolation (LCE): predict a network's final accuracy from its first epochs.

Two predictors of the kind NAS-Bench-x11's LCE framework combines with a surrogate of the
learning curves:

* :func:`extrapolate` fits a set of parametric curve families (:data:`CURVE_FAMILIES`, the
  set of Domhan et al.) to an observed prefix of one learning curve, weights them by how well
  each explains the prefix (BIC weights) and returns the weighted mean prediction at any
  target epochs with an uncertainty; :func:`extrapolate_final` does it for many curves.
* :class:`LcSVR` is the learning-curve support vector regressor of Baker et al.: trained on
  complete curves, it maps the first epochs of a curve (values and end slopes, optionally
  architecture features) to the final accuracy.

Units: a curve is a sequence of accuracies in percent (0..100) observed at epochs, which are
1-based, strictly increasing numbers (usually the integers 1..k). Every parameter, prediction
and root-mean-square error below is in percent as well.

The parametric fits are written here rather than taken from a library: no maintained package
fits ensembles of parametric learning curves (pylrpredictor, the code of Domhan et al., is
unmaintained and samples the curves by MCMC), while bounded least squares
(:func:`scipy.optimize.least_squares`) started from a deterministic grid search is
deterministic and takes milliseconds per family.

References:

* T. Domhan, J. T. Springenberg, F. Hutter, "Speeding up automatic hyperparameter
  optimization of deep neural networks by extrapolation of learning curves", IJCAI 2015.
* B. Baker, O. Gupta, R. Raskar, N. Naik, "Accelerating neural architecture search using
  performance prediction", ICLR Workshop 2018 (LcSVR).
* S. Yan, C. White, Y. Savani, F. Hutter, "NAS-Bench-x11 and the power of learning curves",
  NeurIPS 2021.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

__all__ = ["CURVE_FAMILIES", "CurveFamily", "Extrapolation", "FamilyFit", "LcSVR",
           "extrapolate", "extrapolate_final", "fit_family"]

_NUMERICAL_ERRORS = (ValueError, FloatingPointError, OverflowError, ZeroDivisionError,
                     ArithmeticError, np.linalg.LinAlgError, RuntimeError)


# == curve families ==========================================================================
@dataclass(frozen=True)
class CurveFamily:
    """One parametric learning-curve model ``y = func(x, *params)``, in percent.

    ``func(x, *params)`` is vectorised over the epochs ``x`` (a float array; the parameters
    broadcast as well, which the grid search of ``initial`` uses). ``initial(epochs, values)``
    gives a data-driven starting point inside ``[lower, upper]``; the bounds keep asymptotes
    within [0, 100] and rates and exponents positive, so that every curve in the family rises
    to a plateau.
    """

    name: str
    func: Callable[..., np.ndarray]
    param_names: tuple[str, ...]
    initial: Callable[[np.ndarray, np.ndarray], np.ndarray]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    @property
    def n_params(self) -> int:
        return len(self.param_names)


def _pow3(x, c, a, alpha):
    return c - a * x ** (-alpha)


def _log_power(x, a, b, c):
    return a / (1.0 + (x / np.exp(b)) ** c)


def _exp3(x, c, a, b):
    return c - np.exp(-a * x + b)


def _janoschek(x, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) * np.exp(-kappa * x ** delta)


def _weibull(x, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) * np.exp(-(kappa * x) ** delta)


def _mmf(x, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) / (1.0 + (kappa * x) ** delta)


def _ilog2(x, c, a):
    return c - a / np.log(x + 1.0)


# Grids of the non-linear parameters; the parameters that enter linearly are solved for at
# each grid point (variable projection), and the best point starts the local fit.
_DELTAS = np.array([0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])
_ALPHAS = np.geomspace(0.01, 4.0, 24)


def _time_scales(x: np.ndarray) -> np.ndarray:
    """Candidate time constants (epochs) from a quarter of the first to 20x the last epoch."""
    return np.geomspace(max(x[0], 1e-3) / 4.0, 20.0 * x[-1], 16)


def _solve_linear(basis: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients ``(G, m)`` of ``y`` on each of ``G`` bases ``(G, n, m)``."""
    gram = np.einsum("gni,gnj->gij", basis, basis)
    gram += 1e-12 * np.trace(gram, axis1=1, axis2=2)[:, None, None] * np.eye(basis.shape[2])
    rhs = np.einsum("gni,n->gi", basis, y)
    with np.errstate(all="ignore"):
        try:
            return np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return np.stack([np.linalg.lstsq(b, y, rcond=None)[0] for b in basis])


def _best_of_grid(func: Callable[..., np.ndarray], candidates: np.ndarray, lower: Sequence,
                  upper: Sequence, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The candidate parameter row (clipped into the bounds) with the least squared error."""
    candidates = np.clip(np.nan_to_num(candidates, nan=0.0, posinf=1e300, neginf=-1e300),
                         lower, upper)
    with np.errstate(all="ignore"):
        pred = func(x[None, :], *(candidates.T[:, :, None]))
        sse = np.sum((pred - y[None, :]) ** 2, axis=1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    return candidates[int(np.argmin(sse))]


def _grid_2d(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(first, second, indexing="ij")
    return a.ravel(), b.ravel()


def _init_pow3(x, y):
    alpha = _ALPHAS
    basis = np.stack([np.ones((len(alpha), len(x))), -x[None, :] ** (-alpha[:, None])], -1)
    c, a = _solve_linear(basis, y).T
    return _best_of_grid(_pow3, np.column_stack([c, a, alpha]), *_POW3_BOUNDS, x, y)


def _init_log_power(x, y):
    scale, delta = _grid_2d(_time_scales(x), _DELTAS)
    b, c = np.log(scale), -delta
    shape = 1.0 / (1.0 + (x[None, :] / scale[:, None]) ** c[:, None])
    (a,) = _solve_linear(shape[..., None], y).T
    return _best_of_grid(_log_power, np.column_stack([a, b, c]), *_LOG_POWER_BOUNDS, x, y)


def _init_exp3(x, y):
    a = 1.0 / _time_scales(x)
    basis = np.stack([np.ones((len(a), len(x))), -np.exp(-a[:, None] * x[None, :])], -1)
    c, scale = _solve_linear(basis, y).T
    b = np.log(np.maximum(scale, 1e-300))
    return _best_of_grid(_exp3, np.column_stack([c, a, b]), *_EXP3_BOUNDS, x, y)


def _init_saturating(func, decay, bounds, kappa_of):
    """Initialiser of ``alpha - (alpha - beta) * decay(x)``: linear in (alpha, beta)."""
    def initial(x, y):
        scale, delta = _grid_2d(_time_scales(x), _DELTAS)
        kappa = kappa_of(scale, delta)
        with np.errstate(all="ignore"):
            d = decay(x[None, :], kappa[:, None], delta[:, None])
        basis = np.stack([1.0 - d, d], -1)
        alpha, beta = _solve_linear(basis, y).T
        return _best_of_grid(func, np.column_stack([alpha, beta, kappa, delta]), *bounds, x, y)
    return initial


def _init_ilog2(x, y):
    basis = np.stack([np.ones_like(x), -1.0 / np.log(x + 1.0)], -1)[None]
    c, a = _solve_linear(basis, y).T
    return _best_of_grid(_ilog2, np.column_stack([c, a]), *_ILOG2_BOUNDS, x, y)


_POW3_BOUNDS = ((0.0, 0.0, 1e-3), (100.0, 1000.0, 5.0))
_LOG_POWER_BOUNDS = ((0.0, -5.0, -10.0), (100.0, 12.0, -1e-3))
_EXP3_BOUNDS = ((0.0, 1e-6, -50.0), (100.0, 10.0, 50.0))
_JANOSCHEK_BOUNDS = ((0.0, -100.0, 1e-15, 0.05), (100.0, 100.0, 100.0, 5.0))
_WEIBULL_BOUNDS = ((0.0, -100.0, 1e-6, 0.05), (100.0, 100.0, 10.0, 5.0))
_MMF_BOUNDS = _WEIBULL_BOUNDS
_ILOG2_BOUNDS = ((0.0, 0.0), (100.0, 1000.0))

CURVE_FAMILIES: dict[str, CurveFamily] = {f.name: f for f in (
    CurveFamily("pow3", _pow3, ("c", "a", "alpha"), _init_pow3, *_POW3_BOUNDS),
    CurveFamily("log_power", _log_power, ("a", "b", "c"), _init_log_power, *_LOG_POWER_BOUNDS),
    CurveFamily("exp3", _exp3, ("c", "a", "b"), _init_exp3, *_EXP3_BOUNDS),
    CurveFamily("janoschek", _janoschek, ("alpha", "beta", "kappa", "delta"),
                _init_saturating(_janoschek, lambda x, k, d: np.exp(-k * x ** d),
                                 _JANOSCHEK_BOUNDS, lambda s, d: s ** (-d)),
                *_JANOSCHEK_BOUNDS),
    CurveFamily("weibull", _weibull, ("alpha", "beta", "kappa", "delta"),
                _init_saturating(_weibull, lambda x, k, d: np.exp(-(k * x) ** d),
                                 _WEIBULL_BOUNDS, lambda s, d: 1.0 / s),
                *_WEIBULL_BOUNDS),
    CurveFamily("mmf", _mmf, ("alpha", "beta", "kappa", "delta"),
                _init_saturating(_mmf, lambda x, k, d: 1.0 / (1.0 + (k * x) ** d),
                                 _MMF_BOUNDS, lambda s, d: 1.0 / s),
                *_MMF_BOUNDS),
    CurveFamily("ilog2", _ilog2, ("c", "a"), _init_ilog2, *_ILOG2_BOUNDS),
)}
"""The curve families by name, all in percent against epochs ``x`` (asymptote in brackets):

* ``pow3``: ``c - a * x**(-alpha)`` (``c``)
* ``log_power``: ``a / (1 + (x / exp(b))**c)`` with ``c < 0`` (``a``)
* ``exp3``: ``c - exp(-a * x + b)`` (``c``)
* ``janoschek``: ``alpha - (alpha - beta) * exp(-kappa * x**delta)`` (``alpha``)
* ``weibull``: ``alpha - (alpha - beta) * exp(-(kappa * x)**delta)`` (``alpha``)
* ``mmf``: ``alpha - (alpha - beta) / (1 + (kappa * x)**delta)`` (``alpha``)
* ``ilog2``: ``c - a / log(x + 1)`` (``c``)

``janoschek`` and ``weibull`` describe the same curves (``kappa_janoschek =
kappa_weibull**delta``) and differ only in their bounds; both are kept, as in Domhan et al.,
so that shape enters the ensemble twice and shares its weight between the two names.
"""


# == fitting one family ======================================================================
@dataclass(frozen=True, eq=False)
class FamilyFit:
    """The least-squares fit of one curve family to one observed curve.

    ``rmse`` is the root-mean-square residual on the fitted points, in percent; ``success``
    says that the optimiser returned finite parameters with a finite residual (a failed fit
    has ``rmse = inf``). ``converged`` is the optimiser's own convergence flag (false when it
    stopped at ``max_nfev``, which a usable fit may still do).
    """

    family: str
    params: np.ndarray
    rmse: float
    success: bool
    n_points: int
    n_params: int
    converged: bool = False
    func: Callable[..., np.ndarray] = field(default=None, repr=False)

    def predict(self, epochs: Any) -> np.ndarray:
        """The fitted curve at ``epochs`` (percent); all NaN for a failed fit."""
        x = np.asarray(epochs, dtype=float)
        if not self.success:
            return np.full(x.shape, np.nan)
        with np.errstate(all="ignore"):
            return np.asarray(self.func(x, *self.params), dtype=float) + np.zeros(x.shape)


def _check_curve(epochs: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(epochs, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"epochs and values must be 1-D; got shapes {x.shape} and {y.shape}: "
                         "pass one learning curve at a time (extrapolate_final takes many)")
    if len(x) != len(y):
        raise ValueError(f"epochs and values must have the same length; got {len(x)} epochs "
                         f"and {len(y)} values: pass one value per observed epoch")
    if len(x) < 3:
        raise ValueError(f"need at least 3 observed points to fit a learning curve; got "
                         f"{len(x)}: observe more epochs before extrapolating")
    if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise ValueError("epochs and values must be finite; got NaN or inf at positions "
                         f"{np.flatnonzero(~(np.isfinite(x) & np.isfinite(y))).tolist()}: "
                         "drop the unobserved epochs")
    if x[0] <= 0 or np.any(np.diff(x) <= 0):
        bad = np.flatnonzero(np.diff(x) <= 0)
        where = f"epochs[{bad[0] + 1}] = {x[bad[0] + 1]:g} after {x[bad[0]]:g}" if len(bad) \
            else f"epochs[0] = {x[0]:g}"
        raise ValueError(f"epochs must be positive and strictly increasing (1-based); got "
                         f"{where}: sort the curve and number epochs from 1")
    if y.min() < 0 or y.max() > 100:
        raise ValueError(f"values must be accuracies in percent, within [0, 100]; got range "
                         f"[{y.min():g}, {y.max():g}]: rescale them to percent")
    return x, y


def _start_points(family: CurveFamily, x: np.ndarray, y: np.ndarray,
                  n_starts: int) -> list[np.ndarray]:
    """The grid-search start, then deterministic perturbations of it (+-25 %, alternating)."""
    lower, upper = np.asarray(family.lower), np.asarray(family.upper)
    try:
        with np.errstate(all="ignore"):
            first = np.asarray(family.initial(x, y), dtype=float)
        if first.shape != lower.shape or not np.all(np.isfinite(first)):
            raise ValueError(f"bad start {first!r}")
    except _NUMERICAL_ERRORS:
        first = np.where(np.isfinite(lower) & np.isfinite(upper), (lower + upper) / 2, 1.0)
    starts = [np.clip(first, lower, upper)]
    signs = (-1.0) ** np.arange(len(lower))
    for r in range(1, n_starts):
        factor = 1.0 + 0.25 * math.ceil(r / 2) * signs * (1 if r % 2 else -1)
        starts.append(np.clip(first * factor, lower, upper))
    return starts


def fit_family(family: CurveFamily | str, epochs: Any, values: Any, *, n_starts: int = 3,
               max_nfev: int = 200, rmse_tol: float = 1e-6) -> FamilyFit:
    """Fit one curve family to a learning curve by bounded least squares.

    The start is :attr:`CurveFamily.initial` (a grid search over the non-linear parameters
    with the linear ones solved exactly); ``n_starts - 1`` further starts perturb it
    deterministically, and the fit with the least residual wins. Each start runs
    :func:`scipy.optimize.least_squares` (trust-region reflective, ``x_scale='jac'``) for at
    most ``max_nfev`` evaluations; restarts stop once the rmse falls below ``rmse_tol``.
    Numerical trouble never raises: it gives ``success=False`` and ``rmse=inf``.
    """
    if isinstance(family, str):
        family = _family_by_name(family)
    if n_starts < 1 or max_nfev < 1:
        raise ValueError(f"n_starts and max_nfev must be >= 1; got {n_starts} and {max_nfev}")
    x, y = _check_curve(epochs, values)
    lower, upper = np.asarray(family.lower, float), np.asarray(family.upper, float)

    def residuals(p):
        r = family.func(x, *p) - y
        return np.where(np.isfinite(r), r, 1e6)

    best_p, best_cost, converged = None, np.inf, False
    with np.errstate(all="ignore"):
        for x0 in _start_points(family, x, y, n_starts):
            try:
                result = least_squares(residuals, x0, bounds=(lower, upper), method="trf",
                                       x_scale="jac", max_nfev=max_nfev)
                p = np.asarray(result.x, dtype=float)
                cost = float(np.mean((family.func(x, *p) - y) ** 2))
            except _NUMERICAL_ERRORS:
                continue
            if np.all(np.isfinite(p)) and np.isfinite(cost) and cost < best_cost:
                best_p, best_cost, converged = p, cost, bool(result.success)
            if best_cost <= rmse_tol ** 2:
                break
    if best_p is None:
        return FamilyFit(family.name, np.full(len(lower), np.nan), math.inf, False, len(x),
                         family.n_params, False, family.func)
    return FamilyFit(family.name, best_p, math.sqrt(best_cost), True, len(x), family.n_params,
                     converged, family.func)


def _family_by_name(name: str) -> CurveFamily:
    try:
        return CURVE_FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown curve family {name!r}: choose from "
                         f"{sorted(CURVE_FAMILIES)} or pass a CurveFamily") from None


# == the ensemble ============================================================================
@dataclass(frozen=True, eq=False)
class Extrapolation:
    """The ensemble prediction of :func:`extrapolate` at ``target_epochs``, in percent.

    ``weights`` maps each family kept in the ensemble to its weight (they sum to one);
    ``fits`` holds every family's fit, kept or not. With ``fallback=True`` no family gave a
    usable fit: ``mean`` is the last observed value, ``std`` is NaN and ``weights`` is empty.
    """

    target_epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    weights: dict[str, float]
    fits: dict[str, FamilyFit]
    fallback: bool = False


def _resolve_families(families: Iterable[str | CurveFamily] | None) -> list[CurveFamily]:
    if families is None:
        return list(CURVE_FAMILIES.values())
    if isinstance(families, (str, CurveFamily)):
        families = [families]
    chosen = [f if isinstance(f, CurveFamily) else _family_by_name(f) for f in families]
    if not chosen:
        raise ValueError(f"families is empty: pass None (all of {sorted(CURVE_FAMILIES)}) or "
                         "at least one family")
    return chosen


def _bic_weights(fits: Sequence[FamilyFit], rmse_floor: float) -> np.ndarray:
    n = np.array([f.n_points for f in fits], dtype=float)
    p = np.array([f.n_params for f in fits], dtype=float)
    sigma2 = np.maximum(np.array([f.rmse for f in fits]), rmse_floor) ** 2
    bic = n * np.log(sigma2) + p * np.log(n)
    w = np.exp(-(bic - bic.min()) / 2.0)
    return w / w.sum()


def extrapolate(epochs: Any, values: Any, target_epochs: Any,
                families: Iterable[str | CurveFamily] | None = None, *,
                rmse_floor: float = 1e-3, n_starts: int = 3,
                max_nfev: int = 200) -> Extrapolation:
    """Extrapolate one learning curve with a BIC-weighted ensemble of curve families.

    Every family in ``families`` (default: all of :data:`CURVE_FAMILIES`) is fitted to the
    observed curve by :func:`fit_family`. A family is dropped when its fit failed or when its
    prediction at any target epoch is non-finite or outside [0, 100]. The others are weighted
    by their Bayesian information criterion under Gaussian residuals of the family's own
    variance ``sigma_k^2 = max(rmse_k, rmse_floor)^2``::

        BIC_k = n log(sigma_k^2) + p_k log(n),     w_k = exp(-BIC_k / 2) / sum_j exp(-BIC_j / 2)

    with ``n`` observed points and ``p_k`` parameters: an approximation of the posterior
    model probability that trades goodness of fit against the number of parameters (Domhan
    et al. instead sample a weighted combination by MCMC, which is slower and random). The
    floor ``rmse_floor`` (percent) makes families that fit the prefix equally well up to
    that precision compete on their parameter count only.

    ``mean`` is the weighted mean of the families' predictions and ``std`` combines the
    between-family variance with the residual variance,
    ``std^2 = sum_k w_k (m_k - mean)^2 + sum_k w_k sigma_k^2``. It leaves out the
    uncertainty of each family's parameters, so on short noisy prefixes it can be too small.

    ``target_epochs`` may be any positive epochs: beyond the last observed epoch the curve is
    extrapolated, inside the observed range it is smoothed; before the first observed epoch
    the families are unreliable. When no family survives, the result falls back to the last
    observed value with ``std = NaN`` and ``fallback=True``.
    """
    x, y = _check_curve(epochs, values)
    targets = np.atleast_1d(np.asarray(target_epochs, dtype=float))
    if targets.ndim != 1 or not np.all(np.isfinite(targets)) or np.any(targets <= 0):
        raise ValueError(f"target_epochs must be positive finite epochs (a scalar or 1-D); got "
                         f"{np.asarray(target_epochs)!r}: pass e.g. the final epoch")
    if not rmse_floor > 0:
        raise ValueError(f"rmse_floor must be > 0 (percent); got {rmse_floor!r}: try 1e-3")
    chosen = _resolve_families(families)
    fits = {f.name: fit_family(f, x, y, n_starts=n_starts, max_nfev=max_nfev)
            for f in chosen}
    kept, predictions = [], []
    for fit in fits.values():
        if not fit.success:
            continue
        pred = fit.predict(targets)
        if np.all(np.isfinite(pred)) and np.all((pred >= 0) & (pred <= 100)):
            kept.append(fit)
            predictions.append(pred)
    if not kept:
        return Extrapolation(targets, np.full(targets.shape, y[-1]), np.full(targets.shape,
                             np.nan), {}, fits, fallback=True)
    w = _bic_weights(kept, rmse_floor)
    pred = np.stack(predictions)
    mean = w @ pred
    residual = np.maximum(np.array([f.rmse for f in kept]), rmse_floor) ** 2
    var = w @ (pred - mean) ** 2 + w @ residual
    return Extrapolation(targets, mean, np.sqrt(var),
                         {f.family: float(wk) for f, wk in zip(kept, w)}, fits)


def extrapolate_final(prefixes: Any, epochs: Any, final_epoch: int,
                      families: Iterable[str | CurveFamily] | None = None,
                      **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`extrapolate` each row of ``prefixes`` ``(N, k)``, observed at ``epochs`` ``(k,)``,
    to ``final_epoch``; returns ``(mean, std)``, each ``(N,)`` (std NaN where a row fell back
    to its last value). ``kwargs`` go to :func:`extrapolate`."""
    curves = np.asarray(prefixes, dtype=float)
    x = np.asarray(epochs, dtype=float)
    if curves.ndim != 2 or x.ndim != 1 or curves.shape[1] != len(x):
        raise ValueError(f"prefixes must be (N, k) with k = len(epochs); got shapes "
                         f"{curves.shape} and {x.shape}: one row per curve, one column per "
                         "epoch")
    chosen = _resolve_families(families)
    mean, std = np.empty(len(curves)), np.empty(len(curves))
    for i, row in enumerate(curves):
        result = extrapolate(x, row, [final_epoch], chosen, **kwargs)
        mean[i], std[i] = result.mean[0], result.std[0]
    return mean, std


# == LcSVR ===================================================================================
_DEFAULT_GRID: dict[str, list] = {"C": [1.0, 10.0, 100.0],
                                  "gamma": ["scale", 0.01, 0.1],
                                  "epsilon": [0.01, 0.1]}


class LcSVR:
    """Learning-curve support vector regression (Baker et al., ICLR-W 2018).

    Each curve is described by its first ``prefix_epochs`` values (subsampled to at most
    ``max_points`` evenly spaced epochs, always keeping the last one), the first and second
    differences at the end of that prefix (its slope and curvature), and optional
    architecture features (e.g. a one-hot encoding), all standardised
    (:class:`~sklearn.preprocessing.StandardScaler`). An RBF-kernel
    :class:`~sklearn.svm.SVR` regresses the final value on them; the target is standardised
    too, so ``epsilon`` is in units of its standard deviation.

    With ``tune=True`` (the default) ``C``, ``gamma`` and ``epsilon`` are chosen from
    ``param_grid`` (default: ``C`` in {1, 10, 100}, ``gamma`` in {'scale', 0.01, 0.1},
    ``epsilon`` in {0.01, 0.1}) by ``n_splits``-fold cross-validation with shuffled folds
    (``random_state=seed``) on the mean squared error; otherwise the given ``C``, ``gamma``
    and ``epsilon`` are used. The fit is deterministic for a given seed.
    """

    def __init__(self, prefix_epochs: int, *, seed: int = 0, max_points: int = 20,
                 tune: bool = True, param_grid: Mapping[str, Sequence] | None = None,
                 n_splits: int = 5, C: float = 10.0, gamma: float | str = "scale",
                 epsilon: float = 0.05) -> None:
        if int(prefix_epochs) != prefix_epochs or prefix_epochs < 3:
            raise ValueError(f"prefix_epochs must be an integer >= 3 (the second difference "
                             f"needs three points); got {prefix_epochs!r}")
        if max_points < 3:
            raise ValueError(f"max_points must be >= 3; got {max_points!r}")
        grid = dict(_DEFAULT_GRID if param_grid is None else param_grid)
        unknown = sorted(set(grid) - {"C", "gamma", "epsilon"})
        if unknown:
            raise ValueError(f"param_grid keys must be among 'C', 'gamma', 'epsilon'; got "
                             f"{unknown}: tune only the SVR's hyperparameters")
        self.prefix_epochs = int(prefix_epochs)
        self.seed = seed
        self.max_points = max_points
        self.tune = tune
        self.param_grid = grid
        self.n_splits = n_splits
        self.C, self.gamma, self.epsilon = C, gamma, epsilon
        self.n_features_: int | None = None
        self.best_params_: dict[str, Any] | None = None
        self.model_: Any = None

    def _columns(self) -> np.ndarray:
        k = self.prefix_epochs
        if k <= self.max_points:
            return np.arange(k)
        return np.unique(np.round(np.linspace(0, k - 1, self.max_points)).astype(int))

    def _inputs(self, prefixes: Any, features: Any, *, fitting: bool) -> np.ndarray:
        curves = np.asarray(prefixes, dtype=float)
        if curves.ndim != 2 or curves.shape[1] < self.prefix_epochs:
            raise ValueError(f"prefixes must be (N, k) with k >= prefix_epochs = "
                             f"{self.prefix_epochs}; got shape {curves.shape}: pass at least "
                             "the first prefix_epochs values of each curve")
        curves = curves[:, :self.prefix_epochs]
        if not np.all(np.isfinite(curves)):
            raise ValueError("prefixes contain NaN or inf: every curve needs its first "
                             f"{self.prefix_epochs} values")
        d1 = curves[:, -1] - curves[:, -2]
        d2 = curves[:, -1] - 2 * curves[:, -2] + curves[:, -3]
        parts = [curves[:, self._columns()], d1[:, None], d2[:, None]]
        if fitting:
            self.n_features_ = None
        if features is None:
            if not fitting and self.n_features_ is not None:
                raise ValueError(f"LcSVR was fitted with {self.n_features_} architecture "
                                 "features per curve; pass the same features to predict")
        else:
            feats = np.asarray(features, dtype=float)
            if feats.ndim == 1:
                feats = feats[:, None]
            if feats.ndim != 2 or len(feats) != len(curves):
                raise ValueError(f"features must be (N, D) with N = {len(curves)} curves; got "
                                 f"shape {feats.shape}: one row of features per curve")
            if fitting:
                self.n_features_ = feats.shape[1]
            elif self.n_features_ is None:
                raise ValueError(f"LcSVR was fitted without architecture features; got "
                                 f"{feats.shape[1]} per curve: pass features=None or refit "
                                 "with them")
            elif feats.shape[1] != self.n_features_:
                raise ValueError(f"features have {feats.shape[1]} columns, but LcSVR was "
                                 f"fitted with {self.n_features_}: use the same encoding")
            parts.append(feats)
        return np.column_stack(parts)

    def fit(self, prefixes: Any, finals: Any, features: Any = None) -> LcSVR:
        """Fit on complete curves: ``prefixes`` ``(N, k >= prefix_epochs)`` in percent, their
        final values ``finals`` ``(N,)`` and optional architecture ``features`` ``(N, D)``."""
        X = self._inputs(prefixes, features, fitting=True)
        y = np.asarray(finals, dtype=float).ravel()
        if len(y) != len(X) or not np.all(np.isfinite(y)):
            raise ValueError(f"finals must be {len(X)} finite values, one per curve; got "
                             f"{np.asarray(finals).shape}")
        pipe = Pipeline([("scale", StandardScaler()),
                         ("svr", SVR(kernel="rbf", C=self.C, gamma=self.gamma,
                                     epsilon=self.epsilon))])
        model = TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
        if self.tune:
            if len(y) < 2 * self.n_splits:
                raise ValueError(f"tuning by {self.n_splits}-fold cross-validation needs at "
                                 f"least {2 * self.n_splits} curves; got {len(y)}: pass "
                                 "tune=False or fewer n_splits")
            grid = {f"regressor__svr__{k}": list(v) for k, v in self.param_grid.items()}
            search = GridSearchCV(model, grid, scoring="neg_mean_squared_error",
                                  cv=KFold(self.n_splits, shuffle=True,
                                           random_state=self.seed),
                                  n_jobs=1, refit=True)
            search.fit(X, y)
            self.best_params_ = {k.rsplit("__", 1)[1]: v for k, v in search.best_params_.items()}
            self.model_ = search.best_estimator_
        else:
            self.best_params_ = {"C": self.C, "gamma": self.gamma, "epsilon": self.epsilon}
            self.model_ = model.fit(X, y)
        return self

    def predict(self, prefixes: Any, features: Any = None) -> np.ndarray:
        """Predicted final values ``(N,)`` (percent) of curves observed for at least
        ``prefix_epochs`` epochs; ``features`` as at :meth:`fit`."""
        if self.model_ is None:
            raise RuntimeError("LcSVR is not fitted: call fit(prefixes, finals) first")
        return np.asarray(self.model_.predict(self._inputs(prefixes, features, fitting=False)),
                          dtype=float)
