"""Parameter sweeps: run one notebook over a grid of parameters, locally or on Dask.

Usage (from the repository root)::

    python -m nar_utils.reproduce.grid sweep.yaml                        # one run at a time, here
    python -m nar_utils.reproduce.grid sweep.yaml --workers 2            # local process pool
    python -m nar_utils.reproduce.grid sweep.yaml --backend dask --workers 4          # LocalCluster
    python -m nar_utils.reproduce.grid sweep.yaml --backend dask --scheduler tcp://host:8786 \\
        --gpus-per-run 1                                       # workers started elsewhere
    python -m nar_utils.reproduce.grid sweep.yaml --on-stale refuse      # keep stale results

A grid file names a notebook, parameters fixed for every run and parameter axes whose
cartesian product is swept (a file may also hold a list of such entries)::

    notebook: 03_training
    fixed: {num_epochs: 5}
    grid: {seed: [0, 1, 2], dataset: [cifar10-valid, cifar100]}

A grid file that cannot be used (not YAML, the wrong shape, unknown keys or parameters, an
axis that is not a list, a value that is no plain literal) is refused before anything runs,
with a :class:`GridError` naming the file, the line where it can be placed and what is
expected; the command exits with status 2.

**Run directories.** Every run gets its own directory named from its axis values and, when
the entry fixes parameters, a short hash of the fixed values, e.g.
``runs/03_training/dataset=cifar100__seed=1__fixed-1f0c2a9e/``, so sweeps that differ only in
``fixed`` never share a directory. It holds the executed notebook and its run record
(``03_training.json``). The notebook writes the record itself (the runner points
``NAR_RUN_DIR`` at the run directory); the sweep then adds the provenance, the run's
identity and its ``status``.

**Run identity and stale runs.** A run's result depends on more than its swept values, so a
record carries the run's *identity*: every parameter it was given (fixed and swept), the
notebook's content, the ``nar_utils`` sources, and the data source: the data directory the
notebook reads (its ``data_dir`` parameter, else ``$NAR_DATA_DIR``; a relative path from where
the sweep was started, as the notebook takes it) with a fingerprint of the size and modification
time of every file in it, or ``embedded``, with the version of ``analog-nasbench`` either way.
A run is complete, and skipped when the sweep is started again, when its record says
``status: ok`` with the same identity. A run whose record is ``ok`` for another identity is
*stale*: it is executed again (the output names it and says which part changed, e.g. ``the
data source changed: embedded (analog-nasbench 1.0) -> directory /data``), or, with
``--on-stale refuse``, the sweep stops before running anything and lists the stale runs.
Failed runs are executed again. The git SHA and dirty flag are recorded beside the identity
but are not part of it: a commit that leaves the sources alone does not invalidate results.

**One sweep per output directory.** While a sweep writes under ``--out`` it holds the lock
file ``<out>/.grid.lock`` (created with ``O_CREAT | O_EXCL`` and held with ``flock``; it names
the holding process and host, and is removed on exit). A second sweep into the same ``--out``
refuses with a message naming the lock file and its holder. A lock left behind by a sweep
that died on this host is taken over (the kernel released its ``flock``; the output says
so); one left by a host that cannot be checked from here is refused with how to clear it.

A failing notebook, or a run directory that cannot be written, fails that run only (unless
``--fail-fast``): the summary names the run and the error, and the exit status is 1. Unknown
parameter names and values of the wrong type are refused before anything runs (papermill
only warns about them).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import errno
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
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from nar_utils import runtime
from nar_utils.benchmarks import datadir
from nar_utils.reproduce import records as runs
from nar_utils.reproduce import runner
from nar_utils.spaces.base import quote

try:
    import fcntl
except ImportError:  # not on Windows: the lock file alone (O_EXCL) is the lock there
    fcntl = None

BACKENDS = ("local", "dask")
GRID_KEYS = ("notebook", "fixed", "grid")
STATUS_OK, STATUS_FAILED, STATUS_SKIPPED, STATUS_CANCELLED = "ok", "failed", "skipped", \
    "cancelled"
#: What a sweep does with a stale run (an ``ok`` record of another identity).
ON_STALE = ("rerun", "refuse")
#: The states of a planned run before the sweep: 'new' (no record), 'failed' (a record that
#: is not ``ok``, or an ``ok`` one without its executed notebook), 'stale', 'complete'.
STATE_NEW, STATE_FAILED, STATE_STALE, STATE_COMPLETE = "new", "failed", "stale", "complete"
#: Name of the run directory of a run without grid axes and fixed parameters.
DEFAULTS_NAME = "defaults"
#: The lock file a sweep holds in its output directory.
LOCK_NAME = ".grid.lock"
_MAX_NAME_CHARS = 150
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._+-]")
# Grid files are small literals; these bounds keep a hostile or mistaken file (YAML aliases
# nest references without copying them) from expanding for ever.
_MAX_VALUE_NODES = 200_000
_MAX_VALUE_DEPTH = 64
_MAX_RUNS = 100_000
# A record lists the data directory's files (to say which one changed) up to this many.
_MAX_LISTED_FILES = 200
_IDENTITY_PARTS = ("parameters", "notebook", "code", "data")
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# NAR_RUN_DIR reaches the kernel through this process's environment, so runs that share a
# process (threads of one Dask worker) must take turns.
_RUN_LOCK = threading.Lock()

class GridError(ValueError):
    """A grid file or grid data the sweep cannot use. The message names the file (with the line
    when it is known), the entry and what is expected; the command line prints it and exits
    with status 2. ``detail`` is the message without the location, ``path`` the keys and
    indices leading to the bad part of the document."""

    def __init__(self, message: str, *, detail: str | None = None, entry: int | None = None,
                 path: Sequence[Any] = ()):
        super().__init__(message)
        self.detail = message if detail is None else detail
        self.entry = entry
        self.path = tuple(path)


class StaleRunsError(RuntimeError):
    """``on_stale='refuse'`` and some runs hold results of other inputs."""


class SweepLockedError(RuntimeError):
    """Another sweep holds the output directory's lock file."""


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
class RunIdentity:
    """Everything that changes a run's result: its parameters, the notebook's content, the
    package's sources and the data source. Two runs with equal :meth:`hashes` give the same
    result, so a record of one stands for the other; ``data_files`` and ``git`` are kept for
    people (to say which file changed, which commit ran) and are not hashed."""
    parameters: dict[str, Any]
    notebook: dict[str, Any]
    code: dict[str, Any]
    data: dict[str, Any]
    data_files: dict[str, list[int]] | None = None
    git: dict[str, Any] | None = None

    def hashes(self) -> dict[str, str]:
        return {part: _short_hash(_canonical(getattr(self, part))) for part in _IDENTITY_PARTS}

    @property
    def hash(self) -> str:
        return _short_hash(_canonical(self.hashes()))

    def as_record(self) -> dict[str, Any]:
        """The identity as a record stores it (the hashes decide, the rest explains)."""
        return {"hash": self.hash, "hashes": self.hashes(), "parameters": self.parameters,
                "notebook": self.notebook, "code": self.code, "data": self.data,
                "data_files": self.data_files, "git": self.git}


