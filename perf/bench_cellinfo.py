"""Generation time, file sizes and peak memory of the cell-information dataset.

Usage: python perf/bench_cellinfo.py [--data-dir DIR] [--out DIR] [--repeats 3]

Measures, for every arch of the configured source x the three NAR datasets:
* generation: ``cell_info_arrays`` + ``network_totals`` (vectorised numpy), best of repeats;
* baseline: tracing real networks (``traced_cell_info``) on a few archs, extrapolated;
* JSON: ``to_nar_json`` (compact) write time and size, and the record-by-record
  ``json.dumps`` of ``nar_records`` as its baseline; read time;
* parquet: ``write_cellinfo`` time and size;
* peak resident memory of this process after each step (ru_maxrss, monotone).
Goal: generation < 1 minute on a 2-core CPU (it takes well under a second).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import torch

import nar_utils as nar
from nar_utils.spaces.nb201 import cellinfo


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"))
    parser.add_argument("--out", default=None, help="folder for the files (default: a temp dir)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--traced", type=int, default=5, help="archs traced for the baseline")
    args = parser.parse_args()
    torch.set_num_threads(1)

    bench = nar.load_benchmark(args.data_dir)
    datasets = cellinfo.NAR_DATASETS
    print(f"source: {bench.source} ({len(bench)} archs), datasets: {', '.join(datasets)}")
    print(f"peak memory after imports and load: {peak_mb():.0f} MB")

    def generate() -> None:
        for dataset in datasets:
            cellinfo.cell_info_arrays(dataset, bench.op_codes)
            cellinfo.network_totals(dataset, bench.op_codes)

    seconds = best_time(generate, args.repeats)
    print(f"generation (analytic, all archs x {len(datasets)} datasets): {seconds:.3f} s "
          f"(best of {args.repeats}); peak {peak_mb():.0f} MB")

    start = time.perf_counter()
    for index in range(args.traced):
        for dataset in datasets:
            cellinfo.traced_cell_info(bench[index], dataset)
    per_arch = (time.perf_counter() - start) / args.traced
    print(f"baseline (tracing real networks): {per_arch:.3f} s per arch -> "
          f"{per_arch * len(bench) / 60:.1f} min for all, {per_arch * len(bench) / seconds:.0f}x "
          "the analytic generation")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / "nasbench201_cellinfo.json"
        start = time.perf_counter()
        cellinfo.to_nar_json(bench, json_path, datasets)
        json_seconds = time.perf_counter() - start
        print(f"JSON write: {json_seconds:.2f} s, {json_path.stat().st_size / 1e6:.1f} MB; "
              f"peak {peak_mb():.0f} MB")
        start = time.perf_counter()
        size = 0
        for key, record in cellinfo.nar_records(bench, datasets):
            size += len(json.dumps(record, separators=(",", ":"))) + len(key) + 4
        baseline = time.perf_counter() - start
        print(f"  baseline (json.dumps per record, not written): {baseline:.2f} s "
              f"({baseline / json_seconds:.1f}x), {size / 1e6:.1f} MB")
        start = time.perf_counter()
        records = cellinfo.read_nar_json(json_path)
        print(f"JSON read: {time.perf_counter() - start:.2f} s, {len(records)} records; "
              f"peak {peak_mb():.0f} MB")
        del records
        parquet_path = out / "nasbench201_cellinfo.parquet"
        start = time.perf_counter()
        cellinfo.write_cellinfo(bench, parquet_path, datasets)
        print(f"parquet write (zstd): {time.perf_counter() - start:.2f} s, "
              f"{parquet_path.stat().st_size / 1e6:.2f} MB; peak {peak_mb():.0f} MB")
        start = time.perf_counter()
        frame = cellinfo.read_cellinfo(parquet_path)
        cellinfo.frame_arrays(frame, datasets[0])
        print(f"parquet read + arrays: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
