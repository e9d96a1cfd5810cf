"""The Siamese-NAS predictor on the predictor contract, its code providers, and BTS.

:class:`SiamesePredictor` trains :class:`~.model.SiameseNet` on labelled cells and their
estimation codes, and ranks cells in two stages as the authors do: the basic branch (no code)
ranks every candidate, then the estimation branch re-ranks the best ``rerank_k`` of them with
their codes. Only those ``rerank_k`` cells (and the labelled ones) need a code, which is why
the method can afford codes at all. :meth:`SiamesePredictor.fit_bts` is their *batch top
sampling*: 30 % of the label budget drawn at random up front, the rest bought over 10 stages
of training, each stage labelling the best unseen cells of a random batch as the predictor
ranks them.

Codes come from a *code provider*, called with NB201 op codes and returning one row per cell:
:class:`TrainedCodes` (the short training runs of :mod:`.estimation`, cached) or
:class:`TableCodes` (the table variant: the benchmark's 12-epoch figures). A provider
remembers which cells it served and what each cost, so that a search charges every code to
its ledger once (:attr:`CodeProvider.seconds`).

Training follows the authors' recipe (``train_eval.py`` and ``nas_data_generator.py`` in
D0352276/Siamese-NAS, read as a reference):

* kept: batches of 8 cells drawn with replacement, ``budget // 8`` steps an epoch; Adam,
  1e-3 for the first 70 % of the epochs and 1e-4 after, a fresh optimiser at each change (as
  their repeated ``compile`` does); the loss is the confidence-weighted Huber loss on the fine
  accuracy plus the same on the coarse one (every confidence is 1 in their code); the target
  is the accuracy as a fraction; the graph carries self-loops (their ``A + I``); the BTS
  stages fall in the middle 50 % of the epochs, evenly spaced; stage batches hold
  ``1/stages`` of the space; a stage ranks its batch with ``stage_k = 30`` re-ranked by
  codes, the final ranking with ``rerank_k = 60``.
* changed: their last three epochs keep the weights whose top-ranked cell of a random batch
  has the highest *true* accuracy: labels nobody paid for. Here the last weights are kept.
  Their graph mixup (``CellMixup``) is switched off in their own code (its result is
  overwritten), so there is none here either. Codes are standardised with the labelled
  cells' mean and spread (the table variant is on another scale than training losses).
  Every random choice comes from ``seed``.

Reference: S.-W. Zhang et al., "Siamese-NAS", arXiv 2210.00546.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nar_utils.predictors.base import Predictor, check_positive_int
from nar_utils.predictors.siamese.estimation import (
    CodeCache,
    CodeSettings,
    estimation_code,
)
from nar_utils.predictors.siamese.model import SiameseNet, confidence_huber
from nar_utils.runtime import seeded_torch
from nar_utils.spaces import SearchSpace
from nar_utils.spaces.nb201 import NB201Space
from nar_utils.spaces.nb201 import space as nb201_space


# == code providers ==========================================================================
class CodeProvider:
    """Estimation codes for NB201 cells: ``provider(op_codes) -> (N, length)`` floats.

    :attr:`seconds` maps every cell served so far (its op-code tuple) to what its code cost.
    A search calls :meth:`start_run` when it begins and :meth:`run_cost` when it ends: the
    cells served in between, each counted once, and the seconds their codes cost, which it
    charges to its ledger (a code computed for an earlier search still costs this one).
    """

    kind = "base"
    length = 0

    def __init__(self) -> None:
        self.seconds: dict[tuple[int, ...], float] = {}
        self._served: set[tuple[int, ...]] = set()

    def _codes(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of code values and the seconds of each (to implement)."""
        raise NotImplementedError

    def __call__(self, codes) -> np.ndarray:
        codes = nb201_space.op_codes_array(codes) if not isinstance(codes, np.ndarray) \
            else np.asarray(codes, dtype=np.int64)
        values, seconds = self._codes(codes)
        for row, cost in zip(map(tuple, codes.tolist()), seconds):
            self.seconds.setdefault(row, float(cost))
            self._served.add(row)
        return np.asarray(values, dtype=np.float64).reshape(len(codes), self.length)

    def start_run(self) -> None:
        """Forget which cells were served (not their codes): a new search starts."""
        self._served = set()

    def run_cost(self) -> tuple[int, float]:
        """Cells served since :meth:`start_run` and the seconds their codes cost (NaN where
        the source holds no time)."""
        return len(self._served), float(sum(self.seconds[key] for key in self._served))