@dataclass(frozen=True)
class PlannedRun:
    """One notebook execution of a sweep (picklable: it travels to pool and Dask workers)."""
    notebook: str            # absolute path of the source notebook
    overrides: dict[str, Any]  # parameters injected by papermill
    name: str                # run directory name, from the axis values (and fixed hash)
    run_dir: str             # absolute path of the run directory
    command: str = ""        # the sweep's command line, for the record
    identity: RunIdentity | None = None  # as planned; the run records what it sees
    stale_reasons: tuple[str, ...] = ()  # why the result it replaces was stale

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
    stale: str | None = None  # why the earlier result it replaced was stale
    note: str | None = None   # something the summary must say (inputs changed while it ran)


@dataclass
class GridReport:
    """The outcome of a sweep; ``failed`` is empty when every run succeeded or was skipped."""
    results: list[RunResult]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[RunResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[RunResult]:
        return self.with_status(STATUS_FAILED)

    @property
    def stale(self) -> list[RunResult]:
        """Runs executed again because the result they replaced was stale."""
        return [r for r in self.results if r.stale]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.with_status(STATUS_CANCELLED)

    def summary(self) -> str:
        """Counts per status, the runs re-run as stale and why, then one paragraph per failed
        run (cell, exception, notebook)."""
        counts = {s: len(self.with_status(s)) for s in
                  (STATUS_OK, STATUS_SKIPPED, STATUS_FAILED, STATUS_CANCELLED)}
        line = (f"[grid] {_runs(len(self.results))} in {self.seconds:.1f} s: "
                f"{counts[STATUS_OK]} ok, {counts[STATUS_SKIPPED]} skipped (already complete), "
                f"{counts[STATUS_FAILED]} failed, {counts[STATUS_CANCELLED]} cancelled")
        if self.stale:
            line += f"; {len(self.stale)} re-run because their earlier result was stale"
        lines = [line, *(f"[grid] note: {note}" for note in self.notes)]
        for result in self.stale:
            lines.append(f"[grid] re-ran stale {result.label}: {result.stale}")
        for result in self.results:
            if result.note:
                lines.append(f"[grid] note {result.label}: {result.note}")
        for result in self.failed:
            lines.append(f"[grid] FAILED {result.label}: {result.error}")
            if result.kind == "notebook":
                where = result.executed or "(no executed notebook was written)"
                lines.append(f"       error notebook: {where}")
        return "\n".join(lines)


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


# --------------------------------------------------------------------------- grid files

_EXPECTED = ("a mapping with keys notebook (a name such as 03_training or a path to an .ipynb "
             "file), fixed (parameter: value) and grid (parameter: [values]), or a list of "
             "such mappings")


def _resolve_notebook(name: str, base_dir: Path, notebook_dir: Path) -> Path:
    """A grid's ``notebook``: a book notebook name (``03_training``) or a path to an
    ``.ipynb`` file (relative to the grid file, then to the working directory)."""
    path = Path(name)
    if path.suffix == ".ipynb":
        for candidate in ([path] if path.is_absolute() else [base_dir / path, path]):
            if candidate.is_file():
                return candidate.resolve()
    return runner.resolve_notebook(name, notebook_dir).resolve()


def _type_hint(value: Any) -> str:
    import datetime as _dt

    if isinstance(value, (_dt.date, _dt.datetime)):
        return "; YAML reads an unquoted date as a date: quote it ('2024-01-31') for a string"
    if isinstance(value, (bytes, bytearray)):
        return "; write the value as a string instead of !!binary"
    if isinstance(value, (set, frozenset)):
        return "; write a list ([a, b]) instead of a set"
    return ""


class _ValueCheck:
    """Checks that parameter values are plain literals papermill can inject and a record can
    hold: strings, numbers, booleans, null, and lists and string-keyed mappings of them. Counts
    every item visited, so a value built from nested YAML aliases cannot expand for ever."""

    def __init__(self, fail: Callable[..., Any]):
        self.fail = fail
        self.nodes = 0

    def __call__(self, value: Any, label: str, path: tuple, stack: list | None = None) -> None:
        stack = [] if stack is None else stack
        self.nodes += 1
        if self.nodes > _MAX_VALUE_NODES:
            self.fail(f"the parameter values hold more than {_MAX_VALUE_NODES} items (YAML "
                      "aliases count each time they are used); a sweep's parameters are small "
                      "literals", *path)
        if value is None or isinstance(value, (bool, int, float, str)):
            return
        if isinstance(value, (list, dict)):
            if any(value is outer for outer in stack):
                self.fail(f"{label} contains itself (a recursive YAML alias); write the value "
                          "out", *path)
            if len(stack) >= _MAX_VALUE_DEPTH:
                self.fail(f"{label} is nested more than {_MAX_VALUE_DEPTH} levels deep", *path)
            stack.append(value)
            if isinstance(value, list):
                for index, item in enumerate(value):
                    self(item, f"{label}[{index}]", path, stack)
            else:
                for key, item in value.items():
                    if not isinstance(key, str):
                        self.fail(f"{label} has the key {quote(key)} ({type(key).__name__}); "
                                  "keys inside parameter values must be strings (quote them)",
                                  *path)
                    self(item, f"{label}[{quote(key)}]", path, stack)
            stack.pop()
            return
        self.fail(f"{label} = {quote(value)} is a {type(value).__name__}; parameter values must "
                  f"be strings, numbers, booleans, null, lists or mappings{_type_hint(value)}",
                  *path)


def parse_grid(data: Any, base_dir: Path = Path("."),
               notebook_dir: Path = runner.NOTEBOOK_DIR, source: str = "grid") -> list[GridEntry]:
    """Validate grid data (a mapping or a list of mappings) and return its entries.

    Every override name and value is checked against the notebook's ``parameters`` cell here,
    before anything runs (values are coerced as the runner coerces them, e.g. an int where a
    float is declared). Anything wrong raises :class:`GridError` and nothing else.
    """
    if data is None:
        raise GridError(f"{source}: the grid is empty; expected {_EXPECTED}",
                        detail=f"the grid is empty; expected {_EXPECTED}")
    single = not isinstance(data, list)
    items = [data] if single else data
    if not items:
        raise GridError(f"{source}: the grid is an empty list; expected {_EXPECTED}",
                        detail=f"the grid is an empty list; expected {_EXPECTED}")
    entries = []
    for position, item in enumerate(items):
        where = source if single else f"{source} entry {position}"
        entry = None if single else position
        prefix = () if single else (position,)

        def fail(detail: str, *path: Any, where=where, entry=entry, prefix=prefix):
            raise GridError(f"{where}: {detail}", detail=detail, entry=entry,
                            path=prefix + path)

        entries.append(_parse_entry(item, fail, base_dir, notebook_dir))
    return entries


def _parse_entry(item: Any, fail: Callable[..., Any], base_dir: Path,
                 notebook_dir: Path) -> GridEntry:
    """One entry of a grid; ``fail(detail, *path)`` raises the GridError of this entry."""
    if not isinstance(item, Mapping):
        fail(f"expected {_EXPECTED}; got {type(item).__name__} {quote(item)}")
    unknown = [key for key in item if not isinstance(key, str) or key not in GRID_KEYS]
    if unknown:
        names = sorted(quote(key) if not isinstance(key, str) else key for key in unknown)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        fail(f"unknown key(s) {', '.join(names[:10])}{more}; valid keys: "
             f"{', '.join(GRID_KEYS)}", unknown[0])
    if "notebook" not in item:
        fail("no 'notebook' (a name such as 03_training or a path)")
    name = item["notebook"]
    if not isinstance(name, str) or not name.strip():
        fail("'notebook' must be a notebook name such as 03_training or a path to an .ipynb "
             f"file; got {type(name).__name__} {quote(name)}", "notebook")
    check = _ValueCheck(fail)
    fixed_in = item.get("fixed")
    if fixed_in is None:
        fixed_in = {}
    if not isinstance(fixed_in, Mapping):
        fail(f"'fixed' must map parameter -> value (e.g. fixed: {{num_epochs: 5}}); got "
             f"{type(fixed_in).__name__} {quote(fixed_in)}", "fixed")
    for key, value in fixed_in.items():
        if not isinstance(key, str):
            fail(f"parameter names in 'fixed' must be strings; got {type(key).__name__} "
                 f"{quote(key)}", "fixed", key)
        check(value, f"fixed parameter {quote(key)}", ("fixed", key))
    axes_in = item.get("grid")
    if axes_in is None:
        axes_in = {}
    if not isinstance(axes_in, Mapping):
        fail(f"'grid' must map parameter -> list of values (e.g. grid: {{seed: [0, 1]}}); got "
             f"{type(axes_in).__name__} {quote(axes_in)}", "grid")
    runs_count = 1
    for key, values in axes_in.items():
        if not isinstance(key, str):
            fail(f"parameter names in 'grid' must be strings; got {type(key).__name__} "
                 f"{quote(key)}", "grid", key)
        if not isinstance(values, list) or not values:
            fail(f"grid axis {quote(key)} must be a non-empty list of values, got {quote(values)} "
                 "(a single value belongs in 'fixed')", "grid", key)
        for index, value in enumerate(values):
            check(value, f"grid axis {quote(key)}[{index}]", ("grid", key))
        runs_count *= len(values)
        if runs_count > _MAX_RUNS:
            fail(f"the grid expands to more than {_MAX_RUNS} runs; split it into several "
                 "sweeps", "grid", key)
    fixed, axes = dict(fixed_in), {key: list(values) for key, values in axes_in.items()}
    both = sorted(set(fixed) & set(axes))
    if both:
        fail(f"parameter(s) {', '.join(both)} appear in both 'fixed' and 'grid'; keep each in "
             "one place", "grid", both[0])
    try:
        notebook = _resolve_notebook(name, base_dir, notebook_dir)
        known = runner.notebook_parameters(notebook)
    except (OSError, ValueError, KeyError, TypeError, SyntaxError) as exc:
        fail(f"notebook {quote(name)}: {exc}", "notebook")
    unknown = [key for key in (*fixed, *axes) if key not in known]
    if unknown:
        try:  # the runner's message lists every unknown name and the valid ones
            runner.check_parameters(notebook, dict.fromkeys(unknown))
        except ValueError as exc:
            fail(str(exc), "fixed" if unknown[0] in fixed else "grid", unknown[0])
    return GridEntry(notebook, {key: _coerce(notebook, key, value, known, fail, "fixed")
                                for key, value in fixed.items()},
                     {key: [_coerce(notebook, key, value, known, fail, "grid")
                            for value in values] for key, values in axes.items()})


def _coerce(notebook: Path, name: str, value: Any, known: Mapping[str, Any],
            fail: Callable[..., Any], section: str) -> Any:
    """``value`` as the runner will inject it (the type of the declared default)."""
    try:
        return runner.coerce_parameter(name, value, known[name])
    except (ValueError, TypeError) as exc:
        fail(f"{notebook.name}: {exc}", section, name)


def _line_of(text: str, path: Sequence[Any]) -> int | None:
    """The 1-based line of the document part at ``path`` (keys and indices), or of its
    deepest ancestor that exists; None when the text cannot be composed."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:  # noqa: BLE001 - only a hint for the message
        return None
    line = None if node is None else node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and 0 <= step < len(node.value):
            node = node.value[step]
        elif isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value
                     if isinstance(k, yaml.ScalarNode) and k.value == str(step)]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
            continue
        else:
            break
        line = node.start_mark.line + 1
    return line


def parse_grid_text(text: str, source: str = "grid", base_dir: Path = Path("."),
                    notebook_dir: Path = runner.NOTEBOOK_DIR) -> list[GridEntry]:
    """Parse and validate the YAML text of a grid file; every problem is a :class:`GridError`
    naming ``source`` and, where it can be placed, the line."""
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = "; ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        detail = f"not valid YAML ({problem}); expected {_EXPECTED}"
        raise GridError(f"{where}: {detail}", detail=detail) from None
    except RecursionError:
        detail = f"the YAML is nested too deeply to read; expected {_EXPECTED}"
        raise GridError(f"{source}: {detail}", detail=detail) from None
    except Exception as exc:  # noqa: BLE001 - YAML constructors raise ValueError & co.
        detail = f"not valid YAML ({type(exc).__name__}: {exc}); expected {_EXPECTED}"
        raise GridError(f"{source}: {detail}", detail=detail) from None
    try:
        return parse_grid(data, base_dir=base_dir, notebook_dir=notebook_dir, source=source)
    except GridError as exc:
        line = _line_of(text, exc.path)
        if line is None:
            raise
        entry = "" if exc.entry is None else f" (entry {exc.entry})"
        raise GridError(f"{source}, line {line}{entry}: {exc.detail}", detail=exc.detail,
                        entry=exc.entry, path=exc.path) from None


def load_grid(path: str | os.PathLike, notebook_dir: Path = runner.NOTEBOOK_DIR
              ) -> list[GridEntry]:
    """Read and validate a grid YAML file (see the module docstring for its format)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no grid file {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GridError(f"{path}: not a text file ({exc}); expected a YAML grid file") from None
    return parse_grid_text(text, source=str(path), base_dir=path.resolve().parent,
                           notebook_dir=notebook_dir)


# --------------------------------------------------------------------------- naming, plan

def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{quote(value)} ({type(value).__name__}) is not a plain literal")


def _canonical(value: Any) -> str:
    # Non-finite floats stay distinct (NaN, Infinity), unlike in records, where they are null.
    return json.dumps(value, sort_keys=True, default=_json_default)


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _format_value(value: Any, always_text: bool = False) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    safe = _SAFE_CHARS.sub("-", text)
    if safe != text or not safe or safe.startswith(".") or \
            (isinstance(value, str) and not always_text and _reads_as_other_literal(value)):
        # Sanitising lost information, or the string reads like a number / true / null: a
        # hash of the exact value keeps names distinct ('1' and 1 are different parameters).
        safe = f"{safe.strip('.-') or 'value'}-{_short_hash(_canonical(value))}"
    return safe


def _reads_as_other_literal(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), str)
    except ValueError:
        return False


def run_name(axis_values: Mapping[str, Any], fixed: Mapping[str, Any] | None = None,
             text_parameters: Iterable[str] = ()) -> str:
    """Stable, filesystem-safe directory name of a run: ``name=value`` pairs sorted by name,
    joined by ``__`` (``dataset=cifar100__seed=1``), then ``__fixed-<hash>`` of the fixed
    parameters when there are any; ``'defaults'`` when there are neither.

    Values other than plain names/numbers are sanitised and suffixed by a short hash of the
    exact value, and over-long names are shortened the same way, so distinct values never
    share a directory; so are strings that read as numbers, booleans or null (``'1'`` is not
    ``1``), except for ``text_parameters``, those the notebook declares as strings, whose
    values are always strings (``hp=12``). The fixed hash keeps entries that differ only in
    ``fixed`` apart.
    """
    text_parameters = set(text_parameters)
    suffix = f"fixed-{_short_hash(_canonical(dict(fixed)))}" if fixed else ""
    limit = _MAX_NAME_CHARS - (len(suffix) + 2 if suffix else 0)
    name = "__".join(f"{key}={_format_value(axis_values[key], key in text_parameters)}"
                     for key in sorted(axis_values))
    if len(name) > limit:
        name = f"{name[:limit - 9]}-{_short_hash(_canonical(dict(axis_values)))}"
    if suffix:
        return f"{name}__{suffix}" if name else suffix
    return name or DEFAULTS_NAME


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def code_identity(package_dir: Path = _PACKAGE_DIR) -> dict[str, Any]:
    """Fingerprint of the package's sources (every ``*.py`` under ``nar_utils/``): a run's
    result depends on the code it calls, and a git SHA misses uncommitted edits."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return {"nar_utils_sha256": digest.hexdigest()[:16]}


def notebook_identity(path: str | os.PathLike) -> dict[str, Any]:
    """Fingerprint of a notebook's content: its cells' types, sources and tags (outputs and
    editor metadata do not change what a run computes)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        cells = [(c.get("cell_type"), "".join(c.get("source", "")),
                  sorted(c.get("metadata", {}).get("tags", [])))
                 for c in json.loads(raw)["cells"]]
        content = _canonical(cells).encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        content = raw
    return {"name": path.name, "sha256": _sha256(content)}


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _data_listing(root: Path) -> dict[str, list[int]]:
    """Size and modification time of every file under ``root`` (following links; hidden
    entries and ``cache`` folders, which runs may write, left out)."""
    listing: dict[str, list[int]] = {}
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "cache")
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            try:
                stat = path.stat()
                entry = [stat.st_size, stat.st_mtime_ns]
            except OSError:  # a broken link
                entry = [-1, -1]
            listing[path.relative_to(root).as_posix()] = entry
    return dict(sorted(listing.items()))


