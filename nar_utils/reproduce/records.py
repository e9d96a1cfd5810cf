"""Run records and reproducibility helpers: seeds, devices, provenance.

Every number the book shows comes from a run record: a JSON file holding the run's
parameters, its metrics and its provenance (git SHA and dirty flag, device, package versions,
start/end time). :func:`write_record` writes one; :func:`read_records` reads them back.
"""
from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from nar_utils.runtime import device_description

#: Packages whose versions every record carries.
TRACKED_PACKAGES = ("nar-utils", "numpy", "pandas", "scipy", "torch", "lightgbm",
                    "analog-nasbench", "papermill", "jupyter-book")
ENV_RUN_DIR = "NAR_RUN_DIR"
RECORD_SCHEMA = 1
#: The committed records of paper-scale runs (found from the package, not the current folder).
GPU_RECORDS_DIR = Path(__file__).resolve().parents[2] / "book" / "records" / "gpu"

def git_state(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Git SHA and dirty flag of the repository holding ``path`` (None when not a repo).

    ``$NAR_GIT_SHA``, when set, names the commit instead: for a copy of a working tree run
    elsewhere (a GPU machine) whose ``.git`` is not that commit's."""
    if os.environ.get("NAR_GIT_SHA"):
        return {"git_sha": os.environ["NAR_GIT_SHA"], "git_dirty": False}
    cwd = Path(path or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=cwd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"git_sha": None, "git_dirty": None}
    return {"git_sha": sha, "git_dirty": bool(status.strip())}


def short_sha(record: Mapping[str, Any]) -> str:
    """A record's commit as ``g`` and its first 8 hex digits (``git describe``'s form, which
    no number can be mistaken for), or ``'–'`` when it ran outside a repository."""
    sha = record.get("git_sha")
    return f"g{sha[:8]}" if sha else "–"


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (None for a package that is not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def provenance(device: str = "cpu") -> dict[str, Any]:
    """Everything a record needs to say where and with what it ran.

    ``torch_threads`` is there because it changes results: reductions split over 1 or 2
    threads round differently, so the last bits of a trained model depend on it."""
    import torch

    return {**git_state(), "device": device, "device_name": device_description(device),
            "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "packages": package_versions(), "command": " ".join(sys.argv)}


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, paths and non-finite floats made JSON-safe."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_record(path: str | os.PathLike, *, notebook: str, parameters: Mapping[str, Any],
                 metrics: Mapping[str, Any], device: str = "cpu", started: str | None = None,
                 extra: Mapping[str, Any] | None = None) -> Path:
    """Write a run record as JSON and return its path.

    ``path`` may be a directory (the record is ``<path>/<notebook stem>.json``) or a file.
    """
    path = Path(path)
    if path.suffix != ".json":
        path = path / f"{Path(notebook).stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"schema": RECORD_SCHEMA, "notebook": notebook, "parameters": parameters,
              "metrics": metrics, "started": started, "finished": now_iso(),
              **provenance(device), **(extra or {})}
    path.write_text(json.dumps(to_jsonable(record), indent=1, sort_keys=False) + "\n")
    return path


def record_path(notebook: str, default_dir: str | os.PathLike = ".") -> Path:
    """Where a notebook writes its record: ``$NAR_RUN_DIR`` (set by the runner) or
    ``default_dir``, file ``<notebook stem>.json``."""
    base = Path(os.environ.get(ENV_RUN_DIR) or default_dir)
    return base / f"{Path(notebook).stem}.json"


def read_records(root: str | os.PathLike, pattern: str = "**/*.json") -> list[dict]:
    """All run records under ``root``; files without a ``schema`` key and records of failed
    runs (``status: failed``, written by the grid runner) are left out."""
    out = []
    for path in sorted(Path(root).glob(pattern)):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "schema" in data and "metrics" in data and \
                data.get("status", "ok") == "ok":
            data["path"] = str(path)
            out.append(data)
    return out


def capture_parameters(notebook: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameters as they stand in ``namespace`` (the notebook's
    ``globals()``): the names its ``parameters`` cell declares, with the values papermill
    injected over the defaults. Call it first in the cell after the parameters cell, before
    any derived value replaces a parameter (``device = nar.try_device(device)``); the run
    record then carries the parameters as they ran, never a retyped copy.
    """
    from nar_utils.reproduce.runner import notebook_parameters, resolve_notebook

    names = list(notebook_parameters(resolve_notebook(notebook)))
    missing = [name for name in names if name not in namespace]
    if missing:
        raise NameError(f"{notebook}: parameter(s) {', '.join(missing)} are not defined yet; "
                        "run the parameters cell before capture_parameters")
    return {name: copy.deepcopy(namespace[name]) for name in names}
