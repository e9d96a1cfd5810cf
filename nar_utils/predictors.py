"""Performance predictors on one contract, and the protocol that compares them.

Every predictor follows the contract of :class:`Predictor`:

* ``fit(archs, y, *, val_archs=None, val_y=None) -> self``: train on architectures ``archs``
  (anything :func:`nar_utils.spaces.op_codes_array` accepts, or an ``(N, 6)`` int array of op
  codes) with accuracies ``y`` (higher = better). Validation data, when given, picks the best
  epoch (neural predictors) or the number of trees (GBDT); it is never trained on.
* ``predict(archs) -> (N,) float64``: a score, higher = better. Only its order matters.
* ``rank(archs)`` (indices, best first) and ``top_k(archs, k)``.
* attributes ``name``, ``seed``, ``device``, ``space``. Same seed, same CPU predictions, bit
  for bit.

Every predictor reads NAS-Bench-201 cells by default; ``space='nb101'`` makes it read
NAS-Bench-101 cells instead, given as ``(N, 56)`` packed rows (:func:`nar_utils.nb101.pack`),
through the NB101 encodings of :mod:`nar_utils.nb101_encoding` (NB201 input in brackets in
the table below: NB101 uses adjacency + one-hot (36) for the MLP, adjacency + one-hot + path
(36 + 364) for the GBDT, the (19, 7, 7) feature tensor for NAR and ReNAS, 7-node graphs for
the GCN).

=====================  ==================================  ==================================
predictor              input                               model and loss
=====================  ==================================  ==================================
``'nar'``              feature tensor (31, 4, 4)           NAR transformer (:mod:`.model`)
``'mlp'``              one-hot of the 6 edge ops (30)      MLP, mean squared error
``'gbdt'``             one-hot + path encoding (30 + 84)   LightGBM regression trees
``'renas'``            feature tensor (31, 4, 4)           small CNN, pairwise ranking loss
``'gcn'``              graph_encoding (8 nodes)            GCN (BRP-NAS style), squared error
=====================  ==================================  ==================================

The protocol (:func:`split_indices`, :func:`evaluate`) follows the NAR paper's NAS-Bench-201
setup: 1000 training and 256 validation architectures drawn at random, the rest for testing.

References: NAR, Guo et al. arXiv:2201.12725; BANANAS, White et al. AAAI 2021 (MLP, path
encoding); ReNAS, Xu et al. CVPR 2021; BRP-NAS, Dudziak et al. NeurIPS 2020 (GCN);
LightGBM, Ke et al. NeurIPS 2017 (GBDT predictors as in Luo et al. 2020, "Accuracy
prediction with non-neural model for neural architecture search").
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import metrics
from .runs import try_device


def _check_labels(y, n: int, what: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},) to match the architectures, got "
                         f"{y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{what} holds NaN or infinite values; drop those architectures")
    return y


#: Search spaces the predictors can read, and what each one's architectures look like.
SPACES = ("nb201", "nb101")


class _SpaceCodec:
    """The encodings a predictor reads, for one search space.

    'nb201': architectures as anything :func:`nar_utils.spaces.op_codes_array` accepts or an
    ``(N, 6)`` int array of op codes. 'nb101': an ``(N, 56)`` int array of packed cells
    (:func:`nar_utils.nb101.pack`). The batch form is what :meth:`batch` returns.
    """

    def __init__(self, space: str) -> None:
        if space not in SPACES:
            raise ValueError(f"unknown search space {space!r}; valid: {', '.join(SPACES)}")
        self.space = space

    def batch(self, archs) -> np.ndarray:
        if self.space == "nb201":
            if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu" and archs.ndim == 2:
                return archs.astype(np.int64)
            from . import spaces

            return spaces.op_codes_array(archs).astype(np.int64)
        from . import nb101_encoding

        adjacency, labels = nb101_encoding.unpack(archs)  # validates
        return np.concatenate([adjacency.reshape(len(labels), -1), labels], axis=1)

    def flat(self, batch: np.ndarray) -> np.ndarray:
        """The one-hot style vector of an MLP: NB201 one-hot (30), NB101 adjacency +
        one-hot (36)."""
        if self.space == "nb201":
            from . import encoding

            return encoding.onehot(batch)
        from . import nb101_encoding

        return nb101_encoding.adjacency_onehot(batch)

    def paths(self, batch: np.ndarray) -> np.ndarray:
        from . import encoding, nb101_encoding

        module = encoding if self.space == "nb201" else nb101_encoding
        return module.path_encoding(batch)

    def features(self, batch: np.ndarray, dataset: str, faithful: bool) -> np.ndarray:
        """The NAR feature tensor: (N, 31, 4, 4) on NB201, (N, 19, 7, 7) on NB101."""
        if self.space == "nb201":
            from . import encoding

            return encoding.feature_tensor(batch, dataset, faithful=faithful)
        from . import nb101_encoding

        return nb101_encoding.feature_tensor(batch, faithful=faithful)

    def feature_shape(self) -> tuple[int, int, int]:
        if self.space == "nb201":
            from . import encoding, spaces

            return encoding.NUM_CHANNELS, spaces.NUM_NODES, spaces.NUM_NODES
        from . import nb101, nb101_encoding

        return nb101_encoding.NUM_CHANNELS, nb101.MAX_VERTICES, nb101.MAX_VERTICES

    def graph(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from . import encoding, nb101_encoding

        module = encoding if self.space == "nb201" else nb101_encoding
        return module.graph_encoding(batch)

    def num_node_types(self) -> int:
        from . import encoding, nb101_encoding

        module = encoding if self.space == "nb201" else nb101_encoding
        return len(module.GRAPH_NODE_TYPES)

    def check_dataset(self, dataset: str) -> str:
        valid = DATASETS_BY_SPACE[self.space]
        if dataset not in valid:
            raise ValueError(f"unknown dataset {dataset!r} for space {self.space!r}; valid: "
                             f"{', '.join(valid)}")
        return dataset


#: Datasets whose feature tensor each space defines (NB101 is trained on CIFAR-10 only).
DATASETS_BY_SPACE: dict[str, tuple[str, ...]] = {
    "nb201": ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"),
    "nb101": ("cifar10",),
}


class Predictor:
    """Base class of the predictor contract (see the module docstring)."""

    name = "base"

    def __init__(self, seed: int = 0, device: str = "cpu", space: str = "nb201") -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.codec = _SpaceCodec(space)
        self.space = space
        self.seed = int(seed)
        self.device = try_device(device)
        self.fit_seconds: float | None = None
        self._fitted = False

    # -- to implement ------------------------------------------------------------------------
    def _fit(self, codes: np.ndarray, y: np.ndarray, val_codes: np.ndarray | None,
             val_y: np.ndarray | None) -> None:
        raise NotImplementedError

    def _predict(self, codes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------
    def fit(self, archs, y, *, val_archs=None, val_y=None) -> "Predictor":
        """Train on ``archs`` with accuracies ``y``; optional validation data (see module)."""
        codes = self.codec.batch(archs)
        y = _check_labels(y, len(codes))
        if len(codes) < 5:
            raise ValueError(f"need at least 5 labelled architectures to fit, got {len(codes)}")
        val_codes = None
        if (val_archs is None) != (val_y is None):
            raise ValueError("give both val_archs and val_y, or neither")
        if val_archs is not None:
            val_codes = self.codec.batch(val_archs)
            val_y = _check_labels(val_y, len(val_codes), "val_y")
        start = time.perf_counter()
        self._fit(codes, y, val_codes, val_y)
        self.fit_seconds = time.perf_counter() - start
        self._fitted = True
        return self

    def predict(self, archs) -> np.ndarray:
        """``(N,)`` float64 scores, higher = better."""
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(archs, y) first")
        codes = self.codec.batch(archs)
        return np.asarray(self._predict(codes), dtype=np.float64).reshape(len(codes))

    def rank(self, archs) -> np.ndarray:
        """Indices into ``archs``, best predicted first (equal scores keep their order)."""
        return np.argsort(-self.predict(archs), kind="stable")

    def top_k(self, archs, k: int) -> np.ndarray:
        """Indices of the ``k`` best-predicted architectures, best first."""
        return metrics.top_k_indices(self.predict(archs), k)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(seed={self.seed}, device={self.device!r}, "
                f"space={self.space!r})")


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
    logistic ranking loss of :func:`nar_utils.train.pairwise_ranking_loss`. Shuffling draws
    from its own generator seeded with ``seed``; the caller seeds (and forks) torch's global
    RNG for initialisation.
    """
    from .train import pairwise_ranking_loss

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

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str = "nb201",
                 num_epochs: int = 100, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-4) -> None:
        super().__init__(seed=seed, device=device, space=space)
        self.num_epochs, self.batch_size = num_epochs, batch_size
        self.lr, self.weight_decay = lr, weight_decay
        self.module: nn.Module | None = None

    def _inputs(self, codes: np.ndarray) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def _build(self, inputs: tuple[torch.Tensor, ...]) -> nn.Module:
        """The untrained module for inputs shaped like ``inputs``."""
        raise NotImplementedError

    def _fit(self, codes, y, val_codes, val_y) -> None:
        devices = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        inputs = self._inputs(codes)
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
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

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str = "nb201",
                 hidden: tuple[int, ...] = (128, 128, 128), num_epochs: int = 150,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4) -> None:
        super().__init__(seed, device, space=space, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay)
        self.hidden = tuple(hidden)

    def _inputs(self, codes):
        return (torch.as_tensor(self.codec.flat(codes)),)

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
                 space: str = "nb201", faithful_features: bool = False, **train_kw) -> None:
        super().__init__(seed, device, space=space, **train_kw)
        self.dataset = self.codec.check_dataset(dataset)
        self.faithful_features = faithful_features

    def _inputs(self, codes):
        features = self.codec.features(codes, self.dataset, self.faithful_features)
        return (torch.as_tensor(features),)


