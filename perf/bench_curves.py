"""Learning curves: surrogate quality, extrapolation error, and multi-fidelity search.

Usage:
    NAR_DATA_DIR=../shared/data python perf/bench_curves.py [--seeds 10] [--folds 5]
        [--parts surrogate lce search] [--spaces nb211 pool schedules nb101]
        [--budget-cells 200] [--json out.json]

Part 1, surrogate quality (cross-validation by cell). NB211 from the 200 real 200-epoch
cifar10-valid curves, three ways: pure (x11: the cell's encoding only), with the 12- and
200-epoch values of the table as regressor inputs, and with the last epoch also pinned to the
real value (its RMSE then leaves the last epoch out). NB111 from the NB101 subset's four
budgets. Printed: RMSE over all held-out values and at a few epochs, Kendall tau of the final
value, and the spread of the noise model at the last epoch beside real seed noise
(``nb201_seeds.csv.gz``: the std between seeds of one cell, and of a mean over 3 seeds,
which is what the curves are).

Part 2, learning-curve extrapolation on the real curves: the final (epoch 200) value predicted
from the first 10 / 20 / 50 % of each curve by the parametric ensemble (every one of the 200
curves) and by LcSVR (5-fold cross-validation by cell), against the last prefix value as a
baseline predictor of rank.

Part 3, search at a simulated time budget (``--budget-cells`` x the mean 200-epoch training
time of the space, simulated seconds): final validation and test regret (best of the space
minus the choice's, in points) per searcher, mean ± std over seeds.
Spaces: 'nb211' (all 15,625 cells, real curves for 200 and surrogate curves with real finals
for the rest), 'pool' (the 200 cells with real curves: everything the search reads is real),
'schedules' (the NB201 12- and 200-epoch schedules, each a separate run, all real) and
'nb101' (the NB101 subset's 4/12/36/108 budgets, separate runs, all real; its regret is
against the subset's best).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import nar_utils as nar
from nar_utils.benchmarks import curves as C
from nar_utils.benchmarks import nb101 as nb101_bench
from nar_utils.benchmarks import surrogate as S
from nar_utils.metrics import kendall_tau
from nar_utils.predictors.lce import LcSVR, extrapolate
from nar_utils.reproduce import records
from nar_utils.search import multifidelity as M


def fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():7.3f} ± {values.std():5.3f}"


# == part 1 ==================================================================================
def seed_noise(data_dir) -> dict[str, float]:
    import pandas as pd

    path = Path(data_dir) / "nb201" / "nb201_seeds.csv.gz"
    seeds = pd.read_csv(path, usecols=[f"c10v_val_200_s{s}" for s in (777, 888, 999)])
    values = seeds.to_numpy(dtype=float)
    full = values[~np.isnan(values).any(axis=1)]
    per_cell = full.std(axis=1, ddof=1)
    return {"seed_std": float(np.sqrt((per_cell ** 2).mean())),
            "mean_of_3_std": float(np.sqrt((per_cell ** 2).mean() / 3)), "cells": len(full)}


def part_surrogate(bench, data_dir, args, out):
    curves = C.read_nb201_curves(data_dir)
    rows = curves.arch_index
    features = S.cell_features("nb201", bench.op_codes)[rows]
    anchors = S.nb201_anchors(bench)[0][rows]
    noise = seed_noise(data_dir)
    print(f"\n== Part 1: surrogate quality ({args.folds}-fold CV by cell) ==")
    print(f"real seed noise of the 200-epoch cifar10-valid validation accuracy "
          f"({noise['cells']} cells with 3 seeds): one run {noise['seed_std']:.3f}, "
          f"mean of 3 {noise['mean_of_3_std']:.3f} points")
    picks = [10, 20, 50, 100, 150, 199]
    print(f"{'surrogate':<28} {'RMSE':>6} " + " ".join(f"ep{e:>3}" for e in picks)
          + f" {'final tau':>9} {'noise@end':>9} {'s':>5}")
    for name, use_anchors, pin in (("NB211 pure (x11)", False, False),
                                   ("NB211 + 12/200 inputs", True, False),
                                   ("NB211 + inputs + pinned end", True, True)):
        start = time.perf_counter()
        quality = S.cross_validate(curves, features, anchors if use_anchors else None, pin,
                                   folds=args.folds)
        seconds = time.perf_counter() - start
        per_epoch = quality.rmse_per_epoch[[e - 1 for e in picks]]
        print(f"{name:<28} {quality.rmse:6.2f} " + " ".join(f"{v:5.2f}" for v in per_epoch)
              + f" {quality.final_tau:9.3f} {quality.noise_std_final:9.3f} {seconds:5.1f}")
        out.append({"part": "surrogate", "name": name, "rmse": quality.rmse,
                    "rmse_at": dict(zip(picks, per_epoch.tolist())),
                    "final_tau": quality.final_tau, "noise_std_final": quality.noise_std_final,
                    "seconds": seconds, **{f"real_{k}": v for k, v in noise.items()}})
    view = nb101_bench.LedgerView(nb101_bench.load_nb101(data_dir))
    nb101 = C.nb101_schedules(bench=view.bench)
    start = time.perf_counter()
    quality = S.cross_validate(nb101, S.cell_features("nb101", view.archs), folds=args.folds,
                               num_components=3, num_trees=500, num_leaves=31,
                               min_child_samples=20)
    seconds = time.perf_counter() - start
    print(f"NB111 (NB101 subset, {len(nb101)} cells): RMSE {quality.rmse:.2f}; per budget "
          + ", ".join(f"{e}: {v:.2f}" for e, v in zip(nb101.epochs, quality.rmse_per_epoch))
          + f"; final tau {quality.final_tau:.3f}; noise@108 {quality.noise_std_final:.3f}; "
          f"{seconds:.1f} s")
    out.append({"part": "surrogate", "name": "NB111", "rmse": quality.rmse,
                "rmse_at": dict(zip(nb101.epochs.tolist(), quality.rmse_per_epoch.tolist())),
                "final_tau": quality.final_tau, "noise_std_final": quality.noise_std_final,
                "seconds": seconds})


# == part 2 ==================================================================================
def part_lce(bench, data_dir, args, out):
    curves = C.read_nb201_curves(data_dir)
    final = curves.final
    features = S.cell_features("nb201", bench.op_codes)[curves.arch_index]
    print("\n== Part 2: extrapolating the 200-epoch value from a prefix (200 real curves) ==")
    print(f"{'prefix':>8} {'method':<22} {'MAE':>6} {'tau':>6} {'ms/curve':>9}")
    order = np.random.default_rng(0).permutation(len(curves))
    for share in (0.1, 0.2, 0.5):
        k = int(round(share * curves.num_epochs))
        prefix = curves.values[:, :k]
        start = time.perf_counter()
        lce = np.array([extrapolate(curves.epochs[:k], row, [curves.num_epochs],
                                    n_starts=1).mean[0] for row in prefix])
        lce_ms = 1000 * (time.perf_counter() - start) / len(curves)
        svr = {False: np.empty(len(curves)), True: np.empty(len(curves))}
        start = time.perf_counter()
        for fold in np.array_split(order, args.folds):
            train = np.setdiff1d(order, fold)
            for with_features, predicted in svr.items():
                extra = (features[train], features[fold]) if with_features else (None, None)
                model = LcSVR(k, seed=0).fit(prefix[train], final[train], extra[0])
                predicted[fold] = model.predict(prefix[fold], extra[1])
        svr_ms = 1000 * (time.perf_counter() - start) / len(curves)
        rows = (("last prefix value", prefix[:, -1], 0.0), ("LCE ensemble", lce, lce_ms),
                ("LcSVR (prefix)", svr[False], svr_ms),
                ("LcSVR (prefix + cell)", svr[True], svr_ms))
        for name, predicted, ms in rows:
            mae = float(np.abs(predicted - final).mean())
            tau = float(kendall_tau(final, predicted))
            print(f"{share:>7.0%} {name:<22} {mae:6.2f} {tau:6.3f} {ms:9.1f}")
            out.append({"part": "lce", "prefix_share": share, "prefix_epochs": k,
                        "method": name, "mae": mae, "tau": tau, "ms_per_curve": ms})


# == part 3 ==================================================================================
def part_search(bench, data_dir, args, out):
    print(f"\n== Part 3: search at a simulated budget of {args.budget_cells} mean full "
          f"trainings, {args.seeds} seeds (regret in points) ==")
    real = C.read_nb201_curves(data_dir)
    for space in args.spaces:
        task = M.curve_task(space, bench, data_dir, real)
        budget = args.budget_cells * task.mean_full_seconds()
        print(f"\n-- {space}: {task.curves!r}\n   budget {budget:.0f} s simulated")
        print(f"   {'method':<9} {'val regret':>15} {'test regret':>15} {'cells':>6} "
              f"{'full':>5} {'real read':>9} {'s/run':>6}")
        for method in M.curve_searchers(task):
            runs, _ = M.compare_on_curves(task, [method], range(args.seeds), budget)
            tests = runs["test_regret"]
            test_text = fmt(tests) if tests.notna().all() else f"{'n/a':>15}"
            print(f"   {method:<9} {fmt(runs['val_regret'])} {test_text} "
                  f"{runs['cells'].mean():6.0f} {runs['trained_fully'].mean():5.0f} "
                  f"{runs['real_read'].mean():9.2f} {runs['seconds'].mean():6.1f}")
            out.append({"part": "search", "space": space, "method": method,
                        "budget_seconds": budget, "seeds": args.seeds,
                        **{key: runs[key].tolist() for key in
                           ("val_regret", "test_regret", "cells", "trained_fully",
                            "real_read", "seconds")}})
            save(args, out)  # long runs keep every row finished so far


def save(args, out: list[dict]) -> None:
    """Write the figures so far, with their provenance, to ``--json`` (if given)."""
    if args.json:
        record = {"arguments": vars(args), "rows": out, **records.provenance("cpu")}
        Path(args.json).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--parts", nargs="+", default=["surrogate", "lce", "search"],
                        choices=["surrogate", "lce", "search"])
    parser.add_argument("--spaces", nargs="+", default=list(M.CURVE_SPACES),
                        choices=list(M.CURVE_SPACES))
    parser.add_argument("--budget-cells", type=float, default=200)
    parser.add_argument("--json", help="write the figures and their provenance here")
    args = parser.parse_args()
    data_dir = nar.benchmarks.require_data_dir(holds=C.NB201_CURVES_RELPATH,
                                               what="the learning-curve file")
    bench = nar.load_benchmark(data_dir)
    out: list[dict] = []
    for part in args.parts:
        {"surrogate": part_surrogate, "lce": part_lce, "search": part_search}[part](
            bench, data_dir, args, out)
    save(args, out)
    if args.json:
        print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