def data_identity(data_dir: Any = None
                  ) -> tuple[dict[str, Any], dict[str, list[int]] | None]:
    """The data source a run reads and a fingerprint of it, plus the per-file listing when it
    is short enough to keep (to name the files that changed).

    ``data_dir`` is the notebook's ``data_dir`` parameter; None means ``$NAR_DATA_DIR``, and
    neither means the embedded source (the rule of :mod:`nar_utils.benchmarks.datadir`). A
    relative path is taken from where the command was started (:func:`datadir.absolute`), as
    the notebook itself takes it.
    The version of ``analog-nasbench`` is part of it either way (chapters compare with it).
    """
    value = data_dir if data_dir is not None else os.environ.get(datadir.ENV_DATA_DIR) or None
    embedded = {"analog-nasbench": _package_version("analog-nasbench")}
    if value is None or str(value) == datadir.EMBEDDED:
        return {"source": datadir.EMBEDDED, **embedded}, None
    path = datadir.absolute(str(value))
    try:
        resolved = datadir.resolve_data_dir(path)
    except (OSError, ValueError):
        resolved = None
    if resolved is None:  # the run will say what is missing; the identity notes it
        return {"source": "missing", "path": os.path.abspath(path), **embedded}, None
    listing = _data_listing(resolved)
    identity = {"source": "directory", "path": str(resolved),
                "fingerprint": _sha256(_canonical(listing).encode()), "files": len(listing),
                "bytes": sum(max(size, 0) for size, _ in listing.values()), **embedded}
    return identity, (listing if len(listing) <= _MAX_LISTED_FILES else None)


