"""The NAS-Bench-101 network and the per-vertex FLOPs and parameters of its modules.

Every architecture of NAS-Bench-101 is one cell (a DAG of at most 7 vertices, see
:mod:`nar_utils.nb101`) copied into the 9 modules of a fixed CIFAR-10 skeleton::

    input (3 x 32 x 32)
      stem       3x3 conv (3 -> 128, no bias) + BN + ReLU
      stack 0    modules 0-2: 128 -> 128 channels, 32 x 32
      downsample 2x2 max pooling, stride 2
      stack 1    module 0: 128 -> 256, modules 1-2: 256 -> 256, 16 x 16
      downsample 2x2 max pooling, stride 2
      stack 2    module 0: 256 -> 512, modules 1-2: 512 -> 512, 8 x 8
      head       global average pooling, linear classifier (with bias) to 10 classes

**Inside a module** (``in_channels -> out_channels``) every vertex has a width:

* the output's channels are split evenly among the interior vertices that feed the output,
  the remainder going one each to the first of them (128 over 3 feeders: 43, 43, 42);
* an interior vertex that does not feed the output takes the largest width among its interior
  successors; the input vertex has ``in_channels``, the output ``out_channels``.

An interior vertex sums its inputs, then applies its operation: each interior predecessor's
tensor cut to the vertex's width (its first channels), plus, when the input vertex feeds it,
a *projection* of the module input (1x1 conv without bias + BN + ReLU) to that width.
Operations: ``conv3x3-bn-relu`` and ``conv1x1-bn-relu`` (conv without bias, BN, ReLU, width
unchanged) and ``maxpool3x3`` (stride 1, padding 1). The output concatenates, in vertex order,
the interior vertices that feed it; when the input feeds the output, a projection of the
module input to ``out_channels`` is added; a 2-vertex cell (input -> output) is that
projection alone. Every batch norm has a learnable scale and shift (2 parameters per
channel; running statistics follow the benchmark's decay 0.997). With this, the trainable
parameter count equals the benchmark's ``params`` for all 30,001 cells of the subset table
(8,555,530 for hash 00005c142e6f48ac74fdcf73e3439874).

**Counting rule of the cell information** (derived from the NAR authors' record of that cell,
which it reproduces number for number in all 9 modules, total FLOPs included):

* a convolution counts 2 FLOPs per multiply-accumulate, ``2 * k * k * C_in * C_out * H * W``
  (output size); batch norm and ReLU count nothing;
* a vertex counts its operation, its input projection when the input feeds it, and the
  additions that sum its inputs: ``(inputs - 1) * C * H * W`` for ``inputs`` summed tensors
  of ``C`` channels; concatenation and cutting channels are free;
* ``maxpool3x3`` counts 9 per output element (``9 * C * H * W``), the 2x2 downsampling pools 4;
* a vertex's parameters are its convolution weights and batch-norm scale and shift, those of
  its input projection included;
* the input vertex counts 0. The output vertex counts 0 unless the input feeds it: then the
  projection to ``out_channels`` and the one addition that joins it to the concatenation
  (``out_channels * H * W``; none for a 2-vertex cell) are *its* FLOPs, and the projection's
  weights and BN its parameters (the authors' record has no such edge; placing the cost at
  the output keeps it on the edge input -> output in the NAR feature tensor);
* the network total adds the stem (conv FLOPs; conv and BN parameters), the two 2x2 pools
  (``4 * C * H_out * W_out``), the global average pooling (1 per input element) and the
  classifier (``2 * in * out + out`` FLOPs, weights and bias as parameters).

Example, stack 0 / module 0 of the record's cell (all interior widths 64): vertex 1, a 3x3
conv fed by the input, counts ``2 * 9 * 64 * 64 * 1024 + 2 * 128 * 64 * 1024`` = 92,274,688
FLOPs and ``9 * 64 * 64 + 128 + 128 * 64 + 128`` = 45,312 parameters; vertex 5, a 1x1 conv
summing the projection and two vertices, ``8,388,608 + 16,777,216 + 2 * 64 * 1024`` =
25,296,896 FLOPs. Network total: 7,077,888 (stem) + 131,072 + 65,536 (2x2 pools) + 32,768
(global pooling) + 10,250 (classifier) + 2,520,367,104 (the 9 modules' vertices) =
2,527,684,618, the record's ``flops``.

**Layouts.** A *padded batch* of cells is ``matrices (N, 7, 7)`` (0/1, upper triangular,
zero outside the cell) and ``labels (N, 7)`` with :data:`PAD` (-3) after the cell: a cell of
``n`` vertices keeps them at indices ``0 .. n-1``, its output at ``n - 1`` (the layout of
``nar_utils.nb101.pack``). Per-vertex costs, ``(N, 9, 7)``, use the same slots (zeros after
the output); modules in :data:`MODULE_NAMES` order. The NAR JSON lists (:func:`to_nar_json`)
hold ``n`` numbers per module, one per vertex, as ``module_adjacency`` is ``n x n``; the
authors' own feature encoder pads those by moving the output to slot 6, unlike this layout.

References:
  C. Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
  ICML 2019 (network skeleton, channel rule; Sec. 2 and its supplement).
  Y. Guo et al., "Neural Architecture Ranker", arXiv 2201.12725 (cell information).
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .nb101 import (CONV1X1, CONV3X3, INPUT, LABEL_TO_OP, MAX_VERTICES, MAXPOOL3X3, OUTPUT, PAD,
                    pack_strings, pad_vertex_lists)

V = MAX_VERTICES
IMAGE_CHANNELS = 3
_KERNEL_AREA = {CONV3X3: 9, CONV1X1: 1}
_INTERIOR_LABELS = (CONV3X3, CONV1X1, MAXPOOL3X3)


# -- the skeleton ----------------------------------------------------------------------------
class ModuleShape(NamedTuple):
    """Where one module sits: its name, widths and (square) feature-map size."""

    name: str
    in_channels: int
    out_channels: int
    size: int


@dataclass(frozen=True)
class Skeleton:
    """The fixed part of every NB101 network; defaults = the benchmark (:data:`BENCHMARK`)."""

    stem_channels: int = 128  # width of the stem and of stack 0 (stacks double it)
    num_stacks: int = 3  # a 2x2 max pooling before every stack but the first
    modules_per_stack: int = 3  # copies of the cell per stack
    num_classes: int = 10
    input_size: int = 32  # height = width of the input images

    def __post_init__(self) -> None:
        for name in ("stem_channels", "num_stacks", "modules_per_stack", "num_classes",
                     "input_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Skeleton.{name} must be a positive int, got {value!r}")
        if self.input_size % 2 ** (self.num_stacks - 1):
            raise ValueError(f"input_size {self.input_size} must be divisible by "
                             f"2**(num_stacks - 1) = {2 ** (self.num_stacks - 1)}")

    @property
    def modules(self) -> tuple[ModuleShape, ...]:
        """Every module in network order ('stack0/module0', ...)."""
        shapes = []
        width, size = self.stem_channels, self.input_size
        for stack in range(self.num_stacks):
            in_channels = width
            if stack > 0:
                width, size = 2 * width, size // 2
            for module in range(self.modules_per_stack):
                shapes.append(ModuleShape(f"stack{stack}/module{module}",
                                          in_channels if module == 0 else width, width, size))
        return tuple(shapes)

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(shape.name for shape in self.modules)

    @property
    def final_channels(self) -> int:
        return self.stem_channels * 2 ** (self.num_stacks - 1)


#: The benchmark's skeleton.
BENCHMARK = Skeleton()
#: The 9 modules of the benchmark network: 'stack0/module0' .. 'stack2/module2'.
MODULE_NAMES: tuple[str, ...] = BENCHMARK.module_names
NUM_MODULES = len(MODULE_NAMES)


# -- cells -----------------------------------------------------------------------------------
def check_cell(matrix, labels: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate one pruned cell; returns ``(matrix as int64 (n, n), labels as a tuple)``.

    The matrix must be square, 0/1 and strictly upper triangular; labels start with the input
    (-1), end with the output (-2) and hold conv3x3 (0), conv1x1 (1) or maxpool3x3 (2) in
    between; every interior vertex must have an incoming and an outgoing edge (prune the cell
    first, e.g. with ``nar_utils.nb101``, if not).
    """
    matrix = np.asarray(matrix)
    labels = tuple(int(label) for label in labels)
    n = len(labels)
    if matrix.ndim != 2 or matrix.shape != (n, n):
        raise ValueError(f"matrix must be ({n}, {n}) for {n} labels, got shape {matrix.shape}")
    if not 2 <= n <= V:
        raise ValueError(f"a cell has 2..{V} vertices, got {n}")
    if not np.isin(matrix, (0, 1)).all() or np.tril(matrix).any():
        raise ValueError(f"matrix must be 0/1 and strictly upper triangular, got\n{matrix}")
    if labels[0] != INPUT or labels[-1] != OUTPUT or \
            any(label not in _INTERIOR_LABELS for label in labels[1:-1]):
        raise ValueError(f"labels must be {INPUT} (input), then {_INTERIOR_LABELS} "
                         f"(conv3x3, conv1x1, maxpool3x3), then {OUTPUT} (output); got {labels}")
    matrix = matrix.astype(np.int64)
    for v in range(1, n - 1):
        if not matrix[:, v].any() or not matrix[v].any():
            side = "incoming" if not matrix[:, v].any() else "outgoing"
            raise ValueError(f"interior vertex {v} has no {side} edge; prune the cell first "
                             f"(matrix\n{matrix})")
    if not matrix[:, n - 1].any():
        raise ValueError(f"the output vertex {n - 1} has no incoming edge (matrix\n{matrix})")
    return matrix, labels


