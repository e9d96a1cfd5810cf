"""Siamese-NAS estimation codes: what a candidate's first minutes of training say about it.

An *estimation code* is the mean training loss of each epoch of a very short run of the
candidate network on a tiny subset of the training images. Siamese-NAS feeds it to its
predictor beside the cell's graph. :func:`estimation_code` computes one; :class:`CodeCache`
keeps them per cell, image set, seed and settings; :func:`table_code` is the second, clearly
named variant that reads a cheap signal from the benchmark table instead (the 12-epoch
accuracy and its training time). The two kinds are never mixed (:func:`stack_codes`).

The run follows the authors' recipe (their ``TrainNas201EstCode``):

* kept: 3 epochs; batches of 16 drawn with replacement, ``subset_size // 16`` per epoch;
  Adam, learning rate 1e-3; cross-entropy with label smoothing 0.01; mixup of two drawn
  images with probability 1/2, the mixing weight from Beta(1.5, 1.5), the loss mixed with the
  same weight; the code is the epochs' mean batch losses;
* changed: the network is the book's NB201 network (C and N settable; the benchmark's 16 and
  5 by default) instead of their Keras model; the augmentation is the benchmark's flip and
  padded crop (:mod:`nar_utils.training.images`) instead of their flip, crop and affine
  shift, and images are normalised as the benchmark normalises them; the subset is a fixed
  random draw of ``subset_size`` training images (the same for every cell and seed) where
  theirs is a folder of images; every random choice comes from ``seed``, where theirs is
  unseeded.

The loop is written here rather than through :func:`nar_utils.training.trainer.
train_network` because that trainer holds the benchmark's recipe (SGD, cosine) and refuses
others; this one shares its network, splits and augmentation. Its cost, the seconds of the
run, is returned with the code so that a search can charge it to its ledger
(:meth:`nar_utils.search.ledger.Ledger.charge_seconds`) like any label.

Reference: S.-W. Zhang et al., "Siamese-NAS: Using Trained Samples Efficiently to Find
Lightweight Neural Architecture by Prior Knowledge", arXiv 2210.00546 (and their code,
D0352276/Siamese-NAS, read as a reference).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nar_utils.spaces.nb201 import space as nb201_space
from nar_utils.training.splits import ImageSplits

KINDS = ("trained", "table-12epoch")
SUBSET_SEED = 0  # the tiny subset is the same for every cell and seed
CACHE_FORMAT = "estimation-code-1"


@dataclass(frozen=True)
class CodeSettings:
    """The estimation run (defaults: the authors' recipe, module docstring)."""

    epochs: int = 3
    batch_size: int = 16
    lr: float = 1e-3
    label_smoothing: float = 0.01
    mixup_probability: float = 0.5
    mixup_alpha: float = 1.5
    subset_size: int = 512
    channels: int = 16
    cells_per_stage: int = 5

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "subset_size", "channels", "cells_per_stage"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"CodeSettings.{name} must be a positive int, got {value!r}")
        if self.subset_size < self.batch_size:
            raise ValueError(f"subset_size {self.subset_size} is below one batch "
                             f"({self.batch_size}); give at least batch_size images")
        if not self.lr > 0 or not self.mixup_alpha > 0:
            raise ValueError("lr and mixup_alpha must be > 0")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.mixup_probability <= 1:
            raise ValueError("label_smoothing must be in [0, 1) and mixup_probability in [0, 1]")


@dataclass(frozen=True)
class EstimationCode:
    """One cell's code: ``values`` (one per epoch, or the table's signal), its ``seconds``."""

    arch: str
    values: tuple[float, ...]
    seconds: float
    kind: str  # 'trained' or 'table-12epoch'
    seed: int | None = None
    images: str | None = None
    is_proxy: bool | None = None
    settings: dict[str, Any] | None = None


