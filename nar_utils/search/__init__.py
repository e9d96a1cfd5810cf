"""Search under the ledger: every method sees accuracies only through a :class:`Ledger`.

:mod:`.ledger` (budgets, the final choice), :mod:`.blackbox` (random, REA, REINFORCE),
:mod:`.curve_ledger` (partial training charged by the epoch), :mod:`.multifidelity` (successive
halving, Hyperband, BOHB, learning-curve early stopping), :mod:`.guided` (predictor-guided),
:mod:`.sampler` (NAR's tier sampler), :mod:`.protocol` (methods by name at equal budgets, the
NB201 paper protocol), :mod:`.tight` (who finds the best cell within 50-200 queries),
:mod:`.nk` (Siamese-NAS's N/K protocol), :mod:`.weight_sharing`."""
from nar_utils.search import tight
from nar_utils.search.blackbox import (
                                       SearchOutcome,
                                       make_rng,
                                       mutate,
                                       random_search,
                                       regularized_evolution,
                                       reinforce,
)
from nar_utils.search.curve_ledger import CurveLedger
from nar_utils.search.guided import predictor_evolution, predictor_random_search
from nar_utils.search.ledger import (
                                       PAPER_TIME_BUDGET,
                                       BudgetExhausted,
                                       Ledger,
                                       Step,
                                       ledger_for,
                                       train_time_column,
)
from nar_utils.search.multifidelity import (
                                       Bracket,
                                       bohb,
                                       geometric_rungs,
                                       hyperband,
                                       hyperband_brackets,
                                       lce_random_search,
                                       lce_regularized_evolution,
                                       successive_halving,
)
from nar_utils.search.protocol import (
                                       METHODS,
                                       SEARCHERS,
                                       paper_protocol,
                                       run_at_budget,
                                       run_search,
                                       task_ledger,
)

__all__ = ["METHODS", "PAPER_TIME_BUDGET", "SEARCHERS", "Bracket", "BudgetExhausted",
           "CurveLedger", "Ledger", "SearchOutcome", "Step", "bohb", "geometric_rungs",
           "hyperband", "hyperband_brackets", "lce_random_search", "lce_regularized_evolution",
           "ledger_for", "make_rng", "mutate", "paper_protocol", "predictor_evolution",
           "predictor_random_search", "random_search", "regularized_evolution", "reinforce",
           "run_at_budget", "run_search", "successive_halving", "task_ledger", "tight",
           "train_time_column"]
