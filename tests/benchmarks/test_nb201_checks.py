"""The NB201 table is checked as it loads: a partial, inconsistent or mis-scaled table, or a
damaged file, is refused by name (file, column, first bad row) instead of answering queries
with wrong numbers; has() and optima() take what column() takes."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import nb201 as nb201_data
from nar_utils.benchmarks.nb201 import TableError, load_table
from nar_utils.spaces import nb201
from tests.fuzzing import synthetic_nb201_frame


def write(frame: pd.DataFrame, path) -> None:
    frame.to_csv(path, index=False, compression={"method": "gzip", "compresslevel": 1})


@pytest.fixture(scope="module")
def valid() -> pd.DataFrame:
    return synthetic_nb201_frame()


def test_a_valid_table_loads_with_its_values(valid, tmp_path):
    path = tmp_path / "nb201.csv.gz"
    write(valid, path)
    bench = load_table(path)
    assert len(bench) == 15625 and bench[7] == valid["arch_str"][7]
    np.testing.assert_array_equal(bench.op_codes, nb201.all_op_codes())
    assert bench.get_more_info(3, "cifar10")["test-accuracy"] == valid["c10_test_200"][3]


def _set(column, row, value):
    def mutate(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return mutate


def _duplicate(frame):
    frame.loc[9, ["arch_str", "op_code"]] = frame.loc[3, ["arch_str", "op_code"]].to_numpy()
    return frame


def _swap_indices(frame):
    frame.loc[[2, 3], "arch_index"] = [3, 2]
    return frame


def _fractions(frame):
    frame["c10_test_200"] = frame["c10_test_200"] / 100
    return frame


@pytest.mark.parametrize("mutate, column, row, fragment", [
    (lambda f: f.head(15000), None, None, "15000 rows"),
    (lambda f: pd.concat([f, f.tail(1).assign(arch_index=15625)]), None, None, "15626 rows"),
    (_swap_indices, "arch_index", 2, "ordered by arch_index"),
    (_set("op_code", 7, "000000"), "op_code", 7, "does not match arch_str"),
    (_set("op_code", 4, "421215"), "op_code", 4, "not a digit 0..4"),
    (_set("op_code", 5, "42121"), "op_code", 5, "has 5 digits"),
    (_set("arch_str", 6, "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"), "arch_str", 6,
     "not a canonical arch string"),
    (_set("arch_str", 20, np.nan), "arch_str", 20, "not a canonical arch string"),
    (_duplicate, "arch_str", 9, "listed twice (first at row 3)"),
    (_fractions, "c10_test_200", 0, "fractions, not percentages"),
    (_set("c10v_val_200", 5, 100.5), "c10v_val_200", 5, "percentages in [0, 100]"),
    (_set("c10v_val_200", 8, -3.0), "c10v_val_200", 8, "percentages in [0, 100]"),
    (_set("c10v_train_loss_200", 11, -0.1), "c10v_train_loss_200", 11, ">= 0"),
    (_set("c10v_train_time_200", 12, np.inf), "c10v_train_time_200", 12, "finite"),
    (_set("c10_test_200", 13, "ninety"), "c10_test_200", 13, "'ninety' is not a number"),
    (_set("params_mb_c10v", 0, True), "params_mb_c10v", 0, "not a number"),
    (_set("c10v_val_200_seeds", 14, "[91.2, 190.0]"), "c10v_val_200_seeds", 14,
     "percentages in [0, 100]"),
    (_set("c10v_val_200_seeds", 15, "91.2; 90.8"), "c10v_val_200_seeds", 15,
     "not a JSON list"),
])
def test_a_bad_table_is_refused_naming_file_column_and_row(valid, tmp_path, mutate, column,
                                                           row, fragment):
    path = tmp_path / "nb201.csv.gz"
    write(mutate(valid.copy()), path)
    with pytest.raises(TableError, match=fragment.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")) as err:
        load_table(path)
    assert isinstance(err.value, ValueError)
    assert (err.value.path, err.value.column, err.value.row) == (str(path), column, row)
    assert str(path) in str(err.value)
    if row is not None:
        assert f"row {row} " in str(err.value) and f"column {column!r}" in str(err.value)


def test_missing_metric_values_are_allowed_and_never_made_up(valid, tmp_path):
    frame = valid.copy()
    frame.loc[4, ["c10_test_200", "c10v_train_time_200", "c10v_val_200_seeds"]] = np.nan
    frame["c10v_val_200_seeds"] = frame["c10v_val_200_seeds"].astype(object)
    frame.loc[5, "c10v_val_200_seeds"] = "[]"
    path = tmp_path / "nb201.csv.gz"
    write(frame, path)
    bench = load_table(path)
    assert np.isnan(bench.get_more_info(4, "cifar10")["test-accuracy"])
    assert "train-time" not in bench.get_cost_info(4, "cifar10-valid")
    for index in (4, 5):
        with pytest.raises(KeyError, match="no per-seed trials"):
            bench.get_more_info(index, "cifar10-valid", seed=0)


def test_a_huge_bad_cell_gives_a_short_message(valid, tmp_path):
    path = tmp_path / "nb201.csv.gz"
    write(_set("arch_str", 3, "|none~0|" * 200_000)(valid.copy()), path)
    with pytest.raises(TableError) as err:
        load_table(path)
    assert err.value.row == 3 and len(str(err.value)) < 800 and \
        "1,600,000 characters in all" in str(err.value)


@pytest.mark.parametrize("content", [
    "truncated", b"arch_index,arch_str,op_code\n0,a,000000\n", bytes(range(256)) * 40, b"",
    gzip.compress(bytes(range(256)) * 40), gzip.compress(b""), "flipped",
])
def test_an_unreadable_file_is_refused_by_name(valid, tmp_path, content):
    good = tmp_path / "good.csv.gz"
    write(valid.head(500), good)
    raw = good.read_bytes()
    if content == "truncated":
        content = raw[: len(raw) // 2]
    elif content == "flipped":
        content = raw[:400] + bytes([raw[400] ^ 0xFF]) + raw[401:]
    path = tmp_path / "nb201.csv.gz"
    path.write_bytes(content)
    with pytest.raises(TableError) as err:
        load_table(path)
    assert str(path) in str(err.value) and len(str(err.value)) < 600


def test_the_real_table_passes_the_checks(table, data_dir):
    frame = pd.read_csv(data_dir / nb201_data.TABLE_RELPATH, dtype={"op_code": str,
                                                                    "arch_str": str})
    np.testing.assert_array_equal(nb201_data.check_table(frame), table.op_codes)
    assert not frame.isna().to_numpy().any()  # the real table holds every value
    for dataset in table.datasets:
        for metric in table.metrics(dataset):
            values = table.column(dataset, metric)
            assert values.min() >= 0 and (not metric.endswith("accuracy") or
                                          1 < values.max() <= 100)


# -- has() and optima() take what column() takes ------------------------------------------
@pytest.mark.parametrize("hp", [None, "200", 200, np.int64(200)])
def test_has_and_optima_take_every_form_column_takes(table, hp):
    assert table.has("cifar10", "test-accuracy", hp)
    np.testing.assert_array_equal(table.column("cifar10", "test-accuracy", hp),
                                  table.column("cifar10", "test-accuracy"))
    pd.testing.assert_frame_equal(nb201_data.optima(table, hp), nb201_data.optima(table))


@pytest.mark.parametrize("hp", ["12", 12, np.int16(12)])
def test_the_twelve_epoch_schedule_in_every_form(table, hp):
    assert table.has("cifar100", "valid-accuracy", hp)
    best = nb201_data.optima(table, hp)
    assert len(best) == 6 and set(best["hp"]) == {"12"}
    assert best["best"].max() == pytest.approx(table.column("cifar10", "test-accuracy",
                                                            "12").max())


def test_has_is_false_where_column_has_nothing_and_refuses_typos(table, embedded):
    assert not table.has("cifar10", "valid-accuracy")  # 'cifar10' has a test split only
    assert not table.has("cifar10", "test-accuracy", "100")
    assert not embedded.has("cifar100", "test-accuracy")
    assert embedded.has("cifar10", "test-accuracy") and embedded.has("cifar10",
                                                                     "test-accuracy", "anb")
    for bench in (table, embedded):
        with pytest.raises(ValueError, match="unknown dataset 'cifar-10'"):
            bench.has("cifar-10", "test-accuracy")
        with pytest.raises(ValueError, match="unknown dataset 'cifar-10'"):
            bench.column("cifar-10", "test-accuracy")
    with pytest.raises(ValueError, match="unknown hp '100'"):
        nb201_data.optima(table, "100")  # was: an empty frame
    with pytest.raises(TypeError, match="hp must be"):
        table.has("cifar10", "test-accuracy", 200.0)
    assert len(nb201_data.optima(embedded)) == 1
