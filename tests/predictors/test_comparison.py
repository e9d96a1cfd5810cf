"""Ranking protocols (splits, what is scored) and the comparison runner on identical splits."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nar_utils.benchmarks import noise
from nar_utils.predictors import comparison, protocols
from nar_utils.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_protocol_splits_score_what_the_protocol_says():
    pinat = protocols.get_protocol("pinat-nb201")
    train, val, scored = pinat.split(15_625, 469, seed=3)
    assert len(train) == 469 and len(val) == 0
    np.testing.assert_array_equal(scored, np.arange(15_625))  # their eval_split='all'
    nar = protocols.get_protocol("nar")
    train, val, scored = nar.split(15_625, 1000, seed=3)
    assert (len(train), len(val), len(scored)) == (1000, 256, 14_369)
    assert not set(scored) & (set(train) | set(val))
    again = nar.split(15_625, 1000, seed=3)
    np.testing.assert_array_equal(again[0], train)
    with pytest.raises(ValueError, match=r"trains on \(78, 156, 469, 781, 1563\) cells, not 500"):
        pinat.split(15_625, 500, seed=0)
    with pytest.raises(ValueError, match="valid: nar, pinat-nb201, pinat-nb101"):
        protocols.get_protocol("tnasp")
    # every published figure belongs to a size its protocol trains on
    for (name, size) in protocols.PUBLISHED:
        assert size in protocols.get_protocol(name).train_sizes
    assert not protocols.get_protocol("pinat-nb101").matches_published


def test_protocol_score_separates_the_training_cells():
    pinat = protocols.get_protocol("pinat-nb201")
    target = np.arange(10.0)
    scores = target.copy()
    scores[[0, 1]] = [1.0, 0.0]  # the two training cells ranked the wrong way round
    out = protocols.score(pinat, scores, target, train_index=[0, 1])
    assert out["tau_held_out"] == pytest.approx(1.0)
    assert out["tau"] < 1.0
    nar = protocols.get_protocol("nar")
    out = protocols.score(nar, scores, target, train_index=[])
    assert out["tau"] == out["tau_held_out"]


@pytest.fixture(scope="module")
def small_task():
    """All NB201 cells with a synthetic label driven by their ops, on a protocol of 300
    training and 60 validation cells; the target adds noise to the label."""
    rng = np.random.default_rng(0)
    codes = nb201.all_op_codes().astype(np.int64)
    value = rng.normal(size=(nb201.NUM_EDGES, nb201.NUM_OPS))
    label = value[np.arange(nb201.NUM_EDGES), codes].sum(axis=1)
    protocol = dataclasses.replace(protocols.get_protocol("nar"), name="small",
                                   train_sizes=(300,), n_val=60)
    return comparison.RankingTask(protocol, "cifar10-valid", "nb201", codes, label,
                                  label + 0.1 * rng.normal(size=len(label)))


def test_run_ranker_fits_on_the_protocol_split_and_reports_the_labels_used(small_task):
    spec = comparison.RankerSpec("trees", "gbdt", dict(n_estimators=60), role="baseline")
    row = comparison.run_ranker(spec, small_task, 300, seed=1)
    assert (row["ranker"], row["labels"], row["n_train"], row["seed"]) == ("trees", 360, 300, 1)
    assert row["tau"] == row["tau_held_out"] and 0.5 < row["tau"] < 1.0
    # the same split for another ranker: augmented training data, same labels counted
    augmented = dataclasses.replace(spec, label="trees+iso", augment="nb201")
    other = comparison.run_ranker(augmented, small_task, 300, seed=1)
    assert other["labels"] == 360 and other["tau"] != row["tau"]
    rows = [row, other, {**row, "ranker": "nar-ish", "role": "nar", "tau": 0.9},
            {**row, "seed": 2, "ranker": "nar-ish", "role": "nar", "tau": 0.7}]
    stats = comparison.summarise(rows).set_index("ranker")
    best = max(row["tau"], other["tau"])
    assert stats.loc["nar-ish", "tau"] == pytest.approx(0.8)
    assert stats.loc["nar-ish", "tau_std"] == pytest.approx(np.std([0.9, 0.7], ddof=1))
    assert stats.loc["nar-ish", "ratio"] == pytest.approx(0.8 / best)
    assert stats.loc["nar-ish", "seeds"] == 2


def test_isomorphic_augmentation_adds_equivalent_cells_with_their_labels():
    from nar_utils.spaces.nb201 import isomorphism

    codes = nb201.all_op_codes()[np.random.default_rng(0).permutation(nb201.NUM_ARCHS)[:200]]
    y = np.arange(200.0)
    out, labels, source = isomorphism.augment(codes, y, "nb201", max_added=3, seed=0)
    np.testing.assert_array_equal(out[:200], codes)
    np.testing.assert_array_equal(labels, y[source])
    ids = isomorphism.class_ids(out, "nb201")
    np.testing.assert_array_equal(ids, ids[source])  # every added cell is equivalent
    assert np.bincount(source).max() <= 4  # the cell itself and at most 3 more
    assert len(out) > 200  # some of 200 random cells have equivalent ones
    assert not (out[200:] == codes[source[200:]]).all(axis=1).any()  # none is its own copy
    everything, _, _ = isomorphism.augment(codes, y, "nb201", max_added=None)
    assert len(everything) > len(out)
    with pytest.raises(ValueError, match="max_added must be None or an int >= 0"):
        isomorphism.augment(codes, y, max_added=-1)
    with pytest.raises(ValueError, match=r"shape \(200,\)"):
        isomorphism.augment(codes, y[:5])


def test_the_tables_name_registered_predictors_and_valid_options():
    from nar_utils.predictors import make_predictor

    for spec in [*comparison.RANKERS.values(), *comparison.ABLATIONS.values()]:
        predictor = make_predictor(spec.predictor, dataset="cifar10-valid", **spec.options)
        assert predictor.name == spec.predictor
    roles = {spec.role for spec in comparison.RANKERS.values()}
    assert roles == {"nar", "baseline"}


def test_tables_show_the_ceiling_and_mark_published_figures():
    rows = [{"protocol": "nar", "dataset": "cifar100", "ranker": name, "role": role,
             "seed": seed, "n_train": 1000, "tau": tau + 0.01 * seed,
             "tau_held_out": tau + 0.01 * seed, "fit_seconds": 2.0}
            for name, role, tau in (("NAR-C", "nar", 0.86), ("GBDT", "baseline", 0.84))
            for seed in (0, 1)]
    table = comparison.ranking_table(rows, {"cifar100": {"tau_pair": 0.887, "ceiling": 0.946}})
    assert list(table["ranker"]) == ["NAR-C", "GBDT", noise.TWO_RUNS, noise.CEILING]
    assert table["Kendall τ"].tolist() == ["0.865 ± 0.007", "0.845 ± 0.007", "0.887", "0.946"]
    assert table.loc[0, "vs best baseline"] == f"{0.865 / 0.845:.3f}"
    protocol_rows = [{**row, "protocol": "pinat-nb201", "dataset": "cifar10-valid",
                      "n_train": 781} for row in rows]
    table = comparison.protocol_table(protocol_rows)
    published = table[table["ranker"].str.contains("published")]
    assert published["ranker"].tolist() == [f"{n} (published, PINAT Table 1)"
                                            for n in ("PINAT", "TNASP", "Graphormer")]
    assert published["Kendall τ"].tolist() == ["0.761", "0.689", "0.719"]
