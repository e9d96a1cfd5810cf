"""Weight-sharing NAS on NAS-Bench-201: one supernet (:mod:`.supernet`) and six searches on it
(:mod:`.methods`: DARTS-V1, DARTS-V2, GDAS, SETN, ENAS, RSPS) behind
:func:`search_weight_sharing`. Imports torch."""
from nar_utils.search.weight_sharing.methods import (
    METHODS,
    SETTINGS,
    SearchResult,
    SearchSettings,
    benchmark_accuracies,
    search_weight_sharing,
    settings_for,
    unrolled_arch_gradient,
)
from nar_utils.search.weight_sharing.supernet import Supernet, derive_arch, load_network_weights

__all__ = ["METHODS", "SETTINGS", "SearchResult", "SearchSettings", "Supernet",
           "benchmark_accuracies", "derive_arch", "load_network_weights",
           "search_weight_sharing", "settings_for", "unrolled_arch_gradient"]
