"""The SearchSpace object: one contract for both spaces, chosen by name once."""
import numpy as np
import pytest

from nar_utils.spaces import SPACES, SearchSpace, get_space, nb101, nb201
from nar_utils.spaces.nb101 import encoding as nb101_encoding
from nar_utils.spaces.nb201 import cellinfo, encoding


def _nb101_batch():
    cells = [nb101.Cell(np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]),
                        (-1, 0, 2, -2)),
             nb101.Cell(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), (-1, 1, -2))]
    return nb101.pack(cells).astype(np.int64)


def test_get_space_returns_one_object_per_name_and_refuses_unknown_names():
    assert set(SPACES) == {"nb201", "nb101"}
    space = get_space("nb201")
    assert isinstance(space, SearchSpace) and get_space(space) is space
    assert get_space("nb201") is space and get_space("nb101").name == "nb101"
    with pytest.raises(ValueError, match="unknown search space 'nb301'.*nb201, nb101"):
        get_space("nb301")


def test_nb201_space_answers_as_the_modules_do():
    space = get_space("nb201")
    batch = space.batch(["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                         "nor_conv_1x1~1|nor_conv_3x3~2|", "000000"])
    assert batch.dtype == np.int64 and batch.shape == (2, 6)
    np.testing.assert_array_equal(space.onehot(batch), encoding.onehot(batch))
    np.testing.assert_array_equal(space.feature_tensor(batch, "cifar100"),
                                  encoding.feature_tensor(batch, "cifar100"))
    assert space.feature_shape == (31, 4, 4) and space.num_node_types == 7
    for got, want in zip(space.network_totals(batch, "cifar10"),
                         cellinfo.network_totals("cifar10", batch)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(space.op_counts(batch)[1], [6, 0, 0, 0, 0])
    assert space.arch_str(batch[0]).startswith("|nor_conv_3x3~0|")
    with pytest.raises(ValueError, match="unknown dataset 'cifar-10'"):
        space.check_dataset("cifar-10")


def test_nb201_indexer_and_mutation():
    space = get_space("nb201")
    batch = nb201.all_op_codes()[::5].astype(np.int64)
    index_of = space.indexer(batch)
    assert index_of(batch[7]) == 7
    np.testing.assert_array_equal(index_of(batch[[3, 1]]), [3, 1])
    assert index_of(nb201.all_op_codes()[1]) == -1  # not in this batch
    with pytest.raises(ValueError, match="op codes must be"):
        index_of([0, 1, 2, 3, 4, 5, 0])
    choices = space.op_choices(batch)
    assert len(choices) == 6 and all(len(c) >= 1 for c in choices)
    rng = np.random.default_rng(0)
    for _ in range(20):
        child = space.mutate(batch[0], rng, choices)
        assert (child != batch[0]).sum() == 1
    assert space.mutate(batch[0], rng, tuple((0,) for _ in range(6))) is None


def test_nb101_space_reads_packed_cells_and_has_no_edge_choices():
    space = get_space("nb101")
    batch = space.batch(_nb101_batch())
    assert batch.shape == (2, 56)
    np.testing.assert_array_equal(space.feature_tensor(batch, "cifar10"),
                                  nb101_encoding.feature_tensor(batch))
    assert space.feature_shape == (19, 7, 7)
    np.testing.assert_array_equal(space.op_counts(batch), [[1, 0, 1], [0, 1, 0]])
    index_of = space.indexer(batch)
    assert index_of(batch[1]) == 1 and index_of(np.zeros(56, dtype=np.int64)) == -1
    assert space.op_choices(batch) is None
    with pytest.raises(NotImplementedError, match="per-edge choices"):
        space.mutate(batch[0], np.random.default_rng(0), ())
    with pytest.raises(ValueError, match="unknown dataset 'cifar100' for space 'nb101'"):
        space.check_dataset("cifar100")


def test_sampling_the_whole_space():
    space = get_space("nb201")
    cells = space.sample(np.random.default_rng(3), 20000)
    assert cells.shape == (20000, 6) and cells.dtype == np.int64
    counts = np.bincount(cells.ravel(), minlength=5) / cells.size
    np.testing.assert_allclose(counts, 0.2, atol=0.01)  # every op equally likely
    np.testing.assert_array_equal(space.sample(np.random.default_rng(3), 5), cells[:5])
    with pytest.raises(NotImplementedError, match="sample the cells a benchmark holds"):
        get_space("nb101").sample(np.random.default_rng(0), 3)


def test_cells_and_counts_are_integers_never_truncated():
    space = get_space("nb201")
    with pytest.raises(TypeError, match="got bool True"):
        space.arch_str(True)
    with pytest.raises(ValueError, match="not a whole number"):
        space.arch_str(np.array([4, 2, 1, 2, 1, 1.5]))
    assert space.arch_str(np.array([4, 2, 1, 2, 1, 1])) == space.arch_str([4, 2, 1, 2, 1, 1])
    with pytest.raises(TypeError, match="count must be an integer, got float 3.7"):
        space.sample(np.random.default_rng(0), 3.7)
    with pytest.raises(TypeError, match="bool"):
        space.sample(np.random.default_rng(0), True)
    assert space.sample(np.random.default_rng(0), np.int64(2)).shape == (2, 6)
    index_of = space.indexer(nb201.all_op_codes().astype(np.int64))
    for bad in ([4, 2, 1, 2, 1, 1.5], [True, False, True, False, True, False], "421211"):
        with pytest.raises(ValueError, match="integers in 0..4"):
            index_of(bad)
    assert index_of([4.0, 2, 1, 2, 1, 1]) == index_of([4, 2, 1, 2, 1, 1])


def test_the_shared_row_name_refuses_fractions_and_bools():
    space = get_space("nb101")
    row = _nb101_batch()[0]
    assert space.arch_str(row) == space.arch_str(row.astype(float))
    with pytest.raises(TypeError, match="must hold integers"):
        space.arch_str(row + 0.5)
    with pytest.raises(TypeError, match="must hold integers"):
        space.arch_str(row.astype(bool))
