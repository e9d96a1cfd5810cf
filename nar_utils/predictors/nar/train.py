"""Training, prediction and checkpoints of the Neural Architecture Ranker (:mod:`.model`).

The objective (paper, section 3; authors' ``train_201.py``):

* cross-entropy between the tier logits and each training architecture's true tier
  (equal-size tiers of the training set by validation accuracy, index 0 = best), plus
* ``aux_weight`` (lambda, 1 for NAS-Bench-201) times a pairwise logistic ranking loss on the
  auxiliary score: for every pair of a batch with different accuracies,
  ``log(1 + exp(-(s_i - s_j) * sign(y_i - y_j)))``, averaged over those pairs
  (ReNAS, Xu et al. CVPR 2021).

``tier_weight`` scales the cross-entropy (1 as in the paper); 0 trains the encoder and the
auxiliary head on the ranking loss alone and skips the decoder, whose cost is ``n_tiers``
times the encoder's. ``tier_epochs`` > 0 then adds a *tier stage* after training: the decoder
side alone learns the tiers on the fixed encoder (:func:`_tier_stage`), so the model keeps
NAR's tier read-out without the tier loss shaping the encoder (NAR-C,
:class:`nar_utils.predictors.nar.predictor.NARCPredictor`).

Optimiser: AdamW (betas 0.9 / 0.99, eps 1e-9, weight decay 1e-2) with the learning rate of
"Attention is all you need", ``lr_mul * d_model**-0.5 * min(step**-0.5, step *
warmup_steps**-1.5)``, lr_mul 0.07. **Warm-up is counted in optimiser steps (batches), not
epochs**: the authors' scheduler increments its counter once per batch, before each
``optimizer.step()``, so the first step uses ``step = 1``. With 1000 training architectures,
batch 128 and dropped last partial batches (7 steps per epoch), their 30 warm-up steps last
about 4.3 of the 55 epochs and the peak rate is ``0.07 / sqrt(128 * 30)`` = 1.13e-3.

Where the authors' code and this one differ in a way that changes numbers, ``faithful=True``
reproduces theirs and the default corrects it:

=================================  ==================================  =========================
what                               default (``faithful=False``)        ``faithful=True``
=================================  ==================================  =========================
tier memory at each epoch start    new running means; a tier keeps     zeros: the first batch
                                   its last mean until it is updated   of every epoch queries
                                                                       all-zero tiers
tier memory at validation          the training memory, read only      a fresh zero memory
                                                                       updated with the true
                                                                       tiers of the validation
                                                                       batches (label leak)
tier memory at inference           the training memory, saved with     a fresh zero memory
                                   the weights in the checkpoint       updated batch by batch
                                                                       (128) with predicted
                                                                       tiers: a prediction
                                                                       depends on batch order
best epoch (with validation data)  highest validation Kendall tau of   highest validation tier
                                   the ranking score                   accuracy
=================================  ==================================  =========================

Checkpoints hold only tensors and plain values and load with ``torch.load(...,
weights_only=True)`` (no pickled code runs when reading one).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nar_utils import metrics
from nar_utils.predictors.nar.model import NAR, NARConfig, TierMemory, dataclass_from_dict
from nar_utils.runtime import seeded_torch, try_device

#: Ranking scores :func:`ranking_score` can make from NAR's two outputs.
SCORE_KINDS = ("aux", "expected_tier", "tier_then_aux")
#: Default ranking score. Held-out Kendall tau of the three kinds, 'cpu' preset, 1000 labels,
#: seed 0 (perf/bench_predictors.py): cifar10-valid aux 0.761 / expected_tier 0.751 /
#: tier_then_aux 0.760; cifar100 0.769 / 0.748 / 0.761; ImageNet16-120 0.737 / 0.712 /
#: 0.729. The auxiliary score ranks best on every dataset, so it is the default.
DEFAULT_SCORE = "aux"


@dataclass
class TrainConfig:
    """NAR optimisation hyper-parameters; defaults = the paper's NAS-Bench-201 config."""

    num_epochs: int = 55
    batch_size: int = 128
    lr_mul: float = 0.07  # scales the whole learning-rate schedule
    warmup_steps: int = 30  # optimiser steps (batches), not epochs
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-9
    weight_decay: float = 1e-2
    aux_weight: float = 1.0  # lambda: weight of the ranking loss on the auxiliary score
    tier_weight: float = 1.0  # weight of the tier cross-entropy; 0 = decoder off (aux alone)
    tier_epochs: int = 0  # epochs of a tier stage after training (see train_nar); 0 = none
    tier_lr: float = 1e-3  # learning rate of that stage (AdamW, constant)
    drop_last: bool = True  # drop each epoch's last partial batch (when there is a full one)
    select_best: bool = True  # with validation data: keep the best validation epoch's weights
    eval_batch_size: int = 512  # batch size for validation and prediction (no effect on values)

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "warmup_steps", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("TrainConfig.batch_size must be >= 2 (the ranking loss uses pairs)")
        if isinstance(self.tier_epochs, bool) or not isinstance(self.tier_epochs, int) \
                or self.tier_epochs < 0:
            raise ValueError(f"TrainConfig.tier_epochs must be an int >= 0, got "
                             f"{self.tier_epochs!r}")
        for name in ("aux_weight", "tier_weight", "tier_lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"TrainConfig.{name} must be a number >= 0, got {value!r}")
        if self.aux_weight == 0 and self.tier_weight == 0:
            raise ValueError("TrainConfig.aux_weight and tier_weight are both 0: nothing to train")
        self.betas = tuple(float(b) for b in self.betas)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a dict, refusing unknown keys (they name the valid ones)."""
        return dataclass_from_dict(cls, values)


#: Named sizes. 'paper': the authors' NB201 config (meant for a GPU). 'cpu': a reduced model
#: that trains on 1000 architectures in about a minute on one CPU core. The decoder runs once
#: per (tier, architecture) pair, so its cost is ``n_tiers`` times the encoder's. Measured on
#: NB201 cifar10-valid (1000 labels, split seed 0, one core, held-out Kendall tau): one layer
#: reached the tau of two layers (0.610 vs 0.612) in half the time (about 60 s vs 120 s);
#: dropout, which takes about 30 % of a CPU step, is off. 25 epochs of batch 128 are only
#: 175 optimiser steps and the best validation epoch was the last one, so the preset takes
#: more, larger steps in the same time: batch 64 (375 steps) and ``lr_mul`` 0.14 (peak rate
#: 3.2e-3), tau 0.723 -> 0.762 (batch 64 alone 0.746, lr_mul 0.14 alone 0.747, both with
#: lr_mul 0.1 0.756); 60 epochs at the paper's rate reached only 0.627 (from 0.610) in 140 s.
PRESETS: dict[str, tuple[NARConfig, TrainConfig]] = {
    "paper": (NARConfig(), TrainConfig()),
    "cpu": (NARConfig(n_layers=1, d_model=64, n_heads=4, d_ff=128, dropout=0.0,
                      d_tier_hidden=128, d_aux_hidden=256),
            TrainConfig(num_epochs=25, batch_size=64, lr_mul=0.14)),
}


def preset(name: str = "cpu", **overrides) -> tuple[NARConfig, TrainConfig]:
    """The ``(NARConfig, TrainConfig)`` of a named size, with field overrides routed by name.

    >>> model_config, train_config = preset("cpu", num_epochs=5, d_model=32)
    """
    if name not in PRESETS:
        raise ValueError(f"unknown NAR preset {name!r}; valid: {', '.join(PRESETS)}")
    model_config, train_config = PRESETS[name]
    model_fields = {f.name for f in dataclasses.fields(NARConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(overrides) - model_fields - train_fields
    if unknown:
        raise ValueError(f"unknown NAR setting(s) {sorted(unknown)}; valid: "
                         f"{sorted(model_fields | train_fields)}")
    model_config = dataclasses.replace(
        model_config, **{k: v for k, v in overrides.items() if k in model_fields})
    train_config = dataclasses.replace(
        train_config, **{k: v for k, v in overrides.items() if k in train_fields})
    return model_config, train_config


def lr_at_step(step: int, d_model: int, lr_mul: float = 0.07, warmup_steps: int = 30) -> float:
    """Learning rate of optimiser step ``step`` (1-based): linear warm-up over
    ``warmup_steps`` steps, then decay as ``step**-0.5``."""
    if step < 1:
        raise ValueError(f"step is 1-based, got {step}")
    return lr_mul * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)


def pairwise_ranking_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of ``softplus(-(s_i - s_j))`` over the pairs with ``targets[i] > targets[j]``.

    Equals the authors' ``RankLoss`` up to a constant factor and offset: theirs averages over
    all ordered pairs, counting each pair twice and tied pairs as a constant ``log 2``.
    Returns 0 (with a gradient) when every target is equal.
    """
    if scores.shape != targets.shape or scores.dim() != 1:
        raise ValueError(f"scores and targets must be 1-D of one shape, got "
                         f"{tuple(scores.shape)} and {tuple(targets.shape)}")
    better = targets[:, None] > targets[None, :]
    margins = scores[:, None] - scores[None, :]
    if not better.any():
        return scores.sum() * 0.0
    return F.softplus(-margins[better]).mean()


def ranking_score(tier_probs: np.ndarray, aux: np.ndarray, kind: str = DEFAULT_SCORE
                  ) -> np.ndarray:
    """One ranking score (higher = better) from tier probabilities ``(N, T)`` and aux ``(N,)``.

    * ``'aux'``: the auxiliary score alone.
    * ``'expected_tier'``: ``-E[tier]`` under the predicted tier probabilities.
    * ``'tier_then_aux'``: the most probable tier first (better tier, higher score), the aux
      score breaking ties within a tier (as the authors pick architectures: predicted tier 1,
      then highest aux): ``(T - 1 - argmax tier) + 1/2 + atan(aux) / pi``; the last terms map
      aux monotonically into (0, 1), keeping the ranking within a tier.

    Each architecture's score depends on its own outputs only.
    """
    tier_probs = np.asarray(tier_probs, dtype=np.float64)
    aux = np.asarray(aux, dtype=np.float64)
    if kind == "aux":
        return aux.copy()
    n_tiers = tier_probs.shape[1]
    if kind == "expected_tier":
        return -(tier_probs * np.arange(n_tiers)).sum(axis=1)
    if kind == "tier_then_aux":
        return (n_tiers - 1 - tier_probs.argmax(axis=1)) + 0.5 + np.arctan(aux) / np.pi
    raise ValueError(f"unknown ranking score {kind!r}; valid: {', '.join(SCORE_KINDS)}")


def _as_tensor(values, dtype=torch.float32) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.to(dtype=dtype, device="cpu")
    return torch.as_tensor(np.asarray(values), dtype=dtype)


def _batches(n: int, batch_size: int, drop_last: bool, generator: torch.Generator | None):
    """Index batches of one epoch (shuffled with ``generator`` when given)."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    stop = n - n % batch_size if (drop_last and n >= batch_size) else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


@torch.no_grad()
def predict_nar(model: NAR, features, *, faithful: bool = False, batch_size: int = 512,
                faithful_batch_size: int = 128, decode: bool = True) -> dict[str, np.ndarray]:
    """NAR's outputs for many architectures: ``{'tier_probs' (N, T), 'aux' (N,)}``.

    Default: every batch queries the model's saved tier memory, so an architecture's outputs
    do not depend on the others (``batch_size`` only trades memory for speed).
    ``faithful=True``: the authors' inference, a fresh zero tier memory updated after each
    batch of ``faithful_batch_size`` with the *predicted* tiers (outputs depend on order).
    ``decode=False`` skips the decoder (for a model trained with ``tier_weight=0`` and no
    tier stage): the tier probabilities are uniform.
    """
    features = _as_tensor(features)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    memory = None
    if faithful:
        config = model.config
        memory = TierMemory(config.n_tiers, config.n_patches, config.d_model).to(device)
        batch_size = faithful_batch_size
    probs, aux = [], []
    try:
        for index in _batches(len(features), batch_size, drop_last=False, generator=None):
            out = model(features[index].to(device), tiers=memory, decode=decode)
            batch_probs = torch.softmax(out.tier_logits, dim=1)
            if memory is not None:
                memory.update(out.encoded, batch_probs.argmax(dim=1))
            probs.append(batch_probs.cpu())
            aux.append(out.score.cpu())
    finally:
        model.train(was_training)
    return {"tier_probs": torch.cat(probs).double().numpy(),
            "aux": torch.cat(aux).double().numpy()}


@torch.no_grad()
def _validate(model: NAR, val_features: torch.Tensor, val_y: np.ndarray, val_tiers: np.ndarray,
              *, faithful: bool, score: str, batch_size: int, decode: bool = True
              ) -> dict[str, float]:
    """Validation metrics; the tier memory used follows the table in the module docstring."""
    device = next(model.parameters()).device
    model.eval()
    memory = None
    if faithful:
        config = model.config
        memory = TierMemory(config.n_tiers, config.n_patches, config.d_model).to(device)
        batch_size = 128  # the authors' validation batch
    probs, aux = [], []
    for index in _batches(len(val_features), batch_size, drop_last=False, generator=None):
        out = model(val_features[index].to(device), tiers=memory, decode=decode)
        if memory is not None:  # the authors' leak: true validation tiers feed the memory
            memory.update(out.encoded, torch.as_tensor(val_tiers[index.numpy()], device=device))
        probs.append(torch.softmax(out.tier_logits, dim=1).cpu())
        aux.append(out.score.cpu())
    model.train()
    tier_probs = torch.cat(probs).double().numpy()
    aux_np = torch.cat(aux).double().numpy()
    scores = ranking_score(tier_probs, aux_np, score)
    return {"val_tau": metrics.kendall_tau(val_y, scores),
            "val_tier_accuracy": metrics.tier_accuracy(val_tiers, tier_probs.argmax(axis=1))}


@dataclass
class TrainResult:
    """What :func:`train_nar` returns: the model (best epoch restored) and per-epoch logs."""

    model: NAR
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    seconds: float = 0.0


def train_nar(features, y, *, val_features=None, val_y=None,
              model_config: NARConfig | None = None, train_config: TrainConfig | None = None,
              seed: int = 0, device: str = "cpu", faithful: bool = False,
              score: str = DEFAULT_SCORE, progress: bool = False) -> TrainResult:
    """Train NAR on ``features`` ``(N, C, H, W)`` with validation accuracies ``y`` ``(N,)``.

    Args:
        features, y: training architectures and their accuracies (higher = better).
        val_features, val_y: optional validation architectures; when given, each epoch is
            validated and, with ``train_config.select_best``, the best epoch's weights and
            tier memory are restored at the end (criterion: see the module docstring).
        model_config, train_config: sizes and optimisation (default: the 'cpu' preset).
        seed: seeds initialisation, shuffling and dropout. The global torch RNG state of the
            caller is saved and restored, so training neither reads nor disturbs it.
        device: 'cpu' (default), 'cuda', 'cuda:N' or 'auto'.
        faithful: reproduce the authors' tier-memory handling (module docstring).
        score: the ranking score validated (one of :data:`SCORE_KINDS`).
        progress: show a tqdm bar over epochs.
    """
    default_model, default_train = PRESETS["cpu"]
    model_config = model_config or default_model
    train_config = train_config or default_train
    if score not in SCORE_KINDS:
        raise ValueError(f"unknown ranking score {score!r}; valid: {', '.join(SCORE_KINDS)}")
    device = try_device(device)
    features = _as_tensor(features)
    y = np.asarray(y, dtype=np.float64)
    if features.dim() != 4 or len(features) != len(y):
        raise ValueError(f"features must be (N, C, H, W) with N = len(y) = {len(y)}, got "
                         f"{tuple(features.shape)}")
    if np.isnan(y).any():
        raise ValueError("NaN in y; drop those architectures first")
    tiers = torch.as_tensor(metrics.tiers_from_scores(y, model_config.n_tiers))
    targets = torch.as_tensor(y, dtype=torch.float32)
    validating = val_features is not None and val_y is not None
    if validating:
        val_features = _as_tensor(val_features)
        val_y = np.asarray(val_y, dtype=np.float64)
        val_tiers = metrics.tiers_from_scores(val_y, model_config.n_tiers)
    start = time.perf_counter()
    with seeded_torch(seed, device):
        generator = torch.Generator().manual_seed(seed)
        model = NAR(model_config).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.0, betas=train_config.betas,
                                      eps=train_config.eps,
                                      weight_decay=train_config.weight_decay)
        result = TrainResult(model=model)
        best_value, best_state = -np.inf, None
        step = 0
        # tier_weight 0: the decoder gets no gradient, so training skips it (a T-fold saving)
        decoding = train_config.tier_weight > 0
        epochs = range(train_config.num_epochs)
        if progress:
            from tqdm import tqdm
            epochs = tqdm(epochs, desc="NAR epochs", leave=False)
        for epoch in epochs:
            model.train()
            model.tiers.reset(zero_embeddings=faithful)
            sums = np.zeros(3)
            batches = _batches(len(y), train_config.batch_size, train_config.drop_last,
                               generator)
            for index in batches:
                step += 1
                lr = lr_at_step(step, model_config.d_model, train_config.lr_mul,
                                train_config.warmup_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch_tiers = tiers[index].to(device)
                out = model(features[index].to(device), tier_labels=batch_tiers,
                            decode=decoding)
                rank_loss = pairwise_ranking_loss(out.score, targets[index].to(device))
                loss = train_config.aux_weight * rank_loss
                tier_loss = torch.zeros(())
                if decoding:
                    tier_loss = F.cross_entropy(out.tier_logits, batch_tiers)
                    loss = loss + train_config.tier_weight * tier_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums += [loss.item(), tier_loss.item(), rank_loss.item()]
            log = {"epoch": epoch + 1, "lr": lr, "loss": sums[0] / len(batches),
                   "tier_loss": sums[1] / len(batches), "rank_loss": sums[2] / len(batches)}
            if validating:
                log.update(_validate(model, val_features, val_y, val_tiers, faithful=faithful,
                                     score=score, batch_size=train_config.eval_batch_size,
                                     decode=decoding))
                value = log["val_tier_accuracy" if faithful and decoding else "val_tau"]
                if train_config.select_best and value > best_value:
                    best_value, result.best_epoch = value, epoch + 1
                    best_state = copy.deepcopy(model.state_dict())
            result.history.append(log)
        if best_state is not None:
            model.load_state_dict(best_state)
        if train_config.tier_epochs:
            result.history += _tier_stage(model, features, tiers, train_config, generator,
                                          device, first_epoch=len(result.history) + 1)
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


def _tier_stage(model: NAR, features: torch.Tensor, tiers: torch.Tensor,
                train_config: TrainConfig, generator: torch.Generator, device: str,
                first_epoch: int) -> list[dict[str, float]]:
    """Fit the tier decoder on the trained encoder, which stays as it is.

    The encoder outputs of every training architecture are computed once (eval mode); the
    tier memory becomes their exact mean per tier; then only the decoder side (tier
    projection, decoder, tier head) learns the tiers by cross-entropy for
    ``tier_epochs`` epochs of AdamW at the constant rate ``tier_lr``. The ranking the
    encoder and auxiliary head learnt is untouched, and the decoder, T times the encoder's
    cost per architecture, runs forward and backward only here.
    """
    model.eval()
    with torch.no_grad():
        encoded = torch.cat([model.encode(features[index].to(device)) for index in
                             _batches(len(features), train_config.eval_batch_size, False,
                                      None)])
        model.tiers.reset(zero_embeddings=True)
        model.tiers.update(encoded, tiers.to(device))
    decoder_side = ("tier_proj.", "decoder.", "tier_head.", "decoder_input_norm.")
    params = [p for name, p in model.named_parameters() if name.startswith(decoder_side)]
    optimizer = torch.optim.AdamW(params, lr=train_config.tier_lr,
                                  weight_decay=train_config.weight_decay)
    memory = model.tiers.embedding.clone()
    tiers = tiers.to(device)
    model.train()
    history = []
    for epoch in range(train_config.tier_epochs):
        batches = _batches(len(encoded), train_config.batch_size, train_config.drop_last,
                           generator)
        total, correct = 0.0, 0
        for index in batches:
            index = index.to(device)
            logits = model.decode_tiers(encoded[index], memory)
            loss = F.cross_entropy(logits, tiers[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            correct += int((logits.argmax(dim=1) == tiers[index]).sum())
        history.append({"epoch": first_epoch + epoch, "stage": "tiers",
                        "tier_loss": total / len(batches),
                        "train_tier_accuracy": correct / sum(len(b) for b in batches)})
    model.eval()
    return history


def save_checkpoint(path: str | os.PathLike, model: NAR, *,
                    train_config: TrainConfig | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write weights, tier memory and configs to ``path`` (plain values and tensors only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": "nar-checkpoint-1",
        "model_config": dataclasses.asdict(model.config),
        "train_config": dataclasses.asdict(train_config) if train_config else None,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    torch.save(payload, path)
    return path


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> tuple[NAR, dict]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Returns the model in eval mode on ``device`` with its saved tier memory, and the payload.
    """
    device = try_device(device)
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != "nar-checkpoint-1":
        raise ValueError(f"{path} is not a NAR checkpoint written by save_checkpoint")
    model = NAR(NARConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload


__all__ = [
    "DEFAULT_SCORE",
    "PRESETS",
    "SCORE_KINDS",
    "TrainConfig",
    "TrainResult",
    "load_checkpoint",
    "lr_at_step",
    "pairwise_ranking_loss",
    "predict_nar",
    "preset",
    "ranking_score",
    "save_checkpoint",
    "train_nar",
]
