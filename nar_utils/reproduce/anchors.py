"""Published figures the book's results are set beside ("anchors").

Each anchor names where it was published. None of them is used to tune anything; the book
prints them next to its own recorded numbers. Figures marked ``verified=False`` were taken
from secondary descriptions of the papers and have not been checked against the papers here.
:func:`anchor_table` sets them beside the figures of a set of run records (chapter 08).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nar_utils.benchmarks.task import label_dataset
from nar_utils.reproduce.records import short_sha

NB201_SOURCE = "nb201-table"  # the published NAS-Bench-201 figures describe this source only
NB101 = "nb101"  # the key of NAS-Bench-101 figures (one dataset, CIFAR-10) among dataset names


@dataclass(frozen=True)
class Anchor:
    """One published figure: ``claim`` in words, ``values`` by dataset."""

    key: str
    source: str
    claim: str
    values: dict[str, float | str]
    verified: bool = False


ANCHORS: tuple[Anchor, ...] = (
    Anchor("nb201-optimum-test", "NAS-Bench-201 (Dong & Yang, 2020)",
           "best 200-epoch test accuracy in the space",
           {"cifar10": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31}),
    Anchor("nb201-optimum-valid", "NAS-Bench-201 (Dong & Yang, 2020)",
           "best 200-epoch validation accuracy in the space",
           {"cifar10": 91.61, "cifar100": 73.49, "ImageNet16-120": 46.73}),
    Anchor("nar-claim-nb201", "NAR (Guo et al., 2022)",
           "NAR's search finds the optimal architecture (test accuracy)",
           {"cifar10": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31}),
    Anchor("nar-claim-nb101", "NAR (Guo et al., 2022)",
           "on NAS-Bench-101, NAR finds an architecture in the top 0.01 per mille",
           {NB101: "top 0.01 ‰"}),
    Anchor("nar-successor-nb201", "NAR's successor (same authors)",
           "NB201 test accuracy at 1,000 queries",
           {"cifar10": 94.35, "cifar100": 73.22, "ImageNet16-120": 46.93}),
    Anchor("renas-nb101", "ReNAS (Xu et al., 2021)",
           "NB101 test accuracy at 0.1 % labels", {NB101: "93.95 ± 0.11"}),
)

#: Mean test accuracy (%) of the final choice under the NB201 paper protocol, as reported in
#: the NAS-Bench-201 paper (Dong & Yang, ICLR 2020, Table 5): as reported, unverified.
PAPER_PROTOCOL_REPORTED: dict[str, dict[str, float]] = {
    "rea": {"cifar10": 93.92, "cifar100": 71.84, "ImageNet16-120": 45.54},
    "random": {"cifar10": 93.70, "cifar100": 71.04, "ImageNet16-120": 44.57},
    "reinforce": {"cifar10": 93.85, "cifar100": 71.71, "ImageNet16-120": 45.24},
    "bohb": {"cifar10": 93.61, "cifar100": 70.85, "ImageNet16-120": 44.42},
}
REPORTED_LABEL = "as reported, unverified"
#: Test accuracy (%) of the cell each weight-sharing search derives on NAS-Bench-201, mean and
#: standard deviation over the paper's runs (None: no spread given), as reported in the
#: NAS-Bench-201 paper (Dong & Yang, ICLR 2020, Table 5): secondary copies, unverified.
WEIGHT_SHARING_REPORTED: dict[str, dict[str, tuple[float, float | None]]] = {
    "darts-v1": {"cifar10": (54.30, None), "cifar100": (15.61, None),
                 "ImageNet16-120": (16.32, None)},
    "darts-v2": {"cifar10": (54.30, None), "cifar100": (15.61, None),
                 "ImageNet16-120": (16.32, None)},
    "gdas": {"cifar10": (93.61, 0.09), "cifar100": (70.70, 0.30),
             "ImageNet16-120": (41.71, 0.98)},
    "setn": {"cifar10": (87.64, 0.00), "cifar100": (59.05, 0.24),
             "ImageNet16-120": (32.52, 0.21)},
    "enas": {"cifar10": (53.89, 0.58), "cifar100": (13.96, 2.33),
             "ImageNet16-120": (14.84, 2.10)},
    "rsps": {"cifar10": (87.66, 1.69), "cifar100": (46.60, 6.57),
             "ImageNet16-120": (30.78, 6.12)},
}

#: MaxAcc (fraction) against N + K on NB201 CIFAR-100 with single-seed labels and K = 30, read
#: off Fig. 6 of the Siamese-NAS paper (Zhang et al., arXiv 2210.00546) by eye: secondary
#: values, read from a plot, unverified.
SIAMESE_FIG6_READ: dict[str, dict[int, float]] = {
    "siamese+NSAM+BTS": {100: 0.736, 125: 0.738, 150: 0.741, 200: 0.7425},
    "brp-nas": {100: 0.737, 125: 0.738, 150: 0.738, 200: 0.7385},
}
FIG_READ_LABEL = "read from their Fig. 6, unverified"

#: NAS-Bench-x11 (Yan et al., NeurIPS 2021) on NB111: final validation regret (as a fraction
#: of accuracy) of single-fidelity searchers and their learning-curve variants, as reported,
#: unverified. Another space and budget than ours: the direction (each -LCE / -SVR variant
#: below its searcher) is what compares.
X11_NB111_FINAL_VAL_REGRET: dict[str, float] = {"RS": 0.00822, "REA": 0.00584,
                                                "REA-LCE": 0.00513, "REA-SVR": 0.00239}


def _mean_std(values) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def weight_sharing_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The NB201 paper's comparison layout: one row per method, our derived cells' test
    accuracy (mean ± sample std over seeds) per dataset beside the values as reported there.

    ``runs``: one row per search with columns ``method``, ``seed``, ``seconds`` and one
    column per dataset holding the derived cell's benchmark test accuracy (NaN where the
    benchmark lacks the dataset)."""
    datasets = [d for d in ("cifar10", "cifar100", "ImageNet16-120") if d in runs.columns]
    rows = []
    for method, group in runs.groupby("method", sort=False):
        row = {"method": method, "seeds": len(group),
               "search (s)": f"{group['seconds'].mean():,.0f} s"}
        for dataset in datasets:
            row[f"{dataset} (ours)"] = _mean_std(group[dataset].tolist())
            mean, std = WEIGHT_SHARING_REPORTED.get(method, {}).get(dataset, (None, None))
            row[f"{dataset} ({REPORTED_LABEL})"] = "–" if mean is None else (
                f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}")
        rows.append(row)
    return pd.DataFrame(rows)


