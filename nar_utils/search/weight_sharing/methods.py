"""Six weight-sharing searches on the NB201 supernet, behind one entry point.

:func:`search_weight_sharing` ``(method, images, seed=...)`` trains a :class:`~.supernet.
Supernet` on the training split of ``images`` (the shared weights) and uses the validation
split for the architecture, then derives one cell. The NB201 protocol scores that cell by
looking it up in the benchmark (:func:`benchmark_accuracies`); the search never sees it.

Methods (each as its paper defines it; settings from the benchmark's ``algos`` configs, see
:data:`SETTINGS`):

* ``darts-v1``: softmax-relaxed edges; each step updates the weights on a training batch,
  then the architecture on a validation batch with the first-order gradient.
* ``darts-v2``: the architecture step first, with the unrolled second-order gradient: the
  validation loss after one virtual weight step, its Hessian-vector term by central finite
  differences (:func:`unrolled_arch_gradient`).
* ``gdas``: one operation per edge sampled by Gumbel-softmax (hard in the forward pass,
  soft in the backward pass), temperature annealed linearly from ``tau_max`` to ``tau_min``;
  weights on training batches, architecture on validation batches.
* ``setn``: the shared weights trained on uniformly sampled cells; a template distribution
  (softmax of the architecture weights) trained on validation batches through the weighted
  supernet; the final cell is the best, by accuracy on one validation batch, of the
  ``select_num`` most probable cells of the template.
* ``enas``: a two-layer LSTM controller samples cells; the shared weights train on its
  samples; the controller trains by REINFORCE on validation-batch accuracy (moving-average
  baseline, entropy bonus, gradients aggregated over ``num_aggregate`` samples); the final
  cell is the best of ``num_samples`` controller samples on one validation batch.
* ``rsps``: random search with parameter sharing: the shared weights train on uniformly
  sampled cells; the final cell is the best of ``select_num`` uniform samples on one
  validation batch.

The candidates of SETN, ENAS and RSPS are all scored on the same validation batch (the
reference code gives each candidate the next batch of its loader), so that they compete on
equal terms. ``track_running_stats`` is the batch-norm switch the benchmark's authors found
to change RSPS a lot (their issue 70): with it, candidates are evaluated with running
statistics accumulated over every sampled cell; without it, with the batch's own.

Reproducibility: all randomness (initialisation, batch order, augmentation, sampling) comes
from the seed; on the CPU the same seed gives the same cell and history. Checkpoints: with
``checkpoint_dir`` the search state is saved after every epoch and a later call continues
after the last saved epoch.

References: H. Liu et al., "DARTS", ICLR 2019; X. Dong and Y. Yang, "Searching for a Robust
Neural Architecture in Four GPU Hours" (GDAS), CVPR 2019, and "One-Shot Neural Architecture
Search via Self-Evaluated Template Network" (SETN), ICCV 2019; H. Pham et al., "ENAS", ICML
2018; L. Li and A. Talwalkar, "Random Search and Reproducibility for NAS", UAI 2019;
X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020 (the protocol and the configs).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nar_utils.runtime import try_device
from nar_utils.search.weight_sharing.supernet import Supernet, derive_arch
from nar_utils.spaces.nb201 import space
from nar_utils.training.images import apply_flip_crop, draw_flip_crop, scale_normalise
from nar_utils.training.splits import ImageSplits

METHODS = ("darts-v1", "darts-v2", "gdas", "setn", "enas", "rsps")
CHECKPOINT_NAME = "search-checkpoint.pt"
GRAD_CLIP = 5.0  # the shared weights' gradient-norm clip of every method's reference code


@dataclass(frozen=True)
class SearchSettings:
    """A weight-sharing search's settings (defaults: :data:`SETTINGS` per method)."""

    epochs: int
    batch_size: int
    lr: float  # shared weights: SGD, cosine from lr to eta_min
    eta_min: float
    weight_decay: float
    momentum: float = 0.9
    nesterov: bool = True
    t_max: int | None = None  # cosine period in epochs (None: epochs); ENAS' config has 10
    arch_lr: float = 3e-4  # architecture weights: Adam(arch_lr, betas (0.5, 0.999))
    arch_weight_decay: float = 1e-3
    channels: int = 16  # supernet C and N (the benchmark's 16 and 5)
    cells_per_stage: int = 5
    affine: bool = False  # the searched cells' batch norms
    track_running_stats: bool = True
    tau_max: float = 10.0  # GDAS temperature, annealed linearly over the epochs
    tau_min: float = 0.1
    select_num: int = 100  # SETN and RSPS: candidates scored at the end
    controller_lr: float = 0.001  # ENAS: Adam(controller_lr, controller_betas, eps)
    controller_betas: tuple[float, float] = (0.0, 0.999)
    controller_eps: float = 0.001
    controller_hidden: int = 32
    controller_temperature: float = 5.0
    controller_tanh: float = 2.5
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    controller_steps: int = 50  # controller updates per epoch
    num_aggregate: int = 20  # samples per controller update
    num_samples: int = 100  # ENAS: candidates scored at the end
    max_batches: int | None = None  # cap on training batches per epoch (None: all)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "channels", "cells_per_stage", "select_num",
                     "controller_hidden", "controller_steps", "num_aggregate", "num_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"setting {name} must be a positive int, got {value!r}")
        for name in ("t_max", "max_batches"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"setting {name} must be a positive int or None, got "
                                 f"{value!r}")
        for name in ("lr", "arch_lr", "controller_lr", "tau_max", "tau_min",
                     "controller_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"setting {name} must be > 0, got {getattr(self, name)!r}")
        if self.tau_min > self.tau_max:
            raise ValueError(f"tau_min {self.tau_min} exceeds tau_max {self.tau_max}")

    def lr_at(self, epoch: int) -> float:
        """The shared weights' learning rate in ``epoch`` (the benchmark's cosine, constant
        within an epoch; with ``t_max`` < epochs, as ENAS' config has it, the rate swings
        between lr and eta_min with a period of 2 t_max epochs)."""
        period = self.t_max or self.epochs
        cosine = (1 + math.cos(math.pi * epoch / period)) / 2
        return self.eta_min + (self.lr - self.eta_min) * cosine


_DARTS = {"epochs": 50, "batch_size": 64, "lr": 0.025, "eta_min": 0.001,
          "weight_decay": 5e-4, "track_running_stats": False}
_SAMPLING = {"epochs": 250, "batch_size": 64, "lr": 0.025, "eta_min": 0.001,
             "weight_decay": 5e-4}
#: Each method's settings: the benchmark's ``algos/<NAME>.config`` (DARTS, GDAS, SETN, ENAS,
#: RANDOM) and its search scripts' flags (batch-norm tracking, temperatures, controller, the
#: numbers of candidates). A test compares them with the shipped configs.
SETTINGS: dict[str, SearchSettings] = {
    "darts-v1": SearchSettings(**_DARTS),
    "darts-v2": SearchSettings(**_DARTS),
    "gdas": SearchSettings(**_SAMPLING),
    "setn": SearchSettings(**_SAMPLING),
    "enas": SearchSettings(epochs=250, batch_size=128, lr=0.05, eta_min=0.0005,
                           weight_decay=0.00025, t_max=10),
    "rsps": SearchSettings(**_SAMPLING),
}
#: The official config file of each method's settings.
CONFIG_FILES = {"darts-v1": "DARTS.config", "darts-v2": "DARTS.config", "gdas": "GDAS.config",
                "setn": "SETN.config", "enas": "ENAS.config", "rsps": "RANDOM.config"}


def settings_for(method: str, overrides: Mapping[str, Any] | None = None) -> SearchSettings:
    """A method's settings with ``overrides`` (names checked against :class:`SearchSettings`)."""
    method = check_method(method)
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(SearchSettings)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)} for {method}; valid: "
                         f"{', '.join(sorted(names))}")
    return dataclasses.replace(SETTINGS[method], **overrides)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown weight-sharing method {method!r}; valid: {', '.join(METHODS)}")
    return method


