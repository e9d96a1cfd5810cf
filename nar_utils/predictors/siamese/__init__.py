"""Siamese-NAS (Zhang et al., 2022): estimation codes from short training runs
(:mod:`.estimation`). Imports torch when a code is computed."""
from nar_utils.predictors.siamese.estimation import (
    CodeCache,
    CodeSettings,
    EstimationCode,
    estimation_code,
    stack_codes,
    table_code,
)

__all__ = ["CodeCache", "CodeSettings", "EstimationCode", "estimation_code", "stack_codes",
           "table_code"]
