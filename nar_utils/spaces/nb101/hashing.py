"""The official NAS-Bench-101 graph hash, bit for bit, for one cell or a whole table."""
from __future__ import annotations

import functools
import hashlib
import multiprocessing
import operator
import os
from collections.abc import Callable, Sequence

import numpy as np

from nar_utils.spaces.nb101.space import (
    _V,
    LABEL_TO_OP,
    PAD,
    _as_packed,
    _kept_vertices,
    _row_codes,
    as_index,
    prune,
)

# -- the official graph hash -----------------------------------------------------------------
# The hash is a Weisfeiler-Lehman refinement with md5 as the relabelling function:
#   start:  value(v) = md5(str((out_degree(v), in_degree(v), label(v))))
#   repeat num_vertices times, all vertices from the previous round's values:
#           value(v) = md5(sorted in-neighbour values joined + '|' + sorted out-neighbour
#                          values joined + '|' + value(v))
#   hash  = md5(str(sorted(values)))   (the str of a Python list of hex strings)
# Every value is a 32-character hex digest. It is pure Python by necessity (md5 of text), so
# the code below keeps the inner loop free of numpy and prepares what depends on the matrix
# alone once, as a *plan* shared by the many cells with one matrix (about 50 md5 calls per
# 7-vertex cell remain; they take about half of the time).
_md5 = hashlib.md5
_INITIAL_DIGESTS: dict[tuple[int, int, int], str] = {}


def _initial_digest(out_degree: int, in_degree: int, label: int) -> str:
    # Only a few dozen (degrees, label) triples exist, so their digests are cached. The tuple
    # must hold plain ints: under numpy 2, str() of a tuple of numpy ints reads 'np.int64(1)'.
    key = (int(out_degree), int(in_degree), int(label))
    digest = _INITIAL_DIGESTS.get(key)
    if digest is None:
        digest = _INITIAL_DIGESTS[key] = _md5(str(key).encode()).hexdigest()
    return digest


def _sorted_joiner(vertices: tuple[int, ...]) -> Callable[[list[str]], str]:
    """A function of the list of values that joins those of ``vertices`` in sorted order.

    Most vertices have one in- or out-neighbour, for which a plain ``itemgetter`` (no sort,
    no join) does; this is a third of the hashing time."""
    if not vertices:
        return lambda values: ""
    if len(vertices) == 1:
        return operator.itemgetter(vertices[0])
    pick = operator.itemgetter(*vertices)
    return lambda values: "".join(sorted(pick(values)))


def _plan(rows: Sequence[Sequence[int]]) -> tuple | None:
    """What the hash needs from a matrix (lists of 0/1), None when the output is not
    reachable from the input. The plan is ``(initial, rounds)`` for the pruned cell:
    ``initial[v] = (u, digests)``, where ``u`` is the vertex of the unpruned matrix and
    ``digests`` maps a label to the starting value of ``v``; ``rounds[v] = (in_join,
    out_join, v)``, the :func:`_sorted_joiner` of ``v``'s in- and out-neighbours."""
    kept = _kept_vertices(rows)
    if not kept:
        return None
    pruned = [[rows[v][w] for w in kept] for v in kept]
    n = len(kept)
    outs = [tuple(w for w in range(n) if pruned[v][w]) for v in range(n)]
    ins = [tuple(v for v in range(n) if pruned[v][w]) for w in range(n)]
    initial = tuple((kept[v], {label: _initial_digest(len(outs[v]), len(ins[v]), label)
                               for label in LABEL_TO_OP}) for v in range(n))
    rounds = tuple((_sorted_joiner(ins[v]), _sorted_joiner(outs[v]), v) for v in range(n))
    return initial, rounds


def _fingerprint(plan: tuple, labels: Sequence[int]) -> str:
    """The official hash of the pruned cell described by ``plan`` with the (unpruned)
    ``labels``: one md5 per vertex and round, then one of the sorted values."""
    initial, rounds = plan
    values = [digests[labels[u]] for u, digests in initial]
    for _ in range(len(initial)):
        values = [_md5(f"{in_join(values)}|{out_join(values)}|{values[v]}".encode()).hexdigest()
                  for in_join, out_join, v in rounds]
    return _md5(str(sorted(values)).encode()).hexdigest()