# -- data ------------------------------------------------------------------------------------
class _Split:
    """One split on the device, served in seeded shuffled batches with the benchmark's
    augmentation (training images) or plain (``augment=False``)."""

    def __init__(self, part, images: ImageSplits, device: torch.device, augment: bool):
        x, y = part
        self.x = torch.from_numpy(np.ascontiguousarray(x)).to(device)
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
        self.mean = torch.tensor(images.mean, dtype=torch.float32, device=device)
        self.std = torch.tensor(images.std, dtype=torch.float32, device=device)
        self.padding = images.crop_padding if augment else 0
        self.augment = augment

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, index: torch.Tensor, generator: torch.Generator):
        images = self.x[index.to(self.x.device)]
        if self.augment:
            flip, offsets = draw_flip_crop(len(index), self.padding, generator)
            images = apply_flip_crop(images, self.padding, flip.to(images.device),
                                     offsets.to(images.device))
        return scale_normalise(images, self.mean, self.std), self.y[index.to(self.y.device)]

    def batches(self, batch_size: int, generator: torch.Generator):
        """An epoch of shuffled batches (the last one smaller)."""
        order = torch.randperm(len(self), generator=generator)
        for start in range(0, len(self), batch_size):
            yield self.batch(order[start:start + batch_size], generator)


