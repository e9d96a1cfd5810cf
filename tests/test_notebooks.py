"""Every notebook executes end to end (CI profile) and the book builds without warnings."""
import json

import pytest

from nar_utils.reproduce import records, runner

pytestmark = [pytest.mark.notebooks, pytest.mark.book]


def test_every_notebook_executes_and_writes_a_record(built_book):
    executed, _ = built_book
    assert [p.stem for p in executed] == [p.stem for p in runner.notebook_paths()]
    by_notebook = {r["notebook"]: r for r in records.read_records(runner.OUTPUT_DIR)}
    for path in executed:
        nb = json.loads(path.read_text())
        errors = [o for c in nb["cells"] for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{path.name} has error outputs"
        assert path.name in by_notebook, f"{path.name} wrote no run record"
        sha = by_notebook[path.name]["git_sha"]
        assert sha is None or len(sha) == 40
        # the record carries every declared parameter as it ran (captured, not retyped)
        declared = runner.notebook_parameters(runner.resolve_notebook(path.stem))
        assert set(by_notebook[path.name]["parameters"]) == set(declared), path.name


def test_book_pages_exist_and_show_real_numbers(built_book):
    _, index = built_book
    html = index.parent
    page = (html / "book" / "notebooks" / "01_data.html").read_text()
    assert "Traceback" not in page
    record = json.loads((runner.OUTPUT_DIR / "01_data.json").read_text())
    assert record["metrics"]["source"] in page  # the chapter says which source it used
    assert f"{record['metrics']['counts']['cells']}" in page


def test_training_chapter_runs_without_nar(tmp_path):
    """Chapter 03 with NAR left out of its predictors: no tiers to show, still a record."""
    params = {**runner.load_profile("ci")["03_training"], "predictors": ["gbdt"]}
    runner.run_notebook("03_training", params, output_dir=tmp_path, progress=False)
    (record,) = records.read_records(tmp_path)
    assert record["metrics"]["tier_confusion"] is None
    assert {row["predictor"] for row in record["metrics"]["results"]} == {"gbdt"}


def test_nb101_chapter_fails_when_its_data_directory_lacks_the_data(tmp_path, monkeypatch):
    """A mistyped data directory is an error; require_data=False runs what needs no data."""
    import papermill as pm

    monkeypatch.setenv("NAR_DATA_DIR", str(tmp_path / "mistyped"))
    params = runner.load_profile("ci")["05_nasbench101"]
    with pytest.raises(pm.PapermillExecutionError, match="not a directory"):
        runner.run_notebook("05_nasbench101", params, output_dir=tmp_path / "a", progress=False)
    assert not list((tmp_path / "a").glob("*.json"))  # no record of a successful run
    runner.run_notebook("05_nasbench101", {**params, "require_data": False},
                        output_dir=tmp_path / "b", progress=False)
    (record,) = records.read_records(tmp_path / "b")
    metrics = record["metrics"]  # what needs no accuracies still ran, on the enumerated space
    assert metrics["space_cells"] == 423_624 and metrics["traced_equal"] is True
    assert metrics["cells_counted"] == 30_001 and "accuracies" in metrics["skipped"]


def test_intro_opens_with_the_key_findings_of_the_records(built_book):
    from nar_utils.reproduce import anchors

    _, index = built_book
    intro = (index.parent / "book" / "intro.html").read_text()
    found = records.read_records(runner.OUTPUT_DIR) + \
        records.read_records(runner.ROOT / "book" / "records" / "gpu")
    table = anchors.key_findings(found)
    assert not table.empty and "Key findings" in intro
    for figures in table["figures"]:
        assert figures.split(";")[0] in intro
