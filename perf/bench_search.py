"""Search at equal budgets on NAS-Bench-201, and the NB201 paper protocol.

Usage:
    NAR_DATA_DIR=../shared/data python perf/bench_search.py [--seeds 10]
        [--budgets 200 500 1896] [--paper-seeds 10] [--datasets cifar10 cifar100 ImageNet16-120]
        [--methods random rea ...] [--ranker gbdt|nar] [--skip-budgets] [--skip-paper]
        [--json out.json]

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

The guided rows use ``--predictor`` (default: the GBDT of chapter 03); the sampler row ranks
with ``--ranker`` (default GBDT, seconds per run; ``--ranker nar`` trains the transformer of
chapter 03 for every run, minutes per run on a CPU). The sampler's FLOPs and params come from
``nar_utils.spaces.nb201.cellinfo`` for the search dataset.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import nar_utils as nar
from nar_utils import search
from nar_utils.predictors import PREDICTORS
from nar_utils.reproduce import anchors
from nar_utils.search import protocol

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
BASELINES = ("random", "rea", "reinforce", "bohb")
METHODS = (*BASELINES, "predictor-random", "predictor-evolution", "nar-sampler")


def make_factories(args, task_dataset: str):
    """(predictor_factory, ranker_factory) for the guided rows and the NAR sampler."""
    def predictor_factory(seed):
        return nar.make_predictor(args.predictor, seed=seed)

    def ranker_factory(seed):
        if args.ranker != "nar":
            return nar.make_predictor(args.ranker, seed=seed)
        return nar.make_predictor("nar", dataset=task_dataset, config=args.nar_config,
                                  seed=seed, device=args.device)

    return predictor_factory, ranker_factory


def run_budget_method(bench, args, dataset, method, budget, seed):
    """One search under a query budget; returns (test accuracy, queries, extra dict)."""
    task = nar.benchmarks.tasks(bench, [dataset])[0]
    predictor_factory, ranker_factory = make_factories(args, task.label_dataset)
    run = protocol.run_at_budget(bench, task, method, budget, seed,
                                predictor_factory=predictor_factory,
                                ranker_factory=ranker_factory, faithful_kl=args.faithful_kl)
    extra = {"stop_reason": run["stop_reason"]}
    if method == "nar-sampler":
        extra.update({"oracle": run["oracle_test"], "oracle_rank": run["oracle_rank"],
                      "failures": run["failures"], "slots": run["slots"]})
    return run["test_value"], run["num_queries"], extra


def fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():6.2f} ± {values.std():4.2f}"


def part_budgets(bench, args, records):
    methods = args.methods
    ranker = f"nar ({args.nar_config} size, {args.device})" if args.ranker == "nar" \
        else args.ranker
    print(f"\n== Equal query budgets: mean final test accuracy (%) ± std over {args.seeds} "
          f"seeds [mean queries used]\npredictor of the guided rows: {args.predictor}; "
          f"ranker of nar-sampler: {ranker}; sampler KL: "
          f"{'faithful (softmax of counts)' if args.faithful_kl else 'proper KL'}")
    for dataset in args.datasets:
        label = search.ledger_for(bench, dataset).label_spec
        print(f"\n-- {dataset}: search label {label}; report {dataset} test-accuracy (hp=200)")
        header = "".join(f"{b:>26}" for b in args.budgets)
        print(f"{'method':<22}{header}{'seconds':>10}")
        for method in methods:
            start = time.perf_counter()
            cells, oracle_cells = [], []
            for budget in args.budgets:
                tests, queries, oracles, ranks = [], [], [], []
                for seed in range(args.seeds):
                    test, used, extra = run_budget_method(bench, args, dataset, method,
                                                          budget, seed)
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
            reported = anchors.PAPER_PROTOCOL_REPORTED[method][dataset]
            cells.append(f"{fmt(tests)} [{np.mean(queries):5.0f}]{reported:>10.2f}")
        print(f"{method:<12}" + "".join(f"{c:>36}" for c in cells))
    print(f"reported: NAS-Bench-201 paper, {anchors.REPORTED_LABEL}. Time counts training only "
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
    parser.add_argument("--predictor", default="gbdt", choices=PREDICTORS,
                        help="predictor of the predictor-guided rows")
    parser.add_argument("--ranker", default="gbdt", choices=PREDICTORS,
                        help="ranker of the nar-sampler row ('nar': the transformer; the "
                             "cheap default keeps the sampler's cost to seconds per run)")
    parser.add_argument("--nar-config", default="cpu", choices=("cpu", "paper"))
    parser.add_argument("--device", default="cpu", help="device of the NAR ranker")
    parser.add_argument("--faithful-kl", action="store_true",
                        help="the authors' softmax-of-counts 'KL' in the sampler")
    parser.add_argument("--skip-budgets", action="store_true")
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--json", help="also write every run as JSON here")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("needs the NB201 table: pass --data-dir or set NAR_DATA_DIR")
    bench = nar.load_benchmark(args.data_dir)
    records: list[dict] = []
    start = time.perf_counter()
    if not args.skip_budgets:
        part_budgets(bench, args, records)
    if not args.skip_paper:
        part_paper(bench, args, records)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(records, handle, indent=1)


if __name__ == "__main__":
    main()
