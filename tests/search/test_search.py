"""The budget ledger and the search baselines, on a tiny synthetic benchmark and (when the
data directory is configured) on the NB201 table."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nar_utils import search
from nar_utils.search import BudgetExhausted, Ledger
from nar_utils.spaces import nb201

BEST_OPS = (3, 2, 3, 1, 3, 2)


class AuditedArray(np.ndarray):
    """A label column that logs every way it is read."""

    def __new__(cls, values, log):
        obj = np.asarray(values, dtype=float).view(cls)
        obj.log = log
        return obj

    def __array_finalize__(self, obj):
        self.log = getattr(obj, "log", None)

    def __getitem__(self, key):
        if self.log is not None:
            self.log.append(key)
        return np.asarray(self).__getitem__(key)

    def __iter__(self):
        self.log.append("iter")
        return super().__iter__()

    def tolist(self):
        self.log.append("tolist")
        return super().tolist()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        self.log.append(f"ufunc:{ufunc.__name__}")
        inputs = tuple(np.asarray(x) if isinstance(x, AuditedArray) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        self.log.append(f"function:{func.__name__}")
        args = tuple(np.asarray(x) if isinstance(x, AuditedArray) else x for x in args)
        return func(*args, **kwargs)


class ToyBench:
    """A benchmark-like object over the 729 cells with ops {1, 2, 3} on every edge.

    Validation accuracy rises by 3 per edge matching BEST_OPS (plus small op-dependent terms),
    so its optimum is unique; 'train-time' exists for hp '200' only (hp '12' is derived).
    """

    def __init__(self, audit: list | None = None, with_time: bool = True):
        codes = np.array(list(itertools.product((1, 2, 3), repeat=6)), dtype=np.int8)
        self.op_codes = codes
        c = codes.astype(float)
        valid = 60 + 3.0 * (codes == np.array(BEST_OPS)).sum(1) + 0.1 * c.sum(1) + 0.01 * c[:, 0]
        self.cols = {
            ("toy", "valid-accuracy", "200"): valid,
            ("toy", "valid-accuracy", "12"): valid / 2 + 0.2 * c[:, 1],
            ("toy", "test-accuracy", "200"): valid - 1 + 0.05 * c[:, 5],
        }
        if with_time:
            self.cols[("toy", "train-time", "200")] = 100 + 10 * c.sum(1)
        if audit is not None:
            for key in list(self.cols):
                if key[1] == "valid-accuracy":
                    self.cols[key] = AuditedArray(self.cols[key], audit)

    def has(self, dataset, metric, hp=None):
        return (dataset, metric, hp or "200") in self.cols

    def column(self, dataset, metric, hp=None):
        key = (dataset, metric, hp or "200")
        if key not in self.cols:
            raise KeyError(key)
        return self.cols[key]


class Ridge:
    """A one-hot ridge regression: a cheap predictor with the fit/predict contract."""

    def __init__(self):
        self.fits = 0

    @staticmethod
    def _features(archs):
        archs = np.asarray(archs, dtype=np.int64)
        x = np.zeros((len(archs), 30))
        x[np.arange(len(archs))[:, None], np.arange(6) * 5 + archs] = 1.0
        return x

    def fit(self, archs, y):
        x = self._features(archs)
        self.mean = float(np.mean(y))
        self.w = np.linalg.solve(x.T @ x + np.eye(30), x.T @ (np.asarray(y) - self.mean))
        self.fits += 1
        return self

    def predict(self, archs):
        return self._features(archs) @ self.w + self.mean


def _optimum(ledger: Ledger) -> int:
    return ledger.index_of(np.array(BEST_OPS))


# Every searcher as f(ledger, seed); BOHB uses the 12-epoch label as its low fidelity.
SEARCHERS = {
    "random": search.random_search,
    "rea": search.regularized_evolution,
    "reinforce": lambda ledger, seed: search.reinforce(ledger, seed, lr=0.1),
    "reinforce-paper": search.reinforce,
    "bohb": search.bohb,
    "predictor-random": lambda ledger, seed: search.predictor_random_search(
        ledger, Ridge(), seed, num_initial=20, pool_size=200, top_k=5),
    "predictor-evolution": lambda ledger, seed: search.predictor_evolution(
        ledger, Ridge(), seed, num_initial=20, num_mutants=40, top_k=5),
}


def _ledger(bench, method, **budgets):
    fidelity = ("12",) if method == "bohb" else ()
    return Ledger(bench, "toy", "valid-accuracy", "200", fidelity_hps=fidelity, **budgets)


# -- the ledger ---------------------------------------------------------------------------
def test_ledger_counts_distinct_lookups_and_repeats_are_free():
    bench = ToyBench()
    ledger = Ledger(bench, "toy")
    times = bench.column("toy", "train-time")
    assert ledger.query(5) == pytest.approx(bench.column("toy", "valid-accuracy")[5])
    ledger.query(5)
    ledger.query(7)
    assert ledger.num_queries == 2 and len(ledger.trajectory) == 2
    labels = ledger.charge_labels([7, 9, 11])  # 7 is already bought: free
    assert labels.shape == (3,) and ledger.num_queries == 4
    assert ledger.time_used == pytest.approx(times[[5, 7, 9, 11]].sum())
    assert [s.kind for s in ledger.trajectory] == ["query", "query", "train-label", "train-label"]
    index, values = ledger.known()
    assert index.tolist() == [5, 7, 9, 11] and ledger.is_known(9) and not ledger.is_known(10)
    best = index[int(np.argmax(values))]
    assert ledger.best() == best and ledger.trajectory[-1].best_index == best


def test_query_budget_is_exact():
    ledger = Ledger(ToyBench(), "toy", max_queries=3)
    for i in range(3):
        ledger.query(i)
    with pytest.raises(BudgetExhausted) as info:
        ledger.query(3)
    assert info.value.reason == "query budget" and ledger.num_queries == 3
    assert ledger.query(1) == ledger.trajectory[1].label  # bought labels stay readable
    with pytest.raises(BudgetExhausted):
        ledger.charge_labels([1, 2, 4])
    assert ledger.num_queries == 3 and not ledger.is_known(4)


def test_time_budget_is_exact_and_refused_lookup_is_not_charged():
    bench = ToyBench()
    times = bench.column("toy", "train-time")
    budget = times[0] + times[1] + times[2] + 0.5 * times[3]
    ledger = Ledger(bench, "toy", max_time=budget)
    for i in range(3):
        ledger.query(i)
    with pytest.raises(BudgetExhausted) as info:
        ledger.query(3)
    assert info.value.reason == "time budget"
    assert ledger.time_used == pytest.approx(times[:3].sum()) and ledger.time_used <= budget
    assert ledger.num_queries == 3 and not ledger.is_known(3)


@pytest.mark.parametrize("method", sorted(SEARCHERS))
def test_every_searcher_respects_budgets_exactly(method):
    ledger = _ledger(ToyBench(), method, max_queries=37)
    outcome = SEARCHERS[method](ledger, 0)
    if outcome.stop_reason == "converged":  # REINFORCE may stop before the budget
        assert ledger.num_queries <= 37
    else:
        assert outcome.stop_reason == "query budget" and ledger.num_queries == 37
    ledger = _ledger(ToyBench(), method, max_time=4000.0)
    outcome = SEARCHERS[method](ledger, 0)
    assert ledger.time_used <= 4000.0
    assert outcome.stop_reason in ("time budget", "converged")
    assert all(s.time_used <= 4000.0 for s in ledger.trajectory)


@pytest.mark.parametrize("method", sorted(SEARCHERS))
def test_searchers_read_only_the_labels_they_buy(method):
    """The label columns log every read: each read is one bought (arch, hp), read once."""
    audit: list = []
    ledger = _ledger(ToyBench(audit), method, max_queries=60)
    SEARCHERS[method](ledger, 1)
    bought = [s.arch_index for s in ledger.trajectory]
    assert audit, "the audit saw no reads"
    assert all(isinstance(key, int) for key in audit), audit[:5]
    assert sorted(audit) == sorted(bought)
    # reporting reads the test column only after the search, and seals the ledger
    ledger.report("toy")
    assert len(audit) == len(bought)
    with pytest.raises(RuntimeError, match="search is over"):
        ledger.query(0)


@pytest.mark.parametrize("method,budget", [
    ("random", 729), ("rea", 400), ("reinforce", 200), ("bohb", 150),
    ("predictor-random", 60), ("predictor-evolution", 60)])
def test_searchers_find_the_optimum_of_a_small_space(method, budget):
    for seed in (0, 1, 2):
        ledger = _ledger(ToyBench(), method, max_queries=budget)
        SEARCHERS[method](ledger, seed)
        assert ledger.best() == _optimum(ledger), (method, seed, ledger.num_queries)


def test_reinforce_at_the_paper_rate_collapses_and_stops():
    """At Adam lr 0.5 the policy collapses within a few dozen queries and then samples only
    bought (free) archs: the search stops as 'converged' with budget left."""
    ledger = _ledger(ToyBench(), "reinforce", max_queries=500)
    outcome = search.reinforce(ledger, 0, max_repeats=50)
    assert outcome.stop_reason == "converged" and ledger.num_queries < 100
    assert outcome.info["steps"] >= ledger.num_queries + 50 - 1


@pytest.mark.parametrize("method", sorted(SEARCHERS))
def test_same_seed_same_trajectory(method):
    runs = []
    for seed in (4, 4, 5):
        ledger = _ledger(ToyBench(), method, max_queries=40)
        SEARCHERS[method](ledger, seed)
        runs.append([(s.arch_index, s.hp) for s in ledger.trajectory])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_bohb_promotes_to_the_high_fidelity_and_chooses_by_it():
    ledger = _ledger(ToyBench(), "bohb", max_queries=80)
    search.bohb(ledger, 0)
    hps = [s.hp for s in ledger.trajectory]
    assert {"12", "200"} <= set(hps)
    high, labels = ledger.known("200")
    assert ledger.best() == high[int(np.argmax(labels))] and ledger.chosen_hp == "200"
    # every arch seen at 200 epochs after the first bracket was promoted from 12 epochs or
    # started in a high-fidelity bracket; low-fidelity look-ups cost their own (derived) time
    assert ledger.time_sources == {"12": "derived: 200-epoch train-time x 12/200",
                                   "200": "table"}


# -- configuration errors ------------------------------------------------------------------
def test_time_budget_without_train_time_raises():
    with pytest.raises(ValueError, match="train-time"):
        Ledger(ToyBench(with_time=False), "toy", max_time=100.0)
    ledger = Ledger(ToyBench(with_time=False), "toy", max_queries=3)
    ledger.query(0)
    assert math.isnan(ledger.time_used)


def test_derived_12_epoch_time():
    bench = ToyBench()
    ledger = Ledger(bench, "toy", label_hp="12", max_time=1e9)
    ledger.query(10)
    assert ledger.time_used == pytest.approx(bench.column("toy", "train-time")[10] * 12 / 200)


def test_bad_configuration_names_the_fix():
    bench = ToyBench()
    with pytest.raises(ValueError, match="no 'valid-accuracy' for dataset 'cifar10'"):
        Ledger(bench, "cifar10")
    with pytest.raises(ValueError, match="label hp"):
        Ledger(bench, "toy", fidelity_hps=("200",))
    ledger = Ledger(bench, "toy")
    with pytest.raises(ValueError, match="fidelity_hps"):
        ledger.query(0, hp="12")
    with pytest.raises(IndexError):
        ledger.query(729)
    with pytest.raises(ValueError, match="unknown search method"):
        search.run_search("grid", ledger, 0)
    with pytest.raises(RuntimeError, match="no label"):
        ledger.best()


def test_trajectory_frame_has_best_so_far_test_curve():
    bench = ToyBench()
    ledger = Ledger(bench, "toy", max_queries=30)
    search.random_search(ledger, 0)
    frame = ledger.trajectory_frame("toy")
    test = bench.column("toy", "test-accuracy")
    assert len(frame) == 30 and (np.diff(frame["best_label"]) >= 0).all()
    assert np.allclose(frame["best_test"], test[frame["best_index"]])
    report = ledger.report("toy")
    assert report["test_value"] == pytest.approx(test[ledger.best()])
    assert report["num_queries"] == 30 and report["stop_reason"] == "query budget"


# -- the NB201 table and the embedded source -------------------------------------------------
def test_cifar10_is_searched_on_cifar10_valid(table):
    ledger = search.ledger_for(table, "cifar10", max_queries=5)
    assert (ledger.label_dataset, ledger.label_metric) == ("cifar10-valid", "valid-accuracy")
    with pytest.raises(ValueError, match="cifar10-valid"):
        Ledger(table, "cifar10", "valid-accuracy")


def test_12_epoch_time_derivation_matches_the_cifar10_valid_table(table):
    """The table's 12-epoch cifar10-valid times are the 200-epoch ones x 12/200 for every
    arch, the rule the ledger applies to datasets without 12-epoch times."""
    t12 = table.column("cifar10-valid", "train-time", "12")
    t200 = table.column("cifar10-valid", "train-time", "200")
    np.testing.assert_allclose(t12, t200 * 12 / 200, rtol=1e-6)
    ledger = search.ledger_for(table, "cifar100", hp="12", max_time=1e4)
    assert ledger.time_sources["12"].startswith("derived")


def test_paper_protocol_on_the_table(table):
    report = search.paper_protocol(table, "cifar10", "rea", seed=0)
    assert report["time_used"] <= search.PAPER_TIME_BUDGET
    assert report["stop_reason"] == "time budget" and 50 < report["num_queries"] < 200
    assert report["label"] == "cifar10-valid valid-accuracy (hp=12)"
    assert 85.0 < report["test_value"] <= 94.38
    assert "reported" not in report  # published figures live in reproduce.anchors


def test_embedded_source_allows_query_budgets_only(embedded):
    with pytest.raises(ValueError, match="cifar10-valid"):
        search.ledger_for(embedded, "cifar10")
    with pytest.raises(ValueError, match="train-time"):
        Ledger(embedded, "cifar10", "test-accuracy", "anb", max_time=100.0)
    ledger = Ledger(embedded, "cifar10", "test-accuracy", "anb", max_queries=20)
    search.regularized_evolution(ledger, 0)
    assert ledger.num_queries == 20
    assert ledger.op_codes.shape == (nb201.NUM_ARCHS, 6)


def test_hyperband_brackets_follow_the_successive_halving_rule():
    brackets = search.hyperband_brackets(3, eta=3)
    assert [(b.s, b.start, b.sizes) for b in brackets] == [
        (2, 0, (9, 3, 1)), (1, 1, (5, 1)), (0, 2, (3,))]
    two = search.hyperband_brackets(2, eta=3)
    assert [(b.start, b.sizes) for b in two] == [(0, (3, 1)), (1, (2,))]
    with pytest.raises(ValueError, match="eta must be >= 2"):
        search.hyperband_brackets(2, eta=1)
