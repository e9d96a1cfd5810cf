"""Predictors on one contract (:class:`~nar_utils.predictors.base.Predictor`: ``fit``,
``predict``, ``rank``, ``top_k``): the baselines (:mod:`.baselines`, :mod:`.brp`) and NAR
(:mod:`.nar`), by name through :func:`make_predictor`; learning-curve extrapolation
(:mod:`.lce`: parametric curve ensembles and LcSVR); ranking protocols (:mod:`.protocols`)
and comparisons on identical splits (:mod:`.comparison`). Importing this package imports torch."""
from nar_utils.predictors import comparison, protocols
from nar_utils.predictors.base import Predictor, evaluate, split_indices
from nar_utils.predictors.baselines import (
                                            GBDTPredictor,
                                            GCNPredictor,
                                            MLPPredictor,
                                            ReNASPredictor,
                                            rank_targets,
)
from nar_utils.predictors.brp import BRPPredictor
from nar_utils.predictors.nar.predictor import NARCPredictor, NARPredictor
from nar_utils.predictors.registry import PREDICTORS, make_predictor

__all__ = ["PREDICTORS", "BRPPredictor", "GBDTPredictor", "GCNPredictor", "MLPPredictor",
           "NARCPredictor", "NARPredictor", "Predictor", "ReNASPredictor", "evaluate",
           "comparison", "make_predictor", "protocols", "rank_targets", "split_indices"]
