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

import functools
import itertools
from typing import Iterable, Sequence

import numpy as np

from nar_utils.spaces.base import as_index, quote

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
    malformed (wrong node grouping, unknown operation, wrong input node), ``TypeError`` when
    it is not a string. Only canonical strings parse: ``format_arch_str(parse_arch_str(s))
    == s`` for every string accepted. Messages quote at most the first
    :data:`nar_utils.spaces.base.QUOTE_LIMIT` characters of a bad input.
    """
    if not isinstance(arch_str, str):
        raise TypeError(f"arch_str must be a str, got {type(arch_str).__name__}: "
                        f"{quote(arch_str)}")
    text = quote(arch_str)
    nodes = arch_str.split("+", NUM_NODES - 1)  # at most 3 parts: a '+' left over is a fault
    if len(nodes) != NUM_NODES - 1 or "+" in nodes[-1]:
        count = arch_str.count("+") + 1
        raise ValueError(
            f"arch string {text} has {count} node groups separated by '+', "
            f"expected {NUM_NODES - 1}, like '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
        )
    codes: list[int] = []
    offset = 0
    for dst, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ValueError(
                f"arch string {text}: node group {quote(group)} at character {offset} "
                "must start and end with '|'"
            )
        tokens = group[1:-1].split("|", dst)  # at most dst + 1 parts, enough to see a fault
        if len(tokens) != dst:
            count = group.count("|") - 1
            raise ValueError(
                f"arch string {text}: node {dst} (group {quote(group)} at character "
                f"{offset}) has {count} inputs, expected {dst}"
            )
        pos = offset + 1
        for src, token in enumerate(tokens):
            name, sep, inp = token.partition("~")
            if name not in OP_CODE:
                raise ValueError(
                    f"arch string {text}: unknown operation {quote(name)} in token "
                    f"{quote(token)} at character {pos}; valid operations: {', '.join(OPS)}"
                )
            if sep != "~" or inp != str(src):
                raise ValueError(
                    f"arch string {text}: token {quote(token)} at character {pos} should "
                    f"read '{name}~{src}' (edge {src}->{dst})"
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


@functools.lru_cache(maxsize=1)
def _group_texts() -> tuple[tuple[str, ...], ...]:
    """Per node 1..3, the text of its group for every combination of its input ops, in
    base-5 order of the combination (so that a group's codes read as a number index it)."""
    return tuple(tuple("|" + "|".join(f"{OPS[c]}~{s}" for s, c in enumerate(combo)) + "|"
                       for combo in itertools.product(range(NUM_OPS), repeat=dst))
                 for dst in range(1, NUM_NODES))


def format_arch_strs(op_codes: np.ndarray) -> list[str]:
    """Arch strings of many cells at once: ``(N, 6)`` op codes -> N strings, equal to
    ``[format_arch_str(row) for row in op_codes]`` and some 20 times faster (each node's group
    is looked up whole instead of formatted)."""
    codes = np.asarray(op_codes)
    if codes.dtype.kind not in "iu" or codes.ndim != 2 or codes.shape[1] != NUM_EDGES:
        raise ValueError(f"op codes must be an (N, {NUM_EDGES}) integer array, got dtype "
                         f"{codes.dtype}, shape {codes.shape}")
    if codes.size and (codes.min() < 0 or codes.max() >= NUM_OPS):
        raise ValueError(f"op codes must lie in 0..{NUM_OPS - 1} ({', '.join(OPS)})")
    codes = codes.astype(np.int64)
    one, two, three = _group_texts()
    first = codes[:, 0].tolist()
    second = (codes[:, 1] * NUM_OPS + codes[:, 2]).tolist()
    third = (codes[:, 3] * NUM_OPS**2 + codes[:, 4] * NUM_OPS + codes[:, 5]).tolist()
    return [f"{one[a]}+{two[b]}+{three[c]}" for a, b, c in zip(first, second, third)]


def _op_value(op, edge: int) -> int:
    """One op code given as a number: integers, and floats that are whole (op codes read
    from a float array); bools and other floats are refused rather than truncated."""
    if isinstance(op, (bool, np.bool_)):
        raise TypeError(f"op code at edge {edge} must be an integer 0..{NUM_OPS - 1}, got the "
                        f"bool {op!r}")
    if isinstance(op, (float, np.floating)):
        if not (np.isfinite(op) and float(op).is_integer()):
            raise ValueError(f"op code {op!r} at edge {edge} is not a whole number; op codes "
                             f"are integers 0..{NUM_OPS - 1} ({', '.join(OPS)})")
        return int(op)
    try:
        return as_index(op, f"op code at edge {edge}")
    except TypeError:
        raise TypeError(f"op code at edge {edge} must be an integer 0..{NUM_OPS - 1} or an "
                        f"operation name, got {type(op).__name__} {quote(op)}") from None


def _as_codes(ops: Sequence[int] | Sequence[str] | str) -> tuple[int, ...]:
    if isinstance(ops, str):
        if ops.startswith("|"):
            return parse_arch_str(ops)
        return parse_op_code(ops)
    if isinstance(ops, (bytes, bytearray)):
        raise TypeError(f"a cell given as bytes ({quote(ops)}); decode it to a str first")
    if isinstance(ops, np.ndarray):
        ops = ops.tolist() if ops.ndim == 1 else ops
    try:
        ops = list(ops)
    except TypeError:
        raise TypeError(f"a cell must be an arch string, a 6-digit op-code string or "
                        f"{NUM_EDGES} op codes, got {type(ops).__name__} {quote(ops)}") from None
    if len(ops) != NUM_EDGES:
        raise ValueError(f"expected {NUM_EDGES} operations, got {len(ops)}: {quote(ops)}")
    codes = []
    for i, op in enumerate(ops):
        if isinstance(op, str):
            if op not in OP_CODE:
                raise ValueError(f"unknown operation {quote(op)} at edge {i}; valid: "
                                 f"{', '.join(OPS)}")
            codes.append(OP_CODE[op])
        else:
            code = _op_value(op, i)
            if not 0 <= code < NUM_OPS:
                raise ValueError(f"op code {quote(op)} at edge {i} is out of range "
                                 f"0..{NUM_OPS - 1}")
            codes.append(code)
    return tuple(codes)


def parse_op_code(op_code: str) -> tuple[int, ...]:
    """Parse a 6-digit op-code string (e.g. ``'421211'``) into a tuple of ints."""
    if not isinstance(op_code, str):
        raise TypeError(
            "op_code must be a 6-digit str (read it as a string, not an int), got "
            f"{quote(op_code)}"
        )
    if len(op_code) != NUM_EDGES:
        raise ValueError(f"op code {quote(op_code)} has {len(op_code)} digits, expected "
                         f"{NUM_EDGES}")
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
    """Inverse of :func:`space_index` (``index`` an integer: a bool or float is refused)."""
    index = as_index(index, "space index")
    if not 0 <= index < NUM_ARCHS:
        raise IndexError(f"space index {index} is out of range 0..{NUM_ARCHS - 1}")
    return tuple(int(d) for d in (index // _POWERS) % NUM_OPS)


def all_op_codes() -> np.ndarray:
    """All 15,625 cells as an ``(15625, 6)`` int8 array, row ``i`` = space index ``i``."""
    idx = np.arange(NUM_ARCHS)[:, None]
    return ((idx // _POWERS) % NUM_OPS).astype(np.int8)


def all_arch_strs() -> list[str]:
    """All 15,625 arch strings in space-index order."""
    return format_arch_strs(all_op_codes())


def op_codes_array(archs: Iterable[str | Sequence[int]]) -> np.ndarray:
    """Many cells (arch strings, op-code strings or code tuples) as an ``(N, 6)`` int8 array."""
    archs = archs if isinstance(archs, list) else list(archs)
    fast = _op_code_strings(archs)
    if fast is not None:
        return fast
    return np.array([_as_codes(a) for a in archs], dtype=np.int8).reshape(-1, NUM_EDGES)


def _op_code_strings(archs: list) -> np.ndarray | None:
    """The codes of a list of valid 6-digit op-code strings, read in one go (a table's
    column); None when any entry is something else, for the checked path to read (and
    name the first bad entry)."""
    if not archs or not all(type(a) is str and len(a) == NUM_EDGES for a in archs):
        return None
    try:
        raw = "".join(archs).encode("ascii")
    except UnicodeEncodeError:
        return None
    codes = np.frombuffer(raw, dtype=np.uint8).reshape(-1, NUM_EDGES) - ord("0")
    if codes.max() >= NUM_OPS:  # uint8: a character below '0' wraps round to >= 5 too
        return None
    return codes.astype(np.int8)


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