def vertex_channels(matrix, in_channels: int, out_channels: int) -> list[int]:
    """Width of every vertex of a (pruned) cell inside a module ``in -> out`` channels.

    The benchmark's rule (see the module docstring): the output's channels split over the
    interior vertices feeding it, remainder to the first; other interior vertices take the
    widest interior successor.
    """
    matrix = np.asarray(matrix)
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = in_channels, out_channels
    feeders = [v for v in range(1, n - 1) if matrix[v, n - 1]]
    if feeders:
        share, remainder = divmod(out_channels, len(feeders))
        for rank, v in enumerate(feeders):
            channels[v] = share + (1 if rank < remainder else 0)
    for v in range(n - 2, 0, -1):  # successors first: they are later vertices
        if not matrix[v, n - 1]:
            channels[v] = max((channels[w] for w in range(v + 1, n - 1) if matrix[v, w]),
                              default=0)
    return channels


def pad_cells(matrices: Iterable, labels: Iterable[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Padded batch ``(matrices (N, 7, 7) int8, labels (N, 7) int8)`` of cells of any size.

    Each ``(matrix, labels)`` pair is checked with :func:`check_cell`; vertices keep their
    indices, the output sits at ``n - 1`` and later slots get label :data:`PAD`.
    """
    matrices, labels = list(matrices), list(labels)
    if len(matrices) != len(labels):
        raise ValueError(f"got {len(matrices)} matrices but {len(labels)} label lists; give one "
                         "of each per cell")
    pairs = list(zip(matrices, labels, strict=True))
    padded = np.zeros((len(pairs), V, V), dtype=np.int8)
    padded_labels = np.full((len(pairs), V), PAD, dtype=np.int8)
    for row, (matrix, cell_labels) in enumerate(pairs):
        matrix, cell_labels = check_cell(matrix, cell_labels)
        n = len(cell_labels)
        padded[row, :n, :n] = matrix
        padded_labels[row, :n] = cell_labels
    return padded, padded_labels


def unpad_cell(matrix: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """One cell of a padded batch without its padding: ``(matrix (n, n), labels)``."""
    n = int((np.asarray(labels) != PAD).sum())
    return np.asarray(matrix)[:n, :n].astype(np.int64), tuple(int(x) for x in labels[:n])


def check_batch(matrices, labels) -> tuple[np.ndarray, np.ndarray]:
    """Validate a padded batch (see the module docstring); returns ``(matrices (N, 7, 7) bool,
    labels (N, 7) int8)``.

    Checks, all at once over the batch: shapes ``(N, 7, 7)`` and ``(N, 7)``; labels -1 at
    slot 0, one -2, interior labels 0..2 before it and :data:`PAD` after; a 0/1 strictly upper
    triangular matrix, zero on padding slots; every interior vertex with an incoming and an
    outgoing edge; an output with an incoming edge. The first bad row is named.
    """
    matrices, labels = np.asarray(matrices), np.asarray(labels)
    if labels.ndim == 1:
        matrices, labels = matrices[None], labels[None]
    if matrices.ndim != 3 or matrices.shape[1:] != (V, V) or labels.shape != (len(matrices), V):
        raise ValueError(f"a padded batch is matrices (N, {V}, {V}) and labels (N, {V}); got "
                         f"{matrices.shape} and {labels.shape} (pad cells with pad_cells)")
    if matrices.dtype.kind not in "iub" or labels.dtype.kind not in "iu":
        raise ValueError(f"matrices and labels must be integer arrays, got {matrices.dtype} "
                         f"and {labels.dtype}")
    n = (labels != PAD).sum(axis=1)
    slots = np.arange(V)[None, :]
    inside = slots < n[:, None]
    label_ok = np.where(~inside, labels == PAD,
                        np.where(slots == 0, labels == INPUT,
                                 np.where(slots == (n - 1)[:, None], labels == OUTPUT,
                                          (labels >= 0) & (labels <= 2))))
    if not label_ok.all() or (n < 2).any():
        row = np.flatnonzero(~label_ok.all(axis=1) | (n < 2))[0]
        raise ValueError(f"labels of row {row} are {labels[row].tolist()}: expected {INPUT}, "
                         f"then 0..2 (conv3x3, conv1x1, maxpool3x3), then {OUTPUT}, then {PAD} "
                         f"padding, with 2..{V} vertices")
    edges = matrices != 0
    allowed = np.triu(np.ones((V, V), dtype=bool), k=1)[None] \
        & inside[:, :, None] & inside[:, None, :]
    matrix_bad = (edges & ~allowed) | (edges & (matrices != 1))
    if matrix_bad.any():
        row = np.flatnonzero(matrix_bad.any(axis=(1, 2)))[0]
        raise ValueError(f"matrix of row {row} must be 0/1, strictly upper triangular and zero "
                         f"outside its {n[row]} vertices; got\n{matrices[row]}")
    labels = labels.astype(np.int8)
    has_input, has_output = edges.any(axis=1), edges.any(axis=2)
    dangling = ((labels >= 0) & ~(has_input & has_output)) | ((labels == OUTPUT) & ~has_input)
    if dangling.any():
        row = np.flatnonzero(dangling.any(axis=1))[0]
        raise ValueError(f"row {row} has a vertex without an incoming or outgoing edge (vertex "
                         f"{np.flatnonzero(dangling[row])[0]}); prune the cell first. Matrix\n"
                         f"{matrices[row]}")
    return edges, labels


def cells_from_frame(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Padded batch ``(matrices (N, 7, 7) int8, labels (N, 7) int8)`` parsed from an NB101
    table's ``adjacency`` ('0100110|0010000|...') and ``ops_labels`` ('-1,0,2,...,-2') columns
    by :func:`nar_utils.nb101.pack_strings` (about a second for the 423,624 cells of the
    space); the result is checked with :func:`check_batch`.
    """
    missing = [c for c in ("adjacency", "ops_labels") if c not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks column(s) {missing}; an NB101 table has 'adjacency' and "
                       f"'ops_labels' (columns: {list(frame.columns)})")
    packed = pack_strings(frame["adjacency"], frame["ops_labels"])
    matrices, labels = packed[:, :V * V].reshape(-1, V, V), packed[:, V * V:]
    check_batch(matrices, labels)
    return matrices, labels


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an NB101 table (``nb101_30k.csv.gz``, ``nb101_space.csv.gz``), hashes as text."""
    return pd.read_csv(path, dtype={"hash": str, "adjacency": str, "ops_labels": str})


# -- the network -----------------------------------------------------------------------------
#: Batch-norm running-statistics momentum and epsilon of the benchmark's training (its
#: moving-average decay 0.997 is PyTorch's momentum 1 - 0.997).
BN_MOMENTUM, BN_EPS = 0.003, 1e-5


class ConvBNReLU(nn.Sequential):
    """Convolution without bias ('same' padding), batch norm, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                      bias=False),
            nn.BatchNorm2d(out_channels, eps=BN_EPS, momentum=BN_MOMENTUM, affine=True),
            nn.ReLU(inplace=False),
        )


