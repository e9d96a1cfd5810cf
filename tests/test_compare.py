"""run_at_budget: every method under one ledger and one budget."""
import numpy as np
import pytest

from nar_utils import benchmarks, compare, predictors


@pytest.fixture(scope="module")
def cifar100(table):
    return benchmarks.tasks(table, ["cifar100"])[0]


@pytest.mark.parametrize("method", ["random", "rea", "bohb", "predictor-random"])
def test_methods_respect_the_budget_and_report_by_validation(table, cifar100, method):
    run = compare.run_at_budget(table, cifar100, method, 60, seed=1,
                                predictor_factory=lambda s: predictors.make_predictor("gbdt",
                                                                                     seed=s))
    assert run["num_queries"] <= 60
    trajectory = run["trajectory"]
    assert len(trajectory) == run["num_queries"]
    valid = table.column("cifar100", "valid-accuracy")
    test = table.column("cifar100", "test-accuracy")
    bought = trajectory.loc[trajectory["hp"] == "200", "arch_index"].to_numpy()
    # the final choice is the best *validation* label among what was bought
    assert run["arch_index"] == bought[np.argmax(valid[bought])]
    assert run["test_value"] == pytest.approx(test[run["arch_index"]])


def test_nar_sampler_counts_its_training_labels(table, cifar100):
    run = compare.run_at_budget(table, cifar100, "nar-sampler", 80, seed=0,
                                ranker_factory=lambda s: predictors.make_predictor("gbdt",
                                                                                  seed=s))
    assert run["train_labels"] == round(80 * compare.NAR_LABEL_SHARE)
    assert run["train_labels"] < run["num_queries"] <= 80
    assert run["oracle_rank"] >= 1 and run["oracle_test"] >= run["test_value"] - 1e-9


def test_unknown_method_and_missing_factories(table, cifar100):
    with pytest.raises(ValueError, match="valid: random"):
        compare.run_at_budget(table, cifar100, "darts", 10, 0)
    with pytest.raises(ValueError, match="predictor_factory"):
        compare.run_at_budget(table, cifar100, "predictor-random", 10, 0)
    with pytest.raises(ValueError, match="ranker_factory"):
        compare.run_at_budget(table, cifar100, "nar-sampler", 10, 0)
