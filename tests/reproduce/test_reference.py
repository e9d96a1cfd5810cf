"""The reference notebooks: what nbval executes again (tests/reference/), the sanitiser rules,
and the pieces of ``runner reference`` that store and compare them."""
from __future__ import annotations

import json
import os

import pytest

from nar_utils.reproduce import reference, runner

RULES = reference.sanitize_rules()


def _same(a: str, b: str) -> bool:
    return reference.sanitize(a, RULES) == reference.sanitize(b, RULES)


@pytest.mark.parametrize("a, b", [
    ("cifar10 seed 0 mlp tau 0.684 fit 1.0 s", "cifar10 seed 0 mlp tau 0.684 fit 12.3 s"),
    (" darts-v1 seed 0:    0.2 s, 1 epochs", " darts-v1 seed 0:   10.2 s, 1 epochs"),
    ('<td class="data row0 col9" >0.25 s</td>', '<td class="data row0 col9" >1.31 s</td>'),
    ("latency 3.10 ms", "latency 12.96 ms"),
    ("  line y [0.13 s, 0.09 s]", "  line y [0.2 s, 0.11 s]"),
    ("mean=6.3e-05 s sd", "mean=7.1e-05 s sd"),
    ("loaded from /work/shared/data/nb201/nb201.csv.gz", "loaded from /ci/data/nb201/nb201.csv.gz"),
    ("finished 2026-12-05T16:13:30+00:00", "finished 2027-01-01T00:00:00.123+00:00"),
    ("<pandas.io.formats.style.Styler at 0x7ff8a7f7bfd0>",
     "<pandas.io.formats.style.Styler at 0x7fd81d616390>"),
    ("git g5526a779", "git g0a1b2c3d"),
])
def test_the_sanitiser_masks_what_varies_between_runs(a, b):
    assert a != b and _same(a, b)


@pytest.mark.parametrize("a, b", [
    ("tau 0.684 fit 1.0 s", "tau 0.685 fit 1.0 s"),  # a number beside a timing
    ("valid 10.08 %, 0.14 s / epoch", "valid 10.09 %, 0.14 s / epoch"),
    ("5 seeds", "6 seeds"),
    ("count 12345678", "count 12345679"),  # an 8-digit number is not a commit
    ("test 93.60 with 100 queries", "test 93.60 with 101 queries"),
    ("<path>/nb201.csv.gz", "<path>/nb101.csv.gz"),  # the file named is kept
    ("https://arxiv.org/abs/2201.12725", "https://arxiv.org/abs/2201.12726"),
    ("  line y n=200 min=0.1 mean=0.5", "  line y n=200 min=0.1 mean=0.6"),
])
def test_the_sanitiser_keeps_every_number_it_is_not_about(a, b):
    assert not _same(a, b)


def test_the_sanitize_file_holds_one_commented_rule_per_section():
    text = reference.SANITIZE_FILE.read_text()
    sections = [line for line in text.splitlines() if line.startswith("[")]
    assert sections == ["[timings]", "[paths]", "[dates]", "[addresses]", "[commits]"]
    assert len(RULES) == len(sections)
    for block in text.split("\n[")[1:]:
        assert "\n# " in block, f"rule [{block.split(']')[0]}] does not say why it is needed"


def _executed(outputs, parameters=None):
    return {"cells": [{"cell_type": "code", "source": "print(1)", "execution_count": 1,
                       "metadata": {"papermill": {"duration": 0.2}, "execution": {"a": 1}},
                       "outputs": outputs}],
            "metadata": {"papermill": {"parameters": parameters or {}, "duration": 3.1,
                                       "input_path": "/somewhere/01_data.ipynb"}}}


def test_strip_keeps_text_and_parameters_and_drops_images_and_run_timings():
    nb = _executed([{"output_type": "display_data", "metadata": {"image/png": {"w": 1}},
                     "data": {"image/png": "iVBOR", "text/plain": "<Figure>",
                              "text/x-nar-figure-data": "axes 0:\n"}}], {"seed": 0})
    stored = reference.strip(nb)
    (cell,) = stored["cells"]
    assert cell["metadata"] == {}
    assert cell["outputs"][0]["data"] == {"text/plain": "<Figure>",
                                          "text/x-nar-figure-data": "axes 0:\n"}
    assert stored["metadata"]["papermill"] == {"parameters": {"seed": 0}}
    assert "image/png" in nb["cells"][0]["outputs"][0]["data"]  # the input is left alone


def test_changed_cells_shows_a_changed_number_and_ignores_a_changed_timing():
    def stream(text):
        return _executed([{"output_type": "stream", "name": "stdout", "text": text}])

    old = stream("tau 0.684 fit 1.0 s\n")
    assert reference.changed_cells(old, stream("tau 0.684 fit 2.2 s\n"), RULES) == []
    (change,) = reference.changed_cells(old, stream("tau 0.701 fit 1.0 s\n"), RULES)
    assert change.startswith("code cell 0:")
    assert "-tau 0.684 fit <time>" in change and "+tau 0.701 fit <time>" in change
    # streams split at other places are the same output
    split = _executed([{"output_type": "stream", "name": "stdout", "text": "tau 0.684 "},
                       {"output_type": "stream", "name": "stdout", "text": "fit 1.0 s\n"}])
    assert reference.changed_cells(old, split, RULES) == []