# -- the searches ----------------------------------------------------------------------------
@dataclass
class SearchResult:
    """What :func:`search_weight_sharing` returns."""

    method: str
    arch: str  # the derived cell
    seed: int
    seconds: float  # search time (all epochs, this call and resumed ones)
    epochs: int  # epochs searched (the schedule's, unless stop_after cut it short)
    history: pd.DataFrame  # one row per epoch (see search_weight_sharing)
    settings: dict[str, Any]
    images: str
    is_proxy: bool
    device: str
    candidates: list[tuple[str, float]] = field(default_factory=list)  # final scores
    resumed_from_epoch: int = 0


class _Controller(nn.Module):
    """ENAS' controller for the NB201 cell: an LSTM that picks each edge's operation in turn,
    fed the embedding of the previous choice."""

    def __init__(self, hidden: int, temperature: float, tanh_constant: float):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, 1, hidden))
        self.embedding = nn.Embedding(space.NUM_OPS, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=2)
        self.head = nn.Linear(hidden, space.NUM_OPS)
        self.temperature, self.tanh_constant = temperature, tanh_constant
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def step(self, x: torch.Tensor, state):
        """One LSTM step: the edge's operation logits (temperature, then tanh-squashed) and
        the new state."""
        out, state = self.lstm(x, state)
        logits = self.tanh_constant * torch.tanh(self.head(out[-1, 0]) / self.temperature)
        return logits, state

    def sample(self, generator: torch.Generator):
        """(op codes, summed log-probability, summed entropy, per-edge probabilities)."""
        x, state = self.start, None
        codes, log_prob, entropy, probs = [], 0.0, 0.0, []
        for _ in range(space.NUM_EDGES):
            logits, state = self.step(x, state)
            p = logits.softmax(-1)
            code = int(torch.multinomial(p.detach().cpu(), 1, generator=generator))
            log_prob = log_prob + logits.log_softmax(-1)[code]
            entropy = entropy - (p * logits.log_softmax(-1)).sum()
            codes.append(code)
            probs.append(p.detach().cpu().numpy())
            x = self.embedding(torch.tensor([[code]], device=logits.device))
        return codes, log_prob, entropy, np.stack(probs)


def _uniform_cell(generator: torch.Generator) -> list[int]:
    return torch.randint(0, space.NUM_OPS, (space.NUM_EDGES,), generator=generator).tolist()


