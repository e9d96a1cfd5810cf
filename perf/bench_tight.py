"""Search where budgets are tight: how often, and how soon, each searcher finds the best cell.

Usage:
    NAR_DATA_DIR=../shared/data python perf/bench_tight.py [--seeds 0 1 ... 9] \
        [--datasets cifar10 cifar100 ImageNet16-120] [--budgets 50 100 150 200] \
        [--methods random rea bohb gbdt-guided narc-guided narc-sampler] \
        [--narc-ensemble 1] [--workers 2] [--json out.json] [--resume out.json]

Every method searches NAS-Bench-201 under a ledger driven by the 200-epoch validation
accuracy (``nar_utils.search.tight``): random search, regularized evolution, BOHB,
predictor-guided regularized evolution with the GBDT or NAR-C, and NAR's tier sampler with
NAR-C as its ranker. A predictor's training labels are queries like any other. Anytime
methods run once per seed up to the largest budget and are read at each budget; the sampler
runs once per budget.

Prints, per dataset and budget, each method's share of seeds that end holding the cell with
the best validation label of the space ("found"), the median number of queries to first
hold it ("> B" when half or more of the seeds never do within B), the mean validation regret
and the mean test accuracy of the choice. ``--narc-ensemble`` sets NAR-C's ensemble inside
the searches (1 by default: a guided search refits its predictor every 5 queries).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
from pathlib import Path

import numpy as np

DEFAULT_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_BENCH: dict = {}


def _run(job: tuple) -> list[dict]:
    import torch

    import nar_utils as nar
    from nar_utils.predictors import make_predictor
    from nar_utils.search import tight

    torch.set_num_threads(1)
    dataset, method, seed, budgets, narc_ensemble = job
    if "bench" not in _BENCH:
        _BENCH["bench"] = nar.load_benchmark()
    bench = _BENCH["bench"]
    task = nar.benchmarks.tasks(bench, [dataset])[0]

    def factory(name: str, s: int):
        options = {"ensemble": narc_ensemble} if name == "narc" else {}
        return make_predictor(name, dataset=task.label_dataset, seed=s, **options)

    return tight.run_tight(bench, task, method, seed, budgets, predictor_factory=factory)


def _save(args, rows: list[dict]) -> None:
    if args.json:
        from nar_utils.reproduce import records

        record = {"arguments": vars(args), "rows": rows, **records.provenance("cpu")}
        Path(args.json).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


def print_table(rows: list[dict]) -> None:
    from nar_utils.search import tight

    summary = tight.summarise_tight(rows)
    for dataset, by_dataset in summary.groupby("dataset", sort=False):
        print(f"\n{dataset}: found the best-validation cell (share of seeds), median queries "
              "to it, mean validation regret, mean test accuracy of the choice")
        for budget, group in by_dataset.groupby("budget", sort=False):
            print(f"  budget {budget}")
            for r in group.itertuples():
                median = (f"> {budget}" if np.isnan(r.median_queries_to_best)
                          else f"{r.median_queries_to_best:.0f}")
                print(f"    {r.method:<14} found {r.found:4.0%}  median {median:>6}  regret "
                      f"{r.val_regret:6.3f}  test {r.test_value:6.2f}  ({r.seeds} seeds)")


def main() -> None:
    from nar_utils.search import tight

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=DEFAULT_DATASETS)
    parser.add_argument("--budgets", nargs="+", type=int, default=list(tight.TIGHT_BUDGETS))
    parser.add_argument("--methods", nargs="+", default=list(tight.METHODS))
    parser.add_argument("--narc-ensemble", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write rows and provenance here after every run")
    parser.add_argument("--resume", help="a record of an earlier run: keep its rows, skip them")
    args = parser.parse_args()
    for method in args.methods:
        tight._kind(method)  # refuse an unknown method before anything runs

    rows: list[dict] = []
    if args.resume:
        rows = json.loads(Path(args.resume).read_text())["rows"]
        print(f"resumed {len(rows)} rows from {args.resume}")
    done = {(r["dataset"], r["method"], r["seed"]) for r in rows}
    jobs = [(d, m, s, tuple(args.budgets), args.narc_ensemble) for s in args.seeds
            for d in args.datasets for m in args.methods if (d, m, s) not in done]
    print(f"{len(jobs)} runs on {args.workers} workers")
    with cf.ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        for future in cf.as_completed(futures):
            found = future.result()
            rows += found
            last = found[-1]
            print(f"{last['dataset']:<15} {last['method']:<14} seed {last['seed']:<2} at "
                  f"{last['budget']}: found {last['found']}, regret {last['val_regret']:.3f}",
                  flush=True)
            _save(args, rows)
    _save(args, rows)
    print_table(rows)


if __name__ == "__main__":
    main()
