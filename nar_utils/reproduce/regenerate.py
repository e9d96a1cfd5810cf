"""Regenerate NAS-Bench-201 (all of it or a range of cells): the meta list, training, merging.

The benchmark was made in three steps, and so is a regeneration here::

    python -m nar_utils.reproduce.regenerate meta runs/regen/meta.csv
    python -m nar_utils.reproduce.regenerate train runs/regen/meta.csv --range 0 100 \\
        --seeds 777 888 --dataset cifar10-valid --hp 200 --out runs/regen [--workers 4]
    python -m nar_utils.reproduce.regenerate merge runs/regen/meta.csv --runs runs/regen \\
        --out my-data

1. **meta**: the list of cells, one row per arch index (``arch_index``, ``arch_str``,
   ``op_code``). With the NB201 table configured (``--data-dir`` or ``$NAR_DATA_DIR``) it is
   the official index order; without it, the order of the space's enumeration
   (:func:`nar_utils.spaces.nb201.space_index`), and the file says so in its ``order`` column.
2. **train**: every index of ``[START, END)`` with every seed, one run each through
   :func:`nar_utils.reproduce.train_one.train_one` (the benchmark's recipe; a checkpoint per
   epoch, so a killed run resumes), in ``<out>/<dataset>-hp<hp>/<index>-seed<seed>/``. The
   runs go through the grid runner's backends (:func:`nar_utils.reproduce.grid.run_tasks`):
   here one after another, a local process pool (``--workers``), or Dask (``--backend dask``,
   one GPU per run with ``--gpus-per-run 1``; ``0.25`` lets four runs share a GPU). A run
   whose record exists is skipped, so the same command continues an interrupted range.
3. **merge**: every finished run under ``--runs`` into ``<out>/nb201/nb201.csv.gz``, the
   table schema :func:`nar_utils.benchmarks.nb201.load_table` reads (mean over seeds, per-seed
   validation lists, params, time), and ``<out>/nb201/curves.csv.gz``, one row per run and
   epoch. ``--out`` is then a data directory: ``NAR_DATA_DIR=my-data`` plugs the regenerated
   benchmark into every chapter. Cells without runs keep their row with empty metrics.
   ``<out>/nb201/regenerated.json`` says what was merged (runs, seeds, recipe, images, proxy
   or not).

Merging refuses, naming the run directories: a run without a readable record (killed or
still running), a run that stopped before the end of its schedule, two runs of one cell, seed,
dataset and recipe, a run whose cell is not the meta list's cell at its index, and runs of one
table that differ in network (C, N) or in images (proxy and real, or two image sets).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nar_utils.reproduce import records
from nar_utils.reproduce.grid import BACKENDS, STATUS_FAILED, STATUS_OK, RunResult, run_tasks
from nar_utils.reproduce.train_one import RECORD_NAME

META_COLUMNS = ("arch_index", "arch_str", "op_code", "order")
CURVES_RELPATH = Path("nb201") / "curves.csv.gz"
MANIFEST_RELPATH = Path("nb201") / "regenerated.json"
#: Table hp names: the schedules the NB201 table holds.
TABLE_HPS = ("200", "12")


# -- 1. the meta list ------------------------------------------------------------------------
def meta_list(data_dir: str | None = None):
    """The cells in index order: the NB201 table's official order when one is configured,
    else the space's enumeration order (column ``order`` says which)."""
    import pandas as pd

    from nar_utils.benchmarks import load_benchmark
    from nar_utils.benchmarks.datadir import resolve_data_dir
    from nar_utils.spaces import nb201

    if resolve_data_dir(data_dir) is not None:
        bench = load_benchmark(data_dir)
        arch_strs, order = list(bench.arch_strs), "official"
    else:
        arch_strs, order = nb201.all_arch_strs(), "space"
    return pd.DataFrame({"arch_index": range(len(arch_strs)), "arch_str": arch_strs,
                         "op_code": [nb201.op_code_from_arch_str(a) for a in arch_strs],
                         "order": order})