class _IdentityCache:
    """Fingerprints computed once per sweep (a sweep's runs share notebooks, code and data)."""

    def __init__(self):
        self.code: dict | None = None
        self.git: dict | None = None
        self.notebooks: dict[str, tuple[dict, dict]] = {}
        self.data: dict[tuple, tuple[dict, dict | None]] = {}

    def _notebook(self, notebook: str | os.PathLike) -> tuple[dict, dict]:
        key = str(notebook)
        if key not in self.notebooks:
            self.notebooks[key] = (notebook_identity(notebook),
                                   runner.notebook_parameters(Path(notebook)))
        return self.notebooks[key]

    def text_parameters(self, notebook: str | os.PathLike) -> set[str]:
        """The parameters the notebook declares as strings (the runner injects only strings
        into them)."""
        return {name for name, default in self._notebook(notebook)[1].items()
                if isinstance(default, str)}

    def identity(self, notebook: str | os.PathLike, overrides: Mapping[str, Any]) -> RunIdentity:
        content, defaults = self._notebook(notebook)
        if self.code is None:
            self.code, self.git = code_identity(), runs.git_state()
        value = overrides.get("data_dir", defaults.get("data_dir"))
        data_key = (None if value is None else str(value), str(datadir.start_dir()),
                    os.environ.get(datadir.ENV_DATA_DIR))
        if data_key not in self.data:
            self.data[data_key] = data_identity(value)
        data, listing = self.data[data_key]
        return RunIdentity(dict(overrides), content, self.code, data, listing, self.git)


