"""Shared pieces of the property-based tests: a guard against hanging parsers and a synthetic
NB201 table (the whole space, made-up accuracies) for loaders to chew on."""
from __future__ import annotations

import contextlib
import json
import signal

import numpy as np
import pandas as pd

from nar_utils.spaces import nb201


class Hung(BaseException):
    """Raised when the code under test runs too long. A BaseException, so that no ``except
    Exception`` in that code can swallow it and pass the test."""


@contextlib.contextmanager
def no_hang(seconds: float = 10, what: str = "the code under test"):
    """Fail with :class:`Hung` when the body runs for more than ``seconds`` (Unix timers)."""
    def alarm(signum, frame):
        raise Hung(f"{what} ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def synthetic_nb201_frame(seed: int = 0) -> pd.DataFrame:
    """A valid NB201 table of all 15,625 cells with accuracies, seeds, losses, times and
    parameter counts drawn from ``seed`` (values in range, not the benchmark's)."""
    codes = nb201.all_op_codes()
    rng = np.random.default_rng(seed)
    acc = np.round(rng.uniform(10.0, 95.0, len(codes)), 3)
    return pd.DataFrame({
        "arch_index": np.arange(len(codes)),
        "arch_str": nb201.format_arch_strs(codes),
        "op_code": ["".join(map(str, row)) for row in codes.tolist()],
        "c10_test_200": acc,
        "c10v_val_200": np.round(acc - 1.0, 3),
        "c10v_val_200_seeds": [json.dumps([round(a - 1.5, 3), round(a - 0.5, 3)])
                               for a in acc.tolist()],
        "c10v_train_loss_200": np.round(rng.uniform(0.0, 2.3, len(codes)), 4),
        "c10v_train_time_200": np.round(rng.uniform(500.0, 3000.0, len(codes)), 2),
        "params_mb_c10v": np.round(rng.uniform(0.07, 1.6, len(codes)), 6),
    })
