"""The NB201 network: parameter counts against the benchmark, built networks, forward pass."""
import numpy as np
import pytest
import torch

from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import network as nb201_network

ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
         "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
# Cells that NATS-Bench issue #36 (github.com/D-X-Y/NATS-Bench/issues/36, labelled a bug)
# reports with 200-epoch cost records that belong to a different network.
REPORTED_COST_BUGS = (
    "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|skip_connect~1|none~2|",
    "|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|none~0|skip_connect~1|none~2|",
)


@pytest.fixture(autouse=True, scope="module")
def _torch_threads(one_torch_thread):
    """Every test here runs torch on one thread (see conftest)."""


def sample_archs(count: int, seed: int) -> list[str]:
    """A seeded sample of cells plus the extremes (all 'none', all 3x3 conv) and arch 0."""
    rng = np.random.default_rng(seed)
    codes = nb201.all_op_codes()[rng.choice(nb201.NUM_ARCHS, size=count, replace=False)]
    return [ARCH0, "000000", "333333"] + [nb201.format_arch_str(row) for row in codes]


def test_param_counts_match_the_benchmark_for_every_arch(table):
    """Analytic counts equal the table's params_mb x 1e6 for all 15,625 cells on the three
    networks, except where the benchmark's own record is known to be another network's."""
    all_counts = {}
    mismatched = {}
    for dataset in ("cifar10-valid", "cifar100", "ImageNet16-120", "cifar10"):
        reported = table.column(dataset, "params")
        assert np.allclose(reported * 1e6, np.rint(reported * 1e6), atol=1e-6)
        reported = np.rint(reported * 1e6).astype(np.int64)
        ours = nb201_network.param_counts(dataset, table.op_codes)
        assert ours.shape == (len(table),) and ours.dtype == np.int64
        mismatch = np.flatnonzero(ours != reported)
        mismatched[dataset] = set(mismatch.tolist())
        # The exceptions are rare, and each holds the exact count of some other NB201 cell.
        assert len(mismatch) < 0.01 * len(table), (dataset, len(mismatch))
        achievable = set(nb201_network.param_counts(dataset, nb201.all_op_codes()).tolist())
        assert set(reported[mismatch].tolist()) <= achievable
        all_counts[dataset] = ours
    # The same cells disagree on every dataset (one corrupted record per cell) ...
    assert len({frozenset(m) for m in mismatched.values()}) == 1
    # ... and they include the cells reported upstream.
    for arch_str in REPORTED_COST_BUGS:
        assert table.query_index_by_arch(arch_str) in mismatched["cifar10-valid"]
    np.testing.assert_array_equal(all_counts["cifar10"], all_counts["cifar10-valid"])
    assert all_counts["cifar10-valid"][0] == 129_306  # 0.129306 MB in the table


def test_built_networks_have_the_analytic_parameter_count():
    for arch in sample_archs(4, seed=0):
        for dataset in ("cifar10-valid", "cifar100", "ImageNet16-120"):
            network = nb201_network.build_network(arch, dataset)
            expected = nb201_network.param_counts(dataset, [arch])[0]
            assert nb201_network.count_parameters(network) == expected, (arch, dataset)


def test_param_counts_of_small_skeletons_match_built_networks():
    """The analytic count follows the skeleton's width and depth, not just the defaults."""
    codes = nb201.op_codes_array([ARCH0, "333333"])
    expected = nb201_network.param_counts("cifar100", codes, channels=8, cells_per_stage=2)
    for row, count in zip(codes, expected):
        network = nb201_network.build_network(row.tolist(), "cifar100", channels=8,
                                              cells_per_stage=2)
        assert nb201_network.count_parameters(network) == count
        assert len(network.cells) == 3 * 2 + 2


def test_skeleton_layout_follows_the_benchmark():
    network = nb201_network.build_network(ARCH0, "cifar10-valid")
    assert len(network.cells) == 17
    reductions = [k for k, cell in enumerate(network.cells)
                  if isinstance(cell, nb201_network.ResidualReduction)]
    assert reductions == [5, 11]
    assert network.config.searched_cell_positions == tuple(
        k for k in range(17) if k not in (5, 11))
    # Edges follow arch-string order: arch 0 has 1x1 convolutions on edges 0->2 and 0->3.
    kinds = [type(edge).__name__ for edge in network.cells[0].edges]
    assert kinds == ["AvgPool2d", "ReLUConvBN", "Identity", "ReLUConvBN", "Identity",
                     "Identity"]
    assert network.cells[0].edges[1][1].kernel_size == (1, 1)
    widths = [network.cells[k].edges[1][1].out_channels for k in (0, 6, 12)]
    assert widths == [16, 32, 64]


@pytest.mark.parametrize("dataset", DATASETS)
def test_forward_pass_shapes_on_cpu(dataset):
    network = nb201_network.build_network(ARCH0, dataset).eval()
    num_classes, size = nb201_network.DATASET_SHAPES[dataset]
    images = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = network(images)
    assert logits.shape == (2, num_classes)
    assert torch.isfinite(logits).all()
    assert not torch.allclose(logits[0], logits[1])  # the output depends on the input


def test_disconnected_cell_ignores_its_input():
    """A cell whose output node is unreachable outputs zeros, so the logits are constant."""
    network = nb201_network.build_network("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|"
                                     "none~2|", "cifar10").eval()
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = network(images)
    torch.testing.assert_close(logits[0], logits[1])


def test_seed_fixes_weights_and_keeps_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = nb201_network.build_network(ARCH0, "cifar100", seed=7)
    after = torch.rand(1)
    second = nb201_network.build_network(ARCH0, "cifar100", seed=7)
    other = nb201_network.build_network(ARCH0, "cifar100", seed=8)
    assert torch.equal(before, after)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(first.stem[0].weight, other.stem[0].weight)


def test_bad_inputs_raise_naming_the_valid_choices():
    with pytest.raises(ValueError, match="cifar-10.*cifar10-valid"):
        nb201_network.build_network(ARCH0, "cifar-10")
    with pytest.raises(ValueError, match="cifar-10"):
        nb201_network.param_counts("cifar-10", [ARCH0])
    with pytest.raises(ValueError, match="unknown operation"):
        nb201_network.build_network("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ValueError, match="channels"):
        nb201_network.NetworkConfig(ARCH0, channels=0)
    with pytest.raises(ValueError, match="out of range"):
        nb201_network.param_counts("cifar10", np.array([[0, 1, 2, 3, 4, 5]]))
    network = nb201_network.build_network(ARCH0, "ImageNet16-120")
    with pytest.raises(ValueError, match=r"\(B, 3, 16, 16\)"):
        network(torch.zeros(1, 3, 32, 32))


def test_a_network_for_other_images_sets_its_classes_and_size():
    network = nb201_network.build_network(ARCH0, "cifar10", classes=7, image_size=16,
                                          channels=8, cells_per_stage=1)
    assert network.config.num_classes == 7 and network.config.input_size == 16
    with torch.no_grad():
        assert network(torch.zeros(2, 3, 16, 16)).shape == (2, 7)
    assert nb201_network.NetworkConfig(ARCH0, "cifar100").num_classes == 100  # the default
    with pytest.raises(ValueError, match="classes must be a positive int"):
        nb201_network.NetworkConfig(ARCH0, classes=0)
