"""Multi-fidelity search: the Hyperband schedule over a ledger's fidelities, and BOHB on it.

:func:`hyperband_brackets` is the scheduler: which rung each bracket starts at, how many
cells it starts with and how many survive each successive-halving step. It knows nothing of
how candidates are proposed, so random Hyperband, BOHB and model-guided variants share it.

References: L. Li et al., "Hyperband", JMLR 2018; S. Falkner, A. Klein and F. Hutter,
"BOHB", ICML 2018.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nar_utils.search.blackbox import (
    SearchOutcome,
    _outcome,
    _random_unknown,
    _SpaceExhausted,
    _top_by_score,
    make_rng,
)
from nar_utils.search.ledger import BudgetExhausted, Ledger


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: start ``sizes[0]`` cells at rung ``start`` (index into the
    fidelities, lowest first) and keep ``sizes[i]`` of them at rung ``start + i``."""

    s: int
    start: int
    sizes: tuple[int, ...]


def hyperband_brackets(num_rungs: int, eta: int = 3) -> list[Bracket]:
    """One Hyperband round over ``num_rungs`` fidelities: the most exploratory bracket
    first (all rungs, ``ceil(num_rungs / (s + 1) * eta**s)`` cells), the last one starting
    at the highest rung. Successive halving keeps ``max(1, int(n * eta**-i))`` at step i."""
    if eta < 2:
        raise ValueError(f"eta must be >= 2, got {eta}")
    if num_rungs < 1:
        raise ValueError(f"num_rungs must be >= 1, got {num_rungs}")
    s_max = num_rungs - 1
    brackets = []
    for s in range(s_max, -1, -1):
        num_new = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        sizes = (num_new, *(max(1, int(num_new * eta ** (-i))) for i in range(1, s + 1)))
        brackets.append(Bracket(s, s_max - s, sizes))
    return brackets


def _aitchison_aitken(candidates: np.ndarray, data: np.ndarray, bandwidth: float,
                      num_choices: np.ndarray) -> np.ndarray:
    """Product categorical-kernel density of each candidate row under ``data`` rows: per edge
    the kernel keeps 1 - bandwidth on the same op and spreads bandwidth over the others."""
    same = candidates[:, None, :] == data[None, :, :]
    other = bandwidth / np.maximum(num_choices - 1, 1)
    per_edge = np.where(same, 1.0 - bandwidth, other[None, None, :])
    return per_edge.prod(axis=2).mean(axis=1)


def bohb(ledger: Ledger, seed: int | np.random.Generator, eta: int = 3,
         num_samples: int = 64, random_fraction: float = 1 / 3, top_fraction: float = 0.15,
         bandwidth: float = 0.2, bandwidth_factor: float = 2.0,
         min_points: int | None = None) -> SearchOutcome:
    """A compact BOHB: Hyperband brackets over the ledger's fidelities with a TPE-style
    density model (Falkner et al. 2018).

    Fidelities are the ledger's schedules, lowest first (``ledger.fidelities``, e.g.
    ('12', '200'): the 12-epoch validation accuracy as low fidelity, the 200-epoch one as
    high), each look-up charged by the ledger (one query and that schedule's training time).
    The original BOHB runs on NB201 used epochs 1..12 of the 12-epoch schedule as budgets;
    the tables hold no per-epoch accuracies, so with a single fidelity (the paper protocol's
    12-epoch label) the brackets hold one arch each and BOHB reduces to its model-based part.

    Brackets follow Hyperband with ``eta``: with s_max = #fidelities - 1, bracket s starts
    ceil((s_max + 1) / (s + 1) * eta**s) new archs at fidelity s_max - s and promotes the best
    1/eta to each next fidelity. Each new arch is drawn uniformly with probability
    ``random_fraction`` (or while no model exists); otherwise from the model built on the
    highest fidelity holding at least ``min_points + 2`` labels (default min_points = 7 =
    edges + 1): the best ``top_fraction`` (at least min_points) form the "good" set and the
    rest (at least min_points) the "bad" set; each is a product of per-edge categorical
    (Aitchison-Aitken) kernels, i.e. a KDE over the one-hot encoding, with fixed ``bandwidth``;
    ``num_samples`` candidates are drawn from the good density widened by
    ``bandwidth_factor`` and the unbought one maximising good/bad density is taken.
    """
    if eta < 2:
        raise ValueError(f"eta must be >= 2, got {eta}")
    if not 0 < bandwidth < 1:
        raise ValueError(f"bandwidth must lie in (0, 1), got {bandwidth}")
    rng = make_rng(seed)
    rungs = ledger.fidelities
    schedule = hyperband_brackets(len(rungs), eta)
    ledger.require_op_choices("BOHB")
    num_edges = len(ledger.op_choices)
    min_points = num_edges + 1 if min_points is None else int(min_points)
    num_choices = np.array([len(c) for c in ledger.op_choices], dtype=float)
    sample_bw = np.minimum(bandwidth * bandwidth_factor, (num_choices - 1) / num_choices)

    def model_proposal(rung: str, exclude: set[int]) -> int:
        for hp in reversed(rungs):
            index, labels = ledger.known(hp)
            if len(index) >= min_points + 2:
                break
        else:
            return -1
        order = np.argsort(-labels, kind="stable")
        n_good = max(min_points, int(math.ceil(top_fraction * len(index))))
        n_bad = max(min_points, len(index) - n_good)
        good = ledger.op_codes[index[order[:n_good]]]
        bad = ledger.op_codes[index[order[-n_bad:]]]
        centres = good[rng.integers(len(good), size=num_samples)]
        jump = rng.random(centres.shape) < sample_bw[None, :]
        samples = centres.copy()
        for e in range(num_edges):
            choices = np.array(ledger.op_choices[e])
            for row in np.flatnonzero(jump[:, e]):
                others = choices[choices != centres[row, e]]
                if len(others):
                    samples[row, e] = others[int(rng.integers(len(others)))]
        ratio = _aitchison_aitken(samples, good, bandwidth, num_choices) / np.maximum(
            _aitchison_aitken(samples, bad, bandwidth, num_choices), 1e-300)
        archs = ledger.index_of(samples)
        for k in np.argsort(-ratio, kind="stable"):
            a = int(archs[k])
            if a >= 0 and a not in exclude and not ledger.is_known(a, rung):
                return a
        return -1

    reason = "space exhausted"
    brackets = 0
    try:
        while True:
            for bracket in schedule:
                start, num_new = bracket.start, bracket.sizes[0]
                members: list[int] = []
                labels: list[float] = []
                for _ in range(num_new):
                    arch = -1
                    if rng.random() >= random_fraction:
                        arch = model_proposal(rungs[start], set(members))
                    if arch < 0:
                        arch = int(_random_unknown(ledger, rng, 1, rungs[start], members)[0])
                    members.append(arch)
                    labels.append(ledger.query(arch, rungs[start]))
                for i, keep in enumerate(bracket.sizes[1:], start=1):
                    members = [int(a) for a in _top_by_score(np.array(members), np.array(labels),
                                                             keep)]
                    labels = [ledger.query(a, rungs[start + i]) for a in members]
                brackets += 1
    except BudgetExhausted as exc:
        reason = exc.reason
    except _SpaceExhausted:
        pass
    return _outcome("bohb", ledger, reason, brackets=brackets)


