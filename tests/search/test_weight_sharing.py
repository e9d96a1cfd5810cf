"""Weight-sharing NAS: the supernet against the standalone network, the six searches on tiny
generated images (C = 4, N = 1, 8 x 8), DARTS-V2's unrolled gradient, reproducibility."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from nar_utils.search import weight_sharing as ws
from nar_utils.search.weight_sharing import methods
from nar_utils.spaces.nb201 import network, space
from nar_utils.training.splits import ImageSplits

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|" \
       "nor_conv_3x3~2|"
TINY = {"channels": 4, "cells_per_stage": 1, "batch_size": 16, "epochs": 1,
        "select_num": 5, "num_samples": 5, "controller_steps": 2, "num_aggregate": 2}


def tiny_images(n=48, size=8, classes=3, seed=0) -> ImageSplits:
    rng = np.random.default_rng(seed)

    def part(k):
        y = rng.integers(0, classes, k)
        x = rng.integers(0, 100, (k, size, size, 3)).astype(np.uint8)
        x[np.arange(k), :, :, y % 3] += 120
        return x, y.astype(np.int64)

    return ImageSplits("proxy-synthetic", part(n), part(n), None, classes, (0.4,) * 3,
                       (0.25,) * 3, 2, is_proxy=True)


IMAGES = tiny_images()


def randomised(module: torch.nn.Module, seed: int = 0) -> None:
    """Move batch-norm scales, shifts and running statistics off their initial values."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                if m.affine:
                    m.weight.uniform_(0.5, 1.5, generator=gen)
                    m.bias.uniform_(-0.5, 0.5, generator=gen)
                if m.track_running_stats:
                    m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                    m.running_var.uniform_(0.5, 1.5, generator=gen)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_the_supernet_with_one_hot_weights_is_the_standalone_network(mode):
    net = network.build_network(ARCH, "cifar10", seed=3, channels=4, cells_per_stage=2,
                                classes=3, image_size=8)
    randomised(net)
    supernet = ws.Supernet(3, 8, channels=4, cells_per_stage=2, affine=True,
                           track_running_stats=True)
    ws.load_network_weights(supernet, net)
    net.train(mode == "train")
    supernet.train(mode == "train")
    codes = space.parse_arch_str(ARCH)
    one_hot = F.one_hot(torch.tensor(codes), space.NUM_OPS).float()
    x = torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    expected = net(x)
    torch.testing.assert_close(supernet(x, weights=one_hot), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(supernet(x, indices=codes), expected, rtol=1e-5, atol=1e-6)
    other = [c if e else (c + 1) % space.NUM_OPS for e, c in enumerate(codes)]
    assert not torch.allclose(supernet(x, indices=other), expected)


def test_a_network_of_other_settings_is_refused():
    net = network.build_network(ARCH, "cifar10", channels=4, cells_per_stage=1, classes=3,
                                image_size=8)
    with pytest.raises(ValueError, match="no counterpart"):
        ws.load_network_weights(ws.Supernet(3, 8, 8, 1, affine=True), net)
    with pytest.raises(ValueError, match="needs the operations"):
        ws.Supernet(3, 8, 4, 1)(torch.zeros(1, 3, 8, 8))


@pytest.mark.parametrize("method", ws.METHODS)
def test_each_method_searches_an_epoch_and_derives_a_cell(method):
    result = ws.search_weight_sharing(method, IMAGES, seed=0, settings=TINY, device="cpu")
    assert space.format_arch_str(result.arch) == result.arch
    assert len(result.history) == 1 and result.history["arch"].iat[0]
    weights = np.array(result.history["weights"].iat[0])
    assert weights.shape == (6, 5) and np.allclose(weights.sum(axis=1), 1, atol=1e-5)
    if method in ("setn", "enas", "rsps"):
        assert len(result.candidates) == 5
        assert result.arch == max(result.candidates, key=lambda c: c[1])[0]
    assert result.is_proxy and result.seconds > 0


def test_gdas_runs_exactly_one_operation_per_edge_and_trains_every_weight():
    supernet = ws.Supernet(3, 8, 4, 1)
    calls = {}
    for name, module in supernet.named_modules():
        if name.count(".ops.") == 1 and name.split(".")[-2] == "ops":
            module.register_forward_hook(
                lambda m, i, o, key=name: calls.__setitem__(key, calls.get(key, 0) + 1))
    alpha = (1e-3 * torch.randn(6, 5)).requires_grad_()
    weights, indices = methods._gumbel_weights(alpha, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(weights.detach(), F.one_hot(torch.tensor(indices), 5).float())
    supernet(torch.randn(4, 3, 8, 8), weights, indices).sum().backward()
    for cell in (k for k, m in enumerate(supernet.cells) if isinstance(m, ws.supernet.SearchCell)):
        for edge in range(6):
            ran = [op for op in range(5) if calls.get(f"cells.{cell}.edges.{edge}.ops.{op}")]
            assert ran == [indices[edge]]
    assert (alpha.grad.abs() > 0).sum() > 6  # the soft backward reaches unchosen operations


def test_the_unrolled_gradient_matches_the_exact_one():
    torch.manual_seed(0)
    net = ws.Supernet(3, 8, 2, 1, track_running_stats=False).double()
    alpha = torch.randn(6, 5, dtype=torch.float64).requires_grad_()
    gen = torch.Generator().manual_seed(0)
    train = (torch.randn(6, 3, 8, 8, generator=gen, dtype=torch.float64),
             torch.randint(0, 3, (6,), generator=gen))
    valid = (torch.randn(6, 3, 8, 8, generator=gen, dtype=torch.float64),
             torch.randint(0, 3, (6,), generator=gen))
    lr, wd = 0.05, 5e-4
    ours = ws.unrolled_arch_gradient(net, alpha, train, valid, lr, 0.9, wd, epsilon=1e-6)
    names = [n for n, _ in net.named_parameters()]
    params = list(net.parameters())
    grads = torch.autograd.grad(F.cross_entropy(net(train[0], alpha.softmax(1)), train[1]),
                                params, create_graph=True)
    virtual = {n: p - lr * (g + wd * p) for n, p, g in zip(names, params, grads)}
    loss = F.cross_entropy(functional_call(net, virtual, (valid[0], alpha.softmax(1))), valid[1])
    exact = torch.autograd.grad(loss, alpha)[0]
    torch.testing.assert_close(ours, exact, rtol=1e-4, atol=1e-8)
    first_order = torch.autograd.grad(F.cross_entropy(net(valid[0], alpha.softmax(1)), valid[1]),
                                      alpha)[0]
    assert not torch.allclose(first_order, exact, rtol=1e-3, atol=1e-7)


def test_same_seed_same_cell_and_history():
    runs = [ws.search_weight_sharing("gdas", IMAGES, seed=s, settings={**TINY, "epochs": 2},
                                     device="cpu") for s in (4, 4, 5)]
    a, b, c = (r.history.drop(columns="seconds") for r in runs)
    assert runs[0].arch == runs[1].arch
    assert a.equals(b)
    assert not a["train_loss"].equals(c["train_loss"])


def test_a_stopped_search_resumes_to_the_uninterrupted_result(tmp_path):
    settings = {**TINY, "epochs": 3}
    whole = ws.search_weight_sharing("enas", IMAGES, seed=2, settings=settings, device="cpu")
    first = ws.search_weight_sharing("enas", IMAGES, seed=2, settings=settings, device="cpu",
                                     checkpoint_dir=tmp_path, stop_after=1)
    assert len(first.history) == 1 and first.epochs == 1
    rest = ws.search_weight_sharing("enas", IMAGES, seed=2, settings=settings, device="cpu",
                                    checkpoint_dir=tmp_path)
    assert rest.resumed_from_epoch == 1 and rest.arch == whole.arch
    assert rest.history.drop(columns="seconds").equals(whole.history.drop(columns="seconds"))
    assert rest.candidates == whole.candidates
    with pytest.raises(ValueError, match="another search"):
        ws.search_weight_sharing("rsps", IMAGES, seed=2, settings=settings, device="cpu",
                                 checkpoint_dir=tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "dartz"}, "unknown weight-sharing method"),
    ({"settings": {"epoch": 3}}, "unknown setting"),
    ({"settings": {"epochs": 0}}, "epochs must be a positive int"),
    ({"settings": {"tau_min": 20.0}}, "tau_min"),
    ({"seed": -1}, "seed"),
    ({"images": dataclasses.replace(IMAGES, valid=None)}, "validation split"),
])
def test_bad_methods_and_settings_are_refused(kwargs, message):
    call = {"method": "gdas", "images": IMAGES, "settings": TINY, "device": "cpu", **kwargs}
    with pytest.raises(ValueError, match=message):
        ws.search_weight_sharing(call.pop("method"), call.pop("images"), **call)