def run_identity(notebook: str | os.PathLike, overrides: Mapping[str, Any]) -> RunIdentity:
    """The identity of a run of ``notebook`` with ``overrides``, as seen from here now."""
    return _IdentityCache().identity(notebook, overrides)


def plan_runs(entries: Sequence[GridEntry], out_dir: str | os.PathLike = "runs",
              command: str = "") -> list[PlannedRun]:
    """Every run of the grid, in file order, with its run directory
    ``<out_dir>/<notebook stem>/<run_name>`` and its identity; identical runs listed twice
    (also once swept and once fixed, in two entries) are kept once, where first listed."""
    out_dir = Path(out_dir).resolve()
    cache = _IdentityCache()
    planned: dict[str, PlannedRun] = {}
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        for overrides in entry.expand():
            key = (str(entry.notebook), _canonical(overrides))
            if key in seen:
                continue
            seen.add(key)
            name = run_name({k: overrides[k] for k in entry.axes}, entry.fixed,
                            cache.text_parameters(entry.notebook))
            run_dir = out_dir / entry.notebook.stem / name
            previous = planned.get(str(run_dir))
            if previous is not None:
                raise GridError(
                    f"two runs share the run directory {run_dir} with different parameters "
                    f"({quote(previous.overrides)} vs {quote(overrides)}) or notebooks "
                    f"({previous.notebook} vs {entry.notebook}); give the notebooks different "
                    "names, or put the parameter that differs into 'grid'")
            planned[str(run_dir)] = PlannedRun(
                str(entry.notebook), overrides, name, str(run_dir), command,
                cache.identity(entry.notebook, overrides))
    return list(planned.values())