def write_meta(path: str | Path, data_dir: str | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_list(data_dir).to_csv(path, index=False)
    return path


def read_meta(path: str | Path):
    """A meta list written by :func:`write_meta`, checked (columns, indices 0..N-1, cells)."""
    import numpy as np
    import pandas as pd

    from nar_utils.spaces import nb201

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"meta list {path} not found; write one with 'python -m "
                                "nar_utils.reproduce.regenerate meta PATH'")
    meta = pd.read_csv(path, dtype={"op_code": str, "arch_str": str})
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"meta list {path} lacks columns {missing}; it must have "
                         f"{', '.join(META_COLUMNS)} (write it with the 'meta' command)")
    if not np.array_equal(meta["arch_index"].to_numpy(), np.arange(len(meta))):
        raise ValueError(f"meta list {path}: arch_index must run 0..{len(meta) - 1} in order")
    for row in meta.itertuples():
        try:
            canonical = nb201.format_arch_str(row.arch_str) == row.arch_str
        except (ValueError, TypeError) as err:
            raise ValueError(f"meta list {path}, index {row.arch_index}: {err}") from err
        if not canonical:
            raise ValueError(f"meta list {path}, index {row.arch_index}: {row.arch_str!r} is "
                             "not a canonical NB201 arch string")
    return meta


# -- 2. training -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainTask:
    """One cell and seed to train (picklable, for pool and Dask workers)."""
    arch_index: int
    arch_str: str
    seed: int
    dataset: str
    hp: str
    out: str  # <root>/<dataset>-hp<hp>
    channels: int = 16
    cells: int = 5
    data_dir: str | None = None
    proxy: bool = False
    num_epochs: int | None = None
    device: str = "auto"

    @property
    def run_dir(self) -> str:
        return str(Path(self.out) / f"{self.arch_index:06d}-seed{self.seed}")

    @property
    def label(self) -> str:
        return f"{Path(self.out).name}/{self.arch_index:06d}-seed{self.seed}"

    @property
    def record_file(self) -> Path:
        return Path(self.run_dir) / f"{RECORD_NAME}.json"


def group_dir(root: str | Path, dataset: str, hp: str) -> Path:
    """Where the runs of one dataset and recipe live under a regeneration's root."""
    return Path(root) / f"{dataset}-hp{Path(str(hp)).stem}"


def plan(meta, start: int, end: int, seeds: Sequence[int], *, dataset: str, hp: str,
         out: str | Path, **options) -> list[TrainTask]:
    """The tasks of indices ``[start, end)`` x ``seeds`` (index-major, as the benchmark's
    ranges were trained)."""
    if not 0 <= start < end <= len(meta):
        raise ValueError(f"range [{start}, {end}) is not inside the meta list's 0..{len(meta)}; "
                         "give START < END <= the number of cells")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
    where = str(group_dir(out, dataset, hp).resolve())
    arch_strs = meta["arch_str"].tolist()
    return [TrainTask(index, arch_strs[index], int(seed), dataset, str(hp), where, **options)
            for index in range(start, end) for seed in seeds]


def execute_task(task: TrainTask) -> RunResult:
    """Train one task (resuming its checkpoint) and report it; never raises."""
    from nar_utils.reproduce.train_one import train_one

    start = time.perf_counter()
    try:
        train_one(task.arch_str, arch_index=task.arch_index, dataset=task.dataset, hp=task.hp,
                  seeds=[task.seed], channels=task.channels, cells=task.cells,
                  data_dir=task.data_dir, proxy=task.proxy, out=task.out,
                  num_epochs=task.num_epochs, device=task.device, progress=False)
    except Exception as err:  # noqa: BLE001 - reported with the run, the others go on
        return RunResult(task.label, STATUS_FAILED, task.run_dir, None,
                         time.perf_counter() - start, f"{type(err).__name__}: {err}", "train")
    return RunResult(task.label, STATUS_OK, task.run_dir, None, time.perf_counter() - start,
                     None, "train")


def train_range(meta, start: int, end: int, seeds: Sequence[int], *, dataset: str = "cifar10-valid",
                hp: str = "200", out: str | Path = "runs/regenerate", backend: str = "local",
                workers: int = 1, scheduler: str | None = None, gpus_per_run: float = 0,
                progress: bool = True, **options) -> list[RunResult]:
    """Train ``[start, end)`` x ``seeds``; runs whose record exists are skipped (status
    'skipped'). ``options`` go to :class:`TrainTask` (channels, cells, data_dir, proxy,
    num_epochs, device)."""
    tasks = plan(meta, start, end, seeds, dataset=dataset, hp=hp, out=out, **options)
    done = [t for t in tasks if t.record_file.is_file()]
    pending = [t for t in tasks if not t.record_file.is_file()]
    if progress:
        print(f"[regenerate] {len(tasks)} runs of cells {start}..{end - 1} x seeds "
              f"{list(seeds)} ({dataset}, hp {hp}): {len(done)} done, {len(pending)} to train",
              flush=True)
    results = run_tasks(pending, execute_task, backend=backend, workers=workers,
                        scheduler=scheduler, gpus_per_run=gpus_per_run, progress=progress)
    by_dir = {r.run_dir: r for r in results}
    return [by_dir.get(t.run_dir) or RunResult(t.label, "skipped", t.run_dir, kind="train")
            for t in tasks]


