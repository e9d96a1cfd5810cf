"""The one home of the data-directory rule.

Every reader finds its files under one data directory: the ``data_dir`` argument, else
``$NAR_DATA_DIR``, else none. Without one, NAS-Bench-201 falls back to the embedded source
(:func:`resolve_data_dir` returns None); data with no embedded source (NAS-Bench-101) asks
for one (:func:`require_data_dir`).

A relative path is taken from the directory the command was started in, not from wherever
the code happens to run: papermill starts each notebook's kernel in the notebook's folder,
so ``NAR_DATA_DIR=my-data make book`` would otherwise mean ``notebooks/my-data`` inside the
notebooks and ``my-data`` outside them. The process that starts kernels or workers in
another directory records where it was started in ``$NAR_START_DIR``
(:func:`record_start_dir`); without it, the current directory is the starting one.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "NAR_DATA_DIR"
#: The directory the command was started in, for processes that run elsewhere (notebook
#: kernels run in the notebook's folder): relative data directories are taken from it.
ENV_START_DIR = "NAR_START_DIR"
EMBEDDED = "embedded"


def start_dir() -> Path:
    """Where the command was started: ``$NAR_START_DIR`` when set (it must be an absolute
    path), else the current directory."""
    value = os.environ.get(ENV_START_DIR)
    if not value:
        return Path.cwd()
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(f"${ENV_START_DIR} = {value!r} must be an absolute path (the "
                         "directory the command was started in); unset it to use the "
                         "current directory")
    return path


def record_start_dir() -> Path:
    """Record the current directory as where the command was started
    (``$NAR_START_DIR``), unless an enclosing command did already, and return it. Call it
    before starting processes that run in another directory (the notebook runner before
    papermill starts a kernel); they inherit the variable."""
    if not os.environ.get(ENV_START_DIR):
        os.environ[ENV_START_DIR] = str(Path.cwd())
    return start_dir()


def absolute(value: str | os.PathLike) -> Path:
    """``value`` (``~`` expanded) as an absolute path; a relative one is taken from
    :func:`start_dir`."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else start_dir() / path


def _configured(data_dir: str | os.PathLike | None) -> tuple[str | None, str]:
    value = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
    origin = "argument data_dir" if data_dir is not None else f"${ENV_DATA_DIR}"
    return (None if value is None else str(value)), origin


def _where(value: str, path: Path) -> str:
    """How a value was read, for messages: a relative one names where it was taken from."""
    if Path(value).expanduser().is_absolute():
        return repr(value)
    return f"{value!r} (taken from {str(start_dir())!r}: {str(path)!r})"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The configured data directory: ``data_dir``, else ``$NAR_DATA_DIR``, else None
    (embedded). ``'embedded'`` forces the embedded source. A relative path is taken from the
    directory the command was started in (:func:`start_dir`)."""
    value, origin = _configured(data_dir)
    if value is None or value == EMBEDDED:
        return None
    path = absolute(value)
    if not path.is_dir():
        raise FileNotFoundError(f"{origin} = {_where(value, path)} is not a directory. Point "
                                "it at a folder holding nb201/nb201.csv.gz (see "
                                "data/README.md), or unset it to use the embedded source.")
    return path.resolve()


def require_data_dir(data_dir: str | os.PathLike | None = None, *, holds: str | os.PathLike,
                     what: str = "this data") -> Path:
    """The configured data directory, for data with no embedded source: an unset or
    missing directory is an error naming ``holds``, the file the caller looks for."""
    value, origin = _configured(data_dir)
    if value is not None and value != EMBEDDED and not absolute(value).is_dir():
        raise FileNotFoundError(f"{origin} = {_where(value, absolute(value))} is not a "
                                f"directory. Point it at a folder holding {holds} (see "
                                "data/README.md).")
    path = resolve_data_dir(data_dir)
    if path is None:
        raise FileNotFoundError(
            f"{what} is not embedded in the package: pass data_dir, or set ${ENV_DATA_DIR}, to "
            f"a data directory holding {holds}; see data/README.md.")
    return path


def is_configured(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether a data directory is asked for (``data_dir``, else ``$NAR_DATA_DIR``), whether
    or not it exists: ``'embedded'`` and nothing at all are not."""
    value, _ = _configured(data_dir)
    return value is not None and value != EMBEDDED


def data_required(require: bool | None, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether work that needs data with no embedded source must fail without it.

    ``require=True``: always; ``False``: never (the caller shows what it can without);
    ``None``: when a data directory is configured, since then it was meant to hold the data and
    a mistyped path or a missing file is an error, not a reason to skip quietly."""
    if require is not None and not isinstance(require, bool):
        raise TypeError(f"require must be True, False or None, got {require!r}")
    return is_configured(data_dir) if require is None else require
