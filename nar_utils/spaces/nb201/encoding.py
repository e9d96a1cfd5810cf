"""Encodings of NAS-Bench-201 cells as arrays: the NAR feature tensor and common baselines.

Every function takes many cells at once (``archs``: arch strings, 6-digit op-code strings,
code tuples, or an ``(N, 6)`` integer array of op codes; a single arch string, op-code
string or 1-D array of 6 codes also works and counts as a batch of one) and returns numpy
arrays whose first axis is the cell. The work is vectorised over cells, and the encoding of
a cell never depends on the other cells of the batch.

================================  =====================  ======================================
function                          shape                  what
================================  =====================  ======================================
:func:`feature_tensor`            ``(N, 31, 4, 4)``      NAR / ReNAS tensor: op types + per-op
                                                         FLOPs and params of the 15 cells
:func:`onehot`                    ``(N, 30)``            one-hot op of each edge (edge-major)
:func:`adjacency_onehot`          ``(N, 46)``            op-type matrix (16) + one-hot (30)
:func:`graph_encoding`            ``(N, 8, 8)``,         operation-on-node graph for GCN
                                  ``(N, 8, 7)``          predictors (adjacency, node types)
:func:`path_encoding`             ``(N, 84)``            which op sequences label a live
                                                         input-to-output path
================================  =====================  ======================================

References: Y. Guo et al., "Neural Architecture Ranker" (arXiv 2201.12725) and Y. Xu et al.,
"ReNAS: Relativistic Evaluation of Neural Architecture Search" (CVPR 2021) for the feature
tensor; C. White et al., "BANANAS" (AAAI 2021) for the path encoding; W. Wen et al.,
"Neural Predictor for Neural Architecture Search" (ECCV 2020) for the graph encoding.
"""
from __future__ import annotations

import itertools

import numpy as np

from nar_utils.spaces.nb201 import space

#: Nodes of the cell DAG, and searched cells in the NB201 network (cells0-4, 6-10, 12-16).
NUM_NODES = space.NUM_NODES
NUM_CELLS = 15
#: Channels of the feature tensor: the op-type matrix, then (FLOPs, params) per cell.
NUM_CHANNELS = 1 + 2 * NUM_CELLS
#: Channels of :func:`op_channels`: one per op.
NUM_OP_CHANNELS = space.NUM_OPS
#: Reference values of the default log scaling of FLOPs and params (see
#: :func:`feature_tensor_from_cellinfo`): a little above the largest single-operation cost in
#: any NB201 cell (a 3x3 convolution: about 2.4 MFLOPs at 16 channels on 32x32 inputs, about
#: 37k parameters at 64 channels), so that encoded costs lie in [0, 1).
FLOPS_REF = 2**22
PARAMS_REF = 2**16

#: Default op channel: each op sits at one vertex of a regular pentagon; vertex ``k`` is the
#: point ``(cos 2 pi k / 5, sin 2 pi k / 5)``. Going round: none, nor_conv_1x1, avg_pool_3x3,
#: skip_connect, nor_conv_3x3, so the first coordinate groups the ops by kind (none 1, the
#: two convolutions 0.31, the two parameter-free ops -0.81) and the second tells the two of
#: a kind apart (nor_conv_1x1 +0.95 / nor_conv_3x3 -0.95, avg_pool_3x3 +0.59 / skip_connect
#: -0.59). See :func:`feature_tensor_from_cellinfo` for why.
OP_PENTAGON_VERTEX: dict[str, int] = {
    "none": 0, "nor_conv_1x1": 1, "avg_pool_3x3": 2, "skip_connect": 3, "nor_conv_3x3": 4}
_VERTEX_ANGLE = 2 * np.pi * np.array([OP_PENTAGON_VERTEX[op] for op in space.OPS]) / 5
#: ``(5, 2)`` float32 pentagon coordinates of each op code (rows in OPS order).
OP_PENTAGON = np.stack([np.cos(_VERTEX_ANGLE), np.sin(_VERTEX_ANGLE)], axis=1).astype(np.float32)

_EDGE_SRC = np.array([src for src, _ in space.EDGES])
_EDGE_DST = np.array([dst for _, dst in space.EDGES])
_NONE = space.OP_CODE["none"]