def anchor(key: str) -> Anchor:
    """The anchor named ``key``."""
    for item in ANCHORS:
        if item.key == key:
            return item
    raise KeyError(f"no anchor {key!r}; anchors: {', '.join(a.key for a in ANCHORS)}")


def published_optima() -> dict[tuple[str, str], float]:
    """Best 200-epoch accuracies (%) over the space as published with NAS-Bench-201, keyed by
    the (dataset, metric) they were measured on (validation figures on the label dataset)."""
    out = {}
    for dataset, value in anchor("nb201-optimum-valid").values.items():
        out[(label_dataset(dataset), "valid-accuracy")] = value
    for dataset, value in anchor("nb201-optimum-test").values.items():
        out[(dataset, "test-accuracy")] = value
    return out


def add_published_optima(optima: pd.DataFrame, source: str) -> pd.DataFrame:
    """:func:`nar_utils.benchmarks.optima` with a 'published' column: the published optimum of
    each (dataset, metric) row for the NB201 table, NaN for other sources (whose training
    differs from NAS-Bench-201's)."""
    published = published_optima()
    out = optima.copy()
    out["published"] = [published.get((d, m), np.nan) if source == NB201_SOURCE else np.nan
                        for d, m in zip(out["dataset"], out["metric"])]
    return out


# == filling the table of anchors from run records ===========================================


def scale(record: dict) -> str:
    """'paper scale' for records of the GPU profile (paper-sized NAR), else 'CPU profile'."""
    return "paper scale" if record["parameters"].get("nar_config") == "paper" else "CPU profile"


