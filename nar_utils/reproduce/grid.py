"""Parameter sweeps: run one notebook over a grid of parameters, locally or on Dask.

Usage (from the repository root)::

    python -m nar_utils.reproduce.grid sweep.yaml                        # one run at a time, here
    python -m nar_utils.reproduce.grid sweep.yaml --workers 2            # local process pool
    python -m nar_utils.reproduce.grid sweep.yaml --backend dask --workers 4          # LocalCluster
    python -m nar_utils.reproduce.grid sweep.yaml --backend dask --scheduler tcp://host:8786 \\
        --gpus-per-run 1                                       # workers started elsewhere

A grid file names a notebook, parameters fixed for every run and parameter axes whose
cartesian product is swept (a file may also hold a list of such entries)::

    notebook: 03_training
    fixed: {num_epochs: 5}
    grid: {seed: [0, 1, 2], dataset: [cifar10-valid, cifar100]}

Every run gets its own directory named from its axis values, e.g.
``runs/03_training/dataset=cifar100__seed=1/``, holding the executed notebook and its run
record (``03_training.json``). The notebook writes the record itself (the runner points
``NAR_RUN_DIR`` at the run directory); the sweep then adds the provenance and the run's
``status``. A run whose record says ``status: ok`` for the same parameters is complete and is
skipped when the sweep is started again; failed runs are executed again.

Unknown parameter names are refused before anything runs (papermill only warns about them).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from nar_utils import runtime
from nar_utils.reproduce import records as runs
from nar_utils.reproduce import runner

BACKENDS = ("local", "dask")
GRID_KEYS = ("notebook", "fixed", "grid")
STATUS_OK, STATUS_FAILED, STATUS_SKIPPED, STATUS_CANCELLED = "ok", "failed", "skipped", \
    "cancelled"
#: Name of the run directory of a run without grid axes (only fixed parameters).
DEFAULTS_NAME = "defaults"
_MAX_NAME_CHARS = 150
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._+-]")
# NAR_RUN_DIR reaches the kernel through this process's environment, so runs that share a
# process (threads of one Dask worker) must take turns.
_RUN_LOCK = threading.Lock()


@dataclass(frozen=True)
class GridEntry:
    """One notebook with fixed parameters and the axes swept over (in file order)."""
    notebook: Path
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)

    def expand(self) -> list[dict[str, Any]]:
        """The overrides of every run: fixed parameters plus one point of the product."""
        names = list(self.axes)
        return [{**self.fixed, **dict(zip(names, values))}
                for values in itertools.product(*(self.axes[n] for n in names))]


@dataclass(frozen=True)
class PlannedRun:
    """One notebook execution of a sweep (picklable: it travels to pool and Dask workers)."""
    notebook: str            # absolute path of the source notebook
    overrides: dict[str, Any]  # parameters injected by papermill
    name: str                # run directory name, from the axis values
    run_dir: str             # absolute path of the run directory
    command: str = ""        # the sweep's command line, for the record

    @property
    def label(self) -> str:
        return f"{Path(self.notebook).stem}/{self.name}"

    @property
    def executed_path(self) -> Path:
        return Path(self.run_dir) / Path(self.notebook).name

    @property
    def record_file(self) -> Path:
        return Path(self.run_dir) / f"{Path(self.notebook).stem}.json"


@dataclass
class RunResult:
    """What happened to one planned run."""
    label: str
    status: str              # 'ok', 'failed', 'skipped' (already complete) or 'cancelled'
    run_dir: str
    executed: str | None = None
    seconds: float = 0.0
    error: str | None = None
    kind: str = "notebook"   # what ran: 'notebook' (an executed notebook is kept) or another


@dataclass
class GridReport:
    """The outcome of a sweep; ``failed`` is empty when every run succeeded or was skipped."""
    results: list[RunResult]
    seconds: float = 0.0

    def with_status(self, status: str) -> list[RunResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[RunResult]:
        return self.with_status(STATUS_FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.with_status(STATUS_CANCELLED)

    def summary(self) -> str:
        """Counts per status, then one paragraph per failed run (cell, exception, notebook)."""
        counts = {s: len(self.with_status(s)) for s in
                  (STATUS_OK, STATUS_SKIPPED, STATUS_FAILED, STATUS_CANCELLED)}
        lines = [f"[grid] {_runs(len(self.results))} in {self.seconds:.1f} s: "
                 f"{counts[STATUS_OK]} ok, {counts[STATUS_SKIPPED]} skipped (already complete), "
                 f"{counts[STATUS_FAILED]} failed, {counts[STATUS_CANCELLED]} cancelled"]
        for result in self.failed:
            lines.append(f"[grid] FAILED {result.label}: {result.error}")
            if result.kind == "notebook":
                where = result.executed or "(no executed notebook was written)"
                lines.append(f"       error notebook: {where}")
        return "\n".join(lines)


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


# --------------------------------------------------------------------------- grid files

def _resolve_notebook(name: str, base_dir: Path, notebook_dir: Path) -> Path:
    """A grid's ``notebook``: a book notebook name (``03_training``) or a path to an
    ``.ipynb`` file (relative to the grid file, then to the working directory)."""
    path = Path(name)
    if path.suffix == ".ipynb":
        for candidate in ([path] if path.is_absolute() else [base_dir / path, path]):
            if candidate.is_file():
                return candidate.resolve()
    return runner.resolve_notebook(name, notebook_dir).resolve()


def parse_grid(data: Any, base_dir: Path = Path("."),
               notebook_dir: Path = runner.NOTEBOOK_DIR, source: str = "grid") -> list[GridEntry]:
    """Validate grid data (a mapping or a list of mappings) and return its entries.

    Every override name is checked against the notebook's ``parameters`` cell here, before
    anything runs.
    """
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError(f"{source}: the grid is empty; expected {{notebook, fixed, grid}}")
    entries = []
    for position, item in enumerate(items):
        where = f"{source} entry {position}"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected a mapping with keys {', '.join(GRID_KEYS)}, "
                             f"got {item!r}")
        unknown = sorted(set(item) - set(GRID_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                             f"valid keys: {', '.join(GRID_KEYS)}")
        if "notebook" not in item:
            raise ValueError(f"{where}: no 'notebook' (a name such as 03_training or a path)")
        fixed = dict(item.get("fixed") or {})
        axes_in = item.get("grid") or {}
        if not isinstance(axes_in, Mapping):
            raise ValueError(f"{where}: 'grid' must map parameter -> list of values, "
                             f"got {axes_in!r}")
        axes = {}
        for name, values in axes_in.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}: grid axis {name!r} must be a non-empty list of "
                                 f"values, got {values!r} (a single value belongs in 'fixed')")
            axes[str(name)] = list(values)
        both = sorted(set(fixed) & set(axes))
        if both:
            raise ValueError(f"{where}: parameter(s) {', '.join(both)} appear in both 'fixed' "
                             "and 'grid'; keep each in one place")
        notebook = _resolve_notebook(str(item["notebook"]), base_dir, notebook_dir)
        runner.check_parameters(notebook, {**fixed, **axes})
        entries.append(GridEntry(notebook, fixed, axes))
    return entries


def load_grid(path: str | os.PathLike, notebook_dir: Path = runner.NOTEBOOK_DIR
              ) -> list[GridEntry]:
    """Read and validate a grid YAML file (see the module docstring for its format)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no grid file {str(path)!r}")
    data = yaml.safe_load(path.read_text())
    return parse_grid(data, base_dir=path.resolve().parent, notebook_dir=notebook_dir,
                      source=str(path))


