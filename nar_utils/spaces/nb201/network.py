"""The NAS-Bench-201 network: one searched cell repeated inside a fixed macro skeleton.

Every architecture of NAS-Bench-201 is the same skeleton around a different cell::

    input (3 x S x S)
      stem        3x3 conv (3 -> C) + BN
      stage 1     N cells, C channels, S x S           cells.0 .. cells.N-1
      reduction   residual block C -> 2C, stride 2     cells.N
      stage 2     N cells, 2C channels, S/2 x S/2      cells.N+1 .. cells.2N
      reduction   residual block 2C -> 4C, stride 2    cells.2N+1
      stage 3     N cells, 4C channels, S/4 x S/4      cells.2N+2 .. cells.3N+1
      head        BN, ReLU, global average pooling, linear classifier

with ``C = 16`` and ``N = 5`` in the benchmark, so the searched cells sit at positions 0-4,
6-10 and 12-16 of ``cells`` and the reduction blocks at 5 and 11. Inputs are 32 x 32 for
CIFAR and 16 x 16 for ImageNet16-120; the classifier has 10, 100 or 120 outputs.

A cell is a DAG on 4 nodes: node 0 is the cell input, node ``j`` is the sum of its incoming
edges, node 3 is the cell output. Each of the 6 edges (in arch-string order,
:data:`nar_utils.spaces.nb201.EDGES`) applies one operation, widths unchanged:

* ``none``: zeros (no parameters);
* ``skip_connect``: identity;
* ``nor_conv_1x1`` / ``nor_conv_3x3``: ReLU, convolution (no bias, 'same' padding), BN;
* ``avg_pool_3x3``: 3x3 average pooling, stride 1, padding 1, padded zeros not counted.

The reduction block is the benchmark's ResNet basic block: ReLU-Conv3x3(stride 2)-BN then
ReLU-Conv3x3-BN on the main path, 2x2 average pooling then a 1x1 convolution on the shortcut,
the two summed. Every batch norm has a learnable scale and shift (``affine=True``); with them
the trainable parameter count equals the benchmark's ``params`` figure (arch 0: 129,306 on
CIFAR-10, i.e. 0.129306 "MB") for 15,475 of the 15,625 cells; for the other 150 the
benchmark's 200-epoch cost record holds another network's count (a known fault of the
benchmark files, NATS-Bench issue 36). Edges are built even where their output cannot reach
the cell output, as the benchmark builds them, so their parameters count too.

References:
  X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
  Architecture Search", ICLR 2020 (macro skeleton, operations; Fig. 1).
  K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition",
  CVPR 2016 (the basic residual block).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from nar_utils.spaces.base import as_index, quote
from nar_utils.spaces.nb201 import space

#: Official dataset name -> (number of classes, input height = width).
DATASET_SHAPES: dict[str, tuple[int, int]] = {
    "cifar10-valid": (10, 32),
    "cifar10": (10, 32),
    "cifar100": (100, 32),
    "ImageNet16-120": (120, 16),
}
IMAGE_CHANNELS = 3
NUM_STAGES = 3
DEFAULT_CHANNELS = 16  # C of the benchmark
DEFAULT_CELLS_PER_STAGE = 5  # N of the benchmark


def check_dataset(dataset: str) -> str:
    """Return ``dataset`` if it is an official NB201 name, else raise naming the valid ones."""
    if dataset not in DATASET_SHAPES:
        raise ValueError(f"unknown dataset {dataset!r}; valid (official names, never "
                         f"remapped): {', '.join(DATASET_SHAPES)}")
    return dataset


@dataclass
class NetworkConfig:
    """What defines one NB201 network; defaults = the benchmark's skeleton.

    ``arch`` takes an arch string, a 6-digit op code or 6 op codes; it is stored as the
    official arch string.
    """

    arch: str | Sequence[int]  # the cell: arch string, 6-digit op code or 6 op codes
    dataset: str = "cifar10-valid"  # official name: sets classes and input size
    channels: int = DEFAULT_CHANNELS  # C: width of stage 1 (stages are C, 2C, 4C)
    cells_per_stage: int = DEFAULT_CELLS_PER_STAGE  # N: searched cells per stage
    classes: int | None = None  # output classes; None: the dataset's (a proxy sets its own)
    image_size: int | None = None  # input height = width; None: the dataset's

    def __post_init__(self) -> None:
        self.arch = space.format_arch_str(self.arch)  # validates and normalises
        check_dataset(self.dataset)
        for name in ("channels", "cells_per_stage", "classes", "image_size"):
            value = getattr(self, name)
            if value is None and name in ("classes", "image_size"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NetworkConfig.{name} must be a positive int, got {value!r}")

    @property
    def op_codes(self) -> tuple[int, ...]:
        """The cell's 6 op codes in arch-string edge order."""
        return space.parse_arch_str(self.arch)

    @property
    def num_classes(self) -> int:
        return self.classes or DATASET_SHAPES[self.dataset][0]

    @property
    def input_size(self) -> int:
        """Height (= width) of the input images."""
        return self.image_size or DATASET_SHAPES[self.dataset][1]

    @property
    def stage_channels(self) -> tuple[int, ...]:
        return tuple(self.channels * 2**stage for stage in range(NUM_STAGES))

    @property
    def searched_cell_positions(self) -> tuple[int, ...]:
        """Positions of the searched cells in ``NB201Network.cells`` (0-4, 6-10, 12-16)."""
        n = self.cells_per_stage
        return tuple(stage * (n + 1) + k for stage in range(NUM_STAGES) for k in range(n))


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution without bias ('same' padding for stride 1), batch norm.

    ``affine`` and ``track_running_stats`` are the batch norm's (the benchmark's networks:
    both on; weight-sharing supernets set them as their search recipes ask)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                      padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine,
                           track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The 'none' operation: an all-zero tensor of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def make_operation(op_code: int, channels: int, affine: bool = True,
                   track_running_stats: bool = True) -> nn.Module:
    """The module of one cell edge (``op_code`` indexes :data:`nar_utils.spaces.nb201.OPS`);
    ``affine`` and ``track_running_stats`` go to the convolutions' batch norms."""
    code = space._op_value(op_code, 0) if not isinstance(op_code, str) else -1
    name = space.OPS[code] if 0 <= code < space.NUM_OPS else None
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, affine=affine,
                          track_running_stats=track_running_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, affine=affine,
                          track_running_stats=track_running_stats)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"op code {quote(op_code)} is out of range 0..{space.NUM_OPS - 1} "
                     f"({', '.join(space.OPS)})")