# --------------------------------------------------------------------------- stale runs

def read_run_record(run: PlannedRun) -> dict | None:
    """The run's record, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(run.record_file.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _data_label(data: Mapping[str, Any]) -> str:
    source = data.get("source")
    if source == datadir.EMBEDDED:
        return f"embedded (analog-nasbench {data.get('analog-nasbench')})"
    if source == "directory":
        return f"directory {data.get('path')}"
    if source == "missing":
        return f"{data.get('path')} (not a directory)"
    return quote(dict(data))


def _listing_changes(old: Any, new: Any) -> str | None:
    """Which files of a data directory were added, removed or modified."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return None
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified = sorted(f for f in set(old) & set(new) if list(old[f]) != list(new[f]))

    def some(names):
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    parts = [f"{what} {some(names)}" for what, names in
             (("added", added), ("removed", removed), ("modified (size or time)", modified))
             if names]
    return "; ".join(parts) or None


def _git_label(git: Any) -> str:
    if not isinstance(git, Mapping) or not git.get("git_sha"):
        return "no git"
    return str(git["git_sha"])[:10] + ("+dirty" if git.get("git_dirty") else "")


def _describe_change(part: str, old: Mapping[str, Any], new: RunIdentity) -> str:
    before, after = old.get(part), getattr(new, part)
    before = before if isinstance(before, Mapping) else {}
    if part == "parameters":
        changes = []
        for name in sorted(set(before) | set(after)):
            if name not in after:
                changes.append(f"{name} removed (was {quote(before[name])})")
            elif name not in before:
                changes.append(f"{name} added ({quote(after[name])})")
            elif _canonical(before[name]) != _canonical(after[name]):
                changes.append(f"{name} {quote(before[name])} -> {quote(after[name])}")
        return "the parameters changed: " + (", ".join(changes) or "(in non-finite values)")
    if part == "notebook":
        what = (before.get("name") if before.get("name") == after.get("name")
                else f"{before.get('name')} -> {after.get('name')}")
        return (f"the notebook {what} changed (content {before.get('sha256')} -> "
                f"{after.get('sha256')})")
    if part == "code":
        return (f"the nar_utils sources changed ({before.get('nar_utils_sha256')} -> "
                f"{after.get('nar_utils_sha256')}; git {_git_label(old.get('git'))} -> "
                f"{_git_label(new.git)})")
    if before.get("source") != after.get("source") or before.get("path") != after.get("path"):
        return f"the data source changed: {_data_label(before)} -> {_data_label(after)}"
    details = []
    if before.get("analog-nasbench") != after.get("analog-nasbench"):
        details.append(f"analog-nasbench {before.get('analog-nasbench')} -> "
                       f"{after.get('analog-nasbench')}")
    if before.get("fingerprint") != after.get("fingerprint"):
        details.append(_listing_changes(old.get("data_files"), new.data_files)
                       or f"its files changed (fingerprint {before.get('fingerprint')} -> "
                          f"{after.get('fingerprint')})")
    return f"the data {_data_label(after)} changed: " + ("; ".join(details) or "(fingerprint)")


def identity_changes(old: Any, new: RunIdentity) -> list[str]:
    """Why a recorded identity (``record['identity']``) is not ``new``: one sentence per part
    that changed; empty when they are the same."""
    if not isinstance(old, Mapping) or not isinstance(old.get("hashes"), Mapping):
        return ["its record carries no run identity (written before sweeps recorded one), so "
                "its parameters, notebook, code and data cannot be checked"]
    hashes = new.hashes()
    return [_describe_change(part, old, new) for part in _IDENTITY_PARTS
            if old["hashes"].get(part) != hashes[part]]


@dataclass(frozen=True)
class RunState:
    """Where a planned run stands before the sweep: ``state`` is one of 'new', 'failed',
    'stale', 'complete'; ``reasons`` say why a run is failed or stale."""
    state: str
    reasons: tuple[str, ...] = ()


def run_state(run: PlannedRun) -> RunState:
    """Whether the run directory holds a complete result of this very run: an ``ok`` record
    of the same identity (parameters, notebook, code, data) and the executed notebook."""
    record = read_run_record(run)
    if record is None:
        return RunState(STATE_NEW)
    if record.get("status") != STATUS_OK:
        return RunState(STATE_FAILED, (f"its last attempt is {record.get('status')!r}",))
    if not run.executed_path.is_file():
        return RunState(STATE_FAILED, ("its executed notebook is missing",))
    identity = run.identity or run_identity(run.notebook, run.overrides)
    reasons = identity_changes(record.get("identity"), identity)
    return RunState(STATE_STALE, tuple(reasons)) if reasons else RunState(STATE_COMPLETE)


def is_complete(run: PlannedRun) -> bool:
    """True when the run directory holds an ``ok`` record of this run's identity and the
    executed notebook (an interrupted, failed or stale run is not complete)."""
    return run_state(run).state == STATE_COMPLETE