# --------------------------------------------------------------------------- naming, plan

def _canonical(value: Any) -> str:
    return json.dumps(runs.to_jsonable(value), sort_keys=True)


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _format_value(value: Any) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    safe = _SAFE_CHARS.sub("-", text)
    if safe != text or not safe or safe.startswith("."):
        # Sanitising lost information: a hash of the exact value keeps names distinct.
        safe = f"{safe.strip('.-') or 'value'}-{_short_hash(_canonical(value))}"
    return safe


def run_name(axis_values: Mapping[str, Any]) -> str:
    """Stable, filesystem-safe directory name of a run: ``name=value`` pairs sorted by name,
    joined by ``__`` (``dataset=cifar100__seed=1``); ``'defaults'`` when there are none.

    Values other than plain names/numbers are sanitised and suffixed by a short hash of the
    exact value, and over-long names are shortened the same way, so distinct values never
    share a directory.
    """
    if not axis_values:
        return DEFAULTS_NAME
    name = "__".join(f"{key}={_format_value(axis_values[key])}" for key in sorted(axis_values))
    if len(name) > _MAX_NAME_CHARS:
        name = f"{name[:_MAX_NAME_CHARS - 9]}-{_short_hash(_canonical(dict(axis_values)))}"
    return name


def plan_runs(entries: Sequence[GridEntry], out_dir: str | os.PathLike = "runs",
              command: str = "") -> list[PlannedRun]:
    """Every run of the grid, in file order, with its run directory
    ``<out_dir>/<notebook stem>/<run_name>``; identical runs listed twice are kept once."""
    out_dir = Path(out_dir).resolve()
    planned: dict[str, PlannedRun] = {}
    for entry in entries:
        for overrides in entry.expand():
            name = run_name({k: overrides[k] for k in entry.axes})
            run_dir = out_dir / entry.notebook.stem / name
            run = PlannedRun(str(entry.notebook), overrides, name, str(run_dir), command)
            previous = planned.get(str(run_dir))
            if previous is not None:
                if (_canonical(previous.overrides) != _canonical(overrides)
                        or previous.notebook != run.notebook):
                    raise ValueError(
                        f"two runs share the run directory {run_dir} with different "
                        f"parameters ({previous.overrides} vs {overrides}); put the parameter "
                        "that differs into 'grid' so that it names the directory")
                continue
            planned[str(run_dir)] = run
    return list(planned.values())


