import json

import numpy as np
import pytest
from scipy import stats

import nar_utils as nar
from nar_utils.benchmarks import datadir
from nar_utils.benchmarks import nb201 as nb201_data
from nar_utils.benchmarks import task as bench_task
from nar_utils.spaces import nb201


def test_arch0_values_from_the_table(table):
    assert len(table) == 15625 and table.source == "nb201-table"
    assert table[0] == nb201.arch_str_from_op_code("421211")
    assert table.get_more_info(0, "cifar10")["test-accuracy"] == pytest.approx(85.863, abs=1e-3)
    assert table.get_more_info(0, "cifar100")["test-accuracy"] == pytest.approx(52.913, abs=1e-3)
    assert table.get_more_info(0, "ImageNet16-120")["test-accuracy"] == \
        pytest.approx(26.633, abs=1e-3)
    assert table.get_more_info(0, "cifar10-valid")["valid-accuracy"] == \
        pytest.approx(81.983, abs=1e-3)
    cost = table.get_cost_info(0, "cifar10-valid")
    assert cost["params"] == pytest.approx(0.129306) and cost["train-time"] > 0


def test_table_indices_and_strings_round_trip(table):
    for index, arch_str in enumerate(table):
        assert table.query_index_by_arch(arch_str) == index
    np.testing.assert_array_equal(table.op_codes, nb201.op_codes_array(table.arch_strs))
    assert table.query_index_by_arch(table.op_codes[7].tolist()) == 7
    assert table.query_index_by_arch("".join(map(str, table.op_codes[9]))) == 9


def test_table_optima_match_published(table):
    best = nar.reproduce.anchors.add_published_optima(nar.benchmarks.optima(table),
                                                      table.source).dropna(subset=["published"])
    assert len(best) == len(nar.reproduce.anchors.published_optima())
    for row in best.itertuples():
        assert row.best == pytest.approx(row.published, abs=0.006), row


def test_seeded_trials_are_deterministic_and_mean_by_default(table):
    mean = table.get_more_info(0, "cifar10-valid")
    assert "trial" not in mean
    a = table.get_more_info(0, "cifar10-valid", seed=3)
    b = table.get_more_info(0, "cifar10-valid", seed=3)
    trials = json.loads(table.frame["c10v_val_200_seeds"].iat[0])
    assert a == b and a["valid-accuracy"] == trials[a["trial"]]
    assert np.mean(trials) == pytest.approx(mean["valid-accuracy"], abs=1e-4)


def test_twelve_epoch_schedule(table):
    info = table.get_more_info(0, "cifar10-valid", hp="12")
    assert info["valid-accuracy"] == pytest.approx(63.364)
    assert table.column("cifar100", "valid-accuracy", hp="12").shape == (15625,)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda b: b.get_more_info(0, "cifar10valid"), ValueError, "official names"),
    (lambda b: b.get_more_info(0, "CIFAR10"), ValueError, "never remapped"),
    (lambda b: b.get_more_info(15625, "cifar10"), IndexError, "out of range"),
    (lambda b: b.get_more_info(-1, "cifar10"), IndexError, "out of range"),
    (lambda b: b.get_more_info("0", "cifar10"), TypeError, "query_index_by_arch"),
    (lambda b: b.get_more_info(0, "cifar10", hp="100"), ValueError, "valid: 200, 12"),
    (lambda b: b.column("cifar10", "valid-accuracy"), KeyError, "test-accuracy"),
    (lambda b: b.get_more_info(0, "cifar10", seed=1), KeyError, "without seed"),
    (lambda b: b.query_index_by_arch("|nope~0|+"), ValueError, "node groups"),
])
def test_table_error_paths(table, call, error, fragment):
    with pytest.raises(error, match=fragment):
        call(table)


def test_embedded_source(embedded):
    assert len(embedded) == 15625 and embedded.datasets == ("cifar10",)
    assert embedded.index_kind == "space"
    for index in (0, 1, 777, 15624):
        assert embedded.query_index_by_arch(embedded[index]) == index
        assert nb201.space_index(embedded[index]) == index
    acc = embedded.column("cifar10", "test-accuracy")
    assert np.isfinite(acc).all() and 10.0 <= acc.min() and acc.max() < 100
    with pytest.raises(KeyError, match="holds no results for 'cifar100'"):
        embedded.get_more_info(0, "cifar100")
    with pytest.raises(ValueError, match="valid: anb"):
        embedded.get_more_info(0, "cifar10", hp="200")


