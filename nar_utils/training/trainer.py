"""Train one NAS-Bench-201 network on images with the benchmark's recipe; record its curve.

:func:`train_network` builds the network of a cell (:func:`nar_utils.spaces.nb201.network.
build_network`, C = 16 and N = 5 by default) for an :class:`~nar_utils.training.splits.
ImageSplits`, trains it as the benchmark's code does and returns a :class:`TrainResult`: the
learning curve, one row per epoch, and at the end the network's parameters, FLOPs per image
and inference latency, as the benchmark records them.

The recipe (:mod:`.recipe`, from the benchmark's ``hyper-opts`` configs):

* SGD, Nesterov momentum 0.9, learning rate 0.1, weight decay 5e-4 on *every* parameter
  (batch-norm scales and biases included, as the official code passes ``net.parameters()``),
  cross-entropy loss, batch 256.
* Cosine learning rate over ``hp.epochs`` epochs, set before every iteration with
  :func:`~nar_utils.training.recipe.lr_at` ``(hp, epoch, i / iterations)``; as in the
  official scheduler the rate changes from epoch to epoch only (see :mod:`.recipe`).
* Each epoch visits the training images in a fresh seeded random order, the last batch
  smaller when the batch size does not divide them (no image is dropped). A training image
  is flipped horizontally with probability 1/2, then randomly cropped back to its size from
  the image padded with ``images.crop_padding`` black pixels (the order of the official
  ``RandomHorizontalFlip``, ``RandomCrop``), then scaled to 0..1 and normalised with
  ``images.mean`` / ``images.std``. Evaluation images are only scaled and normalised.
* After every epoch: the training loss and accuracy accumulated over that epoch's batches
  (in training mode, as the official code reports them), then loss and accuracy on
  ``valid`` and ``test`` (where the images have them) in evaluation mode.

Departures a caller chooses, each recorded in ``TrainResult.config``:

* ``num_epochs`` < ``hp.epochs`` stops a run early, on the *same* schedule: the learning rate
  is still annealed over ``hp.epochs``, so ``num_epochs=12`` of hp='200' is the start of a
  200-epoch run, not the benchmark's 12-epoch run (use hp='12' for that; its cosine reaches 0
  at epoch 12).
* ``batch_size`` replaces the recipe's 256: a different recipe (more, smaller steps at the
  same learning rates), stored as ``config['batch_size']`` next to ``config['hp']``.
* ``max_train_images`` trains on a subset of the training split (the same images for every
  seed).

Reproducibility: weights are drawn under ``seed`` (:func:`build_network`), and every random
choice of training (order, flips, crops) comes from one ``torch.Generator`` seeded with
``seed``; the global random states are neither read nor changed. On the CPU, the same
arguments give the same curve (except its ``seconds``) and the same weights bit for bit; on a
GPU, mixed precision and non-deterministic kernels make runs differ slightly.

On a CUDA GPU the network runs in bfloat16 autocast with channels-last tensors, and each
full-size training step and evaluation batch is captured once as a CUDA graph and replayed
(``cuda_graphs``; :class:`_CudaGraphs`): a C=16 network's thousand small kernels per step
then leave the host in one launch. No step reads a value back to the host (an epoch's random
numbers are drawn ahead and moved at once; sums stay on the device until the epoch ends).
:func:`train_at_once` trains several runs at once, one thread and CUDA stream each.

Checkpoints: with ``checkpoint_dir``, the run's state is saved there after every epoch (file
:data:`CHECKPOINT_NAME`, replaced atomically), and a later call with the same arguments
continues after the last saved epoch, ending with the numbers and weights an uninterrupted run
ends with. ``num_epochs`` is not part of a run's identity: ``num_epochs=k`` then ``num_epochs=n``
with the same directory trains epochs 1..k, then k+1..n.

Reference:
  X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
  Architecture Search", ICLR 2020 (the recipe follows its released configs and training
  code, AutoDL-Projects ``lib/procedures/funcs_nasbench.py``).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from nar_utils.runtime import try_device
from nar_utils.spaces.nb201 import cellinfo
from nar_utils.spaces.nb201 import network as nb201_network
from nar_utils.spaces.nb201 import space as nb201_space
from nar_utils.training.images import apply_flip_crop, draw_flip_crop, normalise, scale_normalise
from nar_utils.training.recipe import HyperParams, hyperparams, lr_at
from nar_utils.training.splits import ImageSplits

#: Columns of ``TrainResult.curve``, in order. ``epoch`` counts finished epochs (1-based);
#: ``lr`` is the learning rate the optimiser had at that epoch's start; losses are mean
#: cross-entropy, accuracies top-1 in percent; NaN where the images lack the split;
#: ``seconds`` is the wall time of the epoch (training and evaluation).
CURVE_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc",
                 "test_loss", "test_acc", "seconds")
EVAL_BATCH_SIZE = 512  # evaluation batch: changes no value, only memory and speed
LATENCY_WARMUP = 2  # untimed batches before timing (allocations, kernel selection)
LATENCY_REPEATS = 5  # timed batches; the latency is their median
CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = "nb201-train-checkpoint-1"
#: Seed of the choice of the ``max_train_images`` subset: fixed, so that runs of different
#: seeds see the same images and differ only in initialisation and order.
SUBSET_SEED = 0
#: Run fields a checkpoint must match to be continued (``num_epochs`` and the device are not
#: among them: a run may be extended, or continued elsewhere).
IDENTITY_FIELDS = ("arch", "dataset", "hp", "seed", "channels", "cells_per_stage",
                   "batch_size", "max_train_images", "images", "is_proxy", "split_sizes",
                   "image_size", "num_classes", "mean", "std", "crop_padding",
                   "images_fingerprint")


@dataclass
class TrainResult:
    """What :func:`train_network` returns."""

    curve: pd.DataFrame  # one row per epoch, columns CURVE_COLUMNS
    params: int  # trainable parameters
    params_mb: float  # params / 1e6, the benchmark tables' "MB"
    flops: int  # FLOPs (multiply-accumulates) per image, cellinfo's convention
    latency: float  # seconds per batch of hp.batch_size images on `device`, eval mode
    device: str
    config: dict[str, Any]  # everything that defines the run (see train_network)
    model: nn.Module  # the trained network, in eval mode, on `device`
    resumed_from_epoch: int = 0  # epochs read from a checkpoint (0: a fresh run)
    checkpoint: Path | None = None  # the checkpoint file, when checkpoint_dir was given


# -- inputs ----------------------------------------------------------------------------------
def _check_positive_int(name: str, value, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}; {fix}")
    return int(value)


def _check_split(images: ImageSplits, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The validated ``(images, labels)`` of one split, or None where it is absent."""
    part = images.split(name)
    if part is None:
        if name == "train":
            raise ValueError(f"images {images.name!r} have no training split")
        return None
    x, y = part
    x, y = np.asarray(x), np.asarray(y)
    size = images.image_size
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (size, size, 3):
        raise ValueError(f"{name} images of {images.name!r} must be uint8 (N, {size}, {size}, 3) "
                         f"like the training images, got {x.dtype} {x.shape}")
    if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu":
        raise ValueError(f"{name} labels of {images.name!r} must be integers of shape "
                         f"({len(x)},), got {y.dtype} {y.shape}")
    if len(y) == 0:
        raise ValueError(f"{name} split of {images.name!r} is empty; give images or None")
    bad = y[(y < 0) | (y >= images.num_classes)]
    if bad.size:
        raise ValueError(f"{name} label {bad[0]} of {images.name!r} is outside 0.."
                         f"{images.num_classes - 1} (num_classes = {images.num_classes}); "
                         "fix the labels or num_classes")
    if not x.flags.writeable:  # torch.from_numpy warns on (and cannot own) read-only memory
        x = x.copy()
    return np.ascontiguousarray(x), y.astype(np.int64)