# -- 3. merging ------------------------------------------------------------------------------
class MergeError(ValueError):
    """Runs that cannot be merged; the message lists them and says what to do."""


def _problem_list(title: str, items: Iterable[str], fix: str) -> str:
    items = sorted(items)
    shown = "\n".join(f"  {item}" for item in items[:20])
    more = f"\n  ... and {len(items) - 20} more" if len(items) > 20 else ""
    return f"{title} ({len(items)}):\n{shown}{more}\n{fix}"


def collect_runs(runs_root: str | Path) -> tuple[list[dict], list[str]]:
    """The records of the run directories under ``runs_root`` and the run directories that
    hold a checkpoint but no readable record (incomplete)."""
    from nar_utils.training.trainer import CHECKPOINT_NAME

    runs_root = Path(runs_root)
    if not runs_root.is_dir():
        raise FileNotFoundError(f"no run directory {runs_root}; train runs there first")
    found, unreadable = [], []
    run_dirs = {p.parent for p in runs_root.glob(f"**/{CHECKPOINT_NAME}")}
    run_dirs |= {p.parent for p in runs_root.glob(f"**/{RECORD_NAME}.json")}
    for run_dir in sorted(run_dirs):
        path = run_dir / f"{RECORD_NAME}.json"
        try:
            record = json.loads(path.read_text())
            if not {"curve", "config"} <= set(record["metrics"]):
                raise KeyError("curve")
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            unreadable.append(str(run_dir))
            continue
        record["run_dir"] = str(run_dir)
        found.append(record)
    return found, unreadable


def _hp_name(record: dict, hp_name: str | None) -> str:
    hp = str(record["parameters"]["hp"])
    if hp_name is not None:
        return hp_name
    if hp not in TABLE_HPS:
        raise MergeError(f"run {record['run_dir']} used recipe {hp!r}, not a table schedule "
                         f"({', '.join(TABLE_HPS)}); give hp_name (--as-hp) to file it under one")
    return hp


def _last(curve: list[dict], key: str) -> float:
    value = curve[-1].get(key)
    return math.nan if value is None else float(value)


def _run_metrics(record: dict) -> dict[str, float]:
    """The table metrics of one finished run (NB201 API names)."""
    metrics = record["metrics"]
    curve = metrics["curve"]
    sizes = metrics["config"].get("split_sizes", {})
    valid, test = _last(curve, "valid_acc"), _last(curve, "test_acc")
    n_valid, n_test = sizes.get("valid", 0), sizes.get("test", 0)
    valtest = ((valid * n_valid + test * n_test) / (n_valid + n_test)
               if n_valid and n_test else math.nan)
    return {"train-accuracy": _last(curve, "train_acc"), "train-loss": _last(curve, "train_loss"),
            "valid-accuracy": valid, "valid-loss": _last(curve, "valid_loss"),
            "test-accuracy": test, "test-loss": _last(curve, "test_loss"),
            "valtest-accuracy": valtest,
            "train-time": float(sum(row["seconds"] for row in curve)),
            "params": float(metrics["params_mb"])}


