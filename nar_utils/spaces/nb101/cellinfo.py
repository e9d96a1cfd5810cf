"""NAS-Bench-101 cell information: FLOPs and parameters of every vertex of every module,
analytic (the whole space in seconds) or traced from a real network, and the NAR authors'
per-vertex JSON layout."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from nar_utils.spaces.nb101.network import (
    _KERNEL_AREA,
    BENCHMARK,
    IMAGE_CHANNELS,
    MODULE_NAMES,
    NUM_MODULES,
    ModuleShape,
    Skeleton,
    Sum,
    V,
    build_network,
    cells_from_frame,
    check_batch,
    count_parameters,
    pad_cells,
)
from nar_utils.spaces.nb101.space import (
    LABEL_TO_OP,
    MAX_VERTICES,
    MAXPOOL3X3,
    OUTPUT,
    PAD,
    as_index,
    quote,
)


class VertexListError(ValueError):
    """A per-vertex list that does not fit its cell; ``row``: the record it belongs to."""

    def __init__(self, message: str, row: int):
        super().__init__(message)
        self.row = row


def pad_vertex_lists(costs: Sequence[Mapping[str, Sequence[int]]], modules: Sequence[str],
                     num_vertices: Sequence[int],
                     names: Sequence[str] | None = None) -> np.ndarray:
    """Per-vertex values of each module (the NAR authors' layout: one dict per cell,
    ``{module: [value of vertex 0, 1, ...]}``) as int64 ``(N, len(modules), 7)``, zero-padded
    after each cell's last vertex.

    ``num_vertices[i]`` is the vertex count of cell ``i`` (``len(module_adjacency)``): each of
    its lists must hold exactly that many values, one per vertex. A shorter or longer list is
    refused rather than padded or cut, since its values would land on the wrong vertices.
    Values must be non-negative integers (not floats, booleans or strings, which ``int64``
    would truncate or reinterpret).

    Errors name the first bad record (``names[i]``, default ``record i``), the module and the
    expected length: KeyError for a missing module, :class:`VertexListError` (a ValueError,
    with the record's position as ``row``) for a list or value that does not fit.
    """
    if len(num_vertices) != len(costs):
        raise ValueError(f"got {len(num_vertices)} vertex counts for {len(costs)} records; give "
                         "one per record")
    sizes = np.array([as_index(n, f"num_vertices[{row}]") for row, n in
                      enumerate(num_vertices)], dtype=np.int64).reshape(-1)
    out = np.zeros((len(costs), len(modules), MAX_VERTICES), dtype=np.int64)
    bad = np.flatnonzero((sizes < 2) | (sizes > MAX_VERTICES))
    if len(bad):
        raise ValueError(f"num_vertices[{bad[0]}] is {sizes[bad[0]]}; NB101 cells have 2 to "
                         f"{MAX_VERTICES} vertices")
    for start in range(0, len(costs), _PAD_CHUNK):  # chunks bound the temporary lists
        stop = min(start + _PAD_CHUNK, len(costs))
        out[start:stop] = _pad_chunk(costs, modules, sizes, names, start, stop)
    return out


#: Records per chunk of :func:`pad_vertex_lists`.
_PAD_CHUNK = 16384


def _pad_chunk(costs, modules, sizes: np.ndarray, names, start: int, stop: int) -> np.ndarray:
    def name(row: int) -> str:
        return f"record {row}" if names is None else str(names[row])

    flat: list = []
    for row in range(start, stop):
        per_module, n = costs[row], int(sizes[row])
        if not isinstance(per_module, Mapping):
            raise VertexListError(f"{name(row)}: per-vertex values must be a dict {{module: "
                                  f"[one value per vertex]}}, got {quote(per_module)}", row)
        for module in modules:
            if module not in per_module:
                raise KeyError(f"{name(row)} has no values for module {quote(module)}; it "
                               f"lists {quote(sorted(map(str, per_module)))}")
            values = per_module[module]
            if not isinstance(values, (list, tuple)) or len(values) != n:
                what = (f"lists {len(values)} values" if isinstance(values, (list, tuple))
                        else f"holds {quote(values)}")
                raise VertexListError(f"{name(row)} {what} for {module}; expected a list of "
                                      f"{n} values, one per vertex of its {n}-vertex cell", row)
            flat.extend(values)
    types = set(map(type, flat))
    array = None
    if all(issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_))
           for t in types):
        try:
            array = np.array(flat, dtype=np.int64)
        except OverflowError:
            array = None
    if array is None or (array < 0).any():
        _refuse_vertex_value(costs, modules, sizes, name, start, stop)
    chunk = sizes[start:stop]
    per_record = chunk * len(modules)
    record = np.repeat(np.arange(stop - start), per_record)
    offset = np.arange(len(record)) - np.repeat(np.cumsum(per_record) - per_record, per_record)
    out = np.zeros((stop - start, len(modules), MAX_VERTICES), dtype=np.int64)
    out[record, offset // chunk[record], offset % chunk[record]] = array
    return out


def _refuse_vertex_value(costs, modules, sizes, name, start: int, stop: int) -> None:
    """Raise for the first per-vertex value that is not a non-negative int64 (error path)."""
    for row in range(start, stop):
        for module in modules:
            for vertex, value in enumerate(costs[row][module]):
                ok = isinstance(value, (int, np.integer)) \
                    and not isinstance(value, (bool, np.bool_)) and 0 <= value < 2 ** 63
                if not ok:
                    raise VertexListError(f"{name(row)}, {module}, vertex {vertex}: "
                                          f"{quote(value)} is not a count (a non-negative "
                                          "integer below 2**63); per-vertex values are FLOPs "
                                          "or parameters", row)
    raise AssertionError("no bad value found")  # pragma: no cover - the caller found one


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
    in_channels = as_index(in_channels, "in_channels")
    out_channels = as_index(out_channels, "out_channels")
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
    :func:`cells_from_frame`, ``nar_utils.spaces.nb101.pack``). Returns ``flops, params``: int64
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
    ``(N, 9, 7)`` (vertices at their index, zeros after the output); each list must hold one
    value per vertex of the record's ``module_adjacency`` (see :func:`pad_vertex_lists`)."""
    for i, record in enumerate(records):
        missing = [key for key in ("module_adjacency", "vertex_flops", "vertex_params")
                   if key not in record]
        if missing:
            raise KeyError(f"record {i} lacks {missing}; record keys: "
                           f"{quote(sorted(record))}")
    # One value per vertex: the lists must be as long as the cell's adjacency matrix.
    sizes = [len(r["module_adjacency"]) for r in records]
    flops = pad_vertex_lists([r["vertex_flops"] for r in records], MODULE_NAMES, sizes)
    params = pad_vertex_lists([r["vertex_params"] for r in records], MODULE_NAMES, sizes)
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
