"""The ledger over learning curves and the multi-fidelity searchers on it."""
from __future__ import annotations

import numpy as np
import pytest

import nar_utils as nar
from nar_utils.benchmarks.curves import Curves
from nar_utils.search import multifidelity as M
from nar_utils.search.curve_ledger import CurveLedger

NUM_EPOCHS = 60


class FakeBench:
    """Every NB201 cell with a training time (s per full schedule) and a test accuracy."""

    source = "fake"

    def __init__(self, op_codes: np.ndarray, seconds: np.ndarray, test: np.ndarray):
        self.op_codes, self.seconds, self.test = op_codes, seconds, test

    def has(self, dataset, metric, hp=None):
        return (metric == "train-time" and str(hp) == str(NUM_EPOCHS)) or \
            metric == "test-accuracy"

    def column(self, dataset, metric, hp=None):
        return self.seconds if metric == "train-time" else self.test


@pytest.fixture(scope="module")
def world():
    """Curves of all 15,625 cells rising as c - a t^-alpha, better with more 3x3 convs;
    noise makes early epochs an imperfect guide."""
    op_codes = nar.load_benchmark("embedded").op_codes
    rng = np.random.default_rng(0)
    n = len(op_codes)
    convs = (op_codes == 3).sum(axis=1) + 0.5 * (op_codes == 2).sum(axis=1)
    c = 55 + 5 * convs + rng.normal(0, 1.5, n)
    a = rng.uniform(20, 40, n)
    alpha = rng.uniform(0.3, 0.9, n)
    t = np.arange(1, NUM_EPOCHS + 1)
    values = c[:, None] - a[:, None] * t[None, :] ** -alpha[:, None] \
        + rng.normal(0, 0.3, (n, NUM_EPOCHS))
    curves = Curves(t, values, np.ones(values.shape, bool), np.arange(n),
                    "cifar10-valid valid-accuracy", True, "synthetic")
    seconds = 600 + 30 * convs  # per 60-epoch run
    bench = FakeBench(op_codes, seconds, values[:, -1] - rng.uniform(0, 1, n))
    return curves, bench


def _ledger(world, **budget):
    curves, bench = world
    return CurveLedger(curves, bench, "cifar10-valid", **budget)


def test_partial_training_is_charged_by_the_epoch(world):
    ledger = _ledger(world)
    per_epoch = world[1].seconds[7] / NUM_EPOCHS
    epochs, values = ledger.train(7, 10)
    assert epochs.tolist() == list(range(1, 11))
    np.testing.assert_array_equal(values, world[0].values[7, :10])
    assert ledger.time_used == pytest.approx(10 * per_epoch, rel=1e-12)
    ledger.train(7, 30)
    assert ledger.time_used == pytest.approx(30 * per_epoch, rel=1e-12)
    ledger.train(7, 5)  # already shown: free
    assert ledger.time_used == pytest.approx(30 * per_epoch, rel=1e-12)
    assert ledger.num_queries == 1 and ledger.trained_epochs(7) == 30
    assert len(ledger.observed(7)[0]) == 30 and len(ledger.observed(8)[0]) == 0
    ledger.train(8, NUM_EPOCHS)
    assert ledger.num_queries == 2 and ledger.best() == 8  # chosen by the last epoch only


def test_separate_schedules_are_charged_in_full(world):
    curves, bench = world
    schedules = curves.rows(np.arange(len(curves)))._replace(
        epochs=curves.epochs[[3, 11, NUM_EPOCHS - 1]],
        values=curves.values[:, [3, 11, NUM_EPOCHS - 1]],
        real=curves.real[:, [3, 11, NUM_EPOCHS - 1]], one_run=False)
    ledger = CurveLedger(schedules, bench, "cifar10-valid")
    per_epoch = bench.seconds[2] / NUM_EPOCHS
    ledger.train(2, 12)
    epochs, _ = ledger.train(2, 4)
    assert epochs.tolist() == [4, 12]
    assert ledger.time_used == pytest.approx(16 * per_epoch, rel=1e-12)
    assert ledger.num_queries == 1


def test_budgets_hold_exactly_on_epochs(world):
    per_epoch = world[1].seconds[0] / NUM_EPOCHS
    ledger = _ledger(world, max_time=25 * per_epoch)
    ledger.train(0, 20)
    with pytest.raises(nar.BudgetExhausted):
        ledger.train(0, 26)
    assert ledger.trained_epochs(0) == 20  # the refused training is not charged
    assert ledger.time_used == pytest.approx(20 * per_epoch)


