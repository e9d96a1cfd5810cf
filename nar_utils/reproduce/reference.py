"""Reference executions of the chapters: what executing them again must reproduce.

``tests/reference/<set>/`` holds every chapter executed at the CI profile
(``notebooks/params/ci.yaml``), and ``tests/reference/<set>/records/`` the run records those
executions wrote. Two sets:

``table``
    on the NAS-Bench-201 table of the configured data directory (``$NAR_DATA_DIR``), as CI
    runs them;
``embedded``
    on the embedded ``analog-nasbench`` source (each chapter's ``data_dir`` set to
    ``'embedded'``), as a machine without the data directory runs them.

The test suite executes every reference notebook again with nbval and compares each cell's
outputs with the stored ones, after the rules of ``tests/reference/sanitize.cfg`` have masked
what legitimately differs between two runs (timings, paths, dates, memory addresses, git
commits and package versions). A change in a number, a table or a figure's data fails until
the references are regenerated on purpose, in the same commit::

    python -m nar_utils.reproduce.runner reference                  # both sets
    python -m nar_utils.reproduce.runner reference --set embedded 03_training

which prints the cells whose outputs changed (under the same rules) and rewrites only the
notebooks and records that did. Images are left out of the stored copies: nbval does not
compare pixels, and the numbers behind each figure are stored as text
(:mod:`nar_utils.reproduce.figure_data`).

Results depend on the number of threads torch and LightGBM split their sums over, so every
reference execution, here and under nbval, runs with :data:`THREADS` of them
(``OMP_NUM_THREADS``), whatever the machine.
"""
from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from nar_utils.benchmarks import datadir
from nar_utils.reproduce import runner

REFERENCE_DIR = runner.ROOT / "tests" / "reference"
SANITIZE_FILE = REFERENCE_DIR / "sanitize.cfg"
SETS = ("table", "embedded")
RECORDS = "records"
#: torch / OpenMP threads of every reference execution (results depend on it).
THREADS = 2
PROFILE = "ci"
#: Outputs nbval does not compare, left out of the stored copies.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def set_dir(set_name: str, root: Path = REFERENCE_DIR) -> Path:
    if set_name not in SETS:
        raise ValueError(f"no reference set {set_name!r}; sets: {', '.join(SETS)}")
    return Path(root) / set_name


def set_of(path: str | os.PathLike) -> str | None:
    """The reference set a stored notebook belongs to (its folder's name), else None."""
    path = Path(path).resolve()
    return path.parent.name if path.parent.parent == REFERENCE_DIR.resolve() and \
        path.parent.name in SETS else None


def parameters(set_name: str, notebook: Path) -> dict:
    """The CI profile's parameters of ``notebook``, with ``data_dir='embedded'`` for the
    embedded set."""
    set_dir(set_name)
    params = dict(runner.load_profile(PROFILE).get(notebook.stem, {}))
    if set_name == "embedded" and "data_dir" in runner.notebook_parameters(notebook):
        params["data_dir"] = datadir.EMBEDDED
    return params


def check_data(set_name: str) -> str | None:
    """Why ``set_name`` cannot run here (the table set needs a data directory holding the
    NB201 table), or None."""
    if set_name != "table":
        return None
    from nar_utils.benchmarks import nb201

    try:
        path = datadir.resolve_data_dir()
    except FileNotFoundError as err:
        return str(err)
    if path is None or not (path / nb201.TABLE_RELPATH).is_file():
        return (f"the reference set 'table' runs on the NB201 table: set ${datadir.ENV_DATA_DIR}"
                f" to a data directory holding {nb201.TABLE_RELPATH} (see data/README.md)")
    return None


def kernel_environment(run_dir: Path) -> dict[str, str]:
    """The variables a reference execution's kernel starts with: records to ``run_dir``,
    :data:`THREADS` threads for torch and LightGBM."""
    return {"NAR_RUN_DIR": str(Path(run_dir).resolve()), "OMP_NUM_THREADS": str(THREADS)}


def environment(run_dir: Path) -> contextlib.AbstractContextManager:
    """Inside: :func:`kernel_environment`; outside: the environment as it was."""
    return runner.environment(kernel_environment(run_dir))