class ReNASPredictor(_DatasetPredictor):
    """ReNAS-style: a small CNN on the NAR/ReNAS feature tensor, pairwise ranking loss."""

    name = "renas"
    loss = "pairwise"

    def __init__(self, dataset: str = "cifar10-valid", seed: int = 0, device: str = "cpu", *,
                 space: str = "nb201", hidden: int = 32, num_epochs: int = 60,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4,
                 faithful_features: bool = False) -> None:
        super().__init__(dataset, seed, device, space=space,
                         faithful_features=faithful_features, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay)
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
        n_nodes = adjacency.shape[1]
        # adjacency[b, i, j] = 1: i feeds j. Node j gathers from i, so propagate with A^T.
        flow = adjacency.transpose(1, 2) + torch.eye(n_nodes, device=adjacency.device)
        flow = flow / flow.sum(dim=2, keepdim=True)
        hidden = node_ops
        for layer, norm in zip(self.layers, self.norms):
            hidden = F.relu(norm(flow @ layer(hidden)))
        # Read out the output node, marked by the last node type (NB201 puts it last; an
        # NB101 cell of fewer than 7 vertices has it earlier, before its padding).
        readout = (node_ops[:, :, -1:] * hidden).sum(dim=1)
        return self.head(readout).squeeze(1)


