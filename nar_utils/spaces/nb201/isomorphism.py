"""Canonical forms of NAS-Bench-201 cells: which cells are "the same" network.

Many of the 15,625 cells compute the same thing: a 'none' edge contributes nothing, a
node whose inputs are all 'none' outputs zeros, skip_connect is the identity, a node sums its
inputs in no particular order, and the two intermediate nodes (1 and 2) can often swap roles.
A *canonical form* is a string that two cells share exactly when they are equivalent under a
*convention*; three are provided, from fewest classes to most. Both ``'nb201'`` and
``'graph'`` split ``'function'`` classes further (each of their classes lies inside one
``'function'`` class), but neither refines the other.

``'function'`` - the cells compute the same expression of the input.
    Each node's value is written as a sum (a multiset) of terms: the input ``x``, or
    ``op(value)`` for a convolution or pooling applied to another node's value. skip_connect
    passes its source's terms on unchanged (identity; sums flatten). 'none' contributes
    nothing. A node with no terms is zero, and every edge leaving it is dead (its op is
    applied to zeros), the reading of :func:`nar_utils.spaces.nb201.is_disconnected`, whose cells
    the benchmark reports at chance accuracy. The form is the output node's sum with terms
    sorted, e.g. ``'avg_pool_3x3(nor_conv_1x1(x))+x'``; disconnected cells all read ``'0'``.
    Terms count with multiplicity (``x+x`` differs from ``x``). Node labels do not appear,
    so nodes 1 and 2 swap freely. Two caveats: a value used by two edges counts the same as
    the value computed twice by separate edges (weights shared or not), and a convolution
    fed zeros is taken as dead although its batch norm would output its learned shift.
    4,930 classes over the space (checked in the tests by evaluating every cell numerically).

``'nb201'`` (default) - the rule behind the published count of 6,466 unique cells.
    This is the rule of the NAS-Bench-201 / NATS-Bench code (``Structure.to_unique_str``
    with ``consider_zero=True``, reached through the API's ``get_unique_str``), written anew
    here. Node 0 reads ``'0'``. For node j, each incoming edge gives one term: ``'#'`` (a
    zero) when the op is 'none' or the source node reads exactly ``'#'``; the source's string
    unchanged for skip_connect; ``'(' + source + ')@' + op`` otherwise. The node reads its
    terms sorted as strings and joined by ``'+'``; the form is node 3's string. It agrees with
    ``'function'`` in spirit but keeps some structure, so it is finer:

    * zero terms stay in the sums, so a node records how many of its inputs are zero;
    * only a node with a single input (node 1) can read exactly ``'#'``: node 2 fed by two
      zeros reads ``'#+#'``, which is not recognised as zero downstream, so ops after it are
      not dead (for instance ``'#+#+(#+#)@nor_conv_3x3'``);
    * a skip_connect splices its source's string into the sum before sorting, so sums are
      compared as strings rather than as flattened multisets;
    * node 2 always has a term for the edge 1->2, node 1 has no such term, so the two
      nodes rarely read alike: exchanging them is recognised only when neither reaches the
      output, or when one of them is fed only zeros and both pass on by skip_connect
      (128 of the 3,000 cells where the exchange is possible).

    As a consequence the 341 disconnected cells fall into 5 classes, not 1. Every
    ``'nb201'`` class lies inside one ``'function'`` class.

``'graph'`` - the pruned, labelled DAG, up to swapping nodes 1 and 2.
    Remove the 'none' edges, then every edge that no longer lies on an input->output path
    (its source is unreachable from node 0, or node 3 is unreachable from its target). Two
    cells are equivalent when the remaining labelled edges coincide, possibly after swapping
    nodes 1 and 2, which is allowed when the edge 1->2 is gone (swapping would reverse it).
    Ops are only labels here: skip_connect is not the identity and sums are not flattened.
    The form is the arch string of the canonical cell (pruned edges set to 'none', the
    smaller op code of the two node orders). Disconnected cells all prune to the all-'none'
    cell. 8,765 classes.

Class ids (:func:`class_ids`) are global: classes are numbered in the order of their first
member by space index (:func:`nar_utils.spaces.nb201.space_index`), so a cell's id does not depend
on the batch it comes in.

Reference: X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search", ICLR 2020; X. Dong et al., "NATS-Bench", TPAMI 2021.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from nar_utils.spaces.nb201 import space

CONVENTIONS: tuple[str, ...] = ("nb201", "function", "graph")
DEFAULT_CONVENTION = "nb201"

_NONE = space.OP_CODE["none"]
_SKIP = space.OP_CODE["skip_connect"]
_OUTPUT = space.NUM_NODES - 1
_POWERS = space.NUM_OPS ** np.arange(space.NUM_EDGES - 1, -1, -1)
# Node relabelling that swaps the two intermediate nodes, as a permutation of edge indices.
_EDGE_INDEX = {edge: k for k, edge in enumerate(space.EDGES)}
_SWAP_NODES = {0: 0, 1: 2, 2: 1, 3: 3}
_SWAPPED_EDGE = [
    _EDGE_INDEX.get((_SWAP_NODES[src], _SWAP_NODES[dst]), -1) for src, dst in space.EDGES
]


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; valid conventions: {', '.join(CONVENTIONS)}"
        )


def _codes_of(arch) -> tuple[int, ...]:
    if isinstance(arch, np.ndarray):
        arch = arch.tolist()
    return tuple(int(code) for code in space.op_codes_array([arch])[0])


def _incoming(codes: tuple[int, ...]) -> dict[int, list[tuple[int, int]]]:
    """For each node 1..3, its incoming (source, op code) pairs in arch-string order."""
    incoming: dict[int, list[tuple[int, int]]] = {node: [] for node in range(1, space.NUM_NODES)}
    for (src, dst), code in zip(space.EDGES, codes):
        incoming[dst].append((src, code))
    return incoming


def _form_nb201(codes: tuple[int, ...]) -> str:
    zero = "#"
    value = {0: "0"}
    for node, inputs in _incoming(codes).items():
        terms = []
        for src, code in inputs:
            if code == _NONE or value[src] == zero:
                terms.append(zero)
            elif code == _SKIP:
                terms.append(value[src])
            else:
                terms.append(f"({value[src]})@{space.OPS[code]}")
        value[node] = "+".join(sorted(terms))
    return value[_OUTPUT]


def _form_function(codes: tuple[int, ...]) -> str:
    # A node's value is a list of terms (strings); an empty list is the zero tensor.
    value: dict[int, list[str]] = {0: ["x"]}
    for node, inputs in _incoming(codes).items():
        terms: list[str] = []
        for src, code in inputs:
            if code == _NONE or not value[src]:
                continue  # contributes nothing, or an op applied to zeros (dead)
            if code == _SKIP:
                terms.extend(value[src])  # identity: the sum flattens
            else:
                terms.append(f"{space.OPS[code]}({'+'.join(value[src])})")
        value[node] = sorted(terms)
    return "+".join(value[_OUTPUT]) or "0"


def _prune_graph(codes: tuple[int, ...]) -> list[int]:
    """Op codes with 'none' and every edge off all input->output paths set to 'none'."""
    live = [code != _NONE for code in codes]
    from_input = {0}
    for k, (src, dst) in enumerate(space.EDGES):  # EDGES is sorted by destination
        if live[k] and src in from_input:
            from_input.add(dst)
    to_output = {_OUTPUT}
    for k in sorted(range(space.NUM_EDGES), key=lambda k: -space.EDGES[k][0]):
        src, dst = space.EDGES[k]
        if live[k] and dst in to_output:
            to_output.add(src)
    return [
        code if live[k] and src in from_input and dst in to_output else _NONE
        for k, ((src, dst), code) in enumerate(zip(space.EDGES, codes))
    ]


def _form_graph(codes: tuple[int, ...]) -> str:
    pruned = _prune_graph(codes)
    best = tuple(pruned)
    if pruned[_EDGE_INDEX[(1, 2)]] == _NONE:
        swapped = [_NONE] * space.NUM_EDGES
        for k, code in enumerate(pruned):
            if _SWAPPED_EDGE[k] >= 0:
                swapped[_SWAPPED_EDGE[k]] = code
        best = min(best, tuple(swapped))
    return space.format_arch_str(best)


_FORMS = {"nb201": _form_nb201, "function": _form_function, "graph": _form_graph}


def canonical_form(arch, convention: str = DEFAULT_CONVENTION) -> str:
    """The canonical string of one cell (arch string, op-code string, or 6 op codes).

    Two cells share it exactly when they are equivalent under ``convention`` (one of
    :data:`CONVENTIONS`; see the module docstring for what each means).
    """
    _check_convention(convention)
    return _FORMS[convention](_codes_of(arch))


@lru_cache(maxsize=None)
def _space_table(convention: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forms, class ids and class representatives of all 15,625 cells (space-index order)."""
    forms = np.array([_FORMS[convention](tuple(row)) for row in space.all_op_codes().tolist()],
                     dtype=object)
    ids = np.empty(space.NUM_ARCHS, dtype=np.int64)
    first_member: dict[str, int] = {}
    for index, form in enumerate(forms):
        ids[index] = first_member.setdefault(form, len(first_member))
    # Ids follow first appearance, so the first index of id k is class k's representative.
    representatives = np.unique(ids, return_index=True)[1].astype(np.int64)
    for array in (forms, ids, representatives):
        array.setflags(write=False)
    return forms, ids, representatives


