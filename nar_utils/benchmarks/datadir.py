"""The one home of the data-directory rule.

Every reader finds its files under one data directory: the ``data_dir`` argument, else
``$NAR_DATA_DIR``, else none. Without one, NAS-Bench-201 falls back to the embedded source
(:func:`resolve_data_dir` returns None); data with no embedded source (NAS-Bench-101) asks
for one (:func:`require_data_dir`). A relative path is taken from the current directory.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_DIR = "NAR_DATA_DIR"
EMBEDDED = "embedded"


def _configured(data_dir: str | os.PathLike | None) -> tuple[str | None, str]:
    value = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
    origin = "argument data_dir" if data_dir is not None else f"${ENV_DATA_DIR}"
    return (None if value is None else str(value)), origin


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The configured data directory: ``data_dir``, else ``$NAR_DATA_DIR``, else None
    (embedded). ``'embedded'`` forces the embedded source."""
    value, origin = _configured(data_dir)
    if value is None or value == EMBEDDED:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{origin} = {value!r} is not a directory. Point it at a "
                                "folder holding nb201/nb201.csv.gz (see data/README.md), or "
                                f"unset it to use the embedded source.")
    return path.resolve()


def require_data_dir(data_dir: str | os.PathLike | None = None, *, holds: str | os.PathLike,
                     what: str = "this data") -> Path:
    """The configured data directory, for data with no embedded source: an unset or
    missing directory is an error naming ``holds``, the file the caller looks for."""
    value, origin = _configured(data_dir)
    if value is not None and value != EMBEDDED and not Path(value).expanduser().is_dir():
        raise FileNotFoundError(f"{origin} = {value!r} is not a directory. Point it at a "
                                f"folder holding {holds} (see data/README.md).")
    path = resolve_data_dir(data_dir)
    if path is None:
        raise FileNotFoundError(
            f"{what} is not embedded in the package: pass data_dir, or set ${ENV_DATA_DIR}, to "
            f"a data directory holding {holds}; see data/README.md.")
    return path
