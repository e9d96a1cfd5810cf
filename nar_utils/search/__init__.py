"""Search under the ledger: every method sees accuracies only through a :class:`Ledger`.

:mod:`.ledger` (budgets, the final choice), :mod:`.blackbox` (random, REA, REINFORCE),
:mod:`.multifidelity` (the Hyperband schedule, BOHB), :mod:`.guided` (predictor-guided),
:mod:`.sampler` (NAR's tier sampler), :mod:`.protocol` (methods by name at equal budgets, the
NB201 paper protocol), :mod:`.nk` (Siamese-NAS's N/K protocol), :mod:`.weight_sharing`."""
from nar_utils.search.blackbox import (
                                       SearchOutcome,
                                       make_rng,
                                       mutate,
                                       random_search,
                                       regularized_evolution,
                                       reinforce,
)
from nar_utils.search.guided import predictor_evolution, predictor_random_search
from nar_utils.search.ledger import (
                                       PAPER_TIME_BUDGET,
                                       BudgetExhausted,
                                       Ledger,
                                       Step,
                                       ledger_for,
                                       train_time_column,
)
from nar_utils.search.multifidelity import Bracket, bohb, hyperband_brackets
from nar_utils.search.protocol import (
                                       METHODS,
                                       SEARCHERS,
                                       paper_protocol,
                                       run_at_budget,
                                       run_search,
                                       task_ledger,
)

__all__ = ["METHODS", "PAPER_TIME_BUDGET", "SEARCHERS", "Bracket", "BudgetExhausted", "Ledger",
           "SearchOutcome", "Step", "bohb", "hyperband_brackets", "ledger_for", "make_rng",
           "mutate", "paper_protocol", "predictor_evolution", "predictor_random_search",
           "random_search", "regularized_evolution", "reinforce", "run_at_budget",
           "run_search", "task_ledger", "train_time_column"]
