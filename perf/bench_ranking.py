"""Ranking to the noise ceiling: NAR, NAR-C and the baselines on identical splits, NAR's
ablations, and the TNASP / PINAT protocol beside its published figures.

Usage:
    NAR_DATA_DIR=../shared/data python perf/bench_ranking.py \
        [--parts noise main ablation protocol] [--seeds 0 1 ... 9] \
        [--datasets cifar10-valid cifar100 ImageNet16-120] [--rankers LABEL ...] \
        [--ablations LABEL ...] [--workers 2] [--json out.json] [--resume out.json]

Parts (``nar_utils.predictors.comparison`` and ``.protocols`` hold the definitions):

* ``noise``: how well two training runs of the same cells agree (seed 777 vs 888, Kendall
  tau on the 200-epoch validation accuracy), one run against the mean of the two others, and
  the estimated ceiling for predicting the mean over runs
  (:func:`nar_utils.benchmarks.noise.seed_agreement`).
* ``main``: every ranker of ``RANKERS`` on the NAR protocol (1,000 training + 256
  validation labels, the other 14,369 cells scored against the validation accuracy), per
  dataset and seed; then mean +- std of tau per dataset and the ratio to the best baseline.
* ``ablation``: every variant of ``ABLATIONS`` (one component of the book's NAR changed at a
  time) on the same splits, cifar10-valid unless ``--ablation-datasets`` says otherwise.
* ``protocol``: the TNASP / PINAT NB201 protocol (469 / 781 / 1,563 training cells, no
  validation labels, all 15,625 cells scored against CIFAR-10 test accuracy) and its NB101
  sizes (424 / 4,236) on the book's 30k subset (held-out cells of the subset, validation
  accuracy: the data has no test accuracy and not all 423,624 cells), beside PINAT's Table 1.

Each fit runs in a worker process with one torch thread (``--workers``; 2 on this project's
CI-sized machine); rows print as they finish and, with ``--json``, are saved after each one
with the provenance, so a stopped run keeps what it finished and ``--resume`` skips those.
Timings are per fit on one thread.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
from pathlib import Path

import numpy as np

DEFAULT_DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
PARTS = ("noise", "main", "ablation", "protocol")
PROTOCOL_RUNS = (("pinat-nb201", "cifar10-valid", (469, 781, 1563)),
                 ("pinat-nb101", "cifar10", (424, 4236)))
#: Rankers of the protocol part (NB101 reads no canonical cells: its cells are unique).
PROTOCOL_RANKERS = ("NAR", "NAR-C", "GBDT", "GBDT (canonical)")

_TASKS: dict = {}


def _task(protocol: str, dataset: str):
    from nar_utils.predictors import comparison

    key = (protocol, dataset)
    if key not in _TASKS:
        _TASKS[key] = comparison.ranking_task(protocol, dataset)
    return _TASKS[key]


def _run(job: tuple) -> dict:
    """One fit in a worker: (part, protocol, dataset, table, label, n_train, seed)."""
    import torch

    from nar_utils.predictors import comparison

    torch.set_num_threads(1)
    part, protocol, dataset, table, label, n_train, seed = job
    spec = (comparison.RANKERS if table == "rankers" else comparison.ABLATIONS)[label]
    row = comparison.run_ranker(spec, _task(protocol, dataset), n_train, seed)
    return {"part": part, **row}


def _key(row: dict) -> tuple:
    return (row["part"], row["protocol"], row["dataset"], row["ranker"], row["n_train"],
            row["seed"])


def _jobs(args) -> list[tuple]:
    from nar_utils.predictors import comparison

    jobs = []
    if "main" in args.parts:
        jobs += [("main", "nar", d, "rankers", r, 1000, s) for s in args.seeds
                 for d in args.datasets for r in args.rankers]
    if "ablation" in args.parts:
        jobs += [("ablation", "nar", d, "ablations", a, 1000, s) for s in args.seeds
                 for d in args.ablation_datasets for a in args.ablations]
    if "protocol" in args.parts:
        for protocol, dataset, sizes in PROTOCOL_RUNS:
            rankers = [r for r in PROTOCOL_RANKERS if r in comparison.RANKERS]
            jobs += [("protocol", protocol, dataset, "rankers", r, n, s) for s in args.seeds
                     for n in sizes for r in rankers]
    return jobs


def _save(args, rows: list[dict], noise_rows: dict) -> None:
    if not args.json:
        return
    from nar_utils.reproduce import records

    record = {"arguments": vars(args), "noise": noise_rows, "rows": rows,
              **records.provenance("cpu")}
    Path(args.json).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


def print_noise(noise_rows: dict) -> None:
    print("\nagreement of independent runs (200-epoch validation accuracy)")
    print(f"{'dataset':<15} {'777 vs 888':>10} {'run vs rest':>11} {'model':>6} "
          f"{'ceiling':>7} {'noise sd':>8}")
    for dataset, r in noise_rows.items():
        print(f"{dataset:<15} {r['tau_pair']:>10.3f} {r['tau_run_vs_rest']:>11.3f} "
              f"{r['tau_pair_model']:>6.3f} {r['ceiling']:>7.3f} {r['noise_std']:>8.2f}")
    print("(model: the noise model's own 777-vs-888 tau, a check; ceiling: its estimate of the "
          "best tau any predictor of the expected accuracy can reach against the label)")


def print_tables(rows: list[dict], noise_rows: dict) -> None:
    from nar_utils.predictors import comparison, protocols

    for part, title in (("main", "main table: NAR protocol, 1,000 + 256 labels"),
                        ("ablation", "ablations of NAR: NAR protocol, 1,000 + 256 labels")):
        part_rows = [r for r in rows if r["part"] == part]
        if not part_rows:
            continue
        stats = comparison.summarise(part_rows)
        print(f"\n{title}: Kendall tau, mean +- std over seeds")
        for dataset, group in stats.groupby("dataset", sort=False):
            ceiling = noise_rows.get(dataset, {}).get("ceiling")
            pair = noise_rows.get(dataset, {}).get("tau_pair")
            extra = (f"  (two runs agree at {pair:.3f}; ceiling {ceiling:.3f})"
                     if ceiling is not None else "")
            print(f"{dataset}{extra}")
            for r in group.itertuples():
                ratio = "" if np.isnan(r.ratio) else f"  ratio {r.ratio:.3f}"
                print(f"  {r.ranker:<46} {r.tau:.3f} +- {r.tau_std:.3f} ({r.seeds} seeds, "
                      f"fit {r.fit_seconds:5.1f} s){ratio}")
    part_rows = [r for r in rows if r["part"] == "protocol"]
    if part_rows:
        stats = comparison.summarise(part_rows)
        print("\nTNASP / PINAT protocol: Kendall tau, mean +- std over seeds (published: "
              "PINAT Table 1, one split, as reported)")
        for (protocol, n_train), group in stats.groupby(["protocol", "n_train"], sort=False):
            spec = protocols.get_protocol(protocol)
            note = "" if spec.matches_published else "  [the book's subset: not their test set]"
            print(f"{protocol} {n_train} training cells{note}")
            for r in group.itertuples():
                print(f"  {r.ranker:<22} {r.tau:.3f} +- {r.tau_std:.3f} (held-out cells "
                      f"{r.tau_held_out:.3f}; {r.seeds} seeds)")
            for name, tau in protocols.PUBLISHED.get((protocol, n_train), {}).items():
                print(f"  {name + ' (published)':<22} {tau:.3f}")


def main() -> None:
    from nar_utils.predictors import comparison

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=DEFAULT_DATASETS)
    parser.add_argument("--ablation-datasets", nargs="+", default=["cifar10-valid"],
                        choices=DEFAULT_DATASETS)
    parser.add_argument("--rankers", nargs="+", default=list(comparison.RANKERS),
                        choices=list(comparison.RANKERS), metavar="LABEL")
    parser.add_argument("--ablations", nargs="+", default=list(comparison.ABLATIONS),
                        choices=list(comparison.ABLATIONS), metavar="LABEL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write rows and provenance here after every fit")
    parser.add_argument("--resume", help="a record of an earlier run: keep its rows, skip them")
    args = parser.parse_args()

    rows: list[dict] = []
    if args.resume:
        rows = json.loads(Path(args.resume).read_text())["rows"]
        print(f"resumed {len(rows)} rows from {args.resume}")
    noise_rows: dict = {}
    if "noise" in args.parts:
        from nar_utils.benchmarks import noise

        noise_rows = noise.nb201_seed_agreement(args.datasets)
        print_noise(noise_rows)
    done = {_key(r) for r in rows}
    jobs = [j for j in _jobs(args) if (j[0], j[1], j[2], j[4], j[5], j[6]) not in done]
    print(f"\n{len(jobs)} fits on {args.workers} workers "
          f"(NAR_DATA_DIR={os.environ.get('NAR_DATA_DIR', 'embedded')})")
    with cf.ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        for future in cf.as_completed(futures):
            row = future.result()
            rows.append(row)
            print(f"{row['part']:<8} {row['protocol']:<11} {row['dataset']:<15} "
                  f"{row['n_train']:>5} seed {row['seed']:<2} {row['ranker']:<46} tau "
                  f"{row['tau']:.3f} ({row['fit_seconds']:.1f} s)", flush=True)
            _save(args, rows, noise_rows)
    _save(args, rows, noise_rows)
    print_tables(rows, noise_rows)


if __name__ == "__main__":
    main()
