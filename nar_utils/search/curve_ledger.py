"""The ledger over learning curves: partial training charged by the epoch.

A :class:`CurveLedger` is a :class:`~nar_utils.search.ledger.Ledger` whose fidelities are the
epochs of a :class:`~nar_utils.benchmarks.curves.Curves` (every epoch 1..200 of the NB201
curves, or NB101's 4 / 12 / 36 / 108). Buying epoch e of a cell means training it to e:

* curves of **one run** (``curves.one_run``): training continues where it stopped, so the
  charge is the epochs not yet trained, ``(e - trained) x seconds per epoch``, and every epoch
  up to e is then known (reading one costs nothing). Asking for an earlier epoch than the cell
  has been trained to is free.
* **separate schedules**: each epoch budget is its own run from scratch, charged ``e x
  seconds per epoch`` (the existing :class:`Ledger` behaviour, one epoch axis).

A query counts a *cell* started, not each epoch bought, so query budgets count cells trained
(to any length), and time budgets count epochs. Seconds per epoch are the benchmark's
training time of the full schedule divided by its epochs (NB201: the 200-epoch 'train-time'
of cifar10-valid / 200; NB101: the 108-epoch time / 108).

A searcher sees a cell's curve only through :meth:`CurveLedger.observed` (the epochs paid
for) and :meth:`CurveLedger.train`; the final choice (:meth:`Ledger.best`) is the cell with
the best value at the last epoch, among the cells trained that far.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nar_utils.benchmarks.curves import Curves
from nar_utils.search.ledger import Ledger, train_time_column
from nar_utils.spaces import get_space


class CurveSource:
    """``curves`` on top of benchmark ``bench``, as a :class:`Ledger` reads a benchmark: the
    label (``dataset``, ``metric``) at hp = an epoch of the curves is the curves' column,
    'train-time' at hp = e is e x seconds per epoch, and any other column is ``bench``'s, for
    the curves' cells (row i = ``curves.arch_index[i]``)."""

    def __init__(self, curves: Curves, bench: Any, dataset: str,
                 metric: str = "valid-accuracy", full_hp: str | None = None) -> None:
        self.curves, self.bench = curves, bench
        self.dataset, self.metric = dataset, metric
        self.space = curves.space
        space = get_space(curves.space)
        rows = curves.arch_index
        archs = space.benchmark_archs(bench)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(archs)):
            raise ValueError(f"the curves name cells outside the benchmark's 0..{len(archs) - 1}")
        self._rows = rows
        self.archs = self.op_codes = archs[rows]  # the space reads the form it knows
        names = getattr(bench, "arch_names", None)
        if names is not None:
            self.arch_names = [names[int(i)] for i in rows]
        self.source = f"{curves.source} over {getattr(bench, 'source', type(bench).__name__)}"
        full_hp = str(curves.num_epochs) if full_hp is None else str(full_hp)
        times, origin = train_time_column(bench, dataset, full_hp)
        self.seconds_per_epoch = None if times is None else \
            np.asarray(times, dtype=float)[rows] / int(full_hp)
        self.time_source = f"{origin} ({dataset}, hp={full_hp}) / {full_hp} epochs"

    def _epoch(self, hp: Any) -> int | None:
        text = str(hp)
        if text.isdigit() and int(text) in set(self.curves.epochs.tolist()):
            return int(text)
        return None

    def has(self, dataset: str, metric: str, hp: str | None = None) -> bool:
        if (dataset, metric) == (self.dataset, self.metric) and self._epoch(hp) is not None:
            return True
        if dataset == self.dataset and metric == "train-time" and self._epoch(hp) is not None:
            return self.seconds_per_epoch is not None
        return bool(self.bench.has(dataset, metric, hp))

    def column(self, dataset: str, metric: str, hp: str | None = None) -> np.ndarray:
        epoch = self._epoch(hp)
        if (dataset, metric) == (self.dataset, self.metric) and epoch is not None:
            return self.curves.at(epoch)
        if dataset == self.dataset and metric == "train-time" and epoch is not None \
                and self.seconds_per_epoch is not None:
            return self.seconds_per_epoch * epoch
        return np.asarray(self.bench.column(dataset, metric, hp))[self._rows]


