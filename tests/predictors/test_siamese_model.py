"""The Siamese-NAS network: branch shapes, NSAM's masks, the EFM's faithful switch, the
confidence-weighted loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nar_utils.predictors.siamese import model as siamese
from nar_utils.spaces import nb201
from nar_utils.spaces.nb201.encoding import graph_encoding

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def graphs(n=5, seed=0):
    codes = np.random.default_rng(seed).integers(0, 5, (n, 6))
    adj, nodes = graph_encoding(codes)
    return torch.as_tensor(adj), torch.as_tensor(nodes)


@pytest.mark.parametrize("nsam", [True, False])
def test_both_branches_give_one_accuracy_per_cell(nsam):
    torch.manual_seed(0)
    adj, nodes = graphs()
    net = siamese.SiameseNet(adj.shape[1], nodes.shape[2], code_length=3, nsam=nsam)
    coarse, fine = net(adj, nodes, torch.randn(5, 3))
    assert coarse.shape == fine.shape == (5,)
    assert ((coarse > 0) & (coarse < 1)).all() and ((fine > 0) & (fine < 1)).all()
    only_coarse, none = net(adj, nodes)
    assert none is None and torch.allclose(only_coarse, coarse)
    assert (net.nsam is not None) == nsam


def test_nsam_attends_along_the_dags_edges_only():
    torch.manual_seed(1)
    adj, nodes = graphs(seed=3)
    net = siamese.SiameseNet(adj.shape[1], nodes.shape[2], nsam=True).eval()
    net(adj, nodes)
    along, against = net.nsam.last_weights
    assert (along[adj == 0] == 0).all() and (against[adj.transpose(1, 2) == 0] == 0).all()
    rows = adj.sum(dim=2) > 0
    assert torch.allclose(along.sum(dim=2)[rows], torch.ones(int(rows.sum())))
    assert (along.sum(dim=2)[~rows] == 0).all()  # a node without out-edges attends to nothing
    faithful = siamese.masked_attention(torch.randn(2, 8, 8), adj[:2], faithful=True)
    assert (faithful[adj[:2] == 0] > 0).any()  # the authors' masks leave weight on non-edges


def test_the_faithful_efm_takes_its_values_from_the_query_projection():
    torch.manual_seed(2)
    adj, nodes = graphs()
    code = torch.randn(5, 3)
    outputs = {}
    for faithful in (False, True):
        torch.manual_seed(3)
        net = siamese.SiameseNet(adj.shape[1], nodes.shape[2], faithful=faithful).eval()
        before = net(adj, nodes, code)[1]
        with torch.no_grad():
            for p in net.fusion.value.parameters():
                p.add_(1.0)
        outputs[faithful] = (before, net(adj, nodes, code)[1])
    assert not torch.allclose(*outputs[False])  # the value projection is used
    assert torch.allclose(*outputs[True])  # the authors' code never reads it


def test_the_confidence_weighted_huber_loss():
    pred = torch.tensor([0.5, 0.9, 0.1])
    target = torch.tensor([0.6, 0.1, 0.1])
    confidence = torch.tensor([1.0, 0.5, 1.0])
    expected = (0.5 * 0.1 ** 2 * 1.0 + 0.5 * (0.8 - 0.25) * 0.5 + 0.0) / 3
    assert siamese.confidence_huber(pred, target, confidence).item() == pytest.approx(expected)


def test_the_nb201_graph_is_what_the_network_reads():
    adj, nodes = graphs(n=1)
    assert adj.shape == (1, 8, 8) and nodes.shape == (1, 8, 7)
    assert nb201.NUM_EDGES + 2 == adj.shape[1]