def _fingerprint(splits: dict[str, tuple[np.ndarray, np.ndarray] | None]) -> str:
    """Hash of the images and labels: another image set never continues this run's
    checkpoint, even under the same name and sizes."""
    digest = hashlib.blake2b(digest_size=16)
    for name, part in splits.items():
        digest.update(name.encode())
        if part is not None:
            for array in part:
                digest.update(str(array.shape).encode())
                digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()


def _plain(value):
    """``value`` as JSON-like plain data (lists, not tuples), as a checkpoint stores it."""
    return json.loads(json.dumps(value))


# -- data ------------------------------------------------------------------------------------
class _Data:
    """One split on the device: uint8 NHWC images and int64 labels."""

    def __init__(self, part: tuple[np.ndarray, np.ndarray], device: torch.device):
        self.x = torch.from_numpy(part[0]).to(device)
        self.y = torch.from_numpy(part[1]).to(device)

    def __len__(self) -> int:
        return len(self.y)


# -- steps -----------------------------------------------------------------------------------
def _autocast(device: torch.device, dtype: torch.dtype | None, cache: bool = True):
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None,
                          cache_enabled=cache)


@torch.no_grad()
def sgd_update(params: list[torch.Tensor], grads: Sequence[torch.Tensor],
               buffers: list[torch.Tensor], lr: torch.Tensor, momentum: float,
               weight_decay: float, nesterov: bool) -> None:
    """One step of ``torch.optim.SGD`` (no dampening) in place, with the learning rate held in
    a 0-dim tensor ``lr`` and the momentum buffers given (zeros before the first step).

    Written here because ``torch.optim.SGD`` turns a tensor learning rate into a Python
    number, a host synchronisation that a captured CUDA graph cannot hold; the graph reads
    ``lr`` when it is replayed, so one graph serves every learning rate of the schedule. Same
    arithmetic as the optimiser: ``d = g + wd p``; ``b = m b + d``; ``d = d + m b`` (Nesterov)
    or ``d = b``; ``p = p - lr d`` (equal up to rounding: a test compares them).
    """
    step = torch._foreach_add(list(grads), params, alpha=weight_decay)
    torch._foreach_mul_(buffers, momentum)
    torch._foreach_add_(buffers, step)
    if nesterov:
        torch._foreach_add_(step, buffers, alpha=momentum)
    else:
        step = buffers
    torch._foreach_sub_(params, torch._foreach_mul(step, lr))


