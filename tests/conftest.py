"""Shared fixtures: the configured data directory and benchmark sources."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import nar_utils as nar


def _data_dir() -> Path | None:
    value = os.environ.get(nar.benchmarks.ENV_DATA_DIR)
    return Path(value) if value and Path(value).is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark data directory ($NAR_DATA_DIR; CI points it at ../shared/data)."""
    path = _data_dir()
    if path is None:
        pytest.skip("needs the benchmark tables: set NAR_DATA_DIR to a data directory")
    return path


@pytest.fixture(scope="session")
def table(data_dir: Path) -> nar.benchmarks.NB201Benchmark:
    """The NB201 table source."""
    path = data_dir / nar.benchmarks.nb201.TABLE_RELPATH
    if not path.is_file():
        pytest.skip(f"no NB201 table at {path}")
    return nar.benchmarks.load_table(path)


@pytest.fixture(scope="session")
def embedded() -> nar.benchmarks.NB201Benchmark:
    """The embedded analog-nasbench source (installed with the package)."""
    return nar.load_benchmark("embedded")


@pytest.fixture(scope="session")
def built_book():
    """Execute every notebook (CI profile) and build the HTML book, once per test session."""
    from nar_utils.reproduce import runner

    return runner.run_all("ci", progress=False), runner.build_book(strict=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run torch on one thread for a module: small networks run fastest so, and CI shares its
    two cores with other work. Restores the previous setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