def merge_runs(meta, runs_root: str | Path, out: str | Path, *, hp_name: str | None = None,
               require_all: bool = False) -> dict[str, Any]:
    """Merge the finished runs under ``runs_root`` into a data directory ``out`` (module
    docstring); returns the manifest written next to the table. Raises :class:`MergeError`
    naming every run that cannot be merged, before writing anything."""
    import numpy as np
    import pandas as pd

    from nar_utils.benchmarks import nb201 as nb201_bench

    found, unreadable = collect_runs(runs_root)
    problems = []
    if unreadable:
        problems.append(_problem_list(
            "runs without a finished record (killed, failed or still running)", unreadable,
            "finish them (run the same 'train' command again: they resume) or delete them"))
    arch_strs = meta["arch_str"].tolist()
    index_of = {a: i for i, a in enumerate(arch_strs)}
    groups: dict[tuple[str, str], dict[int, dict[int, dict]]] = defaultdict(
        lambda: defaultdict(dict))
    short, duplicates, mismatched = [], [], []
    for record in found:
        params, metrics = record["parameters"], record["metrics"]
        config, curve = metrics["config"], metrics["curve"]
        if len(curve) < int(config["schedule_epochs"]):
            short.append(f"{record['run_dir']}: {len(curve)} of {config['schedule_epochs']} "
                         "epochs")
            continue
        index = metrics.get("arch_index")
        arch = metrics["arch_str"]
        if index is None:
            index = index_of.get(arch)
        if index is None or not 0 <= int(index) < len(arch_strs) or arch_strs[int(index)] != arch:
            where = "not in the meta list" if index is None else (
                f"the meta list has {arch_strs[int(index)]!r} at index {index}"
                if 0 <= int(index) < len(arch_strs) else f"index {index} is outside it")
            mismatched.append(f"{record['run_dir']}: {arch} ({where})")
            continue
        key = (str(params["dataset"]), _hp_name(record, hp_name))
        seed = int(params["seed"])
        previous = groups[key][int(index)].get(seed)
        if previous is not None:
            duplicates.append(f"{record['run_dir']} and {previous['run_dir']}: cell "
                              f"{index}, seed {seed}, {key[0]}, hp {key[1]}")
            continue
        groups[key][int(index)][seed] = record
    if short:
        problems.append(_problem_list(
            "runs that stopped before the end of their schedule", short,
            "train them to the end (the 'train' command without --epochs resumes them)"))
    if duplicates:
        problems.append(_problem_list(
            "cells trained twice with the same seed, dataset and recipe", duplicates,
            "keep one run of each and delete the other directory"))
    if mismatched:
        problems.append(_problem_list(
            "runs whose cell is not the meta list's cell at their index", mismatched,
            "merge with the meta list they were trained from"))
    for key, cells in groups.items():
        kinds = defaultdict(list)
        for index, seeds in cells.items():
            for record in seeds.values():
                config = record["metrics"]["config"]
                kinds[(config["channels"], config["cells_per_stage"], config["images"],
                       config["is_proxy"], config["images_fingerprint"])].append(
                    record["run_dir"])
        if len(kinds) > 1:
            problems.append(_problem_list(
                f"runs of {key[0]} hp {key[1]} differ in network or images (C, N, images, "
                "proxy, image fingerprint)", [f"{k}: {len(v)} runs, e.g. {v[0]}"
                                              for k, v in kinds.items()],
                "merge runs of one network and one image set into one table"))
    if require_all:
        for key, cells in groups.items():
            missing = sorted(set(range(len(arch_strs))) - set(cells))
            if missing:
                problems.append(f"{key[0]} hp {key[1]}: {len(missing)} cells have no run (first: "
                                f"{missing[:5]}); train them or merge without require_all")
    if not groups and not problems:
        problems.append(f"no finished runs under {runs_root}")
    if problems:
        raise MergeError("cannot merge:\n" + "\n".join(problems))

    table = meta[["arch_index", "arch_str", "op_code"]].copy()
    curve_rows = []
    summary = []
    for (dataset, hp), cells in sorted(groups.items()):
        wanted = {col: metric for (d, h, metric), col in nb201_bench.TABLE_COLUMNS.items()
                  if d == dataset and h == hp}
        values = {col: np.full(len(table), np.nan) for col in wanted}
        seed_col = nb201_bench.SEED_COLUMNS.get(dataset) if hp == "200" else None
        seed_lists = [None] * len(table)
        for index, seeds in cells.items():
            per_seed = [_run_metrics(seeds[s]) for s in sorted(seeds)]
            for col, metric in wanted.items():
                values[col][index] = float(np.mean([m[metric] for m in per_seed]))
            seed_lists[index] = json.dumps([round(m["valid-accuracy"], 6) for m in per_seed])
            for seed in sorted(seeds):
                record = seeds[seed]
                for row in record["metrics"]["curve"]:
                    curve_rows.append({"arch_index": index, "dataset": dataset, "hp": hp,
                                       "seed": seed, **row})
        for col, column in values.items():
            if col in table.columns:  # params shared by 'cifar10' and 'cifar10-valid'
                table[col] = table[col].fillna(pd.Series(column))
            else:
                table[col] = column
        if seed_col is not None:
            table[seed_col] = seed_lists
            prefix = seed_col.split("_")[0]
            table[f"n_seeds_{prefix}"] = [None if s is None else len(json.loads(s))
                                          for s in seed_lists]
        configs = [r["metrics"]["config"] for seeds in cells.values() for r in seeds.values()]
        summary.append({"dataset": dataset, "hp": hp, "cells": len(cells),
                        "runs": sum(len(s) for s in cells.values()),
                        "seeds": sorted({s for seeds in cells.values() for s in seeds}),
                        "recipe": configs[0]["hp"], "channels": configs[0]["channels"],
                        "cells_per_stage": configs[0]["cells_per_stage"],
                        "images": configs[0]["images"], "is_proxy": configs[0]["is_proxy"]})
    out = Path(out)
    (out / "nb201").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / nb201_bench.TABLE_RELPATH, index=False)
    pd.DataFrame(curve_rows).to_csv(out / CURVES_RELPATH, index=False)
    manifest = {"meta_order": str(meta["order"].iat[0]), "cells_in_meta": len(table),
                "tables": summary, "runs_root": str(Path(runs_root).resolve()),
                "merged": records.now_iso(), **records.git_state()}
    (out / MANIFEST_RELPATH).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def read_curves(data_dir: str | Path):
    """The per-epoch curves table of a merged data directory."""
    import pandas as pd

    path = Path(data_dir) / CURVES_RELPATH
    if not path.is_file():
        raise FileNotFoundError(f"no curves table at {path}; merge runs into {data_dir} first")
    return pd.read_csv(path)


