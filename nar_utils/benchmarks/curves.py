"""Learning curves: one type for every source, with its fidelity axis and provenance.

A :class:`Curves` holds the curves of N cells on one axis of ``epochs`` (the fidelities), a
value per cell and epoch (accuracy in %, NaN where nothing is known) and, beside each value,
whether it was measured (``real``) or produced by a surrogate. It also says how its epochs
relate (``one_run``):

* ``one_run=True``: the values of a row are one training run observed after each epoch (the
  200-epoch NB201 curves). Training to epoch e reveals every epoch up to e, and going on to a
  later epoch costs only the epochs in between.
* ``one_run=False``: each epoch is a separate schedule trained from scratch (NB201's 12- and
  200-epoch schedules, NB101's 4 / 12 / 36 / 108-epoch budgets, each with its own learning
  rate decay). A value at 12 epochs is not the 200-epoch run after 12 epochs: on the 200 NB201
  cells with both, the 12-epoch schedule ends 12 points higher on average (68.1 % against
  56.2 % for the long run after epoch 12), and the two rank the cells at Kendall tau 0.77.

Readers: :func:`read_nb201_curves` (the 200 real 200-epoch cifar10-valid curves of the data
directory), :func:`nb201_schedules` (12 / 200 epochs for every cell of an NB201 source),
:func:`nb101_schedules` (4 / 12 / 36 / 108 epochs of the NB101 subset) and
:func:`read_regenerated_curves` (curves a user trained with ``nar_utils.reproduce.regenerate``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: The 200-epoch curves file of the data directory (cells 0..199, cifar10-valid).
NB201_CURVES_RELPATH = os.path.join("nb201", "nb201_curves_200.csv.gz")
#: The curves file ``nar_utils.reproduce.regenerate`` merges runs into.
REGENERATED_CURVES_RELPATH = os.path.join("nb201", "curves.csv.gz")


@dataclass(frozen=True)
class Curves:
    """Learning curves of ``len(arch_index)`` cells on the fidelity axis ``epochs``.

    ``values[i, t]`` is cell ``arch_index[i]``'s ``metric`` after ``epochs[t]`` epochs (in %,
    NaN where unknown); ``real[i, t]`` is True where that value was measured and False where
    a surrogate produced it. ``one_run`` says whether a row is one run (prefix semantics) or
    separate schedules (see the module docstring). ``source`` names where they came from.
    """

    epochs: np.ndarray
    values: np.ndarray
    real: np.ndarray
    arch_index: np.ndarray
    metric: str
    one_run: bool
    source: str
    space: str = "nb201"
    notes: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        epochs = np.asarray(self.epochs)
        if epochs.ndim != 1 or len(epochs) == 0 or not np.issubdtype(epochs.dtype, np.integer) \
                or (epochs < 1).any() or (np.diff(epochs) <= 0).any():
            raise ValueError(f"epochs must be a non-empty 1-d array of increasing positive "
                             f"ints, got {self.epochs!r}")
        values = np.asarray(self.values, dtype=np.float64)
        real = np.asarray(self.real, dtype=bool)
        index = np.asarray(self.arch_index, dtype=np.int64)
        if values.ndim != 2 or values.shape[1] != len(epochs):
            raise ValueError(f"values must have shape (N, {len(epochs)}) (one column per "
                             f"epoch), got {values.shape}")
        if real.shape != values.shape:
            raise ValueError(f"real must have the shape of values {values.shape}, got "
                             f"{real.shape}")
        if index.shape != (len(values),):
            raise ValueError(f"arch_index must have shape ({len(values)},), got {index.shape}")
        if np.isinf(values).any():
            raise ValueError("values hold infinite entries; use NaN for unknown values")
        if (real & np.isnan(values)).any():
            raise ValueError("a value marked real is NaN; mark unknown values real=False")
        for name, array in (("epochs", epochs.astype(np.int64)), ("values", values),
                            ("real", real), ("arch_index", index)):
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    # -- shape -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.values)

    @property
    def num_epochs(self) -> int:
        """The last epoch of the axis (the full fidelity)."""
        return int(self.epochs[-1])

    @property
    def final(self) -> np.ndarray:
        """(N,) values at the last epoch."""
        return self.values[:, -1]

    def position(self, epoch: int) -> int:
        """Column of ``epoch`` on the axis; a ValueError names the epochs held."""
        hits = np.flatnonzero(self.epochs == int(epoch))
        if len(hits) == 0:
            shown = (", ".join(map(str, self.epochs)) if len(self.epochs) <= 8 else
                     f"{self.epochs[0]}..{self.epochs[-1]} ({len(self.epochs)} epochs)")
            raise ValueError(f"epoch {epoch!r} is not on this curve axis; valid: {shown}")
        return int(hits[0])

    def at(self, epoch: int) -> np.ndarray:
        """(N,) values after ``epoch`` epochs."""
        return self.values[:, self.position(epoch)]

    def real_fraction(self) -> float:
        """Share of the known values that were measured."""
        known = ~np.isnan(self.values)
        return float(self.real[known].mean()) if known.any() else float("nan")

    # -- new Curves from this one -------------------------------------------------------------
    def rows(self, rows: Sequence[int] | np.ndarray) -> Curves:
        """The curves of rows ``rows`` (positions, or a boolean mask)."""
        rows = np.asarray(rows)
        return self._replace(values=self.values[rows], real=self.real[rows],
                             arch_index=self.arch_index[rows])

    def upto(self, epoch: int) -> Curves:
        """The curves up to and including ``epoch`` (a prefix of the axis)."""
        end = self.position(epoch) + 1
        return self._replace(epochs=self.epochs[:end], values=self.values[:, :end],
                             real=self.real[:, :end])

    def row_of(self, arch_index: int) -> int:
        """Row holding cell ``arch_index``; a KeyError when the curves lack it."""
        hits = np.flatnonzero(self.arch_index == int(arch_index))
        if len(hits) == 0:
            raise KeyError(f"cell {arch_index} has no curve here ({len(self)} cells from "
                           f"{self.source})")
        return int(hits[0])

    def _replace(self, **changes: Any) -> Curves:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields.update(changes)
        return Curves(**fields)

    def to_frame(self):
        """Long table: one row per (cell, epoch) with columns arch_index, epoch, value, real."""
        import pandas as pd

        n, t = self.values.shape
        return pd.DataFrame({"arch_index": np.repeat(self.arch_index, t),
                             "epoch": np.tile(self.epochs, n),
                             "value": self.values.ravel(), "real": self.real.ravel()})

    def __repr__(self) -> str:
        axis = (f"epochs {[int(e) for e in self.epochs]}" if len(self.epochs) <= 6 else
                f"epochs {self.epochs[0]}..{self.epochs[-1]}")
        kind = "one run" if self.one_run else "separate schedules"
        return (f"Curves({len(self)} cells, {axis} ({kind}), {self.metric}, "
                f"{100 * self.real_fraction():.0f}% real, source={self.source!r})")


def _parse_lists(series, path, column: str) -> np.ndarray:
    try:
        rows = [json.loads(text) for text in series]
        array = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: column {column!r} must hold JSON lists of numbers of one "
                         f"length per row ({exc})") from None
    if array.ndim != 2:
        raise ValueError(f"{path}: column {column!r} must hold lists of one length per row")
    return array


def read_nb201_curves(data_dir: str | os.PathLike | None = None, metric: str = "valid"
                      ) -> Curves:
    """The real 200-epoch NAS-Bench-201 curves of the data directory: cifar10-valid
    ``metric`` 'valid' (validation accuracy) or 'train' (training accuracy) after each epoch,
    the mean over the cell's seeds (its last value equals the table's ``c10v_val_200``), for
    the cells the file holds (0..199 in ``../shared/data``, rows not in index order: use
    ``arch_index``). One run per row."""
    import pandas as pd

    from nar_utils.benchmarks.datadir import require_data_dir

    columns = {"valid": "val_accs", "train": "train_accs"}
    if metric not in columns:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(columns)}")
    root = require_data_dir(data_dir, holds=NB201_CURVES_RELPATH,
                            what="the NAS-Bench-201 learning-curve file")
    path = root / NB201_CURVES_RELPATH
    if not path.is_file():
        raise FileNotFoundError(f"no NAS-Bench-201 curves at {path}; the data directory "
                                f"must hold {NB201_CURVES_RELPATH} (see data/README.md)")
    frame = pd.read_csv(path, usecols=["arch_index", columns[metric]])
    values = _parse_lists(frame[columns[metric]], path, columns[metric])
    epochs = np.arange(1, values.shape[1] + 1)
    return Curves(epochs, values, ~np.isnan(values), frame["arch_index"].to_numpy(),
                  f"cifar10-valid {metric}-accuracy (hp=200)", True, f"nb201 curves {path}")


def nb201_schedules(bench: Any, dataset: str = "cifar10-valid",
                    metric: str = "valid-accuracy") -> Curves:
    """The 12- and 200-epoch schedules of every cell of an NB201 source (``bench``: an
    :class:`~nar_utils.benchmarks.nb201.NB201Benchmark`) as two-point curves, each epoch its
    own schedule. The embedded source, which has no 12-epoch schedule, gives one point."""
    hps = [hp for hp in ("12", "200") if bench.has(dataset, metric, hp)]
    if not hps:
        raise ValueError(f"source {getattr(bench, 'source', bench)!r} holds no {metric!r} for "
                         f"{dataset!r} at hp 12 or 200")
    values = np.column_stack([np.asarray(bench.column(dataset, metric, hp), dtype=np.float64)
                              for hp in hps])
    return Curves(np.array([int(h) for h in hps]), values, ~np.isnan(values),
                  np.arange(len(values)), f"{dataset} {metric}", False,
                  f"nb201 schedules ({getattr(bench, 'source', 'table')})")


def nb101_schedules(data_dir: str | os.PathLike | None = None, bench: Any = None) -> Curves:
    """Validation accuracy (%) of the NAS-Bench-101 subset at its four budgets (4 / 12 / 36 /
    108 epochs, each a separate training run), one row per cell of the subset."""
    from nar_utils.benchmarks.nb101 import EPOCHS, load_nb101

    bench = load_nb101(data_dir) if bench is None else bench
    epochs = [e for e in EPOCHS if bench.has("val_acc", e)]
    values = np.column_stack([100.0 * np.asarray(bench.column("val_acc", e), dtype=np.float64)
                              for e in epochs])
    return Curves(np.array(epochs), values, ~np.isnan(values), np.arange(len(values)),
                  "cifar10 valid-accuracy", False, f"nb101 {bench.source}", space="nb101")


def read_regenerated_curves(data_dir: str | os.PathLike, dataset: str = "cifar10-valid",
                            hp: str = "200", metric: str = "valid_acc") -> Curves:
    """Curves a user trained and merged with ``python -m nar_utils.reproduce.regenerate``
    (``<data_dir>/nb201/curves.csv.gz``, one row per run and epoch): per cell the mean over
    its seeds of ``metric`` after each epoch of schedule ``hp`` on ``dataset``. One run per
    row; cells whose runs stopped early keep NaN after their last epoch."""
    import pandas as pd

    from nar_utils.benchmarks.datadir import absolute

    path = absolute(data_dir) / REGENERATED_CURVES_RELPATH
    if not path.is_file():
        raise FileNotFoundError(f"no regenerated curves at {path}; merge trained runs into "
                                f"{data_dir} first (python -m nar_utils.reproduce.regenerate "
                                "merge)")
    frame = pd.read_csv(path)
    needed = {"arch_index", "dataset", "hp", "seed", "epoch", metric}
    if not needed <= set(frame.columns):
        raise ValueError(f"{path} lacks columns {sorted(needed - set(frame.columns))}; it "
                         "must be written by nar_utils.reproduce.regenerate merge")
    frame = frame[(frame["dataset"] == dataset) & (frame["hp"].astype(str) == str(hp))]
    if frame.empty:
        raise ValueError(f"{path} holds no curves of dataset {dataset!r} at hp {hp!r}")
    table = frame.groupby(["arch_index", "epoch"])[metric].mean().unstack("epoch")
    values = table.to_numpy(dtype=np.float64)
    return Curves(table.columns.to_numpy(dtype=np.int64), values, ~np.isnan(values),
                  table.index.to_numpy(dtype=np.int64), f"{dataset} {metric} (hp={hp})", True,
                  f"regenerated {path}")
