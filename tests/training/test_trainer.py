"""The benchmark's training recipe (configs, schedule) and the trainer, on tiny synthetic
images: tiny networks (C = 4, N = 1) on 8 x 8 images, so that the whole module runs in
seconds on a CPU."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from nar_utils.spaces.nb201 import cellinfo, network
from nar_utils.training import recipe, trainer
from nar_utils.training.recipe import HP_12, HP_200, HyperParams, hyperparams, lr_at, read_config
from nar_utils.training.splits import ImageSplits
from nar_utils.training.trainer import CURVE_COLUMNS, train_network

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|" \
       "avg_pool_3x3~2|"
#: Tiny networks on the CPU (whose results are exact): the tests run on GPU machines too.
TINY = {"channels": 4, "cells_per_stage": 1, "device": "cpu"}
#: A short schedule with small batches: 64 images make 4 iterations per epoch.
HP_TINY = dataclasses.replace(HP_12, epochs=4, batch_size=16)


def make_split(n: int, rng: np.random.Generator, size: int = 8, classes: int = 3):
    """Noise images whose class is their bright colour channel: learnable, and unchanged by
    the flips and crops of the augmentation."""
    labels = rng.integers(0, classes, n)
    x = rng.integers(0, 100, (n, size, size, 3)).astype(np.uint8)
    x[np.arange(n), :, :, labels % 3] += 120
    return x, labels.astype(np.int64)


def make_images(n_train=64, n_valid=32, n_test=0, size=8, classes=3, padding=2, seed=0,
                name="proxy-synthetic") -> ImageSplits:
    rng = np.random.default_rng(seed)
    return ImageSplits(
        name=name, train=make_split(n_train, rng, size, classes),
        valid=make_split(n_valid, rng, size, classes) if n_valid else None,
        test=make_split(n_test, rng, size, classes) if n_test else None,
        num_classes=classes, mean=(0.4, 0.4, 0.4), std=(0.25, 0.25, 0.25),
        crop_padding=padding, is_proxy=True)


IMAGES = make_images()


def assert_same_numbers(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal curves bit for bit, except the wall times."""
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"),
                                  check_exact=True)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.fixture(scope="module")
def three_epochs() -> trainer.TrainResult:
    """An uninterrupted run: 3 epochs of the 4-epoch schedule."""
    return train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3, **TINY)


# -- recipe ----------------------------------------------------------------------------------
def official_text(**changes) -> str:
    """An official config's text (12E), with entries replaced (None drops one)."""
    entries = {"scheduler": ["str", "cos"], "eta_min": ["float", "0.0"],
               "epochs": ["int", "12"], "warmup": ["int", "0"], "optim": ["str", "SGD"],
               "LR": ["float", "0.1"], "decay": ["float", "0.0005"],
               "momentum": ["float", "0.9"], "nesterov": ["bool", "1"],
               "criterion": ["str", "Softmax"], "batch_size": ["int", "256"]}
    entries.update(changes)
    return json.dumps({k: v for k, v in entries.items() if v is not None}, indent=2)


def test_builtin_recipes_equal_the_shipped_configs(data_dir):
    folder = data_dir / recipe.CONFIG_RELDIR
    if not folder.is_dir():
        pytest.skip(f"no official configs at {folder}")
    assert read_config(folder / "12E.config") == HP_12
    assert read_config(folder / "200E.config") == HP_200
    assert hyperparams(folder / "200E.config") == HP_200
    assert hyperparams(str(folder / "12E.config")) == HP_12


def test_read_config_parses_the_official_format(tmp_path):
    path = tmp_path / "12E.config"
    path.write_text(official_text())
    assert read_config(path) == HP_12
    assert hyperparams("12") is HP_12 and hyperparams("200") is HP_200
    assert hyperparams(HP_TINY) is HP_TINY
    assert HP_200.epochs == 200 and dataclasses.replace(HP_200, epochs=12) == HP_12


