"""NAR on the predictor contract."""
from __future__ import annotations

import numpy as np

from nar_utils.predictors.base import Predictor, check_positive_int
from nar_utils.spaces import SearchSpace

#: Weight of NAR's ranking loss on NB101 (the paper's lambda; 1 on NB201).
NB101_AUX_WEIGHT = 9.0
#: Seed offset between ensemble members (member k: ``seed + ENSEMBLE_SEED_STEP * k``), large
#: enough that the members of seeds 0..9999 never share a seed.
ENSEMBLE_SEED_STEP = 10_000
#: The paper's ranking-loss weight per space where it differs from the presets' (NB201's).
PAPER_AUX_WEIGHT: dict[str, dict[str, float]] = {"nb101": {"aux_weight": NB101_AUX_WEIGHT}}


class NARPredictor(Predictor):
    """The Neural Architecture Ranker behind the predictor contract.

    Args:
        dataset: benchmark dataset whose feature tensor (FLOPs/params) NAR reads
            ('cifar10' on NB101).
        config: 'cpu' or 'paper' (:data:`nar_utils.predictors.nar.train.PRESETS`).
        seed, device, space: as for every predictor. On NB101 the model reads 19 patches of
            7x7 and the ranking loss weighs :data:`NB101_AUX_WEIGHT` (the paper's 9).
        faithful: the authors' tier-memory handling (see :mod:`nar_utils.predictors.nar.train`).
        faithful_features: the authors' raw feature values (see
            :func:`nar_utils.spaces.nb201.encoding.feature_tensor`).
        score: which ranking score ``predict`` returns
            (:data:`nar_utils.predictors.nar.train.SCORE_KINDS`).
        progress: show a progress bar over epochs.
        canonical: read each cell as its isomorphism class's representative
            (:mod:`nar_utils.predictors.base`).
        op_onehot: put one-hot op channels (:meth:`~nar_utils.spaces.base.SearchSpace.op_channels`,
            one token per op) before the feature tensor's channels.
        ensemble: train this many NARs (member ``k`` seeded ``seed + ENSEMBLE_SEED_STEP * k``,
            member 0 is the single model of ``ensemble=1``) and average them: tier
            probabilities as they are, auxiliary scores after standardising each member's by
            its mean and spread over the training cells (fixed at ``fit``, so a cell's score
            never depends on the other cells predicted with it).
        **overrides: any :class:`~nar_utils.predictors.nar.model.NARConfig` or
            :class:`~nar_utils.predictors.nar.train.TrainConfig` field, e.g. ``num_epochs=10``.
    """

    name = "nar"

    def __init__(self, dataset: str = "cifar10-valid", config: str = "cpu", seed: int = 0,
                 device: str = "cpu", *, space: str | SearchSpace = "nb201", faithful: bool = False,
                 faithful_features: bool = False, score: str | None = None,
                 progress: bool = False, canonical: str | None = None, ensemble: int = 1,
                 op_onehot: bool = False, **overrides) -> None:
        super().__init__(seed=seed, device=device, space=space, canonical=canonical)
        self.op_onehot = bool(op_onehot)
        from nar_utils.predictors.nar import train

        self.space.check_dataset(dataset)
        # the space's feature-tensor shape, and the paper's ranking-loss weight for the space
        n_patches, height, width = self.space.feature_shape
        if self.op_onehot:
            n_patches += self.space.module("encoding").NUM_OP_CHANNELS
        overrides = {"n_patches": n_patches, "patch_height": height, "patch_width": width,
                     **PAPER_AUX_WEIGHT.get(self.space.name, {}), **overrides}
        score = train.DEFAULT_SCORE if score is None else score
        if score not in train.SCORE_KINDS:
            raise ValueError(f"unknown ranking score {score!r}; valid: "
                             f"{', '.join(train.SCORE_KINDS)}")
        self.dataset, self.config_name = dataset, config
        self.model_config, self.train_config = train.preset(config, **overrides)
        self.faithful, self.faithful_features = faithful, faithful_features
        self.score, self.progress = score, progress
        self.ensemble = check_positive_int("ensemble", ensemble)
        self.results: list = []
        self._aux_scale: list[tuple[float, float]] = []

    @property
    def result(self):
        """The :class:`~nar_utils.predictors.nar.train.TrainResult` of member 0 (after
        ``fit``); ``results`` holds every member's."""
        return self.results[0] if self.results else None

    @property
    def model(self):
        """The trained :class:`~nar_utils.predictors.nar.model.NAR` (after ``fit``)."""
        return None if self.result is None else self.result.model

    def features(self, archs) -> np.ndarray:
        """The feature tensor this predictor reads: ``(N, 31, 4, 4)`` on NB201,
        ``(N, 19, 7, 7)`` on NB101; with ``op_onehot`` the one-hot op channels come first
        (``(N, 36, 4, 4)``, ``(N, 23, 7, 7)``)."""
        codes = self.space.canonical(self.space.batch(archs), self.canonical)
        tensor = self.space.feature_tensor(codes, self.dataset, self.faithful_features)
        if self.op_onehot:
            tensor = np.concatenate([self.space.op_channels(codes), tensor], axis=1)
        return tensor

    def _fit(self, codes, y, val_codes, val_y) -> None:
        from nar_utils.predictors.nar import train

        features = self.features(codes)
        val_features = None if val_codes is None else self.features(val_codes)
        self.results, self._aux_scale = [], []
        for member in range(self.ensemble):
            result = train.train_nar(
                features, y, val_features=val_features, val_y=val_y,
                model_config=self.model_config, train_config=self.train_config,
                seed=self.seed + ENSEMBLE_SEED_STEP * member, device=self.device,
                faithful=self.faithful, score=self.score, progress=self.progress)
            self.results.append(result)
            if self.ensemble > 1:
                aux = self._member_outputs(result.model, features)["aux"]
                self._aux_scale.append((float(aux.mean()), float(aux.std()) or 1.0))

    def _member_outputs(self, model, features) -> dict[str, np.ndarray]:
        from nar_utils.predictors.nar import train

        return train.predict_nar(model, features, faithful=self.faithful,
                                 batch_size=self.train_config.eval_batch_size,
                                 decode=self.train_config.tier_weight > 0
                                 or self.train_config.tier_epochs > 0)

    def predict_details(self, archs) -> dict[str, np.ndarray]:
        """``{'tier_probs' (N, T), 'aux' (N,), 'score' (N,)}`` for ``archs``."""
        from nar_utils.predictors.nar import train

        if not self._fitted:
            raise RuntimeError("NARPredictor is not fitted; call fit(archs, y) first")
        features = self.features(archs)
        if self.ensemble == 1:
            out = self._member_outputs(self.model, features)
        else:
            members = [self._member_outputs(r.model, features) for r in self.results]
            out = {"tier_probs": np.mean([m["tier_probs"] for m in members], axis=0),
                   "aux": np.mean([(m["aux"] - mean) / std for m, (mean, std)
                                   in zip(members, self._aux_scale)], axis=0)}
        out["score"] = train.ranking_score(out["tier_probs"], out["aux"], self.score)
        return out

    def predict_tiers(self, archs) -> np.ndarray:
        """Most probable quality tier of each arch (0 = best), as NAR's search reads it."""
        return self.predict_details(archs)["tier_probs"].argmax(axis=1)

    def _predict(self, codes):
        return self.predict_details(codes)["score"]