def data_source(record: dict) -> str:
    """The benchmark source a record's numbers come from ('nb201-table', 'analog-nasbench', ...)."""
    return record["metrics"].get("source") or "?"


def profile(record: dict) -> str:
    """Scale and data source: records differing in either are never averaged together."""
    return f"{scale(record)} · {data_source(record)}"


def source_of(record: dict) -> str:
    """A short citation of a record: file, device, profile and commit."""
    return f"{Path(record.get('path', '?')).name} ({record.get('device', '?')}, " \
           f"{profile(record)}, {short_sha(record)})"


def _fmt(values) -> str:
    values = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "–"
    spread = f" ± {np.std(values):.2f} (n={len(values)})" if len(values) > 1 else ""
    return f"{np.mean(values):.2f}{spread}"


def _rows(records, notebook: str, key: str, **columns) -> pd.DataFrame:
    return pd.DataFrame([{**row, **{name: fn(r) for name, fn in columns.items()}}
                         for r in records if r["notebook"] == f"{notebook}.ipynb"
                         and not r["metrics"].get("skipped")
                         for row in r["metrics"].get(key, [])])


def anchor_table(records: list[dict], anchors: tuple[Anchor, ...] = ANCHORS) -> pd.DataFrame:
    """One row per anchor and dataset: the published figure beside ours, and our records.

    ``records`` are run records as :func:`nar_utils.reproduce.records.read_records` returns
    them. The
    NAS-Bench-201 anchors are filled only from records of the NAS-Bench-201 table; records of
    another source (the embedded ``analog-nasbench``) are named in the row instead, since
    their accuracies are a different benchmark's. The NAS-Bench-101 anchors use paper-scale
    records of chapter 05 when there are any, else the CPU profile's. A dash: not run.
    """
    info = {"record": source_of, "data_source": data_source, "profile": profile}
    optima = _rows(records, "01_data", "optima", **info)
    search = _rows(records, "04_search", "final", **info)
    paper = _rows(records, "04_search", "paper_protocol", **info)
    nb101_search = _rows(records, "05_nasbench101", "search", **info,
                         subset_cells=lambda r: r["metrics"].get("subset_cells"))
    nb101_ranking = _rows(records, "05_nasbench101", "ranking", **info)
    if len(nb101_search) and nb101_search["profile"].str.startswith("paper").any():
        nb101_search = nb101_search[nb101_search["profile"].str.startswith("paper")]
        nb101_ranking = nb101_ranking[nb101_ranking["profile"].str.startswith("paper")]
    nb201 = {name: frame[frame["data_source"] == NB201_SOURCE] if len(frame) else frame
             for name, frame in (("optima", optima), ("search", search), ("paper", paper))}
    nar_runs = nb201["search"][nb201["search"]["method"] == "nar-sampler"] \
        if len(nb201["search"]) else nb201["search"]
    others = sorted({data_source(r) for r in records if data_source(r) != NB201_SOURCE
                     and r["notebook"] in ("01_data.ipynb", "04_search.ipynb")})
    not_run_nb201 = (f"not run on NAS-Bench-201 in this build (its records use "
                     f"{', '.join(others)}, another benchmark)" if others
                     else "not run in this build")

    rows = []
    for anchor in anchors:
        for dataset, published in anchor.values.items():
            ours, origin = "–", "not run in this build" if dataset == NB101 else not_run_nb201
            hit = pd.DataFrame()
            if anchor.key.startswith("nb201-optimum") and len(nb201["optima"]):
                metric = "test-accuracy" if anchor.key.endswith("test") else "valid-accuracy"
                name = dataset if metric == "test-accuracy" else label_dataset(dataset)
                optima_ = nb201["optima"]
                hit = optima_[(optima_["dataset"] == name) & (optima_["metric"] == metric)]
                if len(hit):
                    ours = f"{hit['best'].iloc[0]:.2f}"
            elif anchor.key in ("nar-claim-nb201", "nar-successor-nb201") and len(nar_runs):
                hit = nar_runs[nar_runs["dataset"] == dataset]
                if len(hit) and anchor.key == "nar-claim-nb201":
                    optima_ = nb201["optima"]
                    optimum = optima_[(optima_["dataset"] == dataset) &
                                      (optima_["metric"] == "test-accuracy")]["best"] \
                        if len(optima_) else pd.Series(dtype=float)
                    found = f"{int((np.abs(hit['test_value'] - optimum.iloc[0]) < 1e-6).sum())}" \
                        if len(optimum) else "?"
                    ours = (f"ours {_fmt(hit['test_value'])}; oracle {_fmt(hit['oracle_test'])}"
                            f" (rank {hit['oracle_rank'].median():.0f}); optimum chosen in "
                            f"{found}/{len(hit)} runs at {int(hit['budget'].max())} queries")
                elif len(hit):
                    budget = int(hit["budget"].iloc[(hit["budget"] - 1000).abs().argmin()])
                    hit = hit[hit["budget"] == budget]
                    ours = f"{_fmt(hit['test_value'])} at {budget} queries"
            elif anchor.key == "nar-claim-nb101" and len(nb101_search):
                hit = nb101_search[nb101_search["method"] == "NAR tier sampler"]
                if len(hit):
                    per_mille = 1000 * hit["rank"] / hit["subset_cells"]
                    ours = (f"validation {_fmt(hit['val_acc'])} %, rank "
                            f"{hit['rank'].median():.0f} of {int(hit['subset_cells'].iloc[0]):,}"
                            f" subset cells (top {per_mille.median():.2f} ‰ of the subset) at "
                            f"{int(hit['queries'].max())} queries; no test accuracy")
            elif anchor.key == "renas-nb101" and len(nb101_ranking):
                hit = nb101_ranking[nb101_ranking["labels"] == nb101_ranking["labels"].min()]
                best = hit.groupby("predictor")["tau"].mean().sort_values(ascending=False)
                ours = (f"not comparable (no test accuracy); ranking tau at "
                        f"{int(hit['labels'].iloc[0])} labels: " +
                        ", ".join(f"{k} {v:.3f}" for k, v in best.items()))
            if len(hit) and ours != "–":
                origin = "; ".join(hit["record"].unique())
            rows.append({"anchor": anchor.claim, "source": anchor.source, "dataset": dataset,
                         "published": published if isinstance(published, str)
                         else f"{published:.2f}", "ours": ours, "records": origin})
    if len(nb201["paper"]):
        for (method, dataset), g in nb201["paper"].groupby(["method", "dataset"]):
            rows.append({"anchor": f"NAS-Bench-201 paper protocol: {method}",
                         "source": "NAS-Bench-201 (Dong & Yang, 2020), unverified",
                         "dataset": dataset, "published": f"{g['reported'].iloc[0]:.2f}",
                         "ours": _fmt(g["test"]), "records": "; ".join(g["record"].unique())})
    return pd.DataFrame(rows, columns=["anchor", "source", "dataset", "published", "ours",
                                       "records"])


