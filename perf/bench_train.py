"""Training speed of NB201 networks with the benchmark's recipe, and what it projects to.

Usage: python perf/bench_train.py [--device auto] [--epochs 2] [--cells 3] [--cifar-shaped]

Per cell (the cheapest, a median and the most expensive of the space by FLOPs, or as many of
that spread as ``--cells`` asks) it trains a C=16, N=5 network for ``--epochs`` epochs with
:func:`nar_utils.training.trainer.train_network` and prints the seconds per epoch (training
and evaluation) and the training throughput in images/s. The images are the embedded proxy
(scikit-learn's digits, 16x16) by default; ``--cifar-shaped`` times random CIFAR-shaped
tensors instead (50,000 32x32 training images, 10,000 test images: for timing only, the
numbers it learns mean nothing). From the per-cell times it fits seconds per epoch =
a + b x FLOPs and projects the days one seed of the whole cifar10-valid benchmark (15,625
cells x 200 epochs) takes on this device, one cell at a time.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from nar_utils.runtime import try_device
from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import cellinfo
from nar_utils.training import images as image_data
from nar_utils.training.splits import ImageSplits
from nar_utils.training.trainer import train_network


def cifar_shaped(seed: int = 0) -> ImageSplits:
    """Random uint8 images of CIFAR-10's shapes and sizes (timing only)."""
    rng = np.random.default_rng(seed)
    train = (rng.integers(0, 256, (50000, 32, 32, 3), dtype=np.uint8),
             rng.integers(0, 10, 50000).astype(np.int64))
    test = (rng.integers(0, 256, (10000, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, 10000).astype(np.int64))
    pre = image_data.PREPROCESSING["cifar10"]
    return ImageSplits("cifar10", train, None, test, 10, pre.mean, pre.std, pre.crop_padding,
                       source="random CIFAR-shaped tensors (timing only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per cell")
    parser.add_argument("--cells", type=int, default=3, help="cells spread over FLOPs")
    parser.add_argument("--cifar-shaped", action="store_true",
                        help="random CIFAR-10-shaped tensors instead of the proxy")
    args = parser.parse_args()
    device = try_device(args.device)
    images = cifar_shaped() if args.cifar_shaped else image_data.proxy_images()
    codes = nb201.all_op_codes()
    flops_all, _ = cellinfo.network_totals("cifar10-valid", codes)
    order = np.argsort(flops_all, kind="stable")
    picks = order[np.linspace(0, len(order) - 1, args.cells).round().astype(int)]
    n_train = images.sizes()["train"]
    print(f"device {device}; images {images.name} ({images.source or 'proxy'}), "
          f"{n_train} training images of {images.image_size}x{images.image_size}; "
          f"{args.epochs} epochs per cell, batch 256, C=16 N=5")
    seconds, flops = [], []
    for index in picks:
        arch = nb201.format_arch_str(codes[index])
        start = time.perf_counter()
        result = train_network(arch, images, "200", seed=0, device=device,
                               num_epochs=args.epochs)
        total = time.perf_counter() - start
        per_epoch = float(result.curve["seconds"].median())
        seconds.append(per_epoch)
        flops.append(result.flops)
        print(f"{result.flops / 1e6:8.1f} MFLOPs/image  {per_epoch:7.2f} s/epoch  "
              f"{n_train / per_epoch:8.0f} images/s  (call {total:.1f} s)  {arch}")
    if len(picks) >= 2:
        slope, intercept = np.polyfit(np.array(flops, float), np.array(seconds), 1)
        # the space's FLOPs at this image size: scale the cifar10-valid totals by pixel count
        scale = (images.image_size / 32) ** 2
        space_seconds = float(np.sum(intercept + slope * flops_all * scale)) * 200
        print(f"fit: s/epoch = {intercept:.3f} + {slope * 1e6:.4f} x MFLOPs; mean cell "
              f"{float(np.mean(intercept + slope * flops_all * scale)):.2f} s/epoch")
        print(f"projected: one seed of all 15,625 cells x 200 epochs on this device, one cell "
              f"at a time: {space_seconds / 86400:.1f} days "
              f"({'proxy-sized images' if not args.cifar_shaped else 'CIFAR-sized images'})")


if __name__ == "__main__":
    main()
