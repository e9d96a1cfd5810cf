"""NAS-Bench-101: cells and packed rows (:mod:`.space`), the official hash (:mod:`.hashing`),
the enumeration of all 423,624 cells (:mod:`.enumeration`), the network (:mod:`.network`),
cell information (:mod:`.cellinfo`) and encodings (:mod:`.encoding`), behind
:class:`NB101Space`. Importing this package does not import torch."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nar_utils._lazy import lazy
from nar_utils.spaces.base import SearchSpace
from nar_utils.spaces.nb101.enumeration import enumerate_packed, enumerate_space
from nar_utils.spaces.nb101.hashing import hash_many, spec_hash
from nar_utils.spaces.nb101.space import (
    CONV1X1,
    CONV3X3,
    INPUT,
    INTERIOR_LABELS,
    INTERIOR_OPS,
    LABEL_TO_OP,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    NUM_CELLS,
    NUM_CELLS_BY_VERTICES,
    OP_TO_LABEL,
    OUTPUT,
    PACKED_WIDTH,
    PAD,
    Cell,
    pack,
    pack_strings,
    packed_strings,
    prune,
    unpack,
)

# network, cellinfo and encoding load on first use (the network imports torch)
__getattr__, _lazy_dir = lazy(__name__, ("cellinfo", "encoding", "enumeration", "hashing",
                                         "network", "space"))


class NB101Space(SearchSpace):
    """NAS-Bench-101: DAGs of up to 7 vertices and 9 edges; a batch row is a packed cell
    (49 adjacency entries, then 7 labels). Benchmarks hold a pool of its cells; the space is
    not a product of per-edge choices, so searches sample the pool."""

    name = "nb101"
    datasets = ("cifar10",)  # NAS-Bench-101 trains on CIFAR-10 only
    op_names = INTERIOR_OPS

    def batch(self, archs: Any) -> np.ndarray:
        from nar_utils.spaces.nb101 import encoding

        adjacency, labels = encoding.unpack(archs)  # validates
        return np.concatenate([adjacency.reshape(len(labels), -1), labels], axis=1)

    def benchmark_archs(self, bench: Any) -> np.ndarray:
        archs = np.asarray(bench.archs)
        if archs.ndim != 2 or archs.dtype.kind not in "iu":
            raise ValueError(f"bench.archs must be an (N, D) int array, got {archs.shape} "
                             f"{archs.dtype}")
        return archs.astype(np.int64)

    def indexer(self, batch: np.ndarray) -> Callable[[Any], np.ndarray | int]:
        row_of = {row.tobytes(): i for i, row in enumerate(np.asarray(batch, dtype=np.int64))}
        width = batch.shape[1]

        def index_of(cells) -> np.ndarray | int:
            rows = np.asarray(cells)
            if rows.size and rows.dtype.kind not in "iu":  # a cast would read 0.7 as 0
                raise TypeError(f"cells must be packed integer rows (see "
                                f"nar_utils.spaces.nb101.pack), got dtype {rows.dtype}")
            rows = rows.astype(np.int64)
            found = np.array([row_of.get(r.tobytes(), -1) for r in rows.reshape(-1, width)],
                             dtype=np.int64)
            return int(found[0]) if rows.ndim == 1 else found

        return index_of

    def onehot(self, batch: np.ndarray) -> np.ndarray:
        from nar_utils.spaces.nb101 import encoding

        return encoding.adjacency_onehot(batch)

    def feature_tensor(self, batch: np.ndarray, dataset: str,
                       faithful: bool = False) -> np.ndarray:
        from nar_utils.spaces.nb101 import encoding

        return encoding.feature_tensor(batch, faithful=faithful)

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        from nar_utils.spaces.nb101 import encoding

        return encoding.NUM_CHANNELS, MAX_VERTICES, MAX_VERTICES

    def network_totals(self, batch: np.ndarray, dataset: str = "cifar10"
                       ) -> tuple[np.ndarray, np.ndarray]:
        from nar_utils.spaces.nb101 import cellinfo, encoding

        return cellinfo.network_totals(*encoding.unpack(batch))

    def op_counts(self, batch: np.ndarray) -> np.ndarray:
        from nar_utils.spaces.nb101 import encoding

        _, labels = encoding.unpack(batch)
        return np.stack([(labels == op).sum(axis=1) for op in INTERIOR_LABELS],
                        axis=1).astype(float)


__all__ = ["CONV1X1", "CONV3X3", "INPUT", "INTERIOR_LABELS", "INTERIOR_OPS", "LABEL_TO_OP",
           "MAX_EDGES", "MAX_VERTICES", "MAXPOOL3X3", "NUM_CELLS", "NUM_CELLS_BY_VERTICES",
           "OP_TO_LABEL", "OUTPUT", "PACKED_WIDTH", "PAD", "Cell", "NB101Space",
           "enumerate_packed", "enumerate_space", "hash_many", "pack", "pack_strings",
           "packed_strings", "prune", "spec_hash", "unpack"]
