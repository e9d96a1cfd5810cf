"""MaxAcc of Siamese-NAS, BRP-NAS and GBDT-guided search under the N/K protocol, and the
seconds of one estimation code.

Usage: python perf/bench_nk.py [--data-dir DIR] [--dataset cifar100] [--repeats 20]
                               [--totals 100 150 200] [--k 30] [--methods ...]
                               [--siamese-epochs 200] [--brp-epochs 250] [--code-cells 8]
                               [--rows runs.jsonl] [--shard I/N] [--summary-from F ...]
                               [--first-repeat F --pool-with old.json] [--record out.json]

For each label kind (one seed per cell, mean over seeds) and each total N + K of
``--totals`` (K = ``--k``), runs every method ``--repeats`` times (seeds 0..) through
:func:`nar_utils.search.nk.run_nk` on the NB201 table's 200-epoch test accuracy and prints
the mean and spread of MaxAcc (the best label bought), of the chosen cell's mean test
accuracy, of rho, and the seconds per run. Siamese-NAS reads the table variant of the
estimation code (12-epoch CIFAR-10 accuracy, charged at its training time). Then it times
``--code-cells`` trained estimation codes (the authors' recipe on the configured images, else
the embedded proxy) on this machine (``--code-cells 0`` skips this). Needs the NB201 table
(``--data-dir`` or ``$NAR_DATA_DIR``).

The full benchmark takes hours on one core, so it can be split and resumed: ``--rows``
appends each finished run as one JSON line and skips the runs already there (same dataset,
labels, variant and options, N, K and seed); ``--shard I/N`` runs every N-th run from the
I-th (runs are ordered repeat first, so a stopped benchmark holds whole repeats);
``--summary-from`` names other shards' row files: their runs are skipped here too and added
to the summary printed at the end.

``--first-repeat F`` runs only repeats F.. (seeds F..); with ``--pool-with RECORD``, a record
this script wrote for repeats 0..F-1 with the same settings, the summary is the exact pooled
mean and standard deviation of both (what one summary of all the runs' rows would give), and
the record names the record it pooled.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nar_utils.benchmarks import load_benchmark
from nar_utils.predictors.siamese import TableCodes, estimation_code
from nar_utils.reproduce import records
from nar_utils.search import nk
from nar_utils.training import images as image_data

METHODS = {
    "siamese+NSAM+BTS": ("siamese", {"nsam": True, "bts": True}),
    "brp-nas": ("brp", {}),
    "gbdt": ("gbdt", {}),
    "random": ("random", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--totals", type=int, nargs="+", default=[100, 150, 200])
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--siamese-epochs", type=int, default=200)
    parser.add_argument("--brp-epochs", type=int, default=250)
    parser.add_argument("--labels", nargs="+", default=["single", "mean"],
                        choices=nk.SEED_CHOICES)
    parser.add_argument("--code-cells", type=int, default=8)
    parser.add_argument("--rows", default=None, help="append finished runs here, skip those "
                        "already there")
    parser.add_argument("--shard", default="0/1", help="I/N: this process's share of the runs")
    parser.add_argument("--summary-from", nargs="*", default=[],
                        help="other shards' --rows files, added to the summary")
    parser.add_argument("--first-repeat", type=int, default=0,
                        help="run repeats (seeds) from this one on")
    parser.add_argument("--pool-with", default=None,
                        help="a record of this script for repeats 0..first-repeat-1")
    parser.add_argument("--record", default=None)
    args = parser.parse_args()
    if not 0 <= args.first_repeat < args.repeats:
        raise SystemExit(f"--first-repeat must be in 0..{args.repeats - 1} (below --repeats), "
                         f"got {args.first_repeat}")
    earlier = _earlier_summary(args) if args.pool_with else None
    bench = load_benchmark(args.data_dir)
    codes = TableCodes(bench)
    variants = {name: METHODS[name] for name in args.methods}
    variants = {name: (method, {**options,
                                **({"num_epochs": args.siamese_epochs} if method == "siamese"
                                   else {}),
                                **({"num_epochs": args.brp_epochs} if method == "brp" else {})})
                for name, (method, options) in variants.items()}
    jobs = [(repeat, kind, total, name) for repeat in range(args.first_repeat, args.repeats)
            for kind in args.labels for total in args.totals for name in variants]
    mine = _share(jobs, variants, *_shard(args.shard))
    rows_path = Path(args.rows) if args.rows else None
    if rows_path:
        rows_path.parent.mkdir(parents=True, exist_ok=True)
    others = [Path(path) for path in args.summary_from]
    done = {_key(row) for row in _read_rows([*([rows_path] if rows_path else []), *others])}
    labels = {kind: nk.cell_labels(bench, args.dataset, "test-accuracy", kind, seed=0,
                                   data_dir=args.data_dir) for kind in args.labels}
    rows = []
    for repeat, kind, total, name in mine:
        method, options = variants[name]
        head = {"dataset": args.dataset, "labels_kind": kind, "variant": name,
                "options": json.dumps(options, sort_keys=True)}
        if _key({**head, "N": total - args.k, "K": args.k, "seed": repeat}) in done:
            continue
        for row in nk.run_nk(method, labels[kind], total - args.k, (args.k,), repeat,
                             options=dict(options), codes=codes):
            row = records.to_jsonable({**head, **row})
            rows.append(row)
            if rows_path:
                with rows_path.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
            print(f"  {kind:6} {name:18} N+K {total:4d} seed {repeat:2d}  "
                  f"MaxAcc {row['max_label']:6.2f}  {row['seconds']:6.1f} s", flush=True)
    # One row per run, even where two shards' files both hold it.
    everything = list({_key(row): row for row in (
        _read_rows([*([rows_path] if rows_path else []), *others]) + rows)}.values())
    summaries = []
    for kind in args.labels:
        frame = pd.DataFrame([row for row in everything if row["labels_kind"] == kind
                              and row["dataset"] == args.dataset and row["K"] == args.k
                              and row["variant"] in variants
                              and args.first_repeat <= row["seed"] < args.repeats
                              and row["N"] + row["K"] in args.totals])
        if frame.empty:
            continue
        print(f"\n{labels[kind].description}; best label in the space "
              f"{labels[kind].values.max():.2f}, best mean {labels[kind].reported.max():.2f}; "
              f"K = {args.k}")
        table = nk.summarise(frame)
        if earlier is not None:
            table = _pool(earlier[earlier["labels_kind"] == kind].drop(columns="labels_kind"),
                          table)
        table = table.sort_values(["variant", "N+K"], key=lambda column: column.map(
            {name: i for i, name in enumerate(variants)}) if column.name == "variant"
            else column, kind="stable")
        summaries.append(table.assign(labels_kind=kind))
        for _, row in table.iterrows():
            print(f"  {row['variant']:18} N+K {row['N+K']:4d}  MaxAcc {row['max_label']:6.2f} "
                  f"± {row['max_label_std']:4.2f}  chosen (mean test) {row['best_reported']:6.2f}"
                  f"  rho {row['rho']:5.3f}  {row['seconds']:6.1f} s/run  "
                  f"({row['repeats']} repeats)", flush=True)
    seconds = _time_codes(bench, args) if args.code_cells else []
    if args.record:
        record = {"script": "perf/bench_nk.py", "arguments": vars(args),
                  "summary": pd.concat(summaries).to_dict("records") if summaries else [],
                  "code_seconds": seconds, **records.provenance("cpu")}
        Path(args.record).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


def _earlier_summary(args) -> pd.DataFrame:
    """The summary of a record for repeats 0..first-repeat-1 made with these settings."""
    path = Path(args.pool_with)
    try:
        old = json.loads(path.read_text())
        old_args, summary = old["arguments"], pd.DataFrame(old["summary"])
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"--pool-with {path}: not a record of this script ({err})") from None
    same = ("data_dir", "dataset", "totals", "k", "siamese_epochs", "brp_epochs")
    differ = [name for name in same if old_args.get(name) != getattr(args, name)]
    if differ:
        raise SystemExit(f"--pool-with {path} was made with other settings ({', '.join(differ)}"
                         "); pool only runs of the same benchmark")
    if old_args.get("repeats") != args.first_repeat or set(summary["repeats"]) != {
            args.first_repeat}:
        raise SystemExit(f"--pool-with {path} holds {old_args.get('repeats')} repeats; "
                         f"--first-repeat must be that number (got {args.first_repeat})")
    return summary


def _pool(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Exact pooled means and sample standard deviations of two summaries of disjoint
    repeats (means weighted by repeats; sums of squares recovered from mean and std)."""
    keys = ["variant", "K", "N", "N+K"]
    both = new.merge(old, on=keys, suffixes=("", "_old"), how="left", validate="one_to_one")
    if both["repeats_old"].isna().any():
        missing = both.loc[both["repeats_old"].isna(), keys].to_dict("records")
        raise SystemExit(f"--pool-with lacks these points: {missing}")
    n1, n2 = both["repeats_old"], both["repeats"]
    total = n1 + n2
    out = both[keys].copy()
    for name in ("max_label", "best_reported", "rho", "code_seconds", "cost_seconds",
                 "seconds"):
        out[name] = (n1 * both[f"{name}_old"] + n2 * both[name]) / total
    for name in ("max_label", "best_reported"):
        squares = sum((n - 1) * both[f"{name}_std{tail}"].fillna(0) ** 2
                      + n * both[f"{name}{tail}"] ** 2 for n, tail in ((n1, "_old"), (n2, "")))
        out[f"{name}_std"] = np.sqrt(np.maximum(squares - total * out[name] ** 2, 0)
                                     / (total - 1))
    out["repeats"] = total.astype(int)
    return out[list(new.columns)]


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise SystemExit(f"--shard must be I/N with integers, e.g. 0/2; got {text!r}") from None
    if not 0 <= index < count:
        raise SystemExit(f"--shard I/N needs 0 <= I < N, got {text!r}")
    return index, count