def grid_records(out_dir: str | os.PathLike = "runs", notebook: str | None = None,
                 status: str | None = STATUS_OK) -> list[dict]:
    """Records of a sweep's runs (only those with ``status`` unless it is None), optionally
    of one notebook (its stem)."""
    pattern = f"{Path(notebook).stem}/*/*.json" if notebook else "*/*/*.json"
    records = [r for r in runs.read_records(out_dir, pattern) if "overrides" in r]
    return [r for r in records if status is None or r.get("status") == status]


# --------------------------------------------------------------------------- the lock

def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class SweepLock:
    """The lock of a sweep's output directory, ``<out>/.grid.lock``.

    Created with ``O_CREAT | O_EXCL`` (exactly one sweep creates it) and held with ``flock``,
    which the kernel releases when the holder dies, so a lock left by a killed sweep on this
    host is recognised and taken over (:attr:`taken_over` then says whose it was). The file
    names the holder (pid, host, start, command) for the message a second sweep prints. A
    lock left by another host is refused: this host cannot tell whether that sweep runs.
    Where ``flock`` is missing, the holder's pid decides on this host.
    """
    ATTEMPTS = 20

    def __init__(self, out_dir: str | os.PathLike, command: str = ""):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK_NAME
        self.command = command
        self.taken_over: dict | None = None
        self._fd: int | None = None

    def __enter__(self) -> SweepLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def acquire(self) -> SweepLock:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(self.ATTEMPTS):
            try:
                fd, created = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
            except FileExistsError:
                try:
                    fd, created = os.open(self.path, os.O_RDWR), False
                except FileNotFoundError:  # released between the two calls
                    continue
            try:
                held = self._hold(fd, created)
            except BaseException:
                os.close(fd)
                raise
            if held:
                self._fd = fd
                self._write_holder(fd)
                return self
            os.close(fd)
            time.sleep(0.05)
        raise SweepLockedError(
            f"could not take the lock {self.path}: other sweeps keep creating and releasing "
            f"it, or it stays empty. If no sweep writes to {self.out_dir}, delete {self.path} "
            "and start again.")

    def _hold(self, fd: int, created: bool) -> bool:
        """True when this process now holds the lock, False to try again; raises when another
        sweep holds it."""
        locked = _try_flock(fd)
        if locked is False:
            raise SweepLockedError(self._busy(_read_holder(fd)))
        if created:
            return True
        try:
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                return False  # released and removed meanwhile: this file is no longer the lock
        except FileNotFoundError:
            return False
        holder = _read_holder(fd)
        if not holder:
            # With flock: its creator died before naming itself. Without: it may be naming
            # itself right now.
            return bool(locked)
        if holder.get("host") != socket.gethostname():
            raise SweepLockedError(
                f"{self.path} was left by pid {holder.get('pid')} on host {holder.get('host')} "
                f"(started {holder.get('started')}), and this host cannot tell whether that "
                f"sweep still runs. If it does not, delete {self.path} and start again; "
                "otherwise wait for it to finish or give this sweep another --out.")
        if not locked and _pid_alive(holder.get("pid")):
            raise SweepLockedError(self._busy(holder))
        self.taken_over = holder
        return True

    def _busy(self, holder: Mapping[str, Any]) -> str:
        who = (f"pid {holder.get('pid')} on host {holder.get('host')} since "
               f"{holder.get('started')}" if holder else "a sweep that has not named itself yet")
        command = f" ({holder['command']})" if holder.get("command") else ""
        return (f"another sweep is writing to {self.out_dir}: its lock file {self.path} is held "
                f"by {who}{command}. Wait for it to finish (or stop it), or give this sweep "
                "another --out.")

    def _write_holder(self, fd: int) -> None:
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": runs.now_iso(),
                  "command": self.command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)

    def describe_takeover(self) -> str | None:
        if not self.taken_over:
            return None
        holder = self.taken_over
        return (f"took over the lock {self.path} left by pid {holder.get('pid')} on this host "
                f"(started {holder.get('started')}), which no longer holds it; its runs that "
                "did not finish are run again")

    def release(self) -> None:
        """Remove the lock file (while still holding it, so that no one takes a removed
        file) and let it go."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)


def _try_flock(fd: int) -> bool | None:
    """True: this descriptor now holds the flock; False: someone else does; None: the file
    system (or platform) has no flock."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        return None
    return True


def _read_holder(fd: int) -> dict:
    try:
        text = os.pread(fd, 65536, 0).decode("utf-8", "replace")
    except OSError:
        return {}
    if not text.strip():
        return {}
    try:
        holder = json.loads(text)
    except ValueError:
        return {"pid": None, "host": None, "started": None, "command": text.strip()[:200]}
    return holder if isinstance(holder, dict) else {}


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
    """Execute one planned run and merge provenance, identity and status into its record.

    Never raises for a failing notebook or a run directory that cannot be written: the
    failure is returned (and the executed error notebook stays in the run directory), so one
    run's trouble does not stop the sweep.
    """
    run_dir = Path(run.run_dir)
    stale = "; ".join(run.stale_reasons) or None
    started, start = runs.now_iso(), time.perf_counter()

    def failed(error: str) -> RunResult:
        executed = run.executed_path if run.executed_path.is_file() else None
        return RunResult(run.label, STATUS_FAILED, str(run_dir), str(executed) if executed
                         else None, time.perf_counter() - start, error, stale=stale)

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        # A record left by an earlier attempt must not pass for this run's.
        run.record_file.unlink(missing_ok=True)
    except OSError as exc:
        return failed(f"cannot write its run directory {run_dir}: {type(exc).__name__}: {exc}")
    # The identity the run really has: inputs may change between planning and running (or
    # differ on a Dask worker); the record must tell what this result came from.
    try:
        identity = run_identity(run.notebook, run.overrides)
    except (OSError, ValueError, KeyError, SyntaxError) as exc:
        return failed(f"cannot read its inputs: {type(exc).__name__}: {exc}")
    note = None
    if run.identity is not None and identity.hashes() != run.identity.hashes():
        note = ("its inputs changed after the sweep was planned; the record holds what it ran "
                "with: " + "; ".join(identity_changes(run.identity.as_record(), identity)))
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
                   "run_seconds": round(seconds, 3), "identity": identity.as_record(),
                   "replaced_stale": list(run.stale_reasons), "identity_note": note,
                   "executed_notebook": str(executed) if executed else None, "error": error})
    try:
        _write_json_atomic(run.record_file, record)
    except OSError as exc:
        return failed(f"{error + '; and ' if error else 'it ran, but '}its record "
                      f"{run.record_file} could not be written: {type(exc).__name__}: {exc}")
    return RunResult(run.label, status, str(run_dir), str(executed) if executed else None,
                     seconds, error, stale=stale, note=note)


