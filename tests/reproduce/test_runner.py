"""The papermill runner and run records, on tiny notebooks the tests write."""
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from nar_utils import runtime
from nar_utils.reproduce import records, runner


def _notebook(path, params_src, body_src):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = new_code_cell(params_src)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, new_code_cell(body_src)]
    nbformat.write(nb, path)
    return path


def test_parameters_are_read_from_the_tagged_cell(tmp_path):
    nb = _notebook(tmp_path / "01_t.ipynb", "seed = 0  # seed\nname = 'a'\nsizes = [1, 2]", "")
    assert runner.notebook_parameters(nb) == {"seed": 0, "name": "a", "sizes": [1, 2]}


def test_parameters_cell_must_be_flat_literals(tmp_path):
    nb = _notebook(tmp_path / "01_t.ipynb", "seed = 0\nimport os", "")
    with pytest.raises(ValueError, match="line 2"):
        runner.notebook_parameters(nb)


def test_unknown_parameter_is_refused_before_running(tmp_path):
    nb = _notebook(tmp_path / "01_t.ipynb", "seed = 0", "raise SystemExit('must not run')")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) sed.*parameters are: seed"):
        runner.run_notebook(nb, {"sed": 1}, output_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "01_t.ipynb").exists()


def test_run_injects_parameters_and_writes_record(tmp_path):
    body = ("import nar_utils as nar\n"
            "records = nar.reproduce.records\n"
            "records.write_record(records.record_path('01_t'), notebook='01_t.ipynb',\n"
            "    parameters={'seed': seed}, metrics={'twice': 2 * seed})")
    nb = _notebook(tmp_path / "01_t.ipynb", "seed = 0", body)
    out = runner.run_notebook(nb, {"seed": 21}, output_dir=tmp_path / "out", progress=False)
    assert out.is_file()
    (record,) = records.read_records(tmp_path / "out")
    assert record["parameters"] == {"seed": 21} and record["metrics"] == {"twice": 42}
    for key in ("git_sha", "git_dirty", "device", "packages", "started", "finished"):
        assert key in record
    assert record["packages"]["numpy"]


def test_failing_notebook_leaves_its_error_notebook(tmp_path):
    import papermill as pm

    nb = _notebook(tmp_path / "01_t.ipynb", "seed = 0", "raise RuntimeError('boom 17')")
    with pytest.raises(pm.PapermillExecutionError, match="boom 17"):
        runner.run_notebook(nb, {}, output_dir=tmp_path / "out", progress=False)
    executed = json.loads((tmp_path / "out" / "01_t.ipynb").read_text())
    assert "boom 17" in json.dumps(executed)


def test_profiles_name_real_notebooks_and_parameters():
    notebooks = {p.stem: p for p in runner.notebook_paths()}
    assert "01_data" in notebooks
    for profile in ("cpu", "gpu", "ci"):
        for name, overrides in runner.load_profile(profile).items():
            assert name in notebooks, f"{profile}.yaml names unknown notebook {name}"
            runner.check_parameters(notebooks[name], overrides)


def test_unknown_profile_lists_choices():
    with pytest.raises(FileNotFoundError, match="cpu"):
        runner.load_profile("tpu")


def test_record_serialises_numpy_and_nan(tmp_path):
    import numpy as np

    path = records.write_record(tmp_path, notebook="x.ipynb", parameters={"a": np.int64(3)},
                             metrics={"v": np.array([1.5, np.nan]), "f": np.float32(2)})
    data = json.loads(path.read_text())
    assert data["parameters"]["a"] == 3 and data["metrics"]["v"] == [1.5, None]


def test_seed_and_device_helpers():
    import numpy as np

    assert runtime.seed_everything(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert runtime.try_device("cpu") == "cpu" and runtime.try_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="valid"):
        runtime.try_device("tpu")
    with pytest.raises(TypeError):
        runtime.seed_everything(1.5)


def test_capture_parameters_reads_the_parameters_cell_names(tmp_path):
    path = tmp_path / "99_toy.ipynb"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("seed = 0  # the seed\nsizes = [1, 2]  # sizes")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("derived = 3")]
    nbformat.write(nb, path)
    namespace = {"seed": 7, "sizes": [4], "derived": 3, "nar": object()}
    params = records.capture_parameters(str(path), namespace)
    assert params == {"seed": 7, "sizes": [4]}  # injected values, parameter names only
    namespace["sizes"].append(5)
    assert params["sizes"] == [4]  # a copy: later changes in the notebook do not leak in
    with pytest.raises(NameError, match="seed.*not defined yet"):
        records.capture_parameters(str(path), {"sizes": []})


def _typed_notebook(tmp_path):
    return _notebook(tmp_path / "01_t.ipynb",
                     "hp_low = '12'  # a string\nseed = 0  # an int\nlr = 0.1  # a float\n"
                     "flag = True  # a bool\nseeds = [0, 1]  # ints\ndata_dir = None  # any",
                     "raise SystemExit('must not run')")