@pytest.mark.parametrize("changes, key", [
    ({"LRR": ["float", "0.1"]}, "LRR"),  # unknown key
    ({"LR": ["double", "0.1"]}, "LR"),  # unknown type
    ({"LR": ["int", "1"]}, "LR"),  # known type, not this key's
    ({"epochs": ["int", "twelve"]}, "epochs"),  # unreadable value
    ({"nesterov": ["bool", "2"]}, "nesterov"),
    ({"momentum": ["float", 0.9]}, "momentum"),  # not text
    ({"optim": ["str", "Adam"]}, "optim"),  # not the benchmark's recipe
    ({"decay": ["float", "-1"]}, "decay"),
    ({"batch_size": ["int", "0"]}, "batch_size"),
    ({"scheduler": None}, "scheduler"),  # missing
    ({"epochs": "12"}, "epochs"),  # not [type, value]
])
def test_read_config_rejects_a_malformed_file_naming_file_and_key(tmp_path, changes, key):
    path = tmp_path / "bad.config"
    path.write_text(official_text(**changes))
    with pytest.raises(ValueError, match=f"bad.config.*'{key}'"):
        read_config(path)


def test_read_config_rejects_what_is_not_json(tmp_path):
    path = tmp_path / "broken.config"
    path.write_text('{"LR": ["float", "0.1"],')
    with pytest.raises(ValueError, match="broken.config.*JSON"):
        read_config(path)


def test_unknown_hp_names_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown hp '13'.*'12', '200'"):
        hyperparams("13")
    with pytest.raises(FileNotFoundError, match="not a file"):
        hyperparams(tmp_path / "missing.config")


@pytest.mark.parametrize("hp", [HP_12, HP_200, dataclasses.replace(HP_12, epochs=7,
                                                                   eta_min=0.01, lr=0.3)])
def test_lr_at_is_the_official_cosine(hp):
    for epoch in range(hp.epochs):
        expected = hp.eta_min + (hp.lr - hp.eta_min) * 0.5 * (
            1.0 + math.cos(math.pi * epoch / hp.epochs))
        assert lr_at(hp, epoch) == pytest.approx(expected, rel=1e-15, abs=0)
        # The official scheduler reads the integer epoch only: constant within an epoch.
        assert lr_at(hp, epoch, 0.75) == lr_at(hp, epoch)
        smooth = hp.eta_min + (hp.lr - hp.eta_min) * 0.5 * (
            1.0 + math.cos(math.pi * (epoch + 0.75) / hp.epochs))
        assert lr_at(hp, epoch, 0.75, smooth=True) == pytest.approx(smooth, rel=1e-15, abs=0)
    assert lr_at(hp, 0) == hp.lr
    assert lr_at(hp, hp.epochs) == hp.eta_min
    assert lr_at(hp, hp.epochs - 1) > hp.eta_min


def test_lr_at_refuses_a_warmup_and_epochs_off_the_schedule():
    with pytest.raises(ValueError, match="warm-up 5 is not part of the benchmark's recipe"):
        lr_at(dataclasses.replace(HP_12, warmup=5), 0)
    for epoch, fraction in ((-1, 0.0), (13, 0.0), (12, 0.5), (3, 1.0), (1.5, 0.0)):
        with pytest.raises(ValueError):
            lr_at(HP_12, epoch, fraction)
    with pytest.raises(ValueError, match="not part of the benchmark's recipe"):
        HyperParams(**{**HP_12.to_dict(), "optim": "Adam"})


# -- trainer ---------------------------------------------------------------------------------
def test_the_learning_rates_used_are_the_schedule(three_epochs):
    seen: list[float] = []

    def record(optimizer, args, kwargs):
        seen.append(optimizer.param_groups[0]["lr"])

    handle = register_optimizer_step_pre_hook(record)
    try:
        result = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=2, **TINY)
    finally:
        handle.remove()
    iterations = 64 // 16
    assert seen == [lr_at(HP_TINY, e, i / iterations) for e in range(2)
                    for i in range(iterations)]
    assert result.curve["lr"].tolist() == [lr_at(HP_TINY, e) for e in range(2)]
    assert three_epochs.curve["lr"].tolist() == [lr_at(HP_TINY, e) for e in range(3)]


def test_a_tiny_model_overfits_a_tiny_batch():
    images = make_images(n_train=16, n_valid=0, seed=3)
    images = dataclasses.replace(images, valid=images.train)  # evaluate on the same images
    hp = dataclasses.replace(HP_12, epochs=30, batch_size=16)
    result = train_network(ARCH, images, hp, seed=0, **TINY)
    last = result.curve.iloc[-1]
    assert last["train_acc"] == 100.0 and last["valid_acc"] == 100.0
    assert last["train_loss"] < 0.05 and last["valid_loss"] < 0.05
    assert result.curve["train_loss"].iloc[0] > 5 * last["train_loss"]