def _as_op_codes(archs) -> np.ndarray:
    """Any accepted batch of cells as an ``(N, 6)`` int64 array of validated op codes."""
    if isinstance(archs, str):  # one arch string or op-code string: a batch of one
        archs = [archs]
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        codes = archs
        if codes.ndim == 1 and codes.shape[0] == space.NUM_EDGES:
            codes = codes[None, :]
        if codes.ndim != 2 or codes.shape[1] != space.NUM_EDGES:
            raise ValueError(
                f"op codes must have shape (N, {space.NUM_EDGES}), got {codes.shape}"
            )
        bad = (codes < 0) | (codes >= space.NUM_OPS)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f"op code {codes[row, col]} at row {row}, edge {col} is out of range "
                f"0..{space.NUM_OPS - 1} ({', '.join(space.OPS)})"
            )
        return codes.astype(np.int64)
    return space.op_codes_array(archs).astype(np.int64)


def _check_cellinfo(name: str, values, num_archs: int) -> np.ndarray:
    values = np.asarray(values)
    expected = (num_archs, NUM_CELLS, space.NUM_EDGES)
    if values.shape != expected:
        raise ValueError(
            f"{name} must have shape (N, {NUM_CELLS}, {space.NUM_EDGES}) = {expected} "
            f"(cells x edges in arch-string order), got {values.shape}"
        )
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numeric, got dtype {values.dtype}")
    if (values < 0).any():
        raise ValueError(f"{name} must be non-negative counts, got minimum {values.min()}")
    return values


def op_type_matrix(archs, faithful: bool = False) -> np.ndarray:
    """The ``(N, 4, 4)`` op-type matrix: row ``src``, column ``dst`` describe edge src->dst.

    Default: each edge's op as a point of a regular pentagon (:data:`OP_PENTAGON`), its first
    coordinate at ``[src, dst]`` (upper triangle), its second at the mirrored ``[dst, src]``
    (lower triangle); the diagonal is 0. 'none' reads ``(1, 0)``, nor_conv_1x1 ``(0.31,
    0.95)``, avg_pool_3x3 ``(-0.81, 0.59)``, skip_connect ``(-0.81, -0.59)``, nor_conv_3x3
    ``(0.31, -0.95)``. Every op is a vertex of the pentagon, so a linear map followed by a
    ReLU can single out any op on any edge, which one ordinal number per edge does not allow
    for the ops in the middle of its scale (see :func:`feature_tensor_from_cellinfo`).
    ``faithful=True``: the raw op code (0..4) at ``[src, dst]`` and 0 elsewhere, as NAR uses
    it; 'none' is then 0, the same as "no edge".
    """
    codes = _as_op_codes(archs)
    matrix = np.zeros((len(codes), NUM_NODES, NUM_NODES), dtype=np.float32)
    if faithful:
        matrix[:, _EDGE_SRC, _EDGE_DST] = codes.astype(np.float32)
    else:
        matrix[:, _EDGE_SRC, _EDGE_DST] = OP_PENTAGON[codes, 0]
        matrix[:, _EDGE_DST, _EDGE_SRC] = OP_PENTAGON[codes, 1]
    return matrix


