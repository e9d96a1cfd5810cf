"""A relative data directory means the same folder wherever the code runs: it is taken from
the directory the command was started in ($NAR_START_DIR), not from the notebook's folder
where papermill runs a kernel."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nar_utils.benchmarks import datadir


@pytest.fixture
def started_in(tmp_path, monkeypatch):
    """A command started in ``tmp_path`` whose code runs in ``tmp_path/notebooks`` (as a
    kernel papermill starts there), with data in ``tmp_path/my-data``."""
    (tmp_path / "my-data").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.setenv(datadir.ENV_START_DIR, str(tmp_path))
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path


def test_a_relative_env_path_is_taken_from_where_the_command_started(started_in, monkeypatch):
    monkeypatch.setenv(datadir.ENV_DATA_DIR, "my-data")
    assert datadir.resolve_data_dir() == started_in / "my-data"
    assert datadir.require_data_dir(holds="x") == started_in / "my-data"


def test_a_relative_argument_too(started_in):
    assert datadir.resolve_data_dir("my-data") == started_in / "my-data"
    # from the notebook's folder '../my-data' would be the data; from the start it is not
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        datadir.resolve_data_dir("../my-data")


def test_a_missing_relative_directory_says_where_it_was_looked_for(started_in, monkeypatch):
    monkeypatch.setenv(datadir.ENV_DATA_DIR, "elsewhere")
    for call in (datadir.resolve_data_dir, lambda: datadir.require_data_dir(holds="x")):
        with pytest.raises(FileNotFoundError, match=f"taken from '{started_in}'"):
            call()


def test_without_a_recorded_start_the_current_directory_is_it(tmp_path, monkeypatch):
    monkeypatch.delenv(datadir.ENV_START_DIR, raising=False)
    (tmp_path / "my-data").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(datadir.ENV_DATA_DIR, "my-data")
    assert datadir.resolve_data_dir() == tmp_path / "my-data"
    assert datadir.start_dir() == tmp_path


def test_recording_the_start_keeps_an_enclosing_one(tmp_path, monkeypatch):
    monkeypatch.delenv(datadir.ENV_START_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert datadir.record_start_dir() == tmp_path
    assert os.environ[datadir.ENV_START_DIR] == str(tmp_path)
    (tmp_path / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "inner")
    assert datadir.record_start_dir() == tmp_path  # a nested run keeps the outer start


def test_a_relative_start_directory_is_refused(monkeypatch):
    monkeypatch.setenv(datadir.ENV_START_DIR, "somewhere")
    with pytest.raises(ValueError, match="must be an absolute path"):
        datadir.start_dir()


def test_a_child_process_in_another_folder_finds_the_same_directory(started_in, monkeypatch):
    """What a notebook kernel sees: the environment of the process that started it, its own
    working directory."""
    monkeypatch.setenv(datadir.ENV_DATA_DIR, "my-data")
    code = ("from nar_utils.benchmarks import datadir; print(datadir.resolve_data_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=started_in / "notebooks",
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(started_in / "my-data")


def test_data_required_fails_a_configured_but_missing_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(datadir.ENV_DATA_DIR, raising=False)
    assert not datadir.data_required(None)  # nothing configured: the embedded default
    assert not datadir.data_required(None, "embedded")
    monkeypatch.setenv(datadir.ENV_DATA_DIR, str(tmp_path / "mistyped"))
    assert datadir.data_required(None)  # configured, so meant to hold the data
    assert not datadir.data_required(False) and datadir.data_required(True, "embedded")
    with pytest.raises(TypeError, match="True, False or None"):
        datadir.data_required("no")
