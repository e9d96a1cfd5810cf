"""The official-API drop-in: the NAS-Bench-201 and NATS-Bench README examples run unchanged,
and their values agree with the book's own API and the per-seed file."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from nar_utils.benchmarks import compat
from nar_utils.benchmarks.compat import NASBench201API, create, get_cell_based_tiny_net


@pytest.fixture(scope="module")
def api(data_dir):
    return NASBench201API(str(data_dir), verbose=False, seed=0)


@pytest.fixture(scope="module")
def seeds(data_dir):
    return pd.read_csv(data_dir / "nb201" / "nb201_seeds.csv.gz")


def test_the_nas_bench_201_readme_example_runs_unchanged(data_dir, capsys):
    API = NASBench201API  # noqa: N806 - as the README imports it
    api = API(str(data_dir))
    num = len(api)
    for i, arch_str in enumerate(api):
        if i < 3:
            print('{:5d}/{:5d} : {:}'.format(i, len(api), arch_str))  # noqa: UP032
    api.show(1)
    api.show(2)
    info = api.query_meta_info_by_index(1)
    res_metrics = info.get_metrics('cifar10', 'train')
    cost_metrics = info.get_compute_costs('cifar100')
    results = api.query_by_index(1, 'cifar100')
    print('There are {:} trials for this architecture [{:}] on cifar100'.format(  # noqa: UP032
        len(results), api[1]))
    for seed, result in results.items():
        print('Latency : {:}'.format(result.get_latency()))  # noqa: UP032
        print('Train Info : {:}'.format(result.get_train()))  # noqa: UP032
        print('Valid Info : {:}'.format(result.get_eval('x-valid')))  # noqa: UP032
        print('Test  Info : {:}'.format(result.get_eval('x-test')))  # noqa: UP032
        print('Train Info [10-th epoch] : {:}'.format(result.get_train(10)))  # noqa: UP032
    index = api.query_index_by_arch(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|'
        'skip_connect~2|')
    api.show(index)
    config = api.get_net_config(123, 'cifar10')
    network = get_cell_based_tiny_net(config)
    with pytest.raises(NotImplementedError, match="weights are not part of this data"):
        api.get_net_param(3, 'cifar10', None)
    assert num == 15625 and index == api.bench.query_index_by_arch(
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|'
        'skip_connect~2|')
    assert set(res_metrics) >= {"loss", "accuracy", "cur_time", "all_time"}
    assert cost_metrics["latency"] is None
    assert 0 < cost_metrics["flops"] < cost_metrics["flops-nar"]
    assert results == {} or set(results) <= {777, 888, 999}  # hp='12': no per-seed values
    assert network.config.arch == api[123] and network.classifier.out_features == 10
    assert "There are" in capsys.readouterr().out


def test_the_nats_bench_readme_example_runs_unchanged(data_dir):
    api = create(str(data_dir), 'tss', fast_mode=True, verbose=True)
    info = api.get_more_info(1234, 'cifar10')
    assert info["test-accuracy"] == pytest.approx(api.bench.get_more_info(
        1234, "cifar10", hp="12")["test-accuracy"])
    info = api.get_cost_info(12, 'cifar10')
    assert info["params"] == pytest.approx(api.bench.get_cost_info(12, "cifar10", "12")["params"])
    validation_accuracy, latency, time_cost, current_total_time_cost = api.simulate_train_eval(
        1224, dataset='cifar10', hp='12')
    assert validation_accuracy == pytest.approx(
        api.bench.get_more_info(1224, "cifar10-valid", hp="12")["valid-accuracy"])
    assert time_cost == pytest.approx(
        api.bench.get_cost_info(1224, "cifar10-valid", "12")["train-time"])
    assert current_total_time_cost == time_cost
    api.clear_params(12)
    with pytest.raises(NotImplementedError, match="not part of this data"):
        api.reload(index=12)
    config = api.get_net_config(12, 'cifar10')
    network = get_cell_based_tiny_net(config)
    with pytest.raises(NotImplementedError, match="not part of this data"):
        api.get_net_param(12, 'cifar10', None)
    assert network.config.arch == api[12]
    with pytest.raises(ValueError, match="size space"):
        create(str(data_dir), 'sss')


def test_the_third_positional_argument_is_iepoch(api):
    last = api.get_more_info(112, 'cifar10-valid', None, hp='200', is_random=False)
    assert last == api.get_more_info(112, 'cifar10-valid', 199, '200', False)
    epoch_10 = api.get_more_info(112, 'cifar10-valid', 10, hp='200', is_random=False)
    assert epoch_10["valid-accuracy"] != last["valid-accuracy"]


def test_means_and_single_seeds_agree_with_the_books_api_and_the_seed_file(api, seeds):
    mean = api.get_more_info(7, 'cifar100', hp='200', is_random=False)
    book = api.bench.get_more_info(7, "cifar100", hp="200")
    for key in ("valid-accuracy", "test-accuracy", "valtest-accuracy"):
        assert mean[key] == pytest.approx(book[key])
    one = api.get_more_info(7, 'cifar100', hp='200', is_random=888)
    assert one["valid-accuracy"] == seeds.loc[7, "c100_val_200_s888"]
    assert one["test-accuracy"] == seeds.loc[7, "c100_test_200_s888"]
    assert one["valtest-accuracy"] == seeds.loc[7, "c100_valtest_200_s888"]
    c10v = api.get_more_info(7, 'cifar10-valid', hp='200', is_random=999)
    assert c10v["valid-accuracy"] == seeds.loc[7, "c10v_val_200_s999"]
    held = [s for s in (777, 888, 999) if not np.isnan(seeds.loc[7, f"c100_val_200_s{s}"])]
    assert np.mean([seeds.loc[7, f"c100_val_200_s{s}"] for s in held]) == pytest.approx(
        mean["valid-accuracy"], abs=1e-5)
    missing = seeds.index[seeds["c100_val_200_s999"].isna()][0]
    with pytest.raises(KeyError, match="seeds held"):
        api.get_more_info(int(missing), 'cifar100', hp='200', is_random=999)


def test_random_draws_are_trials_the_data_holds_and_repeat_under_a_seed(data_dir, seeds):
    draws = []
    for _ in range(2):
        api = NASBench201API(str(data_dir), verbose=False, seed=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draws.append([api.get_more_info(7, 'cifar100', hp='200')["valid-accuracy"]
                          for _ in range(12)])
    assert draws[0] == draws[1]
    trials = {seeds.loc[7, f"c100_val_200_s{s}"] for s in (777, 888, 999)}
    assert set(draws[0]) <= trials and len(set(draws[0])) > 1


def test_query_by_index_gives_per_seed_trials(api, seeds):
    results = api.query_by_index(3, 'ImageNet16-120', hp='200')
    assert set(results) == {s for s in (777, 888, 999)
                            if not np.isnan(seeds.loc[3, f"in16_val_200_s{s}"])}
    for seed, trial in results.items():
        assert trial.get_eval('x-valid')["accuracy"] == seeds.loc[3, f"in16_val_200_s{seed}"]
        assert trial.get_eval('ori-test')["accuracy"] == seeds.loc[
            3, f"in16_valtest_200_s{seed}"]
        assert trial.get_latency() == -1
    with pytest.raises(KeyError, match="no evaluation set"):
        results[next(iter(results))].get_eval('valid')
    every = api.query_by_index(3, hp='200')
    assert set(every) == set(api.datasets) and every["cifar10"] == {}


def test_per_epoch_values_come_from_the_curves_only(api, data_dir):
    curves = pd.read_csv(data_dir / "nb201" / "nb201_curves_200.csv.gz")
    row = curves.set_index("arch_index").loc[5]
    info = api.query_meta_info_by_index(5, hp='200')
    assert info.get_metrics('cifar10-valid', 'x-valid', 20)["accuracy"] == json.loads(
        row["val_accs"])[20]
    assert info.get_metrics('cifar10-valid', 'train', 20)["accuracy"] == json.loads(
        row["train_accs"])[20]
    assert info.get_metrics('cifar10-valid', 'x-valid', 20)["loss"] is None
    assert info.get_metrics('cifar100', 'x-valid', 20)["accuracy"] is None  # not held
    assert api.query_meta_info_by_index(500, hp='200').get_metrics(
        'cifar10-valid', 'x-valid', 20)["accuracy"] is None  # no curve for cell 500
    with pytest.raises(IndexError, match="outside"):
        info.get_metrics('cifar10-valid', 'x-valid', 200)


def test_find_best_matches_the_table_and_honours_limits(api):
    index, accuracy = api.find_best('cifar10', 'ori-test', hp='200')
    column = api.bench.column("cifar10", "test-accuracy", "200")
    assert index == int(np.nanargmax(column)) and accuracy == pytest.approx(column.max())
    small, small_acc = api.find_best('cifar10', 'ori-test', FLOP_max=30, hp='200')
    assert api.get_cost_info(small, 'cifar10')["flops"] <= 30 and small_acc <= accuracy
    with pytest.raises(KeyError, match="no set"):
        api.find_best('cifar10', 'x-valid', hp='200')


def test_bad_calls_say_what_is_wrong(api, data_dir, tmp_path):
    with pytest.raises(ValueError, match="hp='100'"):
        api.get_more_info(1, 'cifar10', hp='100')
    with pytest.raises(ValueError, match="official names"):
        api.get_more_info(1, 'cifar-10')
    with pytest.raises(IndexError):
        api.get_more_info(15625, 'cifar10')
    with pytest.raises(KeyError, match="no set"):
        api.query_meta_info_by_index(1).get_metrics('cifar10', 'x-valid')
    with pytest.raises(FileNotFoundError):
        NASBench201API(str(tmp_path / "NAS-Bench-201-v1_1-096897.pth"), verbose=False)
    with pytest.raises(ValueError, match="not a NAS-Bench-201 network configuration"):
        get_cell_based_tiny_net({"name": "infer.shape.tiny", "num_classes": 10})
    assert api.query_index_by_arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") >= 0


def test_the_embedded_source_serves_its_one_schedule(monkeypatch):
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    api = NASBench201API(None, verbose=False, seed=0)
    assert api.datasets == ("cifar10",)
    info = api.get_more_info(1, 'cifar10', hp=api.bench.hps[0], is_random=False)
    assert info["test-accuracy"] == pytest.approx(api.bench.get_more_info(1, "cifar10")[
        "test-accuracy"])
    with pytest.raises(ValueError, match="not held"):
        api.get_more_info(1, 'cifar10')  # the official default hp='12' is not held here
    final = api.query_meta_info_by_index(1, hp=api.bench.hps[0]).get_metrics('cifar10', 'ori-test')
    assert final["iepoch"] is None and final["accuracy"] == info["test-accuracy"]
    with pytest.raises(IndexError, match="not held"):
        api.get_more_info(1, 'cifar10', 5, hp=api.bench.hps[0])
    assert compat.SEEDS == (777, 888, 999)
