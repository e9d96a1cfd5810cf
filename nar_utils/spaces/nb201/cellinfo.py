"""Cell information: FLOPs and parameters of every operation of every NB201 network.

NAR encodes an architecture with, for each of the 15 searched cells of its network, the
FLOPs and the parameters of the operation on each cell edge (its "cell information"
dataset). This module computes those numbers for all 15,625 cells, analytically and fast
(:func:`cell_info_arrays`, vectorised numpy), and, for checking, by tracing a real network
of :mod:`nar_utils.spaces.nb201.network` (:func:`traced_cell_info`); it writes them in the
NAR authors' JSON layout (:func:`to_nar_json`) and as a parquet table (:func:`write_cellinfo`).

Counting convention (derived from the authors' record of architecture 0, which it
reproduces number for number on all three datasets):

* **Batch of one image**, inference mode.
* **FLOPs are multiply-accumulates.** A convolution counts
  ``k * k * C_in / groups`` per output element (bias, if any, not counted): a 1x1
  convolution at 16 channels on 32 x 32 counts 16 * 16 * 1024 = 262,144. The classifier
  counts ``in * out`` (its bias is not counted).
* **Batch norm counts 2 per input element** (normalise, then scale and shift), 1 without
  a learnable affine. Cell edge 0->2 of arch 0 (``nor_conv_1x1``) on CIFAR: 262,144 + 2 *
  16 * 1024 = 294,912.
* **Global average pooling counts 1 per input element** (64 * 8 * 8 = 4,096 on CIFAR). The
  record alone cannot tell this term from one per output of the first reduction shortcut's
  2x2 pooling (16 * 16 * 16, also 4,096); as the cells' 3x3 pooling is free in the record,
  every ``AvgPool2d`` is taken as free and the global pooling as the counted reduction.
* **Zero cost**: ReLU, every ``AvgPool2d`` (the cells' 3x3 pooling and the 2x2 pooling on
  the reduction shortcut), identity (``skip_connect``), zeros (``none``) and the additions
  that form nodes and residual sums.
* **Parameters** are all trainable parameters, batch-norm scale and shift included
  (``nor_conv_1x1`` at 16 channels: 256 + 32 = 288).
* **Per-edge lists** follow the arch-string edge order of :data:`nar_utils.spaces.nb201.EDGES`,
  ``(0,1), (0,2), (1,2), (0,3), (1,3), (2,3)``: arch 0 ``421211`` has its two 1x1
  convolutions on edges 0->2 and 0->3, positions 1 and 3 of ``[0, 294912, 0, 294912, 0,
  0]`` (the row-major order of the adjacency matrix would put them at 1 and 2).
* **Cells** are named after their position in the network's cell list, ``cells0`` ..
  ``cells16``; 5 and 11 are the residual reduction blocks and are not listed per edge.
* **Totals** (``<dataset>_total_flops``, ``_total_params``) cover the whole network: stem
  (3x3 conv + BN), the 15 cells, the two reduction blocks (two ReLU-Conv3x3-BN plus the 1x1
  shortcut convolution), the head BN, global pooling and the classifier. Arch 0 on
  'cifar10-valid': 16,315,008 FLOPs and 129,306 parameters.

These rules coincide with the defaults of fvcore's ``FlopCountAnalysis`` with the network in
inference mode. They differ from the benchmark's own ``flops`` figures (15.64737 M for arch 0
on CIFAR-10), which count the convolutions and the classifier with its bias only: our total
minus 663,552 batch-norm and 4,096 pooling operations, plus 10 biases.

'cifar10' and 'cifar10-valid' train the same network, so their numbers are equal.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from nar_utils.spaces.base import as_index
from nar_utils.spaces.nb201 import network, space

#: The 15 searched cells, in network order (5 and 11 are the reduction blocks).
CELL_POSITIONS: tuple[int, ...] = network.NetworkConfig("000000").searched_cell_positions
CELL_NAMES: tuple[str, ...] = tuple(f"cells{p}" for p in CELL_POSITIONS)
NUM_CELLS = len(CELL_NAMES)
NUM_EDGES = space.NUM_EDGES
REDUCTION_NAMES: tuple[str, ...] = tuple(
    f"cells{p}" for p in range(max(CELL_POSITIONS)) if p not in CELL_POSITIONS)
#: Datasets of the NAR authors' file.
NAR_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar100", "ImageNet16-120")

#: NAR record key -> (dataset, metric) read from the benchmark with ``bench.column``.
ACCURACY_FIELDS: dict[str, tuple[str, str]] = {
    "cifar10_val_acc": ("cifar10-valid", "valid-accuracy"),
    "cifar10_test_acc": ("cifar10", "test-accuracy"),
    "cifar100_val_acc": ("cifar100", "valid-accuracy"),
    "cifar100_test_acc": ("cifar100", "test-accuracy"),
    "imagenet16_val_acc": ("ImageNet16-120", "valid-accuracy"),
    "imagenet16_test_acc": ("ImageNet16-120", "test-accuracy"),
}
LATENCY_FIELDS: dict[str, tuple[str, str]] = {
    "cifar10_latency": ("cifar10-valid", "latency"),
    "cifar100_latency": ("cifar100", "latency"),
    "imagenet16_latency": ("ImageNet16-120", "latency"),
}

_CONV1, _CONV3 = space.OP_CODE["nor_conv_1x1"], space.OP_CODE["nor_conv_3x3"]


# -- analytic counts -----------------------------------------------------------------------
def _geometry(dataset: str) -> tuple[int, int, list[int], list[int]]:
    """(classes, input size, widths per stage, feature-map sizes per stage)."""
    num_classes, size = network.DATASET_SHAPES[network.check_dataset(dataset)]
    widths = [network.DEFAULT_CHANNELS * 2**stage for stage in range(network.NUM_STAGES)]
    sizes = [size // 2**stage for stage in range(network.NUM_STAGES)]
    return num_classes, size, widths, sizes


def _relu_conv_bn(c_in: int, c_out: int, kernel: int, out_size: int) -> tuple[int, int]:
    area = out_size * out_size
    flops = kernel * kernel * c_in * c_out * area + 2 * c_out * area
    return flops, kernel * kernel * c_in * c_out + 2 * c_out


def op_cost_tables(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """FLOPs and params of each operation in each searched cell: two int64 ``(15, 5)``
    tables indexed by ``[cell, op_code]``."""
    _, _, widths, sizes = _geometry(dataset)
    flops = np.zeros((NUM_CELLS, space.NUM_OPS), dtype=np.int64)
    params = np.zeros_like(flops)
    cells_per_stage = network.DEFAULT_CELLS_PER_STAGE
    for k in range(NUM_CELLS):
        width, size = widths[k // cells_per_stage], sizes[k // cells_per_stage]
        for code, kernel in ((_CONV1, 1), (_CONV3, 3)):
            flops[k, code], params[k, code] = _relu_conv_bn(width, width, kernel, size)
    return flops, params


def skeleton_costs(dataset: str) -> dict[str, tuple[int, int]]:
    """(FLOPs, params) of the parts every network shares: stem, the two reduction blocks
    (``cells5``, ``cells11``), head batch norm, global pooling, classifier."""
    num_classes, size, widths, sizes = _geometry(dataset)
    area = size * size
    costs = {"stem": (9 * network.IMAGE_CHANNELS * widths[0] * area + 2 * widths[0] * area,
                      9 * network.IMAGE_CHANNELS * widths[0] + 2 * widths[0])}
    for name, stage in zip(REDUCTION_NAMES, (1, 2)):
        c_in, c_out, out = widths[stage - 1], widths[stage], sizes[stage]
        conv_a = _relu_conv_bn(c_in, c_out, 3, out)
        conv_b = _relu_conv_bn(c_out, c_out, 3, out)
        shortcut = (c_in * c_out * out * out, c_in * c_out)  # the 2x2 pooling counts 0
        costs[name] = (conv_a[0] + conv_b[0] + shortcut[0], conv_a[1] + conv_b[1] + shortcut[1])
    last = widths[-1] * sizes[-1] * sizes[-1]
    costs["head_bn"] = (2 * last, 2 * widths[-1])
    costs["global_pool"] = (last, 0)
    costs["classifier"] = (widths[-1] * num_classes, widths[-1] * num_classes + num_classes)
    return costs


def cell_info_arrays(dataset: str, op_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-operation FLOPs and params of the 15 searched cells of many network.

    ``op_codes``: ``(N, 6)`` op codes in arch-string edge order (e.g. ``bench.op_codes`` or
    :func:`nar_utils.spaces.nb201.all_op_codes`). Returns ``flops, params``: int64 ``(N, 15, 6)``,
    cell axis in :data:`CELL_NAMES` order, edge axis in :data:`nar_utils.spaces.nb201.EDGES` order.
    """
    codes = network.as_op_codes(op_codes).astype(np.intp)
    flop_table, param_table = op_cost_tables(dataset)
    cells = np.arange(NUM_CELLS)[None, :, None]
    return flop_table[cells, codes[:, None, :]], param_table[cells, codes[:, None, :]]


