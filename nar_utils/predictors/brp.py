"""BRP-NAS's binary relation predictor on the predictor contract: ``'brp'``.

A GCN (the one of :class:`~nar_utils.predictors.baselines.GCNPredictor`: operations on nodes,
propagation along the data flow, the output node read out) embeds each cell; a pairwise head
says how likely cell ``a`` is better than cell ``b``. Training compares pairs of labelled
cells (binary cross-entropy on ``y_a > y_b``), so only the labels' order is learned, never
their scale. BRP-NAS trains it in rounds on the cells it predicts best; that acquisition lives
in the N/K protocol (:func:`nar_utils.search.nk.run_nk`, method ``'brp'``), not here.

Choices of ours, each one the paper leaves open or one the contract needs:

* **Exact antisymmetry.** The head is ``f(a, b) = g([e_a, e_b]) - g([e_b, e_a])`` with a
  one-hidden-layer MLP ``g``, so ``P(a > b) = 1 - P(b > a)`` holds by construction and the
  order of a pair cannot bias it. (A linear ``g`` would collapse into a score difference;
  the hidden layer keeps the relation pairwise.)
* **Scores from pairs.** ``predict`` has to give one number per cell: the mean probability
  of beating ``num_references`` training cells spread evenly over their label order (all of
  them when fewer). BRP-NAS sorts candidates with the pairwise predictor as the comparison
  instead; on 15,625 cells that takes ~200k comparisons that need not be consistent, while
  the mean against fixed references is one pass and gives a total order.
* **Pairs per epoch.** Every epoch pairs each labelled cell with one other at random (pairs
  of equal labels dropped), drawn from a generator seeded with ``seed``.
* With validation data the epoch of best Kendall tau is kept, as for the other neural
  predictors.

Defaults are the BRP-NAS accuracy recipe: 4 GCN layers of 600 units, AdamW (lr 3.5e-4,
weight decay 5e-4), 250 epochs, batches of 64 pairs.

Reference: Ł. Dudziak et al., "BRP-NAS: Prediction-based NAS using GCNs", NeurIPS 2020.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nar_utils import metrics
from nar_utils.predictors.base import Predictor, check_positive_int
from nar_utils.predictors.baselines import _GCN
from nar_utils.runtime import seeded_torch
from nar_utils.spaces import SearchSpace


class _BinaryRelation(nn.Module):
    """GCN embeddings and the antisymmetric pairwise head (see the module docstring)."""

    def __init__(self, d_in: int, hidden: int, n_layers: int) -> None:
        super().__init__()
        self.gcn = _GCN(d_in, hidden, n_layers)
        self.first = nn.Linear(hidden, hidden)               # g's weights on the first cell
        self.second = nn.Linear(hidden, hidden, bias=False)  # ... and on the second
        self.out = nn.Linear(hidden, 1)

    def embed(self, adjacency: torch.Tensor, node_ops: torch.Tensor) -> torch.Tensor:
        return self.gcn.embed(adjacency, node_ops)

    def halves(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each cell's contribution to ``g`` as the first and as the second cell."""
        return self.first(embeddings), self.second(embeddings)

    def relation(self, a: tuple[torch.Tensor, torch.Tensor],
                 b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Logit of ``P(a > b)`` from :meth:`halves`; broadcasts over leading dimensions."""
        forward = self.out(F.relu(a[0] + b[1])).squeeze(-1)
        backward = self.out(F.relu(b[0] + a[1])).squeeze(-1)
        return forward - backward

    def forward(self, adj_a, ops_a, adj_b, ops_b) -> torch.Tensor:
        return self.relation(self.halves(self.embed(adj_a, ops_a)),
                             self.halves(self.embed(adj_b, ops_b)))


class BRPPredictor(Predictor):
    """BRP-NAS binary relation predictor (see the module docstring).

    ``hidden``/``n_layers``: the GCN's width and depth; ``num_epochs``, ``batch_size`` (pairs),
    ``lr``, ``weight_decay``: AdamW training; ``num_references``: how many training cells
    :meth:`predict` compares each cell with.
    """

    name = "brp"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 hidden: int = 600, n_layers: int = 4, num_epochs: int = 250,
                 batch_size: int = 64, lr: float = 3.5e-4, weight_decay: float = 5e-4,
                 num_references: int = 64, canonical: str | None = None) -> None:
        super().__init__(seed=seed, device=device, space=space, canonical=canonical)
        self.hidden = check_positive_int("hidden", hidden)
        self.n_layers = check_positive_int("n_layers", n_layers)
        self.num_epochs = check_positive_int("num_epochs", num_epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.num_references = check_positive_int("num_references", num_references)
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.module: _BinaryRelation | None = None
        self._references: np.ndarray | None = None

    # -- inputs --------------------------------------------------------------------------------
    def _graphs(self, codes: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        adjacency, node_ops = self.space.graph_encoding(codes)
        return (torch.as_tensor(adjacency, dtype=torch.float32),
                torch.as_tensor(node_ops, dtype=torch.float32))

    @torch.no_grad()
    def _halves(self, codes: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        adjacency, node_ops = self._graphs(codes)
        parts = [self.module.halves(self.module.embed(adjacency[i:i + chunk].to(self.device),
                                                      node_ops[i:i + chunk].to(self.device)))
                 for i in range(0, len(codes), chunk)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    # -- training ------------------------------------------------------------------------------
    def _fit(self, codes, y, val_codes, val_y) -> None:
        adjacency, node_ops = self._graphs(codes)
        with seeded_torch(self.seed, self.device):
            module = _BinaryRelation(node_ops.shape[2], self.hidden, self.n_layers)
        self.module = module.to(self.device)
        order = np.argsort(y, kind="stable")
        self._references = codes[order[np.unique(np.linspace(
            0, len(y) - 1, min(self.num_references, len(y))).round().astype(int))]]
        rng = np.random.default_rng(self.seed)
        optimizer = torch.optim.AdamW(module.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        best_tau, best_state = -np.inf, None
        for _ in range(self.num_epochs):
            module.train()
            first = rng.permutation(len(y))
            second = (first + rng.integers(1, len(y), len(y))) % len(y)  # never the same cell
            keep = y[first] != y[second]
            first, second = first[keep], second[keep]
            for start in range(0, len(first), self.batch_size):
                a, b = first[start:start + self.batch_size], second[start:start + self.batch_size]
                # Each cell of the batch is embedded once, however many pairs it is in.
                cells, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
                ia, ib = np.split(torch.as_tensor(inverse, device=self.device), 2)
                halves = module.halves(module.embed(adjacency[cells].to(self.device),
                                                    node_ops[cells].to(self.device)))
                logits = module.relation((halves[0][ia], halves[1][ia]),
                                         (halves[0][ib], halves[1][ib]))
                target = torch.as_tensor(y[a] > y[b], dtype=torch.float32, device=self.device)
                loss = F.binary_cross_entropy_with_logits(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if val_codes is not None:
                tau = metrics.kendall_tau(val_y, self._predict(val_codes))
                if tau > best_tau:
                    best_tau, best_state = tau, copy.deepcopy(module.state_dict())
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()

    # -- prediction ----------------------------------------------------------------------------
    @torch.no_grad()
    def _predict(self, codes: np.ndarray, chunk: int = 32) -> np.ndarray:
        self.module.eval()  # training sets train() again at each epoch's start
        cells = self._halves(codes)
        refs = tuple(h.unsqueeze(0) for h in self._halves(self._references))
        scores = [torch.sigmoid(self.module.relation(
            (cells[0][i:i + chunk, None], cells[1][i:i + chunk, None]), refs)).mean(dim=1)
            for i in range(0, len(codes), chunk)]
        return torch.cat(scores).double().cpu().numpy()

    def prob_better(self, archs_a, archs_b) -> np.ndarray:
        """``P(a_i > b_i)`` for each pair of rows of ``archs_a`` and ``archs_b``."""
        if not self._fitted:
            raise RuntimeError("BRPPredictor is not fitted; call fit(archs, y) first")
        a, b = self.space.batch(archs_a), self.space.batch(archs_b)
        if len(a) != len(b):
            raise ValueError(f"archs_a and archs_b must hold as many cells, got {len(a)} and "
                             f"{len(b)}")
        with torch.no_grad():
            logits = self.module.relation(self._halves(a), self._halves(b))
        return torch.sigmoid(logits).double().cpu().numpy()