# -- command line ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nar_utils.reproduce.regenerate",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    meta_cmd = commands.add_parser("meta", help="write the meta list of cells")
    meta_cmd.add_argument("path")
    meta_cmd.add_argument("--data-dir", default=None)
    train_cmd = commands.add_parser("train", help="train a range of cells x seeds")
    train_cmd.add_argument("meta")
    train_cmd.add_argument("--range", nargs=2, type=int, required=True,
                           metavar=("START", "END"), help="arch indices START..END-1")
    train_cmd.add_argument("--seeds", type=int, nargs="+", default=[777])
    train_cmd.add_argument("--dataset", default="cifar10-valid")
    train_cmd.add_argument("--hp", default="200", help="'12', '200' or an official config")
    train_cmd.add_argument("--out", default="runs/regenerate")
    train_cmd.add_argument("--channels", type=int, default=16)
    train_cmd.add_argument("--cells", type=int, default=5)
    train_cmd.add_argument("--data-dir", default=None)
    train_cmd.add_argument("--proxy", action="store_true",
                           help="train on the embedded proxy when the images are missing")
    train_cmd.add_argument("--epochs", type=int, default=None,
                           help="stop after this many epochs (merging needs the whole schedule)")
    train_cmd.add_argument("--device", default="auto")
    train_cmd.add_argument("--backend", choices=BACKENDS, default="local")
    train_cmd.add_argument("--workers", type=int, default=1)
    train_cmd.add_argument("--scheduler", default=None)
    train_cmd.add_argument("--gpus-per-run", type=float, default=0)
    merge_cmd = commands.add_parser("merge", help="merge finished runs into a data directory")
    merge_cmd.add_argument("meta")
    merge_cmd.add_argument("--runs", default="runs/regenerate")
    merge_cmd.add_argument("--out", required=True, help="the data directory to write")
    merge_cmd.add_argument("--as-hp", default=None,
                           help="file runs of another recipe under this table schedule")
    merge_cmd.add_argument("--require-all", action="store_true",
                           help="refuse unless every cell of the meta list has a run")
    args = parser.parse_args(argv)
    try:
        if args.command == "meta":
            path = write_meta(args.path, args.data_dir)
            print(f"[regenerate] meta list of {len(read_meta(path))} cells: {path}")
            return 0
        meta = read_meta(args.meta)
        if args.command == "train":
            results = train_range(
                meta, *args.range, args.seeds, dataset=args.dataset, hp=args.hp, out=args.out,
                backend=args.backend, workers=args.workers, scheduler=args.scheduler,
                gpus_per_run=args.gpus_per_run, channels=args.channels, cells=args.cells,
                data_dir=args.data_dir, proxy=args.proxy, num_epochs=args.epochs,
                device=args.device)
            failed = [r for r in results if r.status == STATUS_FAILED]
            for result in failed:
                print(f"[regenerate] FAILED {result.label}: {result.error}", file=sys.stderr)
            print(f"[regenerate] {len(results) - len(failed)} of {len(results)} runs done")
            return 1 if failed else 0
        manifest = merge_runs(meta, args.runs, args.out, hp_name=args.as_hp,
                              require_all=args.require_all)
        for table in manifest["tables"]:
            print(f"[regenerate] {table['dataset']} hp {table['hp']}: {table['cells']} cells, "
                  f"{table['runs']} runs, seeds {table['seeds']}"
                  f"{' (proxy images)' if table['is_proxy'] else ''}")
        print(f"[regenerate] data directory {args.out}: use it with NAR_DATA_DIR={args.out}")
        return 0
    except (ValueError, FileNotFoundError) as err:
        print(f"regenerate: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