def read_run_record(run: PlannedRun) -> dict | None:
    """The run's record, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(run.record_file.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_complete(run: PlannedRun) -> bool:
    """True when the run directory holds an ``ok`` record for these very parameters and the
    executed notebook (an interrupted or failed run, or changed parameters, are not)."""
    record = read_run_record(run)
    return (record is not None and record.get("status") == STATUS_OK
            and _canonical(record.get("overrides")) == _canonical(run.overrides)
            and run.executed_path.is_file())


def grid_records(out_dir: str | os.PathLike = "runs", notebook: str | None = None,
                 status: str | None = STATUS_OK) -> list[dict]:
    """Records of a sweep's runs (only those with ``status`` unless it is None), optionally
    of one notebook (its stem)."""
    pattern = f"{Path(notebook).stem}/*/*.json" if notebook else "*/*/*.json"
    records = [r for r in runs.read_records(out_dir, pattern) if "overrides" in r]
    return [r for r in records if status is None or r.get("status") == status]


# --------------------------------------------------------------------------- one run

def _describe_error(exc: BaseException) -> str:
    """Which cell failed, on which line, with what exception, in one line."""
    import papermill as pm
    from papermill.exceptions import strip_color

    if isinstance(exc, pm.PapermillExecutionError):
        # IPython marks the failing line of the cell with '---->' in the traceback.
        marked = re.findall(r"^-+>\s*(\d+)\s+(.*)$", strip_color("\n".join(exc.traceback or [])),
                            flags=re.MULTILINE)
        where = f", line {marked[0][0]} [{marked[0][1].strip()[:80]}]" if marked else ""
        return (f"cell In [{exc.exec_count}] (cell index {exc.cell_index} of the executed "
                f"notebook){where} raised {exc.ename}: {exc.evalue}")
    return f"{type(exc).__name__}: {exc}"


def _record_device(record: Mapping[str, Any], parameters: Mapping[str, Any]) -> str:
    if record.get("device"):
        return str(record["device"])
    device = parameters.get("device", "cpu")
    if device == "auto":
        return runtime.try_device("auto")
    return str(device)


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    # The status is the completion marker: write it whole or not at all.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(runs.to_jsonable(data), indent=1) + "\n")
    os.replace(tmp, path)


def execute_run(run: PlannedRun) -> RunResult:
    """Execute one planned run and merge provenance and status into its record.

    Never raises for a failing notebook: the failure (cell and exception) is returned and
    the executed error notebook stays in the run directory.
    """
    run_dir = Path(run.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # A record left by an earlier attempt must not pass for this run's.
    run.record_file.unlink(missing_ok=True)
    started, start = runs.now_iso(), time.perf_counter()
    error = None
    with _RUN_LOCK:
        try:
            runner.run_notebook(run.notebook, run.overrides, output_dir=run_dir, progress=False)
        except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
            error = _describe_error(exc)
    seconds = time.perf_counter() - start
    status = STATUS_OK if error is None else STATUS_FAILED

    parameters = {**runner.notebook_parameters(Path(run.notebook)), **run.overrides}
    record = read_run_record(run) or {"schema": runs.RECORD_SCHEMA,
                                      "notebook": Path(run.notebook).name,
                                      "parameters": parameters, "metrics": {}}
    record.setdefault("parameters", parameters)
    # write_record leaves 'started' empty unless the notebook passes it: the run's start is it.
    record["started"] = record.get("started") or started
    record["finished"] = record.get("finished") or runs.now_iso()
    for key, value in runs.provenance(_record_device(record, parameters)).items():
        record.setdefault(key, value)
    if run.command:
        record["command"] = run.command
    executed = run.executed_path if run.executed_path.is_file() else None
    record.update({"status": status, "overrides": run.overrides, "run_name": run.name,
                   "seed": parameters.get("seed"), "host": socket.gethostname(),
                   "run_started": started, "run_finished": runs.now_iso(),
                   "run_seconds": round(seconds, 3),
                   "executed_notebook": str(executed) if executed else None, "error": error})
    _write_json_atomic(run.record_file, record)
    return RunResult(run.label, status, str(run_dir), str(executed) if executed else None,
                     seconds, error)


# --------------------------------------------------------------------------- backends

def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grid", unit="run", disable=not enabled or total == 0)


def _cancelled(run: PlannedRun) -> RunResult:
    return RunResult(run.label, STATUS_CANCELLED, run.run_dir)


def _count(bar, result: RunResult) -> None:
    """Advance the progress bar; a failure is announced at once (and again in the summary)."""
    if result.status == STATUS_FAILED:
        bar.failed_runs = getattr(bar, "failed_runs", 0) + 1
        if not bar.disable:
            bar.write(f"[grid] FAILED {result.label}: {result.error}")
            if result.kind == "notebook":
                bar.write(f"       error notebook: {result.executed or '(none written)'}")
    bar.update(1)
    bar.set_postfix(failed=getattr(bar, "failed_runs", 0), refresh=False)


def _run_in_process(pending: list, fail_fast: bool, bar, execute=execute_run
                    ) -> list[RunResult]:
    results = []
    for position, run in enumerate(pending):
        result = execute(run)
        results.append(result)
        _count(bar, result)
        if fail_fast and result.status == STATUS_FAILED:
            results.extend(_cancelled(r) for r in pending[position + 1:])
            break
    return results


def _run_process_pool(pending: list, workers: int, fail_fast: bool, bar,
                      execute=execute_run) -> list[RunResult]:
    # 'spawn': workers start clean (no inherited threads or CUDA state from this process).
    context = multiprocessing.get_context("spawn")
    results: dict[str, RunResult] = {}
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(execute, run): run for run in pending}
        for future in cf.as_completed(futures):
            run = futures[future]
            if future.cancelled():
                continue
            result = _result_of(future, run)
            results[run.run_dir] = result
            _count(bar, result)
            if fail_fast and result.status == STATUS_FAILED:
                for other in futures:
                    other.cancel()
    return [results.get(run.run_dir) or _cancelled(run) for run in pending]


def _result_of(future, run) -> RunResult:
    """A future's result; a worker that died (killed, out of memory) counts as a failure."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001
        executed = getattr(run, "executed_path", None)
        return RunResult(run.label, STATUS_FAILED, run.run_dir,
                         str(executed) if executed is not None and executed.is_file() else None,
                         error=f"the worker running it failed: {type(exc).__name__}: {exc}")


