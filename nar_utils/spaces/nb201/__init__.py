"""NAS-Bench-201: the cell space (:mod:`.space`), its network (:mod:`.network`), cell
information (:mod:`.cellinfo`), encodings (:mod:`.encoding`) and isomorphism classes
(:mod:`.isomorphism`), behind :class:`NB201Space`. Importing this package imports neither
torch nor the network: those modules load when first used."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nar_utils._lazy import lazy
from nar_utils.spaces.base import SearchSpace, as_index
from nar_utils.spaces.nb201.space import (
    DATASETS,
    EDGES,
    NUM_ARCHS,
    NUM_EDGES,
    NUM_NODES,
    NUM_OPS,
    OP_CODE,
    OPS,
    RESNET_ARCH,
    adjacency,
    all_arch_strs,
    all_op_codes,
    arch_str_from_op_code,
    format_arch_str,
    format_arch_strs,
    is_disconnected,
    op_code_from_arch_str,
    op_codes_array,
    ops_from_space_index,
    parse_arch_str,
    parse_op_code,
    space_index,
)

# network, cellinfo, encoding and isomorphism load on first use (the network imports torch)
__getattr__, _lazy_dir = lazy(__name__, ("cellinfo", "encoding", "isomorphism", "network",
                                         "space"))

_POWERS = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int64)


class NB201Space(SearchSpace):
    """NAS-Bench-201: 6 edges, 5 operations each; a batch row holds the 6 op codes."""

    name = "nb201"
    datasets = DATASETS
    op_names = OPS

    def batch(self, archs: Any) -> np.ndarray:
        if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu" and archs.ndim == 2:
            return archs.astype(np.int64)
        return op_codes_array(archs).astype(np.int64)

    def benchmark_archs(self, bench: Any) -> np.ndarray:
        codes = np.asarray(bench.op_codes)
        if codes.ndim != 2 or codes.shape[1] != NUM_EDGES:
            raise ValueError(f"bench.op_codes must be (N, {NUM_EDGES}), got {codes.shape}")
        return codes.astype(np.int64)

    def indexer(self, batch: np.ndarray) -> Callable[[Any], np.ndarray | int]:
        row_of_index = np.full(NUM_ARCHS, -1, dtype=np.int64)
        row_of_index[np.asarray(batch, dtype=np.int64) @ _POWERS] = np.arange(len(batch))

        def index_of(op_codes) -> np.ndarray | int:
            given = np.asarray(op_codes)
            if given.dtype.kind not in "iu" and not (
                    given.dtype.kind == "f" and np.all(np.isfinite(given))
                    and np.all(given == np.round(given))):
                # bools, fractional floats, strings: int64 would read True as 1 and 3.7 as 3
                raise ValueError(f"op codes must be (..., {NUM_EDGES}) integers in "
                                 f"0..{NUM_OPS - 1}, got dtype {given.dtype}")
            codes = given.astype(np.int64)
            if codes.ndim == 0 or codes.shape[-1] != NUM_EDGES or \
                    codes.min(initial=0) < 0 or codes.max(initial=0) >= NUM_OPS:
                raise ValueError(f"op codes must be (..., {NUM_EDGES}) ints in "
                                 f"0..{NUM_OPS - 1}, got shape {codes.shape}")
            out = row_of_index[codes @ _POWERS]
            return int(out) if out.ndim == 0 else out

        return index_of

    def arch_str(self, row: np.ndarray) -> str:
        return format_arch_str(row)

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """Every edge's op drawn uniformly: each of the 15,625 cells equally likely."""
        count = as_index(count, "count")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        return rng.integers(NUM_OPS, size=(count, NUM_EDGES), dtype=np.int64)

    def op_choices(self, batch: np.ndarray) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(int(c) for c in np.unique(batch[:, e])) for e in range(NUM_EDGES))

    def mutate(self, row: np.ndarray, rng: np.random.Generator,
               op_choices: tuple[tuple[int, ...], ...]) -> np.ndarray | None:
        """One edge (among those with a choice) changes its op uniformly to another op."""
        edges = [e for e in range(NUM_EDGES) if len(op_choices[e]) > 1]
        if not edges:
            return None
        edge = edges[int(rng.integers(len(edges)))]
        others = [c for c in op_choices[edge] if c != row[edge]]
        child = np.array(row, dtype=np.int64)
        child[edge] = others[int(rng.integers(len(others)))]
        return child

    canonical_conventions = ("nb201", "function", "graph")

    def canonical(self, batch: np.ndarray, convention: str | None = "function") -> np.ndarray:
        """Each cell replaced by its class's representative (the class's first cell by space
        index, :func:`.isomorphism.class_representatives`) under ``convention`` ('function'
        by default: cells that compute the same expression of the input; see
        :mod:`.isomorphism`). ``None`` returns ``batch`` unchanged."""
        if self.check_convention(convention) is None:
            return batch
        from nar_utils.spaces.nb201 import isomorphism

        reps = isomorphism.class_representatives(convention)
        return reps[isomorphism.class_ids(batch, convention)].astype(np.int64)

    def onehot(self, batch: np.ndarray) -> np.ndarray:
        from nar_utils.spaces.nb201 import encoding

        return encoding.onehot(batch)

    def feature_tensor(self, batch: np.ndarray, dataset: str,
                       faithful: bool = False) -> np.ndarray:
        from nar_utils.spaces.nb201 import encoding

        return encoding.feature_tensor(batch, dataset, faithful=faithful)

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        from nar_utils.spaces.nb201 import encoding

        return encoding.NUM_CHANNELS, NUM_NODES, NUM_NODES

    def network_totals(self, batch: np.ndarray, dataset: str) -> tuple[np.ndarray, np.ndarray]:
        from nar_utils.spaces.nb201 import cellinfo

        return cellinfo.network_totals(dataset, batch)

    def op_counts(self, batch: np.ndarray) -> np.ndarray:
        return np.stack([(batch == op).sum(axis=1) for op in range(NUM_OPS)],
                        axis=1).astype(float)


__all__ = ["DATASETS", "EDGES", "NUM_ARCHS", "NUM_EDGES", "NUM_NODES", "NUM_OPS", "OP_CODE", "OPS",
           "RESNET_ARCH",
           "NB201Space", "adjacency", "all_arch_strs", "all_op_codes", "arch_str_from_op_code",
           "format_arch_str", "format_arch_strs", "is_disconnected", "op_code_from_arch_str",
           "op_codes_array", "ops_from_space_index", "parse_arch_str", "parse_op_code",
           "space_index"]