def _gumbel_weights(alpha: torch.Tensor, tau: float, generator: torch.Generator):
    """GDAS' sample: hard one-hot weights in value, softmax gradients (straight-through)."""
    while True:
        gumbels = -torch.empty(alpha.shape).exponential_(generator=generator).log()
        logits = (alpha.log_softmax(dim=1) + gumbels.to(alpha.device)) / tau
        probs = logits.softmax(dim=1)
        if torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=1)
    hard = torch.zeros_like(probs).scatter_(1, index[:, None], 1.0)
    return hard - probs.detach() + probs, index.tolist()


def _weight_parameters(net: nn.Module) -> list[torch.Tensor]:
    return [p for p in net.parameters() if p.requires_grad]


def unrolled_arch_gradient(net: Supernet, alpha: torch.Tensor, train_batch, valid_batch,
                           lr: float, momentum: float, weight_decay: float,
                           momentum_buffers: list[torch.Tensor | None] | None = None,
                           epsilon: float = 0.01) -> torch.Tensor:
    """DARTS' second-order architecture gradient at ``alpha``:
    ``d/d alpha L_val(w', alpha)`` with ``w' = w - lr (m b + g_train(w) + wd w)`` (one
    virtual SGD step), computed as the paper does: the direct term, minus ``lr`` times a
    Hessian-vector product ``d^2 L_train / (d alpha d w) . d L_val / d w'`` by central
    finite differences at ``w +- r v``, ``r = epsilon / |v|`` (the paper's 0.01).

    With ReLU networks the training gradient jumps where a small shift of the weights flips
    an activation, so the finite difference is an approximation whose error depends on
    ``epsilon``; a test checks the whole gradient against the exact one (autograd through the
    virtual step) at a small ``epsilon`` in double precision."""
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    params = [p for p in net.parameters() if p.requires_grad]
    (xt, yt), (xv, yv) = train_batch, valid_batch
    weights = alpha.softmax(dim=1)
    grads = torch.autograd.grad(F.cross_entropy(net(xt, weights.detach()), yt), params)
    buffers = momentum_buffers or [None] * len(params)
    virtual = {n: (p - lr * ((momentum * b if b is not None else 0) + g + weight_decay * p)
                   ).detach().requires_grad_()
               for n, p, g, b in zip(names, params, grads, buffers)}
    loss = F.cross_entropy(functional_call(net, virtual, (xv, alpha.softmax(dim=1))), yv)
    direct, *v = torch.autograd.grad(loss, [alpha, *virtual.values()])
    r = epsilon / torch.sqrt(sum((g * g).sum() for g in v))
    terms = []
    for sign in (1.0, -1.0):
        shifted = {n: (p + sign * r * g).detach() for n, p, g in zip(names, params, v)}
        train_loss = F.cross_entropy(functional_call(net, shifted, (xt, alpha.softmax(dim=1))),
                                     yt)
        terms.append(torch.autograd.grad(train_loss, alpha)[0])
    return direct - lr * (terms[0] - terms[1]) / (2 * r)


@torch.no_grad()
def _accuracy(net: Supernet, batch, weights=None, indices=None) -> float:
    x, y = batch
    return 100.0 * float((net(x, weights, indices).argmax(1) == y).float().mean())


def _best_candidate(net: Supernet, cells: list[list[int]], batch) -> tuple[str, list]:
    """The best of ``cells`` by accuracy on one validation batch (eval mode)."""
    net.eval()
    scored = [(space.format_arch_str(c), _accuracy(net, batch, indices=c)) for c in cells]
    net.train()
    best = max(range(len(scored)), key=lambda k: scored[k][1])  # first of the best on ties
    return scored[best][0], scored


