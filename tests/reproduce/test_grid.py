"""Parameter sweeps: grid files, run directories, resume, failures, and a real Dask cluster.

The notebooks are tiny ones the tests write; each run appends its seed to a log file so the
tests can tell which runs really executed. Run identity, stale runs, the output lock and
unwritable run directories: ``test_grid_identity.py``; the parser under fuzzing:
``test_grid_fuzz.py``.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nar_utils.reproduce import grid

PARAMETERS = ("seed = 0  # the run's seed\n"
              "fail_seed = -1  # this seed raises unless fix_path exists\n"
              "fix_path = ''  # file whose existence repairs the failing seed\n"
              "log_path = ''  # every run appends its seed here")
BODY = ("import os\n"
        "import nar_utils as nar\n"
        "if log_path:\n"
        "    with open(log_path, 'a') as log:\n"
        "        log.write(f'{seed}\\n')\n"
        "if seed == fail_seed and not os.path.exists(fix_path):\n"
        "    raise RuntimeError(f'boom at seed {seed}')\n"
        "records = nar.reproduce.records\n"
        "records.write_record(records.record_path('tiny'), notebook='tiny.ipynb',\n"
        "    parameters={'seed': seed}, metrics={'twice': 2 * seed, 'parent_pid': os.getppid()})")


def _write_notebook(path):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# A tiny sweep target"), params, new_code_cell(BODY)]
    nbformat.write(nb, path)
    return path


def _write_grid(tmp_path, entries):
    _write_notebook(tmp_path / "tiny.ipynb")
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


def _logged_seeds(tmp_path):
    log = tmp_path / "log.txt"
    return sorted(int(line) for line in log.read_text().split()) if log.exists() else []


def test_run_names_are_sorted_safe_and_distinct():
    assert grid.run_name({"seed": 1, "dataset": "cifar100"}) == "dataset=cifar100__seed=1"
    assert grid.run_name({"dataset": "cifar10-valid", "lr": 0.001}) == \
        "dataset=cifar10-valid__lr=0.001"
    assert grid.run_name({"flag": True, "widths": [16, 32]}).startswith("flag=true__widths=")
    assert grid.run_name({}) == grid.DEFAULTS_NAME
    tricky = ["a/b", "a_b", "a-b", "a b", "../x", "", "ü"]
    names = [grid.run_name({"tag": value}) for value in tricky]
    assert len(set(names)) == len(tricky), names
    for name in names + [grid.run_name({"tag": "x" * 500})]:
        assert "/" not in name and " " not in name and not name.startswith(".")
        assert len(name) <= 150 and name.isascii()
    assert grid.run_name({"seed": 1}) == grid.run_name({"seed": 1})  # stable
    # A string that reads as another literal is not the literal: '1' and 1 are two runs.
    literals = [1, "1", True, "true", None, "null", 1.5, "1.5"]
    assert len({grid.run_name({"tag": value}) for value in literals}) == len(literals)
    # Unless the notebook declares the parameter a string: then every value is one.
    assert grid.run_name({"hp": "12"}, text_parameters={"hp"}) == "hp=12"
    # Fixed values name the directory by a short hash, after the axes.
    fixed = grid.run_name({"seed": 1}, {"num_epochs": 5})
    assert fixed.startswith("seed=1__fixed-") and len(fixed) == len("seed=1__fixed-") + 8
    assert fixed != grid.run_name({"seed": 1}, {"num_epochs": 6})
    assert grid.run_name({}, {"num_epochs": 5}).startswith("fixed-")
    assert len(grid.run_name({"tag": "x" * 500}, {"num_epochs": 5})) <= 150


def test_plan_names_run_directories_from_the_axes_and_the_fixed_values(tmp_path):
    path = _write_grid(tmp_path, {"notebook": "tiny.ipynb", "fixed": {"fail_seed": 5},
                                  "grid": {"seed": [0, 1], "log_path": ["x", "y"]}})
    runs = grid.plan_runs(grid.load_grid(path), tmp_path / "out")
    suffix = "__" + grid.run_name({}, {"fail_seed": 5})
    assert [os.path.relpath(r.run_dir, tmp_path / "out") for r in runs] == [
        f"tiny/log_path=x__seed=0{suffix}", f"tiny/log_path=y__seed=0{suffix}",
        f"tiny/log_path=x__seed=1{suffix}", f"tiny/log_path=y__seed=1{suffix}"]
    assert runs[3].overrides == {"fail_seed": 5, "seed": 1, "log_path": "y"}
    # A string parameter's values name directories as they are (they are never numbers).
    texts = grid.parse_grid({"notebook": "tiny.ipynb", "grid": {"fix_path": ["12", 200]}},
                            base_dir=tmp_path)
    assert [r.name for r in grid.plan_runs(texts, tmp_path / "out")] == \
        ["fix_path=12", "fix_path=200"]
    # Two entries that differ only in 'fixed' get two directories (they used to share one).
    twins = [{"notebook": "tiny.ipynb", "fixed": {"fail_seed": f}, "grid": {"seed": [0]}}
             for f in (1, 2)]
    planned = grid.plan_runs(grid.parse_grid(twins, base_dir=tmp_path), tmp_path / "out")
    assert len({r.run_dir for r in planned}) == 2
    assert [r.overrides["fail_seed"] for r in planned] == [1, 2]
    # The same run listed twice is kept once, also when one entry fixes what another sweeps.
    same = grid.parse_grid([twins[0], twins[0], {"notebook": "tiny.ipynb",
                                                 "grid": {"fail_seed": [1], "seed": [0]}}],
                           base_dir=tmp_path)
    assert len(grid.plan_runs(same, tmp_path / "out")) == 1
    # Two notebooks of one name would share directories: refused before anything runs.
    (tmp_path / "other").mkdir()
    _write_notebook(tmp_path / "other" / "tiny.ipynb")
    clash = grid.parse_grid([twins[0], {**twins[0], "notebook": "other/tiny.ipynb"}],
                            base_dir=tmp_path)
    with pytest.raises(grid.GridError, match="share the run directory"):
        grid.plan_runs(clash, tmp_path / "out")


def test_unknown_parameter_is_refused_before_any_run(tmp_path, capsys):
    log = str(tmp_path / "log.txt")
    entries = [{"notebook": "tiny.ipynb", "fixed": {"log_path": log}, "grid": {"seed": [0]}},
               {"notebook": "tiny.ipynb", "fixed": {"log_path": log}, "grid": {"sed": [1]}}]
    path = _write_grid(tmp_path, entries)
    out = tmp_path / "runs"
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) sed.*parameters are: seed"):
        grid.run_grid(path, out, progress=False)
    assert grid.main([str(path), "--out", str(out), "--no-progress"]) == 2
    assert "unknown parameter(s) sed" in capsys.readouterr().err
    # Not even the valid first entry ran.
    assert _logged_seeds(tmp_path) == [] and not out.exists()
    bad_axis = {"notebook": "tiny.ipynb", "grid": {"seed": 3}}
    with pytest.raises(ValueError, match="non-empty list"):
        grid.parse_grid(bad_axis, base_dir=tmp_path)
    with pytest.raises(ValueError, match="valid keys: notebook, fixed, grid"):
        grid.parse_grid({"notebook": "tiny.ipynb", "axes": {}}, base_dir=tmp_path)
    with pytest.raises(grid.GridError, match=r"'seed' expects int .* got str 'x'"):
        grid.parse_grid({"notebook": "tiny.ipynb", "grid": {"seed": [0, "x"]}},
                        base_dir=tmp_path)


# Malformed grid files: (file text, what the message must say). Each is refused before
# anything runs, with the file's name, the line and what is expected, and exit status 2.
MALFORMED = {
    "yaml syntax": ("notebook: tiny.ipynb\ngrid: {seed: [0, 1}\n",
                    r"line 2, column \d+: not valid YAML .*expected a mapping with keys"),
    "scalar document": ("just a sentence\n", r"line 1: expected a mapping .* got str"),
    "empty file": ("", r"the grid is empty; expected a mapping"),
    "list of numbers": ("- 1\n- 2\n", r"line 1 \(entry 0\): expected a mapping .* got int 1"),
    "unknown key": ("notebook: tiny.ipynb\nfixed: {seed: 1}\naxes: {seed: [1]}\n",
                    r"line 3: unknown key\(s\) axes; valid keys: notebook, fixed, grid"),
    "axis not a list": ("notebook: tiny.ipynb\ngrid:\n  seed: 3\n",
                        r"line 3: grid axis 'seed' must be a non-empty list of values, got 3"),
    "fixed not a mapping": ("notebook: tiny.ipynb\nfixed: [1, 2]\n",
                            r"line 2: 'fixed' must map parameter -> value .* got list"),
    "notebook not a string": ("notebook: [tiny.ipynb]\n",
                              r"line 1: 'notebook' must be a notebook name"),
    "unquoted date": ("notebook: tiny.ipynb\nfixed:\n  fix_path: 2024-01-31\n",
                      r"line 3: fixed parameter 'fix_path' = .* is a date; .*quote it"),
    "impossible date": ("notebook: tiny.ipynb\nfixed: {fix_path: 2024-13-31}\n",
                        r"not valid YAML \(ValueError: month must be in 1..12\)"),
    "non-string name": ("notebook: tiny.ipynb\ngrid: {1: [0]}\n",
                        r"line 2: parameter names in 'grid' must be strings; got int 1"),
    "recursive alias": ("notebook: tiny.ipynb\nfixed: {fix_path: &a [*a]}\n",
                        r"line 2: fixed parameter 'fix_path'\[0\] contains itself"),
    "wrong value type": ("- notebook: tiny.ipynb\n  grid: {seed: [0]}\n"
                         "- notebook: tiny.ipynb\n  grid: {seed: [zero]}\n",
                         r"line 4 \(entry 1\): tiny.ipynb: parameter 'seed' expects int"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_grid_file_is_a_clear_error_with_exit_status_2(case, tmp_path, capsys):
    text, expected = MALFORMED[case]
    _write_notebook(tmp_path / "tiny.ipynb")
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    out = tmp_path / "runs"
    with pytest.raises(grid.GridError, match=expected) as caught:
        grid.load_grid(path)
    assert str(caught.value).startswith(f"{path}")
    assert grid.main([str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"[grid] error: {path}") and "Traceback" not in err
    assert not out.exists()


def test_malformed_grid_file_from_the_command_line(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("notebook: tiny.ipynb\ngrid: {seed: [0, 1}\n")
    done = subprocess.run([sys.executable, "-m", "nar_utils.reproduce.grid", str(path),
                           "--out", str(tmp_path / "runs")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}, line 2, column" in done.stderr and "not valid YAML" in done.stderr


def test_failure_is_reported_other_runs_go_on_and_resume_reruns_only_failed(tmp_path,
                                                                             capsys):
    fixed = {"fail_seed": 1, "fix_path": str(tmp_path / "fixed"),
             "log_path": str(tmp_path / "log.txt")}
    # The failing run comes first: the other one must still run.
    path = _write_grid(tmp_path, {"notebook": "tiny.ipynb", "fixed": fixed,
                                  "grid": {"seed": [1, 0]}})
    out = tmp_path / "runs"
    assert grid.main([str(path), "--out", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "1 ok, 0 skipped (already complete), 1 failed" in printed
    seed1, seed0 = (grid.run_name({"seed": s}, fixed) for s in (1, 0))
    error_notebook = out / "tiny" / seed1 / "tiny.ipynb"
    assert f"FAILED tiny/{seed1}: cell In [" in printed
    assert "raise RuntimeError(f'boom at seed {seed}')" in printed
    assert "RuntimeError: boom at seed 1" in printed
    assert f"error notebook: {error_notebook}" in printed
    assert "boom at seed 1" in error_notebook.read_text()
    failed = json.loads((out / "tiny" / seed1 / "tiny.json").read_text())
    assert failed["status"] == "failed" and "boom at seed 1" in failed["error"]
    good = json.loads((out / "tiny" / seed0 / "tiny.json").read_text())
    assert good["status"] == "ok" and good["metrics"]["twice"] == 0 and good["seed"] == 0
    assert good["overrides"] == {**fixed, "seed": 0}
    for key in ("git_sha", "git_dirty", "device", "packages", "run_started", "run_finished",
                "started", "finished", "identity"):
        assert key in good, key
    assert good["identity"]["parameters"] == good["overrides"]
    assert set(good["identity"]["hashes"]) == {"parameters", "notebook", "code", "data"}
    assert good["packages"]["papermill"]
    assert _logged_seeds(tmp_path) == [0, 1]

    # Repair seed 1 and add seed 2: seed 0 is skipped, seeds 1 and 2 run (process pool).
    (tmp_path / "fixed").touch()
    path.write_text(yaml.safe_dump({"notebook": "tiny.ipynb", "fixed": fixed,
                                    "grid": {"seed": [1, 0, 2]}}))
    report = grid.run_grid(path, out, workers=2, progress=False)
    assert report.ok
    assert {r.label: r.status for r in report.results} == {
        f"tiny/{seed1}": "ok", f"tiny/{seed0}": "skipped",
        f"tiny/{grid.run_name({'seed': 2}, fixed)}": "ok"}
    assert _logged_seeds(tmp_path) == [0, 1, 1, 2]
    records = grid.grid_records(out, "tiny")
    assert sorted(r["metrics"]["twice"] for r in records) == [0, 2, 4]
    # Changing a fixed parameter gives another run (another directory): it is not skipped.
    changed = [r for r in grid.plan_runs(grid.parse_grid(
        {"notebook": "tiny.ipynb", "fixed": {**fixed, "fail_seed": 7}, "grid": {"seed": [0]}},
        base_dir=tmp_path), out)]
    assert not grid.is_complete(changed[0])


def test_fail_fast_cancels_the_remaining_runs(tmp_path):
    fixed = {"fail_seed": 1, "log_path": str(tmp_path / "log.txt")}
    path = _write_grid(tmp_path, {"notebook": "tiny.ipynb", "fixed": fixed,
                                  "grid": {"seed": [1, 0]}})
    report = grid.run_grid(path, tmp_path / "runs", fail_fast=True, progress=False)
    assert [r.status for r in report.results] == ["failed", "cancelled"]
    assert not report.ok and "1 failed, 1 cancelled" in report.summary()
    assert _logged_seeds(tmp_path) == [1]


def test_dask_backend_runs_a_grid_on_a_local_cluster(tmp_path):
    import distributed  # installed with the book's dependencies

    path = _write_grid(tmp_path, {"notebook": "tiny.ipynb",
                                  "fixed": {"log_path": str(tmp_path / "log.txt")},
                                  "grid": {"seed": [3, 4]}})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, resources={"GPU": 1}) as cluster, \
            distributed.Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        report = grid.run_grid(path, tmp_path / "runs", backend="dask",
                               scheduler=cluster.scheduler_address, gpus_per_run=1,
                               progress=False)
        assert report.ok, report.summary()
        with pytest.raises(RuntimeError, match="--resources GPU=1"):
            grid.run_grid(path.parent / "sweep.yaml", tmp_path / "other", backend="dask",
                          scheduler=cluster.scheduler_address, gpus_per_run=2,
                          progress=False)
    records = grid.grid_records(tmp_path / "runs")
    assert sorted(r["metrics"]["twice"] for r in records) == [6, 8]
    # Each kernel was started by a cluster worker, not by this process.
    assert {r["metrics"]["parent_pid"] for r in records} <= worker_pids
    assert _logged_seeds(tmp_path) == [3, 4]