def _eval_batch(model: nn.Module, batch: torch.Tensor, y: torch.Tensor, mean, std,
                device: torch.device, amp_dtype, channels_last: bool, cache: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss (float64) and number of correct predictions of one evaluation batch."""
    with _autocast(device, amp_dtype, cache):
        logits = model(scale_normalise(batch, mean, std, channels_last))
    return (F.cross_entropy(logits.float(), y, reduction="sum").double(),
            (logits.argmax(dim=1) == y).sum())


def _train_batch(model: nn.Module, params: list[torch.Tensor], buffers: list[torch.Tensor],
                 lr: torch.Tensor, hp: HyperParams, train: _Data, crop_padding: int, mean, std,
                 index: torch.Tensor, flip: torch.Tensor, offsets: torch.Tensor,
                 amp_dtype, cache: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One training step of the functional (graph-capturable) path: augment, forward,
    gradients, :func:`sgd_update`. Returns the loss, logits and labels of the batch."""
    device = train.x.device
    x = scale_normalise(apply_flip_crop(train.x[index], crop_padding, flip, offsets), mean,
                        std, channels_last=True)
    y = train.y[index]
    with _autocast(device, amp_dtype, cache):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    # A parameter the loss does not reach (before a cell of 'none' edges) has no gradient;
    # the optimiser leaves such a parameter alone, and so does this step.
    used = [k for k, grad in enumerate(grads) if grad is not None]
    sgd_update([params[k] for k in used], [grads[k] for k in used],
               [buffers[k] for k in used], lr, hp.momentum, hp.weight_decay, hp.nesterov)
    return loss.detach(), logits.detach(), y


class _CaptureGate:
    """Stops the other runs of this process while one captures a CUDA graph.

    A capture must see no CUDA call from another thread (an allocation or a synchronisation
    elsewhere invalidates it), so runs trained at once in threads hold the gate *shared* for
    their whole run and pass a :meth:`safepoint` between batches; :meth:`exclusive` (taken by
    a thread that holds it shared) waits until every other run stands at a safepoint or has
    not started, and keeps them there until the capture ends. Captures happen once per run
    and graph, so the stops are short and rare.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0  # runs holding the gate shared
        self._waiting = 0  # captures waiting for the others to stop
        self._capturing = False

    def _enter(self) -> None:
        with self._cond:
            while self._capturing or self._waiting:
                self._cond.wait()
            self._active += 1

    def _leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def shared(self):
        """Held by a run from its first CUDA call to its last."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    def safepoint(self) -> None:
        """Between batches: stop here while a capture waits or runs."""
        if self._waiting or self._capturing:
            self._leave()
            self._enter()

    @contextlib.contextmanager
    def exclusive(self):
        """Held for a capture by a run that holds the gate shared."""
        with self._cond:
            self._active -= 1
            self._waiting += 1
            while self._capturing or self._active:
                self._cond.wait()
            self._waiting -= 1
            self._capturing = True
        try:
            yield
        finally:
            with self._cond:
                self._capturing = False
                self._active += 1
                self._cond.notify_all()


_GATE = _CaptureGate()
GRAPH_WARMUP = 3  # untimed eager passes on a side stream before a capture, as CUDA asks


class _CudaGraphs:
    """A run's full-size training step and evaluation batch, each captured once as a CUDA
    graph and replayed for every batch of that size (the smaller last batch runs eagerly
    through the same functions).

    Why: a C=16 network launches about a thousand small kernels per training step; issued one
    by one from Python the GPU waits for the launches. A replay issues them at once. The step
    is captured whole (augmentation, forward, backward, :func:`sgd_update`), so a replay
    changes the weights exactly as the eager functional step would. Inputs are copied into
    static tensors before each replay (indices, flips, crop offsets; evaluation images and
    labels); the learning rate is a device tensor the graph reads. Warm-up passes run on a side
    stream with the batch-norm running statistics restored afterwards, so capturing changes no
    state. Runs in other threads (on their own streams) wait at their next safepoint while
    one captures (:class:`_CaptureGate`).
    """

    def __init__(self, model: nn.Module, params: list[torch.Tensor],
                 buffers: list[torch.Tensor], lr: torch.Tensor, hp: HyperParams,
                 train: _Data, crop_padding: int, mean, std, amp_dtype, batch_size: int):
        self.model, self.params, self.buffers, self.lr, self.hp = model, params, buffers, lr, hp
        self.train, self.crop_padding, self.mean, self.std = train, crop_padding, mean, std
        self.amp_dtype, self.batch_size = amp_dtype, batch_size
        self.device = train.x.device
        self._train = self._eval = None

    def _capture(self, function, warmup):
        """Capture ``function()`` after ``warmup()`` passes; returns (graph, its outputs)."""
        with _GATE.exclusive():
            saved = [b.detach().clone() for b in self.model.buffers()]
            current = torch.cuda.current_stream(self.device)
            side = torch.cuda.Stream(self.device)
            side.wait_stream(current)
            with torch.cuda.stream(side):
                for _ in range(GRAPH_WARMUP):
                    warmup()
            current.wait_stream(side)
            with torch.no_grad():
                for buffer, value in zip(self.model.buffers(), saved):
                    buffer.copy_(value)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=torch.cuda.Stream(self.device)):
                outputs = function()
            return graph, outputs

    def train_step(self, index, flip, offsets):
        """The step of the batch ``index`` (graph replay when it has the full size)."""
        if len(index) != self.batch_size:
            return _train_batch(self.model, self.params, self.buffers, self.lr, self.hp,
                                self.train, self.crop_padding, self.mean, self.std, index, flip,
                                offsets, self.amp_dtype)
        if self._train is None:
            n = self.batch_size
            static = (torch.zeros(n, dtype=torch.int64, device=self.device),
                      torch.zeros(n, dtype=torch.bool, device=self.device),
                      torch.zeros(n, 2, dtype=torch.int64, device=self.device))

            def warmup():
                x = scale_normalise(apply_flip_crop(self.train.x[static[0]], self.crop_padding,
                                                    static[1], static[2]),
                                    self.mean, self.std, channels_last=True)
                with _autocast(self.device, self.amp_dtype, cache=False):
                    loss = F.cross_entropy(self.model(x), self.train.y[static[0]])
                torch.autograd.grad(loss, self.params, allow_unused=True)

            graph, outputs = self._capture(lambda: _train_batch(
                self.model, self.params, self.buffers, self.lr, self.hp, self.train,
                self.crop_padding, self.mean, self.std, *static, self.amp_dtype, cache=False),
                warmup)
            self._train = (graph, static, outputs)
        graph, static, outputs = self._train
        for target, value in zip(static, (index, flip, offsets)):
            target.copy_(value)
        graph.replay()
        return outputs

    @torch.no_grad()
    def eval_batch(self, batch: torch.Tensor, y: torch.Tensor):
        """Summed loss and correct count of one evaluation batch (model in eval mode)."""
        if len(y) != EVAL_BATCH_SIZE:
            return _eval_batch(self.model, batch, y, self.mean, self.std, self.device,
                               self.amp_dtype, True)
        if self._eval is None:
            static = (torch.zeros_like(batch), torch.zeros_like(y))

            def run():
                return _eval_batch(self.model, *static, self.mean, self.std, self.device,
                                   self.amp_dtype, True, cache=False)

            graph, outputs = self._capture(run, run)
            self._eval = (graph, static, outputs)
        graph, static, outputs = self._eval
        static[0].copy_(batch)
        static[1].copy_(y)
        graph.replay()
        return outputs


