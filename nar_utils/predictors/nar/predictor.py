"""NAR on the predictor contract."""
from __future__ import annotations

import numpy as np

from nar_utils.predictors.base import Predictor
from nar_utils.spaces import SearchSpace

#: Weight of NAR's ranking loss on NB101 (the paper's lambda; 1 on NB201).
NB101_AUX_WEIGHT = 9.0
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
        **overrides: any :class:`~nar_utils.predictors.nar.model.NARConfig` or
            :class:`~nar_utils.predictors.nar.train.TrainConfig` field, e.g. ``num_epochs=10``.
    """

    name = "nar"

    def __init__(self, dataset: str = "cifar10-valid", config: str = "cpu", seed: int = 0,
                 device: str = "cpu", *, space: str | SearchSpace = "nb201", faithful: bool = False,
                 faithful_features: bool = False, score: str | None = None,
                 progress: bool = False, **overrides) -> None:
        super().__init__(seed=seed, device=device, space=space)
        from nar_utils.predictors.nar import train

        self.space.check_dataset(dataset)
        # the space's feature-tensor shape, and the paper's ranking-loss weight for the space
        n_patches, height, width = self.space.feature_shape
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
        self.result = None

    @property
    def model(self):
        """The trained :class:`~nar_utils.predictors.nar.model.NAR` (after ``fit``)."""
        return None if self.result is None else self.result.model

    def features(self, archs) -> np.ndarray:
        """The feature tensor this predictor reads: ``(N, 31, 4, 4)`` on NB201,
        ``(N, 19, 7, 7)`` on NB101."""
        return self.space.feature_tensor(self.space.batch(archs), self.dataset,
                                   self.faithful_features)

    def _fit(self, codes, y, val_codes, val_y) -> None:
        from nar_utils.predictors.nar import train

        self.result = train.train_nar(
            self.features(codes), y,
            val_features=None if val_codes is None else self.features(val_codes), val_y=val_y,
            model_config=self.model_config, train_config=self.train_config, seed=self.seed,
            device=self.device, faithful=self.faithful, score=self.score,
            progress=self.progress)

    def predict_details(self, archs) -> dict[str, np.ndarray]:
        """``{'tier_probs' (N, T), 'aux' (N,), 'score' (N,)}`` for ``archs``."""
        from nar_utils.predictors.nar import train

        if not self._fitted:
            raise RuntimeError("NARPredictor is not fitted; call fit(archs, y) first")
        out = train.predict_nar(self.model, self.features(archs), faithful=self.faithful,
                                batch_size=self.train_config.eval_batch_size)
        out["score"] = train.ranking_score(out["tier_probs"], out["aux"], self.score)
        return out

    def predict_tiers(self, archs) -> np.ndarray:
        """Most probable quality tier of each arch (0 = best), as NAR's search reads it."""
        return self.predict_details(archs)["tier_probs"].argmax(axis=1)

    def _predict(self, codes):
        return self.predict_details(codes)["score"]

