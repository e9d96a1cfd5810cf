"""Surrogate learning-curve benchmarks in the NAS-Bench-x11 way ("NB211", "NB111").

A :class:`CurveSurrogate` turns a few real learning curves into a benchmark that gives a
whole curve for any cell of the space:

1. **Compression.** The training curves, centred on their mean curve, are decomposed by SVD;
   the first ``num_components`` right singular vectors span every curve's shape, and each curve
   becomes that many coefficients (standardised to unit variance).
2. **Regression.** One LightGBM model per component maps a cell's features (one-hot + path
   encoding of the space, plus any *anchors*: real values the benchmark already holds for
   every cell) to its standardised coefficients.
3. **Noise.** The residuals between each training curve and its truncated reconstruction form
   a kernel density (a Gaussian product kernel centred on every residual vector, per-epoch
   bandwidth by Silverman's rule); a noisy query adds one draw from it to the predicted curve.

**Anchors** (NB211). The NB201 table holds the real 200-epoch (and 12-epoch) accuracy of all
15,625 cells but real curves of only 200. The surrogate uses the finals twice: as regressor
inputs (the 12- and 200-epoch values say much more about a curve than the op codes do), and as
a constraint: the predicted coefficients are corrected by the smallest change, in units of
each component's spread, that puts the curve's last epoch on the real final value
(:meth:`CurveSurrogate.curves` marks that value real and the rest surrogate). Without anchors
it is x11's pure surrogate.

Held-out quality (per-epoch RMSE, Kendall tau of the final value, the size of the noise next to
real seed noise) is measured by :func:`cross_validate`; with 200 NB201 curves the regressor
sees 160 cells per fold, which limits the pure surrogate (see ``perf/bench_curves.py``).

Written here rather than taken from nas-bench-x11: that code ties the model to its own data
pipeline and files; this one reads :class:`~nar_utils.benchmarks.curves.Curves` and any
feature matrix, and its random draws take an explicit seed.

Reference: S. Yan, C. White, Y. Savani and F. Hutter, "NAS-Bench-x11 and the Power of Learning
Curves", NeurIPS 2021.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nar_utils.benchmarks.curves import Curves


def cell_features(space: Any, archs: np.ndarray) -> np.ndarray:
    """One-hot and path encoding of cells ``archs`` in the batch form of ``space`` (a
    :class:`~nar_utils.spaces.SearchSpace` or its name): the surrogate's default input."""
    from nar_utils.spaces import get_space

    space = get_space(space)
    batch = space.batch(archs)
    return np.hstack([space.onehot(batch), space.path_encoding(batch)]).astype(np.float64)


