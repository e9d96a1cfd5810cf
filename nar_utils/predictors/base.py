"""Performance predictors on one contract, and the protocol that compares them.

Every predictor follows the contract of :class:`Predictor`:

* ``fit(archs, y, *, val_archs=None, val_y=None) -> self``: train on architectures ``archs``
  (anything :func:`nar_utils.spaces.nb201.op_codes_array` accepts, or an ``(N, 6)`` int array of op
  codes) with accuracies ``y`` (higher = better). Validation data, when given, picks the best
  epoch (neural predictors) or the number of trees (GBDT); it is never trained on.
* ``predict(archs) -> (N,) float64``: a score, higher = better. Only its order matters.
* ``rank(archs)`` (indices, best first) and ``top_k(archs, k)``.
* attributes ``name``, ``seed``, ``device``, ``space``, ``canonical``. Same seed, same CPU
  predictions, bit for bit.
* ``canonical``: None (default) reads every cell as given; an isomorphism convention of the
  space (NB201: 'function', 'graph', 'nb201', :mod:`nar_utils.spaces.nb201.isomorphism`)
  replaces each cell, in training and prediction alike, by its class representative
  (:meth:`nar_utils.spaces.base.SearchSpace.canonical`), so cells that are the same network
  get the same input and the same prediction. On NB201 with 1000 labels this is worth more
  than any change of model (``perf/bench_ranking.py``). NB101 cells are unique already and
  take no convention.

Every predictor reads NAS-Bench-201 cells by default; ``space='nb101'`` makes it read
NAS-Bench-101 cells instead, given as ``(N, 56)`` packed rows (:func:`nar_utils.spaces.nb101.pack`),
through the NB101 encodings of :mod:`nar_utils.spaces.nb101.encoding` (NB201 input in brackets in
the table below: NB101 uses adjacency + one-hot (36) for the MLP, adjacency + one-hot + path
(36 + 364) for the GBDT, the (19, 7, 7) feature tensor for NAR and ReNAS, 7-node graphs for
the GCN).

=====================  ==================================  ==================================
predictor              input                               model and loss
=====================  ==================================  ==================================
``'nar'``              feature tensor (31, 4, 4)           NAR transformer (:mod:`.model`)
``'mlp'``              one-hot of the 6 edge ops (30)      MLP, mean squared error
``'gbdt'``             one-hot + path encoding (30 + 84)   LightGBM regression trees
``'renas'``            feature tensor (31, 4, 4)           small CNN, pairwise ranking loss
``'gcn'``              graph_encoding (8 nodes)            GCN (BRP-NAS style), squared error
``'brp'``              graph_encoding (8 nodes)            GCN + pairwise head (BRP-NAS),
                                                           cross-entropy on pairs (:mod:`.brp`)
=====================  ==================================  ==================================

The protocol (:func:`split_indices`, :func:`evaluate`) follows the NAR paper's NAS-Bench-201
setup: 1000 training and 256 validation architectures drawn at random, the rest for testing.

References: NAR, Guo et al. arXiv:2201.12725; BANANAS, White et al. AAAI 2021 (MLP, path
encoding); ReNAS, Xu et al. CVPR 2021; BRP-NAS, Dudziak et al. NeurIPS 2020 (GCN);
LightGBM, Ke et al. NeurIPS 2017 (GBDT predictors as in Luo et al. 2020, "Accuracy
prediction with non-neural model for neural architecture search").
"""
from __future__ import annotations

import time

import numpy as np

from nar_utils import metrics
from nar_utils.runtime import try_device
from nar_utils.spaces import SearchSpace, get_space


def _check_labels(y, n: int, what: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},) to match the architectures, got "
                         f"{y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{what} holds NaN or infinite values; drop those architectures")
    return y