@pytest.mark.parametrize("set_name", reference.SETS)
def test_every_chapter_has_a_reference_made_from_its_current_code(set_name):
    """nbval executes the stored copies: a chapter edited, or a CI profile changed, without
    regenerating its references would leave the tests checking old code."""
    folder = reference.set_dir(set_name)
    stored = sorted(p.name for p in folder.glob("*.ipynb"))
    assert stored == [p.name for p in runner.notebook_paths()], \
        f"tests/reference/{set_name}/ is not one copy per chapter: run `make reference`"
    for path in runner.notebook_paths():
        ref = json.loads((folder / path.name).read_text())
        source = json.loads(path.read_text())
        params = reference.parameters(set_name, path)
        assert ref["metadata"]["papermill"]["parameters"] == params, \
            f"{set_name}/{path.name} ran with other parameters than the CI profile's " \
            f"now: run `make reference`"
        ref_code = [c for c in ref["cells"] if c["cell_type"] == "code"
                    and "injected-parameters" not in c["metadata"].get("tags", [])]
        src_code = [c for c in source["cells"] if c["cell_type"] == "code"]
        assert len(ref_code) == len(src_code), f"{set_name}/{path.name}: run `make reference`"
        for k, (a, b) in enumerate(zip(ref_code, src_code)):
            assert "".join(a["source"]) == "".join(b["source"]), \
                f"code cell {k} of notebooks/{path.name} changed since its reference in " \
                f"tests/reference/{set_name}/: run `make reference` and commit what it prints"
        records = json.loads((folder / reference.RECORDS / f"{path.stem}.json").read_text())
        assert records["torch_threads"] == reference.THREADS


def test_the_reference_run_folder_starts_with_the_stored_records(tmp_path):
    run_dir = reference.prepare_run_dir("embedded", tmp_path / "embedded")
    names = sorted(p.name for p in run_dir.glob("*.json"))
    assert names == sorted(f"{p.stem}.json" for p in runner.notebook_paths())
    assert reference.kernel_environment(run_dir) == {
        "NAR_RUN_DIR": str(run_dir.resolve()), "OMP_NUM_THREADS": str(reference.THREADS)}


def test_an_unknown_set_and_a_missing_table_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no reference set 'tabel'; sets: table, embedded"):
        reference.set_dir("tabel")
    monkeypatch.setenv("NAR_DATA_DIR", str(tmp_path))
    assert "holding nb201/nb201.csv.gz" in reference.check_data("table")
    monkeypatch.setenv("NAR_DATA_DIR", str(tmp_path / "missing"))
    assert "is not a directory" in reference.check_data("table")
    assert reference.check_data("embedded") is None
    with pytest.raises(FileNotFoundError, match="NAR_DATA_DIR"):
        reference.regenerate(("table",), root=tmp_path)


def test_regenerate_stores_new_and_changed_notebooks_only(tmp_path, monkeypatch):
    """``runner reference`` with the execution replaced by a stand-in printing ``text``."""
    import shutil

    from nar_utils.reproduce import records

    shutil.copy(reference.SANITIZE_FILE, tmp_path / reference.SANITIZE_FILE.name)
    printed = {"text": "tau 0.684 fit 1.0 s\n", "metrics": {"tau": 0.684}}
    seen_env = []

    def fake_run(path, parameters, output_dir, progress):
        seen_env.append((os.environ["NAR_RUN_DIR"], os.environ["OMP_NUM_THREADS"]))
        nb = _executed([{"output_type": "stream", "name": "stdout", "text": printed["text"]}],
                       parameters)
        out = output_dir / path.name
        out.write_text(json.dumps(nb))
        records.write_record(output_dir / f"{path.stem}.json", notebook=path.name,
                             parameters=parameters, metrics=printed["metrics"])
        return out

    monkeypatch.setattr(reference.runner, "run_notebook", fake_run)
    said = []
    stored = tmp_path / "embedded" / "01_data.ipynb"
    assert reference.regenerate(("embedded",), ["01_data"], root=tmp_path, say=said.append) == 1
    assert said == ["[reference] embedded/01_data.ipynb: new",
                    "[reference] embedded/records/01_data.json: new"]
    assert seen_env[0][1] == str(reference.THREADS)
    assert seen_env[0][0].endswith("/embedded")  # chapter 10 shows the folder's name
    first = stored.read_text()

    printed["text"] = "tau 0.684 fit 3.4 s\n"  # only the time moved
    said.clear()
    assert reference.regenerate(("embedded",), ["01_data"], root=tmp_path, say=said.append) == 0
    assert said == ["[reference] embedded/01_data.ipynb: unchanged"]
    assert stored.read_text() == first

    printed.update(text="tau 0.702 fit 1.0 s\n", metrics={"tau": 0.702})
    said.clear()
    assert reference.regenerate(("embedded",), ["01_data"], root=tmp_path, say=said.append) == 1
    assert said[0] == "[reference] embedded/01_data.ipynb: 1 cell(s) changed"
    assert "-tau 0.684 fit <time>" in said[1] and "+tau 0.702 fit <time>" in said[1]
    assert said[2] == "[reference] embedded/records/01_data.json: metrics changed"
    assert "0.702" in stored.read_text()


def test_a_record_names_its_commit_in_a_form_no_number_takes():
    from nar_utils.reproduce import records

    assert records.short_sha({"git_sha": "5526a779" + "0" * 32}) == "g5526a779"
    assert records.short_sha({"git_sha": None}) == "–"
    assert _same("g5526a779", "g12345678") and not _same("5526a779", "12345678")


def test_records_are_compared_without_their_measured_times():
    metrics = {"load_seconds": 0.1, "rows": [{"tau": 0.6, "fit_seconds": 1.2, "s / epoch": 0.1,
                                              "latency (ms / batch)": 3.0}],
               "search": {"time_used": 12000.0}}
    assert reference.without_times(metrics) == {"rows": [{"tau": 0.6}],
                                                "search": {"time_used": 12000.0}}
