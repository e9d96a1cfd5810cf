"""Lazy attributes of a package: submodules and names that load on first use, so that
``import nar_utils`` stays light (no torch, no pandas) until a reader asks for more."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Mapping


def lazy(package: str, submodules: Iterable[str] = (),
         names: Mapping[str, str] | None = None) -> tuple[Callable[[str], Any],
                                                         Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``submodules`` by name, and ``names``
    mapped to the module (relative to ``package``) that defines them."""
    submodules, names = tuple(submodules), dict(names or {})

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(submodules) | set(names))

    return __getattr__, __dir__
