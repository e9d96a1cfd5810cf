"""Ranking protocols: which cells a predictor learns from, which it ranks, against what.

Published Kendall taus are only comparable under the protocol that produced them. A
:class:`RankingProtocol` fixes the space, the training-set sizes, whether validation labels
are given (and counted), the label the predictor learns, the accuracy its ranking is scored
against and which cells are scored. Two families are here:

* ``'nar'``: the NAR paper's NB201 setup and the book's default (chapter 03): 1000 training
  and 256 validation cells drawn at random, the other 14,369 scored; label and score are the
  200-epoch validation accuracy of the dataset.
* ``'pinat-nb201'`` and ``'pinat-nb101'``: the protocol of TNASP (Lu et al., NeurIPS 2021)
  and PINAT (Lu et al., AAAI 2023), as their public code (``nasbench/train_nasbench.py`` and
  ``nasbench/datasets/``) defines it. NB201: the training cells are drawn at random from all
  15,625 (78, 156, 469, 781 or 1,563, i.e. 0.5 % to 10 %), the label is the cifar10-valid
  validation accuracy, no validation labels are used (a fixed number of epochs), and the
  ranking of *all* 15,625 cells (the training cells included, their ``eval_split='all'``) is
  scored against the CIFAR-10 test accuracy. :func:`score` also reports the held-out cells
  alone. NB101: the same with 100 / 172 / 424 / 4,236 training cells, scored on all 423,624
  cells against the 108-epoch test accuracy. **The book's NB101 data is a 30k subset without
  test accuracy**, so ``'pinat-nb101'`` here trains on cells of the subset and scores the rest
  of the subset against the 108-epoch validation accuracy: a neighbour of their protocol,
  not the protocol (its ``matches_published`` is False).

:data:`PUBLISHED` holds the figures of PINAT's Table 1 for these protocols, as reported
there (one split each, not re-run here).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nar_utils import metrics
from nar_utils.predictors.base import split_indices


@dataclass(frozen=True)
class RankingProtocol:
    """One ranking protocol (see the module docstring)."""

    name: str
    space: str  # 'nb201' or 'nb101'
    train_sizes: tuple[int, ...]
    n_val: int  # validation labels given to the predictor (counted as labels)
    label_dataset: str | None  # dataset whose label is learned (None: NB101's one dataset)
    label_metric: str
    target_dataset: str | None  # dataset whose accuracy scores the ranking
    target_metric: str
    score_training_cells: bool  # True: every cell is scored, the training cells included
    matches_published: bool  # False where the book's data cannot follow it exactly
    source: str

    def split(self, n_total: int, n_train: int, seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(train, val, scored)`` cell indices: a random draw (``split_indices``) of
        ``n_train`` training and ``n_val`` validation cells; scored = every cell when the
        protocol scores the training cells too, else the rest."""
        if n_train not in self.train_sizes:
            raise ValueError(f"protocol {self.name!r} trains on {self.train_sizes} cells, "
                             f"not {n_train}")
        train, val, rest = split_indices(n_total, n_train, self.n_val, seed=seed)
        scored = np.arange(n_total) if self.score_training_cells else rest
        return train, val, scored


PROTOCOLS: dict[str, RankingProtocol] = {
    "nar": RankingProtocol(
        "nar", "nb201", (1000,), 256, None, "valid-accuracy", None, "valid-accuracy",
        False, True, "NAR (Guo et al., arXiv 2201.12725), NB201 predictor experiment"),
    "pinat-nb201": RankingProtocol(
        "pinat-nb201", "nb201", (78, 156, 469, 781, 1563), 0, "cifar10-valid",
        "valid-accuracy", "cifar10", "test-accuracy", True, True,
        "TNASP (NeurIPS 2021) / PINAT (AAAI 2023) public code, NB201 splits"),
    "pinat-nb101": RankingProtocol(
        "pinat-nb101", "nb101", (100, 172, 424, 4236), 0, None, "valid-accuracy", None,
        "valid-accuracy", False, False,
        "TNASP / PINAT NB101 split sizes on the book's 30k subset (their test set: all "
        "423,624 cells, test accuracy; not held here)"),
}

#: Kendall tau published in PINAT (Lu et al., AAAI 2023), Table 1, per protocol and number of
#: training cells: {predictor: tau}. NB201 figures are CIFAR-10.
PUBLISHED: dict[tuple[str, int], dict[str, float]] = {
    ("pinat-nb201", 469): {"PINAT": 0.706, "TNASP": 0.640, "Graphormer": 0.680},
    ("pinat-nb201", 781): {"PINAT": 0.761, "TNASP": 0.689, "Graphormer": 0.719},
    ("pinat-nb201", 1563): {"PINAT": 0.784, "TNASP": 0.724, "Graphormer": 0.776},
    ("pinat-nb101", 424): {"PINAT": 0.772},
    ("pinat-nb101", 4236): {"PINAT": 0.846},
}


def get_protocol(name: str) -> RankingProtocol:
    """A protocol by name (``ValueError`` naming the valid ones)."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown ranking protocol {name!r}; valid: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def score(protocol: RankingProtocol, scores, target, train_index) -> dict[str, float]:
    """Kendall tau of ``scores`` (one per scored cell, in the order of the protocol's scored
    indices) against ``target``: ``tau`` as the protocol scores it and ``tau_held_out`` over
    the cells that were not trained on (equal to ``tau`` when the protocol scores only
    those). ``train_index`` gives the positions of the training cells among the scored
    ones (ignored when the protocol does not score them)."""
    scores = np.asarray(scores, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    out = {"tau": metrics.kendall_tau(target, scores)}
    if protocol.score_training_cells:
        held = np.ones(len(scores), dtype=bool)
        held[np.asarray(train_index, dtype=np.int64)] = False
        out["tau_held_out"] = metrics.kendall_tau(target[held], scores[held])
    else:
        out["tau_held_out"] = out["tau"]
    return out


__all__ = ["PROTOCOLS", "PUBLISHED", "RankingProtocol", "get_protocol", "score"]
