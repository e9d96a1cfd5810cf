"""Seconds per search epoch of the six weight-sharing methods, and the cells they derive.

Usage: python perf/bench_weight_sharing.py [--device auto] [--epochs 2] [--seeds 0 1 2]
                                           [--channels 8] [--cells 1] [--methods ...]
                                           [--data-dir DIR] [--record out.json]

For each method and seed it runs :func:`nar_utils.search.weight_sharing.search_weight_sharing`
for ``--epochs`` epochs on the images of ``--dataset`` from the data directory, else on the
embedded proxy (scikit-learn's digits; labelled), with a supernet of ``--channels`` and
``--cells`` per stage (the benchmark's 16 and 5 need a GPU), and prints the median seconds per
search epoch, the derived cell and its test accuracy in the configured benchmark. A short
search on a proxy is a timing and plumbing check, not the paper's result.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nar_utils.benchmarks import load_benchmark
from nar_utils.reproduce import records
from nar_utils.runtime import try_device
from nar_utils.search import weight_sharing as ws
from nar_utils.training import images as image_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=list(ws.METHODS))
    parser.add_argument("--dataset", default="cifar10-valid")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--record", default=None)
    args = parser.parse_args()
    device = try_device(args.device)
    images = image_data.load_images(args.dataset, args.data_dir, fallback="proxy")
    bench = load_benchmark(args.data_dir)
    settings = {"epochs": args.epochs, "channels": args.channels,
                "cells_per_stage": args.cells, "select_num": 20, "num_samples": 20,
                "controller_steps": 5, "num_aggregate": 4}
    print(f"device {device}; images {images.name}{' (proxy)' if images.is_proxy else ''}, "
          f"{images.sizes()}; supernet C={args.channels} N={args.cells}; {args.epochs} epochs; "
          f"benchmark {bench.source}")
    rows = []
    for method in args.methods:
        for seed in args.seeds:
            result = ws.search_weight_sharing(method, images, seed=seed, settings=settings,
                                              device=device)
            per_epoch = float(np.median(result.history["seconds"]))
            accuracy = ws.benchmark_accuracies(bench, result.arch)
            rows.append({"method": method, "seed": seed, "seconds_per_epoch": per_epoch,
                         "arch": result.arch, "benchmark_test_accuracy": accuracy})
            shown = ", ".join(f"{d} {a:.2f}" for d, a in accuracy.items())
            print(f"{method:9} seed {seed}  {per_epoch:7.2f} s/epoch  {shown:>24}  "
                  f"{result.arch}", flush=True)
    if args.record:
        record = {"script": "perf/bench_weight_sharing.py", "arguments": vars(args),
                  "images": images.name, "is_proxy": images.is_proxy, "rows": rows,
                  **records.provenance(device)}
        Path(args.record).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


if __name__ == "__main__":
    main()
