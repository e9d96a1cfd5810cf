"""Predictors by name."""
from __future__ import annotations

from nar_utils.predictors.base import Predictor
from nar_utils.predictors.baselines import GBDTPredictor, GCNPredictor, MLPPredictor, ReNASPredictor
from nar_utils.predictors.brp import BRPPredictor
from nar_utils.predictors.nar.predictor import NARCPredictor, NARPredictor

#: Predictor classes by name.
PREDICTORS: dict[str, type[Predictor]] = {
    cls.name: cls for cls in (NARPredictor, NARCPredictor, MLPPredictor, GBDTPredictor,
                              ReNASPredictor, GCNPredictor, BRPPredictor)
}


def make_predictor(name: str, **kwargs) -> Predictor:
    """A predictor by name (``'nar'``, ``'narc'``, ``'mlp'``, ``'gbdt'``, ``'renas'``,
    ``'gcn'``, ``'brp'``).

    Keyword arguments go to the constructor; ``dataset`` is dropped for predictors that do
    not read the feature tensor, so one call signature serves every name.
    """
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; valid: {', '.join(PREDICTORS)}")
    cls = PREDICTORS[name]
    if not issubclass(cls, (NARPredictor, ReNASPredictor)):
        kwargs.pop("dataset", None)
    return cls(**kwargs)


