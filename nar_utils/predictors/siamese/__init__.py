"""Siamese-NAS (Zhang et al., 2022): estimation codes from short training runs
(:mod:`.estimation`) and the predictor network with NSAM and the estimation fusion module
(:mod:`.model`), the predictor on the contract with its code providers and BTS
(:mod:`.predictor`). Imports torch."""
from nar_utils.predictors.siamese.estimation import (
    CodeCache,
    CodeSettings,
    EstimationCode,
    estimation_code,
    stack_codes,
    table_code,
)
from nar_utils.predictors.siamese.model import (
    EstimationFusion,
    NodeAttention,
    SiameseNet,
    confidence_huber,
    masked_attention,
)
from nar_utils.predictors.siamese.predictor import (
    CodeProvider,
    SiamesePredictor,
    TableCodes,
    TrainedCodes,
)

__all__ = ["CodeCache", "CodeProvider", "CodeSettings", "SiamesePredictor", "TableCodes",
           "TrainedCodes", "EstimationCode", "EstimationFusion", "NodeAttention",
           "SiameseNet", "confidence_huber", "estimation_code", "masked_attention",
           "stack_codes", "table_code"]