def feature_tensor_from_cellinfo(op_codes, flops, params, faithful: bool = False) -> np.ndarray:
    """The NAR feature tensor ``(N, 31, 4, 4)`` float32 from op codes and per-op costs.

    Channel 0 is the op-type matrix (:func:`op_type_matrix`). Channels ``1 + 2c`` and
    ``2 + 2c`` hold, for searched cell ``c`` (0..14 = cells0-4, cells6-10, cells12-16 of the
    network), the FLOPs and the params of each edge's operation at ``[src, dst]``; all other
    positions are 0.

    Args:
        op_codes: the cells (anything :func:`nar_utils.spaces.nb201.op_codes_array` accepts, or an
            ``(N, 6)`` int array).
        flops, params: ``(N, 15, 6)`` non-negative per-operation FLOPs and parameter counts
            (cell axis as above, edge axis in arch-string order), e.g. from
            ``nar_utils.spaces.nb201.cellinfo.cell_info_arrays``.
        faithful: ``True`` reproduces the NAR authors' raw values exactly: op codes as they
            are (so 'none', code 0, cannot be told from "no edge") and raw FLOPs / params
            counts (up to millions; float32 holds every count below 2**24 exactly).

    The default (``faithful=False``) is a normalisation chosen so that a network can consume
    the tensor without per-batch statistics:

    * op channel: each edge's op as a vertex of a regular pentagon, two numbers per edge
      (:func:`op_type_matrix`, :data:`OP_PENTAGON`), in the upper triangle and its mirror;
      every value is in [-1, 1]. The op is a categorical variable; an earlier default stored
      ``(op code + 1) / 5``, one ordinal number per edge, and a linear patch projection (as
      NAR's) cannot isolate an op in the middle of that scale: on NB201 cifar10-valid (1000
      training labels, split seed 0, held-out Kendall tau) an MLP on the flattened tensor
      reached 0.62 with it against 0.77 on a plain one-hot, and the op channel alone gave
      0.56. With the pentagon the same MLP reaches 0.80, and NAR's 'cpu' preset 0.72 instead
      of 0.61 at the same training cost (the raw ``faithful=True`` tensor gives 0.58). Any
      pentagon helps (0.71 to 0.80 over the 12 vertex orders for the MLP); the order chosen,
      which puts 'none' between the two convolutions and makes the first coordinate a
      three-level "kind of op" (none / convolution / parameter-free), ranked best for the
      MLP and, for NAR, beat the OPS order round the pentagon (0.72 vs 0.67).
    * costs: ``log1p(x) / log1p(REF)`` with the fixed constants ``FLOPS_REF = 2**22`` and
      ``PARAMS_REF = 2**16``. A zero cost ('none', skip_connect, and params of pooling) stays
      exactly 0; a 3x3 convolution's costs land near 1. The raw costs span four orders of
      magnitude across operations and network stages (a stage-3 conv has 16x the params of a
      stage-1 conv, a 3x3 conv 9x the FLOPs of a 1x1), which a log keeps visible without
      letting the largest drown the rest. The constants are the same for every dataset and
      every batch, so the encoding of one cell never depends on what else is encoded with it
      and tensors of different datasets share one scale.
    """
    codes = _as_op_codes(op_codes)
    flops = _check_cellinfo("flops", flops, len(codes))
    params = _check_cellinfo("params", params, len(codes))
    if faithful:
        flops_values = flops.astype(np.float32)
        params_values = params.astype(np.float32)
    else:
        flops_values = (np.log1p(flops.astype(np.float64)) / np.log1p(FLOPS_REF))
        params_values = (np.log1p(params.astype(np.float64)) / np.log1p(PARAMS_REF))
    tensor = np.zeros((len(codes), NUM_CHANNELS, NUM_NODES, NUM_NODES), dtype=np.float32)
    tensor[:, 0] = op_type_matrix(codes, faithful=faithful)
    # Mixed slice + paired index arrays: the selection has shape (N, 15, 6), matching the input.
    tensor[:, 1::2, _EDGE_SRC, _EDGE_DST] = flops_values
    tensor[:, 2::2, _EDGE_SRC, _EDGE_DST] = params_values
    return tensor


def op_channels(archs) -> np.ndarray:
    """``(N, 5, 4, 4)`` float32 one-hot op channels: channel ``k`` holds 1 at ``[src, dst]``
    where edge src->dst carries op ``k`` (OPS order), 0 elsewhere.

    An alternative to the single op-type channel of :func:`feature_tensor` for a model that
    reads channels as tokens (NAR): each op gets a token of its own, whose 4x4 patch is the
    cell's graph of that op, so attention can relate ops to one another instead of decoding
    all six edges from one patch. ``NARPredictor(op_onehot=True)`` puts these before the
    feature tensor's 31 channels.
    """
    codes = _as_op_codes(archs)
    out = np.zeros((len(codes), space.NUM_OPS, NUM_NODES, NUM_NODES), dtype=np.float32)
    for op in range(space.NUM_OPS):
        out[:, op, _EDGE_SRC, _EDGE_DST] = codes == op
    return out


