"""Execute the book's notebooks with papermill and build the book.

Usage (from the repository root)::

    python -m nar_utils.reproduce.runner book              # CPU profile: run notebooks, build HTML
    python -m nar_utils.reproduce.runner book --profile gpu    # paper scale (params/gpu.yaml)
    python -m nar_utils.reproduce.runner run 01_data -p dataset=cifar100
    python -m nar_utils.reproduce.runner build                 # build HTML from executed notebooks
    python -m nar_utils.reproduce.runner reference             # regenerate tests/reference/

Executed notebooks and their run records go to ``book/notebooks/`` (the runner sets
``NAR_RUN_DIR`` so that each notebook writes ``<name>.json`` beside its executed copy).
Papermill only warns about an unknown parameter; this runner refuses it, checking names
against the notebook's cell tagged ``parameters``, and checks each value against the type of
that cell's default (``-p hp_low=12`` gives the string ``'12'``; ``-p seed=1.5`` is refused).
A bad name or value exits with status 2 before anything runs.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import yaml

from nar_utils.benchmarks import datadir
from nar_utils.spaces.base import quote

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
PARAMS_DIR = NOTEBOOK_DIR / "params"
OUTPUT_DIR = ROOT / "book" / "notebooks"
BUILD_DIR = ROOT / "_build"


def notebook_paths(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The book's notebooks in reading order (``NN_name.ipynb``)."""
    return sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.ipynb"))