def check_positive_int(name: str, value) -> int:
    """``value`` as an int, or a ValueError naming ``name`` when it is not a positive int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class Predictor:
    """Base class of the predictor contract (see the module docstring)."""

    name = "base"

    def __init__(self, seed: int = 0, device: str = "cpu",
                 space: str | SearchSpace = "nb201", canonical: str | None = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.space = get_space(space)
        self.canonical = self.space.check_convention(canonical)
        self.seed = int(seed)
        self.device = try_device(device)
        self.fit_seconds: float | None = None
        self._fitted = False

    # -- to implement ------------------------------------------------------------------------
    def _fit(self, codes: np.ndarray, y: np.ndarray, val_codes: np.ndarray | None,
             val_y: np.ndarray | None) -> None:
        raise NotImplementedError

    def _predict(self, codes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------
    def fit(self, archs, y, *, val_archs=None, val_y=None) -> "Predictor":
        """Train on ``archs`` with accuracies ``y``; optional validation data (see module)."""
        codes = self.space.batch(archs)
        y = _check_labels(y, len(codes))
        if len(codes) < 5:
            raise ValueError(f"need at least 5 labelled architectures to fit, got {len(codes)}")
        val_codes = None
        if (val_archs is None) != (val_y is None):
            raise ValueError("give both val_archs and val_y, or neither")
        if val_archs is not None:
            val_codes = self.space.batch(val_archs)
            val_y = _check_labels(val_y, len(val_codes), "val_y")
        codes = self.space.canonical(codes, self.canonical)
        if val_codes is not None:
            val_codes = self.space.canonical(val_codes, self.canonical)
        start = time.perf_counter()
        self._fit(codes, y, val_codes, val_y)
        self.fit_seconds = time.perf_counter() - start
        self._fitted = True
        return self

    def predict(self, archs) -> np.ndarray:
        """``(N,)`` float64 scores, higher = better."""
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(archs, y) first")
        codes = self.space.canonical(self.space.batch(archs), self.canonical)
        return np.asarray(self._predict(codes), dtype=np.float64).reshape(len(codes))

    def rank(self, archs) -> np.ndarray:
        """Indices into ``archs``, best predicted first (equal scores keep their order)."""
        return np.argsort(-self.predict(archs), kind="stable")

    def top_k(self, archs, k: int) -> np.ndarray:
        """Indices of the ``k`` best-predicted architectures, best first."""
        return metrics.top_k_indices(self.predict(archs), k)

    def __repr__(self) -> str:
        canonical = "" if self.canonical is None else f", canonical={self.canonical!r}"
        return (f"{type(self).__name__}(seed={self.seed}, device={self.device!r}, "
                f"space={self.space.name!r}{canonical})")



# == protocol ===============================================================================
def split_indices(n_total: int, n_train: int = 1000, n_val: int = 256, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint ``(train, val, test)`` index arrays; test = everything else.

    One permutation of ``range(n_total)`` from ``numpy.random.default_rng(seed)``: its first
    ``n_train`` entries are the training set, the next ``n_val`` the validation set.
    """
    for name, value in (("n_total", n_total), ("n_train", n_train), ("n_val", n_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if n_train + n_val > n_total:
        raise ValueError(f"n_train + n_val = {n_train + n_val} exceeds n_total = {n_total}")
    order = np.random.default_rng(seed).permutation(n_total)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def evaluate(predictor: Predictor, archs_test, y_val_true, y_test_true=None,
             ks: tuple[int, ...] = (10, 50, 100), n_tiers: int = 5) -> dict[str, float]:
    """Rank held-out architectures with a fitted predictor and score the ranking.

    Args:
        predictor: a fitted predictor.
        archs_test: the held-out architectures.
        y_val_true: their true validation accuracies (the label the predictor learned).
        y_test_true: optionally their true test accuracies.
        ks: K of precision@K and N@K.

    Returns ``tau``, ``rho``, ``precision@K``, ``N@K`` against ``y_val_true``; ``tau_test``,
    ``rho_test`` against ``y_test_true`` when given; ``tier_accuracy`` (predicted score
    tiers vs true tiers on the held-out set) and ``predict_seconds``.
    """
    codes = predictor.space.batch(archs_test)
    y_val_true = _check_labels(y_val_true, len(codes), "y_val_true")
    start = time.perf_counter()
    scores = predictor.predict(codes)
    out: dict[str, float] = {"predict_seconds": time.perf_counter() - start}
    out.update(metrics.ranking_report(y_val_true, scores, ks=ks))
    if y_test_true is not None:
        y_test_true = _check_labels(y_test_true, len(codes), "y_test_true")
        out["tau_test"] = metrics.kendall_tau(y_test_true, scores)
        out["rho_test"] = metrics.spearman_rho(y_test_true, scores)
    out["tier_accuracy"] = metrics.tier_accuracy(metrics.tiers_from_scores(y_val_true, n_tiers),
                                                 metrics.tiers_from_scores(scores, n_tiers))
    if predictor.fit_seconds is not None:
        out["fit_seconds"] = predictor.fit_seconds
    return out


__all__ = ["Predictor", "check_positive_int", "evaluate", "split_indices"]
