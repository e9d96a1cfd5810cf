"""Index, epoch and seed arguments of both NB201 APIs are integers: a bool or a float is
refused, never truncated into another cell, epoch or trial; a huge bad argument gives a
short message."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from nar_utils.benchmarks.compat import NASBench201API, NATStopology

HUGE = "|nor_conv_3x3~0|" * 65_536  # about 1 MB


@pytest.fixture(scope="module")
def api(data_dir):
    return NATStopology(str(data_dir), verbose=False, seed=0)


@pytest.mark.parametrize("call", [
    lambda b: b[3.7], lambda b: b[True], lambda b: b.get_more_info(2.0, "cifar10"),
    lambda b: b.get_cost_info(np.float64(1.0), "cifar10"), lambda b: b.show(np.True_),
    lambda b: b.get_more_info(0, "cifar10-valid", seed=1.5),
])
def test_the_books_api_refuses_bool_and_float_indices(table, call):
    with pytest.raises(TypeError, match="must be an integer"):
        call(table)


def test_numpy_integers_stay_accepted(table, api):
    for index in (np.int64(5), np.uint16(5), np.int8(5)):
        assert table[index] == table[5] == api.arch(index)
        assert api.get_more_info(index, "cifar10", hp="200", is_random=False) == \
            api.get_more_info(5, "cifar10", hp="200", is_random=False)


@pytest.mark.parametrize("call, fragment", [
    (lambda a: a.arch(3.7), "arch index"),
    (lambda a: a.get_more_info(True, "cifar10", hp="200"), "arch index"),
    (lambda a: a.get_more_info(1, "cifar10-valid", 10.7, hp="200", is_random=False), "iepoch"),
    (lambda a: a.get_more_info(1, "cifar10-valid", True, hp="200", is_random=False), "iepoch"),
    (lambda a: a.get_more_info(7, "cifar100", hp="200", is_random=888.9), "is_random"),
    (lambda a: a.query_meta_info_by_index(3, hp="200").query("cifar100", 777.0), "seed"),
    (lambda a: a.query_meta_info_by_index(2.0), "arch index"),
    (lambda a: a.get_cost_info(1.0, "cifar10"), "arch index"),
    (lambda a: a.simulate_train_eval(12.5, "cifar10", hp="12"), "arch"),
    (lambda a: a.simulate_train_eval(True, "cifar10", hp="12"), "arch"),
    (lambda a: a.show(2.5), "arch index"),
])
def test_the_official_api_drop_in_refuses_them_too(api, call, fragment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match=f"{fragment}.*must be an integer"):
            call(api)


def test_a_whole_number_epoch_or_seed_means_what_it_says(api, data_dir):
    last = api.get_more_info(1, "cifar10-valid", 199, hp="200", is_random=False)
    assert last == api.get_more_info(1, "cifar10-valid", np.int64(199), hp="200",
                                     is_random=False)
    assert api.get_more_info(7, "cifar100", hp="200", is_random=np.int64(888)) == \
        api.get_more_info(7, "cifar100", hp="200", is_random=888)
    assert api.get_more_info(7, "cifar100", hp="200", is_random=np.False_) == \
        api.get_more_info(7, "cifar100", hp="200", is_random=False)


@pytest.mark.parametrize("call", [
    lambda b: b.query_index_by_arch(HUGE),
    lambda b: b.get_more_info(0, HUGE),
    lambda b: b.column("cifar10", "test-accuracy", HUGE),
    lambda b: b.has(HUGE, "test-accuracy"),
])
def test_a_huge_bad_argument_gives_a_short_message(table, call):
    with pytest.raises(ValueError) as err:
        call(table)
    assert len(str(err.value)) < 600 and f"({len(HUGE):,} characters in all)" in str(err.value)


def test_the_drop_in_quotes_huge_arguments_briefly(data_dir):
    api = NASBench201API(str(data_dir), verbose=False, seed=0)
    for call in (lambda: api.query_index_by_arch(HUGE), lambda: api.get_more_info(0, HUGE),
                 lambda: api.get_more_info(0, "cifar10", hp=HUGE)):
        with pytest.raises(ValueError) as err:
            call()
        assert len(str(err.value)) < 600
    with pytest.raises(KeyError) as err:
        api.query_meta_info_by_index(1, hp="200").get_metrics("cifar10", HUGE)
    assert len(str(err.value)) < 600
