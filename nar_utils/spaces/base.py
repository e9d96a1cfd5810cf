"""What every search space offers, behind one object: :class:`SearchSpace`.

Code outside :mod:`nar_utils.spaces` never asks *which* space it holds; it asks the space
object (``space.feature_tensor(batch, dataset)``, ``space.network_totals(batch, dataset)``,
``space.op_choices(batch)``, ...). A third search space is one more folder here with one more
subclass, registered in :data:`SPACES`.

A space reads cells as a *batch*: an ``(N, D)`` int64 array, one row per cell, in the form
its encodings and predictors read (NAS-Bench-201: the 6 op codes; NAS-Bench-101: the 56-wide
packed row of :func:`nar_utils.spaces.nb101.pack`). Spaces import no data: benchmarks hand
them cells, never the other way round.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np

#: Registered spaces: name -> "module:Class" (imported on first use, so that asking for one
#: space does not import the other's code).
SPACES: dict[str, str] = {
    "nb201": "nar_utils.spaces.nb201:NB201Space",
    "nb101": "nar_utils.spaces.nb101:NB101Space",
}
_INSTANCES: dict[str, SearchSpace] = {}


class SearchSpace(ABC):
    """One cell search space: batches of cells, their encodings, costs and neighbours."""

    #: Short name, a key of :data:`SPACES` ('nb201', 'nb101').
    name: str = ""
    #: Datasets whose cell costs (and so feature tensor) the space defines.
    datasets: tuple[str, ...] = ()
    #: The operations :meth:`op_counts` counts, in column order.
    op_names: tuple[str, ...] = ()

    # -- cells ------------------------------------------------------------------------------
    @abstractmethod
    def batch(self, archs: Any) -> np.ndarray:
        """Cells in any accepted form as a validated ``(N, D)`` int64 batch."""

    @abstractmethod
    def benchmark_archs(self, bench: Any) -> np.ndarray:
        """The cells of a benchmark of this space as a batch (row i = arch index i)."""

    @abstractmethod
    def indexer(self, batch: np.ndarray) -> Callable[[Any], np.ndarray | int]:
        """A look-up from cells (one row or an ``(M, D)`` array) to their row in ``batch``
        (-1 where ``batch`` lacks the cell): an int for one row, an array for many."""

    def arch_str(self, row: np.ndarray) -> str:
        """A readable name of one cell."""
        return ",".join(str(int(v)) for v in np.asarray(row).ravel())

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` cells drawn uniformly from the whole space, as a batch."""
        raise NotImplementedError(
            f"search space {self.name!r} cannot draw cells uniformly by itself; sample the "
            "cells a benchmark holds instead (nar_utils.search.random_search, a Ledger's "
            "archs)")

    def op_choices(self, batch: np.ndarray) -> tuple[tuple[int, ...], ...] | None:
        """Per decision of a cell, the ops that ``batch`` holds there, when the space is a
        product of independent per-edge choices (so cells can be built edge by edge and
        mutated one edge at a time); None otherwise."""
        return None

    def mutate(self, row: np.ndarray, rng: np.random.Generator,
               op_choices: tuple[tuple[int, ...], ...]) -> np.ndarray | None:
        """A one-decision mutant of ``row`` (None if no decision has a second choice)."""
        raise NotImplementedError(
            f"search space {self.name!r} is not a product of per-edge choices, so it has no "
            "one-edge mutation; use a method that samples the benchmark's cells (random "
            "search, predictor-guided random search, the tier sampler)")

    # -- encodings --------------------------------------------------------------------------
    @abstractmethod
    def onehot(self, batch: np.ndarray) -> np.ndarray:
        """The flat vector an MLP reads."""

    def module(self, name: str):
        """The space's module ``name`` ('encoding', 'cellinfo', 'network', ...): every space
        package holds the same module names, so the shared methods below read them."""
        return importlib.import_module(f"nar_utils.spaces.{self.name}.{name}")

    def path_encoding(self, batch: np.ndarray) -> np.ndarray:
        """Input-to-output paths as a 0/1 vector (BANANAS)."""
        return self.module("encoding").path_encoding(batch)

    @abstractmethod
    def feature_tensor(self, batch: np.ndarray, dataset: str,
                       faithful: bool = False) -> np.ndarray:
        """NAR's feature tensor, ``(N, *feature_shape)``."""

    @property
    @abstractmethod
    def feature_shape(self) -> tuple[int, int, int]:
        """Shape of one cell's feature tensor: (channels, height, width)."""

    def graph_encoding(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(adjacency, node_ops)`` of the graph a GCN reads."""
        return self.module("encoding").graph_encoding(batch)

    @property
    def num_node_types(self) -> int:
        """Width of ``node_ops`` in :meth:`graph_encoding`."""
        return len(self.module("encoding").GRAPH_NODE_TYPES)

    # -- costs and statistics -----------------------------------------------------------------
    @abstractmethod
    def network_totals(self, batch: np.ndarray, dataset: str) -> tuple[np.ndarray, np.ndarray]:
        """FLOPs and parameters of the whole network of each cell."""

    @abstractmethod
    def op_counts(self, batch: np.ndarray) -> np.ndarray:
        """``(N, len(op_names))`` float: how often each op occurs in each cell."""

    def check_dataset(self, dataset: str) -> str:
        if dataset not in self.datasets:
            raise ValueError(f"unknown dataset {dataset!r} for space {self.name!r}; valid: "
                             f"{', '.join(self.datasets)}")
        return dataset

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def get_space(space: str | SearchSpace = "nb201") -> SearchSpace:
    """The space object named ``space`` ('nb201', 'nb101'), or ``space`` itself."""
    if isinstance(space, SearchSpace):
        return space
    if space not in SPACES:
        raise ValueError(f"unknown search space {space!r}; valid: {', '.join(SPACES)}")
    if space not in _INSTANCES:
        module, _, cls = SPACES[space].partition(":")
        _INSTANCES[space] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[space]
