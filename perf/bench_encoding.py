"""Time of each cell encoding over all 15,625 NB201 cells, with the size of its arrays.

Usage: python perf/bench_encoding.py [--repeats 3] [--dataset cifar10-valid]
Prints, per encoding, the first call and the best of the repeats (seconds), the shape,
dtype and megabytes of the result. The feature tensor is timed with the per-op cost lookup
(``nar_utils.spaces.nb201.cellinfo``) included, then from precomputed costs. Also times the
isomorphism tables (first call builds them).
Goal: every encoding of the whole space in < 5 s on one CPU core.
"""
from __future__ import annotations

import argparse
import time

from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import cellinfo, encoding
from nar_utils.spaces.nb201 import isomorphism as iso


def timed(function, repeats: int):
    """(first-call seconds, best seconds over `repeats` further calls, last result)."""
    start = time.perf_counter()
    result = function()
    first = time.perf_counter() - start
    best = first
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return first, best, result


def describe(result) -> tuple[str, str, float]:
    arrays = result if isinstance(result, tuple) else (result,)
    shapes = " + ".join(str(a.shape) for a in arrays)
    dtypes = ",".join(sorted({str(a.dtype) for a in arrays}))
    return shapes, dtypes, sum(a.nbytes for a in arrays) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default="cifar10-valid")
    args = parser.parse_args()

    codes = nb201.all_op_codes()

    def costs():
        return cellinfo.cell_info_arrays(args.dataset, codes)

    flops, params = costs()
    cases = [
        (f"cellinfo.cell_info_arrays {args.dataset}", costs),
        (f"feature_tensor (costs incl.) {args.dataset}",
         lambda: encoding.feature_tensor(codes, args.dataset)),
        ("feature_tensor_from_cellinfo", lambda: encoding.feature_tensor_from_cellinfo(
            codes, flops, params)),
        ("feature_tensor_from_cellinfo faithful=True",
         lambda: encoding.feature_tensor_from_cellinfo(codes, flops, params, faithful=True)),
    ]
    cases += [
        ("onehot", lambda: encoding.onehot(codes)),
        ("adjacency_onehot", lambda: encoding.adjacency_onehot(codes)),
        ("graph_encoding", lambda: encoding.graph_encoding(codes)),
        ("path_encoding", lambda: encoding.path_encoding(codes)),
        ("path_encoding (arch strings in)", lambda: encoding.path_encoding(
            nb201.all_arch_strs())),
    ]
    for convention in iso.CONVENTIONS:
        cases.append((f"class_ids {convention}",
                      lambda c=convention: iso.class_ids(codes, c)))

    print(f"{len(codes)} cells; first call and best of {args.repeats} more")
    print(f"{'encoding':<46}{'first s':>9}{'best s':>9}  {'shape':<34}{'dtype':<9}{'MB':>6}")
    total = 0.0
    for label, function in cases:
        first, best, result = timed(function, args.repeats)
        shapes, dtypes, megabytes = describe(result)
        total += first
        print(f"{label:<46}{first:>9.3f}{best:>9.3f}  {shapes:<34}{dtypes:<9}{megabytes:>6.1f}")
    print(f"sum of first calls: {total:.2f} s")


if __name__ == "__main__":
    main()
