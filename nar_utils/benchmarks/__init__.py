"""Benchmarks: what a cell *scored*. Tables and their official-format readers, the one
data-directory rule (:mod:`.datadir`) and the one reported -> label table (:mod:`.task`).
Learning curves (:mod:`.curves`) and surrogate curve benchmarks in the NAS-Bench-x11 way
(:mod:`.surrogate`). How far two training runs of the same cells agree (:mod:`.noise`).
Loading the NB201 table and querying it (``get_more_info``) imports no
torch."""
from nar_utils._lazy import lazy
from nar_utils.benchmarks.datadir import EMBEDDED, ENV_DATA_DIR, require_data_dir, resolve_data_dir

__getattr__, __dir__ = lazy(__name__, ("convert", "curves", "datadir", "formats", "nb101",
                                       "nb201", "noise", "surrogate", "task"), {
    "DATASETS": "nb201", "NB201Benchmark": "nb201", "load_benchmark": "nb201",
    "load_embedded": "nb201", "load_table": "nb201", "optima": "nb201",
    "SEARCH_LABELS": "task", "Task": "task", "label_dataset": "task", "tasks": "task",
    "NB101Benchmark": "nb101", "LedgerView": "nb101", "load_nb101": "nb101",
    "load_space": "nb101", "Curves": "curves", "CurveSurrogate": "surrogate",
})

__all__ = ["EMBEDDED", "ENV_DATA_DIR", "require_data_dir", "resolve_data_dir"]