def _check_gpu_workers(client, gpus_per_run: int) -> None:
    workers = client.scheduler_info().get("workers", {})
    capacity = [w.get("resources", {}).get("GPU", 0) for w in workers.values()]
    if not any(c >= gpus_per_run for c in capacity):
        raise RuntimeError(
            f"no Dask worker offers GPU={gpus_per_run} (worker GPU resources: {capacity}); "
            "start one worker per GPU with e.g. 'CUDA_VISIBLE_DEVICES=0 dask worker "
            "ADDRESS --nthreads 1 --resources GPU=1', or run with --gpus-per-run 0")


def _run_dask(pending: list, workers: int, scheduler: str | None,
              gpus_per_run: float, fail_fast: bool, bar, execute=execute_run
              ) -> list[RunResult]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError("the dask backend needs 'dask' and 'distributed': "
                          "pip install 'nar-utils[book]' (or pip install dask distributed)"
                          ) from exc
    resources = {"GPU": gpus_per_run} if gpus_per_run else None
    cluster = None
    if scheduler:
        client = Client(scheduler)
        client.wait_for_workers(1, timeout=120)
    else:
        # One thread per worker process: a notebook run is a whole kernel, and runs in one
        # process would take turns anyway (see _RUN_LOCK).
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, resources=resources)
        client = Client(cluster)
    results: dict[str, RunResult] = {}
    try:
        if gpus_per_run:
            _check_gpu_workers(client, gpus_per_run)
        futures = {}
        for run in pending:
            key = f"nar-grid-{run.label}-{_short_hash(run.run_dir + str(time.time()))}"
            futures[client.submit(execute, run, key=key, pure=False,
                                  resources=resources)] = run
        for future in as_completed(list(futures)):
            run = futures[future]
            if future.cancelled():
                continue
            result = _result_of(future, run)
            results[run.run_dir] = result
            _count(bar, result)
            if fail_fast and result.status == STATUS_FAILED:
                client.cancel([f for f in futures if not f.done()])
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results.get(run.run_dir) or _cancelled(run) for run in pending]


