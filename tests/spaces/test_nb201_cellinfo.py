"""Cell information: the authors' record, analytic vs traced counts, writers and readers."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

import nar_utils as nar
from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import cellinfo
from nar_utils.spaces.nb201 import network as nb201_network

ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
         "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
EXAMPLE_RELPATH = "nar/nasbench201_vertice_example.json"


@pytest.fixture(autouse=True, scope="module")
def _torch_threads(one_torch_thread):
    """Every test here runs torch on one thread (see conftest)."""


@pytest.fixture(scope="module")
def authors_record(data_dir) -> dict:
    path = data_dir / EXAMPLE_RELPATH
    if not path.is_file():
        pytest.skip(f"no NAR example record at {path}")
    return json.loads(path.read_text())


@pytest.fixture
def tiny_bench() -> nar.benchmarks.NB201Benchmark:
    """Seven cells with made-up accuracies for two fields; every other field is absent."""
    arch_strs = [ARCH0] + [nb201.format_arch_str(c) for c in
                           ("000000", "333333", "222222", "444444", "131313", "302010")]
    frame = pd.DataFrame({
        "arch_index": np.arange(len(arch_strs)),
        "arch_str": arch_strs,
        "op_code": [nb201.op_code_from_arch_str(a) for a in arch_strs],
        "val": np.linspace(50.0, 90.0, len(arch_strs)),
        "test": [float("nan")] + [60.5] * (len(arch_strs) - 1),
    })
    columns = {("cifar10-valid", "200", "valid-accuracy"): "val",
               ("cifar100", "200", "test-accuracy"): "test"}
    return nar.benchmarks.NB201Benchmark(frame, columns, source="fixture", location="memory")


def test_arch0_matches_the_authors_record_field_by_field(authors_record, table):
    (key, theirs), = authors_record.items()
    ours = dict(cellinfo.nar_records(table, indices=[int(key)]))[key]
    assert list(ours) == list(theirs)  # same keys, same order
    for field, value in theirs.items():
        if field in cellinfo.LATENCY_FIELDS:
            assert ours[field] is None, field  # the table holds no latencies
        elif isinstance(value, float):
            assert ours[field] == pytest.approx(value, abs=1e-5), field  # table: 6 decimals
        else:
            assert ours[field] == value, field
    # The same numbers come straight from the arrays, on all three datasets.
    codes = nb201.op_codes_array([theirs["arch_str"]])
    for dataset in cellinfo.NAR_DATASETS:
        flops, params = cellinfo.cell_info_arrays(dataset, codes)
        assert flops[0].tolist() == [theirs[f"{dataset}_opt_flops"][c] for c in cellinfo.CELL_NAMES]
        assert params[0].tolist() == [theirs[f"{dataset}_opt_params"][c]
                                      for c in cellinfo.CELL_NAMES]
        total_flops, total_params = cellinfo.network_totals(dataset, codes)
        assert total_flops[0] == theirs[f"{dataset}_total_flops"]
        assert total_params[0] == theirs[f"{dataset}_total_params"]


def test_authors_edge_order_is_the_arch_string_order(authors_record):
    (_, theirs), = authors_record.items()
    codes = nb201.parse_arch_str(theirs["arch_str"])
    conv_edges = [k for k, code in enumerate(codes) if code == nb201.OP_CODE["nor_conv_1x1"]]
    listed = [k for k, v in enumerate(theirs["cifar10-valid_opt_flops"]["cells0"]) if v]
    assert listed == conv_edges == [1, 3]
    assert np.array_equal(nb201.adjacency(codes), theirs["cell_adjacency"])


@pytest.mark.parametrize("arch", [ARCH0, "333333", "000000", "|nor_conv_3x3~0|+|none~0|"
                                  "avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"])
def test_analytic_counts_equal_a_traced_network(arch):
    codes = nb201.op_codes_array([arch])
    for dataset in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        traced = cellinfo.traced_cell_info(arch, dataset)
        flops, params = cellinfo.cell_info_arrays(dataset, codes)
        total_flops, total_params = cellinfo.network_totals(dataset, codes)
        np.testing.assert_array_equal(traced.flops, flops[0])
        np.testing.assert_array_equal(traced.params, params[0])
        assert traced.total_flops == total_flops[0]
        assert traced.total_params == total_params[0]


def test_skeleton_costs_equal_the_traced_modules():
    traced = cellinfo.traced_cell_info("000000", "cifar100")  # cells cost nothing
    skeleton = cellinfo.skeleton_costs("cifar100")
    by_part: dict[str, int] = {}
    for name, value in traced.flops_by_module.items():
        part = {"stem": "stem", "head": "head_bn", "global_pool": "global_pool",
                "classifier": "classifier"}.get(name.split(".")[0])
        part = part or "cells" + name.split(".")[1]
        by_part[part] = by_part.get(part, 0) + value
    assert by_part == {name: flops for name, (flops, _) in skeleton.items()}
    assert traced.total_params == sum(params for _, params in skeleton.values())


def test_only_convolutions_cost_anything_on_every_cell():
    codes = nb201.all_op_codes()
    is_conv = np.isin(codes, [nb201.OP_CODE["nor_conv_1x1"], nb201.OP_CODE["nor_conv_3x3"]])
    for dataset in ("cifar10-valid", "ImageNet16-120"):
        flops, params = cellinfo.cell_info_arrays(dataset, codes)
        assert flops.shape == params.shape == (nb201.NUM_ARCHS, 15, 6)
        assert flops.dtype == params.dtype == np.int64
        assert (flops[~np.broadcast_to(is_conv[:, None, :], flops.shape)] == 0).all()
        assert (flops[np.broadcast_to(is_conv[:, None, :], flops.shape)] > 0).all()
        assert ((params == 0) == (flops == 0)).all()
        # Whole-network totals agree with the independent parameter count of the networks.
        _, total_params = cellinfo.network_totals(dataset, codes)
        np.testing.assert_array_equal(total_params, nb201_network.param_counts(dataset, codes))
    for result, other in zip(cellinfo.cell_info_arrays("cifar10", codes[:50]),
                             cellinfo.cell_info_arrays("cifar10-valid", codes[:50])):
        np.testing.assert_array_equal(result, other)


def test_nar_json_round_trip(tiny_bench, tmp_path):
    path = cellinfo.to_nar_json(tiny_bench, tmp_path / "cellinfo.json")
    records = cellinfo.read_nar_json(path)
    assert records == dict(cellinfo.nar_records(tiny_bench))
    assert list(records) == [str(i) for i in range(len(tiny_bench))]
    first = records["0"]
    assert first["cifar10_val_acc"] == 50.0
    assert first["cifar100_test_acc"] is None  # NaN in the source
    assert records["1"]["cifar100_test_acc"] == 60.5
    assert first["cifar10_test_acc"] is None and first["imagenet16_latency"] is None
    for dataset in cellinfo.NAR_DATASETS:
        indices, flops, params = cellinfo.nar_arrays(records, dataset)
        expected = cellinfo.cell_info_arrays(dataset, tiny_bench.op_codes)
        np.testing.assert_array_equal(indices, np.arange(len(tiny_bench)))
        np.testing.assert_array_equal(flops, expected[0])
        np.testing.assert_array_equal(params, expected[1])
    indented = cellinfo.to_nar_json(tiny_bench, tmp_path / "indented.json", indent=4)
    assert cellinfo.read_nar_json(indented) == records
    assert indented.stat().st_size > path.stat().st_size


def test_parquet_round_trip(tiny_bench, tmp_path):
    path = cellinfo.write_cellinfo(tiny_bench, tmp_path / "cellinfo.parquet",
                                   datasets=("cifar10", "ImageNet16-120"))
    frame = cellinfo.read_cellinfo(path)
    assert len(frame) == len(tiny_bench)
    assert frame["op_code"].tolist()[0] == "421211"
    assert frame["cifar10_val_acc"].tolist()[-1] == 90.0
    assert frame["imagenet16_val_acc"].isna().all()
    for dataset in ("cifar10", "ImageNet16-120"):
        flops, params = cellinfo.frame_arrays(frame, dataset)
        expected = cellinfo.cell_info_arrays(dataset, tiny_bench.op_codes)
        np.testing.assert_array_equal(flops, expected[0])
        np.testing.assert_array_equal(params, expected[1])
        totals = cellinfo.network_totals(dataset, tiny_bench.op_codes)
        np.testing.assert_array_equal(frame[f"{dataset}_total_flops"], totals[0])
    with pytest.raises(KeyError, match="cifar100_opt_flops"):
        cellinfo.frame_arrays(frame, "cifar100")


def test_bad_inputs_raise_naming_the_valid_choices(tiny_bench, tmp_path):
    codes = nb201.op_codes_array([ARCH0])
    with pytest.raises(ValueError, match="ImageNet16.*ImageNet16-120"):
        cellinfo.cell_info_arrays("ImageNet16", codes)
    with pytest.raises(ValueError, match="shape"):
        cellinfo.network_totals("cifar10", np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match="out of range"):
        cellinfo.cell_info_arrays("cifar10", np.full((1, 6), 7))
    with pytest.raises(ValueError, match="cifar-100"):
        cellinfo.to_nar_json(tiny_bench, tmp_path / "x.json", datasets=("cifar-100",))


def _official_count(net: torch.nn.Module, size: int) -> int:
    """NAS-Bench-201's counting rule, by hooks on a built network: every Conv2d's
    k*k*Cin*Cout/groups per output position (+ bias) and every Linear's in*out (+ bias)."""
    total = []

    def conv(module, inputs, output):
        positions = output.shape[0] * output.shape[2] * output.shape[3]
        k = module.kernel_size[0] * module.kernel_size[1]
        total.append(k * module.in_channels * module.out_channels // module.groups * positions
                     + (module.out_channels * positions if module.bias is not None else 0))

    def linear(module, inputs, output):
        total.append(module.in_features * module.out_features
                     + (module.out_features if module.bias is not None else 0))

    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(conv)
        elif isinstance(module, torch.nn.Linear):
            module.register_forward_hook(linear)
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, size, size))
    return sum(total)