def prepare_run_dir(set_name: str, run_dir: Path, root: Path = REFERENCE_DIR) -> Path:
    """A run folder holding the set's stored records: the chapter that reads the others'
    records (10, results) then finds them even when it runs alone."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for record in sorted((set_dir(set_name, root) / RECORDS).glob("*.json")):
        shutil.copy2(record, run_dir / record.name)
    return run_dir


def sanitize_rules(path: Path = SANITIZE_FILE) -> list[tuple[str, str]]:
    """The ``regex:`` / ``replace:`` pairs of the sanitize file, in order (nbval's format)."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", Path(path).read_text(), re.MULTILINE)


def sanitize(text: str, rules: list[tuple[str, str]]) -> str:
    for regex, replace in rules:
        text = re.sub(regex, replace, text)
    return text


def comparable_outputs(cell: dict, rules: list[tuple[str, str]]) -> list[str]:
    """A code cell's outputs as nbval compares them: streams joined by name, every data
    type but images, each sanitised; one line per (type, text)."""
    streams: dict[str, str] = {}
    out = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            streams[output["name"]] = streams.get(output["name"], "") + _text(output["text"])
        elif kind in ("display_data", "execute_result"):
            for mime, value in output.get("data", {}).items():
                if mime not in IMAGE_TYPES:
                    out.append(f"[{mime}]\n{sanitize(_text(value), rules)}")
        elif kind == "error":
            out.append(f"[error] {output.get('ename')}: {output.get('evalue')}")
    return [f"[{name}]\n{sanitize(text, rules)}" for name, text in streams.items()] + out


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def changed_cells(old: dict | None, new: dict, rules: list[tuple[str, str]]) -> list[str]:
    """Readable differences, one per code cell whose sanitised outputs (or source) differ."""
    new_cells = [c for c in new["cells"] if c["cell_type"] == "code"]
    old_cells = [] if old is None else [c for c in old["cells"] if c["cell_type"] == "code"]
    if old is not None and len(old_cells) != len(new_cells):
        return [f"{len(old_cells)} code cells before, {len(new_cells)} now"]
    changes = []
    for k, cell in enumerate(new_cells):
        before = comparable_outputs(old_cells[k], rules) if old_cells else []
        after = comparable_outputs(cell, rules)
        if old_cells and _text(old_cells[k]["source"]) != _text(cell["source"]):
            changes.append(f"code cell {k}: source changed")
        if before != after:
            diff = difflib.unified_diff("\n".join(before).splitlines(),
                                        "\n".join(after).splitlines(), "stored", "new",
                                        lineterm="", n=1)
            lines = list(diff)[2:]
            shown = "\n".join(f"    {line[:160]}" for line in lines[:30])
            more = f"\n    ... ({len(lines) - 30} more lines)" if len(lines) > 30 else ""
            changes.append(f"code cell {k}:\n{shown}{more}")
    return changes


def strip(nb: dict) -> dict:
    """A stored copy: the executed notebook without images and without papermill's
    per-run timings and paths (the injected parameters stay)."""
    nb = json.loads(json.dumps(nb))
    for cell in nb["cells"]:
        for key in ("execution", "papermill"):
            cell.get("metadata", {}).pop(key, None)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data:
                for mime in IMAGE_TYPES:
                    data.pop(mime, None)
                output.get("metadata", {}).clear()
    papermill = nb.get("metadata", {}).get("papermill")
    if papermill is not None:
        nb["metadata"]["papermill"] = {"parameters": papermill.get("parameters", {})}
    return nb


#: Keys of measured times in run records (left out when records are compared).
MEASURED_TIME = re.compile(r"seconds|latency|^s / ")


def without_times(value):
    """A record's metrics without the measured times (keys matching :data:`MEASURED_TIME`),
    which differ on every run; the simulated search time (``time_used``) stays."""
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if not MEASURED_TIME.search(k)}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def _same_record(a: Path, b: Path) -> bool:
    """Whether two records hold the same parameters and metrics, measured times aside."""
    def key(path):
        data = json.loads(path.read_text())
        return data.get("parameters"), without_times(data.get("metrics"))
    return a.is_file() and key(a) == key(b)


def regenerate(sets: tuple[str, ...] = SETS, only: list[str] | None = None,
               root: Path = REFERENCE_DIR, say: Callable[[str], None] = print) -> int:
    """Execute the chapters (or ``only`` these) of each set and store what changed; returns
    the number of notebooks whose outputs changed. A set that cannot run here is an error
    before anything runs."""
    for set_name in sets:
        problem = check_data(set_name)
        if problem:
            raise FileNotFoundError(problem)
    rules = sanitize_rules(Path(root) / SANITIZE_FILE.name)
    paths = [runner.resolve_notebook(n) for n in only] if only else runner.notebook_paths()
    changed = 0
    for set_name in sets:
        target = set_dir(set_name, root)
        (target / RECORDS).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nar-reference-") as tmp:
            run_dir = prepare_run_dir(set_name, Path(tmp) / set_name, root)
            for path in paths:
                with environment(run_dir):
                    executed = runner.run_notebook(path, parameters(set_name, path),
                                                   output_dir=run_dir, progress=False)
                new = strip(json.loads(executed.read_text()))
                stored = target / path.name
                old = json.loads(stored.read_text()) if stored.is_file() else None
                diffs = changed_cells(old, new, rules) if old is not None else []
                record = run_dir / f"{path.stem}.json"
                if old is None or diffs:
                    changed += 1
                    stored.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n")
                    what = "new" if old is None else f"{len(diffs)} cell(s) changed"
                    say(f"[reference] {set_name}/{path.name}: {what}")
                    for diff in diffs:
                        say(f"  {diff}")
                else:
                    say(f"[reference] {set_name}/{path.name}: unchanged")
                stored_record = target / RECORDS / record.name
                if record.is_file() and not _same_record(stored_record, record):
                    what = "metrics changed" if stored_record.is_file() else "new"
                    shutil.copy2(record, stored_record)
                    say(f"[reference] {set_name}/{RECORDS}/{record.name}: {what}")
    return changed