class TableCodes(CodeProvider):
    """The table variant: each cell's 12-epoch validation accuracy on ``dataset``
    (cifar10-valid by default, as the authors train every code on CIFAR-10) and its
    12-epoch training time as the cost. Needs the NB201 table."""

    kind = "table-12epoch"
    length = 1

    def __init__(self, bench, dataset: str = "cifar10-valid") -> None:
        super().__init__()
        metric = "test-accuracy" if dataset == "cifar10" else "valid-accuracy"
        if not bench.has(dataset, metric, "12"):
            raise KeyError(f"{bench.source} holds no 12-epoch {metric} for {dataset}: the "
                           "table variant of the estimation code needs the NB201 table")
        self._values = np.asarray(bench.column(dataset, metric, "12"), dtype=float)
        time_key = ("cifar10-valid" if dataset == "cifar10" else dataset, "train-time", "12")
        self._times = (np.asarray(bench.column(*time_key), dtype=float) if bench.has(*time_key)
                       else np.full(len(self._values), np.nan))
        self._index = {tuple(row): i for i, row in enumerate(bench.op_codes.tolist())}
        self.dataset = dataset

    def _codes(self, codes):
        try:
            rows = np.array([self._index[tuple(row)] for row in codes.tolist()], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"cell {err.args[0]} is not in the benchmark table") from None
        return self._values[rows, None], self._times[rows]


class TrainedCodes(CodeProvider):
    """Codes from short training runs (:func:`.estimation.estimation_code`) on ``images``,
    read from ``cache`` when it holds them; kept in memory once computed."""

    kind = "trained"

    def __init__(self, images, *, seed: int = 0, settings: CodeSettings | dict | None = None,
                 cache: CodeCache | None = None, device: str = "cpu",
                 progress: bool = True) -> None:
        super().__init__()
        self.images, self.seed, self.device, self.cache = images, int(seed), device, cache
        self.settings = settings
        self.length = (settings.epochs if isinstance(settings, CodeSettings)
                       else CodeSettings(**(settings or {})).epochs)
        self.progress = progress
        self._memory: dict[tuple[int, ...], Any] = {}

    def _codes(self, codes):
        missing = [tuple(r) for r in codes.tolist() if tuple(r) not in self._memory]
        for row in tqdm(dict.fromkeys(missing), desc="estimation codes",
                        disable=not self.progress or len(missing) < 2, leave=False):
            if self.cache is not None:
                code, _ = self.cache.get(row, self.images, self.seed, self.settings, self.device)
            else:
                code = estimation_code(row, self.images, seed=self.seed,
                                       settings=self.settings, device=self.device)
            self._memory[row] = code
        found = [self._memory[tuple(r)] for r in codes.tolist()]
        return np.array([c.values for c in found]), np.array([c.seconds for c in found])


