"""Sweeps never pass off a result of other inputs as complete, never share or clobber a run
directory, and never write into an output directory another sweep is writing to.

The notebook is a tiny one the tests write, and the runner is replaced by a fake that writes
the executed copy and a record the way a notebook does, so that the tests run in seconds;
``test_grid.py`` executes real notebooks.
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nar_utils.reproduce import grid, records

PARAMETERS = ("seed = 0  # the run's seed\n"
              "tag = ''  # a fixed value")


def _write_notebook(path, extra_cell=None):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# A tiny sweep target"), params, new_code_cell("x = 2 * seed")]
    if extra_cell:
        nb.cells.append(new_code_cell(extra_cell))
    nbformat.write(nb, path)
    return path


@pytest.fixture
def calls(monkeypatch):
    """The parameters of every run the fake runner executed, in order."""
    executed = []

    def run_notebook(name, parameters=None, output_dir=None, progress=True, **_):
        path, out = Path(name), Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        executed.append(dict(parameters))
        (out / path.name).write_text(path.read_text())
        records.write_record(out, notebook=path.name, parameters=dict(parameters),
                             metrics={"twice": 2 * parameters["seed"]})
        return out / path.name

    monkeypatch.setattr(grid.runner, "run_notebook", run_notebook)
    return executed


@pytest.fixture
def sweep(tmp_path, monkeypatch):
    """A grid file over seeds 0 and 1 and a data directory the runs read ($NAR_DATA_DIR)."""
    data = tmp_path / "data"
    (data / "nb201").mkdir(parents=True)
    (data / "nb201" / "nb201.csv.gz").write_bytes(b"table v1")
    monkeypatch.setenv("NAR_DATA_DIR", str(data))
    _write_notebook(tmp_path / "tiny.ipynb")
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"notebook": "tiny.ipynb", "fixed": {"tag": "a"},
                                    "grid": {"seed": [0, 1]}}))
    return path


def _run(path, out, **options):
    return grid.run_grid(path, out, progress=False, **options)


def _statuses(report):
    return [r.status for r in report.results]


def test_a_result_of_other_data_notebook_or_code_is_stale_and_run_again(sweep, calls,
                                                                         tmp_path,
                                                                         monkeypatch):
    out = tmp_path / "runs"
    assert _statuses(_run(sweep, out)) == ["ok", "ok"] and len(calls) == 2
    assert _statuses(_run(sweep, out)) == ["skipped", "skipped"] and len(calls) == 2
    record = grid.grid_records(out, "tiny")[0]
    data = record["identity"]["data"]
    assert data["source"] == "directory" and data["path"] == str((tmp_path / "data").resolve())
    assert record["identity"]["data_files"] == {
        "nb201/nb201.csv.gz": [8, (tmp_path / "data/nb201/nb201.csv.gz").stat().st_mtime_ns]}

    # The table was replaced: both results came from the old one.
    (tmp_path / "data" / "nb201" / "nb201.csv.gz").write_bytes(b"table v2, longer")
    report = _run(sweep, out)
    assert _statuses(report) == ["ok", "ok"] and len(calls) == 4
    assert len(report.stale) == 2
    summary = report.summary()
    assert "2 re-run because their earlier result was stale" in summary
    assert "re-ran stale tiny/seed=0__fixed-" in summary
    assert "nb201/nb201.csv.gz" in summary and "modified" in summary
    assert grid.grid_records(out, "tiny")[0]["replaced_stale"]

    # Another data source altogether: the embedded one.
    monkeypatch.setenv("NAR_DATA_DIR", "embedded")
    report = _run(sweep, out)
    assert len(report.stale) == 2 and len(calls) == 6
    assert "the data source changed: directory" in report.stale[0].stale
    assert "-> embedded (analog-nasbench " in report.stale[0].stale
    assert _statuses(_run(sweep, out)) == ["skipped", "skipped"]

    # The notebook changed.
    _write_notebook(tmp_path / "tiny.ipynb", extra_cell="y = 3")
    report = _run(sweep, out)
    assert len(report.stale) == 2 and "the notebook tiny.ipynb changed" in report.stale[0].stale

    # The package's sources changed.
    monkeypatch.setattr(grid, "code_identity", lambda: {"nar_utils_sha256": "edited"})
    report = _run(sweep, out)
    assert len(report.stale) == 2 and "the nar_utils sources changed" in report.stale[0].stale
    assert len(calls) == 10

    # A record written before records carried an identity cannot be trusted either.
    record_file = Path(grid.grid_records(out, "tiny")[0]["path"])
    old = json.loads(record_file.read_text())
    del old["identity"]
    record_file.write_text(json.dumps(old))
    report = _run(sweep, out)
    assert sorted(_statuses(report)) == ["ok", "skipped"]
    assert "carries no run identity" in report.stale[0].stale


def test_on_stale_refuse_names_the_stale_runs_and_runs_nothing(sweep, calls, tmp_path,
                                                              capsys):
    out = tmp_path / "runs"
    _run(sweep, out)
    (tmp_path / "data" / "nb201" / "extra.csv").write_text("new file")
    assert grid.main([str(sweep), "--out", str(out), "--no-progress",
                      "--on-stale", "refuse"]) == 2
    err = capsys.readouterr().err
    assert "2 runs under" in err and "(stale)" in err and "nothing ran" in err
    assert "tiny/seed=1__fixed-" in err and "added nb201/extra.csv" in err
    assert "--on-stale rerun" in err
    assert len(calls) == 2
    # The default runs them again and says so.
    assert grid.main([str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 stale (run again)" in printed and "[grid] re-ran stale tiny/seed=0" in printed
    assert len(calls) == 4


def test_sweeps_that_differ_only_in_fixed_values_keep_their_own_runs(sweep, calls, tmp_path):
    out = tmp_path / "runs"
    other = tmp_path / "other.yaml"
    other.write_text(sweep.read_text().replace("tag: a", "tag: b"))
    first, second = _run(sweep, out), _run(other, out)
    assert _statuses(first) == _statuses(second) == ["ok", "ok"]
    assert not {r.run_dir for r in first.results} & {r.run_dir for r in second.results}
    # Neither overwrote the other: both are still complete.
    assert _statuses(_run(sweep, out)) == _statuses(_run(other, out)) == ["skipped"] * 2
    assert sorted(r["overrides"]["tag"] for r in grid.grid_records(out, "tiny")) == \
        ["a", "a", "b", "b"]
    assert len(calls) == 4


def test_a_run_directory_that_cannot_be_written_fails_only_that_run(sweep, calls, tmp_path):
    out = tmp_path / "runs"
    planned = grid.plan_runs(grid.load_grid(sweep), out)
    blocked = Path(planned[0].run_dir)
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the run directory should be")
    report = _run(sweep, out)
    assert _statuses(report) == ["failed", "ok"] and not report.ok
    assert f"cannot write its run directory {blocked}" in report.results[0].error
    assert "FAILED tiny/seed=0__fixed-" in report.summary()
    assert len(calls) == 1


def test_inputs_that_change_after_planning_are_recorded_as_they_ran(sweep, calls, tmp_path):
    planned = grid.plan_runs(grid.load_grid(sweep), tmp_path / "runs")[0]
    (tmp_path / "data" / "nb201" / "nb201.csv.gz").write_bytes(b"table v2, longer")
    result = grid.execute_run(planned)
    assert result.status == "ok"
    assert "changed after the sweep was planned" in result.note and "modified" in result.note
    # The record holds the identity the run saw, so the result is complete for the new data.
    assert grid.is_complete(grid.plan_runs(grid.load_grid(sweep), tmp_path / "runs")[0])


def test_a_second_sweep_into_a_locked_out_directory_is_refused(sweep, calls, tmp_path,
                                                              capsys):
    out = tmp_path / "runs"
    lock_file = out / grid.LOCK_NAME
    with grid.SweepLock(out, command="the first sweep"):
        assert json.loads(lock_file.read_text())["pid"] == os.getpid()
        assert grid.main([str(sweep), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"its lock file {lock_file} is held by pid {os.getpid()} on host " \
               f"{socket.gethostname()}" in err
        assert "(the first sweep)" in err and "another --out" in err
        assert calls == []
    assert not lock_file.exists()  # released on exit
    assert grid.main([str(sweep), "--out", str(out), "--no-progress"]) == 0
    assert len(calls) == 2 and not lock_file.exists()


def test_the_lock_of_a_live_process_holds_and_a_dead_ones_is_taken_over(sweep, calls,
                                                                         tmp_path):
    out = tmp_path / "runs"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from nar_utils.reproduce import grid; "
         "grid.SweepLock(sys.argv[1], 'held elsewhere').acquire(); print('held', flush=True); "
         "sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(grid.SweepLockedError, match=f"held by pid {holder.pid} on host"):
            _run(sweep, out)
    finally:
        holder.kill()  # dies without releasing: the lock file stays behind
        holder.wait(timeout=60)
    assert json.loads((out / grid.LOCK_NAME).read_text())["pid"] == holder.pid
    report = _run(sweep, out)
    assert report.ok and len(calls) == 2
    assert f"took over the lock {out / grid.LOCK_NAME} left by pid {holder.pid}" in \
        report.summary()
    assert not (out / grid.LOCK_NAME).exists()


def test_a_lock_left_by_another_host_is_refused_with_how_to_clear_it(sweep, calls, tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    lock_file = out / grid.LOCK_NAME
    lock_file.write_text(json.dumps({"pid": 4242, "host": "elsewhere.invalid",
                                     "started": "2024-01-31T10:00:00+00:00"}))
    with pytest.raises(grid.SweepLockedError) as refused:
        _run(sweep, out)
    message = str(refused.value)
    assert "pid 4242 on host elsewhere.invalid" in message
    assert f"delete {lock_file}" in message and calls == []
    lock_file.unlink()
    assert _run(sweep, out).ok
