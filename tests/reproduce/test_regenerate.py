"""Regenerating NAS-Bench-201: the meta list, training ranges x seeds, merging into tables.

Tiny networks (C = 4, N = 1) on the embedded proxy images with a 2-epoch recipe, so that a
range of cells trains in seconds on a CPU."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import nb201 as nb201_bench
from nar_utils.reproduce import regenerate
from nar_utils.reproduce.regenerate import MergeError
from nar_utils.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"channels": 4, "cells": 1, "proxy": True, "device": "cpu"}
SEEDS = (1, 2)


def two_epoch_recipe(path):
    """An official-format config: the 12-epoch recipe cut to 2 epochs."""
    entries = {"scheduler": ["str", "cos"], "eta_min": ["float", "0.0"], "epochs": ["int", "2"],
               "warmup": ["int", "0"], "optim": ["str", "SGD"], "LR": ["float", "0.1"],
               "decay": ["float", "0.0005"], "momentum": ["float", "0.9"],
               "nesterov": ["bool", "1"], "criterion": ["str", "Softmax"],
               "batch_size": ["int", "256"]}
    path.write_text(json.dumps(entries))
    return str(path)


@pytest.fixture(scope="module")
def space_meta(tmp_path_factory):
    path = tmp_path_factory.mktemp("meta") / "meta.csv"
    frame = pd.DataFrame({"arch_index": range(nb201.NUM_ARCHS),
                          "arch_str": nb201.all_arch_strs(),
                          "op_code": [nb201.op_code_from_arch_str(a)
                                      for a in nb201.all_arch_strs()],
                          "order": "space"})
    frame.to_csv(path, index=False)
    return regenerate.read_meta(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, space_meta):
    """Cells 3, 4, 5 x seeds 1, 2 trained for the whole 2-epoch recipe."""
    root = tmp_path_factory.mktemp("regen")
    hp = two_epoch_recipe(root / "2E.config")
    results = regenerate.train_range(space_meta, 3, 6, SEEDS, dataset="cifar10-valid", hp=hp,
                                     out=root / "runs", progress=False, **TINY)
    return root, hp, results


def test_the_meta_list_follows_the_official_index_order(table, data_dir, tmp_path):
    path = regenerate.write_meta(tmp_path / "meta.csv", str(data_dir))
    meta = regenerate.read_meta(path)
    assert meta["arch_str"].tolist() == list(table.arch_strs)
    assert (meta["order"] == "official").all() and len(meta) == 15625
    assert meta["op_code"].tolist()[:3] == [nb201.op_code_from_arch_str(a)
                                            for a in table.arch_strs[:3]]


def test_without_a_table_the_meta_list_is_the_space_order(monkeypatch):
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    meta = regenerate.meta_list()
    assert (meta["order"] == "space").all()
    assert meta["arch_str"].tolist() == nb201.all_arch_strs()


def test_bad_meta_lists_are_refused(tmp_path, space_meta):
    with pytest.raises(FileNotFoundError, match="regenerate meta"):
        regenerate.read_meta(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    space_meta.drop(columns="order").head(3).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"lacks columns \['order'\]"):
        regenerate.read_meta(bad)
    space_meta.head(3).iloc[[1, 0, 2]].to_csv(bad, index=False)
    with pytest.raises(ValueError, match="0..2 in order"):
        regenerate.read_meta(bad)
    frame = space_meta.head(3).copy()
    frame.loc[1, "arch_str"] = "|nor_conv_3x3~0|+|none~0|"
    frame.to_csv(bad, index=False)
    with pytest.raises(ValueError, match="index 1"):
        regenerate.read_meta(bad)


def test_a_range_trains_every_cell_and_seed_and_a_second_call_skips_them(trained, space_meta):
    root, hp, results = trained
    assert [r.status for r in results] == ["ok"] * 6
    assert [r.label.split("/")[1] for r in results] == [
        f"{i:06d}-seed{s}" for i in (3, 4, 5) for s in SEEDS]
    again = regenerate.train_range(space_meta, 3, 6, SEEDS, dataset="cifar10-valid", hp=hp,
                                   out=root / "runs", progress=False, **TINY)
    assert [r.status for r in again] == ["skipped"] * 6
    with pytest.raises(ValueError, match="range"):
        regenerate.plan(space_meta, 5, 5, SEEDS, dataset="cifar10-valid", hp=hp, out=root)
    with pytest.raises(ValueError, match="distinct"):
        regenerate.plan(space_meta, 0, 2, (1, 1), dataset="cifar10-valid", hp=hp, out=root)


def test_merged_runs_load_through_the_benchmark_api(trained, space_meta, tmp_path):
    root, _, _ = trained
    manifest = regenerate.merge_runs(space_meta, root / "runs", tmp_path / "data", hp_name="12")
    assert manifest["tables"][0]["runs"] == 6 and manifest["tables"][0]["is_proxy"] is True
    bench = nb201_bench.load_benchmark(tmp_path / "data")
    assert len(bench) == 15625 and bench[4] == space_meta["arch_str"][4]
    records = [json.loads((root / "runs" / "cifar10-valid-hp2E" / f"000004-seed{s}" /
                           "train_one.json").read_text()) for s in SEEDS]
    finals = [r["metrics"]["curve"][-1] for r in records]
    info = bench.get_more_info(4, "cifar10-valid", hp="12")
    assert info["valid-accuracy"] == pytest.approx(np.mean([f["valid_acc"] for f in finals]))
    assert bench.get_cost_info(4, "cifar10-valid", hp="12")["params"] == pytest.approx(
        records[0]["metrics"]["params_mb"])
    assert np.isnan(bench.column("cifar10-valid", "valid-accuracy", hp="12")[0])
    curves = regenerate.read_curves(tmp_path / "data")
    assert len(curves) == 6 * 2 and set(curves["arch_index"]) == {3, 4, 5}
    assert curves.query("arch_index == 4 and seed == 2")["valid_acc"].tolist() == [
        row["valid_acc"] for row in records[1]["metrics"]["curve"]]
    with pytest.raises(MergeError, match="15622 cells have no run"):
        regenerate.merge_runs(space_meta, root / "runs", tmp_path / "all", hp_name="12",
                              require_all=True)
    with pytest.raises(MergeError, match="not a table schedule"):
        regenerate.merge_runs(space_meta, root / "runs", tmp_path / "other")


def copy_runs(trained, tmp_path):
    root, _, _ = trained
    runs = tmp_path / "runs"
    shutil.copytree(root / "runs", runs)
    return runs, runs / "cifar10-valid-hp2E"


def assert_refused(meta, runs, out, *needles):
    with pytest.raises(MergeError) as info:
        regenerate.merge_runs(meta, runs, out, hp_name="12")
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    assert not out.exists()  # nothing half-written


def test_incomplete_and_duplicated_runs_are_refused_by_name(trained, space_meta, tmp_path):
    runs, group = copy_runs(trained, tmp_path)
    (group / "000003-seed1" / "train_one.json").unlink()  # killed: a checkpoint, no record
    shutil.copytree(group / "000004-seed2", runs / "elsewhere" / "000004-seed2")
    assert_refused(space_meta, runs, tmp_path / "out",
                   "without a finished record", "000003-seed1",
                   "trained twice", "elsewhere/000004-seed2", "cell 4, seed 2")


def test_a_run_cut_short_and_a_foreign_cell_are_refused(trained, space_meta, tmp_path):
    root, hp, _ = trained
    runs, group = copy_runs(trained, tmp_path)
    regenerate.train_range(space_meta, 7, 8, (1,), dataset="cifar10-valid", hp=hp, out=runs,
                           progress=False, num_epochs=1, **TINY)
    other = space_meta.copy()
    other.loc[5, "arch_str"] = other.loc[6, "arch_str"]
    assert_refused(other, runs, tmp_path / "out", "000007-seed1: 1 of 2 epochs",
                   "000005-seed1", "meta list has")


def test_runs_of_another_network_are_not_mixed_in(trained, space_meta, tmp_path):
    root, hp, _ = trained
    runs, _ = copy_runs(trained, tmp_path)
    regenerate.train_range(space_meta, 8, 9, (1,), dataset="cifar10-valid", hp=hp,
                           out=runs, progress=False, **{**TINY, "channels": 2})
    assert_refused(space_meta, runs, tmp_path / "out", "differ in network or images")


def test_the_command_line(trained, space_meta, tmp_path, capsys, monkeypatch):
    root, _, _ = trained
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    assert regenerate.main(["meta", str(tmp_path / "meta.csv")]) == 0
    assert "15625 cells" in capsys.readouterr().out
    assert regenerate.main(["merge", str(tmp_path / "meta.csv"), "--runs", str(root / "runs"),
                            "--out", str(tmp_path / "data"), "--as-hp", "12"]) == 0
    assert "NAR_DATA_DIR=" in capsys.readouterr().out
    assert regenerate.main(["merge", str(tmp_path / "meta.csv"), "--runs",
                            str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 2
    assert "no run directory" in capsys.readouterr().err


def test_a_process_pool_trains_a_range(trained, space_meta, tmp_path):
    _, hp, _ = trained
    results = regenerate.train_range(space_meta, 10, 11, SEEDS, dataset="cifar10-valid", hp=hp,
                                     out=tmp_path, workers=2, progress=False, **TINY)
    assert [r.status for r in results] == ["ok", "ok"]
    assert all((tmp_path / "cifar10-valid-hp2E" / f"000010-seed{s}" / "train_one.json").is_file()
               for s in SEEDS)
