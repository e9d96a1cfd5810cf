"""NAR model and training: shapes, tier memory, learning, checkpoints, determinism."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nar_utils import metrics
from nar_utils.predictors.nar import train
from nar_utils.predictors.nar.model import NAR, NARConfig, TierMemory, sinusoidal_positions

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(n_layers=1, d_model=16, n_heads=2, d_ff=32, d_tier_hidden=16, d_aux_hidden=32,
            dropout=0.1)


def tiny_configs(**overrides):
    settings = {**TINY, "num_epochs": 8, "batch_size": 64, "warmup_steps": 8, **overrides}
    return train.preset("cpu", **settings)


def synthetic_split(n_train=256, n_test=200, seed=0):
    """Feature tensors driven by 4 hidden factors, and an accuracy that depends on them
    nonlinearly: learnable from a few hundred examples, unlike i.i.d. noise tensors."""
    rng = np.random.default_rng(seed)
    latent = rng.random((n_train + n_test, 4))
    mixing = rng.normal(size=(4, 31 * 4 * 4))
    features = (1 / (1 + np.exp(-latent @ mixing))).reshape(-1, 31, 4, 4).astype(np.float32)
    y = latent @ np.array([1.0, -0.5, 0.8, 0.3]) + 0.3 * np.sin(6 * latent[:, 0])
    return (features[:n_train], y[:n_train]), (features[n_train:], y[n_train:])


@pytest.fixture(scope="module")
def trained():
    """One tiny NAR trained on the synthetic split (shared by several tests)."""
    (x_train, y_train), (x_test, y_test) = synthetic_split()
    model_config, train_config = tiny_configs()
    result = train.train_nar(x_train, y_train, val_features=x_test[:64], val_y=y_test[:64],
                             model_config=model_config, train_config=train_config, seed=3)
    return result, (x_test, y_test)


@pytest.mark.parametrize("shape", [(31, 4, 4), (19, 7, 7)])
def test_forward_shapes(shape):
    config = NARConfig(n_patches=shape[0], patch_height=shape[1], patch_width=shape[2],
                       **TINY)
    model = NAR(config).eval()
    out = model(torch.rand(3, *shape))
    assert out.tier_logits.shape == (3, config.n_tiers)
    assert out.score.shape == (3,)
    assert out.encoded.shape == (3, shape[0], config.d_model)
    with pytest.raises(ValueError, match=r"\(B, 31, 4, 4\)"):
        NAR(NARConfig(**TINY))(torch.rand(2, 19, 7, 7))


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        NARConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown NARConfig field"):
        NARConfig.from_dict({"d_modle": 64})
    with pytest.raises(ValueError, match="unknown NAR setting"):
        train.preset("cpu", epochs=3)
    with pytest.raises(ValueError, match="valid: paper, cpu"):
        train.preset("gpu")
    model_config, train_config = train.preset("paper")
    assert (model_config.n_layers, model_config.n_heads, model_config.d_model,
            model_config.d_ff, train_config.num_epochs, train_config.batch_size) == (
        6, 4, 128, 512, 55, 128)


def test_positions_are_sinusoids():
    table = sinusoidal_positions(5, 8)
    assert table.shape == (5, 8)
    assert torch.allclose(table[0, 0::2], torch.zeros(4)) and torch.allclose(
        table[0, 1::2], torch.ones(4))
    assert table[3, 2].item() == pytest.approx(np.sin(3 / 10000 ** (2 / 8)), rel=1e-6)


def test_tier_memory_is_a_running_mean():
    memory = TierMemory(n_tiers=3, n_patches=2, d_model=4)
    first, second = torch.rand(4, 2, 4), torch.rand(2, 2, 4)
    memory.update(first, torch.tensor([0, 0, 2, 2]))
    memory.update(second, torch.tensor([0, 2]))
    expected_0 = torch.cat([first[:2], second[:1]]).mean(0)
    assert torch.allclose(memory.embedding[0], expected_0)
    assert torch.equal(memory.embedding[1], torch.zeros(2, 4))  # never seen
    assert memory.count.tolist() == [3, 0, 3]
    memory.reset()  # new sums, embeddings kept until updated
    assert memory.count.sum() == 0 and torch.allclose(memory.embedding[0], expected_0)
    memory.reset(zero_embeddings=True)
    assert memory.embedding.abs().sum() == 0
    with pytest.raises(ValueError, match="0..2"):
        memory.update(first, torch.tensor([0, 1, 2, 3]))


def test_tier_memory_updates_only_in_training_mode():
    torch.manual_seed(0)
    model = NAR(NARConfig(**TINY))
    features, labels = torch.rand(10, 31, 4, 4), torch.arange(10) % 5
    model.eval()
    model(features, tier_labels=labels)
    assert model.tiers.count.sum() == 0 and model.tiers.embedding.abs().sum() == 0
    model.train()
    model(features)  # no labels: nothing to update
    assert model.tiers.count.sum() == 0
    out = model(features, tier_labels=labels)
    assert model.tiers.count.tolist() == [2, 2, 2, 2, 2]
    assert torch.allclose(model.tiers.embedding[0], out.encoded[[0, 5]].detach().mean(0))
    # A separate memory passed in is read, never written.
    other = TierMemory(5, 31, TINY["d_model"])
    model(features, tier_labels=labels, tiers=other)
    assert other.count.sum() == 0


def test_lr_schedule_warms_up_in_steps_then_decays():
    d_model, warmup = 128, 30
    rates = [train.lr_at_step(s, d_model, 0.07, warmup) for s in range(1, 200)]
    assert int(np.argmax(rates)) + 1 == warmup
    assert rates[warmup - 1] == pytest.approx(0.07 / np.sqrt(d_model * warmup))
    assert rates[0] == pytest.approx(rates[warmup - 1] / warmup)
    with pytest.raises(ValueError, match="1-based"):
        train.lr_at_step(0, d_model)


def test_pairwise_ranking_loss_prefers_the_right_order():
    targets = torch.tensor([3.0, 1.0, 2.0])
    right = train.pairwise_ranking_loss(torch.tensor([3.0, 1.0, 2.0]), targets)
    wrong = train.pairwise_ranking_loss(torch.tensor([1.0, 3.0, 2.0]), targets)
    assert right < wrong
    # Ordered pairs (0,1), (0,2), (2,1) with margins 2, 1, 1.
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    assert right.item() == pytest.approx((softplus(-2.0) + 2 * softplus(-1.0)) / 3)
    tied = train.pairwise_ranking_loss(torch.tensor([1.0, 2.0], requires_grad=True),
                                       torch.tensor([1.0, 1.0]))
    assert tied.item() == 0.0
    tied.backward()  # still differentiable


def test_ranking_score_kinds():
    probs = np.array([[0.7, 0.3, 0.0], [0.1, 0.2, 0.7], [0.6, 0.4, 0.0]])
    aux = np.array([-5.0, 9.0, 2.0])
    np.testing.assert_array_equal(train.ranking_score(probs, aux, "aux"), aux)
    np.testing.assert_allclose(train.ranking_score(probs, aux, "expected_tier"),
                               [-0.3, -1.6, -0.4])
    # Tier first (0 and 2 share tier 0), then aux within it: 2 above 0, 1 last.
    order = np.argsort(-train.ranking_score(probs, aux, "tier_then_aux"))
    np.testing.assert_array_equal(order, [2, 0, 1])
    with pytest.raises(ValueError, match="valid: aux, expected_tier, tier_then_aux"):
        train.ranking_score(probs, aux, "best")


def test_training_reduces_loss_and_ranks_held_out_items(trained):
    result, (x_test, y_test) = trained
    losses = [log["loss"] for log in result.history]
    assert len(losses) == 8
    assert np.mean(losses[-2:]) < 0.8 * losses[0]
    assert result.best_epoch is not None and "val_tau" in result.history[0]
    out = train.predict_nar(result.model, x_test[64:])
    tau = metrics.kendall_tau(y_test[64:], out["aux"])
    assert tau > 0.4, f"held-out Kendall tau {tau:.3f} is not clearly above random"
    assert out["tier_probs"].shape == (len(x_test) - 64, 5)
    np.testing.assert_allclose(out["tier_probs"].sum(axis=1), 1.0, rtol=1e-6)
    # The tier memory was filled by training and is what prediction reads.
    assert result.model.tiers.embedding.abs().sum() > 0


def test_predictions_do_not_depend_on_batching_by_default(trained):
    result, (x_test, _) = trained
    whole = train.predict_nar(result.model, x_test, batch_size=512)
    pieces = train.predict_nar(result.model, x_test, batch_size=7)
    # float32 kernels may sum in another order for another batch shape: equal to rounding
    scale = np.abs(whole["aux"]).max()
    np.testing.assert_allclose(whole["aux"], pieces["aux"], rtol=1e-5, atol=1e-5 * scale)
    # The authors' inference starts from an empty memory and fills it with predicted tiers:
    # the first batch then sees zero tiers and its tier probabilities differ.
    faithful = train.predict_nar(result.model, x_test, faithful=True)
    assert not np.allclose(faithful["tier_probs"][:128], whole["tier_probs"][:128])
    np.testing.assert_allclose(faithful["aux"], whole["aux"], rtol=1e-5, atol=1e-5 * scale)


def test_checkpoint_round_trip_gives_identical_predictions(trained, tmp_path):
    result, (x_test, _) = trained
    path = train.save_checkpoint(tmp_path / "nar.pt", result.model,
                                 train_config=tiny_configs()[1], extra={"dataset": "synthetic"})
    loaded, payload = train.load_checkpoint(path)
    assert payload["extra"] == {"dataset": "synthetic"}
    assert dataclasses.asdict(loaded.config) == dataclasses.asdict(result.model.config)
    assert torch.equal(loaded.tiers.embedding, result.model.tiers.embedding)
    before = train.predict_nar(result.model, x_test)
    after = train.predict_nar(loaded, x_test)
    np.testing.assert_array_equal(before["aux"], after["aux"])
    np.testing.assert_array_equal(before["tier_probs"], after["tier_probs"])
    # weights_only loading refuses anything that is not a NAR checkpoint.
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a NAR checkpoint"):
        train.load_checkpoint(tmp_path / "other.pt")


def test_same_seed_same_predictions_and_rng_left_alone():
    (x_train, y_train), (x_test, _) = synthetic_split(n_train=96, n_test=32, seed=1)
    model_config, train_config = tiny_configs(num_epochs=2, batch_size=32)
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    runs = [train.train_nar(x_train, y_train, model_config=model_config,
                            train_config=train_config, seed=seed) for seed in (5, 5, 6)]
    assert torch.equal(torch.rand(1), expected_draw)  # training did not consume the caller's RNG
    preds = [train.predict_nar(run.model, x_test)["aux"] for run in runs]
    np.testing.assert_array_equal(preds[0], preds[1])
    assert not np.array_equal(preds[0], preds[2])


def test_faithful_training_reproduces_the_authors_memory_handling():
    (x_train, y_train), (x_val, y_val) = synthetic_split(n_train=96, n_test=64, seed=2)
    model_config, train_config = tiny_configs(num_epochs=2, batch_size=32)
    result = train.train_nar(x_train, y_train, val_features=x_val, val_y=y_val,
                             model_config=model_config, train_config=train_config, seed=0,
                             faithful=True)
    assert {"val_tau", "val_tier_accuracy"} <= set(result.history[-1])
    # The model's memory holds the last epoch's means; validation never wrote to it.
    assert result.model.tiers.count.sum() == 96  # 3 full batches of 32 in the last epoch
    with pytest.raises(ValueError, match="unknown ranking score"):
        train.train_nar(x_train, y_train, model_config=model_config,
                        train_config=train_config, score="tier")


def test_decoder_off_trains_the_auxiliary_head_alone():
    (x_train, y_train), (x_test, y_test) = synthetic_split()
    model_config, train_config = tiny_configs(tier_weight=0.0)
    result = train.train_nar(x_train, y_train, val_features=x_test[:64], val_y=y_test[:64],
                             model_config=model_config, train_config=train_config, seed=3)
    assert all(log["tier_loss"] == 0.0 for log in result.history)
    # The decoder and tier head got no gradient: they keep their initial weights.
    with torch.random.fork_rng():
        torch.manual_seed(3)
        initial = NAR(model_config)
    for name, value in result.model.state_dict().items():
        if name.startswith(("decoder.", "tier_head.")):
            torch.testing.assert_close(value, initial.state_dict()[name])
    out = train.predict_nar(result.model, x_test[64:], decode=False)
    np.testing.assert_allclose(out["tier_probs"], 1 / model_config.n_tiers)
    assert metrics.kendall_tau(y_test[64:], out["aux"]) > 0.4
    with pytest.raises(ValueError, match="both 0: nothing to train"):
        train.TrainConfig(aux_weight=0, tier_weight=0)
    with pytest.raises(ValueError, match="tier_weight must be a number >= 0"):
        train.TrainConfig(tier_weight=-1)


def test_tier_stage_fits_the_decoder_on_a_fixed_encoder():
    (x_train, y_train), (x_test, y_test) = synthetic_split()
    ranked = train.train_nar(x_train, y_train, model_config=tiny_configs()[0],
                             train_config=tiny_configs(tier_weight=0.0)[1], seed=3)
    model_config, train_config = tiny_configs(tier_weight=0.0, tier_epochs=6, tier_lr=3e-3)
    staged = train.train_nar(x_train, y_train, model_config=model_config,
                             train_config=train_config, seed=3)
    # The ranking stage is the same run: identical encoder and auxiliary head, and the
    # decoder side is the only part the stage changed.
    initial = dict(ranked.model.state_dict())
    changed = {name for name, value in staged.model.state_dict().items()
               if not torch.equal(value, initial[name])}
    assert changed and all(name.startswith(("tier_proj.", "decoder", "tier_head.", "tiers."))
                           for name in changed)
    stage = [log for log in staged.history if log.get("stage") == "tiers"]
    assert len(stage) == 6 and stage[0]["epoch"] == 9
    assert {"tier_loss", "train_tier_accuracy"} <= set(stage[0])
    np.testing.assert_array_equal(train.predict_nar(staged.model, x_test)["aux"],
                                  train.predict_nar(ranked.model, x_test)["aux"])
    # The tier memory holds the exact mean encoding of each training tier.
    with torch.no_grad():
        encoded = staged.model.encode(torch.as_tensor(x_train))
    tiers = metrics.tiers_from_scores(y_train, model_config.n_tiers)
    torch.testing.assert_close(staged.model.tiers.embedding[0], encoded[tiers == 0].mean(0))
    with pytest.raises(ValueError, match="tier_epochs must be an int >= 0"):
        train.TrainConfig(tier_epochs=-2)
