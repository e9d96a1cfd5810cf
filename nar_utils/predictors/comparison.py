"""Ranking comparisons on identical splits: the rankers of the book's tables and NAR's ablations.

A :class:`RankerSpec` names one ranker as the tables show it: a predictor of the registry with
its options, and optionally training data augmented with isomorphic cells. :data:`RANKERS`
holds the rows of the main table (NAR as the authors' code runs it, the book's NAR, NAR-C
and the baselines, with the GBDT also on canonical cells, since canonical inputs help every
model); :data:`ABLATIONS` changes one component of the book's NAR at a time, then adds them
up to NAR-C.

:func:`ranking_task` loads what a protocol (:mod:`nar_utils.predictors.protocols`) needs,
:func:`run_ranker` fits one ranker on one split and scores it, and :func:`summarise` turns
rows into mean / std per dataset and ranker with the ratio to the best baseline. Every ranker
of a (dataset, seed, size) sees the same training, validation and scored cells.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nar_utils.predictors.protocols import RankingProtocol, get_protocol, score
from nar_utils.predictors.registry import make_predictor
from nar_utils.spaces import get_space


@dataclass(frozen=True)
class RankerSpec:
    """One ranker as a table row: ``predictor`` (a registry name) with ``options``;
    ``augment`` (an NB201 isomorphism convention) adds up to three equivalent cells per
    training cell, with its label (:func:`nar_utils.spaces.nb201.isomorphism.augment`);
    ``role``: 'nar' (a NAR-family ranker) or 'baseline'."""

    label: str
    predictor: str
    options: dict[str, Any] = field(default_factory=dict)
    augment: str | None = None
    role: str = "nar"



#: Rows of the main table.
RANKERS: dict[str, RankerSpec] = {spec.label: spec for spec in (
    RankerSpec("NAR (authors' handling)", "nar", dict(faithful=True, faithful_features=True)),
    RankerSpec("NAR", "nar"),
    RankerSpec("NAR-C", "narc"),
    RankerSpec("GBDT", "gbdt", role="baseline"),
    RankerSpec("GBDT (canonical)", "gbdt", dict(canonical="function"), role="baseline"),
    RankerSpec("MLP", "mlp", role="baseline"),
    RankerSpec("ReNAS", "renas", role="baseline"),
    RankerSpec("GCN", "gcn", role="baseline"),
)}

#: One component of the book's NAR changed at a time ('cpu' preset unless said).
ABLATIONS: dict[str, RankerSpec] = {spec.label: spec for spec in (
    RankerSpec("NAR", "nar"),
    RankerSpec("authors' tier memory and raw features", "nar",
               dict(faithful=True, faithful_features=True)),
    RankerSpec("3 tiers", "nar", dict(n_tiers=3)),
    RankerSpec("10 tiers", "nar", dict(n_tiers=10)),
    RankerSpec("score: tier head (expected tier)", "nar", dict(score="expected_tier")),
    RankerSpec("decoder off (auxiliary head alone)", "nar", dict(tier_weight=0.0)),
    RankerSpec("aux weight 0.3", "nar", dict(aux_weight=0.3)),
    RankerSpec("aux weight 3", "nar", dict(aux_weight=3.0)),
    RankerSpec("raw feature values", "nar", dict(faithful_features=True)),
    RankerSpec("learning rate x0.5", "nar", dict(lr_mul=0.07)),
    RankerSpec("learning rate x2", "nar", dict(lr_mul=0.28)),
    RankerSpec("100 epochs, batch 128", "nar", dict(num_epochs=100, batch_size=128)),
    RankerSpec("isomorphic augmentation (nb201, +3 per cell)", "nar", augment="nb201"),
    RankerSpec("canonical cells (function)", "nar", dict(canonical="function")),
    RankerSpec("ensemble of 5", "nar", dict(ensemble=5)),
    RankerSpec("one-hot op channels", "nar", dict(op_onehot=True)),
    RankerSpec("NAR-C", "narc"),
    RankerSpec("NAR-C, one model", "narc", dict(ensemble=1)),
    RankerSpec("NAR-C, raw cells", "narc", dict(canonical=None)),
    RankerSpec("NAR-C, no op channels", "narc", dict(op_onehot=False)),
)}


@dataclass
class RankingTask:
    """What one protocol reads on one dataset: cells, learned label, scored target."""

    protocol: RankingProtocol
    dataset: str  # the feature tensor's dataset (and the label's on the 'nar' protocol)
    space: str
    archs: np.ndarray
    label: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.archs)


def ranking_task(protocol: str | RankingProtocol, dataset: str = "cifar10-valid",
                 data_dir=None) -> RankingTask:
    """Load the cells and labels of ``protocol`` (a name or object) on ``dataset``.

    The 'nar' protocol learns and scores ``dataset``'s 200-epoch validation accuracy; the
    PINAT NB201 protocol learns cifar10-valid's and scores CIFAR-10's test accuracy
    (``dataset`` must be 'cifar10-valid'); the NB101 protocols read the 30k subset
    (``dataset`` 'cifar10').
    """
    protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
    return _TASK_LOADERS[protocol.space](protocol, dataset, data_dir)


def _nb101_task(protocol: RankingProtocol, dataset: str, data_dir) -> RankingTask:
    from nar_utils.benchmarks import nb101

    view = nb101.LedgerView(nb101.load_nb101(data_dir))
    label = view.column("cifar10", protocol.label_metric, "108")
    target = view.column("cifar10", protocol.target_metric, "108")
    return RankingTask(protocol, "cifar10", protocol.space, view.archs, label, target)


def _nb201_task(protocol: RankingProtocol, dataset: str, data_dir) -> RankingTask:
    from nar_utils.benchmarks.nb201 import load_benchmark

    bench = load_benchmark(data_dir)
    label_dataset = protocol.label_dataset or dataset
    target_dataset = protocol.target_dataset or dataset
    if protocol.label_dataset is not None and dataset != protocol.label_dataset:
        raise ValueError(f"protocol {protocol.name!r} learns {protocol.label_dataset!r}; got "
                         f"dataset {dataset!r}")
    label = bench.column(label_dataset, protocol.label_metric, hp="200")
    target = bench.column(target_dataset, protocol.target_metric, hp="200")
    return RankingTask(protocol, dataset, protocol.space, np.asarray(bench.op_codes), label,
                       target)


#: How each space's protocols load their cells and labels.
_TASK_LOADERS = {"nb101": _nb101_task, "nb201": _nb201_task}


def run_ranker(spec: RankerSpec, task: RankingTask, n_train: int, seed: int,
               device: str = "cpu") -> dict[str, Any]:
    """Fit ``spec`` on split ``seed`` of ``task`` with ``n_train`` training cells and score it.

    Returns a row: protocol, dataset, ranker, seed, n_train, labels (training + validation
    labels used), ``tau`` (as the protocol scores), ``tau_held_out``, fit and predict seconds.
    """
    train, val, scored = task.protocol.split(len(task), n_train, seed)
    options = dict(spec.options, seed=seed, device=device, space=task.space)
    options.setdefault("dataset", task.dataset)
    has_classes = bool(get_space(task.space).canonical_conventions)
    if not has_classes:
        options.pop("canonical", None)  # cells of this space are unique already (NB101)
    predictor = make_predictor(spec.predictor, **options)
    archs, y = task.archs[train], task.label[train]
    if spec.augment is not None and has_classes:
        archs, y, _ = get_space(task.space).module("isomorphism").augment(
            archs, y, spec.augment, seed=seed)
    val_kwargs = {}
    if len(val):
        val_kwargs = dict(val_archs=task.archs[val], val_y=task.label[val])
    predictor.fit(archs, y, **val_kwargs)
    start = time.perf_counter()
    scores = predictor.predict(task.archs[scored])
    predict_seconds = time.perf_counter() - start
    position = np.searchsorted(scored, train) if task.protocol.score_training_cells else []
    taus = score(task.protocol, scores, task.target[scored], position)
    return {"protocol": task.protocol.name, "dataset": task.dataset, "ranker": spec.label,
            "role": spec.role, "seed": seed, "n_train": n_train, "labels": n_train + len(val),
            **taus, "fit_seconds": predictor.fit_seconds, "predict_seconds": predict_seconds}


def summarise(rows, by=("protocol", "dataset", "n_train", "ranker")):
    """Mean and std of ``tau`` (and ``tau_held_out``, fit seconds) over seeds per group, with
    ``ratio``: the mean tau over the best baseline's mean tau in the same protocol, dataset
    and size (NaN when no baseline ran). A pandas DataFrame: groups in first-appearance
    order, rankers within a group in the order of :data:`RANKERS` then :data:`ABLATIONS`."""
    import pandas as pd

    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame
    by = list(by)
    stats = frame.groupby(by, sort=False).agg(
        tau=("tau", "mean"), tau_std=("tau", "std"), tau_held_out=("tau_held_out", "mean"),
        seeds=("seed", "nunique"), fit_seconds=("fit_seconds", "mean"),
        role=("role", "first")).reset_index()
    groups = [key for key in by if key != "ranker"]
    if "ranker" in by:  # rankers in table order (RANKERS, then ABLATIONS), others after
        order = {label: k for k, label in enumerate(dict.fromkeys([*RANKERS, *ABLATIONS]))}
        group_order = stats[groups].apply(tuple, axis=1).map(
            {key: k for k, key in enumerate(dict.fromkeys(stats[groups].apply(tuple, axis=1)))})
        stats = stats.assign(_group=group_order, _rank=stats["ranker"].map(order).fillna(
            len(order))).sort_values(["_group", "_rank"], kind="stable").drop(
            columns=["_group", "_rank"]).reset_index(drop=True)
    best = (stats[stats["role"] == "baseline"].groupby(groups, sort=False)["tau"].max()
            .rename("best_baseline"))
    stats = stats.merge(best, left_on=groups, right_index=True, how="left")
    stats["ratio"] = stats["tau"] / stats["best_baseline"]
    return stats


def _mean_sd(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {0.0 if np.isnan(sd) else sd:.3f}"


def ranking_table(rows, agreement: dict | None = None):
    """A display table of :func:`summarise`'s figures: per dataset (and size), each ranker's
    Kendall tau as 'mean ± std', seeds, ratio to the best baseline and fit seconds; after
    each dataset's rankers, the two reference rows of
    :func:`nar_utils.benchmarks.noise.reference_rows` (from ``agreement``, keyed by the
    rows' dataset names) when given."""
    import pandas as pd

    from nar_utils.benchmarks import noise

    stats = summarise(rows)
    out = []
    for dataset, group in stats.groupby("dataset", sort=False):
        for r in group.itertuples():
            out.append({"dataset": dataset, "ranker": r.ranker,
                        "Kendall τ": _mean_sd(r.tau, r.tau_std),
                        "seeds": int(r.seeds),
                        "vs best baseline": "" if np.isnan(r.ratio) else f"{r.ratio:.3f}",
                        "fit (s)": f"{r.fit_seconds:.1f}"})
        if agreement and dataset in agreement:
            for ref in noise.reference_rows({dataset: agreement[dataset]}, name="ranker"):
                out.append({"dataset": dataset, "ranker": ref["ranker"],
                            "Kendall τ": f"{ref['tau']:.3f}", "seeds": "",
                            "vs best baseline": "", "fit (s)": ""})
    return pd.DataFrame(out)


def protocol_table(rows):
    """The protocol part as a display table: per protocol and training size, each ranker's
    tau as the protocol scores it and over the held-out cells alone, then the figures
    PINAT published for the same protocol and size, marked as such."""
    import pandas as pd

    from nar_utils.predictors.protocols import PUBLISHED

    stats = summarise(rows)
    out = []
    for (protocol, n_train), group in stats.groupby(["protocol", "n_train"], sort=False):
        matches = get_protocol(protocol).matches_published
        for r in group.itertuples():
            out.append({"protocol": protocol, "training cells": int(n_train),
                        "ranker": r.ranker,
                        "Kendall τ": _mean_sd(r.tau, r.tau_std),
                        "held-out cells only": f"{r.tau_held_out:.3f}",
                        "seeds": int(r.seeds)})
        for name, tau in PUBLISHED.get((protocol, int(n_train)), {}).items():
            note = "published, PINAT Table 1" + ("" if matches else
                                                 "; their test set, not this subset")
            out.append({"protocol": protocol, "training cells": int(n_train),
                        "ranker": f"{name} ({note})", "Kendall τ": f"{tau:.3f}",
                        "held-out cells only": "", "seeds": ""})
    return pd.DataFrame(out)


__all__ = ["ABLATIONS", "RANKERS", "RankerSpec", "RankingTask", "protocol_table",
           "ranking_table", "ranking_task", "run_ranker", "summarise"]
