"""nar_utils: the code behind the NAR book (one namespace: ``import nar_utils as nar``)."""
from . import (benchmarks, cellinfo, encoding, isomorphism, metrics, model, nb101, nb101_data,
               nb101_encoding, nb101_network, networks, predictors, runs, sampler, search,
               spaces, train)
from .benchmarks import DATASETS, NB201Benchmark, load_benchmark
from .cellinfo import cell_info_arrays, network_totals
from .encoding import OP_PENTAGON, feature_tensor, graph_encoding, onehot, path_encoding
from .metrics import kendall_tau, spearman_rho
from .model import NAR, NARConfig
from .networks import NetworkConfig, build_network
from .predictors import evaluate, make_predictor, split_indices
from .runs import seed_everything, try_device
from .search import BudgetExhausted, Ledger, ledger_for
from .spaces import (
    EDGES,
    NUM_ARCHS,
    OPS,
    arch_str_from_op_code,
    format_arch_str,
    op_code_from_arch_str,
    parse_arch_str,
)

__version__ = "0.1.0"
