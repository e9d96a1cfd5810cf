"""Encodings of NB201 cells: shapes, values at known positions, scaling, batch independence."""
import itertools
import json

import numpy as np
import pytest

from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import encoding

ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
         "|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")  # op code 421211
NOT_EDGES = [(i, j) for i in range(4) for j in range(4) if (i, j) not in nb201.EDGES]


def fake_cellinfo(op_codes):
    """Per-op costs shaped like the real ones: three stages of 5 cells (16/32/64 channels on
    32/16/8 pixels); convs cost C*C*k*k params and that times pixels in FLOPs, pooling costs
    FLOPs but no params, 'none' and skip_connect cost nothing."""
    codes = np.asarray(op_codes, dtype=np.int64)
    channels = np.repeat([16, 32, 64], 5)[None, :, None]
    pixels = np.repeat([32 * 32, 16 * 16, 8 * 8], 5)[None, :, None]
    kernel_area = np.array([0, 0, 1, 9, 0])[codes][:, None, :]
    params = channels * channels * kernel_area
    flops = params * pixels + np.where(codes == 4, 9, 0)[:, None, :] * channels * pixels
    return flops.astype(np.int64), params.astype(np.int64)


@pytest.fixture(scope="module")
def sample_codes():
    rng = np.random.default_rng(0)
    return np.concatenate([nb201.op_codes_array([ARCH0, "000000", "444444"]),
                           nb201.all_op_codes()[rng.choice(15625, 40, replace=False)]])


def test_shapes_and_dtypes(sample_codes):
    n = len(sample_codes)
    flops, params = fake_cellinfo(sample_codes)
    tensor = encoding.feature_tensor_from_cellinfo(sample_codes, flops, params)
    assert tensor.shape == (n, 31, 4, 4) and tensor.dtype == np.float32
    assert encoding.onehot(sample_codes).shape == (n, 30)
    assert encoding.adjacency_onehot(sample_codes).shape == (n, 46)
    adj, node_ops = encoding.graph_encoding(sample_codes)
    assert adj.shape == (n, 8, 8) and node_ops.shape == (n, 8, 7)
    assert encoding.path_encoding(sample_codes).shape == (n, 84)
    for array in (encoding.onehot(sample_codes), adj, node_ops,
                  encoding.path_encoding(sample_codes)):
        assert array.dtype == np.float32


def test_feature_tensor_arch0_faithful_values():
    flops, params = fake_cellinfo(nb201.op_codes_array([ARCH0]))
    tensor = encoding.feature_tensor_from_cellinfo([ARCH0], flops, params, faithful=True)[0]
    assert tensor[0, 0, 1] == 4  # avg_pool_3x3 on edge 0->1
    assert tensor[0, 0, 2] == 2 and tensor[0, 0, 3] == 2 and tensor[0, 2, 3] == 1
    np.testing.assert_array_equal(tensor[0], nb201.adjacency(ARCH0))
    # Channels 1 + 2c / 2 + 2c: cell c's FLOPs / params, the value of edge k at EDGES[k].
    for cell, (k, (src, dst)) in itertools.product(range(15), enumerate(nb201.EDGES)):
        assert tensor[1 + 2 * cell, src, dst] == flops[0, cell, k]
        assert tensor[2 + 2 * cell, src, dst] == params[0, cell, k]
    assert tensor[1, 0, 2] == 16 * 16 * 32 * 32  # cells0 FLOPs of the nor_conv_1x1 on 0->2
    assert tensor[30, 0, 3] == 64 * 64  # cells16 params of the nor_conv_1x1 on 0->3
    assert tensor[1, 0, 1] == 9 * 16 * 32 * 32 and tensor[2, 0, 1] == 0  # pooling
    for src, dst in NOT_EDGES:
        assert not tensor[:, src, dst].any()


def test_faithful_keeps_raw_counts_exactly():
    codes = nb201.op_codes_array(["333333"])
    flops = np.full((1, 15, 6), 2**24 - 1, dtype=np.int64)  # largest count float32 holds exactly
    params = np.arange(90, dtype=np.int64).reshape(1, 15, 6) * 1001
    tensor = encoding.feature_tensor_from_cellinfo(codes, flops, params, faithful=True)
    src, dst = zip(*nb201.EDGES)
    np.testing.assert_array_equal(tensor[0, 1::2][:, src, dst], flops[0])
    np.testing.assert_array_equal(tensor[0, 2::2][:, src, dst], params[0])


