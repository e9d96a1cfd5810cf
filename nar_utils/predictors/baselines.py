"""The baseline predictors on the shared contract: MLP, GBDT, ReNAS and GCN."""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from nar_utils import metrics
from nar_utils.predictors.base import Predictor
from nar_utils.runtime import seeded_torch
from nar_utils.spaces import SearchSpace


# == shared training loop of the neural baselines ===========================================
def rank_targets(y: np.ndarray) -> np.ndarray:
    """Regression targets for ranking: the labels' average ranks scaled to [-1, 1].

    Regressing raw accuracies lets the few broken architectures (around 10 % on CIFAR-10,
    far below the bulk near 85-94 %) dominate the squared error; their ranks do not. On
    NB201 (1000 labels, cifar10-valid) this lifts the held-out Kendall tau of the GBDT from
    about 0.70 to 0.82. Only the order of ``y`` matters to it, as for every ranking metric.
    """
    ranks = metrics.average_ranks(y)
    return 2 * (ranks - 1) / max(len(y) - 1, 1) - 1


def _train_module(module: nn.Module, inputs: tuple[torch.Tensor, ...], y: np.ndarray, *,
                  loss: str, num_epochs: int, batch_size: int, lr: float, weight_decay: float,
                  seed: int, device: str, val_inputs: tuple[torch.Tensor, ...] | None,
                  val_y: np.ndarray | None) -> nn.Module:
    """AdamW + cosine schedule; with validation data, keep the epoch of best Kendall tau.

    ``loss='mse'`` regresses :func:`rank_targets` of ``y``; ``loss='pairwise'`` uses the
    logistic ranking loss of
    :func:`nar_utils.predictors.nar.train.pairwise_ranking_loss`. Shuffling draws
    from its own generator seeded with ``seed``; the caller seeds (and forks) torch's global
    RNG for initialisation.
    """
    from nar_utils.predictors.nar.train import pairwise_ranking_loss

    targets = torch.as_tensor(rank_targets(y), dtype=torch.float32)
    module.to(device)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, len(y) // batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                           num_epochs * steps_per_epoch)
    best_tau, best_state = -np.inf, None
    for _ in range(num_epochs):
        module.train()
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, steps_per_epoch * batch_size, batch_size):
            index = order[start:start + batch_size]
            batch = [t[index].to(device) for t in inputs]
            out = module(*batch)
            target = targets[index].to(device)
            if loss == "mse":
                value = F.mse_loss(out, target)
            else:
                value = pairwise_ranking_loss(out, target)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            scheduler.step()
        if val_inputs is not None:
            tau = metrics.kendall_tau(val_y, _predict_module(module, val_inputs, device))
            if tau > best_tau:
                best_tau, best_state = tau, copy.deepcopy(module.state_dict())
    if best_state is not None:
        module.load_state_dict(best_state)
    return module.eval()


@torch.no_grad()
def _predict_module(module: nn.Module, inputs: tuple[torch.Tensor, ...], device: str,
                    batch_size: int = 2048) -> np.ndarray:
    was_training = module.training
    module.eval()
    outputs = [module(*[t[i:i + batch_size].to(device) for t in inputs]).cpu()
               for i in range(0, len(inputs[0]), batch_size)]
    module.train(was_training)
    return torch.cat(outputs).double().numpy()


class _TorchPredictor(Predictor):
    """A neural predictor: subclasses define ``_inputs(codes)`` and ``_build()``."""

    loss = "mse"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 num_epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4, canonical: str | None = None) -> None:
        super().__init__(seed=seed, device=device, space=space, canonical=canonical)
        self.num_epochs, self.batch_size = num_epochs, batch_size
        self.lr, self.weight_decay = lr, weight_decay
        self.module: nn.Module | None = None

    def _inputs(self, codes: np.ndarray) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _build(self, inputs: tuple[torch.Tensor, ...]) -> nn.Module:
        """The untrained module for inputs shaped like ``inputs``."""
        raise NotImplementedError

    def _fit(self, codes, y, val_codes, val_y) -> None:
        inputs = self._inputs(codes)
        with seeded_torch(self.seed, self.device):
            self.module = _train_module(
                self._build(inputs), inputs, y, loss=self.loss,
                num_epochs=self.num_epochs, batch_size=min(self.batch_size, len(y)),
                lr=self.lr, weight_decay=self.weight_decay, seed=self.seed,
                device=self.device,
                val_inputs=None if val_codes is None else self._inputs(val_codes), val_y=val_y)

    def _predict(self, codes):
        return _predict_module(self.module, self._inputs(codes), self.device)


