"""Import time of ``nar_utils`` and the NB201 query path: load time, peak memory, no torch.

Usage: python perf/bench_import.py [--data-dir DIR] [--repeats 5]

Each measurement runs in a fresh interpreter, so that import caches and peak memory
(``ru_maxrss``) belong to it alone. Printed per run (best of ``--repeats``):

* ``import nar_utils``: seconds, and which heavy packages it pulled in (none should be);
* load: ``nar.load_benchmark(data_dir)`` right after the import (numpy and pandas are imported
  by it: the first load of a session), and again with them imported beforehand;
* ``get_more_info``: one query after loading;
* peak RSS of the whole process after the query, and whether torch was imported.

For reference the same child times ``import torch`` alone. Goals: import < 0.3 s, load
< 0.2 s (pandas already imported), peak < 300 MB, torch never imported.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
mode, data_dir = sys.argv[1], sys.argv[2] or None
out = {}
if mode == "torch":
    start = time.perf_counter(); import torch  # noqa: F401
    out["import_torch_s"] = time.perf_counter() - start
else:
    if mode == "warm":
        import numpy, pandas  # noqa: F401  (the load then excludes their import)
    start = time.perf_counter()
    import nar_utils as nar
    out["import_s"] = time.perf_counter() - start
    out["heavy_after_import"] = [m for m in ("torch", "pandas", "numpy", "scipy")
                                 if m in sys.modules]
    start = time.perf_counter()
    bench = nar.load_benchmark(data_dir)
    out["load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    info = bench.get_more_info(0, bench.datasets[0])
    out["query_s"] = time.perf_counter() - start
    out["source"] = bench.source
    out["torch_imported"] = "torch" in sys.modules
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(mode: str, data_dir: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", CHILD, mode, data_dir or ""],
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"child failed ({mode}):\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    key = "import_torch_s" if mode == "torch" else "load_s"
    return min(runs, key=lambda r: r[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"),
                        help="data directory (default: $NAR_DATA_DIR, else the embedded source)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cold = measure("cold", args.data_dir, args.repeats)
    warm = measure("warm", args.data_dir, args.repeats)
    torch = measure("torch", args.data_dir, max(1, args.repeats // 2))
    print(f"source: {cold['source']} (best of {args.repeats} fresh interpreters)")
    print(f"import nar_utils      {cold['import_s']:.3f} s   heavy modules after it: "
          f"{cold['heavy_after_import'] or 'none'}   (goal < 0.3 s)")
    print(f"load, first of session {cold['load_s']:.3f} s   (numpy + pandas imported by it)")
    print(f"load, pandas imported  {warm['load_s']:.3f} s   (goal < 0.2 s)")
    print(f"get_more_info          {cold['query_s'] * 1e3:.2f} ms")
    print(f"peak RSS               {cold['peak_mb']:.0f} MB   torch imported: "
          f"{cold['torch_imported']}   (goal < 300 MB, no torch)")
    print(f"reference: import torch alone {torch['import_torch_s']:.3f} s, "
          f"{torch['peak_mb']:.0f} MB peak")


if __name__ == "__main__":
    main()
