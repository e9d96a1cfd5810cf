"""Load time and peak memory of each benchmark source.

Usage: python perf/bench_data.py [--data-dir DIR] [--repeats 3]
Each load runs in a fresh subprocess so that peak memory (ru_maxrss) belongs to it alone;
the figure printed beside it is the interpreter with numpy/pandas imported, for reference.
Goal for the NB201 table: < 1 s and < 300 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy, pandas
import nar_utils as nar
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
bench = nar.load_benchmark(sys.argv[1])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"source": bench.source, "seconds": seconds, "peak_mb": peak,
                  "baseline_mb": base, "archs": len(bench)}))
"""


def measure(target: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CHILD, target], capture_output=True,
                             text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    best["seconds_all"] = [round(r["seconds"], 3) for r in runs]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    targets = [("embedded", "embedded")]
    if args.data_dir:
        targets.insert(0, ("NB201 table", args.data_dir))
    print(f"{'source':<16}{'load s (best)':>14}{'all runs':>24}{'peak MB':>10}{'base MB':>10}")
    for label, target in targets:
        r = measure(target, args.repeats)
        print(f"{label:<16}{r['seconds']:>14.3f}{str(r['seconds_all']):>24}"
              f"{r['peak_mb']:>10.0f}{r['baseline_mb']:>10.0f}")


if __name__ == "__main__":
    main()
