"""Time and peak memory of the NAS-Bench-101 space tools over all 423,624 cells.

Usage: python perf/bench_nb101_space.py [--data-dir DIR] [--processes 2]
       [--baseline-rows 10000] [--skip-enumeration]

Steps, each with its wall time and the peak resident memory of this process so far
(ru_maxrss, monotone):
* read ``nb101/nb101_space.csv.gz`` (``nb101.read_space``);
* pack all rows (``nb101.pack_strings``), against the baseline of one ``Cell.from_strings``
  per row then ``nb101.pack``, timed on the first ``--baseline-rows`` rows and extrapolated;
* hash all rows (``nb101.hash_many``) in 1 process and over a pool of ``--processes``,
  checked against the table's hash column, against the baseline of ``Cell.from_strings(...)
  .hash`` per row (extrapolated);
* enumerate the space (``nb101.enumerate_space``, its hashing over the pool) in a fresh child
  process, so that its peak memory is its own (child and its pool workers); the child's table
  must equal the file's, hashes, strings and counts.
Goals: hashing the space in well under 2 minutes on 2 cores, enumeration in a few minutes.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time

from nar_utils.benchmarks import datadir
from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.spaces import nb101

CHILD = r"""
import hashlib, json, resource, sys, time
from nar_utils.spaces import nb101
start = time.perf_counter()
packed = nb101.enumerate_packed()
packed_seconds = time.perf_counter() - start
del packed
start = time.perf_counter()
frame = nb101.enumerate_space(processes=int(sys.argv[1]))
seconds = time.perf_counter() - start
rows = "\n".join(frame["hash"] + " " + frame["adjacency"] + " " + frame["ops_labels"])
print(json.dumps({
    "seconds": seconds, "packed_seconds": packed_seconds, "rows": len(frame),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "counts": frame["num_vertices"].value_counts().sort_index().tolist(),
    "digest": hashlib.md5(rows.encode()).hexdigest()}))
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(function):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get(datadir.ENV_DATA_DIR))
    parser.add_argument("--processes", type=int, default=2, help="pool size for hashing")
    parser.add_argument("--baseline-rows", type=int, default=10_000,
                        help="rows timed for the per-row baselines (then extrapolated)")
    parser.add_argument("--skip-enumeration", action="store_true")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error(f"give --data-dir or set {datadir.ENV_DATA_DIR} (see data/README.md)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores; "
          f"peak memory after imports: {peak_mb():.0f} MB")

    seconds, space = timed(lambda: nb101_data.read_space(args.data_dir))
    rows = len(space)
    print(f"read_space: {seconds:.2f} s, {rows} rows; peak {peak_mb():.0f} MB")
    adjacency, ops_labels = space["adjacency"].tolist(), space["ops_labels"].tolist()

    seconds, packed = timed(lambda: nb101.pack_strings(adjacency, ops_labels))
    subset = slice(0, min(args.baseline_rows, rows))
    baseline, _ = timed(lambda: nb101.pack([nb101.Cell.from_strings(a, o) for a, o in
                                            zip(adjacency[subset], ops_labels[subset])]))
    baseline *= rows / (subset.stop or 1)
    print(f"pack_strings (all rows): {seconds:.2f} s, {packed.nbytes / 2**20:.0f} MB array; "
          f"peak {peak_mb():.0f} MB")
    print(f"  baseline (Cell.from_strings + pack per row, extrapolated): {baseline:.1f} s "
          f"({baseline / seconds:.0f}x)")

    expected = space["hash"].tolist()
    baseline, _ = timed(lambda: [nb101.Cell.from_strings(a, o).hash for a, o in
                                 zip(adjacency[subset], ops_labels[subset])])
    baseline *= rows / (subset.stop or 1)
    one, hashes = timed(lambda: nb101.hash_many(packed, processes=1))
    assert hashes == expected, "hashes differ from the table"
    print(f"hash_many (all rows, 1 process): {one:.1f} s ({one / rows * 1e6:.0f} us per cell), "
          f"all equal to the table; peak {peak_mb():.0f} MB")
    print(f"  baseline (Cell.from_strings(...).hash per row, extrapolated): {baseline:.1f} s "
          f"({baseline / one:.2f}x)")
    pool, hashes = timed(lambda: nb101.hash_many(packed, processes=args.processes))
    assert hashes == expected, "hashes differ from the table"
    print(f"hash_many (all rows, pool of {args.processes}): {pool:.1f} s ({one / pool:.2f}x "
          f"the single process); peak {peak_mb():.0f} MB")

    if args.skip_enumeration:
        return
    table_rows = "\n".join(space["hash"] + " " + space["adjacency"] + " " + space["ops_labels"])
    table_digest = hashlib.md5(table_rows.encode()).hexdigest()
    table_counts = space["num_vertices"].value_counts().sort_index().tolist()
    out = subprocess.run([sys.executable, "-c", CHILD, str(args.processes)], check=True,
                         capture_output=True, text=True).stdout
    child = json.loads(out.strip().splitlines()[-1])
    same = child["digest"] == table_digest and child["counts"] == table_counts
    print(f"enumerate_space (fresh process, hashing over a pool of {args.processes}): "
          f"{child['seconds']:.1f} s for {child['rows']} cells; peak {child['peak_mb']:.0f} MB "
          f"(pool workers {child['workers_peak_mb']:.0f} MB each at most)")
    print(f"  of which enumerate_packed (the classes, without their hashes): "
          f"{child['packed_seconds']:.1f} s")
    print(f"  cells per vertex count {child['counts']}; table identical to the file "
          f"(hashes, adjacency, ops_labels): {same}")
    if not same:
        raise SystemExit("the enumeration differs from nb101_space.csv.gz")


if __name__ == "__main__":
    main()
