"""What each dataset is learned from and reported on: the one reported -> label table.

NAS-Bench-201 convention (:data:`SEARCH_LABELS`): 'cifar10' is trained on train+valid and has
no validation accuracy, so a ranker or search reported on 'cifar10' test accuracy learns from
the 'cifar10-valid' validation accuracy; 'cifar100' and 'ImageNet16-120' learn from their own
validation half. Every other module reads the convention from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from nar_utils.benchmarks.nb201 import NB201Benchmark

#: For each reported dataset, the (dataset, metric) a search or ranker learns from.
SEARCH_LABELS: dict[str, tuple[str, str]] = {
    "cifar10": ("cifar10-valid", "valid-accuracy"),
    "cifar10-valid": ("cifar10-valid", "valid-accuracy"),
    "cifar100": ("cifar100", "valid-accuracy"),
    "ImageNet16-120": ("ImageNet16-120", "valid-accuracy"),
}
#: The datasets the book reports test accuracy on, in table order.
REPORTED_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")


def label_dataset(dataset: str) -> str:
    """The dataset whose validation accuracy stands in for ``dataset`` (NB201 convention)."""
    if dataset not in SEARCH_LABELS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(SEARCH_LABELS)}")
    return SEARCH_LABELS[dataset][0]


@dataclass(frozen=True)
class Task:
    """A ranking/search task: learn from ``label_*``, report ``dataset``'s ``report_metric``
    (test accuracy, unless the source holds none: the NAS-Bench-101 subset reports validation
    accuracy).

    NAS-Bench-201 convention: 'cifar10' is reported on its test set and learned from the
    validation accuracy of 'cifar10-valid' (same network, trained on the train half), as the
    'cifar10' run holds no validation split. A source without any validation accuracy (the
    embedded one) learns from the reported accuracy itself; ``label_is_test`` says so.
    """

    dataset: str
    label_dataset: str
    label_metric: str
    hp: str
    report_metric: str = "test-accuracy"

    @property
    def label_is_test(self) -> bool:
        return self.label_dataset == self.dataset and self.label_metric == "test-accuracy"

    def labels(self, bench: NB201Benchmark) -> np.ndarray:
        return bench.column(self.label_dataset, self.label_metric, self.hp)

    def test(self, bench: NB201Benchmark) -> np.ndarray:
        return bench.column(self.dataset, self.report_metric, self.hp)


def tasks(bench: NB201Benchmark, datasets: Sequence[str] | None = None) -> list[Task]:
    """The tasks ``bench`` supports (or those of ``datasets``, reported dataset names:
    'cifar10', 'cifar100', 'ImageNet16-120')."""
    hp = bench.default_hp
    out = []
    for dataset in REPORTED_DATASETS:
        if not bench.has(dataset, "test-accuracy", hp):
            continue
        label = label_dataset(dataset)
        if bench.has(label, "valid-accuracy", hp):
            out.append(Task(dataset, label, "valid-accuracy", hp))
        else:
            out.append(Task(dataset, dataset, "test-accuracy", hp))
    if datasets:
        unknown = sorted(set(datasets) - set(REPORTED_DATASETS))
        if unknown:
            raise ValueError(f"unknown task dataset(s) {unknown}; tasks are named by the "
                             f"reported dataset: {', '.join(REPORTED_DATASETS)}")
        have = {t.dataset: t for t in out}
        missing = [d for d in datasets if d not in have]
        if missing:
            raise KeyError(f"source {bench.source!r} cannot report {missing}; it supports "
                           f"{', '.join(have)}")
        out = [have[d] for d in datasets]
    return out
