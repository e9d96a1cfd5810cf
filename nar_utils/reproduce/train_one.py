"""Train one NAS-Bench-201 architecture with the benchmark's recipe, one run record per seed.

The command-line counterpart of the benchmark's "train one architecture" script::

    python -m nar_utils.reproduce.train_one '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+...' \\
        --dataset cifar10-valid --hp 12 --seeds 777 888 --channels 16 --cells 5
    python -m nar_utils.reproduce.train_one 1462 --hp 200       # an arch index of the table
    python -m nar_utils.reproduce.train_one resnet --proxy      # the images' proxy if absent

``ARCH`` is an arch string, a 6-digit op code, an arch index of the configured benchmark
table (the official index on the NB201 table, the space index on the embedded source) or
``resnet`` (the ResNet cell of the space). Images come from the data directory
(``--data-dir``, else ``$NAR_DATA_DIR``; see :mod:`nar_utils.training.images`); ``--proxy``
trains on the embedded proxy when they are missing, and the record says so. Each seed gets
``<out>/<arch index or op code>-seed<seed>/``: a checkpoint (a killed run started again
resumes) and the run record ``train_one.json`` (parameters, the learning curve, params, FLOPs,
latency, provenance).
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from nar_utils.reproduce import records

RECORD_NAME = "train_one"


def resolve_arch(arch: str, data_dir: str | None = None) -> tuple[str, int | None]:
    """``(arch string, arch index or None)`` of an ARCH argument (see the module docstring)."""
    from nar_utils.spaces import nb201

    if arch == "resnet":
        return nb201.RESNET_ARCH, None
    if re.fullmatch(r"[0-4]{6}", arch):
        return nb201.arch_str_from_op_code(arch), None
    if re.fullmatch(r"\d+", arch):
        from nar_utils.benchmarks import load_benchmark

        bench = load_benchmark(data_dir)
        index = int(arch)
        if not 0 <= index < len(bench):
            raise ValueError(f"arch index {index} is out of range 0..{len(bench) - 1} of "
                             f"source {bench.source!r}")
        return bench[index], index
    return nb201.format_arch_str(arch), None  # raises naming the bad token


def train_one(arch: str, *, dataset: str = "cifar10-valid", hp: str = "12",
              seeds: Iterable[int] = (777,), channels: int = 16, cells: int = 5,
              data_dir: str | None = None, proxy: bool = False, out: str | Path = "runs",
              num_epochs: int | None = None, device: str = "auto",
              progress: bool = True, arch_index: int | None = None) -> list[Path]:
    """Train ``arch`` once per seed and write a run record for each; returns their paths.

    ``arch_index`` names the cell's index in a list of cells the caller holds (the meta list
    of a regenerated benchmark): ``arch`` is then taken as the cell itself, and the index is
    recorded and names the run directories, as an index of the benchmark table would."""
    from nar_utils.spaces import nb201
    from nar_utils.training import images as image_data
    from nar_utils.training.trainer import train_network

    if arch_index is None:
        arch_str, index = resolve_arch(arch, data_dir)
    else:
        arch_str, index = nb201.format_arch_str(arch), int(arch_index)
    images = image_data.load_images(dataset, data_dir, fallback="proxy" if proxy else "error")
    name = f"{index:06d}" if index is not None else nb201.op_code_from_arch_str(arch_str)
    paths = []
    for seed in seeds:
        run_dir = Path(out) / f"{name}-seed{seed}"
        started = records.now_iso()
        result = train_network(arch_str, images, hp, seed=seed, channels=channels,
                               cells_per_stage=cells, dataset=dataset, device=device,
                               num_epochs=num_epochs, checkpoint_dir=run_dir,
                               progress=progress)
        parameters = {"arch": arch, "dataset": dataset, "hp": hp, "seed": seed,
                      "channels": channels, "cells": cells, "data_dir": data_dir,
                      "proxy": proxy, "num_epochs": num_epochs, "device": device}
        metrics = {"arch_str": arch_str, "arch_index": index, "images": images.name,
                   "is_proxy": images.is_proxy, "images_source": images.source,
                   "proxy_reason": images.notes.get("proxy_reason"),
                   "curve": result.curve.to_dict(orient="records"), "params": result.params,
                   "params_mb": result.params_mb, "flops": result.flops,
                   "latency": result.latency, "resumed_from_epoch": result.resumed_from_epoch,
                   "config": result.config}
        paths.append(records.write_record(run_dir / f"{RECORD_NAME}.json",
                                          notebook=f"{RECORD_NAME}.py", parameters=parameters,
                                          metrics=metrics, device=result.device,
                                          started=started))
        last = result.curve.iloc[-1]
        print(f"[train_one] {arch_str} seed {seed} on {images.name}"
              f"{' (proxy)' if images.is_proxy else ''}: epoch {int(last['epoch'])}, train "
              f"{last['train_acc']:.2f} %, valid {last['valid_acc']:.2f} %, test "
              f"{last['test_acc']:.2f} %; record {paths[-1]}", flush=True)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nar_utils.reproduce.train_one",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", help="arch string, op code, arch index or 'resnet'")
    parser.add_argument("--dataset", default="cifar10-valid",
                        help="'cifar10-valid', 'cifar10', 'cifar100' or 'ImageNet16-120'")
    parser.add_argument("--hp", default="12", help="'12', '200' or an official config file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[777])
    parser.add_argument("--channels", type=int, default=16, help="C (benchmark: 16)")
    parser.add_argument("--cells", type=int, default=5, help="N (benchmark: 5)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--proxy", action="store_true",
                        help="train on the embedded proxy when the images are missing")
    parser.add_argument("--out", default="runs/train_one")
    parser.add_argument("--epochs", type=int, default=None,
                        help="stop after this many epochs of the schedule (default: all)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        train_one(args.arch, dataset=args.dataset, hp=args.hp, seeds=args.seeds,
                  channels=args.channels, cells=args.cells, data_dir=args.data_dir,
                  proxy=args.proxy, out=args.out, num_epochs=args.epochs, device=args.device)
    except (ValueError, FileNotFoundError) as err:
        print(f"train_one: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