def network_totals(dataset: str, op_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FLOPs and params of whole networks (stem, cells, reductions, head): int64 ``(N,)``."""
    codes = network.as_op_codes(op_codes).astype(np.intp)
    flop_table, param_table = op_cost_tables(dataset)
    fixed_flops, fixed_params = (sum(v) for v in zip(*skeleton_costs(dataset).values()))
    # Sum over cells first: (15, 5) -> (5,), then look up the 6 edges.
    total_flops = fixed_flops + flop_table.sum(axis=0)[codes].sum(axis=1)
    total_params = fixed_params + param_table.sum(axis=0)[codes].sum(axis=1)
    return total_flops.astype(np.int64), total_params.astype(np.int64)


def official_flops(dataset: str, op_codes: np.ndarray) -> np.ndarray:
    """FLOPs of whole networks under NAS-Bench-201's own convention: float64 ``(N,)``, in
    FLOPs (divide by 1e6 for the benchmark's 'flops' in M).

    The benchmark's counter (AutoDL-Projects ``get_model_infos``) sums the multiply-
    accumulates of convolutions and of the classifier, the classifier's bias included, and
    nothing else: no batch norm, pooling or ReLU. The book's convention
    (:func:`network_totals`, NAR's per-operation records) also counts batch norms (2 per
    element) and the global pooling and leaves out the classifier's bias, so its totals are
    higher. Both are exact counts; they name different things.
    """
    codes = network.as_op_codes(op_codes).astype(np.intp)
    num_classes, size, widths, sizes = _geometry(dataset)
    fixed = 9 * network.IMAGE_CHANNELS * widths[0] * size * size
    for stage in (1, 2):
        c_in, c_out, area = widths[stage - 1], widths[stage], sizes[stage] ** 2
        fixed += (9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out) * area
    fixed += widths[-1] * num_classes + num_classes
    per_code = np.zeros(space.NUM_OPS)
    for width, out in zip(widths, sizes):
        per_code[_CONV1] += network.DEFAULT_CELLS_PER_STAGE * width * width * out * out
        per_code[_CONV3] += network.DEFAULT_CELLS_PER_STAGE * 9 * width * width * out * out
    return (fixed + per_code[codes].sum(axis=1)).astype(np.float64)


# -- counts by tracing a real network ------------------------------------------------------
class TracedCellInfo(NamedTuple):
    """What :func:`traced_cell_info` measures on one network."""

    flops: np.ndarray  # (15, 6) int64
    params: np.ndarray  # (15, 6) int64
    total_flops: int
    total_params: int
    flops_by_module: dict[str, int]  # leaf module name -> FLOPs (non-zero ones)


def _module_flops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """FLOPs of one leaf module's call, under the convention of the module docstring."""
    if isinstance(module, nn.Conv2d):
        per_output = module.kernel_size[0] * module.kernel_size[1] * \
            module.in_channels // module.groups
        return output.numel() * per_output
    if isinstance(module, nn.BatchNorm2d):
        return inputs.numel() * (2 if module.affine else 1)
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return inputs.numel()
    if isinstance(module, (nn.ReLU, nn.AvgPool2d, nn.Identity, network.Zero)):
        return 0
    raise TypeError(f"no FLOPs rule for module {type(module).__name__}; extend _module_flops")


def module_flops(model: nn.Module, image_size: int) -> dict[str, int]:
    """FLOPs of every leaf module of ``model`` on one ``image_size`` x ``image_size`` image
    (by name), counted with forward hooks under this module's convention. The model runs
    once in evaluation mode, without gradients, on the device of its parameters."""
    flops_by_module: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:  # leaf
            def hook(mod, args, output, name=name):
                flops_by_module[name] = flops_by_module.get(name, 0) + \
                    _module_flops(mod, args[0], output)
            handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            model(torch.zeros(1, network.IMAGE_CHANNELS, image_size, image_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return flops_by_module


def traced_cell_info(arch: str | Sequence[int], dataset: str,
                     device: str | torch.device = "cpu") -> TracedCellInfo:
    """Count FLOPs and params of ``arch``'s network by running it once (one image) with
    forward hooks on every leaf module and walking its parameters.

    Independent of :func:`cell_info_arrays` (it knows no layer sizes), so the two agreeing
    checks both.
    """
    net = network.build_network(arch, dataset, device=device).eval()
    flops_by_module = module_flops(net, net.config.input_size)
    params_by_module = {name: p.numel() for name, p in net.named_parameters()}
    positions = {p: k for k, p in enumerate(net.config.searched_cell_positions)}

    def per_edge(values: Mapping[str, int]) -> np.ndarray:
        table = np.zeros((NUM_CELLS, NUM_EDGES), dtype=np.int64)
        for name, value in values.items():
            parts = name.split(".")
            if parts[0] == "cells" and int(parts[1]) in positions and parts[2] == "edges":
                table[positions[int(parts[1])], int(parts[3])] += value
        return table

    return TracedCellInfo(per_edge(flops_by_module), per_edge(params_by_module),
                          int(sum(flops_by_module.values())),
                          network.count_parameters(net),
                          {k: v for k, v in flops_by_module.items() if v})


# -- the NAR authors' JSON layout ----------------------------------------------------------
def _source_columns(bench, fields: Mapping[str, tuple[str, str]]) -> dict[str, np.ndarray | None]:
    """Each field's column from ``bench`` (None where the source does not hold it)."""
    return {key: bench.column(dataset, metric) if bench.has(dataset, metric) else None
            for key, (dataset, metric) in fields.items()}


def _check_datasets(datasets: Iterable[str]) -> tuple[str, ...]:
    datasets = tuple(datasets)
    for dataset in datasets:
        network.check_dataset(dataset)
    if not datasets:
        raise ValueError("datasets is empty; give at least one of "
                         f"{', '.join(network.DATASET_SHAPES)}")
    return datasets


def _nar_columns(bench, datasets: Sequence[str]) -> dict:
    """Everything a NAR record holds, as whole-column arrays (None: the source lacks it)."""
    codes = bench.op_codes
    adjacency = np.zeros((len(codes), space.NUM_NODES, space.NUM_NODES), dtype=np.int64)
    for k, (src, dst) in enumerate(space.EDGES):
        adjacency[:, src, dst] = codes[:, k]
    scalars = {**_source_columns(bench, ACCURACY_FIELDS), **_source_columns(bench, LATENCY_FIELDS)}
    costs = {d: (*cell_info_arrays(d, codes), *network_totals(d, codes)) for d in datasets}
    return {"codes": codes, "adjacency": adjacency, "scalars": scalars, "costs": costs,
            "arch_strs": bench.arch_strs}


def nar_records(bench, datasets: Sequence[str] = NAR_DATASETS,
                indices: Iterable[int] | None = None) -> Iterable[tuple[str, dict]]:
    """Yield ``(arch index as str, record)`` in the NAR authors' layout for ``bench``'s archs
    (all, or ``indices``). See :func:`to_nar_json` for the fields."""
    columns = _nar_columns(bench, _check_datasets(datasets))
    count = len(columns["codes"])
    if indices is None:
        indices = range(count)
    else:  # integers in range: a float is not truncated, -1 is not the last arch
        indices = [as_index(i, "arch index") for i in indices]
        outside = [i for i in indices if not 0 <= i < count]
        if outside:
            raise IndexError(f"arch index {outside[0]} is out of range 0..{count - 1}")
    for i in indices:
        record: dict = {"cell_adjacency": columns["adjacency"][i].tolist()}
        for key, column in columns["scalars"].items():
            record[key] = None if column is None or not math.isfinite(column[i]) \
                else float(column[i])
        for dataset, (flops, params, total_flops, total_params) in columns["costs"].items():
            record[f"{dataset}_total_flops"] = int(total_flops[i])
            record[f"{dataset}_total_params"] = int(total_params[i])
            record[f"{dataset}_opt_flops"] = dict(zip(CELL_NAMES, flops[i].tolist()))
            record[f"{dataset}_opt_params"] = dict(zip(CELL_NAMES, params[i].tolist()))
        record["arch_str"] = columns["arch_strs"][i]
        yield str(i), record


def _nar_json_lines(bench, datasets: Sequence[str]) -> Iterable[str]:
    """The compact JSON text of each record, assembled from pre-formatted pieces.

    Equivalent to ``json.dumps(record, separators=(",", ":"))`` of :func:`nar_records` (a
    test checks it) but about ten times faster: a cell's 6-number list depends only on the
    op codes and the stage, so each is formatted once per stage, not once per cell.
    """
    columns = _nar_columns(bench, datasets)
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    scalar_text = {
        key: ["null"] * len(columns["codes"]) if column is None else
        [encode(float(v)) if math.isfinite(v) else "null" for v in column.tolist()]
        for key, column in columns["scalars"].items()}
    tables = {}
    for dataset in datasets:
        flop_table, param_table = op_cost_tables(dataset)
        tables[dataset] = [[[str(v) for v in row] for row in table.tolist()]
                           for table in (flop_table, param_table)]
    stages = [CELL_NAMES[k:k + network.DEFAULT_CELLS_PER_STAGE]
              for k in range(0, NUM_CELLS, network.DEFAULT_CELLS_PER_STAGE)]
    for i, row in enumerate(columns["codes"].tolist()):
        parts = ['"cell_adjacency":' + encode(columns["adjacency"][i].tolist())]
        parts += [f'"{key}":{texts[i]}' for key, texts in scalar_text.items()]
        for dataset, (_, _, total_flops, total_params) in columns["costs"].items():
            parts.append(f'"{dataset}_total_flops":{int(total_flops[i])}')
            parts.append(f'"{dataset}_total_params":{int(total_params[i])}')
            for kind, table in zip(("flops", "params"), tables[dataset]):
                cells = []
                for names in stages:
                    values = table[CELL_NAMES.index(names[0])]
                    text = "[" + ",".join(values[code] for code in row) + "]"
                    cells += [f'"{name}":{text}' for name in names]
                parts.append(f'"{dataset}_opt_{kind}":' + "{" + ",".join(cells) + "}")
        parts.append('"arch_str":' + encode(columns["arch_strs"][i]))
        yield f'"{i}":' + "{" + ",".join(parts) + "}"


def to_nar_json(bench, path: str | os.PathLike,
                datasets: Sequence[str] = NAR_DATASETS, indent: int | None = None) -> Path:
    """Write the cell-information dataset of every arch of ``bench`` as the NAR authors'
    JSON: one object keyed by arch index (as a string), each record holding

    * ``cell_adjacency``: 4x4 op-type matrix (``[src][dst]`` = op code, 0 elsewhere);
    * ``cifar10_val_acc``, ``cifar10_test_acc``, ``cifar100_val_acc``, ``cifar100_test_acc``,
      ``imagenet16_val_acc``, ``imagenet16_test_acc``: accuracies (%) from
      ``bench.column`` (see :data:`ACCURACY_FIELDS`; 'cifar10' test accuracy comes from
      the network trained on train+valid, as in the authors' record);
    * ``cifar10_latency``, ``cifar100_latency``, ``imagenet16_latency``;
    * per dataset: ``<dataset>_total_flops``, ``<dataset>_total_params`` and
      ``<dataset>_opt_flops``, ``<dataset>_opt_params``: ``{"cells0": [6 ints], ...}``;
    * ``arch_str``.

    Fields the configured source lacks are written as ``null``: with the NB201 table, the
    three latencies; with the embedded analog-nasbench source, every accuracy except
    ``cifar10_test_acc`` (its own CIFAR-10 training) and the latencies. Arch indices are the
    source's (official NB201 indices for the table). ``indent=None`` (default) writes one
    compact line per record, fast and smaller than the authors' indented file; an ``indent``
    writes indented JSON through :mod:`json` (slower). Returns the path.
    """
    datasets = _check_datasets(datasets)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        if indent is not None:
            json.dump(dict(nar_records(bench, datasets)), handle, indent=indent,
                      allow_nan=False)
            handle.write("\n")
            return path
        handle.write("{")
        for k, line in enumerate(_nar_json_lines(bench, datasets)):
            handle.write(("," if k else "") + "\n" + line)
        handle.write("\n}\n")
    return path


def read_nar_json(path: str | os.PathLike) -> dict[str, dict]:
    """Read a cell-information JSON (ours or the authors'): arch index (str) -> record."""
    with open(path, encoding="utf-8") as handle:
        records = json.load(handle)
    if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
        raise ValueError(f"{path}: not a cell-information JSON (expected an object of records "
                         "keyed by arch index)")
    return records


def nar_arrays(records: Mapping[str, dict], dataset: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(arch indices, flops, params)`` of ``dataset`` from NAR records, the per-edge
    values stacked as int64 ``(N, 15, 6)`` in :data:`CELL_NAMES` order."""
    network.check_dataset(dataset)
    keys = list(records)
    try:
        flops = [[records[k][f"{dataset}_opt_flops"][c] for c in CELL_NAMES] for k in keys]
        params = [[records[k][f"{dataset}_opt_params"][c] for c in CELL_NAMES] for k in keys]
    except KeyError as err:
        raise KeyError(f"records lack {err} for dataset {dataset!r}; record keys: "
                       f"{sorted(next(iter(records.values()), {}))}") from None
    return (np.array([int(k) for k in keys], dtype=np.int64),
            np.array(flops, dtype=np.int64).reshape(-1, NUM_CELLS, NUM_EDGES),
            np.array(params, dtype=np.int64).reshape(-1, NUM_CELLS, NUM_EDGES))


# -- a parquet table -----------------------------------------------------------------------
def cellinfo_frame(bench, datasets: Sequence[str] = NAR_DATASETS) -> pd.DataFrame:
    """The cell-information dataset as a DataFrame, one row per arch of ``bench``.

    Columns: ``arch_index``, ``arch_str``, ``op_code``; the accuracy and latency fields of
    :func:`to_nar_json` (float, NaN where the source lacks them); per dataset
    ``<dataset>_total_flops``, ``<dataset>_total_params`` (int64) and ``<dataset>_opt_flops``,
    ``<dataset>_opt_params``: 90 int64 per row, the ``(15, 6)`` array flattened cell-major
    (:func:`frame_arrays` restores it).
    """
    datasets = _check_datasets(datasets)
    codes = bench.op_codes
    columns: dict = {
        "arch_index": np.arange(len(codes), dtype=np.int64),
        "arch_str": bench.arch_strs,
        "op_code": ["".join(map(str, row)) for row in codes.tolist()],
    }
    for fields in (ACCURACY_FIELDS, LATENCY_FIELDS):
        for key, column in _source_columns(bench, fields).items():
            columns[key] = np.full(len(codes), np.nan) if column is None else column
    for dataset in datasets:
        flops, params = cell_info_arrays(dataset, codes)
        columns[f"{dataset}_total_flops"], columns[f"{dataset}_total_params"] = \
            network_totals(dataset, codes)
        columns[f"{dataset}_opt_flops"] = list(flops.reshape(len(codes), -1))
        columns[f"{dataset}_opt_params"] = list(params.reshape(len(codes), -1))
    return pd.DataFrame(columns)


def frame_arrays(frame: pd.DataFrame, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """``(flops, params)`` int64 ``(N, 15, 6)`` of ``dataset`` from a :func:`cellinfo_frame`."""
    network.check_dataset(dataset)
    out = []
    for kind in ("flops", "params"):
        column = f"{dataset}_opt_{kind}"
        if column not in frame.columns:
            raise KeyError(f"frame has no column {column!r}; it was built for datasets "
                           f"{[c[:-len('_opt_flops')] for c in frame if c.endswith('_opt_flops')]}")
        out.append(np.stack(frame[column].to_numpy()).astype(np.int64)
                   .reshape(-1, NUM_CELLS, NUM_EDGES))
    return out[0], out[1]


def write_cellinfo(bench, path: str | os.PathLike,
                   datasets: Sequence[str] = NAR_DATASETS) -> Path:
    """Write :func:`cellinfo_frame` as zstd-compressed parquet; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cellinfo_frame(bench, datasets).to_parquet(path, compression="zstd", index=False)
    return path


def read_cellinfo(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_cellinfo`."""
    return pd.read_parquet(path)
