"""Search at equal budgets on NAS-Bench-201, and the NB201 paper protocol.

Usage:
    NAR_DATA_DIR=../shared/data python benchmarks/bench_search.py [--seeds 10]
        [--budgets 200 500 1896] [--paper-seeds 10] [--datasets cifar10 cifar100 ImageNet16-120]
        [--methods random rea ...] [--skip-budgets] [--skip-paper] [--json out.json]

Part 1, equal query budgets: every method searches under a ledger driven by the 200-epoch
validation accuracy (NB201 convention: 'cifar10-valid' for cifar10) with a budget of distinct
look-ups, and the 200-epoch test accuracy of its final choice (best validation label bought)
is averaged over seeds. Budget 1896 = 1,256 ranker labels + 640 queries, NAR's NB201 budget.
BOHB also buys 12-epoch labels (its low fidelity), each counted as a query. Predictor-guided
rows and the NAR tier sampler count their training labels in the budget; the sampler row also
prints the authors' 'oracle' statistic (best TEST accuracy among its picks: an upper bound
that selects with test data, not a search result).

Part 2, the NB201 paper protocol: 12-epoch validation accuracy as label, a simulated budget
of 12,000 s of training time, 200-epoch test accuracy of the final choice; beside it the
paper's figures, as reported, unverified.

Predictor for the guided rows: a GBDT from ``nar_utils.predictors`` when that module offers
one, else a one-hot LightGBM regressor defined here (printed). FLOPs/params for the sampler:
``nar_utils.cellinfo.network_totals`` when present, else the table's params for both (printed).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

import nar_utils as nar
from nar_utils import compare, search

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
BASELINES = ("random", "rea", "reinforce", "bohb")
METHODS = (*BASELINES, "predictor-random", "predictor-evolution", "nar-sampler")


class OneHotLGBM:
    """A cheap predictor: LightGBM regression on the 30-dim one-hot of the op codes."""

    def __init__(self, seed: int = 0):
        self.seed = seed

    @staticmethod
    def features(archs: np.ndarray) -> np.ndarray:
        archs = np.asarray(archs, dtype=np.int64)
        x = np.zeros((len(archs), 30), dtype=np.float32)
        x[np.arange(len(archs))[:, None], np.arange(6) * 5 + archs] = 1.0
        return x

    def fit(self, archs: np.ndarray, y: np.ndarray) -> "OneHotLGBM":
        import lightgbm

        params = {"objective": "regression", "learning_rate": 0.08, "num_leaves": 15,
                  "min_data_in_leaf": 5, "seed": self.seed, "num_threads": 1,
                  "deterministic": True, "force_row_wise": True, "verbose": -1}
        data = lightgbm.Dataset(self.features(archs), np.asarray(y, dtype=float))
        self.model = lightgbm.train(params, data, num_boost_round=150)
        return self

    def predict(self, archs: np.ndarray) -> np.ndarray:
        return self.model.predict(self.features(archs))


def make_predictor_factory():
    """(factory(seed) -> predictor, description)."""
    try:
        from nar_utils import predictors  # noqa: F401
    except ImportError:
        predictors = None
    if predictors is not None:
        for name in ("GBDTPredictor", "LGBMPredictor", "GBDT"):
            cls = getattr(predictors, name, None)
            if cls is not None:
                return (lambda seed: cls()), f"nar_utils.predictors.{name}"
    return OneHotLGBM, "one-hot LightGBM defined in bench_search.py " \
                       "(nar_utils.predictors offers no GBDT yet)"


def make_cost_fn(bench, dataset: str):
    """(cost_fn, description) for the tier sampler."""
    try:
        from nar_utils.cellinfo import network_totals
    except ImportError:
        params = bench.column(search.SEARCH_LABELS[dataset][0], "params", "200")
        return (lambda codes: (params, params)), \
            "table params for both FLOPs and params (nar_utils.cellinfo not available)"
    return (lambda codes: network_totals(dataset, codes)), "nar_utils.cellinfo.network_totals"


def run_budget_method(bench, dataset, method, budget, seed, predictor_factory, cost_fn):
    """One search under a query budget; returns (test accuracy, queries, extra dict)."""
    del cost_fn  # the sampler reads nar_utils.cellinfo costs for the task's dataset
    task = nar.benchmarks.tasks(bench, [dataset])[0]
    run = compare.run_at_budget(bench, task, method, budget, seed,
                                predictor_factory=predictor_factory,
                                ranker_factory=predictor_factory)
    extra = {"stop_reason": run["stop_reason"]}
    if method == "nar-sampler":
        extra.update({"oracle": run["oracle_test"], "oracle_rank": run["oracle_rank"],
                      "failures": run["failures"], "slots": run["slots"]})
    return run["test_value"], run["num_queries"], extra


def fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():6.2f} ± {values.std():4.2f}"


def part_budgets(bench, args, predictor_factory, predictor_note, records):
    methods = args.methods
    print(f"\n== Equal query budgets: mean final test accuracy (%) ± std over {args.seeds} "
          f"seeds [mean queries used]\npredictor: {predictor_note}")
    for dataset in args.datasets:
        cost_fn, cost_note = make_cost_fn(bench, dataset)
        label = search.ledger_for(bench, dataset).label_spec
        print(f"\n-- {dataset}: search label {label}; report {dataset} test-accuracy (hp=200)"
              f"\n   sampler costs: {cost_note}")
        header = "".join(f"{b:>26}" for b in args.budgets)
        print(f"{'method':<22}{header}{'seconds':>10}")
        for method in methods:
            start = time.perf_counter()
            cells, oracle_cells = [], []
            for budget in args.budgets:
                tests, queries, oracles, ranks = [], [], [], []
                for seed in range(args.seeds):
                    test, used, extra = run_budget_method(bench, dataset, method, budget, seed,
                                                          predictor_factory, cost_fn)
                    tests.append(test)
                    queries.append(used)
                    if "oracle" in extra:
                        oracles.append(extra["oracle"])
                        ranks.append(extra["oracle_rank"])
                    records.append({"part": "budget", "dataset": dataset, "method": method,
                                    "budget": budget, "seed": seed, "test": test,
                                    "queries": used, **extra})
                cells.append(f"{fmt(tests)} [{np.mean(queries):6.0f}]")
                if oracles:
                    oracle_cells.append(f"{fmt(oracles)} [r{np.median(ranks):5.0f}]")
            seconds = time.perf_counter() - start
            print(f"{method:<22}" + "".join(f"{c:>26}" for c in cells) + f"{seconds:>10.1f}")
            if oracle_cells:
                print(f"{'  oracle (test-picked)':<22}" + "".join(f"{c:>26}" for c in oracle_cells)
                      + "   [r = median rank]")


def part_paper(bench, args, records):
    print(f"\n== NB201 paper protocol: 12-epoch validation label, {search.PAPER_TIME_BUDGET:.0f}"
          f" s simulated training time, 200-epoch test accuracy (%) of the choice; mean ± std "
          f"over {args.paper_seeds} seeds [mean queries]")
    print(f"{'method':<12}" + "".join(f"{d:>26}{'reported':>10}" for d in args.datasets))
    for method in [m for m in args.methods if m in BASELINES]:
        cells = []
        for dataset in args.datasets:
            tests, queries = [], []
            for seed in range(args.paper_seeds):
                report = search.paper_protocol(bench, dataset, method, seed)
                tests.append(report["test_value"])
                queries.append(report["num_queries"])
                records.append({"part": "paper", "dataset": dataset, "method": method,
                                "seed": seed, "test": report["test_value"],
                                "queries": report["num_queries"],
                                "stop_reason": report["stop_reason"]})
            reported = search.PAPER_PROTOCOL_REPORTED[method][dataset]
            cells.append(f"{fmt(tests)} [{np.mean(queries):5.0f}]{reported:>10.2f}")
        print(f"{method:<12}" + "".join(f"{c:>36}" for c in cells))
    print(f"reported: NAS-Bench-201 paper, {search.REPORTED_LABEL}. Time counts training only "
          "(the tables hold no evaluation time); 12-epoch times for cifar100/ImageNet16-120 "
          "are derived (200-epoch time x 12/200).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("NAR_DATA_DIR"))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--budgets", nargs="+", type=int, default=[200, 500, 1896])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, default=10, help="seeds per budget cell")
    parser.add_argument("--paper-seeds", type=int, default=10)
    parser.add_argument("--skip-budgets", action="store_true")
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--json", help="also write every run as JSON here")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("needs the NB201 table: pass --data-dir or set NAR_DATA_DIR")
    bench = nar.load_benchmark(args.data_dir)
    factory, note = make_predictor_factory()
    records: list[dict] = []
    start = time.perf_counter()
    if not args.skip_budgets:
        part_budgets(bench, args, factory, note, records)
    if not args.skip_paper:
        part_paper(bench, args, records)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(records, handle, indent=1)


if __name__ == "__main__":
    main()
