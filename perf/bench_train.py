"""Training speed of NB201 networks with the benchmark's recipe, and what it projects to.

Usage: python perf/bench_train.py [--device auto] [--epochs 2] [--cells 3] [--cifar-shaped]
                                  [--graphs auto|on|off|both] [--at-once 4 8 16]
                                  [--record perf.json]

Per cell (the cheapest, a median and the most expensive of the space by FLOPs, or as many of
that spread as ``--cells`` asks) it trains a C=16, N=5 network for ``--epochs`` epochs with
:func:`nar_utils.training.trainer.train_network` and prints the seconds per epoch (training
and evaluation; the median of the epochs after the first, which holds the one-off graph
captures) and the training throughput in images/s. The images are the embedded proxy
(scikit-learn's digits, 16x16) by default; ``--cifar-shaped`` times random tensors of the
'cifar10-valid' split's shapes instead (25,000 32x32 training images, 25,000 valid and 10,000
test images evaluated every epoch: for timing only, the numbers it learns mean nothing).

On a GPU, ``--graphs both`` times each cell with the step replayed as CUDA graphs and issued
kernel by kernel; ``--at-once K ...`` trains K copies of the median cell at once
(:func:`~nar_utils.training.trainer.train_at_once`: one thread and CUDA stream each) and
prints the combined throughput by the wall clock, against K single runs in turn.

From the per-cell times it fits seconds per epoch = a + b x FLOPs and projects the days one
seed of the whole cifar10-valid benchmark (15,625 cells x 200 epochs) takes on this device:
one cell at a time, and at the best measured number of cells at once (the fit scaled by that
speed-up of the median cell). ``--record`` writes every figure, with the device and package
versions, to a JSON file.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from nar_utils.reproduce import records
from nar_utils.runtime import try_device
from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import cellinfo
from nar_utils.training import images as image_data
from nar_utils.training.splits import ImageSplits
from nar_utils.training.trainer import train_at_once, train_network

#: The benchmark's own figure: median seconds of one 200-epoch cifar10-valid run (its records).
OFFICIAL_MEDIAN_RUN_SECONDS = 1817
SPACE_EPOCHS = 200


def cifar_shaped(seed: int = 0) -> ImageSplits:
    """Random uint8 images of the 'cifar10-valid' split's shapes and sizes (timing only)."""
    rng = np.random.default_rng(seed)

    def part(n):
        return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                rng.integers(0, 10, n).astype(np.int64))

    pre = image_data.PREPROCESSING["cifar10"]
    return ImageSplits("cifar10-valid", part(25000), part(25000), part(10000), 10, pre.mean,
                       pre.std, pre.crop_padding,
                       source="random CIFAR-shaped tensors (timing only)")