class GCNPredictor(_TorchPredictor):
    """BRP-NAS-style GCN on :func:`nar_utils.encoding.graph_encoding`, squared error on
    :func:`rank_targets`."""

    name = "gcn"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str = "nb201",
                 hidden: int = 128, n_layers: int = 4, num_epochs: int = 100,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 1e-4) -> None:
        super().__init__(seed, device, space=space, num_epochs=num_epochs,
                         batch_size=batch_size, lr=lr, weight_decay=weight_decay)
        self.hidden, self.n_layers = hidden, n_layers

    def _inputs(self, codes):
        adjacency, node_ops = self.codec.graph(codes)
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

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str = "nb201",
                 n_estimators: int = 1000, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 5, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, early_stopping_rounds: int = 100) -> None:
        super().__init__(seed=seed, device=device, space=space)
        self.n_estimators = n_estimators
        self.params = dict(objective="regression", learning_rate=learning_rate,
                           num_leaves=num_leaves, min_data_in_leaf=min_child_samples,
                           bagging_fraction=subsample, bagging_freq=1,
                           feature_fraction=colsample_bytree)
        self.early_stopping_rounds = early_stopping_rounds
        self.booster = None

    def _features(self, codes: np.ndarray) -> np.ndarray:
        return np.concatenate([self.codec.flat(codes), self.codec.paths(codes)], axis=1)

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