# Rough seconds per label of one run, so that shards take about as long as each other.
_WEIGHT = {"brp": 2.0, "siamese": 1.0}


def _share(jobs: list[tuple], variants: dict, index: int, count: int) -> list[tuple]:
    """This shard's runs: each run, in order, goes to the shard with the least work so far."""
    load, mine = [0.0] * count, []
    for job in jobs:
        shard = int(np.argmin(load))
        load[shard] += _WEIGHT.get(variants[job[3]][0], 0.01) * job[2]
        if shard == index:
            mine.append(job)
    return mine


def _key(row: dict) -> tuple:
    return tuple(row[name] for name in ("dataset", "labels_kind", "variant", "options", "N",
                                        "K", "seed"))


def _read_rows(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise SystemExit(f"{path}:{number} is not a JSON row ({err}); remove that "
                                 "line (an interrupted write) and run again") from None
    return rows


def _time_codes(bench, args) -> list[float]:
    images = image_data.load_images("cifar10-valid", args.data_dir, fallback="proxy")
    rng = np.random.default_rng(0)
    cells = bench.op_codes[rng.choice(len(bench.op_codes), args.code_cells, replace=False)]
    seconds = []
    for cell in cells:
        start = time.perf_counter()
        estimation_code(cell, images, seed=0)
        seconds.append(time.perf_counter() - start)
    print(f"\nestimation code (authors' recipe, C16 N5, {images.name}"
          f"{' proxy' if images.is_proxy else ''}): median {np.median(seconds):.2f} s, "
          f"range {min(seconds):.2f}-{max(seconds):.2f} s over {len(seconds)} cells")
    return seconds

if __name__ == "__main__":
    main()