@dataclass
class CurveSurrogate:
    """SVD + LightGBM + residual-KDE surrogate of learning curves (see the module docstring).

    ``num_components``: SVD components kept; ``num_trees``, ``learning_rate``,
    ``num_leaves``, ``min_child_samples``: the LightGBM regressor of each component;
    ``seed``: its randomness (and the default seed of noise draws).
    """

    num_components: int = 6
    num_trees: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 5
    seed: int = 0

    def fit(self, curves: Curves, features: np.ndarray, anchors: np.ndarray | None = None
            ) -> CurveSurrogate:
        """Fit on ``curves`` (every value known), ``features`` (N, D) of their cells and,
        optionally, ``anchors`` (N, A) real values held for every cell (e.g. the 12- and
        200-epoch accuracy); the same anchor columns must then be given at query time."""
        import lightgbm as lgb

        values = np.asarray(curves.values, dtype=np.float64)
        if np.isnan(values).any():
            rows = np.flatnonzero(np.isnan(values).any(axis=1))
            raise ValueError(f"{len(rows)} training curves have unknown values (first: cell "
                             f"{int(curves.arch_index[rows[0]])}); fit on complete curves "
                             "only (curves.rows(...))")
        inputs = self._inputs(features, anchors, len(values), fitting=True)
        max_components = min(values.shape) - 1
        if not 1 <= self.num_components <= max_components:
            raise ValueError(f"num_components must lie in 1..{max_components} for "
                             f"{values.shape[0]} curves of {values.shape[1]} epochs, got "
                             f"{self.num_components}")
        self.epochs_ = curves.epochs.copy()
        self.metric_, self.space_ = curves.metric, curves.space
        self.mean_ = values.mean(axis=0)
        _, singular, vt = np.linalg.svd(values - self.mean_, full_matrices=False)
        self.singular_values_ = singular
        self.components_ = vt[:self.num_components]
        coefficients = (values - self.mean_) @ self.components_.T
        self.coef_scale_ = coefficients.std(axis=0) + 1e-12
        targets = coefficients / self.coef_scale_
        self.models_ = []
        for k in range(self.num_components):
            model = lgb.LGBMRegressor(
                n_estimators=self.num_trees, learning_rate=self.learning_rate,
                num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                random_state=self.seed + k, n_jobs=1, verbose=-1, deterministic=True,
                force_row_wise=True)
            model.fit(inputs, targets[:, k])
            self.models_.append(model)
        self.residuals_ = values - self.reconstruct(values)
        spread = self.residuals_.std(axis=0)
        self.bandwidth_ = 1.06 * spread * len(values) ** (-1 / 5)
        return self

    # -- the linear part -------------------------------------------------------------------
    def reconstruct(self, values: np.ndarray) -> np.ndarray:
        """The truncated SVD reconstruction of curves ``values`` (M, T): their projection on
        the kept components (the round trip of compression)."""
        self._check_fitted()
        centred = np.asarray(values, dtype=np.float64) - self.mean_
        return self.mean_ + centred @ self.components_.T @ self.components_

    def explained_variance(self) -> np.ndarray:
        """Share of the training curves' variance each kept component explains."""
        self._check_fitted()
        energy = self.singular_values_ ** 2
        return energy[:self.num_components] / energy.sum()

    # -- queries -----------------------------------------------------------------------------
    def coefficients(self, features: np.ndarray, anchors: np.ndarray | None = None
                     ) -> np.ndarray:
        """Predicted (unstandardised) SVD coefficients (M, num_components)."""
        self._check_fitted()
        inputs = self._inputs(features, anchors, None, fitting=False)
        standard = np.column_stack([m.predict(inputs) for m in self.models_])
        return standard * self.coef_scale_

    def mean_curves(self, features: np.ndarray, anchors: np.ndarray | None = None,
                    final: np.ndarray | None = None) -> np.ndarray:
        """Predicted noise-free curves (M, T). With ``final`` (M,) the coefficients get the
        smallest correction (in units of each component's spread) that puts the last epoch
        on it."""
        coef = self.coefficients(features, anchors)
        if final is not None:
            final = np.asarray(final, dtype=np.float64)
            if final.shape != (len(coef),):
                raise ValueError(f"final must have shape ({len(coef)},), got {final.shape}")
            last = self.components_[:, -1] * self.coef_scale_ ** 2  # prior-weighted direction
            gap = final - (self.mean_[-1] + coef @ self.components_[:, -1])
            coef = coef + np.outer(gap / (self.components_[:, -1] @ last), last)
        return self.mean_ + coef @ self.components_

    def sample_noise(self, count: int, seed: int | np.random.Generator | None = None
                     ) -> np.ndarray:
        """``count`` draws (count, T) from the residual kernel density."""
        self._check_fitted()
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
            self.seed if seed is None else seed)
        centres = self.residuals_[rng.integers(len(self.residuals_), size=count)]
        return centres + rng.standard_normal(centres.shape) * self.bandwidth_

    def curves(self, arch_index: np.ndarray, features: np.ndarray,
               anchors: np.ndarray | None = None, final: np.ndarray | None = None,
               noise: bool = True, seed: int | np.random.Generator | None = None,
               clip: tuple[float, float] = (0.0, 100.0)) -> Curves:
        """Surrogate curves of cells ``arch_index`` as :class:`Curves`, values marked
        surrogate; with ``final`` the last epoch is the given real value, marked real. With
        ``noise`` each curve adds one draw of the residual density (seeded by ``seed``)."""
        arch_index = np.asarray(arch_index, dtype=np.int64)
        values = self.mean_curves(features, anchors, final)
        if noise:
            values = values + self.sample_noise(len(values), seed)
        values = np.clip(values, *clip)
        real = np.zeros(values.shape, dtype=bool)
        if final is not None:
            values[:, -1] = final
            real[:, -1] = True
        return Curves(self.epochs_, values, real, arch_index, self.metric_, True,
                      "surrogate (SVD + LightGBM" + (" + noise)" if noise else ")"),
                      space=self.space_)

    # -- checks ------------------------------------------------------------------------------
    def _inputs(self, features, anchors, rows: int | None, fitting: bool) -> np.ndarray:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or (rows is not None and len(features) != rows):
            raise ValueError(f"features must have shape ({rows if rows else 'M'}, D), got "
                             f"{features.shape}")
        parts = [features]
        if anchors is not None:
            anchors = np.asarray(anchors, dtype=np.float64)
            anchors = anchors[:, None] if anchors.ndim == 1 else anchors
            if anchors.shape[0] != len(features):
                raise ValueError(f"anchors must have one row per cell ({len(features)}), got "
                                 f"{anchors.shape}")
            parts.append(anchors)
        inputs = np.hstack(parts)
        if fitting:
            self.num_features_ = features.shape[1]
            self.num_anchors_ = 0 if anchors is None else anchors.shape[1]
        elif (features.shape[1], 0 if anchors is None else anchors.shape[1]) != \
                (self.num_features_, self.num_anchors_):
            raise ValueError(f"the surrogate was fitted on {self.num_features_} features and "
                             f"{self.num_anchors_} anchor columns; got {features.shape[1]} "
                             f"and {0 if anchors is None else anchors.shape[1]}")
        return inputs

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("the surrogate is not fitted yet; call fit(curves, features) "
                               "first")


