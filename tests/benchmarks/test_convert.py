"""The converter, run against a stand-in for the official API."""
import numpy as np
import pytest

from nar_utils.benchmarks import nb201 as nb201_data
from nar_utils.benchmarks.convert import convert_official
from nar_utils.spaces import nb201


class FakeOfficialAPI:
    """Mimics the query methods of nas_201_api / nats_bench on made-up numbers (accuracies
    in percent, as the official API reports them)."""

    def __init__(self):
        self.arch_strs = nb201.all_arch_strs()[::-1]  # an order unlike the space index

    def __len__(self):
        return len(self.arch_strs)

    def arch(self, index):
        return self.arch_strs[index]

    def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
        base = (index % 73) + (1 if hp == "200" else 0.5) + len(dataset)
        if is_random is True:
            raise AssertionError("the converter must never ask for a random trial")
        if is_random is not False:
            if is_random == 999 and dataset == "cifar100":
                raise ValueError("seed 999 not held")
            return {"valid-accuracy": base + is_random / 1000}
        info = {"train-loss": 1.0, "train-accuracy": base + 5, "train-all-time": 10.0 * (index + 1),
                "test-loss": 2.0, "test-accuracy": base + 1}
        if dataset != "cifar10":
            info.update({"valid-loss": 3.0, "valid-accuracy": base, "valid-all-time": 1.0})
        if dataset in ("cifar100", "ImageNet16-120"):
            info["valtest-accuracy"] = base + 0.5
        return info

    def get_cost_info(self, index, dataset, hp="12"):
        return {"flops": 1.0, "params": 0.1 + index / 1e6,
                "latency": None if dataset == "cifar10" else 0.01 + index / 1e7}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "nb201" / "nb201.csv.gz"
    convert_official(FakeOfficialAPI(), path, progress=False)
    return path


def test_converted_table_loads_and_matches_the_api(converted):
    bench = nb201_data.load_benchmark(converted.parent.parent)
    api = FakeOfficialAPI()
    assert len(bench) == 15625 and bench.datasets == nb201_data.DATASETS
    for index in (0, 5, 15624):
        assert bench[index] == api.arch(index)
        for dataset in nb201_data.DATASETS:
            want = api.get_more_info(index, dataset, hp="200", is_random=False)
            got = bench.get_more_info(index, dataset)
            for key in ("valid-accuracy", "test-accuracy"):
                if key in want and key in got:
                    assert got[key] == pytest.approx(want[key])
        assert bench.column("cifar100", "params")[index] == pytest.approx(0.1 + index / 1e6)
        # made-up parameter counts are no network the benchmark trains: its own are served
        cost = bench.get_cost_info(index, "cifar100")
        assert cost["params"] == pytest.approx(0.1 + index / 1e6) and "flops" not in cost
        assert cost["latency"] == pytest.approx(0.01 + index / 1e7)
        assert "latency" not in bench.get_cost_info(index, "cifar10")  # the API held none
        assert bench.get_cost_info(index, "cifar10-valid")["train-time"] == \
            pytest.approx(10.0 * (index + 1))
    assert bench.get_more_info(3, "cifar10-valid", hp="12")["valid-accuracy"] == \
        pytest.approx(api.get_more_info(3, "cifar10-valid", hp="12", is_random=False)
                      ["valid-accuracy"])


def test_converter_keeps_per_seed_trials(converted):
    bench = nb201_data.load_benchmark(converted.parent.parent)
    import json
    c10v = json.loads(bench.frame["c10v_val_200_seeds"].iat[2])
    c100 = json.loads(bench.frame["c100_val_200_seeds"].iat[2])
    assert len(c10v) == 3 and len(c100) == 2  # the API did not hold seed 999 on cifar100
    assert np.allclose(np.diff(c10v), 0.111)


def test_converter_refuses_a_wrong_space():
    class Size(FakeOfficialAPI):
        def __len__(self):
            return 32768

    with pytest.raises(ValueError, match="32768"):
        convert_official(Size(), None, progress=False)


def test_converter_refuses_to_write_a_table_the_loader_would_refuse(tmp_path):
    class Fractions(FakeOfficialAPI):
        def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
            info = super().get_more_info(index, dataset, iepoch, hp, is_random)
            return {k: v / 100 if k.endswith("accuracy") else v for k, v in info.items()}

    out = tmp_path / "nb201" / "nb201.csv.gz"
    with pytest.raises(nb201_data.TableError, match="fractions, not percentages"):
        convert_official(Fractions(), out, hps=("200",), seeds=None, progress=False)
    assert not out.exists()
