"""Search at tight budgets: anytime runs read at every budget, found-the-best statistics."""
import numpy as np
import pandas as pd
import pytest

from nar_utils import predictors
from nar_utils.benchmarks import task as bench_task
from nar_utils.search import protocol, tight

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cifar100(table):
    return bench_task.tasks(table, ["cifar100"])[0]


@pytest.mark.parametrize("method", ["random", "rea", "gbdt-guided"])
def test_one_run_read_at_each_budget_equals_a_run_at_that_budget(table, cifar100, method):
    rows = tight.run_tight(table, cifar100, method, seed=3, budgets=(25, 40))
    assert [r["budget"] for r in rows] == [25, 40]
    assert rows[0]["label_value"] <= rows[1]["label_value"]  # best-so-far never drops
    options = dict(tight.GUIDED) if method == "gbdt-guided" else None
    name = "predictor-evolution" if method == "gbdt-guided" else method
    for row in rows:
        run = protocol.run_at_budget(
            table, cifar100, name, row["budget"], seed=3, method_options=options,
            predictor_factory=lambda s: predictors.make_predictor("gbdt", seed=s))
        assert run["arch_index"] == row["arch_index"] and row["queries"] == run["num_queries"]
        assert row["test_value"] == pytest.approx(run["test_value"])
    label = cifar100.labels(table)
    assert rows[1]["val_regret"] == pytest.approx(label.max() - label[rows[1]["arch_index"]])
    assert rows[1]["found"] == (rows[1]["val_regret"] == 0)


def test_a_search_that_buys_the_best_cell_reports_when():
    label = np.array([1.0, 5.0, 3.0, 9.0, 2.0])
    test = label + 0.5
    trajectory = pd.DataFrame({"num_queries": [1, 2, 3, 4],
                               "best_index": [0, 1, 1, 3],
                               "best_label": [1.0, 5.0, 5.0, 9.0]})
    rows = tight._at_budgets(trajectory, [2, 4], label, test)
    assert [r["found"] for r in rows] == [False, True]
    assert [r["queries_to_best"] for r in rows] == [None, 4]
    assert rows[1]["test_value"] == 9.5 and rows[0]["val_regret"] == 4.0


def test_summary_counts_found_seeds_and_censors_the_median():
    rows = [{"dataset": "c", "budget": 50, "method": "m", "seed": s, "found": f,
             "queries_to_best": q, "val_regret": 0.0 if f else 1.0, "test_value": 90.0}
            for s, (f, q) in enumerate([(True, 20), (True, 40), (False, None)])]
    rows += [{**r, "method": "weak", "found": i == 0, "queries_to_best": 30 if i == 0 else None}
             for i, r in enumerate(rows)]
    summary = tight.summarise_tight(rows).set_index("method")
    assert summary.loc["m", "found"] == pytest.approx(2 / 3)
    assert summary.loc["m", "median_queries_to_best"] == 40  # of 20, 40 and "never"
    assert np.isnan(summary.loc["weak", "median_queries_to_best"])  # 2 of 3 never found it
    assert summary.loc["m", "seeds"] == 3


def test_unknown_methods_and_budgets_are_refused(table, cifar100):
    with pytest.raises(ValueError, match="'<predictor>-guided'"):
        tight.run_tight(table, cifar100, "darts", 0)
    with pytest.raises(ValueError, match="budgets must be positive"):
        tight.run_tight(table, cifar100, "random", 0, budgets=(0, 10))


def test_the_tier_sampler_runs_once_per_budget_and_pays_its_training_labels(table, cifar100):
    rows = tight.run_tight(table, cifar100, "gbdt-sampler", seed=0, budgets=(30, 60))
    assert [r["budget"] for r in rows] == [30, 60]
    for row in rows:
        assert row["queries"] <= row["budget"]
        assert row["queries"] > round(row["budget"] * protocol.NAR_LABEL_SHARE)
