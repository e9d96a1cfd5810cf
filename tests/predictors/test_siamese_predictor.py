"""The Siamese-NAS predictor on the contract: code providers, training, two-stage ranking, BTS."""
from __future__ import annotations

import numpy as np
import pytest

from nar_utils import metrics
from nar_utils.predictors.siamese import CodeCache
from nar_utils.predictors.siamese.predictor import SiamesePredictor, TableCodes, TrainedCodes
from nar_utils.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"hidden": 16, "num_epochs": 10, "batch_size": 8}


class SyntheticTable:
    """Every NB201 cell with a learnable label (3x3 convolutions help, 'none' hurts) and a
    12-epoch figure that tracks it, on a (dataset, metric, hp) API like the table's."""

    source = "synthetic"

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.op_codes = nb201.all_op_codes()
        ops = self.op_codes
        conv3 = (ops == nb201.OPS.index("nor_conv_3x3")).sum(1)
        none = (ops == nb201.OPS.index("none")).sum(1)
        self.label = 60 + 2.0 * conv3 - 1.5 * none + rng.normal(0, 0.5, len(ops))
        self.data = {("cifar10-valid", "valid-accuracy", "12"): self.label * 0.8 + rng.normal(
                         0, 1.0, len(ops)),
                     ("cifar10-valid", "train-time", "12"): 10 + conv3.astype(float),
                     ("cifar100", "test-accuracy", "200"): self.label,
                     ("cifar100", "train-time", "200"): 200 + 10 * conv3.astype(float)}

    def has(self, dataset, metric, hp=None):
        return (dataset, metric, hp or "200") in self.data

    def column(self, dataset, metric, hp=None):
        return self.data[(dataset, metric, hp or "200")]


TABLE = SyntheticTable()


def fitted(seed=0, n=60, **options):
    rng = np.random.default_rng(100 + seed)
    index = rng.choice(len(TABLE.op_codes), n, replace=False)
    predictor = SiamesePredictor(seed=seed, codes=TableCodes(TABLE), **{**SMALL, **options})
    return predictor.fit(TABLE.op_codes[index], TABLE.label[index]), index


def test_table_codes_serve_the_12_epoch_figure_and_remember_what_they_cost():
    codes = TableCodes(TABLE)
    rows = TABLE.op_codes[[3, 7, 3]]
    values = codes(rows)
    assert values.shape == (3, 1)
    assert values[0, 0] == TABLE.data[("cifar10-valid", "valid-accuracy", "12")][3]
    assert codes.run_cost() == (2, 20.0 + (rows[:2] == 3).sum())  # two cells, each once
    codes.start_run()
    assert codes.run_cost() == (0, 0.0)
    with pytest.raises(KeyError, match="12-epoch"):
        TableCodes(TABLE, dataset="ImageNet16-120")


def test_the_predictor_learns_and_repeats_under_its_seed():
    predictor, index = fitted()
    rest = np.setdiff1d(np.arange(len(TABLE.op_codes)), index)[:2000]
    coarse = predictor.coarse(TABLE.op_codes[rest])
    assert coarse.shape == (len(rest),) and ((coarse > 0) & (coarse < 1)).all()
    assert metrics.kendall_tau(TABLE.label[rest], coarse) > 0.3
    again, _ = fitted()
    assert np.array_equal(again.predict(TABLE.op_codes[rest]),
                          predictor.predict(TABLE.op_codes[rest]))
    other, _ = fitted(seed=1)
    assert not np.array_equal(other.coarse(TABLE.op_codes[rest]), coarse)
    assert [h["epoch"] for h in predictor.history] == list(range(1, 11))
    assert {h["lr"] for h in predictor.history[-3:]} == {1e-4}  # last 30 %: a tenth


def test_two_stage_ranking_reranks_only_the_basic_branch_top_k_with_codes():
    predictor, _ = fitted(rerank_k=5)
    cells = TABLE.op_codes[:400]
    predictor.codes.start_run()
    order = predictor.rank_two_stage(cells, 5)
    coarse_order = np.argsort(-predictor.coarse(cells), kind="stable")
    assert sorted(order[:5]) == sorted(coarse_order[:5])
    assert np.array_equal(order[5:], coarse_order[5:])
    fine = predictor.fine(cells[order[:5]])
    assert np.all(np.diff(fine) <= 0)
    assert predictor.codes.run_cost()[0] == 5  # codes for the re-ranked cells only
    scores = predictor.predict(cells)  # the contract: the same order
    assert np.array_equal(np.argsort(-scores, kind="stable"), order)


def test_bts_spends_exactly_the_budget_and_never_relabels_a_cell():
    pool = TABLE.op_codes
    calls = []

    def buy(rows):
        calls.append(np.asarray(rows).copy())
        return TABLE.label[rows]

    predictor = SiamesePredictor(seed=3, codes=TableCodes(TABLE), **{**SMALL, "num_epochs": 40})
    bought = predictor.fit_bts(pool, buy, 47, stages=4, search_batch=300, stage_k=10)
    every = np.concatenate(calls)
    assert len(every) == 47 and len(set(every.tolist())) == 47
    assert np.array_equal(bought, every)
    assert len(calls[0]) == 14  # int(0.3 * 47) at random first
    assert [len(c) for c in calls[1:]] == [8, 8, 8, 9]  # then four stages, remainder last
    assert predictor.history[-1]["labels"] == 47
    # stage picks are the predictor's favourites: better than the random start on average
    assert TABLE.label[np.concatenate(calls[1:])].mean() > TABLE.label[calls[0]].mean()
    again = SiamesePredictor(seed=3, codes=TableCodes(TABLE), **{**SMALL, "num_epochs": 40})
    assert np.array_equal(again.fit_bts(pool, lambda r: TABLE.label[r], 47, stages=4,
                                        search_batch=300, stage_k=10), bought)


def test_trained_codes_come_from_the_cache_and_match_a_fresh_run(tmp_path):
    from tests.predictors.test_estimation_codes import IMAGES, TINY

    cache = CodeCache(tmp_path)
    provider = TrainedCodes(IMAGES, seed=2, settings=TINY, cache=cache, progress=False)
    rows = TABLE.op_codes[[0, 9]]
    values = provider(rows)
    assert values.shape == (2, 3)
    fresh = TrainedCodes(IMAGES, seed=2, settings=TINY, progress=False)(rows)
    assert np.array_equal(values, fresh)
    assert len(list(tmp_path.rglob("*.json"))) == 2
    cells, seconds = provider.run_cost()
    assert cells == 2 and seconds > 0


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="CodeProvider"):
        SiamesePredictor()
    with pytest.raises(ValueError, match="NB201"):
        SiamesePredictor(space="nb101", codes=TableCodes(TABLE))
    with pytest.raises(ValueError, match="rerank_k"):
        SiamesePredictor(codes=TableCodes(TABLE), rerank_k=-1)
    predictor = SiamesePredictor(codes=TableCodes(TABLE), **SMALL)
    with pytest.raises(ValueError, match="percent"):
        predictor.fit(TABLE.op_codes[:20], TABLE.label[:20] / 100 - 1)
    with pytest.raises(ValueError, match="budget"):
        predictor.fit_bts(TABLE.op_codes[:10], lambda r: TABLE.label[r], 11)
    with pytest.raises(RuntimeError, match="not fitted"):
        predictor.coarse(TABLE.op_codes[:3])
