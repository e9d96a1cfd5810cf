"""One NAS-Bench-201 supernet: the benchmark's skeleton with every operation on every edge.

The macro skeleton is the standalone network's (:mod:`nar_utils.spaces.nb201.network`: stem,
three stages of N searched cells joined by residual reductions, head, classifier) and so are
the operation modules (:func:`~nar_utils.spaces.nb201.network.make_operation`); only the
searched cells change: each of their six edges holds all five operations
(:class:`MixedEdge`), and one cell topology is shared by all 3N searched cells, as in the
benchmark. A forward pass takes the choice of operations in one of three forms:

* ``weights`` (6 x 5): every operation runs, and the edge outputs their weighted sum (DARTS'
  softmax relaxation; SETN's template);
* ``weights`` and ``indices`` (6): only the chosen operation of each edge runs, multiplied by
  its weight; the other operations contribute their weights alone, which are zero in value
  but carry gradients (GDAS' hard Gumbel-softmax sample);
* ``indices`` alone: one path, the cell of those op codes (uniform sampling, ENAS, RSPS and
  the evaluation of a candidate).

With one-hot weights (or the indices of a cell) and the parameters of a standalone network
(:func:`load_network_weights`), the output equals that network's output: a test checks it.
The searches' batch norms are non-affine and track running statistics or not as each
method's recipe says (``affine``, ``track_running_stats``).

Reference: X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020, section 5 (the weight-sharing
searches on the benchmark's cell).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nar_utils.spaces.nb201 import space
from nar_utils.spaces.nb201.network import NUM_STAGES, NB201Network, make_operation, skeleton


class MixedEdge(nn.Module):
    """One edge of a searched cell: ``ops[k]`` is operation ``k`` of ``space.OPS``."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool):
        super().__init__()
        self.ops = nn.ModuleList(make_operation(code, channels, affine, track_running_stats)
                                 for code in range(space.NUM_OPS))

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                index: int | None = None) -> torch.Tensor:
        if weights is None:
            return self.ops[index](x)
        if index is None:
            return sum(w * op(x) for w, op in zip(weights, self.ops))
        return sum(op(x) * weights[k] if k == index else weights[k]
                   for k, op in enumerate(self.ops))


class SearchCell(nn.Module):
    """A searched cell whose ``edges[e]`` (on ``space.EDGES[e]``) hold every operation."""

    def __init__(self, channels: int, affine: bool, track_running_stats: bool):
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels, affine, track_running_stats)
                                   for _ in range(space.NUM_EDGES))

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None,
                indices: Sequence[int] | None) -> torch.Tensor:
        nodes = [x]
        for dst in range(1, space.NUM_NODES):
            nodes.append(sum(
                edge(nodes[src], None if weights is None else weights[e],
                     None if indices is None else int(indices[e]))
                for e, (edge, (src, d)) in enumerate(zip(self.edges, space.EDGES)) if d == dst))
        return nodes[-1]


class Supernet(nn.Module):
    """The NB201 supernet (module docstring); ``forward(images, weights, indices)``."""

    def __init__(self, num_classes: int, image_size: int, channels: int = 16,
                 cells_per_stage: int = 5, affine: bool = False,
                 track_running_stats: bool = True):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("image_size", image_size),
                            ("channels", channels), ("cells_per_stage", cells_per_stage)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Supernet {name} must be a positive int, got {value!r}")
        self.image_size = image_size
        widths = [channels * 2**stage for stage in range(NUM_STAGES)]
        self.stem, self.cells, self.head, self.global_pool, self.classifier = skeleton(
            widths, cells_per_stage, num_classes,
            lambda width: SearchCell(width, affine, track_running_stats))

    def forward(self, images: torch.Tensor, weights: torch.Tensor | None = None,
                indices: Sequence[int] | None = None) -> torch.Tensor:
        if weights is None and indices is None:
            raise ValueError("a supernet pass needs the operations: weights (6 x 5), "
                             "indices (6 op codes), or both")
        if weights is not None and tuple(weights.shape) != (space.NUM_EDGES, space.NUM_OPS):
            raise ValueError(f"weights must be {space.NUM_EDGES} x {space.NUM_OPS} (edges x "
                             f"operations), got {tuple(weights.shape)}")
        if indices is not None and len(indices) != space.NUM_EDGES:
            raise ValueError(f"indices must hold {space.NUM_EDGES} op codes, got {indices!r}")
        x = self.stem(images)
        for cell in self.cells:
            x = cell(x, weights, indices) if isinstance(cell, SearchCell) else cell(x)
        return self.classifier(self.global_pool(self.head(x)).flatten(1))


def load_network_weights(supernet: Supernet, network: NB201Network) -> None:
    """Copy a standalone network's parameters and buffers into the supernet: the skeleton's
    as they are, each edge's into the supernet operation of the network's cell. The two must
    have the same C, N, classes and batch-norm affinity."""
    codes = network.config.op_codes
    target = supernet.state_dict()
    mapped = {}
    for name, value in network.state_dict().items():
        parts = name.split(".")
        if parts[0] == "cells" and parts[2] == "edges":
            edge = int(parts[3])
            name = ".".join([*parts[:4], "ops", str(codes[edge]), *parts[4:]])
        if name not in target or target[name].shape != value.shape:
            raise ValueError(f"network parameter {name} has no counterpart of shape "
                             f"{tuple(value.shape)} in the supernet; build both with the same "
                             "C, N, classes and batch-norm settings")
        mapped[name] = value
    supernet.load_state_dict(mapped, strict=False)


def derive_arch(weights: torch.Tensor) -> str:
    """The cell of the largest weight on each edge (every operation competes, 'none' too)."""
    return space.format_arch_str([int(k) for k in weights.detach().argmax(dim=-1).tolist()])


__all__ = ["MixedEdge", "SearchCell", "Supernet", "derive_arch", "load_network_weights"]