def _settings(settings: CodeSettings | dict | None) -> CodeSettings:
    if isinstance(settings, CodeSettings):
        return settings
    names = {f.name for f in dataclasses.fields(CodeSettings)}
    unknown = sorted(set(settings or {}) - names)
    if unknown:
        raise ValueError(f"unknown code setting(s) {unknown}; valid: {sorted(names)}")
    return CodeSettings(**(settings or {}))


def estimation_code(arch: str | Sequence[int], images: ImageSplits, *, seed: int = 0,
                    settings: CodeSettings | dict | None = None,
                    device: str = "cpu") -> EstimationCode:
    """Run the estimation training of ``arch`` on ``images`` and return its code (module
    docstring). Same arguments on the CPU give the same values, bit for bit."""
    import torch
    import torch.nn.functional as F

    from nar_utils.runtime import try_device
    from nar_utils.spaces.nb201.network import build_network
    from nar_utils.training.images import apply_flip_crop, draw_flip_crop, scale_normalise

    hp = _settings(settings)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(images, ImageSplits) or images.train is None:
        raise ValueError("estimation codes need ImageSplits with a training split")
    arch = nb201_space.format_arch_str(arch)
    device = try_device(device)
    x_all, y_all = images.train
    if len(y_all) < hp.subset_size:
        raise ValueError(f"{images.name} has {len(y_all)} training images, fewer than "
                         f"subset_size {hp.subset_size}; lower subset_size")
    start = time.perf_counter()
    subset = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(SUBSET_SEED))[
        :hp.subset_size].sort().values.numpy()
    dev = torch.device(device)
    x = torch.from_numpy(np.ascontiguousarray(x_all[subset])).to(dev)
    y = torch.from_numpy(np.asarray(y_all[subset], dtype=np.int64)).to(dev)
    mean = torch.tensor(images.mean, dtype=torch.float32, device=dev)
    std = torch.tensor(images.std, dtype=torch.float32, device=dev)
    model = build_network(arch, "cifar10", device=device, seed=int(seed),
                          channels=hp.channels, cells_per_stage=hp.cells_per_stage,
                          classes=images.num_classes, image_size=images.image_size)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=hp.lr)
    gen = torch.Generator().manual_seed(int(seed))
    lam_rng = np.random.default_rng(int(seed))
    steps = hp.subset_size // hp.batch_size

    def augmented(index):
        flip, offsets = draw_flip_crop(len(index), images.crop_padding, gen)
        batch = apply_flip_crop(x[index.to(dev)], images.crop_padding, flip.to(dev),
                                offsets.to(dev))
        return scale_normalise(batch, mean, std)

    values = []
    # A short training run needs gradients even when the caller ranks under torch.no_grad()
    # (BTS asks for the codes of the cells it is ranking).
    with torch.enable_grad():
        for _ in range(hp.epochs):
            losses = []
            for _ in range(steps):
                first = torch.randint(0, hp.subset_size, (hp.batch_size,), generator=gen)
                second = torch.randint(0, hp.subset_size, (hp.batch_size,), generator=gen)
                mixed = lam_rng.random(hp.batch_size) < hp.mixup_probability
                lam = np.where(mixed, lam_rng.beta(hp.mixup_alpha, hp.mixup_alpha,
                                                   hp.batch_size), 1.0)
                lam_t = torch.tensor(lam, dtype=torch.float32, device=dev)
                inputs = lam_t[:, None, None, None] * augmented(first) + \
                    (1 - lam_t[:, None, None, None]) * augmented(second)
                logits = model(inputs)
                smoothing = hp.label_smoothing
                loss = (lam_t * F.cross_entropy(logits, y[first.to(dev)], reduction="none",
                                                label_smoothing=smoothing)
                        + (1 - lam_t) * F.cross_entropy(logits, y[second.to(dev)],
                                                        reduction="none",
                                                        label_smoothing=smoothing)).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
            values.append(float(np.mean(losses)))
    return EstimationCode(arch, tuple(values), time.perf_counter() - start, "trained",
                          int(seed), images.name, bool(images.is_proxy),
                          dataclasses.asdict(hp))