def _top_cells(probs: np.ndarray, k: int) -> list[list[int]]:
    """The ``k`` most probable cells under independent per-edge probabilities (6 x 5)."""
    log = np.log(np.clip(probs, 1e-30, None))
    codes = space.all_op_codes()
    scores = log[np.arange(space.NUM_EDGES), codes].sum(axis=1)
    order = np.argsort(-scores, kind="stable")[:k]
    return [list(map(int, codes[i])) for i in order]


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def search_weight_sharing(method: str, images: ImageSplits, *, seed: int = 0,
                          settings: Mapping[str, Any] | SearchSettings | None = None,
                          device: str = "auto", checkpoint_dir: str | os.PathLike | None = None,
                          progress: bool = False, stop_after: int | None = None) -> SearchResult:
    """Run one weight-sharing search (module docstring) and return its :class:`SearchResult`.

    ``settings``: overrides of the method's :data:`SETTINGS` (a mapping), or a whole
    :class:`SearchSettings`. ``images`` needs training and validation splits. The history has
    one row per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_acc`` (the shared weights
    on their training batches), ``arch`` (the cell derived at that epoch), ``valid_acc`` (the
    supernet's accuracy with that cell on the first validation batches), ``weights`` (6 x 5
    per-edge distribution over operations: softmax of the architecture weights, the ENAS
    controller's probabilities along its most likely cell; uniform for RSPS), ``tau`` (GDAS)
    and ``seconds``.

    ``stop_after`` ends the call after that many epochs of the schedule (not part of the
    search's identity: with ``checkpoint_dir`` a later call continues it); the cell returned
    is then the one derived so far.
    """
    method = check_method(method)
    hp = settings if isinstance(settings, SearchSettings) else settings_for(method, settings)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(images, ImageSplits) or images.train is None or images.valid is None:
        raise ValueError("a weight-sharing search needs ImageSplits with a training split (the "
                         "shared weights) and a validation split (the architecture)")
    device = try_device(device)
    torch_device = torch.device(device)
    generator = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = Supernet(images.num_classes, images.image_size, hp.channels, hp.cells_per_stage,
                       hp.affine, hp.track_running_stats).to(torch_device)
        alpha = (1e-3 * torch.randn(space.NUM_EDGES, space.NUM_OPS)).to(torch_device)
        controller = _Controller(hp.controller_hidden, hp.controller_temperature,
                                 hp.controller_tanh).to(torch_device)
    alpha.requires_grad_()
    train = _Split(images.train, images, torch_device, augment=True)
    valid = _Split(images.valid, images, torch_device, augment=False)
    params = _weight_parameters(net)
    optimizer = torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum,
                                weight_decay=hp.weight_decay, nesterov=hp.nesterov)
    arch_optimizer = torch.optim.Adam([alpha], lr=hp.arch_lr, betas=(0.5, 0.999),
                                      weight_decay=hp.arch_weight_decay)
    controller_optimizer = torch.optim.Adam(controller.parameters(), lr=hp.controller_lr,
                                            betas=hp.controller_betas, eps=hp.controller_eps)
    baseline = None
    rows: list[dict] = []
    start_epoch, seconds_before = 0, 0.0
    checkpoint = None
    identity = {"method": method, "seed": int(seed), "settings": dataclasses.asdict(hp),
                "images": images.name, "sizes": images.sizes()}
    if checkpoint_dir is not None:
        checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        if checkpoint.exists():
            try:
                state = torch.load(checkpoint, map_location=torch_device, weights_only=True)
            except Exception as err:  # noqa: BLE001 - a damaged file, whatever torch raises
                raise ValueError(f"search checkpoint {checkpoint} cannot be read ({err}); "
                                 "delete it to start the search afresh") from err
            if state.get("identity") != identity:
                raise ValueError(f"search checkpoint {checkpoint} belongs to another search "
                                 f"({state.get('identity', {}).get('method')}, seed "
                                 f"{state.get('identity', {}).get('seed')}, or other "
                                 "settings or images); give another checkpoint_dir")
            net.load_state_dict(state["net"])
            optimizer.load_state_dict(state["optimizer"])
            with torch.no_grad():
                alpha.copy_(state["alpha"])
            arch_optimizer.load_state_dict(state["arch_optimizer"])
            controller.load_state_dict(state["controller"])
            controller_optimizer.load_state_dict(state["controller_optimizer"])
            generator.set_state(state["generator"])
            baseline, rows = state["baseline"], state["rows"]
            start_epoch, seconds_before = state["epoch"], state["seconds"]

    eval_generator = torch.Generator().manual_seed(10_000 + int(seed))
    eval_batch = valid.batch(torch.randperm(len(valid), generator=eval_generator)[
        :max(hp.batch_size, 256)], eval_generator)
    last = hp.epochs if stop_after is None else min(hp.epochs, int(stop_after))
    epochs = range(start_epoch, last)
    bar = None
    if progress:
        from tqdm import tqdm
        epochs = bar = tqdm(epochs, desc=method, initial=start_epoch, total=hp.epochs,
                            unit="epoch", leave=False)
    started = time.perf_counter()
    for epoch in epochs:
        epoch_start = time.perf_counter()
        lr = hp.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tau = hp.tau_max - (hp.tau_max - hp.tau_min) * epoch / max(hp.epochs - 1, 1)
        net.train()
        valid_batches = _cycle(valid, hp.batch_size, generator)
        loss_sum = correct = seen = 0.0
        for step, (x, y) in enumerate(train.batches(hp.batch_size, generator)):
            if hp.max_batches is not None and step >= hp.max_batches:
                break
            if method == "darts-v2":
                arch_optimizer.zero_grad()
                buffers = [optimizer.state.get(p, {}).get("momentum_buffer") for p in params]
                alpha.grad = unrolled_arch_gradient(net, alpha, (x, y), next(valid_batches), lr,
                                                    hp.momentum, hp.weight_decay, buffers)
                arch_optimizer.step()
            weights, indices = None, None
            if method in ("darts-v1", "darts-v2"):
                weights = alpha.softmax(dim=1).detach()
            elif method == "gdas":
                weights, indices = _gumbel_weights(alpha, tau, generator)
                weights = weights.detach()
            elif method == "enas":
                with torch.no_grad():
                    indices = controller.sample(generator)[0]
            else:  # setn, rsps: uniform sampling of one cell per batch
                indices = _uniform_cell(generator)
            optimizer.zero_grad(set_to_none=True)
            logits = net(x, weights, indices)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            if method in ("darts-v1", "gdas", "setn"):
                xv, yv = next(valid_batches)
                arch_optimizer.zero_grad()
                if method == "gdas":
                    arch_weights, arch_indices = _gumbel_weights(alpha, tau, generator)
                else:
                    arch_weights, arch_indices = alpha.softmax(dim=1), None
                arch_loss = F.cross_entropy(net(xv, arch_weights, arch_indices), yv)
                arch_loss.backward()
                arch_optimizer.step()
                net.zero_grad(set_to_none=True)
        if method == "enas":
            baseline = _train_controller(controller, controller_optimizer, net, valid, hp,
                                         generator, baseline)
        # the epoch's derived cell and per-edge distribution
        if method == "enas":
            with torch.no_grad():
                probs = _controller_mode(controller)
        elif method == "rsps":
            probs = np.full((space.NUM_EDGES, space.NUM_OPS), 1.0 / space.NUM_OPS)
        else:
            probs = alpha.detach().softmax(dim=1).cpu().numpy()
        arch = space.format_arch_str([int(k) for k in probs.argmax(axis=1)])
        net.eval()
        valid_acc = _accuracy(net, eval_batch, indices=space.parse_arch_str(arch))
        net.train()
        rows.append({"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / max(seen, 1),
                     "train_acc": 100.0 * correct / max(seen, 1), "arch": arch,
                     "valid_acc": valid_acc, "weights": probs.round(6).tolist(),
                     "tau": tau if method == "gdas" else math.nan,
                     "seconds": time.perf_counter() - epoch_start})
        if bar is not None:
            bar.set_postfix(valid_acc=f"{valid_acc:.1f}")
        if checkpoint is not None:
            _save(checkpoint, {
                "identity": identity, "epoch": epoch + 1, "net": net.state_dict(),
                "optimizer": optimizer.state_dict(), "alpha": alpha.detach().cpu(),
                "arch_optimizer": arch_optimizer.state_dict(),
                "controller": controller.state_dict(),
                "controller_optimizer": controller_optimizer.state_dict(),
                "generator": generator.get_state(), "baseline": baseline, "rows": rows,
                "seconds": seconds_before + time.perf_counter() - started})
    if bar is not None:
        bar.close()

    # the final cell
    candidates: list = []
    if method in ("darts-v1", "darts-v2", "gdas"):
        arch = derive_arch(alpha)
    elif method == "setn":
        cells = _top_cells(alpha.detach().softmax(dim=1).cpu().numpy(), hp.select_num)
        arch, candidates = _best_candidate(net, cells, eval_batch)
    elif method == "enas":
        with torch.no_grad():
            cells = [controller.sample(generator)[0] for _ in range(hp.num_samples)]
        arch, candidates = _best_candidate(net, cells, eval_batch)
    else:
        cells = [_uniform_cell(generator) for _ in range(hp.select_num)]
        arch, candidates = _best_candidate(net, cells, eval_batch)
    history = pd.DataFrame(rows)
    return SearchResult(
        method=method, arch=arch, seed=int(seed),
        seconds=seconds_before + time.perf_counter() - started, epochs=len(rows),
        history=history, settings=dataclasses.asdict(hp), images=images.name,
        is_proxy=bool(images.is_proxy), device=device, candidates=candidates,
        resumed_from_epoch=start_epoch)