def spec_hash(matrix, labels) -> str:
    """The official NAS-Bench-101 hash of a cell (``ModelSpec.hash_spec``): 32 hex digits.

    The cell is pruned first (:func:`prune`), as the official ``ModelSpec`` does, so a cell
    with extraneous vertices hashes like its minimal form. Isomorphic cells (the same DAG
    with its interior vertices numbered otherwise) share the hash. ``labels`` may be labels
    or operation names. Example: ``spec_hash(m, [-1, 0, 2, 0, 0, 1, -2])`` with ``m`` the
    rows 0100110|0010000|0001001|0000010|0000010|0000001|0000000 gives
    ``'00005c142e6f48ac74fdcf73e3439874'``.
    """
    matrix, labels = prune(matrix, labels)
    return _fingerprint(_plan(matrix.tolist()), labels)


@functools.lru_cache(maxsize=1 << 16)
def _plan_of_code(matrix_code: int, num_vertices: int) -> tuple | None:
    """The :func:`_plan` of a packed matrix given by its :func:`_row_codes` code. Cached: the
    whole space has about 6,500 distinct matrices, so a worker prepares each once."""
    rows = [[(matrix_code >> (row * _V + col)) & 1 for col in range(num_vertices)]
            for row in range(num_vertices)]
    return _plan(rows)


def _hash_packed(packed: np.ndarray) -> list[str]:
    """Hashes of packed rows (checked beforehand), in order."""
    matrix_codes, _ = _row_codes(packed)
    sizes = (packed[:, _V * _V:] != PAD).sum(axis=1)
    hashes = []
    for code, n, labels in zip(matrix_codes.tolist(), sizes.tolist(),
                               packed[:, _V * _V:].tolist()):
        plan = _plan_of_code(code, n)
        if plan is None:
            raise ValueError("a packed row has no path from the input to the output (an "
                             "invalid cell); check rows with nar_utils.spaces.nb101.unpack")
        hashes.append(_fingerprint(plan, labels))
    return hashes


def hash_many(cells, processes: int | None = None, progress: bool = False,
              chunk_size: int = 8192) -> list[str]:
    """Official hashes of many cells, in order: ``[spec_hash(c) for c in cells]``, faster.

    ``cells``: an ``(N, 56)`` packed array (:func:`pack`, :func:`pack_strings`), a sequence
    of :class:`Cell`, or a sequence of ``(matrix, labels)`` pairs. Cells that share a matrix
    share their preparation, so a whole table costs little more than its md5 calls (about
    50 per 7-vertex cell). ``processes``: worker processes (None: ``os.cpu_count()``; 1: this
    process); batches smaller than two chunks stay in this process. The result does not
    depend on ``processes``. ``progress`` shows a tqdm bar over chunks.
    """
    packed = _as_packed(cells)
    if processes is not None and as_index(processes, "processes") < 1:
        raise ValueError(f"processes must be a positive number or None, got {processes}")
    if as_index(chunk_size, "chunk_size") < 1:
        raise ValueError(f"chunk_size must be a positive number, got {chunk_size}")
    processes = None if processes is None else int(processes)
    chunk_size = int(chunk_size)
    processes = (os.cpu_count() or 1) if processes is None else processes
    chunks = [packed[start:start + chunk_size] for start in range(0, len(packed), chunk_size)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(packed), desc="md5 hashes", unit="cell")
    hashes: list[str] = []
    if processes == 1 or len(chunks) < 2:
        results = map(_hash_packed, chunks)
        pool = None
    else:
        pool = multiprocessing.get_context().Pool(min(processes, len(chunks)))
        results = pool.imap(_hash_packed, chunks)  # imap keeps the order of the chunks
    try:
        for chunk_hashes in results:
            hashes.extend(chunk_hashes)
            if bar is not None:
                bar.update(len(chunk_hashes))
    finally:
        if pool is not None:
            pool.terminate()
        if bar is not None:
            bar.close()
    return hashes