def feature_tensor(archs, dataset: str, faithful: bool = False) -> np.ndarray:
    """The NAR feature tensor ``(N, 31, 4, 4)`` of cells on ``dataset``.

    Computes the per-operation costs with
    ``nar_utils.spaces.nb201.cellinfo.cell_info_arrays`` and passes
    them to :func:`feature_tensor_from_cellinfo` (see there for the channels and the scaling).
    """
    from nar_utils.spaces.nb201 import (
        cellinfo,  # imported here so that this module works without it
    )

    codes = _as_op_codes(archs)
    flops, params = cellinfo.cell_info_arrays(dataset, codes)
    return feature_tensor_from_cellinfo(codes, flops, params, faithful=faithful)


def onehot(archs) -> np.ndarray:
    """``(N, 30)`` float32 one-hot of each edge's op, edge-major.

    Column ``5 * edge + op code``: edges in arch-string order
    (:data:`nar_utils.spaces.nb201.EDGES`),
    ops in :data:`nar_utils.spaces.nb201.OPS` order, 'none' included as an op of its own.
    """
    codes = _as_op_codes(archs)
    out = np.zeros((len(codes), space.NUM_EDGES * space.NUM_OPS), dtype=np.float32)
    columns = np.arange(space.NUM_EDGES) * space.NUM_OPS + codes
    np.put_along_axis(out, columns, 1.0, axis=1)
    return out


def adjacency_onehot(archs) -> np.ndarray:
    """``(N, 46)`` float32: the flattened op-type matrix followed by :func:`onehot`.

    Columns 0..15 are the default op-type matrix of :func:`op_type_matrix` flattened row-major
    (column ``4 * src + dst``: the first pentagon coordinate of edge src->dst's op, the second
    at column ``4 * dst + src``, 0 on the diagonal); columns 16..45 are the one-hot. NB201
    cells all share one complete DAG, so the matrix carries the op types where NB101-style
    encodings put a 0/1 adjacency.
    """
    codes = _as_op_codes(archs)
    matrix = op_type_matrix(codes).reshape(len(codes), NUM_NODES * NUM_NODES)
    return np.concatenate([matrix, onehot(codes)], axis=1)


#: Node types of :func:`graph_encoding`: input, the five ops (in OPS order), output.
GRAPH_NODE_TYPES: tuple[str, ...] = ("input",) + space.OPS + ("output",)
GRAPH_NUM_NODES = space.NUM_EDGES + 2


def _graph_template() -> np.ndarray:
    """Data flow of the complete cell with operations on nodes (node k+1 = edge k)."""
    adj = np.zeros((GRAPH_NUM_NODES, GRAPH_NUM_NODES), dtype=np.float32)
    output = GRAPH_NUM_NODES - 1
    for k, (src, dst) in enumerate(space.EDGES):
        if src == 0:
            adj[0, k + 1] = 1  # the cell input feeds the op
        if dst == NUM_NODES - 1:
            adj[k + 1, output] = 1  # the op feeds the cell output
        for j, (next_src, _) in enumerate(space.EDGES):
            if next_src == dst:
                adj[k + 1, j + 1] = 1  # the op's result is summed at dst, which feeds edge j
    return adj


_GRAPH_TEMPLATE = _graph_template()


def graph_encoding(archs) -> tuple[np.ndarray, np.ndarray]:
    """Operation-on-node graphs ``(adj (N, 8, 8), node_ops (N, 8, 7))``, float32.

    Node 0 is the cell input, node ``k + 1`` the op on edge ``k`` (arch-string order), node 7
    the cell output. ``node_ops`` one-hot encodes the node types :data:`GRAPH_NODE_TYPES`
    (input, none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, output).
    ``adj[i, j] = 1`` when node i's output flows into node j: the input into the ops leaving
    node 0, an op on edge ``a -> b`` into every op leaving node b, or into the output when
    ``b = 3``.

    'none' nodes are kept, with their type and their incoming data flow, but with no outgoing
    data flow (their row of ``adj`` is zero): a 'none' op consumes its input and sends
    nothing on. A graph network thus still sees where each 'none' sits, while no message
    passes through it. Nodes downstream of a 'none' keep their other inputs.
    """
    codes = _as_op_codes(archs)
    num_archs = len(codes)
    adj = np.broadcast_to(_GRAPH_TEMPLATE, (num_archs,) + _GRAPH_TEMPLATE.shape).copy()
    adj[:, 1:1 + space.NUM_EDGES, :] *= (codes != _NONE)[:, :, None]
    node_types = np.empty((num_archs, GRAPH_NUM_NODES), dtype=np.int64)
    node_types[:, 0] = 0
    node_types[:, 1:1 + space.NUM_EDGES] = codes + 1
    node_types[:, -1] = len(GRAPH_NODE_TYPES) - 1
    node_ops = np.zeros((num_archs, GRAPH_NUM_NODES, len(GRAPH_NODE_TYPES)), dtype=np.float32)
    np.put_along_axis(node_ops, node_types[:, :, None], 1.0, axis=2)
    return adj, node_ops


