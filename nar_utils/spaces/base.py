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
import operator
import reprlib
from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np

#: How many characters of a bad input an error message quotes: a message must stay
#: readable (and small) when the input is a megabyte of text.
QUOTE_LIMIT = 80
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 12
_REPR.maxlevel = 3


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, followed by the value's total size
    when it was cut, so that an error quoting a bad value stays short: a megabyte string or a
    file's worth of list would otherwise make a megabyte message. The cost is bounded too
    (strings are sliced before ``repr``, containers go through :mod:`reprlib`)."""
    if isinstance(value, np.generic) and value.dtype.kind != "V":
        value = value.item()  # 4, not np.int64(4)
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        size, unit = len(value), "characters" if isinstance(value, str) else "bytes"
        text = repr(value if size <= limit else bytes(value[:limit]) if unit == "bytes"
                    else value[:limit])
        return text if size <= limit else f"{text[:limit + 2]}... ({size:,} {unit} in all)"
    if isinstance(value, np.ndarray) and value.size > limit:
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still named
        text = f"<{type(value).__name__} object>"
    try:
        size = len(value)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - unsized, or a len() that fails
        size = None
    if len(text) <= limit and (size is None or size <= _REPR.maxlist):
        return text
    total = "" if size is None or size <= _REPR.maxlist else f" ({size:,} items in all)"
    return f"{text[:limit]}...{total}" if len(text) > limit else f"{text}{total}"


def as_index(value: Any, what: str = "index") -> int:
    """``value`` as a Python int, for arguments that count or index something.

    Python and numpy integers (and anything with ``__index__``) pass; bools and floats are
    refused with a ``TypeError``, because ``int()`` would read ``True`` as 1 and truncate
    3.7 to 3 without a word (a float that happens to be whole, such as 2.0, is refused too:
    indices are integers, as for Python's lists and numpy's arrays).
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got the bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        hint = " (pass int(x) if a whole float is meant)" \
            if isinstance(value, (float, np.floating)) else ""
        raise TypeError(f"{what} must be an integer, got {type(value).__name__} "
                        f"{quote(value)}{hint}") from None

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
        """A readable name of one cell (its row of a batch: integers)."""
        values = np.asarray(row)
        whole = values.dtype.kind in "iu" or (
            values.dtype.kind == "f" and bool(np.all(np.isfinite(values) &
                                                     (values == np.round(values)))))
        if not whole:
            raise TypeError(f"a cell row must hold integers, got dtype {values.dtype}: "
                            f"{quote(row)}")
        return ",".join(str(int(v)) for v in values.ravel())

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

    #: Conventions :meth:`canonical` accepts (empty: the space's cells are unique already).
    canonical_conventions: tuple[str, ...] = ()

    def check_convention(self, convention: str | None) -> str | None:
        """``convention`` when the space has it (or it is None), else a ValueError naming
        the conventions it has."""
        if convention is not None and convention not in self.canonical_conventions:
            held = ", ".join(self.canonical_conventions) or "none: its cells are unique"
            raise ValueError(f"search space {self.name!r} has no isomorphism convention "
                             f"{quote(convention)}; it has {held}")
        return convention

    def canonical(self, batch: np.ndarray, convention: str | None = None) -> np.ndarray:
        """Each cell replaced by one fixed member of its isomorphism class, so that cells
        that are the same network give the same input to an encoding; ``None`` returns
        ``batch``. The base space's cells are unique already (an NB101 cell is its pruned
        graph, named by its hash), so it has no convention."""
        self.check_convention(convention)
        return batch

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

    def op_channels(self, batch: np.ndarray) -> np.ndarray:
        """One-hot op channels ``(N, K, H, W)`` shaped like the feature tensor's patches, one
        channel per op (see the space's ``encoding.op_channels``)."""
        return self.module("encoding").op_channels(batch)

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
