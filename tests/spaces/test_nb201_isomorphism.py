"""Canonical forms of NB201 cells: the published count, hand-worked pairs, independent checks."""
import numpy as np
import pytest

from nar_utils.spaces import nb201
from nar_utils.spaces.nb201 import isomorphism as iso

ALL = nb201.all_op_codes()


def test_nb201_count_is_the_published_6466():
    assert iso.num_unique() == 6466
    assert iso.num_unique(ALL) == 6466
    assert len(set(iso.canonical_forms(ALL))) == 6466


def _evaluate_all_cells(seed=0, num_points=6):
    """Every cell's output on random scalar inputs, with one fixed nonlinear function per op
    type (f(0) = 0, so an op fed zeros outputs zeros), skip = identity, none = 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=num_points)
    coeffs = {code: rng.uniform(0.5, 2.0, size=3) for code in (2, 3, 4)}
    values = [np.broadcast_to(x, (len(ALL), num_points))] + [0.0] * 3
    for k, (src, dst) in enumerate(nb201.EDGES):
        src_value = values[src] * np.ones((len(ALL), num_points))
        out = np.where(ALL[:, k:k + 1] == 1, src_value, 0.0)
        for code, (a, b, c) in coeffs.items():
            out = np.where(ALL[:, k:k + 1] == code, c * np.tanh(a * src_value + b * src_value**2),
                           out)
        values[dst] = values[dst] + out
    return np.round(values[3], 9)


def test_function_classes_are_the_numerically_equal_cells():
    """Cells share a 'function' form exactly when they evaluate to the same numbers."""
    outputs = _evaluate_all_cells()
    _, numeric_ids = np.unique(outputs, axis=0, return_inverse=True)
    form_ids = iso.class_ids(ALL, "function")
    pairs = set(zip(numeric_ids.ravel().tolist(), form_ids.tolist()))
    assert len(pairs) == len(set(numeric_ids.ravel())) == len(set(form_ids.tolist()))
    assert iso.num_unique(convention="function") == len(pairs)


def _live_path_edges(codes):
    """Independent reference for 'graph': the labelled edges on some all-non-none path."""
    paths = [[(0, 3)], [(0, 1), (1, 3)], [(0, 2), (2, 3)], [(0, 1), (1, 2), (2, 3)]]
    op = dict(zip(nb201.EDGES, codes))
    return frozenset((e, op[e]) for path in paths if all(op[e] for e in path) for e in path)


def _swap_nodes(edges):
    relabel = {0: 0, 1: 2, 2: 1, 3: 3}
    return frozenset(((relabel[s], relabel[d]), c) for (s, d), c in edges)


def test_graph_classes_match_live_path_edge_sets_up_to_node_swap():
    keys = []
    for codes in ALL.tolist():
        edges = _live_path_edges(codes)
        options = [edges]
        if not any(e == (1, 2) for e, _ in edges):
            options.append(_swap_nodes(edges))
        keys.append(min(tuple(sorted(o)) for o in options))
    reference_ids = np.unique(np.array([str(k) for k in keys]), return_inverse=True)[1]
    form_ids = iso.class_ids(ALL, "graph")
    assert len(set(zip(reference_ids.ravel().tolist(), form_ids.tolist()))) \
        == len(set(form_ids.tolist())) == len(set(reference_ids.ravel().tolist()))


def _refines(fine, coarse):
    """True when every class of `fine` lies inside one class of `coarse`."""
    mapping = {}
    return all(mapping.setdefault(f, c) == c for f, c in zip(fine, coarse))


def test_conventions_nest():
    function = iso.class_ids(ALL, "function").tolist()
    assert _refines(iso.class_ids(ALL, "nb201").tolist(), function)
    assert _refines(iso.class_ids(ALL, "graph").tolist(), function)
    counts = [iso.num_unique(convention=c) for c in ("function", "nb201", "graph")]
    assert counts == sorted(counts) and counts[0] < 6466 < counts[2]


def test_graph_form_is_an_equivalent_cell():
    for codes in ALL[::13]:
        form = iso.canonical_form(codes, "graph")
        assert iso.canonical_form(form, "graph") == form  # canonical cells are fixed points
        assert iso.is_isomorphic(form, codes, "function")  # pruning keeps the function


def test_disconnected_cells():
    disconnected = np.array([nb201.is_disconnected(c) for c in ALL])
    assert disconnected.sum() == 341
    for convention in ("function", "graph"):
        ids = iso.class_ids(ALL, convention)
        assert set(ids[disconnected]) == {ids[0]}  # one class, that of the all-'none' cell
        assert ids[0] not in set(ids[~disconnected])
    assert iso.canonical_form("000000", "function") == "0"
    # 'nb201': node 2 fed by two zeros reads '#+#' and is not treated as zero downstream
    assert iso.canonical_form("000000") == "#+#+#"
    assert iso.canonical_form("000003") == "#+#+(#+#)@nor_conv_3x3"
    assert iso.canonical_form("000001") == "#+#+#+#"  # skip splices '#+#' into the sum
    assert iso.num_unique(ALL[disconnected]) == 5
    # ... whereas node 1 fed by a zero reads '#' and kills what leaves it
    assert iso.canonical_form("003030") == iso.canonical_form("000000")


SWAP_A = (3, 4, 0, 1, 2, 1)  # 0->1 conv3, 0->2 pool, 0->3 skip, 1->3 conv1, 2->3 skip
SWAP_B = (4, 3, 0, 1, 1, 2)  # the same cell with nodes 1 and 2 exchanged


def _swap(codes):
    """Exchange nodes 1 and 2 of a cell whose edge 1->2 is 'none'."""
    return (codes[1], codes[0], 0, codes[3], codes[5], codes[4])


@pytest.mark.parametrize("convention", iso.CONVENTIONS)
def test_swapping_intermediate_nodes(convention):
    # a conv1 on node 1 or on node 2, each passed to the output by a skip
    assert iso.is_isomorphic((0, 2, 0, 1, 1, 1), _swap((0, 2, 0, 1, 1, 1)), convention)
    # with an op on 1->2 the nodes cannot swap: conv1(conv3(x)) + pool(x) into node 2 versus
    # conv1(pool(x)) + conv3(x)
    assert not iso.is_isomorphic((3, 4, 2, 0, 0, 1), (4, 3, 2, 0, 0, 1), convention)


def test_every_swap_counts_except_in_nb201():
    swappable = [tuple(c) for c in ALL.tolist() if c[2] == 0 and _swap(c) != tuple(c)]
    assert len(swappable) == 3000
    for convention in ("function", "graph"):
        assert all(iso.is_isomorphic(c, _swap(c), convention) for c in swappable)
    # 'nb201': node 2 keeps a '#' term for its 'none' input from node 1, so the two branches
    # read differently; the swap is recognised only in the cases the module docstring names
    assert not iso.is_isomorphic(SWAP_A, SWAP_B)
    assert sum(iso.is_isomorphic(c, _swap(c)) for c in swappable) == 128


def test_hand_worked_forms():
    # node 1 = '(0)@nor_conv_3x3'; node 2 = '#+(0)@avg_pool_3x3' ('#' sorts before '(')
    assert iso.canonical_form(SWAP_A) == \
        "#+(0)@avg_pool_3x3+((0)@nor_conv_3x3)@nor_conv_1x1+0"
    assert iso.canonical_form(SWAP_A, "function") == \
        "avg_pool_3x3(x)+nor_conv_1x1(nor_conv_3x3(x))+x"
    assert iso.canonical_form(SWAP_B, "graph") == nb201.format_arch_str(SWAP_A)


@pytest.mark.parametrize("convention", iso.CONVENTIONS)
def test_dead_branches_do_not_count(convention):
    # node 1 fed only by 'none': its conv3 into node 2 and pool into node 3 are dead
    assert iso.is_isomorphic((0, 3, 3, 2, 4, 1), (0, 3, 0, 2, 0, 1), convention)
    # node 1 computed but never used (its outgoing edges are 'none'): its op does not matter
    assert iso.is_isomorphic((3, 2, 0, 1, 0, 1), (4, 2, 0, 1, 0, 1), convention)


@pytest.mark.parametrize("convention", iso.CONVENTIONS)
def test_non_isomorphic_pairs(convention):
    # pool after conv3 versus conv3 after pool along 0->1->3
    assert not iso.is_isomorphic((3, 0, 0, 0, 4, 0), (4, 0, 0, 0, 3, 0), convention)
    # x + x versus x: sums count their terms
    assert not iso.is_isomorphic((1, 0, 0, 1, 1, 0), (0, 0, 0, 1, 0, 0), convention)
    # a different op on the direct edge
    assert not iso.is_isomorphic("421211", "421221", convention)


def test_skip_is_identity_except_in_graph():
    through_skip, direct = (1, 0, 0, 0, 3, 0), (0, 0, 0, 3, 0, 0)  # conv3(skip(x)) vs conv3(x)
    assert iso.is_isomorphic(through_skip, direct, "nb201")
    assert iso.is_isomorphic(through_skip, direct, "function")
    assert not iso.is_isomorphic(through_skip, direct, "graph")


@pytest.mark.parametrize("convention", iso.CONVENTIONS)
def test_batch_api(convention):
    rng = np.random.default_rng(0)
    sample = ALL[rng.choice(len(ALL), 300, replace=False)]
    sample = np.concatenate([sample, sample[:50]])  # duplicates must not add classes
    forms = iso.canonical_forms(sample, convention)
    assert forms == [iso.canonical_form(c, convention) for c in sample]
    ids = iso.class_ids(sample, convention)
    np.testing.assert_array_equal(ids[:7], iso.class_ids(sample[:7], convention))
    np.testing.assert_array_equal(ids[3:4], iso.class_ids([sample[3]], convention))
    assert ids.dtype == np.int64 and 0 <= ids.min() and ids.max() < iso.num_unique(
        convention=convention)
    # ids and forms partition the batch identically
    assert len(set(zip(ids.tolist(), forms))) == len(set(forms)) == len(set(ids.tolist()))
    first = iso.unique_cells(sample, convention)
    assert len(first) == iso.num_unique(sample, convention) == len(set(forms))
    assert len({forms[i] for i in first}) == len(first) and list(first) == sorted(first)
    for i in first:
        assert forms.index(forms[i]) == i  # the first cell of its class in the batch
    reps = iso.class_representatives(convention)
    np.testing.assert_array_equal(iso.class_ids(reps, convention), np.arange(len(reps)))
    assert iso.class_ids(["000000"], convention)[0] == 0


def test_arch_strings_and_op_codes_agree():
    arch_str = nb201.arch_str_from_op_code("421211")
    as_array = np.array([4, 2, 1, 2, 1, 1])
    assert iso.canonical_form(arch_str) == iso.canonical_form("421211") \
        == iso.canonical_form((4, 2, 1, 2, 1, 1)) == iso.canonical_form(as_array)
    assert iso.canonical_forms([arch_str, "421211"]) == [iso.canonical_form("421211")] * 2


def test_unknown_convention_names_the_choices():
    with pytest.raises(ValueError, match="unknown convention 'nb101'.*nb201, function, graph"):
        iso.canonical_form("421211", "nb101")
    with pytest.raises(ValueError, match="unknown convention"):
        iso.num_unique(convention="NB201")