def test_embedded_chance_cells_are_the_disconnected_ones(embedded):
    acc = embedded.column("cifar10", "test-accuracy")
    disconnected = np.array([nb201.is_disconnected(c) for c in embedded.op_codes])
    assert disconnected.sum() == 341
    np.testing.assert_array_equal(acc <= 10.0, disconnected)


def test_embedded_mapping_agrees_with_the_table(table, embedded):
    order = np.array([embedded.query_index_by_arch(a) for a in table.arch_strs])
    anb = embedded.column("cifar10", "test-accuracy")[order]
    table_acc = table.column("cifar10", "test-accuracy")
    np.testing.assert_array_equal(anb <= 10.0, table_acc < 10.5)  # the same 341 cells
    assert stats.kendalltau(anb, table_acc).statistic > 0.9
    # the edge permutation matters: reading the tuple in arch-string order ranks far worse
    wrong = np.array([embedded.query_index_by_arch(nb201.format_arch_str(
        [nb201_data.analog_tuple_to_op_codes(c)[k] for k in (0, 1, 3, 2, 4, 5)]))
        for c in nb201.all_op_codes()])
    assert stats.kendalltau(embedded.column("cifar10", "test-accuracy")[wrong][order],
                            table_acc).statistic < 0.9


def test_restricted_unpickler_refuses_other_classes():
    import pickle

    payload = pickle.dumps(print)  # a global other than the two record classes
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        nb201_data._RecordUnpickler(__import__("io").BytesIO(payload)).load()


def test_data_dir_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv(datadir.ENV_DATA_DIR, raising=False)
    assert datadir.resolve_data_dir() is None
    monkeypatch.setenv(datadir.ENV_DATA_DIR, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="NAR_DATA_DIR"):
        datadir.resolve_data_dir()
    monkeypatch.setenv(datadir.ENV_DATA_DIR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="nb201.csv.gz"):
        nb201_data.load_benchmark()
    assert datadir.resolve_data_dir("embedded") is None


def test_bad_table_is_refused(tmp_path):
    path = tmp_path / "nb201.csv.gz"
    import pandas as pd
    pd.DataFrame({"arch_index": [1, 0], "arch_str": ["a", "b"], "op_code": ["0", "1"]}).to_csv(
        path, index=False)
    with pytest.raises(ValueError, match="ordered by arch_index"):
        nb201_data.load_table(path)
    pd.DataFrame({"x": [1]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing"):
        nb201_data.load_table(path)


def test_tasks_follow_the_nb201_convention(table):
    tasks = {t.dataset: t for t in bench_task.tasks(table)}
    assert list(tasks) == ["cifar10", "cifar100", "ImageNet16-120"]
    assert tasks["cifar10"].label_dataset == "cifar10-valid"
    assert not any(t.label_is_test for t in tasks.values())
    np.testing.assert_array_equal(tasks["cifar100"].labels(table),
                                  table.column("cifar100", "valid-accuracy"))
    with pytest.raises(ValueError, match="reported dataset"):
        bench_task.tasks(table, ["cifar10-valid"])


def test_embedded_task_learns_from_its_only_accuracy(embedded):
    (task,) = bench_task.tasks(embedded)
    assert task.dataset == "cifar10" and task.label_is_test and task.hp == "anb"
    with pytest.raises(KeyError, match="cannot report"):
        bench_task.tasks(embedded, ["cifar100"])


def test_data_directory_rule_is_one_for_every_reader(tmp_path, monkeypatch):
    monkeypatch.delenv(datadir.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(datadir.ENV_START_DIR, raising=False)
    assert datadir.resolve_data_dir() is None  # embedded NB201
    with pytest.raises(FileNotFoundError, match="NAS-Bench-101 data is not embedded"):
        datadir.require_data_dir(holds="nb101/x.csv.gz", what="NAS-Bench-101 data")
    monkeypatch.setenv(datadir.ENV_DATA_DIR, str(tmp_path / "missing"))
    for call in (datadir.resolve_data_dir,
                 lambda: datadir.require_data_dir(holds="nb101/x.csv.gz")):
        with pytest.raises(FileNotFoundError, match=r"\$NAR_DATA_DIR = .*missing.*not a dir"):
            call()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert datadir.require_data_dir("data", holds="x") == tmp_path / "data"