def test_same_seed_same_run_another_seed_another(three_epochs):
    rng_state = torch.get_rng_state()
    again = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3, **TINY)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the global RNG is left alone
    assert_same_numbers(three_epochs.curve, again.curve)
    assert_same_weights(three_epochs.model, again.model)
    other = train_network(ARCH, IMAGES, HP_TINY, seed=1, num_epochs=3, **TINY)
    assert not other.curve["train_loss"].equals(three_epochs.curve["train_loss"])
    assert not torch.equal(other.model.classifier.weight, three_epochs.model.classifier.weight)


def test_resumed_run_equals_uninterrupted_run(tmp_path, three_epochs):
    first = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=1,
                          checkpoint_dir=tmp_path, **TINY)
    assert first.resumed_from_epoch == 0 and len(first.curve) == 1
    assert first.checkpoint == tmp_path / trainer.CHECKPOINT_NAME
    resumed = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3,
                            checkpoint_dir=tmp_path, **TINY)
    assert resumed.resumed_from_epoch == 1
    assert_same_numbers(three_epochs.curve, resumed.curve)
    assert_same_weights(three_epochs.model, resumed.model)
    # A finished run read back trains nothing more.
    done = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3,
                         checkpoint_dir=tmp_path, **TINY)
    assert done.resumed_from_epoch == 3
    pd.testing.assert_frame_equal(done.curve, resumed.curve, check_exact=True)
    assert_same_weights(three_epochs.model, done.model)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_run_killed_mid_epoch_resumes_after_its_last_finished_epoch(tmp_path, three_epochs):
    steps = []

    def kill(optimizer, args, kwargs):
        steps.append(1)
        if len(steps) == 6:  # the second iteration of epoch 2
            raise KeyboardInterrupt

    handle = register_optimizer_step_pre_hook(kill)
    try:
        with pytest.raises(KeyboardInterrupt):
            train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3,
                          checkpoint_dir=tmp_path, **TINY)
    finally:
        handle.remove()
    resumed = train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=3,
                            checkpoint_dir=tmp_path, **TINY)
    assert resumed.resumed_from_epoch == 1
    assert_same_numbers(three_epochs.curve, resumed.curve)
    assert_same_weights(three_epochs.model, resumed.model)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=2, checkpoint_dir=tmp_path, **TINY)
    with pytest.raises(ValueError, match=r"another run \(differing: seed;"):
        train_network(ARCH, IMAGES, HP_TINY, seed=1, num_epochs=3, checkpoint_dir=tmp_path,
                      **TINY)
    with pytest.raises(ValueError, match="differing: batch_size;"):
        train_network(ARCH, IMAGES, HP_TINY, seed=0, batch_size=8, checkpoint_dir=tmp_path,
                      **TINY)
    other_images = make_images(seed=9)  # same name and sizes, other pixels
    with pytest.raises(ValueError, match="differing: images_fingerprint;"):
        train_network(ARCH, other_images, HP_TINY, seed=0, checkpoint_dir=tmp_path, **TINY)
    with pytest.raises(ValueError, match="finished 2 epochs, more than num_epochs = 1"):
        train_network(ARCH, IMAGES, HP_TINY, seed=0, num_epochs=1, checkpoint_dir=tmp_path,
                      **TINY)


def test_a_corrupt_checkpoint_is_named(tmp_path):
    path = tmp_path / trainer.CHECKPOINT_NAME
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=f"checkpoint {path} cannot be read"):
        train_network(ARCH, IMAGES, HP_TINY, num_epochs=1, checkpoint_dir=tmp_path, **TINY)
    torch.save({"something": "else"}, path)
    with pytest.raises(ValueError, match=f"checkpoint {path} is not"):
        train_network(ARCH, IMAGES, HP_TINY, num_epochs=1, checkpoint_dir=tmp_path, **TINY)


def test_curve_columns_and_costs():
    images = make_images(n_train=40, n_valid=0, n_test=24)
    result = train_network(ARCH, images, HP_TINY, seed=0, num_epochs=2, **TINY)
    curve = result.curve
    assert tuple(curve.columns) == CURVE_COLUMNS
    assert curve["epoch"].tolist() == [1, 2]
    assert curve[["valid_loss", "valid_acc"]].isna().all().all()
    assert curve.drop(columns=["valid_loss", "valid_acc"]).notna().all().all()
    assert ((curve[["train_acc", "test_acc"]] >= 0) & (curve[["train_acc", "test_acc"]] <= 100)
            ).all().all()
    assert (curve["seconds"] > 0).all()
    assert result.params == network.count_parameters(result.model)
    assert result.params_mb == result.params / 1e6
    assert result.flops > 0 and result.latency > 0
    assert not result.model.training and result.device == "cpu"
    config = result.config
    assert config["split_sizes"] == {"train": 40, "valid": 0, "test": 24}
    assert config["num_epochs"] == 2 and config["schedule_epochs"] == HP_TINY.epochs
    assert config["batch_size"] == 16 and config["hp"] == HP_TINY.to_dict()
    assert config["arch"] == ARCH and config["is_proxy"] and config["precision"] == "float32"