# == the book's key findings, for its first page =============================================
#: Predictors of the NAR family: never each other's baseline in the key findings.
NAR_FAMILY = ("nar", "narc")


def _best_profile(frame: pd.DataFrame) -> str | None:
    """The profile to quote: paper scale on the NB201 table first, then any paper scale, then
    the CPU profile on the table, then whatever there is."""
    profiles = list(dict.fromkeys(frame["profile"]))
    for wanted in ("paper scale · nb201-table", "paper scale", "CPU profile · nb201-table"):
        for name in profiles:
            if name.startswith(wanted):
                return name
    return profiles[0] if profiles else None


def _versus(frame: pd.DataFrame, by: str, ours: str, value: str = "tau",
            exclude: tuple[str, ...] = ()) -> str:
    """'NAR 0.78 vs gbdt 0.83' per group of ``by``: ours against the best of the others
    (those in ``exclude`` left out)."""
    parts = []
    for group, rows in frame.groupby(by, sort=False):
        means = rows.groupby("predictor")[value].mean()
        rivals = means.drop([ours, *exclude], errors="ignore")
        if ours not in means or rivals.empty:
            continue
        rival = rivals.idxmax()
        parts.append(f"{group}: {means[ours]:.3f} vs {rival} {means[rival]:.3f}")
    return "; ".join(parts)


