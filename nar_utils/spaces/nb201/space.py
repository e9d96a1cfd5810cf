"""The NAS-Bench-201 cell search space: operations, edges, arch strings and op codes.

A NAS-Bench-201 cell is a DAG on 4 nodes; each of its 6 edges ``src -> dst`` (``src < dst``)
carries one of 5 operations. The official arch string lists the edges grouped by their
destination node::

    |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
     1<-0   2<-0 2<-1   3<-0 3<-1 3<-2

An *op code* is the 6-digit string of operation codes in that same edge order
(``'421211'`` for arch 0 of the benchmark). The *space index* is the op code read as a
base-5 number (0 .. 15,624); it is this package's own enumeration and differs from the
benchmark's official ``arch_index``, which only the benchmark files define
(see :mod:`nar_utils.benchmarks`).

Reference: X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible
Neural Architecture Search", ICLR 2020.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

#: Operation names; an operation's code is its position in this tuple.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OP_CODE: dict[str, int] = {name: code for code, name in enumerate(OPS)}
NUM_OPS = len(OPS)
NUM_NODES = 4
#: Edges as (src, dst) in arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_ARCHS = NUM_OPS**NUM_EDGES  # 15,625
#: The ResNet cell of the space: two 3x3 convolutions in a row and a skip connection around
#: them (the benchmark's 'resnet' model).
RESNET_ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
#: The benchmark's datasets, by their official names.
DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")

_POWERS = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)  # most significant digit = first edge


def parse_arch_str(arch_str: str) -> tuple[int, ...]:
    """Parse an official arch string into its 6 op codes (arch-string edge order).

    Raises ``ValueError`` naming the offending token and its position when the string is
    malformed (wrong node grouping, unknown operation, wrong input node).
    """
    if not isinstance(arch_str, str):
        raise TypeError(f"arch_str must be a str, got {type(arch_str).__name__}: {arch_str!r}")
    nodes = arch_str.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ValueError(
            f"arch string {arch_str!r} has {len(nodes)} node groups separated by '+', "
            f"expected {NUM_NODES - 1}, like '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
        )
    codes: list[int] = []
    offset = 0
    for dst, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ValueError(
                f"arch string {arch_str!r}: node group {group!r} at character {offset} "
                "must start and end with '|'"
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != dst:
            raise ValueError(
                f"arch string {arch_str!r}: node {dst} (group {group!r} at character {offset}) "
                f"has {len(tokens)} inputs, expected {dst}"
            )
        pos = offset + 1
        for src, token in enumerate(tokens):
            name, sep, inp = token.partition("~")
            if name not in OP_CODE:
                raise ValueError(
                    f"arch string {arch_str!r}: unknown operation {name!r} in token {token!r} "
                    f"at character {pos}; valid operations: {', '.join(OPS)}"
                )
            if sep != "~" or inp != str(src):
                raise ValueError(
                    f"arch string {arch_str!r}: token {token!r} at character {pos} should read "
                    f"'{name}~{src}' (edge {src}->{dst})"
                )
            codes.append(OP_CODE[name])
            pos += len(token) + 1
        offset += len(group) + 1
    return tuple(codes)


def format_arch_str(ops: Sequence[int] | str) -> str:
    """Format op codes (6 ints, names, or a 6-digit op-code string) as an arch string."""
    codes = _as_codes(ops)
    groups, k = [], 0
    for dst in range(1, NUM_NODES):
        groups.append("|" + "|".join(f"{OPS[codes[k + s]]}~{s}" for s in range(dst)) + "|")
        k += dst
    return "+".join(groups)


def _as_codes(ops: Sequence[int] | Sequence[str] | str) -> tuple[int, ...]:
    if isinstance(ops, str):
        if ops.startswith("|"):
            return parse_arch_str(ops)
        return parse_op_code(ops)
    ops = list(ops)
    if len(ops) != NUM_EDGES:
        raise ValueError(f"expected {NUM_EDGES} operations, got {len(ops)}: {ops!r}")
    codes = []
    for i, op in enumerate(ops):
        if isinstance(op, str):
            if op not in OP_CODE:
                raise ValueError(f"unknown operation {op!r} at edge {i}; valid: {', '.join(OPS)}")
            codes.append(OP_CODE[op])
        else:
            code = int(op)
            if not 0 <= code < NUM_OPS:
                raise ValueError(f"op code {op!r} at edge {i} is out of range 0..{NUM_OPS - 1}")
            codes.append(code)
    return tuple(codes)


def parse_op_code(op_code: str) -> tuple[int, ...]:
    """Parse a 6-digit op-code string (e.g. ``'421211'``) into a tuple of ints."""
    if not isinstance(op_code, str):
        raise TypeError(
            f"op_code must be a 6-digit str (read it as a string, not an int), got {op_code!r}"
        )
    if len(op_code) != NUM_EDGES:
        raise ValueError(f"op code {op_code!r} has {len(op_code)} digits, expected {NUM_EDGES}")
    for i, ch in enumerate(op_code):
        if ch not in "01234":
            raise ValueError(
                f"op code {op_code!r}: character {ch!r} at position {i} is not a digit 0..4"
            )
    return tuple(int(ch) for ch in op_code)


def op_code_from_arch_str(arch_str: str) -> str:
    """``'|avg_pool_3x3~0|+...'`` -> ``'421211'``."""
    return "".join(str(c) for c in parse_arch_str(arch_str))


def arch_str_from_op_code(op_code: str) -> str:
    """``'421211'`` -> ``'|avg_pool_3x3~0|+...'``."""
    return format_arch_str(parse_op_code(op_code))


def space_index(ops: Sequence[int] | str) -> int:
    """The package's own index of a cell: its op codes read as a base-5 number."""
    return int(np.dot(_as_codes(ops), _POWERS))