def test_flops_reuse_the_cellinfo_convention():
    """The hooks count what the analytic cell information counts, on a benchmark network."""
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|" \
           "nor_conv_3x3~2|"
    net = network.build_network(arch, "cifar100")
    flops, params = cellinfo.network_totals("cifar100", [network.NetworkConfig(arch).op_codes])
    assert trainer.count_flops(net, 32) == flops[0]
    assert network.count_parameters(net) == params[0]


def test_a_subset_of_the_training_images():
    result = train_network(ARCH, IMAGES, HP_TINY, num_epochs=1, max_train_images=20,
                           progress=True, **TINY)
    assert result.config["split_sizes"]["train"] == 20
    assert result.config["max_train_images"] == 20


@pytest.mark.parametrize("kwargs, message", [
    ({"hp": "13"}, "unknown hp '13'"),
    ({"num_epochs": 0}, "num_epochs must be a positive int, got 0"),
    ({"num_epochs": -2}, "num_epochs must be a positive int, got -2"),
    ({"num_epochs": 5}, r"num_epochs = 5 exceeds the schedule's 4 epochs"),
    ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
    ({"batch_size": 2.5}, "batch_size must be a positive int"),
    ({"seed": -1}, "seed must be a non-negative int"),
    ({"dataset": "cifar-10"}, "unknown dataset 'cifar-10'"),
    ({"max_train_images": 0}, "max_train_images must be a positive int"),
])
def test_bad_arguments_are_refused(kwargs, message):
    kwargs = {"hp": HP_TINY, **TINY, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_network(ARCH, IMAGES, **kwargs)


@pytest.mark.parametrize("change, message", [
    (lambda x, y: (x, np.where(y == 0, 3, y)), r"train label 3 .* outside 0..2"),
    (lambda x, y: (x, y - 1), r"train label -1 .* outside 0..2"),
    (lambda x, y: (x.astype(np.float32), y), "must be uint8"),
    (lambda x, y: (x, y[:-1]), "labels .* must be integers of shape"),
])
def test_bad_images_are_refused(change, message):
    images = dataclasses.replace(IMAGES, train=change(*IMAGES.train))
    with pytest.raises(ValueError, match=message):
        train_network(ARCH, images, HP_TINY, **TINY)
    odd = make_images(size=6)
    with pytest.raises(ValueError, match="image size 6 .* multiple of 4"):
        train_network(ARCH, odd, HP_TINY, **TINY)


# -- the functional step (what a CUDA graph captures) -----------------------------------------
@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_update_equals_torch_sgd(nesterov):
    gen = torch.Generator().manual_seed(5)
    shapes = [(4, 3), (7,), (2, 2, 3)]
    ours = [torch.randn(s, generator=gen) for s in shapes]
    theirs = [p.clone().requires_grad_() for p in ours]
    optimizer = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, weight_decay=5e-4,
                                nesterov=nesterov)
    buffers = [torch.zeros_like(p) for p in ours]
    for lr in (0.1, 0.07, 0.01):  # the rate changes between steps, the tensor carries it
        grads = [torch.randn(s, generator=gen) for s in shapes]
        for group in optimizer.param_groups:
            group["lr"] = lr
        for p, g in zip(theirs, grads):
            p.grad = g.clone()
        optimizer.step()
        trainer.sgd_update(ours, grads, buffers, torch.tensor(lr), 0.9, 5e-4, nesterov)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b.detach(), rtol=1e-6, atol=1e-7)
    for buffer, p in zip(buffers, theirs):
        torch.testing.assert_close(buffer, optimizer.state[p]["momentum_buffer"])


