"""Time and memory of the NB101 encodings over the whole space (423,624 cells).

Usage: python perf/bench_nb101_encoding.py [--data-dir DIR] [--limit N]

Reads ``nb101/nb101_space.csv.gz`` from the data directory (``--data-dir`` or $NAR_DATA_DIR),
packs it (``nb101.pack_strings``), then times each encoding of
:mod:`nar_utils.spaces.nb101.encoding` on all cells (or the first ``--limit``): the 19x7x7 feature
tensor (cell information included), adjacency + one-hot, the graph encoding and the path
encoding. Prints seconds, microseconds per cell, the size of the result, and the peak
resident memory of this process after each step (ru_maxrss, monotone).
"""
from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.spaces import nb101
from nar_utils.spaces.nb101 import encoding as nb101_encoding


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"))
    parser.add_argument("--limit", type=int, default=0, help="first N cells only (0: all)")
    args = parser.parse_args()
    if not args.data_dir:
        raise SystemExit("give --data-dir or set NAR_DATA_DIR to a folder holding "
                         f"{nb101_data.SPACE_RELPATH}")
    start = time.perf_counter()
    space = nb101_data.read_space(Path(args.data_dir))
    if args.limit:
        space = space.head(args.limit)
    packed = nb101.pack_strings(space["adjacency"], space["ops_labels"])
    print(f"read + pack {len(packed):,} cells: {time.perf_counter() - start:.2f} s, "
          f"peak {peak_mb():.0f} MB")
    encoders = {
        "feature_tensor (19x7x7)": nb101_encoding.feature_tensor,
        "adjacency_onehot (36)": nb101_encoding.adjacency_onehot,
        "graph_encoding (7x7, 7x5)": nb101_encoding.graph_encoding,
        "path_encoding (364)": nb101_encoding.path_encoding,
    }
    for name, encode in encoders.items():
        start = time.perf_counter()
        result = encode(packed)
        seconds = time.perf_counter() - start
        arrays = result if isinstance(result, tuple) else (result,)
        size = sum(a.nbytes for a in arrays) / 2**20
        print(f"{name:<26} {seconds:7.2f} s  {1e6 * seconds / len(packed):7.1f} us/cell  "
              f"{size:8.0f} MB  peak {peak_mb():.0f} MB")
        del result, arrays


if __name__ == "__main__":
    main()
