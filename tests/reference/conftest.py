"""nbval executes every reference notebook here again and compares its outputs (how they were
made and what is masked: ``nar_utils/reproduce/reference.py``, ``sanitize.cfg``).

Each notebook's kernel starts in the environment of a reference execution: its records go
to a temporary run folder named after the set and seeded with the set's stored records (so
that chapter 10 reads the same records whether it runs alone or after the others), and
torch and LightGBM use ``reference.THREADS`` threads. The ``table`` set needs the NB201
table: without a data directory its cells are skipped, saying so.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest

from nar_utils.reproduce import reference

HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    if getattr(config.option, "nbval_sanitize_with", None) is None:
        config.option.nbval_sanitize_with = str(reference.SANITIZE_FILE)


def _nbval_cell(item) -> bool:
    from nbval.plugin import IPyNbCell

    return isinstance(item, IPyNbCell) and Path(item.path).resolve().parent.parent == HERE


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _nbval_cell(item):
            item.add_marker(pytest.mark.notebooks)


def _run_root(config) -> Path:
    if not hasattr(config, "_nar_reference_runs"):
        config._nar_reference_runs = Path(tempfile.mkdtemp(prefix="nar-nbval-"))
    return config._nar_reference_runs


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's first cell starts its kernel: the reference environment."""
    if not _nbval_cell(item) or item.parent.kernel is not None:
        return
    set_name = reference.set_of(item.path)
    problem = reference.check_data(set_name)
    if problem:
        pytest.skip(problem)
    run_dir = reference.prepare_run_dir(set_name, _run_root(item.config) / set_name)
    # entered here, left in restore_after_setup (hooks cannot hold a with-block)
    item.config._nar_environment = contextlib.ExitStack()
    item.config._nar_environment.enter_context(reference.environment(run_dir))


def _restore(config):
    stack = getattr(config, "_nar_environment", None)
    if stack is not None:
        stack.close()
        config._nar_environment = None


@pytest.hookimpl(trylast=True, specname="pytest_runtest_setup")
def restore_after_setup(item):
    """The kernel has started (in pytest's setup): the test process gets its environment
    back."""
    if _nbval_cell(item):
        _restore(item.config)


def pytest_runtest_teardown(item):
    """Also when the kernel failed to start."""
    if _nbval_cell(item):
        _restore(item.config)


def pytest_unconfigure(config):
    root = getattr(config, "_nar_reference_runs", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