def run_tasks(tasks: Sequence, execute, *, backend: str = "local", workers: int = 1,
              scheduler: str | None = None, gpus_per_run: float = 0, fail_fast: bool = False,
              progress: bool = True) -> list[RunResult]:
    """Run ``execute(task)`` for every task on a backend and return the results in order.

    The backends of :func:`run_grid` for any kind of run: a task is a picklable object with a
    ``label`` and a ``run_dir`` (unique), and ``execute`` a module-level function returning a
    :class:`RunResult` (so that process-pool and Dask workers can import it). ``backend=
    'local'``: ``workers`` processes (1: here, one after another); ``'dask'``: one Dask task
    each, claiming ``gpus_per_run`` units of the workers' ``GPU`` resource (a fraction lets
    several runs share one GPU).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if gpus_per_run and backend != "dask":
        raise ValueError("gpus_per_run needs backend='dask' (Dask worker resources); the "
                         "local backend runs where it is started")
    tasks = list(tasks)
    with _progress(len(tasks), progress) as bar:
        if not tasks:
            return []
        if backend == "dask":
            return _run_dask(tasks, workers, scheduler, gpus_per_run, fail_fast, bar, execute)
        if workers == 1 or len(tasks) == 1:
            return _run_in_process(tasks, fail_fast, bar, execute)
        return _run_process_pool(tasks, min(workers, len(tasks)), fail_fast, bar, execute)


def run_grid(grid: str | os.PathLike | Sequence[GridEntry], out_dir: str | os.PathLike = "runs",
             backend: str = "local", workers: int = 1, scheduler: str | None = None,
             gpus_per_run: int = 0, fail_fast: bool = False, progress: bool = True,
             command: str = "") -> GridReport:
    """Execute every run of a grid (a YAML path or parsed entries) and return the report.

    ``backend='local'``: ``workers`` processes (1: in this process, one run after another);
    ``backend='dask'``: one task per run on the Dask scheduler at ``scheduler``, or on a
    LocalCluster of ``workers`` single-threaded processes; ``gpus_per_run`` > 0 makes each
    task claim that many units of the workers' ``GPU`` resource. Completed runs are skipped;
    a failed run does not stop the others unless ``fail_fast``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if not isinstance(gpus_per_run, int) or gpus_per_run < 0:
        raise ValueError(f"gpus_per_run must be an int >= 0, got {gpus_per_run!r}")
    if scheduler and backend != "dask":
        raise ValueError(f"a scheduler address ({scheduler}) needs backend='dask'")
    if gpus_per_run and backend != "dask":
        raise ValueError("gpus_per_run needs backend='dask' (Dask worker resources); the "
                         "local backend runs where it is started")
    entries = load_grid(grid) if isinstance(grid, (str, os.PathLike)) else list(grid)
    planned = plan_runs(entries, out_dir, command)
    start = time.perf_counter()
    skipped = {run.run_dir for run in planned if is_complete(run)}
    pending = [run for run in planned if run.run_dir not in skipped]
    if progress:
        print(f"[grid] {_runs(len(planned))} planned under {Path(out_dir)}: {len(skipped)} "
              f"already complete, {len(pending)} to run ({backend} backend)", flush=True)
    done = run_tasks(pending, execute_run, backend=backend, workers=workers,
                     scheduler=scheduler, gpus_per_run=gpus_per_run, fail_fast=fail_fast,
                     progress=progress)
    by_dir = {r.run_dir: r for r in done}
    results = [by_dir.get(run.run_dir) or RunResult(run.label, STATUS_SKIPPED, run.run_dir,
                                                     str(run.executed_path))
               for run in planned]
    return GridReport(results, time.perf_counter() - start)