#: Weight of NAR's ranking loss on NB101 (the paper's lambda; 1 on NB201).
NB101_AUX_WEIGHT = 9.0


class NARPredictor(Predictor):
    """The Neural Architecture Ranker behind the predictor contract.

    Args:
        dataset: benchmark dataset whose feature tensor (FLOPs/params) NAR reads
            ('cifar10' on NB101).
        config: 'cpu' or 'paper' (:data:`nar_utils.train.PRESETS`).
        seed, device, space: as for every predictor. On NB101 the model reads 19 patches of
            7x7 and the ranking loss weighs :data:`NB101_AUX_WEIGHT` (the paper's 9).
        faithful: the authors' tier-memory handling (see :mod:`nar_utils.train`).
        faithful_features: the authors' raw feature values (see
            :func:`nar_utils.encoding.feature_tensor`).
        score: which ranking score ``predict`` returns (:data:`nar_utils.train.SCORE_KINDS`).
        progress: show a progress bar over epochs.
        **overrides: any :class:`~nar_utils.model.NARConfig` or
            :class:`~nar_utils.train.TrainConfig` field, e.g. ``num_epochs=10``.
    """

    name = "nar"

    def __init__(self, dataset: str = "cifar10-valid", config: str = "cpu", seed: int = 0,
                 device: str = "cpu", *, space: str = "nb201", faithful: bool = False,
                 faithful_features: bool = False, score: str | None = None,
                 progress: bool = False, **overrides) -> None:
        super().__init__(seed=seed, device=device, space=space)
        from . import train

        self.codec.check_dataset(dataset)
        if space != "nb201":
            # the feature tensor's shape, and the NB101 ranking-loss weight of the paper
            n_patches, height, width = self.codec.feature_shape()
            overrides = {"n_patches": n_patches, "patch_height": height,
                         "patch_width": width, "aux_weight": NB101_AUX_WEIGHT, **overrides}
        score = train.DEFAULT_SCORE if score is None else score
        if score not in train.SCORE_KINDS:
            raise ValueError(f"unknown ranking score {score!r}; valid: "
                             f"{', '.join(train.SCORE_KINDS)}")
        self.dataset, self.config_name = dataset, config
        self.model_config, self.train_config = train.preset(config, **overrides)
        self.faithful, self.faithful_features = faithful, faithful_features
        self.score, self.progress = score, progress
        self.result = None

    @property
    def model(self):
        """The trained :class:`~nar_utils.model.NAR` (after ``fit``)."""
        return None if self.result is None else self.result.model

    def features(self, archs) -> np.ndarray:
        """The feature tensor this predictor reads: ``(N, 31, 4, 4)`` on NB201,
        ``(N, 19, 7, 7)`` on NB101."""
        return self.codec.features(self.codec.batch(archs), self.dataset,
                                   self.faithful_features)

    def _fit(self, codes, y, val_codes, val_y) -> None:
        from . import train

        self.result = train.train_nar(
            self.features(codes), y,
            val_features=None if val_codes is None else self.features(val_codes), val_y=val_y,
            model_config=self.model_config, train_config=self.train_config, seed=self.seed,
            device=self.device, faithful=self.faithful, score=self.score,
            progress=self.progress)

    def predict_details(self, archs) -> dict[str, np.ndarray]:
        """``{'tier_probs' (N, T), 'aux' (N,), 'score' (N,)}`` for ``archs``."""
        from . import train

        if not self._fitted:
            raise RuntimeError("NARPredictor is not fitted; call fit(archs, y) first")
        out = train.predict_nar(self.model, self.features(archs), faithful=self.faithful,
                                batch_size=self.train_config.eval_batch_size)
        out["score"] = train.ranking_score(out["tier_probs"], out["aux"], self.score)
        return out

    def predict_tiers(self, archs) -> np.ndarray:
        """Most probable quality tier of each arch (0 = best), as NAR's search reads it."""
        return self.predict_details(archs)["tier_probs"].argmax(axis=1)

    def _predict(self, codes):
        return self.predict_details(codes)["score"]