class Cell(nn.Module):
    """A searched cell: ``edges[k]`` is the operation on ``spaces.EDGES[k]``."""

    def __init__(self, op_codes: Sequence[int], channels: int):
        super().__init__()
        self.edges = nn.ModuleList(make_operation(code, channels) for code in op_codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for dst in range(1, space.NUM_NODES):
            # EDGES is grouped by destination, so every source node already exists here.
            nodes.append(sum(edge(nodes[src]) for edge, (src, d) in
                             zip(self.edges, space.EDGES) if d == dst))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """The benchmark's residual block between stages: halves the size, changes the width."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, stride=2)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


def skeleton(widths: Sequence[int], cells_per_stage: int, num_classes: int,
             make_cell) -> tuple[nn.Module, nn.ModuleList, nn.Module, nn.Module, nn.Module]:
    """The benchmark's macro skeleton around ``make_cell(width)``: ``(stem, cells, head,
    global_pool, classifier)``, the cells holding ``cells_per_stage`` searched cells per stage
    with a residual reduction between stages. Shared by the standalone network and the
    weight-sharing supernet, so that their modules (and parameter names) line up."""
    stem = nn.Sequential(
        nn.Conv2d(IMAGE_CHANNELS, widths[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(widths[0], affine=True),
    )
    cells: list[nn.Module] = []
    for stage, width in enumerate(widths):
        if stage > 0:
            cells.append(ResidualReduction(widths[stage - 1], width))
        cells.extend(make_cell(width) for _ in range(cells_per_stage))
    head = nn.Sequential(nn.BatchNorm2d(widths[-1], affine=True), nn.ReLU(inplace=False))
    return (stem, nn.ModuleList(cells), head, nn.AdaptiveAvgPool2d(1),
            nn.Linear(widths[-1], num_classes))


class NB201Network(nn.Module):
    """One NAS-Bench-201 network (see the module docstring for the layout)."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.config = config
        self.stem, self.cells, self.head, self.global_pool, self.classifier = skeleton(
            config.stage_channels, config.cells_per_stage, config.num_classes,
            lambda width: Cell(config.op_codes, width))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` images -> ``(B, num_classes)`` logits."""
        size = self.config.input_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (IMAGE_CHANNELS, size, size):
            raise ValueError(f"{self.config.dataset} networks take (B, {IMAGE_CHANNELS}, {size}, "
                             f"{size}) images, got shape {tuple(images.shape)}")
        x = self.stem(images)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pool(self.head(x)).flatten(1)
        return self.classifier(x)


#: The initialisation draws from torch's global generator (reseeded in a forked state): one
#: network at a time, so that networks built in threads at once get their seeds' weights.
_INIT_LOCK = threading.Lock()


def build_network(arch: str | Sequence[int], dataset: str = "cifar10-valid",
                  device: str | torch.device = "cpu", seed: int = 0,
                  **config_overrides) -> NB201Network:
    """Build the NB201 network of ``arch`` for ``dataset`` on ``device``.

    Weights are PyTorch's default initialisation drawn under ``torch.manual_seed(seed)``
    inside a forked RNG state, so the same seed gives the same weights and the caller's global
    RNG is left untouched. ``config_overrides`` go to :class:`NetworkConfig` (``channels``,
    ``cells_per_stage``, and ``classes`` / ``image_size`` for images other than the
    dataset's, such as a proxy).
    """
    config = NetworkConfig(arch=arch, dataset=dataset, **config_overrides)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = NB201Network(config)
    return network.to(torch.device(device))


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``module``, as the benchmark counts them."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def param_counts(dataset: str, op_codes, channels: int = DEFAULT_CHANNELS,
                 cells_per_stage: int = DEFAULT_CELLS_PER_STAGE) -> np.ndarray:
    """Trainable parameters of the networks of many cells, computed without building them.

    ``op_codes``: ``(N, 6)`` op codes (or anything :func:`nar_utils.spaces.nb201.op_codes_array`
    takes). Returns int64 ``(N,)``; equals :func:`count_parameters` of
    :func:`build_network` for every cell.
    """
    num_classes, _ = DATASET_SHAPES[check_dataset(dataset)]
    codes = as_op_codes(op_codes)
    channels = as_index(channels, "channels")
    cells_per_stage = as_index(cells_per_stage, "cells_per_stage")
    widths = [channels * 2**stage for stage in range(NUM_STAGES)]
    # Skeleton: stem conv + BN; per reduction two 3x3 convs + 2 BNs + the 1x1 shortcut conv;
    # head BN; classifier weight + bias.
    fixed = IMAGE_CHANNELS * 9 * widths[0] + 2 * widths[0]
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        fixed += 9 * c_in * c_out + 9 * c_out * c_out + 4 * c_out + c_in * c_out
    fixed += 2 * widths[-1] + widths[-1] * num_classes + num_classes
    num_conv1 = (codes == space.OP_CODE["nor_conv_1x1"]).sum(axis=1).astype(np.int64)
    num_conv3 = (codes == space.OP_CODE["nor_conv_3x3"]).sum(axis=1).astype(np.int64)
    per_cell = sum(num_conv1 * (c * c + 2 * c) + num_conv3 * (9 * c * c + 2 * c)
                   for c in widths)
    return fixed + cells_per_stage * per_cell


def as_op_codes(op_codes) -> np.ndarray:
    """Validate many cells as an ``(N, 6)`` int8 array of op codes 0..4.

    Takes an integer array / nested list of shape ``(N, 6)``, a single row of 6, or a list of
    arch strings / 6-digit op-code strings.
    """
    if isinstance(op_codes, (str, bytes)):
        raise TypeError(f"expected many cells, got one string {quote(op_codes)}; wrap it in a "
                        "list")
    array = np.asarray(op_codes)
    if array.dtype.kind in "iu":
        if array.ndim == 1 and array.shape[0] == space.NUM_EDGES:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != space.NUM_EDGES:
            raise ValueError(f"op codes must have shape (N, {space.NUM_EDGES}), got "
                             f"{array.shape}")
        if array.size and (array.min() < 0 or array.max() >= space.NUM_OPS):
            bad = array[(array < 0) | (array >= space.NUM_OPS)][0]
            raise ValueError(f"op code {bad} is out of range 0..{space.NUM_OPS - 1} "
                             f"({', '.join(space.OPS)})")
        return array.astype(np.int8, copy=False)
    return space.op_codes_array(list(op_codes))