def _space_indices(archs) -> np.ndarray:
    from nar_utils.spaces.nb201.encoding import _as_op_codes

    return _as_op_codes(archs) @ _POWERS


def canonical_forms(archs, convention: str = DEFAULT_CONVENTION) -> list[str]:
    """Canonical strings of many cells (anything :func:`nar_utils.spaces.nb201.op_codes_array`
    accepts, or an ``(N, 6)`` int array), looked up in a table of the whole space."""
    _check_convention(convention)
    forms, _, _ = _space_table(convention)
    return forms[_space_indices(archs)].tolist()


def class_ids(archs, convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """Global equivalence-class id (int64) of each cell, ``0 .. num_unique(convention) - 1``.

    Classes are numbered by their first member in space-index order (class 0 holds the
    all-'none' cell), so ids are the same whichever batch a cell comes in.
    """
    _check_convention(convention)
    _, ids, _ = _space_table(convention)
    return ids[_space_indices(archs)]


def unique_cells(archs, convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """Positions (int64, ascending) in ``archs`` of the first cell of each class present.

    ``[archs[i] for i in unique_cells(archs)]`` keeps one cell per equivalence class.
    """
    ids = class_ids(archs, convention)
    _, first = np.unique(ids, return_index=True)
    return np.sort(first)


def num_unique(archs=None, convention: str = DEFAULT_CONVENTION) -> int:
    """Number of equivalence classes among ``archs`` (default: the whole 15,625-cell space).

    ``num_unique()`` is 6,466 for ``'nb201'``, the count NAS-Bench-201 publishes.
    """
    _check_convention(convention)
    if archs is None:
        return len(_space_table(convention)[2])
    return int(np.unique(class_ids(archs, convention)).size)


def class_representatives(convention: str = DEFAULT_CONVENTION) -> np.ndarray:
    """``(num_unique, 6)`` int8 op codes of each class's first cell by space index.

    Row ``k`` is the representative of class id ``k`` (see :func:`class_ids`).
    """
    _check_convention(convention)
    _, _, representatives = _space_table(convention)
    return space.all_op_codes()[representatives]


def augment(archs, y, convention: str = DEFAULT_CONVENTION, max_added: int | None = 3,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training data augmented with cells equivalent to the labelled ones.

    Each labelled cell brings other members of its class under ``convention`` with its label:
    all of them, or at most ``max_added`` drawn at random (``seed``). The cap matters: a class
    holds 2.4 cells on average under 'nb201' (15,625 / 6,466), but a labelled cell lies in a
    large class more often than not (the cells with dead edges form big classes; the class of
    a random cell holds 36 cells on average), and uncapped the copies of a few classes would
    outnumber everything else. Returns ``(codes (M, 6) int64, y (M,), source (M,))``: the
    labelled cells first, in order, then the added ones; ``source[i]`` is the position in
    ``archs`` whose label row ``i`` carries. No label is added, only inputs the benchmark
    counts as the same network.
    """
    _check_convention(convention)
    if max_added is not None and (isinstance(max_added, bool) or not isinstance(
            max_added, (int, np.integer)) or max_added < 0):
        raise ValueError(f"max_added must be None or an int >= 0, got {max_added!r}")
    rng = np.random.default_rng(seed)
    codes = np.asarray(space.all_op_codes(), dtype=np.int64)[_space_indices(archs)]
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(codes),):
        raise ValueError(f"y must have shape ({len(codes)},) to match the cells, got "
                         f"{y.shape}")
    _, ids, _ = _space_table(convention)
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], np.arange(ids.max() + 2))
    own = _space_indices(codes)
    extra_index, extra_source = [], []
    for position, (index, class_id) in enumerate(zip(own, ids[own])):
        members = order[starts[class_id]:starts[class_id + 1]]
        members = members[members != index]
        if max_added is not None and len(members) > max_added:
            members = np.sort(rng.choice(members, max_added, replace=False))
        extra_index.append(members)
        extra_source.append(np.full(len(members), position, dtype=np.int64))
    extra_index = np.concatenate(extra_index) if extra_index else np.zeros(0, np.int64)
    extra_source = np.concatenate(extra_source) if extra_source else np.zeros(0, np.int64)
    source = np.concatenate([np.arange(len(codes), dtype=np.int64), extra_source])
    all_codes = np.asarray(space.all_op_codes(), dtype=np.int64)
    return (np.concatenate([codes, all_codes[extra_index]]), y[source], source)


def is_isomorphic(arch_a, arch_b, convention: str = DEFAULT_CONVENTION) -> bool:
    """True when the two cells are equivalent under ``convention``."""
    return canonical_form(arch_a, convention) == canonical_form(arch_b, convention)


__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
    "augment",
    "canonical_form",
    "canonical_forms",
    "class_ids",
    "class_representatives",
    "is_isomorphic",
    "num_unique",
    "unique_cells",
]
