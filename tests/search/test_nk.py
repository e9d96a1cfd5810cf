"""The N/K protocol: labels bought through a ledger, codes charged, same seed same curves."""
from __future__ import annotations

import numpy as np
import pytest

from nar_utils.predictors.siamese.predictor import TableCodes
from nar_utils.search import nk
from tests.predictors.test_siamese_predictor import TABLE

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = nk.CellLabels(TABLE.op_codes, TABLE.label, TABLE.label, "cifar100", "test-accuracy",
                       "mean", "synthetic", TABLE.data[("cifar100", "train-time", "200")])
SIAMESE = {"hidden": 16, "num_epochs": 20, "stages": 3}


def strip(rows):
    return [{k: "nan" if v != v else v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("method,options", [("random", {}), ("gbdt", {"n_estimators": 50}),
                                            ("siamese", SIAMESE)])
def test_a_run_buys_exactly_n_plus_k_labels_and_charges_the_codes(method, options):
    codes = TableCodes(TABLE)
    rows = nk.run_nk(method, LABELS, 30, (10, 20), seed=1, options=options, codes=codes)
    assert [(r["N"], r["K"], r["labels"]) for r in rows] == [(30, 10, 40), (30, 20, 50)]
    for row in rows:
        assert row["max_label"] == TABLE.label[row["best_index"]]
        assert row["max_label"] <= TABLE.label.max()
    assert rows[1]["max_label"] >= rows[0]["max_label"]
    if method == "siamese":
        # codes of the 30 labelled cells, of each stage's re-ranked 30, of the final 60
        assert rows[0]["code_cells"] >= 60 and rows[0]["code_seconds"] > 0
    else:
        assert rows[0]["code_cells"] == 0
    labels_time = rows[1]["cost_seconds"] - rows[1]["code_seconds"]
    assert labels_time > 50 * 200 - 1e-6  # every label's training run is charged
    if method != "random":
        assert rows[0]["rho"] > 0.3
    again = nk.run_nk(method, LABELS, 30, (10, 20), seed=1, options=options,
                      codes=TableCodes(TABLE))
    assert strip(again) == strip(rows)  # same seed, same curves


def test_predictor_guidance_beats_random_on_a_learnable_space():
    guided = [nk.run_nk("gbdt", LABELS, 40, (20,), seed=s, options={"n_estimators": 50})[0]
              for s in range(3)]
    blind = [nk.run_nk("random", LABELS, 40, (20,), seed=s)[0] for s in range(3)]
    assert np.mean([r["max_label"] for r in guided]) > np.mean([r["max_label"] for r in blind])


def test_brp_rounds_buy_the_best_predicted_cells(monkeypatch):
    from nar_utils.predictors import registry

    fits = []
    original = registry.make_predictor

    def counting(name, **kwargs):
        predictor = original(name, **kwargs)
        fit = predictor.fit
        predictor.fit = lambda archs, y, **kw: (fits.append(len(y)), fit(archs, y, **kw))[1]
        return predictor

    monkeypatch.setattr(registry, "make_predictor", counting)
    rows = nk.run_nk("gbdt", LABELS, 40, (10,), seed=0,
                     options={"rounds": 3, "n_estimators": 30})
    assert fits == [20, 30, 40]  # half at random, then two rounds of ten, then the final fit
    assert rows[0]["labels"] == 50


def test_curves_and_summary():
    frame = nk.nk_curves({"random": ("random", {}), "gbdt": ("gbdt", {"n_estimators": 30})},
                         LABELS, ns=(20, 30), ks=(10,), repeats=2, progress=False)
    assert len(frame) == 2 * 2 * 2 and frame.attrs["labels"] == "synthetic"
    table = nk.summarise(frame)
    assert list(table["N+K"]) == [30, 40, 30, 40] and set(table["repeats"]) == {2}


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="unknown N/K method"):
        nk.run_nk("oracle", LABELS, 10)
    with pytest.raises(ValueError, match="exceeds"):
        nk.run_nk("random", LABELS, len(TABLE.label), (5,))
    with pytest.raises(ValueError, match="unknown siamese option"):
        nk.run_nk("siamese", LABELS, 10, options={"tempo": 1}, codes=TableCodes(TABLE))
    with pytest.raises(TypeError, match="CodeProvider"):
        nk.run_nk("siamese", LABELS, 10)
    with pytest.raises(ValueError, match="bad options"):
        nk.run_nk("gbdt", LABELS, 10, options={"depth": 3})
    with pytest.raises(ValueError, match="seeds must be"):
        nk.cell_labels(TABLE, seeds="median")


def test_single_seed_labels_come_from_the_per_seed_file(table, data_dir):
    from nar_utils.benchmarks.compat import per_seed_values

    single = nk.cell_labels(table, "cifar100", "test-accuracy", "single", seed=4,
                            data_dir=data_dir)
    trials = per_seed_values(data_dir, "cifar100", "test-accuracy")
    assert np.all(np.isclose(trials, single.values[:, None]).any(axis=1))
    # derived per-seed test accuracies: their mean is the table's to 0.01 (data README)
    assert np.allclose(np.nanmean(trials, axis=1), single.reported, atol=0.0101)
    assert single.values.max() > single.reported.max()  # one seed's noise lifts the maximum
    again = nk.cell_labels(table, "cifar100", "test-accuracy", "single", seed=4,
                           data_dir=data_dir)
    assert np.array_equal(again.values, single.values)
    other = nk.cell_labels(table, "cifar100", "test-accuracy", "single", seed=5,
                           data_dir=data_dir)
    assert not np.array_equal(other.values, single.values)
    with pytest.raises(KeyError, match="per-seed"):
        per_seed_values(data_dir, "cifar10", "test-accuracy")