@dataclass(frozen=True)
class SurrogateQuality:
    """Held-out quality of a surrogate, from :func:`cross_validate`."""

    rmse_per_epoch: np.ndarray  # (T,) RMSE of the noise-free prediction on held-out curves
    rmse: float  # over all held-out values (the last epoch left out when anchored)
    final_tau: float  # Kendall tau of predicted vs real final value
    epoch_tau: dict[int, float]  # Kendall tau of predicted vs real at a few epochs
    noise_std_final: float  # std of the noise density's draws at the last epoch
    predictions: np.ndarray  # (N, T) held-out noise-free predictions, rows as the input
    folds: int


def cross_validate(curves: Curves, features: np.ndarray, anchors: np.ndarray | None = None,
                   anchor_final: bool = False, folds: int = 5, seed: int = 0,
                   **surrogate_args: Any) -> SurrogateQuality:
    """K-fold cross-validation by cell: each fold's cells are predicted by a surrogate fitted
    on the others. ``anchor_final`` also pins the last epoch to the real value (so the
    reported RMSE then leaves the last epoch out)."""
    from nar_utils.metrics import kendall_tau

    n = len(curves)
    if not 2 <= folds <= n:
        raise ValueError(f"folds must lie in 2..{n}, got {folds}")
    order = np.random.default_rng(seed).permutation(n)
    predictions = np.empty(curves.values.shape)
    noise_std = []
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        model = CurveSurrogate(seed=seed, **surrogate_args).fit(
            curves.rows(train), features[train], None if anchors is None else anchors[train])
        predictions[fold] = model.mean_curves(
            features[fold], None if anchors is None else anchors[fold],
            curves.final[fold] if anchor_final else None)
        noise_std.append(model.sample_noise(2000, seed)[:, -1].std())
    errors = predictions - curves.values
    scored = errors[:, :-1] if anchor_final else errors
    picks = sorted({int(e) for e in curves.epochs[np.linspace(0, len(curves.epochs) - 1,
                                                               5).astype(int)]})
    return SurrogateQuality(
        rmse_per_epoch=np.sqrt((errors ** 2).mean(axis=0)),
        rmse=float(np.sqrt((scored ** 2).mean())),
        final_tau=float(kendall_tau(curves.final, predictions[:, -1])),
        epoch_tau={e: float(kendall_tau(curves.at(e), predictions[:, curves.position(e)]))
                   for e in picks},
        noise_std_final=float(np.mean(noise_std)), predictions=predictions, folds=folds)


def nb201_anchors(bench: Any, dataset: str = "cifar10-valid",
                  metric: str = "valid-accuracy") -> tuple[np.ndarray, tuple[str, ...]]:
    """The real values an NB201 source holds for every cell, as surrogate anchors: ``metric``
    on ``dataset`` under the 12- and 200-epoch schedules (those it has), (N, A), and their hps."""
    hps = tuple(hp for hp in ("12", "200") if bench.has(dataset, metric, hp))
    if not hps:
        raise ValueError(f"source {getattr(bench, 'source', bench)!r} holds no {metric!r} for "
                         f"{dataset!r}; anchors need the 12- or 200-epoch values")
    return np.column_stack([np.asarray(bench.column(dataset, metric, hp), dtype=np.float64)
                            for hp in hps]), hps


def nb211(bench: Any, real_curves: Curves, seed: int = 0, noise: bool = True,
          **surrogate_args: Any) -> Curves:
    """Curves for every cell of the NB201 source ``bench``: the real curve where
    ``real_curves`` holds one, elsewhere a :class:`CurveSurrogate` fitted on the real curves
    with the 12- / 200-epoch values as anchors, its last epoch pinned to the real 200-epoch
    value (marked real) and, with ``noise``, one draw of the residual density per cell."""
    dataset, metric = _label_of(real_curves)
    anchors, hps = nb201_anchors(bench, dataset, metric)
    if hps[-1] != str(real_curves.num_epochs):
        raise ValueError(f"the real curves end at epoch {real_curves.num_epochs}, but the "
                         f"source's last schedule is hp={hps[-1]}; anchors must include it")
    features = cell_features("nb201", bench.op_codes)
    rows = real_curves.arch_index
    model = CurveSurrogate(seed=seed, **surrogate_args).fit(real_curves, features[rows],
                                                            anchors[rows])
    every = np.arange(len(features))
    made = model.curves(every, features, anchors, final=anchors[:, -1], noise=noise, seed=seed)
    values, real = made.values.copy(), made.real.copy()
    values[rows], real[rows] = real_curves.values, real_curves.real
    return Curves(made.epochs, values, real, every, real_curves.metric, True,
                  f"nb211: {len(rows)} real curves, {len(every) - len(rows)} surrogate "
                  f"({made.source}, last epoch real)", notes={"surrogate": model})


def _label_of(curves: Curves) -> tuple[str, str]:
    """(dataset, metric) of curves read by :mod:`.curves` ('cifar10-valid valid-accuracy
    (hp=200)' -> ('cifar10-valid', 'valid-accuracy'))."""
    parts = curves.metric.split()
    if len(parts) < 2:
        raise ValueError(f"curves metric {curves.metric!r} does not name a dataset and metric")
    return parts[0], parts[1]