def _cycle(split: _Split, batch_size: int, generator: torch.Generator):
    """Validation batches without end, reshuffled at every pass."""
    while True:
        yield from split.batches(batch_size, generator)


def _controller_mode(controller: _Controller) -> np.ndarray:
    """Per-edge probabilities along the controller's most likely choices (greedy)."""
    x, state, probs = controller.start, None, []
    for _ in range(space.NUM_EDGES):
        logits, state = controller.step(x, state)
        p = logits.softmax(-1)
        probs.append(p.cpu().numpy())
        x = controller.embedding(p.argmax().view(1, 1))
    return np.stack(probs)


def _train_controller(controller: _Controller, optimizer, net: Supernet, valid: _Split,
                      hp: SearchSettings, generator: torch.Generator, baseline):
    """ENAS' controller epoch: REINFORCE on one validation batch's accuracy per sample."""
    net.eval()
    controller.train()
    batches = _cycle(valid, hp.batch_size, generator)
    for _ in range(hp.controller_steps):
        optimizer.zero_grad()
        for _ in range(hp.num_aggregate):
            codes, log_prob, entropy, _ = controller.sample(generator)
            reward = _accuracy(net, next(batches), indices=codes) / 100.0
            reward += hp.entropy_weight * float(entropy.detach())
            baseline = reward if baseline is None else \
                hp.baseline_decay * baseline + (1 - hp.baseline_decay) * reward
            loss = -log_prob * (reward - baseline) / hp.num_aggregate
            loss.backward()
        optimizer.step()
    net.train()
    return baseline


def benchmark_accuracies(bench, arch: str) -> dict[str, float]:
    """The derived cell's test accuracy (%) on every dataset the benchmark holds (its longest
    schedule), as the NB201 protocol reports a weight-sharing search."""
    index = bench.query_index_by_arch(arch)
    out = {}
    for dataset in bench.datasets:
        hp = "200" if "200" in bench.hps else bench.hps[0]
        if bench.has(dataset, "test-accuracy", hp):
            out[dataset] = float(bench.get_more_info(index, dataset, hp=hp)["test-accuracy"])
    return out


__all__ = ["CONFIG_FILES", "METHODS", "SETTINGS", "SearchResult", "SearchSettings",
           "benchmark_accuracies", "check_method", "search_weight_sharing", "settings_for",
           "unrolled_arch_gradient"]