def key_findings(records: list[dict]) -> pd.DataFrame:
    """The book's headline numbers, one row per finding, each from the run records named in
    its ``records`` column: NAR's ranking against the best baseline (chapter 03), the search
    at equal budgets (04), the NAR sampler's reported statistic against the honest one (04),
    and NAS-Bench-101 (05). A finding whose records are missing is left out."""
    info = {"profile": profile, "record": source_of}
    rows = []
    ranking = _rows(records, "03_training", "results", **info)
    for ours, name in (("nar", "NAR"), ("narc", "NAR-C")) if not ranking.empty else ():
        # the best profile among the records that trained this ranker
        held = ranking.groupby("profile")["predictor"].transform(
            lambda p: (p == ours).any()).astype(bool)
        if (chosen := _best_profile(ranking[held])):
            part = ranking[ranking["profile"] == chosen]
            text = _versus(part, "dataset", ours, exclude=NAR_FAMILY)
            if text:
                rows.append({"finding": f"{name}'s Kendall tau against the best baseline",
                             "figures": text, "profile": chosen, "chapter": "03_training",
                             "records": ", ".join(sorted(set(part["record"])))})
    final = _rows(records, "04_search", "final", **info)
    if not final.empty and (chosen := _best_profile(final)):
        part = final[final["profile"] == chosen]
        budget = part["budget"].max()
        at = part[part["budget"] == budget]
        means = at.groupby(["dataset", "method"])["test_value"].mean()
        text = "; ".join(
            f"{dataset}: best {group.droplevel(0).idxmax()} {group.max():.2f}, "
            f"nar-sampler {group.droplevel(0).get('nar-sampler', np.nan):.2f}"
            for dataset, group in means.groupby(level=0))
        rows.append({"finding": f"Search at {budget} queries, every label counted "
                                "(mean test accuracy of the chosen cell, %)",
                     "figures": text, "profile": chosen, "chapter": "04_search",
                     "records": ", ".join(sorted(set(at["record"])))})
        nar_rows = at[(at["method"] == "nar-sampler") & at["oracle_test"].notna()] \
            if "oracle_test" in at else at.iloc[:0]
        if not nar_rows.empty:
            pairs = nar_rows.groupby("dataset")[["oracle_test", "test_value"]].mean()
            rows.append({"finding": f"NAR sampler at {budget} queries: the authors' statistic "
                                    "(best test accuracy among all it sampled) against the "
                                    "cell it would choose, %",
                         "figures": "; ".join(f"{dataset}: {row.oracle_test:.2f} vs "
                                              f"{row.test_value:.2f}"
                                              for dataset, row in pairs.iterrows()),
                         "profile": chosen, "chapter": "04_search",
                         "records": ", ".join(sorted(set(nar_rows["record"])))})
    nb101 = _rows(records, "05_nasbench101", "ranking_summary", **info)
    if not nb101.empty and (chosen := _best_profile(nb101)):
        part = nb101[nb101["profile"] == chosen]
        text = _versus(part.assign(labels=part["labels"].map(lambda n: f"{n:,} labels")),
                       "labels", "nar")
        if text:
            rows.append({"finding": "NAS-Bench-101: NAR's Kendall tau against the best "
                                    "baseline", "figures": text, "profile": chosen,
                         "chapter": "05_nasbench101",
                         "records": ", ".join(sorted(set(part["record"])))})
    return pd.DataFrame(rows, columns=["finding", "figures", "profile", "chapter", "records"])


def key_findings_markdown(records: list[dict]) -> str:
    """:func:`key_findings` as a MyST table whose rows link to their chapters."""
    table = key_findings(records)
    if table.empty:
        return ("*No run records yet: the key findings appear here once the chapters have "
                "run (`make book`).*\n")
    lines = ["| finding | figures | run | chapter |", "|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.finding} | {row.figures} | {row.profile} | "
                     f"{{doc}}`notebooks/{row.chapter}` |")
    return "\n".join(lines) + "\n"