class Sum(nn.Module):
    """Elementwise sum of a list of same-shaped tensors (a module so tracing sees it)."""

    def forward(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        total = tensors[0]
        for tensor in tensors[1:]:
            total = total + tensor
        return total


def make_operation(label: int, channels: int) -> nn.Module:
    """The operation of an interior vertex of ``label`` at width ``channels``."""
    if label == CONV3X3:
        return ConvBNReLU(channels, channels, 3)
    if label == CONV1X1:
        return ConvBNReLU(channels, channels, 1)
    if label == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"label {label!r} is not an interior operation; valid: "
                     f"{ {k: LABEL_TO_OP[k] for k in _INTERIOR_LABELS} }")


class Vertex(nn.Module):
    """An interior vertex: sum of its (cut) predecessors and input projection, then its op."""

    def __init__(self, label: int, channels: int, projection_from: int | None):
        super().__init__()
        self.channels = channels
        self.projection = None if projection_from is None else \
            ConvBNReLU(projection_from, channels, 1)
        self.add = Sum()
        self.op = make_operation(label, channels)

    def forward(self, module_input: torch.Tensor,
                predecessors: list[torch.Tensor]) -> torch.Tensor:
        inputs = [tensor[:, :self.channels] for tensor in predecessors]
        if self.projection is not None:
            inputs.append(self.projection(module_input))
        return self.op(self.add(inputs))