class CurveLedger(Ledger):
    """A ledger over the epochs of ``curves`` (see the module docstring).

    ``bench`` gives the cells, training times and test columns; ``dataset`` and ``metric``
    name the curves' label (e.g. 'cifar10-valid', 'valid-accuracy'); ``max_queries`` (cells
    started) and ``max_time`` (simulated seconds) are the budgets. Ledger arch index i is row
    i of the curves (cell ``curves.arch_index[i]`` of the benchmark).
    """

    def __init__(self, curves: Curves, bench: Any, dataset: str,
                 metric: str = "valid-accuracy", *, max_queries: int | None = None,
                 max_time: float | None = None, full_hp: str | None = None) -> None:
        source = CurveSource(curves, bench, dataset, metric, full_hp)
        hps = [str(e) for e in curves.epochs]
        super().__init__(source, dataset, metric, hps[-1], max_queries=max_queries,
                         max_time=max_time, fidelity_hps=hps[:-1])
        self.curves = curves
        self.one_run = curves.one_run
        self.epochs = curves.epochs
        self._trained = np.zeros(len(curves), dtype=np.int64)  # one run: epochs trained
        self._started: set[int] = set()

    @property
    def seconds_per_epoch(self) -> np.ndarray | None:
        """(N,) simulated seconds of one epoch of each cell (None: the source has no times)."""
        return self._bench.seconds_per_epoch

    # -- what a cell has shown ---------------------------------------------------------------
    def trained_epochs(self, index: int) -> int:
        """The longest training bought for cell ``index`` (0 if none)."""
        index = self._check_index(index)
        if self.one_run:
            return int(self._trained[index])
        bought = [int(hp) for (i, hp) in self._known if i == index]
        return max(bought, default=0)

    def observed(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Epochs and values of cell ``index`` paid for so far (a prefix of the curve for one
        run; the schedules bought for separate ones)."""
        index = self._check_index(index)
        if self.one_run:
            end = int(np.searchsorted(self.epochs, self._trained[index], side="right"))
            epochs = self.epochs[:end]
        else:
            epochs = np.array(sorted(int(hp) for (i, hp) in self._known if i == index),
                              dtype=np.int64)
        values = np.array([self._labels[str(e)][index] for e in epochs], dtype=float)
        return epochs, values

    def train(self, index: int, epochs: int) -> tuple[np.ndarray, np.ndarray]:
        """Train cell ``index`` to ``epochs`` (charged by the ledger) and return what it has
        shown, :meth:`observed`. Raises BudgetExhausted like :meth:`query`."""
        self.query(index, str(int(epochs)))
        return self.observed(index)

    @property
    def real_fraction_read(self) -> float:
        """Share of the values shown to the search (every epoch paid for) that were
        measured rather than produced by a surrogate."""
        shown = real = 0
        for index in self._started:
            if self.one_run:
                end = int(np.searchsorted(self.epochs, self._trained[index], side="right"))
                flags = self.curves.real[index, :end]
            else:
                flags = np.array([self.curves.real[index, self.curves.position(int(hp))]
                                  for (i, hp) in self._known if i == index])
            shown, real = shown + len(flags), real + int(flags.sum())
        return real / shown if shown else float("nan")

    # -- charging ----------------------------------------------------------------------------
    def _price(self, index: int, hp: str) -> tuple[float, bool]:
        per_epoch = self.seconds_per_epoch
        epoch = int(hp)
        if self.one_run:
            trained = int(self._trained[index])
            if epoch <= trained:
                return 0.0, False
            seconds = float("nan") if per_epoch is None else \
                float(per_epoch[index]) * (epoch - trained)
            return seconds, trained == 0
        seconds = float("nan") if per_epoch is None else float(per_epoch[index]) * epoch
        return seconds, index not in self._started

    def _bought(self, index: int, hp: str) -> None:
        self._started.add(index)
        if self.one_run:
            self._trained[index] = max(int(self._trained[index]), int(hp))
