"""Ranking quality and training time of every predictor on the NAR paper's NB201 protocol.

Usage:
    NAR_DATA_DIR=../shared/data python perf/bench_predictors.py \
        [--datasets cifar10-valid cifar100 ImageNet16-120] [--seeds 0 1 2] \
        [--nar-config cpu|paper] [--predictors nar mlp gbdt renas gcn] [--threads 1] \
        [--device cpu] [--json results.json]

For each dataset and seed: one random split of the 15,625 cells into 1000 training, 256
validation and 14,369 test architectures (``nar_utils.predictors.split_indices``); label =
200-epoch 'valid-accuracy' of that dataset. Every predictor is fitted on the same split
(validation data picks its best epoch / number of trees) and ranks the test cells.

Prints one row per (dataset, seed, predictor): Kendall tau against the test cells'
validation accuracy (the label) and test accuracy, Spearman rho, precision@10 / N@10, fit and
predict seconds. For NAR it also prints the tau of each ranking score
(:data:`nar_utils.predictors.nar.train.SCORE_KINDS`) and the accuracy of its tier head. Then,
per dataset,
mean tau per predictor and the ratio NAR / best baseline. Timings are wall-clock on the
given thread count; a CPU-sized NAR (``--nar-config cpu``) is not the paper's model.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import nar_utils as nar
from nar_utils import metrics, predictors
from nar_utils.predictors.nar import train

DEFAULT_DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=list(DEFAULT_DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--nar-config", default="cpu", choices=list(train.PRESETS))
    parser.add_argument("--predictors", nargs="+", default=list(predictors.PREDICTORS),
                        choices=list(predictors.PREDICTORS))
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-val", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--json", default=None, help="also write all rows to this file")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    bench = nar.load_benchmark()
    codes = bench.op_codes
    print(f"source: {bench.source}; {len(bench)} cells; torch threads: "
          f"{torch.get_num_threads()}; device: {args.device}; NAR config: {args.nar_config}")
    header = (f"{'dataset':<15} {'seed':>4} {'predictor':<9} {'tau':>6} {'tau_test':>8} "
              f"{'rho':>6} {'P@10':>5} {'N@10':>5} {'fit_s':>7} {'pred_s':>6}")
    print(header)
    rows = []
    for dataset in args.datasets:
        y_val = bench.column(dataset, "valid-accuracy", hp="200")
        y_test = bench.column(dataset, "test-accuracy", hp="200")
        for seed in args.seeds:
            train_idx, val_idx, test_idx = predictors.split_indices(
                len(bench), args.n_train, args.n_val, seed=seed)
            for name in args.predictors:
                kwargs = dict(dataset=dataset, seed=seed, device=args.device)
                if name == "nar":
                    kwargs["config"] = args.nar_config
                predictor = predictors.make_predictor(name, **kwargs)
                predictor.fit(codes[train_idx], y_val[train_idx], val_archs=codes[val_idx],
                              val_y=y_val[val_idx])
                result = predictors.evaluate(predictor, codes[test_idx], y_val[test_idx],
                                             y_test[test_idx], ks=(10, 100))
                row = {"dataset": dataset, "seed": seed, "predictor": name, **result}
                if name == "nar":
                    start = time.perf_counter()
                    details = predictor.predict_details(codes[test_idx])
                    for kind in train.SCORE_KINDS:
                        score = train.ranking_score(details["tier_probs"], details["aux"], kind)
                        row[f"tau[{kind}]"] = metrics.kendall_tau(y_val[test_idx], score)
                    true_tiers = metrics.tiers_from_scores(y_val[test_idx])
                    row["tier_head_accuracy"] = metrics.tier_accuracy(
                        true_tiers, details["tier_probs"].argmax(axis=1))
                    row["best_epoch"] = predictor.result.best_epoch
                    row["details_seconds"] = time.perf_counter() - start
                rows.append(row)
                print(f"{dataset:<15} {seed:>4} {name:<9} {row['tau']:>6.3f} "
                      f"{row['tau_test']:>8.3f} {row['rho']:>6.3f} {row['precision@10']:>5.2f} "
                      f"{row['N@10']:>5d} {row['fit_seconds']:>7.1f} "
                      f"{row['predict_seconds']:>6.2f}", flush=True)
                if name == "nar":
                    variants = ", ".join(f"{kind} {row[f'tau[{kind}]']:.3f}"
                                         for kind in train.SCORE_KINDS)
                    print(f"{'':<15} {'':>4} {'':<9} NAR scores: {variants}; tier head "
                          f"accuracy {row['tier_head_accuracy']:.3f}; best epoch "
                          f"{row['best_epoch']}", flush=True)
    print("\nmean Kendall tau over seeds (label: valid-accuracy of the test cells)")
    for dataset in args.datasets:
        means = {name: float(np.mean([r["tau"] for r in rows if r["dataset"] == dataset
                                      and r["predictor"] == name]))
                 for name in args.predictors}
        fit_times = {name: float(np.mean([r["fit_seconds"] for r in rows
                                          if r["dataset"] == dataset and r["predictor"] == name]))
                     for name in args.predictors}
        cells = "  ".join(f"{name} {means[name]:.3f} ({fit_times[name]:.0f}s)"
                          for name in args.predictors)
        print(f"{dataset:<15} {cells}")
        baselines = {name: value for name, value in means.items() if name != "nar"}
        if "nar" in means and baselines:
            best = max(baselines, key=baselines.get)
            print(f"{'':<15} NAR / best baseline ({best}): {means['nar'] / baselines[best]:.3f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "rows": rows}, handle, indent=1, default=float)
        print(f"rows written to {args.json}")


if __name__ == "__main__":
    main()