def _input_output_paths() -> list[tuple[int, ...]]:
    """Every input-to-output path of the complete cell, as edge indices, shortest first."""
    edge_index = {edge: k for k, edge in enumerate(space.EDGES)}
    paths: list[tuple[int, ...]] = []
    for num_inner in range(NUM_NODES - 1):
        for inner in itertools.combinations(range(1, NUM_NODES - 1), num_inner):
            nodes = (0,) + inner + (NUM_NODES - 1,)
            paths.append(tuple(edge_index[pair] for pair in zip(nodes, nodes[1:])))
    return sorted(paths, key=len)


#: Input-to-output paths as tuples of edge indices: 0->3, 0->1->3, 0->2->3, 0->1->2->3.
PATHS: tuple[tuple[int, ...], ...] = tuple(_input_output_paths())
#: Ops that can label a path: every op but 'none' (a path through 'none' carries nothing).
PATH_OPS: tuple[str, ...] = space.OPS[1:]
_MAX_PATH_LEN = max(len(path) for path in PATHS)
_PATH_OFFSETS = np.cumsum([0] + [len(PATH_OPS) ** n for n in range(1, _MAX_PATH_LEN + 1)])
NUM_PATH_FEATURES = int(_PATH_OFFSETS[-1])  # 4 + 16 + 64 = 84


def path_feature_names() -> list[str]:
    """Names of the :func:`path_encoding` columns, e.g. ``'nor_conv_3x3>skip_connect'``."""
    names = []
    for length in range(1, _MAX_PATH_LEN + 1):
        names += [">".join(seq) for seq in itertools.product(PATH_OPS, repeat=length)]
    return names


def path_encoding(archs) -> np.ndarray:
    """``(N, 84)`` float32 indicator of the op sequences that label live input->output paths.

    The complete NB201 cell has four input->output paths (0->3, 0->1->3, 0->2->3,
    0->1->2->3) of lengths 1, 2 and 3. A path exists in a cell when none of its edges is
    'none'; it is labelled by its op sequence over the four other ops. 'none' is NOT in the
    vocabulary, since a path through it does not exist (a 155-column variant with 'none'
    would only add columns that are always 0). Columns: the 4 sequences of length 1, then
    the 16 of length 2, then the 64 of length 3, each block in lexicographic order of op
    codes (first edge most significant); :func:`path_feature_names` names them. Two paths
    with the same op sequence (0->1->3 and 0->2->3) share one column, which reads 1.
    """
    codes = _as_op_codes(archs)
    out = np.zeros((len(codes), NUM_PATH_FEATURES), dtype=np.float32)
    rows = np.arange(len(codes))
    base = len(PATH_OPS)
    for path in PATHS:
        path_codes = codes[:, list(path)]
        alive = (path_codes != _NONE).all(axis=1)
        digits = path_codes - 1  # op code 1..4 -> digit 0..3 in the path vocabulary
        place_values = base ** np.arange(len(path) - 1, -1, -1)  # first edge most significant
        column = _PATH_OFFSETS[len(path) - 1] + digits @ place_values
        out[rows[alive], column[alive]] = 1.0
    return out


__all__ = [
    "FLOPS_REF",
    "GRAPH_NODE_TYPES",
    "NUM_CHANNELS",
    "NUM_PATH_FEATURES",
    "OP_PENTAGON",
    "OP_PENTAGON_VERTEX",
    "PARAMS_REF",
    "PATHS",
    "PATH_OPS",
    "adjacency_onehot",
    "feature_tensor",
    "feature_tensor_from_cellinfo",
    "graph_encoding",
    "onehot",
    "op_type_matrix",
    "path_encoding",
    "path_feature_names",
]