def ops_from_space_index(index: int) -> tuple[int, ...]:
    """Inverse of :func:`space_index`."""
    index = int(index)
    if not 0 <= index < NUM_ARCHS:
        raise IndexError(f"space index {index} is out of range 0..{NUM_ARCHS - 1}")
    return tuple(int(d) for d in (index // _POWERS) % NUM_OPS)


def all_op_codes() -> np.ndarray:
    """All 15,625 cells as an ``(15625, 6)`` int8 array, row ``i`` = space index ``i``."""
    idx = np.arange(NUM_ARCHS)[:, None]
    return ((idx // _POWERS) % NUM_OPS).astype(np.int8)


def all_arch_strs() -> list[str]:
    """All 15,625 arch strings in space-index order."""
    return [format_arch_str(row) for row in all_op_codes()]


def op_codes_array(archs: Iterable[str | Sequence[int]]) -> np.ndarray:
    """Many cells (arch strings, op-code strings or code tuples) as an ``(N, 6)`` int8 array."""
    return np.array([_as_codes(a) for a in archs], dtype=np.int8).reshape(-1, NUM_EDGES)


def adjacency(ops: Sequence[int] | str) -> np.ndarray:
    """The 4x4 op-type matrix of a cell: ``A[src, dst]`` = op code on edge ``src -> dst``.

    Entries below the diagonal are not edges; ``none`` (code 0) and "no edge" both read 0
    here, so use :data:`EDGES` or a mask when the difference matters.
    """
    codes = _as_codes(ops)
    mat = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int8)
    for (src, dst), code in zip(EDGES, codes):
        mat[src, dst] = code
    return mat


def is_disconnected(ops: Sequence[int] | str) -> bool:
    """True when no path of non-'none' edges links the input (node 0) to the output (node 3).

    Such cells output zeros; the benchmark reports them at chance accuracy (10 % on CIFAR-10).
    """
    codes = _as_codes(ops)
    reach = {0}
    for (src, dst), code in zip(EDGES, codes):  # EDGES is topologically ordered by dst
        if code != OP_CODE["none"] and src in reach:
            reach.add(dst)
    return NUM_NODES - 1 not in reach