@pytest.mark.parametrize("dataset", ["cifar10", "ImageNet16-120"])
def test_official_flops_follow_the_benchmarks_counting_rule(dataset):
    archs = [nb201.RESNET_ARCH, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|"
             "nor_conv_3x3~2|"]
    codes = np.array([nb201.parse_arch_str(a) for a in archs])
    official = cellinfo.official_flops(dataset, codes)
    size = nb201_network.DATASET_SHAPES[dataset][1]
    for arch, value in zip(archs, official):
        assert value == _official_count(nb201_network.build_network(arch, dataset), size)
    book, _ = cellinfo.network_totals(dataset, codes)
    assert (book > official).all()  # the book's convention also counts batch norms


def test_record_indices_and_network_sizes_are_integers_never_truncated(tiny_bench):
    assert [k for k, _ in cellinfo.nar_records(tiny_bench, indices=[np.int64(2)])] == ["2"]
    for bad, error in ((2.5, TypeError), (True, TypeError), (-1, IndexError), (7, IndexError)):
        with pytest.raises(error, match="arch index"):
            list(cellinfo.nar_records(tiny_bench, indices=[bad]))
    with pytest.raises(TypeError, match="channels must be an integer"):
        nb201_network.param_counts("cifar10", [ARCH0], channels=16.5)
