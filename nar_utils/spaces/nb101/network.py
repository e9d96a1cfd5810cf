"""The NAS-Bench-101 network and the per-vertex FLOPs and parameters of its modules.

Every architecture of NAS-Bench-101 is one cell (a DAG of at most 7 vertices, see
:mod:`nar_utils.spaces.nb101`) copied into the 9 modules of a fixed CIFAR-10 skeleton::

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
``nar_utils.spaces.nb101.pack``). Per-vertex costs, ``(N, 9, 7)``, use the same slots (zeros after
the output); modules in :data:`MODULE_NAMES` order. The NAR JSON lists (:func:`to_nar_json`)
hold ``n`` numbers per module, one per vertex, as ``module_adjacency`` is ``n x n``; the
authors' own feature encoder pads those by moving the output to slot 6, unlike this layout.

References:
  C. Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
  ICML 2019 (network skeleton, channel rule; Sec. 2 and its supplement).
  Y. Guo et al., "Neural Architecture Ranker", arXiv 2201.12725 (cell information).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from nar_utils.spaces.nb101.space import (
    CONV1X1,
    CONV3X3,
    INPUT,
    LABEL_TO_OP,
    MAX_VERTICES,
    MAXPOOL3X3,
    OUTPUT,
    PAD,
    _labels_of,
    as_index,
    pack_strings,
    quote,
)

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
                raise ValueError(f"Skeleton.{name} must be a positive int, got {quote(value)}")
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
    first, e.g. with ``nar_utils.spaces.nb101``, if not).
    """
    matrix = np.asarray(matrix)
    labels = _labels_of(labels)  # ints (or names); a float or bool label is refused
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
    in_channels = as_index(in_channels, "in_channels")
    out_channels = as_index(out_channels, "out_channels")
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
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be an integer array (a row of a padded batch), got dtype "
                        f"{labels.dtype}")
    n = int((labels != PAD).sum())
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
    by :func:`nar_utils.spaces.nb101.pack_strings` (about a second for the 423,624 cells of the
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
    seed = as_index(seed, "seed")  # torch.manual_seed would truncate 3.7 to 3
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