class _MLP(nn.Module):
    def __init__(self, d_in: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(d_in, width), nn.ReLU()]
            d_in = width
        self.net = nn.Sequential(*layers, nn.Linear(d_in, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class MLPPredictor(_TorchPredictor):
    """MLP on the one-hot encoding (BANANAS-style feed-forward predictor), squared error on
    :func:`rank_targets`."""

    name = "mlp"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 hidden: tuple[int, ...] = (128, 128, 128), num_epochs: int = 150,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                 canonical: str | None = None) -> None:
        super().__init__(seed, device, space=space, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         canonical=canonical)
        self.hidden = tuple(hidden)

    def _inputs(self, codes):
        return (torch.as_tensor(self.space.onehot(codes)),)

    def _build(self, inputs):
        return _MLP(inputs[0].shape[1], self.hidden)


class _SmallCNN(nn.Module):
    def __init__(self, channels: int, height: int, width: int, hidden: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(hidden * height * width, hidden),
                                  nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class _DatasetPredictor(_TorchPredictor):
    """Neural predictor on the feature tensor, which depends on the dataset."""

    def __init__(self, dataset: str, seed: int = 0, device: str = "cpu", *,
                 space: str | SearchSpace = "nb201", faithful_features: bool = False,
                 **train_kw) -> None:
        super().__init__(seed, device, space=space, **train_kw)
        self.dataset = self.space.check_dataset(dataset)
        self.faithful_features = faithful_features

    def _inputs(self, codes):
        features = self.space.feature_tensor(codes, self.dataset, self.faithful_features)
        return (torch.as_tensor(features),)


class ReNASPredictor(_DatasetPredictor):
    """ReNAS-style: a small CNN on the NAR/ReNAS feature tensor, pairwise ranking loss."""

    name = "renas"
    loss = "pairwise"

    def __init__(self, dataset: str = "cifar10-valid", seed: int = 0, device: str = "cpu", *,
                 space: str | SearchSpace = "nb201", hidden: int = 32, num_epochs: int = 60,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                 faithful_features: bool = False, canonical: str | None = None) -> None:
        super().__init__(dataset, seed, device, space=space,
                         faithful_features=faithful_features, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         canonical=canonical)
        self.hidden = hidden

    def _build(self, inputs):
        return _SmallCNN(*inputs[0].shape[1:], self.hidden)


class _GCN(nn.Module):
    """GCN over operation-on-node graphs: each layer mixes a node with its predecessors
    (normalised adjacency with self-loops, following the data flow), ReLU; the output node's
    embedding after the last layer is mapped to the score (as in BRP-NAS)."""

    def __init__(self, d_in: int, hidden: int, n_layers: int) -> None:
        super().__init__()
        widths = [d_in] + [hidden] * n_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(n_layers))
        self.head = nn.Linear(hidden, 1)

    def forward(self, adjacency: torch.Tensor, node_ops: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(adjacency, node_ops)).squeeze(1)

    def embed(self, adjacency: torch.Tensor, node_ops: torch.Tensor) -> torch.Tensor:
        """``(B, hidden)``: the output node's embedding after the last layer."""
        n_nodes = adjacency.shape[1]
        # adjacency[b, i, j] = 1: i feeds j. Node j gathers from i, so propagate with A^T.
        flow = adjacency.transpose(1, 2) + torch.eye(n_nodes, device=adjacency.device)
        flow = flow / flow.sum(dim=2, keepdim=True)
        hidden = node_ops
        for layer, norm in zip(self.layers, self.norms):
            hidden = F.relu(norm(flow @ layer(hidden)))
        # Read out the output node, marked by the last node type (NB201 puts it last; an
        # NB101 cell of fewer than 7 vertices has it earlier, before its padding).
        return (node_ops[:, :, -1:] * hidden).sum(dim=1)


class GCNPredictor(_TorchPredictor):
    """BRP-NAS-style GCN on :func:`nar_utils.spaces.nb201.encoding.graph_encoding`, squared error on
    :func:`rank_targets`."""

    name = "gcn"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 hidden: int = 128, n_layers: int = 4, num_epochs: int = 100,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                 canonical: str | None = None) -> None:
        super().__init__(seed, device, space=space, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         canonical=canonical)
        self.hidden, self.n_layers = hidden, n_layers

    def _inputs(self, codes):
        adjacency, node_ops = self.space.graph_encoding(codes)
        return torch.as_tensor(adjacency), torch.as_tensor(node_ops)

    def _build(self, inputs):
        return _GCN(inputs[1].shape[2], self.hidden, self.n_layers)


class GBDTPredictor(Predictor):
    """LightGBM regression trees on one-hot + path encoding (single-threaded, deterministic),
    fitted to :func:`rank_targets`.

    With validation data, boosting stops once the validation error has not improved for
    ``early_stopping_rounds`` rounds and keeps the best number of trees.
    """

    name = "gbdt"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 n_estimators: int = 1000, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 5, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, early_stopping_rounds: int = 100,
                 canonical: str | None = None) -> None:
        super().__init__(seed=seed, device=device, space=space, canonical=canonical)
        self.n_estimators = n_estimators
        self.params = dict(objective="regression", learning_rate=learning_rate,
                           num_leaves=num_leaves, min_data_in_leaf=min_child_samples,
                           bagging_fraction=subsample, bagging_freq=1,
                           feature_fraction=colsample_bytree)
        self.early_stopping_rounds = early_stopping_rounds
        self.booster = None

    def _features(self, codes: np.ndarray) -> np.ndarray:
        return np.concatenate([self.space.onehot(codes), self.space.path_encoding(codes)], axis=1)

    def _fit(self, codes, y, val_codes, val_y) -> None:
        import lightgbm

        # Trees are grown on the CPU whatever the device (LightGBM's GPU build is optional);
        # one thread and deterministic=True make the result reproducible.
        params = dict(self.params, seed=self.seed, num_threads=1, deterministic=True,
                      force_row_wise=True, verbosity=-1)
        train_set = lightgbm.Dataset(self._features(codes), label=rank_targets(y),
                                     params={"verbosity": -1})
        kwargs: dict[str, Any] = {}
        if val_codes is not None:
            # Validation targets on the training scale: each label's position among the
            # training labels (interpolated), so the early-stopping error is comparable.
            val_targets = np.interp(val_y, np.sort(y), np.sort(rank_targets(y)))
            kwargs = dict(valid_sets=[lightgbm.Dataset(self._features(val_codes),
                                                       label=val_targets, reference=train_set)],
                          callbacks=[lightgbm.early_stopping(self.early_stopping_rounds,
                                                             verbose=False)])
        self.booster = lightgbm.train(params, train_set, num_boost_round=self.n_estimators,
                                      **kwargs)

    def _predict(self, codes):
        best = self.booster.best_iteration or None  # 0 when trained without validation
        return self.booster.predict(self._features(codes), num_iteration=best)