def resolve_notebook(name: str, notebook_dir: Path = NOTEBOOK_DIR) -> Path:
    """``'01_data'``, ``'01_data.ipynb'`` or a path -> the notebook's path."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    candidate = notebook_dir / f"{path.stem}.ipynb"
    if candidate.is_file():
        return candidate
    names = ", ".join(p.stem for p in notebook_paths(notebook_dir))
    raise FileNotFoundError(f"no notebook {name!r} in {notebook_dir}; notebooks: {names}")


def notebook_parameters(path: Path) -> dict[str, Any]:
    """Names and default values of the notebook's ``parameters`` cell (exactly one)."""
    nb = json.loads(Path(path).read_text())
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{path}: expected exactly one cell tagged 'parameters', "
                         f"found {len(cells)}")
    source = "".join(cells[0]["source"])
    params: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            params[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            params[node.target.id] = ast.literal_eval(node.value)
        else:
            raise ValueError(f"{path}: the parameters cell must hold flat literal assignments "
                             f"only; line {node.lineno} is not one")
    return params


class ParameterError(ValueError):
    """A parameter the notebook does not declare, or a value of the wrong type."""


class CommandLineValue(str):
    """A ``-p name=value`` value as typed: read against the parameter's declared type (a
    string parameter keeps the text exactly, e.g. ``0123``), not guessed by YAML first."""


_SCALARS = (bool, int, float, str)


def coerce_parameter(name: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the parameter's default literal, or :class:`ParameterError`.

    Coerced only where the intent is unambiguous: an int where a float or a string is
    declared (``hp_low=12`` -> ``'12'``), a tuple for a list; a bool is never a number, a
    float never an int or a string. A list whose default holds one scalar type has its items
    checked the same way. A parameter declared ``None`` takes any value."""
    if isinstance(value, CommandLineValue):
        text = str(value)
        if isinstance(default, str):
            return text
        if isinstance(default, float) and not isinstance(default, bool):
            try:
                return float(text)  # YAML reads 1e-3 as a string
            except ValueError:
                pass
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ParameterError(f"parameter {name!r}: cannot read {quote(text)} "
                                 f"({err.__class__.__name__}); write a YAML value") from None
    if default is None:
        return value
    number = isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))
    if isinstance(default, bool):
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
    elif isinstance(default, int):
        if number and isinstance(value, (int, np.integer)):
            return int(value)
    elif isinstance(default, float):
        if number:
            return float(value)
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
        if number and isinstance(value, (int, np.integer)):
            return str(int(value))
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            kinds = {type(item) for item in default}
            if len(kinds) == 1 and kinds <= set(_SCALARS):
                return [coerce_parameter(f"{name}[{i}]", item, default[0])
                        for i, item in enumerate(value)]
            return list(value)
    elif isinstance(default, dict):
        if isinstance(value, dict):
            return value
    else:
        return value
    raise ParameterError(f"parameter {name!r} expects {type(default).__name__} (its default "
                         f"is {quote(default)}), got {type(value).__name__} {quote(value)}")


def check_parameters(path: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` checked against the notebook's ``parameters`` cell: unknown names are
    refused (papermill only warns), values are coerced to or checked against the types of
    the defaults (:func:`coerce_parameter`). Returns the coerced overrides."""
    known = notebook_parameters(path)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ParameterError(f"{Path(path).name}: unknown parameter(s) {', '.join(unknown)}; "
                             f"the notebook's parameters are: {', '.join(known)}")
    checked = {}
    for name, value in overrides.items():
        try:
            checked[name] = coerce_parameter(name, value, known[name])
        except ParameterError as err:
            raise ParameterError(f"{Path(path).name}: {err}") from None
    return checked


def load_profile(profile: str | Path) -> dict[str, dict[str, Any]]:
    """Per-notebook overrides from ``notebooks/params/<profile>.yaml`` (or a YAML path)."""
    path = Path(profile)
    if path.suffix not in (".yaml", ".yml"):
        path = PARAMS_DIR / f"{profile}.yaml"
    if not path.is_file():
        choices = ", ".join(p.stem for p in sorted(PARAMS_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no parameter profile {str(profile)!r}; profiles: {choices}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None
                                             for v in data.values()):
        raise ValueError(f"{path}: expected a mapping notebook name -> {{parameter: value}}")
    return {str(k): dict(v or {}) for k, v in data.items()}


def _kernel_manager_class(socket_dir: str):
    """Kernels the runner starts talk to it over Unix sockets (IPC) in ``socket_dir``, a
    private folder of this run, where the system has them; else over local TCP ports. Nothing
    listens on the network, and the kernel has no cause to warn that its traffic is unencrypted
    (over TCP it does, once per chapter). The socket path is set here because jupyter_client's
    default, ``kernel-ipc`` in the kernel's working folder, is the same for every chapter run
    from one folder: kernels started at once (a sweep's workers) would take each other's
    sockets."""
    from jupyter_client.manager import AsyncKernelManager

    if os.name != "posix":
        return AsyncKernelManager
    from traitlets import default

    class LocalSocketKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

        @default("ip")
        def _default_ip(self):
            return os.path.join(socket_dir, "kernel")

    return LocalSocketKernelManager


@contextlib.contextmanager
def environment(values: Mapping[str, str], restore: Iterable[str] = ()) -> Iterator[None]:
    """Inside: ``os.environ`` with ``values`` set (kernels started here inherit them);
    outside: those variables, and any named in ``restore``, as they were."""
    names = [*values, *restore]
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_notebook(name: str | Path, parameters: Mapping[str, Any] | None = None,
                 output_dir: Path = OUTPUT_DIR, kernel_name: str = "python3",
                 progress: bool = True) -> Path:
    """Execute one notebook with papermill into ``output_dir``; returns the executed copy.

    Raises papermill's ``PapermillExecutionError`` (the executed copy, with the error in it,
    is still written) when a cell fails.
    """
    import papermill as pm

    path = resolve_notebook(str(name))
    parameters = check_parameters(path, dict(parameters or {}))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / path.name
    # The kernel runs in the notebook's folder; a relative data directory still means one
    # relative to where this command was started (record_start_dir).
    with environment({"NAR_RUN_DIR": str(output_dir.resolve())},
                     restore=(datadir.ENV_START_DIR,)), \
            tempfile.TemporaryDirectory(prefix="nar-kernel-") as sockets:
        datadir.record_start_dir()
        pm.execute_notebook(str(path), str(out), parameters=parameters,
                            cwd=str(path.parent), kernel_name=kernel_name,
                            progress_bar=progress,
                            kernel_manager_class=_kernel_manager_class(sockets))
    return out


def run_all(profile: str = "cpu", output_dir: Path = OUTPUT_DIR,
            only: list[str] | None = None, progress: bool = True) -> list[Path]:
    """Execute every notebook (or ``only`` those) with a profile's parameters, in order."""
    overrides = load_profile(profile)
    paths = notebook_paths()
    unknown = sorted(set(overrides) - {p.stem for p in paths})
    if unknown:
        raise ValueError(f"profile {profile!r} names unknown notebooks {unknown}; notebooks: "
                         f"{', '.join(p.stem for p in paths)}")
    if only:
        paths = [resolve_notebook(n) for n in only]
    done, started = [], time.perf_counter()
    for path in paths:
        start = time.perf_counter()
        print(f"[runner] executing {path.name} (profile {profile})", flush=True)
        done.append(run_notebook(path, overrides.get(path.stem, {}), output_dir,
                                 progress=progress))
        print(f"[runner] {path.name} done in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"[runner] {len(done)} notebook(s) executed in {time.perf_counter() - started:.1f} s",
          flush=True)
    return done


def write_build_environment(root: Path = ROOT) -> Path:
    """Write ``book/generated/pip-freeze.txt`` (the packages of this build) for the
    reproduce page."""
    out = root / "book" / "generated" / "pip-freeze.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    out.write_text(f"# python {sys.version.split()[0]}\n{freeze}")
    return out


def write_key_findings(root: Path = ROOT, output_dir: Path | None = None) -> Path:
    """Write ``book/generated/key_findings.md``, the table of headline numbers the intro page
    opens with, from the run records of this build (``output_dir``, default
    ``book/notebooks/``) and the committed paper-scale ones (``book/records/gpu/``), as
    chapter 10 reads them (:func:`nar_utils.reproduce.anchors.key_findings`)."""
    from nar_utils.reproduce import anchors, records

    roots = [Path(output_dir) if output_dir else root / "book" / "notebooks",
             root / "book" / "records" / "gpu"]
    found = [r for folder in roots if folder.is_dir() for r in records.read_records(folder)]
    out = root / "book" / "generated" / "key_findings.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(anchors.key_findings_markdown(found))
    return out


def build_book(root: Path = ROOT, strict: bool = True) -> Path:
    """Build the HTML book with jupyter-book; warnings (broken refs) fail when ``strict``."""
    write_build_environment(root)
    write_key_findings(root)
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(root), "--path-output",
           str(root), "--builder", "html", "--all"]
    if strict:
        cmd += ["-W", "--keep-going"]
    subprocess.run(cmd, check=True)
    index = root / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"jupyter-book finished but {index} is missing")
    return index


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"-p expects name=value, got {item!r}")
        out[key] = CommandLineValue(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nar_utils.reproduce.runner",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_book = sub.add_parser("book", help="execute all notebooks, then build the HTML book")
    p_book.add_argument("--profile", default="cpu", help="notebooks/params/<profile>.yaml")
    p_run = sub.add_parser("run", help="execute one notebook")
    p_run.add_argument("notebook")
    p_run.add_argument("-p", "--param", action="append", default=[], help="name=value")
    p_run.add_argument("--profile", default=None)
    sub.add_parser("build", help="build the HTML book from the executed notebooks")
    p_ref = sub.add_parser("reference", help="execute the chapters again into tests/reference/ "
                           "(what the nbval tests compare with) and print the cells that changed")
    p_ref.add_argument("notebooks", nargs="*", help="only these chapters (default: all)")
    p_ref.add_argument("--set", dest="sets", action="append", default=None,
                       choices=("table", "embedded"), help="only this set (repeatable)")
    args = parser.parse_args(argv)

    try:
        return _run_command(args)
    except (ParameterError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run_command(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.command == "book":
        run_all(args.profile)
        index = build_book()
        print(f"[runner] book built in {time.perf_counter() - start:.1f} s: {index}")
    elif args.command == "run":
        params = load_profile(args.profile).get(Path(args.notebook).stem, {}) \
            if args.profile else {}
        params.update(_parse_overrides(args.param))
        out = run_notebook(args.notebook, params)
        print(f"[runner] executed notebook: {out}")
    elif args.command == "reference":
        from nar_utils.reproduce import reference

        changed = reference.regenerate(tuple(args.sets or reference.SETS), args.notebooks)
        print(f"[runner] {changed} reference notebook(s) changed in "
              f"{time.perf_counter() - start:.0f} s" +
              ("; commit tests/reference/ with the change that caused them" if changed else ""))
    else:
        index = build_book()
        print(f"[runner] book built: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
