"""The Neural Architecture Ranker (Guo et al., arXiv 2201.12725): the model (:mod:`.model`),
its training with the faithful switches (:mod:`.train`) and the predictor (:mod:`.predictor`)."""
from nar_utils._lazy import lazy
from nar_utils.predictors.nar.model import NAR, NARConfig
from nar_utils.predictors.nar.predictor import NARPredictor

__getattr__, _lazy_dir = lazy(__name__, ("model", "predictor", "train"))

__all__ = ["NAR", "NARConfig", "NARPredictor"]