# -- measurements ----------------------------------------------------------------------------
@torch.no_grad()
def _evaluate(model: nn.Module, data: _Data, mean, std, device: torch.device,
              amp_dtype, channels_last: bool, graphs: _CudaGraphs | None = None
              ) -> tuple[float, float]:
    """Mean loss and top-1 accuracy (%) of ``model`` in eval mode on a whole split."""
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, len(data), EVAL_BATCH_SIZE):
        _GATE.safepoint()
        batch = data.x[start:start + EVAL_BATCH_SIZE]
        y = data.y[start:start + EVAL_BATCH_SIZE]
        if graphs is not None:
            batch_loss, batch_correct = graphs.eval_batch(batch, y)
        else:
            batch_loss, batch_correct = _eval_batch(model, batch, y, mean, std, device,
                                                    amp_dtype, channels_last)
        loss_sum += batch_loss
        correct += batch_correct
    return loss_sum.item() / len(data), 100.0 * correct.item() / len(data)


@torch.no_grad()
def count_flops(model: nn.Module, image_size: int) -> int:
    """FLOPs of ``model`` on one ``image_size`` x ``image_size`` image, counted with forward
    hooks under the convention of :mod:`nar_utils.spaces.nb201.cellinfo` (multiply-
    accumulates; batch norm 2 per element; pooling and ReLU as that module says)."""
    return int(sum(cellinfo.module_flops(model, image_size).values()))