@pytest.mark.parametrize("name, text, expected", [
    ("hp_low", "12", "12"),          # YAML would read an int; the parameter is a string
    ("hp_low", "0123", "0123"),      # ... and an octal-looking one keeps its digits
    ("seed", "3", 3),
    ("lr", "1e-3", 0.001),           # YAML would read a string
    ("lr", "2", 2.0),
    ("flag", "false", False),
    ("seeds", "[2, 3]", [2, 3]),
    ("data_dir", "/tmp/x", "/tmp/x"),
    ("data_dir", "null", None),
])
def test_command_line_values_take_the_declared_type(tmp_path, name, text, expected):
    nb = _typed_notebook(tmp_path)
    checked = runner.check_parameters(nb, runner._parse_overrides([f"{name}={text}"]))
    assert checked == {name: expected} and type(checked[name]) is type(expected)


@pytest.mark.parametrize("name, value", [
    ("seed", 1.5), ("seed", True), ("seed", "3"), ("lr", "fast"), ("flag", 1),
    ("hp_low", 12.0), ("hp_low", [12]), ("seeds", 3), ("seeds", [0, 1.5]), ("seeds", [True]),
])
def test_values_of_the_wrong_type_are_refused_with_name_and_type(tmp_path, name, value):
    nb = _typed_notebook(tmp_path)
    with pytest.raises(runner.ParameterError, match=rf"01_t.ipynb: parameter '{name}.*expects"):
        runner.check_parameters(nb, {name: value})


def test_typed_values_from_profiles_are_coerced_where_unambiguous(tmp_path):
    nb = _typed_notebook(tmp_path)
    assert runner.check_parameters(nb, {"hp_low": 12, "lr": 1, "seeds": (4,)}) == \
        {"hp_low": "12", "lr": 1.0, "seeds": [4]}


def test_bad_parameter_on_the_command_line_exits_2_before_running(tmp_path, capsys):
    nb = _typed_notebook(tmp_path)
    huge = "9" * 100_000 + ".5"
    assert runner.main(["run", str(nb), "-p", f"seed={huge}"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'seed' expects int" in err and len(err) < 500
    assert runner.main(["run", str(nb), "-p", "sed=1"]) == 2
    assert "unknown parameter(s) sed" in capsys.readouterr().err
    assert not (runner.OUTPUT_DIR / "01_t.ipynb").exists()


def test_records_carry_the_torch_thread_count(tmp_path):
    import torch

    path = records.write_record(tmp_path, notebook="x.ipynb", parameters={}, metrics={})
    assert json.loads(path.read_text())["torch_threads"] == torch.get_num_threads()


def test_relative_data_dir_means_where_the_command_started(tmp_path, monkeypatch):
    """The kernel runs in the notebook's folder; NAR_DATA_DIR=rel still means ./rel."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "rel-data").mkdir()
    body = ("import nar_utils as nar\n"
            "records = nar.reproduce.records\n"
            "found = str(nar.benchmarks.datadir.resolve_data_dir())\n"
            "records.write_record(records.record_path('01_t'), notebook='01_t.ipynb',\n"
            "    parameters={'seed': seed}, metrics={'data_dir': found})")
    nb = _notebook(tmp_path / "notebooks" / "01_t.ipynb", "seed = 0", body)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAR_DATA_DIR", "rel-data")
    monkeypatch.delenv("NAR_START_DIR", raising=False)
    runner.run_notebook(nb, {}, output_dir=tmp_path / "out", progress=False)
    (record,) = records.read_records(tmp_path / "out")
    assert record["metrics"]["data_dir"] == str((tmp_path / "rel-data").resolve())
    assert "NAR_START_DIR" not in os.environ  # restored after the run



def test_chapters_run_at_once_from_one_folder_print_no_kernel_warnings(tmp_path):
    """Kernels talk over Unix sockets in a private folder per run: three chapters started at
    once from the same folder (as a sweep's workers do) all finish, and no kernel warns about
    unencrypted TCP traffic or prints an error."""
    notebooks = [_notebook(tmp_path / f"0{i}_t.ipynb", "seed = 0",
                           "import time\ntime.sleep(2)\nprint(seed + 1)") for i in range(1, 4)]
    script = ("import sys\nfrom nar_utils.reproduce import runner\n"
              "runner.run_notebook(sys.argv[1], {}, output_dir=sys.argv[2], progress=False)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(nb), str(tmp_path / nb.stem)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for nb in notebooks]
    for proc, nb in zip(procs, notebooks):
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        assert "WARNING" not in err and "ERROR" not in err, err[-1000:]
        executed = nbformat.read(tmp_path / nb.stem / nb.name, as_version=4)
        assert executed.cells[-1].outputs[0]["text"] == "1\n"
    assert not list(tmp_path.glob("kernel-ipc*")), "sockets were left in the folder"
