"""nar_utils: the code behind the NAR book (one namespace: ``import nar_utils as nar``)."""
from . import benchmarks, runs, spaces
from .benchmarks import DATASETS, NB201Benchmark, load_benchmark
from .runs import seed_everything, try_device
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