# == the predictor ===========================================================================
class SiamesePredictor(Predictor):
    """Siamese-NAS on the contract (module docstring).

    ``codes``: a :class:`CodeProvider` (required: the estimation branch needs one).
    ``nsam``: the node self-attention module after the second graph convolution.
    ``faithful``: the authors' EFM values and attention masks (:mod:`.model`).
    ``rerank_k``: how many of the basic branch's best cells :meth:`predict` re-ranks with
    their codes (0: the basic branch alone, no codes).

    ``predict`` returns two-stage scores: the re-ranked cells first (by fine accuracy), then
    the rest (by coarse accuracy); only their order means anything.
    """

    name = "siamese"

    def __init__(self, seed: int = 0, device: str = "cpu", *, space: str | SearchSpace = "nb201",
                 codes: CodeProvider | None = None, nsam: bool = True, faithful: bool = False,
                 hidden: int = 64, num_epochs: int = 200, batch_size: int = 8, lr: float = 1e-3,
                 rerank_k: int = 60, progress: bool = False) -> None:
        super().__init__(seed=seed, device=device, space=space)
        if not isinstance(self.space, NB201Space):
            raise ValueError(f"SiamesePredictor reads NB201 cells (estimation codes exist for "
                             f"them only), got space {self.space.name!r}")
        if not isinstance(codes, CodeProvider):
            raise TypeError("SiamesePredictor needs codes=a CodeProvider (TrainedCodes(images) "
                            f"or TableCodes(bench)), got {codes!r}")
        self.codes = codes
        self.nsam, self.faithful = bool(nsam), bool(faithful)
        self.hidden = check_positive_int("hidden", hidden)
        self.num_epochs = check_positive_int("num_epochs", num_epochs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if isinstance(rerank_k, bool) or not isinstance(rerank_k, (int, np.integer)) \
                or rerank_k < 0:
            raise ValueError(f"rerank_k must be a non-negative int, got {rerank_k!r}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        self.rerank_k, self.lr, self.progress = int(rerank_k), float(lr), progress
        self.module: SiameseNet | None = None
        self.history: list[dict[str, float]] = []
        self._code_mean = self._code_std = None

    # -- inputs ------------------------------------------------------------------------------
    def _graphs(self, codes: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        adj, nodes = self.space.graph_encoding(codes)
        adj = adj + np.eye(adj.shape[1], dtype=adj.dtype)  # their A + I
        return torch.as_tensor(adj), torch.as_tensor(nodes)

    def _code_tensor(self, codes: np.ndarray) -> torch.Tensor:
        values = self.codes(codes)
        if not np.isfinite(values).all():
            raise ValueError("an estimation code holds NaN or infinite values (a diverged "
                             "short run?); drop those cells or recompute their codes")
        return torch.as_tensor((values - self._code_mean) / self._code_std, dtype=torch.float32)

    @staticmethod
    def _targets(y: np.ndarray) -> torch.Tensor:
        if y.min() < 0 or y.max() > 100:
            raise ValueError(f"SiamesePredictor learns accuracies in percent (0..100), as its "
                             f"sigmoid heads give fractions; got labels in [{y.min():g}, "
                             f"{y.max():g}]")
        return torch.as_tensor(y / 100.0, dtype=torch.float32)

    # -- training ----------------------------------------------------------------------------
    def _phases(self) -> list[tuple[int, float, bool]]:
        """(epochs, lr, BTS stages fall here) of the three phases: 20 % / 50 % / 30 %."""
        first = int(round(0.2 * self.num_epochs))
        middle = int(round(0.5 * self.num_epochs))
        return [(first, self.lr, False), (middle, self.lr, True),
                (self.num_epochs - first - middle, self.lr / 10, False)]

    def _start(self, codes: np.ndarray) -> None:
        values = self.codes(codes)
        self._code_mean = values.mean(axis=0)
        self._code_std = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0)
        with seeded_torch(self.seed, self.device):
            self.module = SiameseNet(self.space.graph_encoding(codes[:1])[0].shape[1],
                                     self.space.num_node_types, code_length=values.shape[1],
                                     hidden=self.hidden, nsam=self.nsam,
                                     faithful=self.faithful).to(self.device)
        self.history = []

    def _train(self, get_data: Callable[[], tuple[np.ndarray, np.ndarray]], budget: int,
               on_stage_epoch: Callable[[int, int], None] | None = None) -> None:
        """The three phases; ``get_data`` returns the labelled cells as they stand (BTS adds
        to them); ``on_stage_epoch(epoch_in_phase, phase_epochs)`` runs after each epoch of
        the middle phase."""
        generator = torch.Generator().manual_seed(self.seed)
        steps = max(budget // self.batch_size, 1)
        dev = torch.device(self.device)
        epoch = 0
        bar = tqdm(total=self.num_epochs, desc="siamese predictor", disable=not self.progress,
                   leave=False)
        for phase_epochs, lr, stages in self._phases():
            optimizer = torch.optim.Adam(self.module.parameters(), lr=lr)
            for in_phase in range(1, phase_epochs + 1):
                codes, y = get_data()
                adj, nodes = (t.to(dev) for t in self._graphs(codes))
                code_t, target = self._code_tensor(codes).to(dev), self._targets(y).to(dev)
                confidence = torch.ones_like(target)
                self.module.train()
                losses = []
                for _ in range(steps):
                    index = torch.randint(0, len(y), (self.batch_size,),
                                          generator=generator).to(dev)
                    coarse, fine = self.module(adj[index], nodes[index], code_t[index])
                    loss = confidence_huber(fine, target[index], confidence[index]) + \
                        confidence_huber(coarse, target[index], confidence[index])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    losses.append(float(loss.detach()))
                epoch += 1
                self.history.append({"epoch": epoch, "loss": float(np.mean(losses)),
                                     "labels": len(y), "lr": lr})
                bar.update()
                if stages and on_stage_epoch is not None:
                    on_stage_epoch(in_phase, phase_epochs)
        bar.close()
        self.module.eval()

    def _fit(self, codes, y, val_codes, val_y) -> None:
        # Validation data is not used: the authors pick no epoch by it (module docstring).
        self._targets(y)  # refuse bad labels before building anything
        self._start(codes)
        self._train(lambda: (codes, y), len(y))

    # -- BTS ---------------------------------------------------------------------------------
    def fit_bts(self, pool, buy: Callable[[np.ndarray], np.ndarray], budget: int, *,
                initial_fraction: float = 0.3, stages: int = 10,
                search_batch: int | None = None, stage_k: int = 30) -> np.ndarray:
        """Train with batch top sampling, buying exactly ``budget`` labels through ``buy``.

        ``pool``: the candidate cells (NB201 op codes); ``buy(indices)`` returns the labels
        of those pool rows (charging a ledger, say). ``int(initial_fraction * budget)`` cells
        are drawn at random first; the rest are split over ``stages`` stages (the last takes
        the remainder) at evenly spaced epochs of the middle phase. A stage draws
        ``search_batch`` pool cells at random (default: the pool over ``stages``), ranks them
        with :meth:`rank_two_stage` (``stage_k`` re-ranked by codes) and buys its best cells
        not labelled yet. No cell is bought twice. Returns the pool indices bought, in order.
        """
        pool = self.space.batch(pool)
        budget = check_positive_int("budget", budget)
        stages = check_positive_int("stages", stages)
        if budget > len(pool):
            raise ValueError(f"budget {budget} exceeds the pool of {len(pool)} cells")
        if not 0 < initial_fraction <= 1:
            raise ValueError(f"initial_fraction must be in (0, 1], got {initial_fraction!r}")
        search_batch = check_positive_int("search_batch",
                                           search_batch or max(len(pool) // stages, 1))
        rng = np.random.default_rng(self.seed)
        initial = max(int(budget * initial_fraction), 5)
        bought = [int(i) for i in rng.choice(len(pool), min(initial, budget), replace=False)]
        labels = list(np.asarray(buy(np.array(bought)), dtype=float))
        rest = budget - len(bought)
        per_stage = [rest // stages] * (stages - 1) + [rest - rest // stages * (stages - 1)]
        middle = self._phases()[1][0]
        if middle < 1 and rest:
            raise ValueError(f"num_epochs {self.num_epochs} leaves no middle phase for the "
                             "BTS stages; raise num_epochs")
        # Stage s falls after epoch round((s + 1) * middle / (stages + 1)) of the middle phase.
        due: dict[int, int] = {}
        for stage, count in enumerate(per_stage):
            at = max(1, int(round((stage + 1) * middle / (stages + 1))))
            due[at] = due.get(at, 0) + count

        def stage(in_phase: int, _phase_epochs: int) -> None:
            count = due.get(in_phase, 0)
            if not count:
                return
            seen = set(bought)
            batch = rng.choice(len(pool), min(search_batch, len(pool)), replace=False)
            order = batch[self.rank_two_stage(pool[batch], stage_k)]
            new = [int(i) for i in order if int(i) not in seen][:count]
            if len(new) < count:  # the batch held too few unseen cells: random unseen ones
                unseen = np.setdiff1d(np.arange(len(pool)), np.array(bought + new))
                new += [int(i) for i in rng.choice(unseen, count - len(new), replace=False)]
            labels.extend(np.asarray(buy(np.array(new)), dtype=float))
            bought.extend(new)

        self._start(pool[bought])
        self._train(lambda: (pool[bought], np.array(labels)), budget, stage)
        self.fit_seconds = None
        self._fitted = True
        return np.array(bought)

    # -- prediction --------------------------------------------------------------------------
    @torch.no_grad()
    def _run(self, codes: np.ndarray, with_code: bool, batch_size: int = 4096) -> np.ndarray:
        if self.module is None:
            raise RuntimeError("SiamesePredictor is not fitted; call fit(archs, y) first")
        dev = torch.device(self.device)
        out = []
        for start in range(0, len(codes), batch_size):
            part = codes[start:start + batch_size]
            adj, nodes = (t.to(dev) for t in self._graphs(part))
            code_t = self._code_tensor(part).to(dev) if with_code else None
            coarse, fine = self.module(adj, nodes, code_t)
            out.append((fine if with_code else coarse).double().cpu())
        return torch.cat(out).numpy() if out else np.zeros(0)

    def coarse(self, archs) -> np.ndarray:
        """The basic branch's accuracy (fraction) of each cell; needs no code."""
        return self._run(self.space.batch(archs), with_code=False)

    def fine(self, archs) -> np.ndarray:
        """The estimation branch's accuracy (fraction) of each cell; computes their codes."""
        return self._run(self.space.batch(archs), with_code=True)

    def rank_two_stage(self, archs, k: int) -> np.ndarray:
        """Indices into ``archs``, best first: the basic branch ranks all, the estimation
        branch re-ranks its best ``k`` (their ``SiameseRanking``)."""
        codes = self.space.batch(archs)
        order = np.argsort(-self._run(codes, with_code=False), kind="stable")
        top = order[:k]
        if len(top):
            top = top[np.argsort(-self._run(codes[top], with_code=True), kind="stable")]
        return np.concatenate([top, order[k:]])

    def _predict(self, codes):
        order = self.rank_two_stage(codes, self.rerank_k)
        scores = np.empty(len(codes))
        scores[order] = np.arange(len(codes), 0, -1, dtype=float)
        return scores


__all__ = ["CodeProvider", "SiamesePredictor", "TableCodes", "TrainedCodes"]