#: What NAR-C changes in NAR's training (see :class:`NARCPredictor`).
NARC_SETTINGS: dict = dict(tier_weight=0.0, tier_epochs=10, tier_lr=3e-3, num_epochs=100,
                           batch_size=128)


class NARCPredictor(NARPredictor):
    """NAR-C: the Neural Architecture Ranker on canonical cells, led by its ranking loss.

    The same transformer over the same feature tensor, with the changes the ablations of
    ``perf/bench_ranking.py`` found to matter:

    1. **Canonical cells** (``canonical='function'`` on NB201): every cell is read as the
       representative of the cells that compute the same function, so the 10,695 cells that
       duplicate another one (dead edges, swapped nodes) stop being separate inputs with
       separately noisy labels.
    2. **One token per op** (``op_onehot=True``): one-hot op channels before the 31 channels,
       so each op is a token the encoder can attend to.
    3. **Ranking first, tiers after**: the encoder and auxiliary head learn from the pairwise
       ranking loss alone (``tier_weight=0``, which also skips the decoder's cost), for more
       steps (100 epochs of batch 128); a tier stage then fits the decoder on the trained
       encoder (``tier_epochs``), so tiers are there for the tier sampler without the tier
       loss pulling the encoder away from the ranking.
    4. **An ensemble** of ``ensemble`` such models (3 by default), their standardised scores
       averaged.

    Every other argument is :class:`NARPredictor`'s; overrides win over these settings.
    """

    name = "narc"

    def __init__(self, dataset: str = "cifar10-valid", config: str = "cpu", seed: int = 0,
                 device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 canonical: str | None = "function", ensemble: int = 3,
                 op_onehot: bool = True, **overrides) -> None:
        from nar_utils.spaces import get_space

        if canonical is not None and not get_space(space).canonical_conventions:
            canonical = None  # cells of this space are unique already (NB101)
        super().__init__(dataset, config, seed, device, space=space, canonical=canonical,
                         ensemble=ensemble, op_onehot=op_onehot,
                         **{**NARC_SETTINGS, **overrides})
