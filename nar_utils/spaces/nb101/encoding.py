"""Encodings of NAS-Bench-101 cells: the NAR 19x7x7 feature tensor and common baselines.

Every function takes a batch of *packed* cells, the ``(N, 56)`` integer rows of
:func:`nar_utils.spaces.nb101.pack` (49 entries of the zero-padded 7x7 adjacency matrix, then 7
vertex labels padded with :data:`nar_utils.spaces.nb101.PAD`), and returns numpy arrays whose first
axis is the cell. A cell of ``n < 7`` vertices keeps its vertices at indices ``0 .. n-1``
(output at ``n - 1``); the slots after it are padding, all zero in every encoding.

================================  =====================  ======================================
function                          shape                  what
================================  =====================  ======================================
:func:`feature_tensor`            ``(N, 19, 7, 7)``      NAR tensor: op types + per-vertex
                                                         FLOPs and params of the 9 modules
:func:`adjacency_onehot`          ``(N, 36)``            upper-triangular adjacency (21) +
                                                         one-hot op of vertices 1..5 (15)
:func:`graph_encoding`            ``(N, 7, 7)``,         adjacency and one-hot vertex types
                                  ``(N, 7, 5)``          (for GCN predictors)
:func:`path_encoding`             ``(N, 363)``           which op sequences label an
                                                         input-to-output path
================================  =====================  ======================================

References: Y. Guo et al., "Neural Architecture Ranker" (arXiv 2201.12725) for the feature
tensor; C. White et al., "BANANAS" (AAAI 2021) for the adjacency and path encodings; W. Wen
et al., "Neural Predictor for Neural Architecture Search" (ECCV 2020) for the graph encoding.
"""
from __future__ import annotations

import numpy as np

from nar_utils.spaces.nb101 import space as nb101

V = nb101.MAX_VERTICES
NUM_MODULES = 9
#: Channels of the feature tensor: the op-type matrix, then (FLOPs, params) per module.
NUM_CHANNELS = 1 + 2 * NUM_MODULES
#: Channels of :func:`op_channels`: conv3x3, conv1x1, maxpool3x3, output.
NUM_OP_CHANNELS = 4
#: Reference values of the default log scaling: a little above the largest single-vertex
#: cost of any NB101 network (a 3x3 convolution of 512 channels on 8x8 with its input
#: projection: about 3.4e8 FLOPs and 2.6e6 parameters), so that encoded costs lie in [0, 1).
FLOPS_REF = 2**29
PARAMS_REF = 2**22

#: Vertex types a cell's edges can point to, in the order of their raw codes 1..4.
DESTINATION_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3",
                                    "output")
_RAW_CODE = {nb101.CONV3X3: 1, nb101.CONV1X1: 2, nb101.MAXPOOL3X3: 3, nb101.OUTPUT: 4}
#: Default op channel: each destination type as a corner of a square centred on 0,
#: ``(cos a, sin a)`` with ``a = pi/4 + k pi/2`` for raw code ``k + 1``; "no edge" is (0, 0).
_ANGLE = np.pi / 4 + np.arange(4) * np.pi / 2
OP_SQUARE = np.stack([np.cos(_ANGLE), np.sin(_ANGLE)], axis=1).astype(np.float32)
_IU = np.triu_indices(V, k=1)

#: Node types of :func:`graph_encoding`.
GRAPH_NODE_TYPES: tuple[str, ...] = ("input", "conv3x3-bn-relu", "conv1x1-bn-relu",
                                     "maxpool3x3", "output")
_NODE_TYPE = {nb101.INPUT: 0, nb101.CONV3X3: 1, nb101.CONV1X1: 2, nb101.MAXPOOL3X3: 3,
              nb101.OUTPUT: 4}
#: Interior ops that can label a path, and the longest path (5 interior vertices).
PATH_OPS = nb101.INTERIOR_OPS
_MAX_PATH_OPS = V - 2
_PATH_OFFSETS = np.cumsum([0] + [3 ** n for n in range(_MAX_PATH_OPS + 1)])
NUM_PATH_FEATURES = int(_PATH_OFFSETS[-1])  # 1 + 3 + 9 + 27 + 81 + 243 = 364


def unpack(packed) -> tuple[np.ndarray, np.ndarray]:
    """``(adjacency (N, 7, 7) int64, labels (N, 7) int64)`` of a packed batch, validated."""
    packed = np.asarray(packed)
    if packed.ndim == 1:
        packed = packed[None, :]
    width = V * V + V
    if packed.ndim != 2 or packed.shape[1] != width or packed.dtype.kind not in "iu":
        raise ValueError(f"packed NB101 cells must be an (N, {width}) integer array from "
                         f"nar_utils.spaces.nb101.pack, got shape {packed.shape} dtype "
                         f"{packed.dtype}")
    adjacency = packed[:, :V * V].reshape(-1, V, V).astype(np.int64)
    labels = packed[:, V * V:].astype(np.int64)
    valid = {nb101.INPUT, nb101.OUTPUT, nb101.CONV3X3, nb101.CONV1X1, nb101.MAXPOOL3X3,
             nb101.PAD}
    bad = ~np.isin(labels, list(valid))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(f"vertex label {labels[row, col]} at row {row}, vertex {col} is not "
                         f"one of {sorted(valid)}")
    if not ((adjacency == 0) | (adjacency == 1)).all() or np.tril(adjacency).any():
        raise ValueError("packed adjacency must be 0/1 and strictly upper triangular")
    return adjacency, labels


