"""The table of anchors: published figures only beside records of the same benchmark."""
import numpy as np
import pandas as pd

from nar_utils.reproduce import anchors


def _record(notebook, source, metrics, *, config="cpu", device="cpu", name=None):
    return {"notebook": f"{notebook}.ipynb", "path": f"/runs/{name or notebook}.json",
            "device": device, "git_sha": "a" * 40, "parameters": {"nar_config": config},
            "metrics": {"source": source, **metrics}}


def _optima(best_test):
    return [{"dataset": "cifar10", "metric": "test-accuracy", "best": best_test},
            {"dataset": "cifar10-valid", "metric": "valid-accuracy", "best": 91.61}]


def _nar_runs(values):
    return [{"dataset": "cifar10", "method": "nar-sampler", "budget": 500, "seed": seed,
             "test_value": value, "oracle_test": value, "oracle_rank": 1}
            for seed, value in enumerate(values)]


def _row(table, key_fragment, dataset="cifar10"):
    hit = table[table["anchor"].str.contains(key_fragment) & (table["dataset"] == dataset)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_nb201_anchors_come_from_nb201_table_records_only():
    records = [_record("01_data", "analog-nasbench", {"optima": _optima(94.07)}),
               _record("04_search", "analog-nasbench", {"final": _nar_runs([94.07])})]
    table = anchors.anchor_table(records)
    nb201 = table[table["dataset"] != "nb101"]
    assert (nb201["ours"] == "–").all()
    assert nb201["records"].str.contains("analog-nasbench, another benchmark").all()

    records += [_record("01_data", "nb201-table", {"optima": _optima(94.37)}, name="real01"),
                _record("04_search", "nb201-table", {"final": _nar_runs([94.37, 94.20])},
                        name="real04")]
    table = anchors.anchor_table(records)
    assert _row(table, "best 200-epoch test")["ours"] == "94.37"
    assert _row(table, "best 200-epoch validation")["ours"] == "91.61"
    claim = _row(table, "finds the optimal")
    assert "optimum chosen in 1/2 runs at 500 queries" in claim["ours"]
    assert claim["ours"].startswith("ours 94.28 ± 0.09 (n=2)")
    assert "real04.json" in claim["records"] and "04_search.json" not in claim["records"]
    assert _row(table, "at 1,000 queries")["ours"] == "94.28 ± 0.09 (n=2) at 500 queries"
    assert _row(table, "best 200-epoch test", "cifar100")["ours"] == "–"


def test_nb101_anchors_prefer_paper_scale_records():
    def nb101(config, val_acc, rank, tau):
        return _record("05_nasbench101", "nb101 subset", {
            "subset_cells": 30001,
            "search": [{"method": "NAR tier sampler", "val_acc": val_acc, "rank": rank,
                        "queries": 1000, "seed": 0}],
            "ranking": [{"labels": 424, "predictor": "nar", "tau": tau, "seed": 0},
                        {"labels": 4236, "predictor": "nar", "tau": 0.9, "seed": 0}]},
            config=config, name=f"nb101_{config}")
    table = anchors.anchor_table([nb101("cpu", 94.50, 300, 0.5)])
    assert "rank 300 of 30,001" in _row(table, "top 0.01", "nb101")["ours"]
    table = anchors.anchor_table([nb101("cpu", 94.50, 300, 0.5), nb101("paper", 94.91, 3, 0.65)])
    claim = _row(table, "top 0.01", "nb101")
    assert "validation 94.91 %, rank 3 of 30,001" in claim["ours"]
    assert "top 0.10 ‰ of the subset" in claim["ours"]
    assert "nb101_paper.json" in claim["records"] and "nb101_cpu" not in claim["records"]
    renas = _row(table, "0.1 % labels", "nb101")
    assert renas["ours"].endswith("ranking tau at 424 labels: nar 0.650")


def test_skipped_records_and_profiles():
    skipped = _record("05_nasbench101", None, {"skipped": True})
    table = anchors.anchor_table([skipped])
    assert list(table.columns) == ["anchor", "source", "dataset", "published", "ours", "records"]
    assert (table["ours"] == "–").all() and len(table) == sum(
        len(a.values) for a in anchors.ANCHORS)
    gpu = _record("03_training", "nb201-table", {}, config="paper", device="cuda")
    cpu = _record("03_training", "analog-nasbench", {})
    assert anchors.profile(gpu) == "paper scale · nb201-table"
    assert anchors.profile(cpu) == "CPU profile · analog-nasbench"
    assert anchors.source_of(gpu) == "03_training.json (cuda, paper scale · nb201-table, gaaaaaaaa)"


def test_paper_protocol_rows_ignore_other_sources():
    paper = [{"method": "rea", "dataset": "cifar10", "seed": s, "test": t, "reported": 93.92}
             for s, t in enumerate([94.0, 94.2])]
    table = anchors.anchor_table([_record("04_search", "nb201-table", {"paper_protocol": paper}),
                                  _record("04_search", "analog-nasbench",
                                          {"paper_protocol": [{**paper[0], "test": 10.0}]})])
    row = _row(table, "paper protocol: rea")
    assert row["ours"] == "94.10 ± 0.10 (n=2)" and row["published"] == "93.92"



def test_published_optima_come_from_the_optimum_anchors():
    optima = anchors.published_optima()
    assert optima[("cifar10-valid", "valid-accuracy")] == 91.61  # validated on the label set
    assert optima[("cifar10", "test-accuracy")] == 94.37
    assert optima[("ImageNet16-120", "valid-accuracy")] == 46.73
    assert len(optima) == 6


def test_published_optima_sit_beside_the_nb201_table_only():
    import pandas as pd

    frame = pd.DataFrame({"dataset": ["cifar10", "cifar100"],
                          "metric": ["test-accuracy", "valid-accuracy"], "best": [94.0, 73.0]})
    table = anchors.add_published_optima(frame, "nb201-table")
    assert table["published"].tolist() == [94.37, 73.49]
    other = anchors.add_published_optima(frame, "analog-nasbench")
    assert other["published"].isna().all()
    assert "published" not in frame  # the input is not changed


def test_paper_protocol_figures_are_labelled_unverified():
    assert anchors.PAPER_PROTOCOL_REPORTED["rea"]["cifar10"] == 93.92
    assert anchors.REPORTED_LABEL == "as reported, unverified"


def test_the_weight_sharing_table_sets_ours_beside_the_reported_values():
    runs = pd.DataFrame([
        {"method": "gdas", "seed": 0, "seconds": 10.0, "cifar10": 93.0, "cifar100": np.nan},
        {"method": "gdas", "seed": 1, "seconds": 20.0, "cifar10": 94.0, "cifar100": np.nan},
        {"method": "rsps", "seed": 0, "seconds": 5.0, "cifar10": 80.5, "cifar100": 60.0},
    ])
    table = anchors.weight_sharing_table(runs).set_index("method")
    assert table.loc["gdas", "cifar10 (ours)"] == "93.50 ± 0.71"
    assert table.loc["gdas", "cifar100 (ours)"] == "–"
    assert table.loc["gdas", "cifar10 (as reported, unverified)"] == "93.61 ± 0.09"
    assert table.loc["rsps", "cifar10 (ours)"] == "80.50"
    assert table.loc["gdas", "search (s)"] == "15 s" and table.loc["gdas", "seeds"] == 2
    assert "ImageNet16-120 (ours)" not in table.columns


def _findings_record(notebook, metrics, nar_config="cpu", name="x.json"):
    return {"notebook": f"{notebook}.ipynb", "metrics": {"source": "nb201-table", **metrics},
            "parameters": {"nar_config": nar_config}, "path": name, "device": "cpu",
            "git_sha": "0" * 40}


def test_key_findings_set_nar_against_the_best_other_predictor():
    results = [{"dataset": "cifar10", "seed": s, "predictor": p, "tau": t}
               for s in (0, 1) for p, t in (("nar", 0.70 + s / 100), ("gbdt", 0.80),
                                            ("mlp", 0.75))]
    cpu = _findings_record("03_training", {"results": results})
    better = [{**r, "tau": r["tau"] + 0.1} for r in results]
    paper = _findings_record("03_training", {"results": better}, nar_config="paper",
                             name="gpu.json")
    table = anchors.key_findings([cpu, paper])
    (row,) = table.itertuples()
    assert row.figures == "cifar10: 0.805 vs gbdt 0.900"  # paper scale preferred, seeds averaged
    assert row.profile.startswith("paper scale") and row.records.startswith("gpu.json")
    text = anchors.key_findings_markdown([cpu])
    assert "cifar10: 0.705 vs gbdt 0.800" in text and "{doc}`notebooks/03_training`" in text
    # NAR-C gets a row of its own, and neither NAR-family ranker is the other's baseline.
    with_narc = _findings_record("03_training", {"results": results + [
        {"dataset": "cifar10", "seed": 0, "predictor": "narc", "tau": 0.85}]})
    table = anchors.key_findings([with_narc]).set_index("finding")
    assert table.loc["NAR's Kendall tau against the best baseline", "figures"] == \
        "cifar10: 0.705 vs gbdt 0.800"
    assert table.loc["NAR-C's Kendall tau against the best baseline", "figures"] == \
        "cifar10: 0.850 vs gbdt 0.800"
    # NAR-C is quoted from the best profile that trained it, NAR from the best overall.
    table = anchors.key_findings([with_narc, paper]).set_index("finding")
    assert table.loc["NAR's Kendall tau against the best baseline", "profile"].startswith(
        "paper scale")
    assert table.loc["NAR-C's Kendall tau against the best baseline", "profile"].startswith(
        "CPU profile")


def test_key_findings_of_the_search_compare_at_the_largest_budget():
    final = [{"dataset": "cifar10", "method": m, "budget": b, "seed": 0, "test_value": v,
              "oracle_test": o}
             for m, b, v, o in (("rea", 100, 90.0, None), ("rea", 200, 93.0, None),
                                ("nar-sampler", 200, 92.0, 94.0))]
    table = anchors.key_findings([_findings_record("04_search", {"final": final})])
    search, oracle = table.itertuples()
    assert "200 queries" in search.finding and search.figures == \
        "cifar10: best rea 93.00, nar-sampler 92.00"
    assert oracle.figures == "cifar10: 94.00 vs 92.00"
    assert anchors.key_findings_markdown([]).startswith("*No run records yet")
