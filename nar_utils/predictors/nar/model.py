"""The Neural Architecture Ranker (NAR): a transformer that sorts architectures into tiers.

An architecture arrives as a feature tensor of shape ``(C, H, W)``: for NAS-Bench-201 the
``(31, 4, 4)`` tensor of :func:`nar_utils.spaces.nb201.encoding.feature_tensor` (op types, then
FLOPs and
params of each of the 15 searched cells), for NAS-Bench-101 ``(19, 7, 7)``. NAR reads it as a
sequence of ``C`` patches:

1. **Encoder.** Each flattened ``H*W`` patch is projected to ``d_model``, sinusoidal
   positions are added, and a transformer encoder produces one embedding per patch,
   ``encoded`` of shape ``(B, C, d_model)``.
2. **Tier embeddings.** The training architectures are split into ``n_tiers`` equal-size
   quality tiers by validation accuracy (paper: tier 1 = best; here index 0 = best). A tier's
   embedding is the running mean of the detached encoder outputs of the training
   architectures in that tier, kept in :class:`TierMemory` (buffers, not parameters; only
   training steps update the model's own memory).
3. **Decoder.** For each tier, a transformer decoder takes that tier's embedding (after a
   linear projection, positions and a layer norm) as its query sequence and cross-attends to
   the architecture's encoder output. The per-tier outputs are summed over tiers, flattened,
   and an MLP maps them to ``n_tiers`` logits, scaled by ``d_model ** -0.5``: the logits say
   which tier the architecture resembles.
4. **Auxiliary head.** An MLP on the flattened encoder output outputs one score, trained with
   a pairwise ranking loss against validation accuracy (see :mod:`nar_utils.predictors.nar.train`).

Layers are PyTorch's standard post-norm transformer layers (ReLU feed-forward, attention
dropout), as in Vaswani et al.; like the authors' code, the patch and tier sequences go
through dropout, positions and a layer norm before the first layer, and every weight matrix
starts Xavier-uniform. NAR's ``d_k = d_v = d_model / n_heads`` (32 in the NB201 config).

References:
  Y. Guo, Y. Chen, Y. Zheng, Q. Chen, P. Zhao, J. Chen, J. Huang, M. Tan, "Neural
  Architecture Ranker", arXiv:2201.12725 (2022); authors' code: github.com/AlbertiPot/nar.
  A. Vaswani et al., "Attention is all you need", NeurIPS 2017.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def dataclass_from_dict(cls, values: dict):
    """``cls(**values)`` for a dataclass, refusing unknown keys with the valid ones named."""
    valid = {field.name for field in dataclasses.fields(cls)}
    unknown = set(values) - valid
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}; valid: "
                         f"{sorted(valid)}")
    return cls(**values)


@dataclass
class NARConfig:
    """NAR architecture hyper-parameters; defaults = the paper's NAS-Bench-201 config."""

    n_patches: int = 31  # C: channels of the feature tensor, one token each
    patch_height: int = 4  # H
    patch_width: int = 4  # W
    n_tiers: int = 5  # quality tiers (index 0 = best)
    d_model: int = 128  # token width
    n_heads: int = 4  # attention heads (d_k = d_model / n_heads)
    n_layers: int = 6  # layers of the encoder, and of the decoder
    d_ff: int = 512  # feed-forward width inside each layer
    dropout: float = 0.1
    d_tier_hidden: int = 256  # hidden width of the tier-logit MLP
    d_aux_hidden: int = 1024  # hidden width of the auxiliary score MLP
    scale_tier_logits: bool = True  # multiply tier logits by d_model ** -0.5

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", int) and (isinstance(value, bool) or
                                               not isinstance(value, int) or value < 1):
                raise ValueError(f"NARConfig.{field.name} must be a positive int, got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads="
                             f"{self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @classmethod
    def from_dict(cls, values: dict) -> "NARConfig":
        """Build from a dict, refusing unknown keys (they name the valid ones)."""
        return dataclass_from_dict(cls, values)

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """The ``(C, H, W)`` shape of one architecture's input."""
        return (self.n_patches, self.patch_height, self.patch_width)


def sinusoidal_positions(n_positions: int, d_model: int) -> torch.Tensor:
    """``(n_positions, d_model)`` table: sin at even, cos at odd dims, wavelengths up to
    10000 * 2 pi (Vaswani et al., section 3.5)."""
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    pair = torch.arange(d_model, dtype=torch.float64)[None, :] // 2
    angle = position / (10000.0 ** (2 * pair / d_model))
    table = torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()


class TierMemory(nn.Module):
    """Running means of encoder outputs per tier: the decoder's query sequences.

    ``embedding[t]`` is the mean of every ``(C, d_model)`` encoder output added for tier ``t``
    since the last :meth:`reset`. :meth:`reset` starts new sums; with ``zero_embeddings=False``
    a tier keeps its previous mean until it receives its first new output, so no batch ever
    queries with an empty (all-zero) tier after the first epoch.
    """

    def __init__(self, n_tiers: int, n_patches: int, d_model: int) -> None:
        super().__init__()
        self.register_buffer("embedding", torch.zeros(n_tiers, n_patches, d_model))
        self.register_buffer("total", torch.zeros(n_tiers, n_patches, d_model))
        self.register_buffer("count", torch.zeros(n_tiers))

    @torch.no_grad()
    def reset(self, zero_embeddings: bool = False) -> None:
        """Start new running means (``zero_embeddings=True`` also empties the embeddings)."""
        self.total.zero_()
        self.count.zero_()
        if zero_embeddings:
            self.embedding.zero_()

    @torch.no_grad()
    def update(self, encoded: torch.Tensor, tiers: torch.Tensor) -> None:
        """Add the encoder outputs ``encoded`` (B, C, d) of architectures in ``tiers`` (B,)."""
        n_tiers = self.embedding.shape[0]
        if tiers.min() < 0 or tiers.max() >= n_tiers:
            raise ValueError(f"tier labels must lie in 0..{n_tiers - 1}, got "
                             f"{int(tiers.min())}..{int(tiers.max())}")
        membership = F.one_hot(tiers.long(), n_tiers).to(encoded.dtype)  # (B, T)
        self.total += torch.einsum("bt,bcd->tcd", membership, encoded.detach())
        self.count += membership.sum(dim=0)
        seen = self.count > 0
        self.embedding[seen] = self.total[seen] / self.count[seen, None, None]


class NAROutput(NamedTuple):
    tier_logits: torch.Tensor  # (B, n_tiers), tier 0 = best
    score: torch.Tensor  # (B,) auxiliary score, higher = better
    encoded: torch.Tensor  # (B, C, d_model) encoder output


class NAR(nn.Module):
    """Neural Architecture Ranker (see the module docstring)."""

    def __init__(self, config: NARConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.n_patches, config.d_model
        self.patch_proj = nn.Linear(config.patch_height * config.patch_width, d)
        self.tier_proj = nn.Linear(d, d)
        self.register_buffer("positions", sinusoidal_positions(c, d), persistent=False)
        self.input_dropout = nn.Dropout(config.dropout)
        self.encoder_input_norm = nn.LayerNorm(d, eps=1e-6)
        self.decoder_input_norm = nn.LayerNorm(d, eps=1e-6)
        layer_args = dict(d_model=d, nhead=config.n_heads, dim_feedforward=config.d_ff,
                          dropout=config.dropout, activation="relu", layer_norm_eps=1e-6,
                          batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer_args),
                                             config.n_layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer_args),
                                             config.n_layers)
        self.tier_head = nn.Sequential(nn.Linear(c * d, config.d_tier_hidden, bias=False),
                                       nn.ReLU(), nn.Linear(config.d_tier_hidden, config.n_tiers))
        self.aux_head = nn.Sequential(nn.Linear(c * d, config.d_aux_hidden), nn.ReLU(),
                                      nn.Linear(config.d_aux_hidden, 1))
        self.tiers = TierMemory(config.n_tiers, c, d)
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)

    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` feature tensors -> ``(B, C, d_model)`` patch embeddings."""
        expected = self.config.feature_shape
        if features.dim() != 4 or tuple(features.shape[1:]) != expected:
            raise ValueError(f"features must have shape (B, {', '.join(map(str, expected))}) "
                             f"for this config, got {tuple(features.shape)}")
        patches = self.patch_proj(features.flatten(2))
        tokens = self.encoder_input_norm(self.input_dropout(patches) + self.positions)
        return self.encoder(tokens)

    def decode_tiers(self, encoded: torch.Tensor, tier_embedding: torch.Tensor) -> torch.Tensor:
        """Tier logits ``(B, n_tiers)`` from encoder outputs and ``(n_tiers, C, d)`` queries."""
        n_tiers = tier_embedding.shape[0]
        batch, n_patches, d_model = encoded.shape
        queries = self.tier_proj(tier_embedding)
        queries = self.decoder_input_norm(self.input_dropout(queries) + self.positions)
        # One decoder pass per (tier, architecture) pair, batched: tier-major copies.
        queries = queries[:, None].expand(n_tiers, batch, n_patches, d_model)
        memory = encoded[None].expand(n_tiers, batch, n_patches, d_model)
        decoded = self.decoder(queries.reshape(-1, n_patches, d_model),
                               memory.reshape(-1, n_patches, d_model))
        summed = decoded.reshape(n_tiers, batch, n_patches * d_model).sum(dim=0)
        logits = self.tier_head(summed)
        if self.config.scale_tier_logits:
            logits = logits * d_model**-0.5
        return logits

    def forward(self, features: torch.Tensor, tier_labels: torch.Tensor | None = None,
                tiers: TierMemory | None = None, decode: bool = True) -> NAROutput:
        """Run NAR on ``(B, C, H, W)`` features.

        Args:
            features: the architectures' feature tensors.
            tier_labels: ``(B,)`` true tiers (0 = best). In training mode they update the
                model's own tier memory *after* this batch's logits are computed (a batch
                never queries with its own outputs); in eval mode they are ignored.
            tiers: a tier memory to query instead of the model's own (e.g. a fresh one);
                it is never updated here.
            decode: run the decoder; ``False`` returns all-zero tier logits (uniform tier
                probabilities) at the cost of the encoder and auxiliary head alone.
        """
        encoded = self.encode(features)
        memory = self.tiers if tiers is None else tiers
        if decode:
            # A copy: the memory may be updated in place below, after the graph has used it.
            logits = self.decode_tiers(encoded, memory.embedding.clone())
        else:
            logits = encoded.new_zeros(len(encoded), self.config.n_tiers)
        score = self.aux_head(encoded.flatten(1)).squeeze(1)
        if self.training and tier_labels is not None:
            self.tiers.update(encoded, tier_labels)
        return NAROutput(logits, score, encoded)

    def num_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


__all__ = ["NAR", "NARConfig", "NAROutput", "TierMemory", "sinusoidal_positions"]