def test_default_scaling_is_fixed_log_and_bounded(sample_codes):
    flops, params = fake_cellinfo(sample_codes)
    tensor = encoding.feature_tensor_from_cellinfo(sample_codes, flops, params)
    src, dst = zip(*nb201.EDGES)
    np.testing.assert_allclose(tensor[:, 1::2][:, :, src, dst],
                               np.log1p(flops) / np.log1p(encoding.FLOPS_REF), rtol=1e-6)
    np.testing.assert_allclose(tensor[:, 2::2][:, :, src, dst],
                               np.log1p(params) / np.log1p(encoding.PARAMS_REF), rtol=1e-6)
    assert tensor[:, 1:].min() >= 0 and tensor[:, 1:].max() <= 1
    assert tensor[:, 0].min() >= -1 and tensor[:, 0].max() <= 1
    # zero costs stay zero; a stage-3 3x3 conv is near the top of the scale
    zero_cost = np.isin(sample_codes, [0, 1])[:, None, :].repeat(15, axis=1)
    assert not tensor[:, 1::2][:, :, src, dst][zero_cost].any()
    assert not tensor[2, 2::2].any() and tensor[2, 1::2][:, src, dst].all()  # all pooling
    conv3 = encoding.feature_tensor_from_cellinfo(["333333"], *fake_cellinfo([[3] * 6]))[0]
    assert 0.9 < conv3[30, 0, 1] < 1 and 0.9 < conv3[1, 0, 1] < 1  # largest costs near 1
    assert conv3[2, 0, 1] < conv3[30, 0, 1]  # stage-1 params below stage-3 params


def test_default_op_channel_is_a_pentagon_per_edge():
    codes = nb201.op_codes_array(["000000", "012340"])
    flops, params = fake_cellinfo(codes)
    default = encoding.feature_tensor_from_cellinfo(codes, flops, params)
    faithful = encoding.feature_tensor_from_cellinfo(codes, flops, params, faithful=True)
    src, dst = zip(*nb201.EDGES)
    # 'none' edges read (1, 0): first coordinate at [src, dst], second at [dst, src]
    np.testing.assert_allclose(default[0, 0, src, dst], 1.0)
    np.testing.assert_allclose(default[0, 0, dst, src], 0.0, atol=1e-7)
    assert not default[:, 0, range(4), range(4)].any()  # the diagonal is never used
    assert not faithful[0, 0].any()  # faithful: 'none' reads like no edge
    # "012340": none, skip, conv1x1, conv3x3, pool, none on the six edges
    cos72, sin72 = np.cos(2 * np.pi / 5), np.sin(2 * np.pi / 5)
    cos144, sin144 = np.cos(4 * np.pi / 5), np.sin(4 * np.pi / 5)
    np.testing.assert_allclose(default[1, 0, src, dst],
                               [1, cos144, cos72, cos72, cos144, 1], atol=1e-6)
    np.testing.assert_allclose(default[1, 0, dst, src],
                               [0, -sin144, sin72, -sin72, sin144, 0], atol=1e-6)
    assert default[1, 0, 1, 2] == pytest.approx(0.309017, abs=1e-6)  # nor_conv_1x1 on 1->2
    assert default[1, 0, 3, 1] == pytest.approx(0.587785, abs=1e-6)  # avg_pool_3x3 on 1->3
    np.testing.assert_array_equal(encoding.op_type_matrix(codes, faithful=True)[1],
                                  nb201.adjacency("012340"))


def test_default_op_points_are_distinct_vertices_of_a_pentagon():
    points = encoding.OP_PENTAGON.astype(np.float64)
    assert points.shape == (5, 2)
    np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 1]), 1.0, rtol=1e-6)
    # every op is a vertex: a linear function of its point is 1 there and below 1 elsewhere
    # (the dot product with its own point), so a ReLU after a linear map isolates any op
    gram = points @ points.T
    for op in range(5):
        others = np.delete(gram[op], op)
        assert gram[op, op] == pytest.approx(1.0, abs=1e-6) and others.max() < 0.31
    # the first coordinate groups the kinds: none > convolutions > parameter-free ops
    first = dict(zip(nb201.OPS, points[:, 0]))
    assert first["none"] > first["nor_conv_1x1"] == pytest.approx(first["nor_conv_3x3"])
    assert first["nor_conv_3x3"] > first["skip_connect"] == pytest.approx(first["avg_pool_3x3"])


