"""Time and memory of the NB101 cell information: analytic counts, files, tracing baseline.

Usage: python perf/bench_nb101_cellinfo.py [--data-dir DIR] [--out DIR] [--repeats 3]
                                                 [--traced 5]

Measures, with the NB101 tables of the data directory (``--data-dir`` or $NAR_DATA_DIR):
* the 30,001-cell subset (``nb101/nb101_30k.csv.gz``): reading the table, parsing its
  adjacency / ops strings into a padded batch (``cells_from_frame``), and the analytic
  ``cell_info_arrays`` + ``network_totals`` (best of repeats), with the size of the arrays;
* baseline: tracing real networks (``traced_cell_info``) on a few cells, extrapolated;
* the whole space (``nb101/nb101_space.csv.gz``, 423,624 cells) the same way, if present;
* the subset's NAR JSON (``to_nar_json``, compact) and parquet (``write_cellinfo``): write
  time, size, read time;
* peak resident memory of this process after each step (ru_maxrss, monotone).
Goal: analytic cell information of the whole space in a few seconds on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import torch

from nar_utils.benchmarks import nb101 as nb101_data
from nar_utils.spaces.nb101 import cellinfo as nb101_cellinfo
from nar_utils.spaces.nb101 import network as nb101_network

SUBSET_RELPATH = "nb101/nb101_30k.csv.gz"
SPACE_RELPATH = "nb101/nb101_space.csv.gz"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_time(fn, repeats: int):
    """(best seconds over ``repeats`` calls, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def analytic(matrices, labels):
    return (nb101_cellinfo.cell_info_arrays(matrices, labels),
            nb101_cellinfo.network_totals(matrices, labels))


def measure_table(path: Path, label: str, repeats: int) -> tuple:
    """Read, parse and compute the cell information of one table; prints the figures."""
    start = time.perf_counter()
    frame = nb101_data.read_table(path)
    read_seconds = time.perf_counter() - start
    parse_seconds, (matrices, labels) = best_time(
        lambda: nb101_network.cells_from_frame(frame), repeats)
    seconds, ((flops, params), totals) = best_time(lambda: analytic(matrices, labels), repeats)
    megabytes = (flops.nbytes + params.nbytes + sum(t.nbytes for t in totals)) / 2**20
    print(f"{label}: {len(frame):,} cells")
    print(f"  read table: {read_seconds:.2f} s; parse strings: {parse_seconds:.2f} s "
          f"(best of {repeats}); peak {peak_mb():.0f} MB")
    print(f"  analytic cell info + totals: {seconds:.2f} s (best of {repeats}), "
          f"{seconds / len(frame) * 1e6:.1f} us per cell; arrays {flops.shape} x 2 int64 + "
          f"totals = {megabytes:.1f} MB; peak {peak_mb():.0f} MB")
    return frame, matrices, labels, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"))
    parser.add_argument("--out", default=None, help="folder for the files (default: a temp dir)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--traced", type=int, default=5, help="cells traced for the baseline")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("give --data-dir or set NAR_DATA_DIR to the benchmark data directory")
    data_dir = Path(args.data_dir)
    subset_path = data_dir / SUBSET_RELPATH
    if not subset_path.is_file():
        parser.error(f"no NB101 subset table at {subset_path}; check --data-dir")
    torch.set_num_threads(1)
    print(f"peak memory after imports: {peak_mb():.0f} MB")

    frame, matrices, labels, seconds = measure_table(subset_path, "subset", args.repeats)

    start = time.perf_counter()
    for row in range(args.traced):
        nb101_cellinfo.traced_cell_info(*nb101_network.unpad_cell(matrices[row], labels[row]))
    per_cell = (time.perf_counter() - start) / args.traced
    print(f"  baseline (tracing real networks, {args.traced} cells): {per_cell:.2f} s per cell "
          f"-> {per_cell * len(frame) / 3600:.1f} h for the subset, "
          f"{per_cell * len(frame) / seconds:,.0f}x the analytic counts")

    space_path = data_dir / SPACE_RELPATH
    if space_path.is_file():
        space = measure_table(space_path, "space", args.repeats)
        del space
    else:
        print(f"space: no table at {space_path}, skipped")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / "nasbench101_cellinfo.json"
        start = time.perf_counter()
        nb101_cellinfo.to_nar_json(frame, json_path)
        print(f"subset JSON write: {time.perf_counter() - start:.2f} s, "
              f"{json_path.stat().st_size / 1e6:.1f} MB; peak {peak_mb():.0f} MB")
        start = time.perf_counter()
        records = nb101_cellinfo.read_nar_json(json_path)
        nb101_cellinfo.nar_arrays(records)
        print(f"subset JSON read + arrays: {time.perf_counter() - start:.2f} s, "
              f"{len(records):,} records; peak {peak_mb():.0f} MB")
        del records
        parquet_path = out / "nasbench101_cellinfo.parquet"
        start = time.perf_counter()
        nb101_cellinfo.write_cellinfo(frame, parquet_path)
        print(f"subset parquet write (zstd): {time.perf_counter() - start:.2f} s, "
              f"{parquet_path.stat().st_size / 1e6:.2f} MB; peak {peak_mb():.0f} MB")
        start = time.perf_counter()
        nb101_cellinfo.frame_arrays(nb101_cellinfo.read_cellinfo(parquet_path))
        print(f"subset parquet read + arrays: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
