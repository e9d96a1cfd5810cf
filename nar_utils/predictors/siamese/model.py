"""The Siamese-NAS predictor network: a basic branch, NSAM, and the estimation fusion module.

Inputs are operation-on-node graphs (:func:`nar_utils.spaces.nb201.encoding.graph_encoding`:
``adj`` (B, N, N), ``nodes`` (B, N, F)) and, for the fine branch, the estimation codes
(B, L) of :mod:`.estimation`.

* :class:`GraphConv`: the authors' graph convolution group: one convolution along the edges
  (``A X W``) and one against them (``Aᵀ X W'``), each with batch norm and Mish, averaged.
* **Basic branch** (:class:`SiameseNet`): three graph convolutions (64 features); its node
  features, averaged over features, give the *coarse* accuracy through a linear layer and a
  sigmoid.
* :class:`NodeAttention` (**NSAM**, optional after the second convolution): graph
  self-attention whose scores are kept on the DAG's edges: one attention along A, one along
  Aᵀ, both added to the input before a last graph convolution.
* :class:`EstimationFusion` (**EFM**): keys from the estimation code (a linear map to one
  vector per node, batch norm, Mish, a graph convolution), queries and values from the basic
  branch's node features, the same two masked attentions; its output gives the *fine*
  accuracy through the same linear layer and sigmoid as the coarse one (shared, as the
  authors share it).

``faithful=True`` keeps two choices of the authors' code, both measured against the default:
the EFM's values are computed with the *query* projection (their code builds a value
projection and never uses it), and the attention masks multiply the scores by A (so that a
non-edge still gets ``exp(0)`` in the softmax) instead of excluding non-edges. The default
uses the value projection and excludes non-edges (a node without edges attends to nothing).

Reference: S.-W. Zhang et al., "Siamese-NAS", arXiv 2210.00546; their code
D0352276/Siamese-NAS (``neural_predictor.py``, ``modules.py``, ``graph_conv.py``), read as a
reference.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GraphConv(nn.Module):
    """``(mish(bn(A X W + b)) + mish(bn(Aᵀ X W' + b'))) / 2`` on (B, N, F) node features."""

    def __init__(self, in_features: int, out_features: int, batch_norm: bool = True):
        super().__init__()
        self.forward_edges = nn.Linear(in_features, out_features)
        self.backward_edges = nn.Linear(in_features, out_features)
        self.norms = nn.ModuleList(nn.BatchNorm1d(out_features) if batch_norm else nn.Identity()
                                   for _ in range(2))

    @staticmethod
    def _norm(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return norm(x.transpose(1, 2)).transpose(1, 2)  # batch norm over the feature axis

    def forward(self, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        along = F.mish(self._norm(self.norms[0], adj @ self.forward_edges(x)))
        against = F.mish(self._norm(self.norms[1], adj.transpose(1, 2) @ self.backward_edges(x)))
        return (along + against) / 2


def masked_attention(scores: torch.Tensor, mask: torch.Tensor, faithful: bool = False
                     ) -> torch.Tensor:
    """Row-wise softmax of ``scores`` (B, N, N) kept on ``mask``'s edges: non-edges get zero
    weight and a row without edges is all zero. ``faithful``: the authors' ``softmax(scores *
    mask)``, where non-edges keep a score of 0."""
    if faithful:
        return torch.softmax(scores * mask, dim=-1)
    keep = mask > 0
    weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0) * keep


class _TwoWayAttention(nn.Module):
    """Attention along A and along Aᵀ from given queries, keys and values, added to the input
    features and passed through a last graph convolution (shared by NSAM and the EFM)."""

    def __init__(self, features: int, faithful: bool):
        super().__init__()
        self.out = GraphConv(features, features, batch_norm=False)
        self.faithful = faithful
        self.last_weights: tuple[torch.Tensor, torch.Tensor] | None = None

    def attend(self, adj, feats, q, k, v):
        scores = q @ k.transpose(1, 2)
        along = masked_attention(scores, adj, self.faithful)
        against = masked_attention(scores, adj.transpose(1, 2), self.faithful)
        self.last_weights = (along.detach(), against.detach())
        return self.out(adj, feats + along @ v + against @ v)


class NodeAttention(_TwoWayAttention):
    """NSAM: graph self-attention on the node features, masked by A and Aᵀ."""

    def __init__(self, features: int, faithful: bool = False):
        super().__init__(features, faithful)
        self.query = GraphConv(features, features, batch_norm=False)
        self.key = GraphConv(features, features, batch_norm=False)
        self.value = GraphConv(features, features, batch_norm=False)

    def forward(self, adj: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.attend(adj, feats, self.query(adj, feats), self.key(adj, feats),
                           self.value(adj, feats))


class EstimationFusion(_TwoWayAttention):
    """EFM: keys from the estimation code, queries and values from the node features."""

    def __init__(self, num_nodes: int, features: int, code_length: int,
                 faithful: bool = False):
        super().__init__(features, faithful)
        self.num_nodes, self.features = num_nodes, features
        self.code_to_nodes = nn.Linear(code_length, num_nodes * features)
        self.code_norm = nn.BatchNorm1d(features)
        self.key = GraphConv(features, features)
        self.query = GraphConv(features, features)
        self.value = GraphConv(features, features)

    def forward(self, adj: torch.Tensor, feats: torch.Tensor, code: torch.Tensor
                ) -> torch.Tensor:
        k = self.code_to_nodes(code).view(-1, self.num_nodes, self.features)
        k = F.mish(GraphConv._norm(self.code_norm, k))
        k = self.key(adj, k)
        q = self.query(adj, feats)
        v = q if self.faithful else self.value(adj, feats)  # theirs: V from the Q projection
        return self.attend(adj, feats, q, k, v)


class SiameseNet(nn.Module):
    """The two branches (module docstring): ``forward(adj, nodes, code=None)`` returns the
    coarse accuracy (B,) and, with a code, the fine one (B,); both in 0..1."""

    def __init__(self, num_nodes: int, node_features: int, code_length: int = 3,
                 hidden: int = 64, nsam: bool = True, faithful: bool = False):
        super().__init__()
        self.convs = nn.ModuleList([GraphConv(node_features, hidden), GraphConv(hidden, hidden),
                                    GraphConv(hidden, hidden)])
        self.nsam = NodeAttention(hidden, faithful) if nsam else None
        self.fusion = EstimationFusion(num_nodes, hidden, code_length, faithful)
        self.head = nn.Linear(num_nodes, 1)  # shared by the coarse and the fine accuracy

    def embed(self, adj: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
        x = self.convs[1](adj, self.convs[0](adj, nodes))
        if self.nsam is not None:
            x = self.nsam(adj, x)
        return self.convs[2](adj, x)

    def accuracy(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(feats.mean(dim=-1))).squeeze(-1)

    def forward(self, adj: torch.Tensor, nodes: torch.Tensor, code: torch.Tensor | None = None):
        feats = self.embed(adj, nodes)
        coarse = self.accuracy(feats)
        if code is None:
            return coarse, None
        return coarse, self.accuracy(self.fusion(adj, feats, code))


def confidence_huber(pred: torch.Tensor, target: torch.Tensor, confidence: torch.Tensor,
                     delta: float = 0.5) -> torch.Tensor:
    """The authors' confidence-weighted loss: Huber (``delta`` = 0.5) per sample, times its
    confidence, averaged."""
    return (F.huber_loss(pred, target, reduction="none", delta=delta) * confidence).mean()


__all__ = ["EstimationFusion", "GraphConv", "NodeAttention", "SiameseNet", "confidence_huber",
           "masked_attention"]