# --------------------------------------------------------------------------- command line

def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nar_utils.reproduce.grid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid", help="grid YAML file")
    parser.add_argument("--backend", choices=BACKENDS, default="local")
    parser.add_argument("--workers", type=int, default=1,
                        help="local: processes; dask: LocalCluster workers (default 1)")
    parser.add_argument("--out", default="runs", help="root of the run directories")
    parser.add_argument("--scheduler", default=None,
                        help="dask: scheduler address (default: a LocalCluster for the sweep)")
    parser.add_argument("--gpus-per-run", type=int, default=0,
                        help="dask: GPU resource units each run claims (workers need "
                             "--resources GPU=N)")
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop submitting runs after the first failure")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    command = " ".join(["python -m nar_utils.reproduce.grid", *argv])
    try:
        report = run_grid(args.grid, out_dir=args.out, backend=args.backend,
                          workers=args.workers, scheduler=args.scheduler,
                          gpus_per_run=args.gpus_per_run, fail_fast=args.fail_fast,
                          progress=not args.no_progress, command=command)
    except (ValueError, OSError, RuntimeError, ImportError) as exc:
        # Bad grids, missing notebooks, unreachable schedulers: a message, not a traceback.
        print(f"[grid] error: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy: runs and their function are
    # pickled for worker processes by reference to ``nar_utils.reproduce.grid``.
    from nar_utils.reproduce.grid import main as _main

    sys.exit(_main())