def _destination_codes(adjacency: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(N, 7, 7)`` raw code (1..4) of the vertex each edge points to, 0 where no edge."""
    codes = np.zeros(labels.shape, dtype=np.int64)
    for label, code in _RAW_CODE.items():
        codes[labels == label] = code
    return adjacency * codes[:, None, :]


def op_type_matrix(packed, faithful: bool = False) -> np.ndarray:
    """The ``(N, 7, 7)`` op-type matrix: entry ``[i, j]`` describes edge i -> j by the type of
    the vertex it feeds (the operation the edge's tensor goes through).

    Default: that type as a corner of a square (:data:`OP_SQUARE`), its first coordinate at
    ``[i, j]`` (upper triangle) and its second at ``[j, i]`` (lower triangle); no edge is 0.
    As for NB201 (:func:`nar_utils.spaces.nb201.encoding.op_type_matrix`), a categorical op is given
    two numbers so that a linear layer and a ReLU can single out any type.
    ``faithful=True``: the raw code at ``[i, j]`` (1 conv3x3, 2 conv1x1, 3 maxpool, 4 output),
    0 elsewhere.
    """
    adjacency, labels = unpack(packed)
    dest = _destination_codes(adjacency, labels)
    if faithful:
        return dest.astype(np.float32)
    matrix = np.zeros(dest.shape, dtype=np.float32)
    n, i, j = np.nonzero(dest)
    corner = OP_SQUARE[dest[n, i, j] - 1]
    matrix[n, i, j] = corner[:, 0]
    matrix[n, j, i] = corner[:, 1]
    return matrix


def feature_tensor_from_cellinfo(packed, flops, params, faithful: bool = False) -> np.ndarray:
    """The NAR feature tensor ``(N, 19, 7, 7)`` float32 from cells and per-vertex costs.

    Channel 0 is :func:`op_type_matrix`. Channels ``1 + 2m`` and ``2 + 2m`` hold, for module
    ``m`` (0..8 = stack0/module0 .. stack2/module2), the FLOPs and the params of each vertex
    written on the edges that feed it: ``[i, j] = cost of vertex j`` wherever edge i -> j
    exists, 0 elsewhere. A vertex's cost thus appears once per incoming edge, and its
    position in the matrix says where in the graph it sits, as the edge positions of the
    NB201 tensor do. Padding slots (cells of fewer than 7 vertices) stay 0.

    Args:
        packed: ``(N, 56)`` packed cells.
        flops, params: ``(N, 9, 7)`` non-negative per-vertex costs per module, e.g. from
            :func:`nar_utils.spaces.nb101.network.cell_info_arrays`.
        faithful: raw op codes and raw counts; default: :func:`op_type_matrix`'s square and
            ``log1p(x) / log1p(REF)`` with fixed :data:`FLOPS_REF` and :data:`PARAMS_REF`,
            for the reasons given in
            :func:`nar_utils.spaces.nb201.encoding.feature_tensor_from_cellinfo`.
    """
    adjacency, _ = unpack(packed)
    values = []
    for name, array, ref in (("flops", flops, FLOPS_REF), ("params", params, PARAMS_REF)):
        array = np.asarray(array)
        if array.shape != (len(adjacency), NUM_MODULES, V):
            raise ValueError(f"{name} must have shape (N, {NUM_MODULES}, {V}) = "
                             f"{(len(adjacency), NUM_MODULES, V)}, got {array.shape}")
        if (array < 0).any():
            raise ValueError(f"{name} must be non-negative counts, got minimum {array.min()}")
        array = array.astype(np.float64)
        scaled = array if faithful else np.log1p(array) / np.log1p(ref)
        values.append(scaled.astype(np.float32))
    tensor = np.zeros((len(adjacency), NUM_CHANNELS, V, V), dtype=np.float32)
    tensor[:, 0] = op_type_matrix(packed, faithful=faithful)
    mask = adjacency[:, None, :, :].astype(np.float32)  # (N, 1, 7, 7), edge i -> j
    tensor[:, 1::2] = mask * values[0][:, :, None, :]
    tensor[:, 2::2] = mask * values[1][:, :, None, :]
    return tensor


def feature_tensor(packed, faithful: bool = False, chunk_size: int = 16384) -> np.ndarray:
    """The NAR feature tensor ``(N, 19, 7, 7)`` of packed cells (costs computed here, in
    chunks of ``chunk_size`` cells to bound the temporary arrays)."""
    from nar_utils.spaces.nb101 import cellinfo  # torch-free analytic costs

    if nb101.as_index(chunk_size, "chunk_size") < 1:
        raise ValueError(f"chunk_size must be a positive number of cells, got {chunk_size}")
    adjacency, labels = unpack(packed)
    packed = np.concatenate([adjacency.reshape(len(labels), -1), labels], axis=1)
    out = np.empty((len(labels), NUM_CHANNELS, V, V), dtype=np.float32)
    for start in range(0, len(labels), chunk_size):
        stop = start + chunk_size
        flops, params = cellinfo.cell_info_arrays(adjacency[start:stop], labels[start:stop])
        out[start:stop] = feature_tensor_from_cellinfo(packed[start:stop], flops, params,
                                                       faithful=faithful)
    return out


def op_channels(packed) -> np.ndarray:
    """``(N, 4, 7, 7)`` float32 one-hot op channels: channel ``k`` holds 1 at ``[i, j]`` where
    edge i -> j exists and vertex j is conv3x3, conv1x1, maxpool3x3 or the output (k = 0..3),
    the NB101 counterpart of :func:`nar_utils.spaces.nb201.encoding.op_channels` (ops sit on
    vertices here, so an edge carries the op of the vertex it feeds, as in channel 0)."""
    adjacency, labels = unpack(packed)
    kinds = (nb101.CONV3X3, nb101.CONV1X1, nb101.MAXPOOL3X3, nb101.OUTPUT)
    out = np.stack([adjacency * (labels == kind)[:, None, :] for kind in kinds], axis=1)
    return out.astype(np.float32)


def adjacency_onehot(packed) -> np.ndarray:
    """``(N, 36)`` float32: the 21 upper-triangular adjacency entries (row-major), then the
    one-hot op (conv3x3, conv1x1, maxpool) of vertex slots 1..5; input, output and padding
    slots have an all-zero one-hot."""
    adjacency, labels = unpack(packed)
    onehot = np.stack([labels[:, 1:V - 1] == op for op in
                       (nb101.CONV3X3, nb101.CONV1X1, nb101.MAXPOOL3X3)], axis=2)
    return np.concatenate([adjacency[:, _IU[0], _IU[1]].astype(np.float32),
                           onehot.reshape(len(labels), -1).astype(np.float32)], axis=1)


def graph_encoding(packed) -> tuple[np.ndarray, np.ndarray]:
    """``(adjacency (N, 7, 7), node_types (N, 7, 5))`` float32 for graph predictors; node
    types one-hot over :data:`GRAPH_NODE_TYPES`, all zero for padding slots."""
    adjacency, labels = unpack(packed)
    node_types = np.zeros(labels.shape + (len(GRAPH_NODE_TYPES),), dtype=np.float32)
    for label, k in _NODE_TYPE.items():
        node_types[..., k] = labels == label
    return adjacency.astype(np.float32), node_types


def path_feature_names() -> list[str]:
    """Names of the :func:`path_encoding` columns ('' for the direct input->output path)."""
    import itertools

    names = []
    for length in range(_MAX_PATH_OPS + 1):
        names += [">".join(seq) for seq in itertools.product(PATH_OPS, repeat=length)]
    return names


def path_encoding(packed) -> np.ndarray:
    """``(N, 364)`` float32 indicator of the op sequences labelling input->output paths.

    A path from the input to the output passes 0 to 5 interior vertices; it is labelled by
    their ops. Columns: the direct path (no op), the 3 sequences of one op, the 9 of two,
    ... the 243 of five, each block in lexicographic label order (first vertex most
    significant); :func:`path_feature_names` names them. Computed by propagating, vertex by
    vertex in topological order, the set of sequence indices that reach each vertex.
    """
    adjacency, labels = unpack(packed)
    out = np.zeros((len(labels), NUM_PATH_FEATURES), dtype=np.float32)
    for row, (adj, lab) in enumerate(zip(adjacency, labels)):
        # reach[v]: (length, index) of the op sequences of paths input -> v, v's op excluded
        reach: list[set[tuple[int, int]]] = [set() for _ in range(V)]
        reach[0].add((0, 0))
        for v in range(V):
            if lab[v] == nb101.OUTPUT:
                for length, index in reach[v]:
                    out[row, _PATH_OFFSETS[length] + index] = 1.0
                break
            if v == 0:
                extended = reach[0]
            else:
                extended = {(length + 1, index * 3 + int(lab[v])) for length, index in reach[v]}
            for w in np.flatnonzero(adj[v]):
                reach[w] |= extended
    return out


__all__ = [
    "FLOPS_REF",
    "GRAPH_NODE_TYPES",
    "NUM_CHANNELS",
    "NUM_PATH_FEATURES",
    "OP_SQUARE",
    "PARAMS_REF",
    "adjacency_onehot",
    "feature_tensor",
    "feature_tensor_from_cellinfo",
    "graph_encoding",
    "op_type_matrix",
    "path_encoding",
    "path_feature_names",
    "unpack",
]