@torch.no_grad()
def measure_latency(model: nn.Module, batch_size: int, image_size: int,
                    amp_dtype: torch.dtype | None = None, channels_last: bool = False) -> float:
    """Seconds per forward pass of ``batch_size`` images in eval mode on the model's device:
    the median of :data:`LATENCY_REPEATS` timed batches after :data:`LATENCY_WARMUP`."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = torch.zeros(batch_size, nb201_network.IMAGE_CHANNELS, image_size, image_size,
                    device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    try:
        for k in range(LATENCY_WARMUP + LATENCY_REPEATS):
            _synchronize(device)
            start = time.perf_counter()
            with _autocast(device, amp_dtype):
                model(x)
            _synchronize(device)
            if k >= LATENCY_WARMUP:
                times.append(time.perf_counter() - start)
    finally:
        model.train(was_training)
    return float(statistics.median(times))


def _synchronize(device: torch.device) -> None:
    """Wait for this thread's current stream only: runs trained at once in threads, each on
    its own stream, do not wait for one another."""
    if device.type == "cuda":
        torch.cuda.current_stream(device).synchronize()


# -- checkpoints -----------------------------------------------------------------------------
def _save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically: a crash leaves the previous file intact."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path) -> dict:
    """Read a checkpoint (``weights_only=True``: no pickled code runs), or raise naming it."""
    fix = "delete it (or give another checkpoint_dir) to start the run afresh"
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise ValueError(f"checkpoint {path} cannot be read ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}); it is corrupt or "
                         f"not a train_network checkpoint: {fix}") from err
    keys = {"format", "identity", "epoch", "curve", "model", "optimizer", "generator"}
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT \
            or not keys <= set(payload) or not isinstance(payload["identity"], dict):
        raise ValueError(f"checkpoint {path} is not a {CHECKPOINT_FORMAT!r} file written by "
                         f"train_network: {fix}")
    return payload


def _check_identity(saved: dict, wanted: dict, path: Path) -> None:
    differing = [key for key in wanted if saved.get(key) != wanted[key]]
    differing += [key for key in saved if key not in wanted]
    if differing:
        details = "; ".join(f"{key}: {saved.get(key)!r} in the checkpoint, "
                            f"{wanted.get(key)!r} requested" for key in differing)
        raise ValueError(f"checkpoint {path} belongs to another run (differing: "
                         f"{', '.join(differing)}; {details}). Give another checkpoint_dir, "
                         "or delete the file to start this run afresh")


# -- training --------------------------------------------------------------------------------
def _train_network(arch: str | Sequence[int], images: ImageSplits,
                  hp: HyperParams | str | os.PathLike = "12", *, seed: int = 0,
                  channels: int = nb201_network.DEFAULT_CHANNELS,
                  cells_per_stage: int = nb201_network.DEFAULT_CELLS_PER_STAGE,
                  dataset: str | None = None, device: str = "auto",
                  num_epochs: int | None = None, batch_size: int | None = None,
                  checkpoint_dir: str | os.PathLike | None = None, progress: bool = False,
                  max_train_images: int | None = None,
                  cuda_graphs: bool | None = None) -> TrainResult:
    """Train the NB201 network of ``arch`` on ``images`` with recipe ``hp``; see the module
    docstring for the recipe, reproducibility and checkpoints.

    Args:
        arch: the cell (arch string, 6-digit op code or 6 op codes).
        images: the data; its classes and image size shape the network's input and output.
        hp: ``'12'``, ``'200'``, the path of an official config, or a :class:`HyperParams`.
        seed: initialisation, order, flips and crops (a non-negative int).
        channels, cells_per_stage: C and N of the network (benchmark: 16 and 5).
        dataset: official dataset name recorded with the network; default: ``images.name``
            when it is an official name, else 'cifar10'. Classes and size come from images.
        device: 'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'. On CUDA training
            runs in mixed precision (bfloat16 where supported, else float16 with loss
            scaling) with channels_last tensors; on the CPU in float32.
        num_epochs: stop after this many epochs of the ``hp.epochs`` schedule (default: all).
        batch_size: replaces ``hp.batch_size`` (a different recipe; recorded).
        checkpoint_dir: save after every epoch and resume from there (module docstring).
        progress: tqdm bar over epochs.
        max_train_images: train on this many training images (a fixed random subset).
        cuda_graphs: on CUDA, capture the training step and the evaluation batch as CUDA
            graphs and replay them (:class:`_CudaGraphs`); default: on wherever the
            precision needs no loss scaling (bfloat16). Same recipe, fewer launches; the
            update is :func:`sgd_update` instead of ``torch.optim.SGD``. Ignored on the CPU.

    Returns a :class:`TrainResult`. ``config`` holds: arch, dataset, hp (its fields),
    seed, channels, cells_per_stage, batch_size, num_epochs, schedule_epochs,
    max_train_images, images (name), is_proxy, split_sizes (as trained and evaluated),
    image_size, num_classes, mean, std, crop_padding, images_fingerprint, device, precision,
    eval_batch_size, cuda_graphs.

    Runs may be trained at once in threads of one process, each under its own CUDA stream
    (``with torch.cuda.stream(...)``): a run waits for its own stream only, and its graphs
    are captured without stopping the others.
    """
    hp = hyperparams(hp)
    lr_at(hp, 0)  # refuses a warm-up before any work
    num_epochs = hp.epochs if num_epochs is None else _check_positive_int(
        "num_epochs", num_epochs, f"give 1..{hp.epochs} (hp.epochs) or None for all")
    if num_epochs > hp.epochs:
        raise ValueError(f"num_epochs = {num_epochs} exceeds the schedule's {hp.epochs} epochs "
                         f"(hp.epochs); the learning rate ends at epoch {hp.epochs}. Use a "
                         "longer recipe (hp='200') or fewer epochs")
    batch_size = hp.batch_size if batch_size is None else _check_positive_int(
        "batch_size", batch_size, "give a positive int or None for the recipe's")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    if not isinstance(images, ImageSplits):
        raise TypeError(f"images must be an ImageSplits (nar_utils.training.splits), got "
                        f"{type(images).__name__}")
    if dataset is None:
        dataset = images.name if images.name in nb201_network.DATASET_SHAPES else "cifar10"
    nb201_network.check_dataset(dataset)
    image_size = images.image_size
    if image_size < 4 or image_size % 4:
        raise ValueError(f"image size {image_size} of {images.name!r} must be a multiple of 4 "
                         "(the network halves it twice)")
    if isinstance(images.crop_padding, bool) or not isinstance(images.crop_padding, int) \
            or images.crop_padding < 0:
        raise ValueError(f"crop_padding of {images.name!r} must be an int >= 0, got "
                         f"{images.crop_padding!r}")
    splits = {name: _check_split(images, name) for name in ("train", "valid", "test")}
    if max_train_images is not None:
        max_train_images = _check_positive_int("max_train_images", max_train_images,
                                               "give a positive int or None for all")
        n_train = len(splits["train"][1])
        if max_train_images >= n_train:
            max_train_images = None  # no subset: the record says so
        else:
            chosen = torch.randperm(n_train, generator=torch.Generator().manual_seed(
                SUBSET_SEED))[:max_train_images].sort().values.numpy()
            splits["train"] = tuple(np.ascontiguousarray(a[chosen]) for a in splits["train"])

    device = try_device(device)
    torch_device = torch.device(device)
    cuda = torch_device.type == "cuda"
    amp_dtype = None
    if cuda:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    model = nb201_network.build_network(
        arch, dataset, device=device, seed=seed, channels=channels,
        cells_per_stage=cells_per_stage, classes=images.num_classes, image_size=image_size)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    # One parameter group: the official optimiser decays every parameter.
    optimizer = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum,
                                weight_decay=hp.weight_decay, nesterov=hp.nesterov)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    if cuda_graphs is None:
        cuda_graphs = cuda and scaler is None
    elif cuda_graphs and cuda and scaler is not None:
        raise ValueError("cuda_graphs=True needs bfloat16 (this GPU has float16 only, whose loss "
                         "scaling reads the gradients on the host); give cuda_graphs=False")
    cuda_graphs = bool(cuda_graphs and cuda)
    generator = torch.Generator().manual_seed(seed)

    sizes = {name: 0 if part is None else len(part[1]) for name, part in splits.items()}
    config: dict[str, Any] = _plain({
        "arch": model.config.arch, "dataset": dataset, "hp": hp.to_dict(), "seed": seed,
        "channels": channels, "cells_per_stage": cells_per_stage, "batch_size": batch_size,
        "num_epochs": num_epochs, "schedule_epochs": hp.epochs,
        "max_train_images": max_train_images, "images": images.name,
        "is_proxy": bool(images.is_proxy), "split_sizes": sizes, "image_size": image_size,
        "num_classes": images.num_classes, "mean": [float(m) for m in images.mean],
        "std": [float(s) for s in images.std], "crop_padding": images.crop_padding,
        "images_fingerprint": _fingerprint(splits), "device": device,
        "precision": "float32" if amp_dtype is None else str(amp_dtype).replace("torch.", ""),
        "eval_batch_size": EVAL_BATCH_SIZE, "cuda_graphs": cuda_graphs,
    })
    identity = {key: config[key] for key in IDENTITY_FIELDS}

    rows: list[dict[str, float]] = []
    start_epoch = 0
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        if checkpoint.exists():
            payload = _load_checkpoint(checkpoint)
            _check_identity(payload["identity"], identity, checkpoint)
            start_epoch = int(payload["epoch"])
            if start_epoch > num_epochs:
                raise ValueError(f"checkpoint {checkpoint} has finished {start_epoch} epochs, "
                                 f"more than num_epochs = {num_epochs}; ask for num_epochs >= "
                                 f"{start_epoch}, or give another checkpoint_dir")
            try:
                model.load_state_dict(payload["model"])
                optimizer.load_state_dict(payload["optimizer"])
                generator.set_state(payload["generator"])
                if scaler is not None and payload.get("scaler"):
                    scaler.load_state_dict(payload["scaler"])
            except (RuntimeError, ValueError, KeyError, TypeError) as err:
                raise ValueError(f"checkpoint {checkpoint} does not fit this run's network or "
                                 f"optimiser ({err}); delete it to start afresh") from err
            rows = [dict(row) for row in payload["curve"]]

    data = {name: None if part is None else _Data(part, torch_device)
            for name, part in splits.items()}
    mean = torch.tensor(images.mean, dtype=torch.float32, device=torch_device)
    std = torch.tensor(images.std, dtype=torch.float32, device=torch_device)
    train = data["train"]
    normalise(train.x[:1], mean, std)  # checks mean and std once; batches skip the checks
    iterations = math.ceil(len(train) / batch_size)
    batch_sizes = [min(batch_size, len(train) - i * batch_size) for i in range(iterations)]
    graphs = None
    if cuda_graphs:
        params = list(model.parameters())
        buffers = []
        for param in params:  # the optimiser's state holds them, so checkpoints save them
            state = optimizer.state[param]
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(param)
            buffers.append(state["momentum_buffer"])
        lr_tensor = torch.zeros((), dtype=torch.float32, device=torch_device)
        graphs = _CudaGraphs(model, params, buffers, lr_tensor, hp, train, images.crop_padding,
                             mean, std, amp_dtype, batch_size)

    epochs = range(start_epoch, num_epochs)
    bar = None
    if progress:
        from tqdm import tqdm
        op_code = nb201_space.op_code_from_arch_str(config["arch"])  # short, for the bar
        epochs = bar = tqdm(epochs, desc=f"train {op_code}", initial=start_epoch,
                            total=num_epochs, unit="epoch", leave=False)
    for epoch in epochs:
        _synchronize(torch_device)
        started = time.perf_counter()
        model.train()
        # The epoch's random numbers, drawn ahead in the order batch-by-batch drawing takes
        # them (order, then each batch's flips and offsets), moved to the device at once.
        order = torch.randperm(len(train), generator=generator)
        draws = [draw_flip_crop(size, images.crop_padding, generator) for size in batch_sizes]
        order = order.to(torch_device)
        flips = torch.cat([flip for flip, _ in draws]).to(torch_device)
        offsets = torch.cat([offset for _, offset in draws]).to(torch_device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=torch_device)
        correct = torch.zeros((), dtype=torch.int64, device=torch_device)
        epoch_lr = math.nan
        for i in range(iterations):
            _GATE.safepoint()
            # Per iteration, as the official trainer updates its scheduler.
            lr = lr_at(hp, epoch, i / iterations)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if i == 0:
                epoch_lr = lr
            batch = slice(i * batch_size, i * batch_size + batch_sizes[i])
            index = order[batch]
            if graphs is not None:
                graphs.lr.fill_(lr)
                loss, logits, y = graphs.train_step(index, flips[batch], offsets[batch])
            else:
                x = scale_normalise(apply_flip_crop(train.x[index], images.crop_padding,
                                                    flips[batch], offsets[batch]),
                                    mean, std, channels_last=cuda)
                y = train.y[index]
                with _autocast(torch_device, amp_dtype):
                    logits = model(x)
                    loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            # Sums stay on the device: reading them each batch would stall a GPU.
            loss_sum += loss.detach().double() * batch_sizes[i]
            correct += (logits.detach().argmax(dim=1) == y).sum()
        row = {"epoch": epoch + 1, "lr": epoch_lr,
               "train_loss": loss_sum.item() / len(train),
               "train_acc": 100.0 * correct.item() / len(train)}
        for name in ("valid", "test"):
            if data[name] is None:
                row[f"{name}_loss"] = row[f"{name}_acc"] = math.nan
            else:
                row[f"{name}_loss"], row[f"{name}_acc"] = _evaluate(
                    model, data[name], mean, std, torch_device, amp_dtype, cuda, graphs)
        _synchronize(torch_device)
        row["seconds"] = time.perf_counter() - started
        rows.append(row)
        if bar is not None:
            bar.set_postfix(train_acc=f"{row['train_acc']:.1f}",
                            valid_acc=f"{row['valid_acc']:.1f}")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {
                "format": CHECKPOINT_FORMAT, "identity": identity, "epoch": epoch + 1,
                "curve": rows,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                "scaler": None if scaler is None else scaler.state_dict(),
                "config": config,
            })
    if bar is not None:
        bar.close()

    model.eval()
    params = nb201_network.count_parameters(model)
    curve = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
    curve["epoch"] = curve["epoch"].astype(np.int64)
    return TrainResult(
        curve=curve, params=params, params_mb=params / 1e6,
        flops=count_flops(model, image_size),
        latency=measure_latency(model, hp.batch_size, image_size, amp_dtype, cuda),
        device=device, config=config, model=model, resumed_from_epoch=start_epoch,
        checkpoint=checkpoint)


@functools.wraps(_train_network)
def train_network(*args, **kwargs) -> TrainResult:
    with _GATE.shared():  # see _CaptureGate: runs in threads stop while one captures
        return _train_network(*args, **kwargs)


def train_at_once(runs: Sequence[dict[str, Any]], *, device: str = "auto",
                  threads: int | None = None) -> list[TrainResult | BaseException]:
    """Train several runs at once on one device: ``runs`` are keyword arguments of
    :func:`train_network`, trained ``threads`` at a time (default: all), each in its own
    thread under its own CUDA stream, so that the GPU overlaps the kernels of different
    networks (one C=16 network leaves most of a large GPU idle). Returns, in the order of
    ``runs``, each run's :class:`TrainResult`, or the exception it raised: one failing run
    stops no other.

    Threads rather than processes: kernels of one process on different streams run
    concurrently, while processes take turns on the GPU; with the steps replayed as CUDA
    graphs, a thread spends little time holding Python's lock. On the CPU the runs share the
    cores, which gains nothing over running them in turn.
    """
    import concurrent.futures as cf

    device = try_device(device)
    if not runs:
        return []
    threads = len(runs) if threads is None else _check_positive_int(
        "threads", threads, "give how many runs train at once, or None for all")

    cpu_threads = torch.get_num_threads()

    def one(kwargs: dict[str, Any]) -> TrainResult:
        if str(device).startswith("cuda"):
            with torch.cuda.stream(torch.cuda.Stream(torch.device(device))):
                return train_network(**{**kwargs, "device": device})
        # A new thread starts with OpenMP's default thread count; the caller's count keeps
        # the CPU's reductions, and so the numbers, those of a run trained alone.
        torch.set_num_threads(cpu_threads)
        return train_network(**{**kwargs, "device": device})

    with cf.ThreadPoolExecutor(max_workers=min(threads, len(runs))) as pool:
        futures = [pool.submit(one, dict(kwargs)) for kwargs in runs]
        results: list[TrainResult | BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as err:  # noqa: BLE001 - returned, so that the others survive
                results.append(err)
    return results


__all__ = [
    "CHECKPOINT_NAME",
    "CURVE_COLUMNS",
    "EVAL_BATCH_SIZE",
    "TrainResult",
    "count_flops",
    "measure_latency",
    "sgd_update",
    "train_at_once",
    "train_network",
]
