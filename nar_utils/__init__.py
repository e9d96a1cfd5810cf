"""nar_utils: the code behind the NAR book (one namespace: ``import nar_utils as nar``).

One room per role; each subpackage loads when first used, so ``import nar_utils`` imports
neither torch nor pandas::

    nar_utils/
      metrics.py    ranking metrics and the one tier rule      runtime.py   seeds, devices
      spaces/       what a cell is: SearchSpace, nb201/, nb101/ (space, network, cellinfo,
                    encoding, ...)
      benchmarks/   what a cell scored: datadir (the data-directory rule), task (the
                    reported -> label table), nb201, nb101, curves, surrogate, convert,
                    formats/
      training/     images on the benchmark's splits (or a labelled proxy), its recipe, a
                    trainer that records learning curves
      predictors/   one contract (base), baselines, nar/ (model, train, predictor),
                    siamese/, lce (learning-curve extrapolation)
      search/       ledger, curve_ledger, blackbox, multifidelity, guided, sampler, protocol
      reproduce/    book machinery (records, runner, grid, anchors): notebooks only
"""
from nar_utils._lazy import lazy

__version__ = "0.1.0"

__getattr__, __dir__ = lazy(__name__, (
    "benchmarks", "metrics", "predictors", "reproduce", "runtime", "search", "spaces",
    "training"), {
    "get_space": "spaces",
    "load_benchmark": "benchmarks", "tasks": "benchmarks.task",
    "evaluate": "predictors", "make_predictor": "predictors", "split_indices": "predictors",
    "BudgetExhausted": "search", "Ledger": "search", "ledger_for": "search",
    "kendall_tau": "metrics", "spearman_rho": "metrics",
    "seed_everything": "runtime", "try_device": "runtime",
})