def test_batch_independence(sample_codes):
    flops, params = fake_cellinfo(sample_codes)
    rng = np.random.default_rng(1)
    # the rest of the batch gets extreme costs: they must not change row 0's encoding
    wild_flops = flops.copy()
    wild_flops[1:] = rng.integers(0, 10**9, size=flops[1:].shape)
    for faithful in (False, True):
        batch = encoding.feature_tensor_from_cellinfo(sample_codes, wild_flops, params, faithful)
        for i in (0, 5):
            alone = encoding.feature_tensor_from_cellinfo(
                sample_codes[i:i + 1], wild_flops[i:i + 1], params[i:i + 1], faithful)
            np.testing.assert_array_equal(alone[0], batch[i])
    for function in (encoding.onehot, encoding.adjacency_onehot, encoding.path_encoding):
        full = function(sample_codes)
        for i in (0, 7):
            np.testing.assert_array_equal(function(sample_codes[i:i + 1])[0], full[i])
    adj, node_ops = encoding.graph_encoding(sample_codes)
    adj_one, node_ops_one = encoding.graph_encoding(sample_codes[3:4])
    np.testing.assert_array_equal(adj_one[0], adj[3])
    np.testing.assert_array_equal(node_ops_one[0], node_ops[3])


def test_inputs_in_every_accepted_form_agree():
    arch_strs = [ARCH0, nb201.arch_str_from_op_code("013402")]
    op_code_strs = ["421211", "013402"]
    tuples = [(4, 2, 1, 2, 1, 1), (0, 1, 3, 4, 0, 2)]
    array = np.array(tuples, dtype=np.int8)
    expected = encoding.path_encoding(array)
    for archs in (arch_strs, op_code_strs, tuples, array.astype(np.int64)):
        np.testing.assert_array_equal(encoding.path_encoding(archs), expected)
        np.testing.assert_array_equal(encoding.onehot(archs), encoding.onehot(array))
    np.testing.assert_array_equal(encoding.onehot(ARCH0), encoding.onehot(array[:1]))


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="op code 5 at row 1, edge 2"):
        encoding.onehot(np.array([[0] * 6, [0, 0, 5, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"shape \(N, 6\)"):
        encoding.onehot(np.zeros((2, 5), dtype=np.int64))
    codes = nb201.op_codes_array(["421211"])
    flops, params = fake_cellinfo(codes)
    with pytest.raises(ValueError, match=r"flops must have shape .*got \(1, 6, 15\)"):
        encoding.feature_tensor_from_cellinfo(codes, flops.transpose(0, 2, 1), params)
    with pytest.raises(ValueError, match="params must be non-negative"):
        encoding.feature_tensor_from_cellinfo(codes, flops, -params - 1)


def test_onehot_and_adjacency_onehot_positions():
    one = encoding.onehot([ARCH0])[0]
    assert one.sum() == 6
    assert np.flatnonzero(one).tolist() == [5 * k + c for k, c in enumerate((4, 2, 1, 2, 1, 1))]
    both = encoding.adjacency_onehot([ARCH0])[0]
    np.testing.assert_array_equal(both[:16], encoding.op_type_matrix([ARCH0])[0].ravel())
    np.testing.assert_array_equal(both[16:], one)
    # avg_pool_3x3 on 0->1: pentagon vertex 2, (cos 144, sin 144) at [0, 1] and [1, 0]
    assert both[0 * 4 + 1] == pytest.approx(-0.809017, abs=1e-6)
    assert both[1 * 4 + 0] == pytest.approx(0.587785, abs=1e-6)
    assert both[0] == both[5] == both[10] == both[15] == 0  # the diagonal


def test_graph_encoding_arch0_by_hand():
    adj, node_ops = encoding.graph_encoding([ARCH0])
    # nodes: 0 input, 1..6 = ops on edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3, 7 output
    expected_flow = {(0, 1), (0, 2), (0, 4),  # input feeds the ops leaving node 0
                     (1, 3), (1, 5),  # op on 0->1 feeds the ops leaving node 1
                     (2, 6), (3, 6),  # ops into node 2 feed 2->3
                     (4, 7), (5, 7), (6, 7)}  # ops into node 3 feed the output
    assert {tuple(ij) for ij in np.argwhere(adj[0])} == expected_flow
    assert node_ops[0].argmax(axis=1).tolist() == [0, 5, 3, 2, 3, 2, 2, 6]
    assert np.all(node_ops.sum(axis=2) == 1)
    assert encoding.GRAPH_NODE_TYPES[5] == "avg_pool_3x3"


def test_graph_encoding_none_nodes_send_nothing():
    adj, node_ops = encoding.graph_encoding(["100000"])  # only 0->1 is an op (skip)
    assert node_ops[0, 2:7, 1].all()  # the other five op nodes are typed 'none'
    assert not adj[0, 2:7].any()  # and send nothing on
    assert adj[0, 0, [1, 2, 4]].all()  # but still receive the input
    assert adj[0, 1, [3, 5]].all() and adj[0, :, 7].sum() == 0  # output receives nothing


def _paths_by_search(op_codes):
    """Independent reference: depth-first search over live edges, op-name sequences."""
    live = {edge: nb201.OPS[c] for edge, c in zip(nb201.EDGES, op_codes) if c != 0}
    found = set()

    def walk(node, labels):
        if node == 3:
            found.add(">".join(labels))
            return
        for (src, dst), op in live.items():
            if src == node:
                walk(dst, labels + [op])

    walk(0, [])
    return found


def test_path_encoding_by_hand_and_by_search(sample_codes):
    names = encoding.path_feature_names()
    assert len(names) == len(set(names)) == encoding.NUM_PATH_FEATURES == 84
    assert not any("none" in name for name in names)

    def active(arch):
        return {names[i] for i in np.flatnonzero(encoding.path_encoding([arch])[0])}

    assert active(ARCH0) == {"nor_conv_1x1", "avg_pool_3x3>skip_connect",
                             "nor_conv_1x1>skip_connect",
                             "avg_pool_3x3>skip_connect>skip_connect"}
    assert active("000000") == set()
    assert active("000300") == {"nor_conv_3x3"}
    # 'none' on 0->1 removes both paths through node 1
    assert active("021311") == {"nor_conv_3x3", "nor_conv_1x1>skip_connect"}
    # two paths with one op sequence share a column
    row = encoding.path_encoding(["220011"])[0]
    assert row.sum() == 1 and row[names.index("nor_conv_1x1>skip_connect")] == 1
    for codes in sample_codes:
        assert active(codes) == _paths_by_search(codes)


def test_feature_tensor_takes_costs_from_cellinfo():
    from nar_utils.spaces.nb201 import cellinfo

    codes = nb201.all_op_codes()[::97]
    for dataset in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        flops, params = cellinfo.cell_info_arrays(dataset, codes)
        for faithful in (False, True):
            np.testing.assert_array_equal(
                encoding.feature_tensor(codes, dataset, faithful=faithful),
                encoding.feature_tensor_from_cellinfo(codes, flops, params, faithful=faithful))
        default = encoding.feature_tensor(codes, dataset)
        assert default[:, 1:].min() == 0 and default[:, 1:].max() < 1  # the REF constants hold


def test_faithful_tensor_matches_the_nar_authors_record(data_dir):
    path = data_dir / "nar" / "nasbench201_vertice_example.json"
    if not path.is_file():
        pytest.skip(f"no NAR example record at {path}")
    record = json.loads(path.read_text())["0"]
    cells = [f"cells{c}" for c in (*range(0, 5), *range(6, 11), *range(12, 17))]
    for dataset in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        tensor = encoding.feature_tensor([record["arch_str"]], dataset, faithful=True)[0]
        # the tensor NAR builds from its record, written out position by position
        expected = np.zeros((31, 4, 4), dtype=np.float32)
        expected[0] = record["cell_adjacency"]
        for c, cell in enumerate(cells):
            for k, (src, dst) in enumerate(nb201.EDGES):
                expected[1 + 2 * c, src, dst] = record[f"{dataset}_opt_flops"][cell][k]
                expected[2 + 2 * c, src, dst] = record[f"{dataset}_opt_params"][cell][k]
        np.testing.assert_array_equal(tensor, expected)