def seconds_per_epoch(result) -> float:
    """Median epoch time after the first (which holds captures and allocations)."""
    seconds = result.curve["seconds"].to_numpy()
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per cell")
    parser.add_argument("--cells", type=int, default=3, help="cells spread over FLOPs")
    parser.add_argument("--cifar-shaped", action="store_true",
                        help="random cifar10-valid-shaped tensors instead of the proxy")
    parser.add_argument("--graphs", choices=("auto", "on", "off", "both"), default="auto",
                        help="CUDA graphs (GPU only): the trainer's default, on, off, or both")
    parser.add_argument("--at-once", type=int, nargs="*", default=[],
                        help="numbers of copies of the median cell trained at once")
    parser.add_argument("--record", default=None, help="write the figures to this JSON file")
    args = parser.parse_args()
    device = try_device(args.device)
    images = cifar_shaped() if args.cifar_shaped else image_data.proxy_images()
    codes = nb201.all_op_codes()
    flops_all, _ = cellinfo.network_totals("cifar10-valid", codes)
    order = np.argsort(flops_all, kind="stable")
    picks = order[np.linspace(0, len(order) - 1, args.cells).round().astype(int)]
    sizes = images.sizes()
    n_train = sizes["train"]
    graph_modes = {"auto": [None], "on": [True], "off": [False], "both": [False, True]}
    modes = graph_modes[args.graphs] if device != "cpu" else [None]
    print(f"device {device} ({records.provenance(device)['device_name']}); images "
          f"{images.name} ({images.source or 'proxy'}), splits {sizes}, "
          f"{images.image_size}x{images.image_size}; {args.epochs} epochs per cell, batch 256, "
          f"C=16 N=5", flush=True)
    rows = []
    for mode in modes:
        for index in picks:
            arch = nb201.format_arch_str(codes[index])
            start = time.perf_counter()
            try:
                result = train_network(arch, images, "200", seed=0, device=device,
                                       num_epochs=args.epochs, cuda_graphs=mode)
            except Exception as err:  # noqa: BLE001 - a failing variant is a figure too
                print(f"graphs {mode}: FAILED on {arch}: {type(err).__name__}: {err}")
                continue
            total = time.perf_counter() - start
            per_epoch = seconds_per_epoch(result)
            rows.append({"arch": arch, "mflops": result.flops / 1e6,
                         "graphs": result.config["cuda_graphs"], "seconds_per_epoch": per_epoch,
                         "train_images_per_s": n_train / per_epoch, "call_seconds": total})
            print(f"graphs {str(result.config['cuda_graphs']):5}  {result.flops / 1e6:7.1f} "
                  f"MFLOPs/image  {per_epoch:7.3f} s/epoch  {n_train / per_epoch:8.0f} "
                  f"train images/s  (call {total:.1f} s)  {arch}", flush=True)

    best_mode = rows[-1]["graphs"]  # the last mode timed: graphs when 'both'
    single = [r for r in rows if r["graphs"] == best_mode]
    median_arch = single[len(single) // 2]["arch"]
    median_call = single[len(single) // 2]["call_seconds"]
    concurrency = []
    for k in args.at_once:
        start = time.perf_counter()
        results = train_at_once([{"arch": median_arch, "images": images, "hp": "200",
                                  "seed": seed, "num_epochs": args.epochs,
                                  "cuda_graphs": best_mode if device != "cpu" else None}
                                 for seed in range(k)], device=device)
        wall = time.perf_counter() - start
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            print(f"at once {k}: {len(failed)} runs failed, first: {failed[0]!r}")
            continue
        per_epoch = [seconds_per_epoch(r) for r in results]
        # Wall clock against k single runs in turn (each call's setup included): runs that
        # do not overlap in time gain nothing, whatever their epochs say.
        throughput = k * args.epochs * n_train / wall
        speedup = k * median_call / wall
        concurrency.append({"at_once": k, "train_images_per_s": throughput,
                            "median_seconds_per_epoch": float(np.median(per_epoch)),
                            "speedup": speedup, "wall_seconds": wall,
                            "single_call_seconds": median_call})
        print(f"at once {k:3d}: {throughput:9.0f} train images/s together (wall {wall:.1f} s "
              f"for {k} runs), {np.median(per_epoch):.3f} s/epoch each, x{speedup:.2f} the "
              f"single run's wall clock", flush=True)

    summary = {}
    if len(single) >= 2:
        flops = np.array([r["mflops"] for r in single]) * 1e6
        seconds = np.array([r["seconds_per_epoch"] for r in single])
        slope, intercept = np.polyfit(flops, seconds, 1)
        scale = (images.image_size / 32) ** 2  # the space's FLOPs at this image size
        per_cell = intercept + slope * flops_all * scale
        one_at_a_time = float(np.sum(per_cell)) * SPACE_EPOCHS / 86400
        best = max(concurrency, key=lambda c: c["speedup"], default=None)
        summary = {"fit_intercept_s": float(intercept), "fit_s_per_mflop": float(slope * 1e6),
                   "mean_cell_seconds_per_epoch": float(np.mean(per_cell)),
                   "mean_cell_mflops": float(np.mean(flops_all)) / 1e6,
                   "projected_days_one_at_a_time": one_at_a_time}
        kind = "CIFAR-sized" if args.cifar_shaped else "proxy-sized"
        print(f"fit: s/epoch = {intercept:.3f} + {slope * 1e6:.5f} x MFLOPs; mean cell "
              f"{np.mean(per_cell):.3f} s/epoch, {np.mean(per_cell) * SPACE_EPOCHS:.0f} s per "
              f"200-epoch run (the benchmark's records: median {OFFICIAL_MEDIAN_RUN_SECONDS} s)")
        print(f"projected, one seed of all 15,625 cells x 200 epochs ({kind} images): "
              f"{one_at_a_time:.1f} days one cell at a time", end="")
        if best is not None:
            summary["projected_days_at_once"] = one_at_a_time / best["speedup"]
            summary["best_at_once"] = best["at_once"]
            print(f"; {one_at_a_time / best['speedup']:.1f} days with {best['at_once']} cells "
                  f"at once (x{best['speedup']:.2f})", end="")
        print()
        if args.cifar_shaped:
            # Forward multiply-accumulates of what one epoch touches: training images count
            # 3 passes (forward, two backward), evaluated images one; 2 FLOPs per MAC.
            mean_macs = float(np.mean(flops_all))
            epoch_flops = 2 * mean_macs * (3 * n_train + sizes["valid"] + sizes["test"])
            rate = epoch_flops / float(np.mean(per_cell))
            if best is not None:
                rate *= best["speedup"]
            summary["sustained_tflops"] = rate / 1e12
            print(f"sustained arithmetic (2 FLOPs per multiply-accumulate, training 3x a "
                  f"forward pass): {rate / 1e12:.2f} TFLOP/s")
    if args.record:
        record = {"script": "perf/bench_train.py", "arguments": vars(args),
                  "images": images.name, "images_source": images.source or "proxy",
                  "split_sizes": sizes, "cells": rows, "at_once": concurrency,
                  "summary": summary, **records.provenance(device)}
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")
        print(f"record: {args.record}")


if __name__ == "__main__":
    main()