class OutputVertex(nn.Module):
    """The module output: concatenated feeders, plus the input projection if the input feeds
    it (or that projection alone, in a 2-vertex cell)."""

    def __init__(self, out_channels: int, projection_from: int | None):
        super().__init__()
        self.projection = None if projection_from is None else \
            ConvBNReLU(projection_from, out_channels, 1)
        self.add = Sum()

    def forward(self, module_input: torch.Tensor, feeders: list[torch.Tensor]) -> torch.Tensor:
        parts = [torch.cat(feeders, dim=1)] if feeders else []
        if self.projection is not None:
            parts.append(self.projection(module_input))
        return self.add(parts)


class CellModule(nn.Module):
    """One module of the network: the cell built at widths ``in_channels -> out_channels``.

    ``vertices[str(v)]`` is vertex ``v`` (1 .. n-1, the output last); its parameters and
    FLOPs are those of slot ``v`` of the cell information.
    """

    def __init__(self, matrix, labels: Sequence[int], in_channels: int, out_channels: int):
        super().__init__()
        matrix, labels = check_cell(matrix, labels)
        n = len(labels)
        self.channels = vertex_channels(matrix, in_channels, out_channels)
        self.predecessors = [[u for u in range(1, v) if matrix[u, v]] for v in range(n)]
        self.vertices = nn.ModuleDict()
        for v in range(1, n - 1):
            self.vertices[str(v)] = Vertex(labels[v], self.channels[v],
                                           in_channels if matrix[0, v] else None)
        self.vertices[str(n - 1)] = OutputVertex(out_channels,
                                                 in_channels if matrix[0, n - 1] else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensors = [x]
        for v in range(1, len(self.channels)):
            tensors.append(self.vertices[str(v)](x, [tensors[u] for u in self.predecessors[v]]))
        return tensors[-1]


class NB101Network(nn.Module):
    """One NAS-Bench-101 network (see the module docstring for the layout)."""

    def __init__(self, matrix, labels: Sequence[int], skeleton: Skeleton = BENCHMARK):
        super().__init__()
        self.matrix, self.labels = check_cell(matrix, labels)
        self.skeleton = skeleton
        self.stem = ConvBNReLU(IMAGE_CHANNELS, skeleton.stem_channels, 3)
        self.cells = nn.ModuleList(
            CellModule(self.matrix, self.labels, shape.in_channels, shape.out_channels)
            for shape in skeleton.modules)
        self.downsample = nn.MaxPool2d(2, stride=2)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(skeleton.final_channels, skeleton.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` images -> ``(B, num_classes)`` logits."""
        size = self.skeleton.input_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (IMAGE_CHANNELS, size, size):
            raise ValueError(f"NB101 networks take (B, {IMAGE_CHANNELS}, {size}, {size}) images, "
                             f"got shape {tuple(images.shape)}")
        x = self.stem(images)
        for k, cell in enumerate(self.cells):
            if k > 0 and k % self.skeleton.modules_per_stack == 0:
                x = self.downsample(x)
            x = cell(x)
        return self.classifier(self.global_pool(x).flatten(1))


def build_network(matrix, labels: Sequence[int], device: str | torch.device = "cpu",
                  seed: int = 0, skeleton: Skeleton = BENCHMARK) -> NB101Network:
    """Build the NB101 network of a pruned cell on ``device``.

    Weights are PyTorch's default initialisation drawn under ``torch.manual_seed(seed)`` in a
    forked RNG state: same seed, same weights, the caller's RNG untouched. On the 'meta'
    device no memory is allocated (enough to count parameters).
    """
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if device.type == "meta":
            with torch.device("meta"):
                return NB101Network(matrix, labels, skeleton)
        network = NB101Network(matrix, labels, skeleton)
    return network.to(device)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module`` (as the benchmark's ``params`` counts them)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# -- analytic cell information ---------------------------------------------------------------
class _Structure(NamedTuple):
    """What the costs of a chunk of a checked padded batch depend on, besides the widths.

    Arrays are vertex-major, ``(7, n)`` for ``n`` cells (int64 unless said otherwise), so that
    a sum or maximum over vertices adds up 7 contiguous rows instead of reducing many short
    rows; they are computed once for all modules.
    """

    feeds: np.ndarray  # bool: interior vertex feeding the output
    is_output: np.ndarray  # bool
    feeder_rank: np.ndarray  # rank among the feeders (meaningful where feeds)
    fan_in: np.ndarray  # (n,): number of feeders (at least 1)
    successors: np.ndarray  # (7, 7, n) bool: [src, dst] edges between interior vertices
    kernel_area: np.ndarray  # 9 for conv3x3, 1 for conv1x1, 0 otherwise
    conv_bn: np.ndarray  # 2 for a conv vertex (its BN scale and shift), 0 otherwise
    pool: np.ndarray  # 9 for maxpool3x3 (its comparisons per output), 0 otherwise
    projected: np.ndarray  # 1 where the input vertex feeds the vertex (output included)
    additions: np.ndarray  # summed inputs - 1, at least 0


def _structure(edges: np.ndarray, labels: np.ndarray) -> _Structure:
    """:class:`_Structure` of ``edges (n, 7, 7)`` bool and ``labels (n, 7)`` (checked)."""
    labels = np.ascontiguousarray(labels.T)
    edges = np.ascontiguousarray(edges.transpose(1, 2, 0))  # [src, dst, cell]
    interior = labels >= 0
    is_output = labels == OUTPUT
    last = (labels != PAD).sum(axis=0) - 1
    feeds = interior & edges[:, last, np.arange(labels.shape[1])]
    kernel_area = np.zeros(labels.shape, dtype=np.int64)
    for label, area in _KERNEL_AREA.items():
        kernel_area[labels == label] = area
    projected = edges[0].astype(np.int64)
    # Interior vertices sum all their inputs; the output sums the concatenation (when an
    # interior vertex feeds it) and the input projection (when the input does).
    summed = np.where(is_output, feeds.any(axis=0) + projected,
                      np.where(interior, edges.sum(axis=0), 0))
    return _Structure(
        feeds=feeds, is_output=is_output,
        feeder_rank=np.cumsum(feeds, axis=0) - 1,
        fan_in=np.maximum(feeds.sum(axis=0), 1),
        successors=edges & interior[:, None, :] & interior[None, :, :],
        kernel_area=kernel_area, conv_bn=2 * (kernel_area > 0), pool=9 * (labels == MAXPOOL3X3),
        projected=projected, additions=np.maximum(summed - 1, 0))


def _widths(structure: _Structure, out_channels: int) -> np.ndarray:
    """:func:`vertex_channels` of a chunk at once, int64 ``(7, n)``; the input slot is left 0
    (it costs nothing; the module's ``in_channels`` enter through the projections)."""
    fan_in = structure.fan_in
    channels = np.where(structure.feeds, out_channels // fan_in
                        + (structure.feeder_rank < out_channels % fan_in), 0)
    for v in range(V - 2, 0, -1):  # successors first: they are later vertices
        widest = np.where(structure.successors[v], channels, 0).max(axis=0)
        channels[v] = np.where(structure.feeds[v], channels[v], widest)
    return np.where(structure.is_output, out_channels, channels)


def batch_vertex_channels(matrices, labels, in_channels: int, out_channels: int) -> np.ndarray:
    """:func:`vertex_channels` of every cell of a padded batch: int64 ``(N, 7)``, 0 on
    padding slots."""
    edges, labels = check_batch(matrices, labels)
    channels = _widths(_structure(edges, labels), out_channels).T.copy()
    channels[:, 0] = in_channels
    return channels


def _module_costs(structure: _Structure, widths: np.ndarray, shape: ModuleShape
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex FLOPs and params ``(7, n)`` of one module (see the module docstring)."""
    s, c = structure, widths
    flops = shape.size * shape.size * c * (
        2 * s.kernel_area * c + s.pool + 2 * shape.in_channels * s.projected + s.additions)
    params = c * (s.kernel_area * c + s.conv_bn + s.projected * (shape.in_channels + 2))
    return flops, params


#: Cells per chunk of the analytic counts: a chunk's temporaries stay small and are reused.
_CHUNK = 16384


def _costs_by_module(matrices, labels, skeleton: Skeleton):
    """Yield ``(cell slice, module index, flops (7, n), params (7, n))`` for every module of
    every chunk of a padded batch."""
    edges, labels = check_batch(matrices, labels)
    for start in range(0, len(labels), _CHUNK):
        cells = slice(start, start + _CHUNK)
        structure = _structure(edges[cells], labels[cells])
        widths: dict[int, np.ndarray] = {}
        for k, shape in enumerate(skeleton.modules):
            if shape.out_channels not in widths:  # 3 distinct widths in the benchmark
                widths[shape.out_channels] = _widths(structure, shape.out_channels)
            yield (cells, k, *_module_costs(structure, widths[shape.out_channels], shape))


def cell_info_arrays(matrices, labels, skeleton: Skeleton = BENCHMARK
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex FLOPs and params of every module of many networks, analytically.

    ``matrices (N, 7, 7)`` and ``labels (N, 7)``: a padded batch (:func:`pad_cells`,
    :func:`cells_from_frame`, ``nar_utils.nb101.pack``). Returns ``flops, params``: int64
    ``(N, 9, 7)``, modules in :data:`MODULE_NAMES` order, vertex slots as in the batch (zeros
    on the input, on padding, and on the output unless the input feeds it). Vectorised: the
    423,624 cells of the space in about a second.
    """
    shape = (len(np.asarray(labels).reshape(-1, V)), len(skeleton.modules), V)
    flops, params = np.empty(shape, dtype=np.int64), np.empty(shape, dtype=np.int64)
    for cells, k, module_flops, module_params in _costs_by_module(matrices, labels, skeleton):
        flops[cells, k], params[cells, k] = module_flops.T, module_params.T
    return flops, params


def skeleton_costs(skeleton: Skeleton = BENCHMARK) -> dict[str, tuple[int, int]]:
    """(FLOPs, params) of what every network shares: stem, downsampling pools, global
    pooling and classifier."""
    c0, size = skeleton.stem_channels, skeleton.input_size
    costs = {"stem": (2 * 9 * IMAGE_CHANNELS * c0 * size * size,
                      9 * IMAGE_CHANNELS * c0 + 2 * c0)}
    shapes = skeleton.modules
    for k, shape in enumerate(shapes):
        if k > 0 and k % skeleton.modules_per_stack == 0:
            costs[f"downsample{k // skeleton.modules_per_stack}"] = \
                (4 * shape.in_channels * shape.size * shape.size, 0)
    last, classes = shapes[-1], skeleton.num_classes
    costs["global_pool"] = (last.out_channels * last.size * last.size, 0)
    costs["classifier"] = (2 * last.out_channels * classes + classes,
                           last.out_channels * classes + classes)
    return costs


def network_totals(matrices, labels, skeleton: Skeleton = BENCHMARK
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Total FLOPs and trainable parameters of whole networks: int64 ``(N,)`` each.

    The parameter total equals :func:`count_parameters` of :func:`build_network` and the
    benchmark's ``params`` column.
    """
    costs = skeleton_costs(skeleton).values()
    count = len(np.asarray(labels).reshape(-1, V))
    total_flops = np.full(count, sum(f for f, _ in costs), dtype=np.int64)
    total_params = np.full(count, sum(p for _, p in costs), dtype=np.int64)
    for cells, _, module_flops, module_params in _costs_by_module(matrices, labels, skeleton):
        total_flops[cells] += module_flops.sum(axis=0)
        total_params[cells] += module_params.sum(axis=0)
    return total_flops, total_params


def cell_info(matrix, labels: Sequence[int], skeleton: Skeleton = BENCHMARK
              ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cell_info_arrays` of one unpadded cell: ``(flops, params)`` int64 ``(9, 7)``."""
    flops, params = cell_info_arrays(*pad_cells([matrix], [labels]), skeleton)
    return flops[0], params[0]


# -- counts by tracing a real network --------------------------------------------------------
class TracedCellInfo(NamedTuple):
    """What :func:`traced_cell_info` measures on one network."""

    flops: np.ndarray  # (9, 7) int64, padded slots
    params: np.ndarray  # (9, 7) int64
    total_flops: int
    total_params: int


def _module_flops(module: nn.Module, inputs, output: torch.Tensor) -> int:
    """FLOPs of one call of a leaf module, batch of one, under the module docstring's rule."""
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        return 2 * output.numel() * k * module.in_channels // module.groups
    if isinstance(module, nn.MaxPool2d):
        size = module.kernel_size
        return output.numel() * (size * size if isinstance(size, int) else math.prod(size))
    if isinstance(module, Sum):
        return (len(inputs) - 1) * output.numel()
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return inputs.numel()
    if isinstance(module, nn.Linear):
        return output.numel() * (2 * module.in_features + (module.bias is not None))
    if isinstance(module, (nn.BatchNorm2d, nn.ReLU)):
        return 0
    raise TypeError(f"no FLOPs rule for module {type(module).__name__}; extend _module_flops")


def traced_cell_info(matrix, labels: Sequence[int], skeleton: Skeleton = BENCHMARK,
                     device: str | torch.device = "cpu") -> TracedCellInfo:
    """Count FLOPs and params by running the real network once (one zero image) with forward
    hooks on its leaf modules, and by walking its parameters.

    Independent of :func:`cell_info_arrays` (it knows no widths, only the modules built), so
    the two agreeing checks both.
    """
    network = build_network(matrix, labels, device=device, skeleton=skeleton).eval()
    flops = np.zeros((len(skeleton.modules), V), dtype=np.int64)
    params = np.zeros_like(flops)
    total = [0]

    def slot(name: str) -> tuple[int, int] | None:
        parts = name.split(".")
        if len(parts) > 3 and parts[0] == "cells" and parts[2] == "vertices":
            return int(parts[1]), int(parts[3])
        return None

    def hook(module, args, output, name):
        count = _module_flops(module, args[0], output)
        total[0] += count
        where = slot(name)
        if where is not None:
            flops[where] += count

    handles = [module.register_forward_hook(lambda m, a, o, name=name: hook(m, a, o, name))
               for name, module in network.named_modules()
               if next(module.children(), None) is None]
    size = skeleton.input_size
    try:
        with torch.no_grad():
            network(torch.zeros(1, IMAGE_CHANNELS, size, size, device=device))
    finally:
        for handle in handles:
            handle.remove()
    for name, parameter in network.named_parameters():
        where = slot(name)
        if where is not None:
            params[where] += parameter.numel()
    return TracedCellInfo(flops, params, total[0], count_parameters(network))


# -- the NAR authors' JSON layout ------------------------------------------------------------
#: Fields of a NAR record that the NB101 tables cannot fill (written as null).
NULL_FIELDS: tuple[str, ...] = ("avg_train_accuracy", "avg_test_accuracy")
#: NAR record field -> table column it is read from when the frame has it (else null).
TABLE_FIELDS: dict[str, str] = {"avg_training_time": "train_time_108",
                                "avg_validation_accuracy": "val_acc_108"}


def _frame_costs(frame: pd.DataFrame):
    matrices, labels = cells_from_frame(frame)
    flops, params = cell_info_arrays(matrices, labels)
    costs = skeleton_costs().values()
    total_flops = sum(f for f, _ in costs) + flops.sum(axis=(1, 2))
    total_params = sum(p for _, p in costs) + params.sum(axis=(1, 2))
    return matrices, labels, flops, params, total_flops, total_params


def nar_records(frame: pd.DataFrame) -> Iterator[dict]:
    """Yield one record per row of an NB101 table, in the NAR authors' layout (keys and key
    order of their example record); see :func:`to_nar_json` for the fields."""
    if "hash" not in frame.columns:
        raise KeyError(f"frame lacks the 'hash' column (columns: {list(frame.columns)})")
    matrices, labels, flops, params, total_flops, total_params = _frame_costs(frame)
    scalars = {}
    for field, column in TABLE_FIELDS.items():
        values = frame[column].to_numpy(dtype=np.float64) if column in frame else \
            np.full(len(frame), np.nan)
        scalars[field] = [float(v) if math.isfinite(v) else None for v in values.tolist()]
    hashes = frame["hash"].astype(str).tolist()
    for i in range(len(frame)):
        n = int((labels[i] != PAD).sum())
        yield {
            "module_adjacency": matrices[i, :n, :n].astype(int).tolist(),
            "module_operations": [LABEL_TO_OP[int(label)] for label in labels[i, :n]],
            "trainable_parameters": int(total_params[i]),
            "avg_training_time": scalars["avg_training_time"][i],
            "avg_train_accuracy": None,
            "avg_validation_accuracy": scalars["avg_validation_accuracy"][i],
            "avg_test_accuracy": None,
            "unique_hash": hashes[i],
            "vertex_flops": dict(zip(MODULE_NAMES, flops[i, :, :n].tolist(), strict=True)),
            "vertex_params": dict(zip(MODULE_NAMES, params[i, :, :n].tolist(),
                                           strict=True)),
            "flops": int(total_flops[i]),
        }


def to_nar_json(frame: pd.DataFrame, path: str | os.PathLike, indent: int | None = None) -> Path:
    """Write the cell-information dataset of an NB101 table as the NAR authors' JSON: a list
    of records, one per row, each with

    * ``module_adjacency`` (``n x n`` 0/1) and ``module_operations`` (op names);
    * ``trainable_parameters`` and ``flops``: network totals (:func:`network_totals`);
    * ``avg_training_time`` = ``train_time_108`` and ``avg_validation_accuracy`` =
      ``val_acc_108`` when the table has them (the 30k subset: one training run, not the
      authors' mean of three), else null;
    * ``avg_train_accuracy`` and ``avg_test_accuracy``: always null (no table holds them);
    * ``unique_hash``: the table's ``hash``;
    * ``vertex_flops`` and ``vertex_params``: ``{"stack0/module0": [n ints], ...}``, one
      number per vertex (:func:`cell_info_arrays` without the padding).

    ``indent=None`` (default) writes one compact line per record; an ``indent`` writes
    indented JSON. Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = nar_records(frame)
    with open(path, "w", encoding="utf-8") as handle:
        if indent is not None:
            json.dump(list(records), handle, indent=indent, allow_nan=False)
            handle.write("\n")
            return path
        handle.write("[")
        handle.writelines(("," if k else "") + "\n"
                          + json.dumps(record, separators=(",", ":"), allow_nan=False)
                          for k, record in enumerate(records))
        handle.write("\n]\n")
    return path


def read_nar_json(path: str | os.PathLike) -> list[dict]:
    """Read an NB101 cell-information JSON (ours or the authors'): a list of records."""
    with open(path, encoding="utf-8") as handle:
        records = json.load(handle)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: not an NB101 cell-information JSON (expected a list of "
                         "records)")
    return records


def nar_arrays(records: Sequence[Mapping]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(hashes, flops, params)`` from NAR records, per-vertex lists padded into int64
    ``(N, 9, 7)`` (vertices at their index, zeros after the output)."""
    for i, record in enumerate(records):
        missing = [key for key in ("vertex_flops", "vertex_params") if key not in record]
        if missing:
            raise KeyError(f"record {i} lacks {missing}; record keys: {sorted(record)}")
    flops = pad_vertex_lists([r["vertex_flops"] for r in records], MODULE_NAMES)
    params = pad_vertex_lists([r["vertex_params"] for r in records], MODULE_NAMES)
    return [str(r.get("unique_hash")) for r in records], flops, params


# -- a parquet table -------------------------------------------------------------------------
#: Columns :func:`cellinfo_frame` computes (a frame's own columns of these names are replaced).
COMPUTED_COLUMNS: tuple[str, ...] = ("params", "flops", "vertex_flops", "vertex_params")


def cellinfo_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The cell-information dataset as a DataFrame, one row per row of the NB101 table.

    Keeps the table's columns (``hash``, ``num_vertices``, ``adjacency``, ``ops_labels``,
    accuracies, ...) and adds ``params``, ``flops`` (network totals, int64) and
    ``vertex_flops``, ``vertex_params``: 63 int64 per row, the ``(9, 7)`` padded array
    flattened module-major (:func:`frame_arrays` restores it).
    """
    _, _, flops, params, total_flops, total_params = _frame_costs(frame)
    out = frame.drop(columns=[c for c in COMPUTED_COLUMNS if c in frame.columns])
    out = out.reset_index(drop=True)
    out["params"] = total_params
    out["flops"] = total_flops
    out["vertex_flops"] = list(flops.reshape(len(frame), -1))
    out["vertex_params"] = list(params.reshape(len(frame), -1))
    return out


def frame_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(flops, params)`` int64 ``(N, 9, 7)`` from a :func:`cellinfo_frame` table."""
    out = []
    for column in ("vertex_flops", "vertex_params"):
        if column not in frame.columns:
            raise KeyError(f"frame has no column {column!r}; build it with cellinfo_frame "
                           f"(columns: {list(frame.columns)})")
        values = np.stack(frame[column].to_numpy()) if len(frame) else \
            np.zeros((0, NUM_MODULES * V))
        out.append(values.astype(np.int64).reshape(-1, NUM_MODULES, V))
    return out[0], out[1]


def write_cellinfo(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write :func:`cellinfo_frame` of an NB101 table as zstd-compressed parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cellinfo_frame(frame).to_parquet(path, compression="zstd", index=False)
    return path


def read_cellinfo(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_cellinfo`."""
    return pd.read_parquet(path)