class AuditedLedger(CurveLedger):
    """Records every value the ledger reads, to check none lies beyond what was paid for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads: list[tuple[int, int]] = []
        for hp, column in list(self._labels.items()):
            self._labels[hp] = _Audit(column, int(hp), self.reads)


class _Audit:
    def __init__(self, column, epoch, reads):
        self.column, self.epoch, self.reads = column, epoch, reads

    def __getitem__(self, index):
        self.reads.append((int(index), self.epoch))
        return self.column[index]


@pytest.mark.parametrize("method", ["successive_halving", "hyperband", "bohb", "lce-rs",
                                    "svr-rea"])
def test_searchers_read_only_epochs_they_paid_for_and_repeat_with_a_seed(world, method):
    curves, bench = world
    rungs = M.geometric_rungs(NUM_EPOCHS, eta=3, num_rungs=3)
    run = {"successive_halving": lambda L, s: M.successive_halving(L, s, rungs=rungs),
           "hyperband": lambda L, s: M.hyperband(L, s, rungs=rungs),
           "bohb": lambda L, s: M.bohb(L, s, rungs=rungs),
           "lce-rs": lambda L, s: M.lce_random_search(L, s, "lce", single_fidelity=10,
                                                       num_init=5),
           "svr-rea": lambda L, s: M.lce_regularized_evolution(L, s, "svr", single_fidelity=10,
                                                              population_size=8)}[method]
    budget = (25 if "-" in method else 80) * bench.seconds.mean()
    trajectories = []
    for _ in range(2):
        ledger = AuditedLedger(curves, bench, "cifar10-valid", max_time=budget)
        outcome = run(ledger, 3)
        assert outcome.stop_reason == "time budget"
        assert ledger.time_used <= budget
        for index, epoch in ledger.reads:
            assert epoch <= ledger.trained_epochs(index), (index, epoch)
        assert ledger.chosen_hp == str(NUM_EPOCHS)
        trajectories.append([(s.arch_index, s.hp, s.time_used) for s in ledger.trajectory])
    assert trajectories[0] == trajectories[1]
    other = AuditedLedger(curves, bench, "cifar10-valid", max_time=budget)
    run(other, 4)
    assert [(s.arch_index, s.hp) for s in other.trajectory] != \
        [t[:2] for t in trajectories[0]]


def test_brackets_keep_their_arithmetic(world):
    assert M.geometric_rungs(200) == (7, 22, 67, 200)
    assert [b.sizes for b in M.hyperband_brackets(4, 3)] == [(27, 9, 3, 1), (12, 4, 1),
                                                              (6, 2), (4,)]
    rungs = (7, 22, NUM_EPOCHS)
    ledger = _ledger(world, max_queries=9)  # one successive-halving bracket: 9 -> 3 -> 1
    outcome = M.successive_halving(ledger, 0, eta=3, rungs=rungs)
    assert outcome.info["brackets"] == 1 and outcome.stop_reason == "query budget"
    assert [len(ledger.known(str(r))[0]) for r in rungs] == [9, 3, 1]
    seconds = world[1].seconds / NUM_EPOCHS
    paid = sum(seconds[i] * ledger.trained_epochs(i) for i in set(ledger.known("7")[0]))
    assert ledger.time_used == pytest.approx(paid, rel=1e-12)
    survivors = ledger.known("22")[0]
    first, labels = ledger.known("7")
    assert set(survivors) == set(first[np.argsort(-labels, kind="stable")[:3]])


def test_learning_curve_searchers_stop_early_and_choose_a_fully_trained_cell(world):
    ledger = _ledger(world, max_time=50 * world[1].seconds.mean())
    outcome = M.lce_random_search(ledger, 0, "lce", single_fidelity=15, num_init=5)
    info = outcome.info
    assert info["stopped_early"] > 0 and info["trained_fully"] >= 5
    assert info["trained_fully"] == len(ledger.known()[0])
    assert outcome.num_queries > info["trained_fully"]  # more cells looked at than finished
    assert ledger.trained_epochs(outcome.best_index) == NUM_EPOCHS


def test_learning_curve_searchers_refuse_what_they_cannot_use(world, table):
    with pytest.raises(ValueError, match="need a ledger over curves"):
        M.lce_random_search(nar.ledger_for(table, "cifar10", max_queries=5), 0)
    with pytest.raises(ValueError, match="too short to extrapolate"):
        M.lce_random_search(_ledger(world), 0, single_fidelity=2)
    with pytest.raises(ValueError, match="unknown extrapolator 'mcmc'"):
        M.lce_random_search(_ledger(world), 0, "mcmc")
    with pytest.raises(ValueError, match="ending at its label hp '60'"):
        M.hyperband(_ledger(world), 0, rungs=(7, 22))


def test_compare_on_curves_reports_regret_from_what_each_search_paid_for(data_dir, table):
    task = M.curve_task("pool", table, data_dir)
    assert task.curves.real.all() and not task.product_space
    assert set(M.curve_searchers(task)) == {"RS", "SH", "HB", "RS-LCE", "RS-SVR"}
    budget = 20 * task.mean_full_seconds()
    runs, trajectories = M.compare_on_curves(task, ["RS", "HB"], [0, 1], budget)
    assert len(runs) == 4 and (runs["time_used"] <= budget).all()
    assert (runs["real_read"] == 1.0).all()
    best_val = task.curves.final.max()
    for (method, seed), run in trajectories.groupby(["method", "seed"]):
        regrets = run["val_regret"].to_numpy()
        assert (np.diff(regrets) <= 1e-12).all() and (regrets >= 0).all()
        assert np.diff(run["time"].to_numpy()).min() >= 0
        final = runs[(runs["method"] == method) & (runs["seed"] == seed)]
        assert regrets[-1] == pytest.approx(final["val_regret"].iat[0])
        assert regrets[-1] == pytest.approx(best_val - task.curves.final[
            np.flatnonzero(task.curves.final == best_val - regrets[-1])[0]])
    with pytest.raises(ValueError, match=r"methods \['REA'\] do not run on 'pool'"):
        M.compare_on_curves(task, ["REA"], [0], budget)
    with pytest.raises(ValueError, match="unknown curve space 'nb311'"):
        M.curve_task("nb311", table, data_dir)