#: Predictor classes by name.
PREDICTORS: dict[str, type[Predictor]] = {
    cls.name: cls for cls in (NARPredictor, MLPPredictor, GBDTPredictor, ReNASPredictor,
                              GCNPredictor)
}


def make_predictor(name: str, **kwargs) -> Predictor:
    """A predictor by name (``'nar'``, ``'mlp'``, ``'gbdt'``, ``'renas'``, ``'gcn'``).

    Keyword arguments go to the constructor; ``dataset`` is dropped for predictors that do
    not read the feature tensor, so one call signature serves every name.
    """
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; valid: {', '.join(PREDICTORS)}")
    cls = PREDICTORS[name]
    if cls not in (NARPredictor, ReNASPredictor):
        kwargs.pop("dataset", None)
    return cls(**kwargs)


# == protocol ===============================================================================
def split_indices(n_total: int, n_train: int = 1000, n_val: int = 256, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint ``(train, val, test)`` index arrays; test = everything else.

    One permutation of ``range(n_total)`` from ``numpy.random.default_rng(seed)``: its first
    ``n_train`` entries are the training set, the next ``n_val`` the validation set.
    """
    for name, value in (("n_total", n_total), ("n_train", n_train), ("n_val", n_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if n_train + n_val > n_total:
        raise ValueError(f"n_train + n_val = {n_train + n_val} exceeds n_total = {n_total}")
    order = np.random.default_rng(seed).permutation(n_total)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def evaluate(predictor: Predictor, archs_test, y_val_true, y_test_true=None,
             ks: tuple[int, ...] = (10, 50, 100), n_tiers: int = 5) -> dict[str, float]:
    """Rank held-out architectures with a fitted predictor and score the ranking.

    Args:
        predictor: a fitted predictor.
        archs_test: the held-out architectures.
        y_val_true: their true validation accuracies (the label the predictor learned).
        y_test_true: optionally their true test accuracies.
        ks: K of precision@K and N@K.

    Returns ``tau``, ``rho``, ``precision@K``, ``N@K`` against ``y_val_true``; ``tau_test``,
    ``rho_test`` against ``y_test_true`` when given; ``tier_accuracy`` (predicted score
    tiers vs true tiers on the held-out set) and ``predict_seconds``.
    """
    codes = predictor.codec.batch(archs_test)
    y_val_true = _check_labels(y_val_true, len(codes), "y_val_true")
    start = time.perf_counter()
    scores = predictor.predict(codes)
    out: dict[str, float] = {"predict_seconds": time.perf_counter() - start}
    out.update(metrics.ranking_report(y_val_true, scores, ks=ks))
    if y_test_true is not None:
        y_test_true = _check_labels(y_test_true, len(codes), "y_test_true")
        out["tau_test"] = metrics.kendall_tau(y_test_true, scores)
        out["rho_test"] = metrics.spearman_rho(y_test_true, scores)
    out["tier_accuracy"] = metrics.tier_accuracy(metrics.tiers_from_scores(y_val_true, n_tiers),
                                                 metrics.tiers_from_scores(scores, n_tiers))
    if predictor.fit_seconds is not None:
        out["fit_seconds"] = predictor.fit_seconds
    return out


__all__ = [
    "GBDTPredictor",
    "GCNPredictor",
    "MLPPredictor",
    "NARPredictor",
    "PREDICTORS",
    "Predictor",
    "ReNASPredictor",
    "evaluate",
    "make_predictor",
    "rank_targets",
    "split_indices",
]