@pytest.mark.parametrize("arch", [ARCH, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
def test_the_functional_training_step_trains_as_the_optimiser_does(arch):
    """The step the CUDA graphs capture (augmentation, forward, gradients, sgd_update), run
    eagerly on the CPU, changes the weights as the optimiser path of train_network does (also
    where the loss does not reach some parameters: cells of 'none' edges)."""
    hp = HP_TINY
    reference = network.build_network(arch, "cifar10", seed=0, classes=3, image_size=8, **TINY)
    functional = network.build_network(arch, "cifar10", seed=0, classes=3, image_size=8, **TINY)
    optimizer = torch.optim.SGD(reference.parameters(), lr=hp.lr, momentum=hp.momentum,
                                weight_decay=hp.weight_decay, nesterov=hp.nesterov)
    params = list(functional.parameters())
    buffers = [torch.zeros_like(p) for p in params]
    data = trainer._Data(IMAGES.train, torch.device("cpu"))
    mean, std = torch.tensor(IMAGES.mean), torch.tensor(IMAGES.std)
    gen = torch.Generator().manual_seed(0)
    from nar_utils.training.images import apply_flip_crop, draw_flip_crop, scale_normalise
    for step, lr in enumerate((0.1, 0.1, 0.05, 0.02)):
        index = torch.randperm(len(data), generator=gen)[:hp.batch_size]
        flip, offsets = draw_flip_crop(len(index), IMAGES.crop_padding, gen)
        x = scale_normalise(apply_flip_crop(data.x[index], IMAGES.crop_padding, flip, offsets),
                            mean, std)
        loss = torch.nn.functional.cross_entropy(reference(x), data.y[index])
        optimizer.zero_grad()
        loss.backward()
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        ours, _, _ = trainer._train_batch(functional, params, buffers, torch.tensor(lr), hp,
                                          data, IMAGES.crop_padding, mean, std, index, flip,
                                          offsets, None)
        assert ours.item() == pytest.approx(loss.item(), rel=1e-5), step
    for (name, a), b in zip(functional.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(reference.classifier.weight,
                           network.build_network(arch, "cifar10", seed=0, classes=3,
                                                 image_size=8, **TINY).classifier.weight)


def test_drawing_an_epoch_ahead_takes_the_numbers_batch_by_batch_drawing_takes():
    from nar_utils.training.images import apply_flip_crop, draw_flip_crop, random_flip_crop
    batch = torch.from_numpy(IMAGES.train[0][:10])
    ahead = torch.Generator().manual_seed(9)
    flips, offsets = zip(*(draw_flip_crop(n, 2, ahead) for n in (6, 4)))
    one_by_one = torch.Generator().manual_seed(9)
    for part, flip, offset in zip((batch[:6], batch[6:]), flips, offsets):
        assert torch.equal(apply_flip_crop(part, 2, flip, offset),
                           random_flip_crop(part, 2, one_by_one))


def test_runs_trained_at_once_equal_runs_trained_alone(three_epochs):
    results = trainer.train_at_once([
        {"arch": ARCH, "images": IMAGES, "hp": HP_TINY, "seed": 0, "num_epochs": 3, **TINY},
        {"arch": ARCH, "images": IMAGES, "hp": HP_TINY, "seed": 0, "num_epochs": 9, **TINY},
        {"arch": ARCH, "images": IMAGES, "hp": HP_TINY, "seed": 1, "num_epochs": 3, **TINY},
    ], device="cpu", threads=2)
    assert_same_numbers(results[0].curve, three_epochs.curve)
    assert isinstance(results[1], ValueError) and "num_epochs = 9" in str(results[1])
    assert not results[2].curve["train_loss"].equals(three_epochs.curve["train_loss"])
    assert trainer.train_at_once([], device="cpu") == []


def test_a_capture_waits_until_the_other_runs_stand_at_a_safepoint():
    import threading
    import time

    gate = trainer._CaptureGate()
    events, in_batch, finish_batch = [], threading.Event(), threading.Event()

    def other_run():
        with gate.shared():
            in_batch.set()
            finish_batch.wait()
            events.append("batch done")
            gate.safepoint()
            events.append("next batch")

    def capturing_run():
        with gate.shared(), gate.exclusive():
            events.append("capture")

    runs = [threading.Thread(target=other_run), threading.Thread(target=capturing_run)]
    runs[0].start()
    in_batch.wait()
    runs[1].start()
    while gate._waiting == 0:  # the capture waits for the other run
        time.sleep(0.001)
    assert events == []
    finish_batch.set()
    for run in runs:
        run.join(timeout=10)
    assert events == ["batch done", "capture", "next batch"]