def table_code(bench, arch_index: int, dataset: str = "cifar10-valid") -> EstimationCode:
    """The table variant: the 12-epoch validation accuracy of ``dataset`` (cifar10: its
    test accuracy) as the code, and that schedule's training time as its cost."""
    metric = "test-accuracy" if dataset == "cifar10" else "valid-accuracy"
    if not bench.has(dataset, metric, "12"):
        raise KeyError(f"{bench.source} holds no 12-epoch {metric} for {dataset}: the table "
                       "variant of the estimation code needs the NB201 table")
    value = float(bench.column(dataset, metric, "12")[arch_index])
    time_key = ("cifar10-valid" if dataset == "cifar10" else dataset, "train-time", "12")
    seconds = float(bench.column(*time_key)[arch_index]) if bench.has(*time_key) else math.nan
    return EstimationCode(bench[arch_index], (value,), seconds, "table-12epoch")


def stack_codes(codes: Sequence[EstimationCode]) -> np.ndarray:
    """Codes as one ``(N, length)`` array; refuses a mix of kinds, lengths, settings or
    image sets (the two variants are never mixed)."""
    if not codes:
        raise ValueError("no estimation codes to stack")
    first = codes[0]
    for code in codes[1:]:
        for name in ("kind", "images", "settings"):
            if getattr(code, name) != getattr(first, name):
                raise ValueError(f"estimation codes differ in {name} ({getattr(first, name)!r} "
                                 f"vs {getattr(code, name)!r} for {code.arch}); a predictor "
                                 "takes codes of one kind, image set and settings")
    return np.array([c.values for c in codes], dtype=float)


def _fingerprint(images: ImageSplits) -> str:
    digest = hashlib.blake2b(digest_size=12)
    x, y = images.train
    for array in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
        digest.update(str(array.shape).encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


class CodeCache:
    """Estimation codes on disk, one JSON file per (cell, image set, seed, settings).

    ``get(arch, images, seed, settings, device)`` returns ``(code, from_cache)``: a code is
    computed once and read back afterwards, with the seconds its run took (what a search is
    charged, whether it reads the code or computes it). A damaged file raises naming it.
    """

    def __init__(self, root: str | os.PathLike = "data/cache/estimation-codes"):
        self.root = Path(root)
        self._fingerprints: dict[int, str] = {}

    def path(self, arch: str, images: ImageSplits, seed: int,
             settings: CodeSettings | dict | None = None) -> Path:
        hp = _settings(settings)
        fingerprint = self._fingerprints.setdefault(id(images), _fingerprint(images))
        key = json.dumps({"arch": nb201_space.format_arch_str(arch), "images": fingerprint,
                          "seed": int(seed), "settings": dataclasses.asdict(hp)},
                         sort_keys=True)
        name = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        return self.root / images.name / f"{nb201_space.op_code_from_arch_str(arch)}-{name}.json"

    def get(self, arch: str | Sequence[int], images: ImageSplits, seed: int = 0,
            settings: CodeSettings | dict | None = None,
            device: str = "cpu") -> tuple[EstimationCode, bool]:
        arch = nb201_space.format_arch_str(arch)
        path = self.path(arch, images, seed, settings)
        if path.is_file():
            try:
                data = json.loads(path.read_text())
                if data.pop("format") != CACHE_FORMAT:
                    raise ValueError("format")
                data["values"] = tuple(data["values"])
                return EstimationCode(**data), True
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"estimation-code cache file {path} is damaged ({err}); delete "
                                 "it to compute the code again") from err
        code = estimation_code(arch, images, seed=seed, settings=settings, device=device)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"format": CACHE_FORMAT, **dataclasses.asdict(code)}))
        os.replace(tmp, path)
        return code, False


__all__ = ["CACHE_FORMAT", "KINDS", "CodeCache", "CodeSettings", "EstimationCode",
           "estimation_code", "stack_codes", "table_code"]
