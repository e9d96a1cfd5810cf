"""The trainer's GPU path: CUDA graphs, resuming, runs trained at once on their own streams.

These need a CUDA GPU, which CI does not have; they run wherever one is (the GPU profile's
checks run them). On a GPU, bfloat16 and non-deterministic kernels make runs differ slightly,
so they compare within tolerances rather than bit for bit (the CPU tests of test_trainer.py
compare the functional step, which the graphs capture, with the optimiser's path exactly).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from test_trainer import ARCH, HP_TINY, TINY, make_images

from nar_utils.training import trainer
from nar_utils.training.trainer import train_network

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

#: 8 batches of 16 and a last one of 8: graphs for the full batches, the last one eager.
IMAGES = make_images(n_train=136, n_valid=40, n_test=24)
HP = dataclasses.replace(HP_TINY, epochs=6)
GPU = {**TINY, "device": "cuda"}


def close_curves(a, b, rtol=0.05) -> None:
    for column in ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss"):
        np.testing.assert_allclose(a[column], b[column], rtol=rtol, atol=2.0 if "acc" in column
                                   else 0.02, err_msg=column)


@pytest.fixture(scope="module")
def eager():
    return train_network(ARCH, IMAGES, HP, seed=0, cuda_graphs=False, **GPU)


@pytest.fixture(scope="module")
def graphed():
    return train_network(ARCH, IMAGES, HP, seed=0, **GPU)


def test_graphs_are_the_default_and_train_as_the_eager_path_does(eager, graphed):
    assert graphed.config["cuda_graphs"] is True and eager.config["cuda_graphs"] is False
    assert graphed.config["precision"] == "bfloat16"
    close_curves(graphed.curve, eager.curve)
    assert graphed.curve["train_loss"].iloc[-1] < 0.8 * graphed.curve["train_loss"].iloc[0]
    for (name, a), b in zip(graphed.model.state_dict().items(),
                            eager.model.state_dict().values()):
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=0.1, atol=0.05, msg=name)


def test_a_resumed_graph_run_continues_the_run(tmp_path, graphed):
    train_network(ARCH, IMAGES, HP, seed=0, num_epochs=3,
                  checkpoint_dir=tmp_path, **GPU)
    resumed = train_network(ARCH, IMAGES, HP, seed=0, checkpoint_dir=tmp_path,
                            **GPU)
    assert resumed.resumed_from_epoch == 3 and len(resumed.curve) == HP.epochs
    close_curves(resumed.curve, graphed.curve)


def test_runs_at_once_on_their_own_streams_train_as_alone(graphed):
    runs = [{"arch": ARCH, "images": IMAGES, "hp": HP, "seed": 0, **GPU}] * 3
    runs.append({"arch": ARCH, "images": IMAGES, "hp": HP, "seed": 0, "num_epochs": 99, **GPU})
    results = trainer.train_at_once(runs, device="cuda")
    for result in results[:3]:
        close_curves(result.curve, graphed.curve)
    assert isinstance(results[3], ValueError)


def test_float16_graphs_are_refused_with_the_way_out(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="cuda_graphs=False"):
        train_network(ARCH, IMAGES, HP, cuda_graphs=True, num_epochs=1, **GPU)
    result = train_network(ARCH, IMAGES, HP, num_epochs=1, **GPU)
    assert result.config["cuda_graphs"] is False and result.config["precision"] == "float16"
