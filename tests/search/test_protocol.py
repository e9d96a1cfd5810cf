"""run_at_budget: every method under one ledger and one budget."""
import numpy as np
import pytest

from nar_utils import predictors
from nar_utils.benchmarks import task as bench_task
from nar_utils.search import protocol


@pytest.fixture(scope="module")
def cifar100(table):
    return bench_task.tasks(table, ["cifar100"])[0]


@pytest.mark.parametrize("method", ["random", "rea", "bohb", "predictor-random"])
def test_methods_respect_the_budget_and_report_by_validation(table, cifar100, method):
    run = protocol.run_at_budget(table, cifar100, method, 60, seed=1,
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
    run = protocol.run_at_budget(table, cifar100, "nar-sampler", 80, seed=0,
                                ranker_factory=lambda s: predictors.make_predictor("gbdt",
                                                                                  seed=s))
    assert run["train_labels"] == round(80 * protocol.NAR_LABEL_SHARE)
    assert run["train_labels"] < run["num_queries"] <= 80
    assert run["oracle_rank"] >= 1 and run["oracle_test"] >= run["test_value"] - 1e-9


def test_unknown_method_and_missing_factories(table, cifar100):
    with pytest.raises(ValueError, match="valid: random"):
        protocol.run_at_budget(table, cifar100, "darts", 10, 0)
    with pytest.raises(ValueError, match="predictor_factory"):
        protocol.run_at_budget(table, cifar100, "predictor-random", 10, 0)
    with pytest.raises(ValueError, match="ranker_factory"):
        protocol.run_at_budget(table, cifar100, "nar-sampler", 10, 0)


def test_options_reach_the_searcher_and_a_pretrained_ranker_pays_its_labels(table, cifar100):
    run = protocol.run_at_budget(table, cifar100, "predictor-random", 60, seed=2,
                                 predictor_factory=lambda s: predictors.make_predictor("gbdt",
                                                                                      seed=s),
                                 method_options={"num_initial": 40, "top_k": 4})
    kinds = run["trajectory"]["kind"].tolist()
    assert kinds.count("train-label") == 40  # num_initial, not the default budget // 5
    assert kinds[40:44] == ["query"] * 4 and len(kinds) == 60
    labelled = np.arange(0, 15625, 300)[:40]
    ranker = predictors.make_predictor("gbdt", seed=0)
    ranker.fit(table.op_codes[labelled], cifar100.labels(table)[labelled])
    run = protocol.run_at_budget(table, cifar100, "nar-sampler", 70, seed=0,
                                 ranker_factory=lambda s: ranker, ranker_labels=labelled,
                                 sampler_options={"num_iterations": 3, "top_k": 5})
    assert run["train_labels"] == 0 and run["iterations"] == 3
    bought = run["trajectory"]["arch_index"].tolist()
    assert bought[:40] == labelled.tolist()  # the ranker's labels are bought first
    assert 40 < run["num_queries"] <= 70


def test_a_task_may_report_validation_accuracy(table):
    task = bench_task.Task("cifar100", "cifar100", "valid-accuracy", "200",
                           report_metric="valid-accuracy")
    run = protocol.run_at_budget(table, task, "random", 30, seed=0)
    valid = table.column("cifar100", "valid-accuracy")
    assert run["test_value"] == pytest.approx(valid[run["arch_index"]])
    assert run["test"] == "cifar100 valid-accuracy (hp=200)"
