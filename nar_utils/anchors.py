"""Published figures the book's results are set beside ("anchors").

Each anchor names where it was published. None of them is used to tune anything; the book
prints them next to its own recorded numbers. Figures marked ``verified=False`` were taken
from secondary descriptions of the papers and have not been checked against the papers here.
"""
from __future__ import annotations

from dataclasses import dataclass


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
           {"nb101": "top 0.01 ‰"}),
    Anchor("nar-successor-nb201", "NAR's successor (same authors)",
           "NB201 test accuracy at 1,000 queries",
           {"cifar10": 94.35, "cifar100": 73.22, "ImageNet16-120": 46.93}),
    Anchor("renas-nb101", "ReNAS (Xu et al., 2021)",
           "NB101 test accuracy at 0.1 % labels", {"nb101": "93.95 ± 0.11"}),
)