# --------------------------------------------------------------------------- backends

def _progress(total: int, enabled: bool):
    from tqdm import tqdm

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
                         error=f"the worker running it failed: {type(exc).__name__}: {exc}",
                         stale="; ".join(getattr(run, "stale_reasons", ())) or None)


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
             command: str = "", on_stale: str = "rerun") -> GridReport:
    """Execute every run of a grid (a YAML path or parsed entries) and return the report.

    ``backend='local'``: ``workers`` processes (1: in this process, one run after another);
    ``backend='dask'``: one task per run on the Dask scheduler at ``scheduler``, or on a
    LocalCluster of ``workers`` single-threaded processes; ``gpus_per_run`` > 0 makes each
    task claim that many units of the workers' ``GPU`` resource. Complete runs (an ``ok``
    record of the same identity) are skipped; stale ones are run again, or, with
    ``on_stale='refuse'``, refused with :class:`StaleRunsError` before anything runs; a
    failed run does not stop the others unless ``fail_fast``. The sweep holds ``out_dir``'s
    :class:`SweepLock` throughout (:class:`SweepLockedError` when another sweep does).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if on_stale not in ON_STALE:
        raise ValueError(f"unknown on_stale {on_stale!r}; valid: {', '.join(ON_STALE)}")
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
    with SweepLock(out_dir, command) as lock:
        notes = [note for note in [lock.describe_takeover()] if note]
        # Read under the lock: no other sweep rewrites these records meanwhile.
        states = {run.run_dir: run_state(run) for run in planned}
        stale = [run for run in planned if states[run.run_dir].state == STATE_STALE]
        if stale and on_stale == "refuse":
            listed = "\n".join(f"  {run.label}: {'; '.join(states[run.run_dir].reasons)}"
                               for run in stale)
            raise StaleRunsError(
                f"{_runs(len(stale))} under {Path(out_dir)} hold results of other inputs "
                f"(stale), and --on-stale refuse keeps them; nothing ran:\n{listed}\nRun them "
                "again with --on-stale rerun (the default), or give this sweep another --out.")
        pending = [dataclasses.replace(run, stale_reasons=states[run.run_dir].reasons)
                   if states[run.run_dir].state == STATE_STALE else run
                   for run in planned if states[run.run_dir].state != STATE_COMPLETE]
        if progress:
            for note in notes:
                print(f"[grid] note: {note}", flush=True)
            print(f"[grid] {_runs(len(planned))} planned under {Path(out_dir)}: "
                  f"{len(planned) - len(pending)} already complete, {len(stale)} stale (run "
                  f"again), {len(pending)} to run ({backend} backend)", flush=True)
            for run in stale:
                print(f"[grid] stale {run.label}: {'; '.join(states[run.run_dir].reasons)}",
                      flush=True)
        done = run_tasks(pending, execute_run, backend=backend, workers=workers,
                         scheduler=scheduler, gpus_per_run=gpus_per_run, fail_fast=fail_fast,
                         progress=progress)
    by_dir = {r.run_dir: r for r in done}
    results = [by_dir.get(run.run_dir) or RunResult(run.label, STATUS_SKIPPED, run.run_dir,
                                                     str(run.executed_path))
               for run in planned]
    return GridReport(results, time.perf_counter() - start, notes)


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
    parser.add_argument("--on-stale", choices=ON_STALE, default="rerun",
                        help="a run whose 'ok' result came from other parameters, notebook, "
                             "code or data: run it again (default), or refuse the sweep "
                             "before anything runs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    command = " ".join(["python -m nar_utils.reproduce.grid", *argv])
    # Worker processes take relative data directories from where the sweep was started.
    recorded = not os.environ.get(datadir.ENV_START_DIR)
    datadir.record_start_dir()
    try:
        report = run_grid(args.grid, out_dir=args.out, backend=args.backend,
                          workers=args.workers, scheduler=args.scheduler,
                          gpus_per_run=args.gpus_per_run, fail_fast=args.fail_fast,
                          progress=not args.no_progress, command=command,
                          on_stale=args.on_stale)
    except (ValueError, OSError, RuntimeError, ImportError) as exc:
        # Bad grids, missing notebooks, stale runs refused, a locked --out, unreachable
        # schedulers: a message, not a traceback.
        print(f"[grid] error: {exc}", file=sys.stderr)
        return 2
    finally:
        if recorded:
            os.environ.pop(datadir.ENV_START_DIR, None)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy: runs and their function are
    # pickled for worker processes by reference to ``nar_utils.reproduce.grid``.
    from nar_utils.reproduce.grid import main as _main

    sys.exit(_main())