def test_the_settings_are_the_shipped_configs(data_dir):
    for method, name in methods.CONFIG_FILES.items():
        raw = json.loads((data_dir / "nb201" / "official" / "algos" / name).read_text())
        settings = ws.SETTINGS[method]
        assert settings.epochs == int(raw["epochs"][1]), method
        assert settings.batch_size == int(raw["batch_size"][1]), method
        assert settings.lr == float(raw["LR"][1]) and settings.eta_min == float(raw["eta_min"][1])
        assert settings.weight_decay == float(raw["decay"][1]), method
        assert settings.momentum == float(raw["momentum"][1]) and settings.nesterov
        assert settings.t_max == (int(raw["T_max"][1]) if "T_max" in raw else None)
    enas = json.loads((data_dir / "nb201/official/algos/ENAS.config").read_text())
    assert ws.SETTINGS["enas"].controller_lr == float(enas["controller_lr"][1])
    assert list(ws.SETTINGS["enas"].controller_betas) == enas["controller_betas"][1]
    assert ws.SETTINGS["enas"].controller_eps == enas["controller_eps"][1]


def test_the_derived_cell_is_scored_by_the_benchmark(embedded):
    accuracies = ws.benchmark_accuracies(embedded, ARCH)
    index = embedded.query_index_by_arch(ARCH)
    assert accuracies == {"cifar10": embedded.get_more_info(index, "cifar10")["test-accuracy"]}
