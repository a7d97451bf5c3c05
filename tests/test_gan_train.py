"""GAN training on real demo segments: steps, the recipes, EMA, batches, artifacts, resume, reproducibility."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from astgan.config import config_to_yaml
from astgan.errors import AstganError, CheckpointError
from astgan.gan.models import load_generator
from astgan.gan.train import METRIC_COLUMNS, GanTrainer, MetricMeter, TrainingBatches, train_gan

from helpers import copied_run, invoke, tiny_config


def _batch(data, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    segments = data.segments("train")
    return torch.from_numpy(segments.stack(np.arange(n))), torch.from_numpy(segments.labels[:n].astype(np.float32))


def test_a_few_training_steps_give_finite_losses_and_move_both_networks(prepared_tiny):
    cfg, data = prepared_tiny
    torch.manual_seed(0)
    trainer = GanTrainer(cfg, torch.device("cpu"))  # the default: grid2d, modern recipe
    real, condition = _batch(data, 16)
    # every weight matrix and kernel (a hinge loss gives the logit's bias no gradient while all
    # logits sit inside the margin, so biases may rest)
    weights = lambda model: [p for p in model.parameters() if p.dim() > 1]  # noqa: E731
    before_g = [p.detach().clone() for p in weights(trainer.generator)]
    before_d = [p.detach().clone() for p in weights(trainer.discriminator)]
    for _ in range(3):
        step = trainer.train_step(real, condition)
        assert all(torch.isfinite(value) for value in step.values())
        assert 0.0 <= step["d_real_acc"] <= 1.0 and 0.0 <= step["d_fake_acc"] <= 1.0
    assert "r1_penalty" not in step  # lazy R1: on the first of every r1_every steps only
    moved_g = sum(not torch.equal(a, b) for a, b in zip(before_g, weights(trainer.generator)))
    moved_d = sum(not torch.equal(a, b) for a, b in zip(before_d, weights(trainer.discriminator)))
    assert moved_g == len(before_g) and moved_d == len(before_d)


def test_the_generator_average_follows_the_generator_slowly(prepared_tiny):
    cfg, data = prepared_tiny
    cfg = tiny_config(cfg.data.root, cfg.run_dir, cfg.features.cache_dir, gan={"ema_decay": 0.9})
    torch.manual_seed(0)
    trainer = GanTrainer(cfg, torch.device("cpu"))
    real, condition = _batch(data, 16)
    for _ in range(3):
        trainer.train_step(real, condition)
    live = torch.nn.utils.parameters_to_vector(trainer.generator.parameters())
    average = torch.nn.utils.parameters_to_vector(trainer.sampling_generator.parameters())
    assert trainer.sampling_generator is not trainer.generator
    assert 0 < (live - average).abs().max() < (live - live.detach().clone().normal_()).abs().max()
    for averaged, buffer in zip(trainer.sampling_generator.buffers(), trainer.generator.buffers()):
        assert torch.equal(averaged, buffer)  # running statistics are copied, not averaged


@pytest.mark.parametrize("options", [
    {"recipe": "classic"},  # BCE with smoothing, concat conditioning, extra G steps, clipping
    {"recipe": "classic", "architecture": "time1d", "conditioning": "projection", "label_loss_weight": 1.0},
    {"loss": "bce", "spectral_norm": False, "d_steps": 2, "r1_every": 1},
    {"motion_match": 1.0},
    {"d_local": True},
])
def test_the_options_train(prepared_tiny, options):
    cfg, data = prepared_tiny
    cfg = tiny_config(cfg.data.root, cfg.run_dir, cfg.features.cache_dir, gan=options)
    trainer = GanTrainer(cfg, torch.device("cpu"))
    step = trainer.train_step(*_batch(data, 8))
    assert torch.isfinite(step["g_loss"]) and torch.isfinite(step["d_loss"])
    assert ("r1_penalty" in step) == (trainer.gan.r1_weight > 0)
    assert ("label_mse_fake" in step) == (trainer.gan.label_loss_weight > 0)
    assert ("motion_gap" in step) == (trainer.gan.motion_match > 0)


def test_the_classic_recipe_takes_a_second_generator_step_when_d_is_too_strong(prepared_tiny):
    cfg, data = prepared_tiny
    cfg = tiny_config(cfg.data.root, cfg.run_dir, cfg.features.cache_dir,
                      gan={"recipe": "classic", "extra_g_step_threshold": 0.5})
    trainer = GanTrainer(cfg, torch.device("cpu"))
    real, condition = _batch(data, 8)
    steps = [trainer.train_step(real, condition) for _ in range(3)]
    for step in steps:  # fired exactly when D's mean accuracy was above 0.5
        strong = (float(step["d_real_acc"]) + float(step["d_fake_acc"])) / 2 > 0.5
        assert float(step["extra_g_steps"]) == float(strong)


def test_training_batches_cover_every_segment_once_per_epoch(prepared_tiny):
    _, data = prepared_tiny
    segments = data.segments("train")
    torch.manual_seed(0)
    batches = TrainingBatches(segments, batch_size=8, device=torch.device("cpu"))
    seen = [(specs, labels) for specs, labels in batches]
    assert len(seen) == len(segments) // 8 == len(batches)
    specs = torch.cat([s for s, _ in seen])
    assert specs.shape == (len(seen) * 8, segments.n_mels, segments.segment_frames)
    everything = torch.from_numpy(segments.stack())
    # every batch row is a distinct segment of the set, with its own label
    matches = [int(torch.nonzero((everything == row).all(dim=2).all(dim=1))[0]) for row in specs]
    assert len(set(matches)) == len(matches)
    labels = torch.cat([lab for _, lab in seen]).numpy()
    np.testing.assert_array_equal(labels, segments.labels[matches])


def test_the_metric_meter_averages_on_the_device_and_catches_divergence():
    meter = MetricMeter()
    meter.add({"d_loss": torch.tensor(1.0), "r1_penalty": torch.tensor(4.0)})
    meter.add({"d_loss": torch.tensor(3.0)})
    assert meter.means() == {"d_loss": 2.0, "r1_penalty": 4.0}  # each over the steps that reported it
    meter.add({"d_loss": torch.tensor(float("nan"))})
    with pytest.raises(AstganError, match="diverged.*d_loss"):
        meter.check_finite("at step 3")


@pytest.mark.slow
def test_train_gan_writes_the_run_folder_contract(prepared_tiny, tmp_path):
    cfg = copied_run(prepared_tiny[0], tmp_path, gan={"epochs": 2, "sample_every": 2})
    result = train_gan(cfg, progress=False)
    gan_dir = cfg.run_dir / "gan"
    assert result.generator_path == gan_dir / "generator.pt"
    assert [row["epoch"] for row in result.history] == [1, 2]
    for name in ("metrics.csv", "losses.png", "samples.png", "samples_epoch_002.png", "last.pt"):
        assert (gan_dir / name).is_file(), name
    metrics = pd.read_csv(gan_dir / "metrics.csv")
    assert list(metrics.columns) == METRIC_COLUMNS
    assert metrics["epoch"].tolist() == [1, 2]
    assert np.isfinite(metrics[["g_loss", "d_loss", "sample_diversity", "r1_penalty"]].to_numpy()).all()

    generator, saved_cfg = load_generator(result.generator_path)
    assert saved_cfg.to_dict() == cfg.to_dict()
    with torch.no_grad():
        out = generator(torch.randn(2, saved_cfg.gan.latent_dim), torch.zeros(2, 2))
    assert out.shape == (2, cfg.features.n_mels, cfg.features.segment_frames)
    last = torch.load(gan_dir / "last.pt", weights_only=True)
    saved = torch.load(gan_dir / "generator.pt", weights_only=True)["generator"]
    for key, value in last["trainer"]["ema"].items():  # generator.pt holds the moving average
        if key.startswith("module."):
            assert torch.equal(saved[key[len("module."):]], value), key


@pytest.mark.slow
def test_the_classic_recipe_keeps_its_rules_per_epoch(prepared_tiny, tmp_path):
    cfg = copied_run(prepared_tiny[0], tmp_path, gan={"epochs": 2, "recipe": "classic"})
    history = train_gan(cfg, progress=False).history
    assert history[1]["lr_g"] == pytest.approx(2e-4 * 0.99) and history[1]["lr_d"] == pytest.approx(1e-4 * 0.99)
    assert all(0 <= row["extra_g_steps"] <= row["steps"] for row in history)


@pytest.mark.slow
def test_one_seed_trains_the_same_generator_twice(prepared_tiny, tmp_path):
    weights = []
    for name in ("a", "b"):
        cfg = copied_run(prepared_tiny[0], tmp_path / name, gan={"epochs": 1})
        train_gan(cfg, progress=False)
        weights.append(torch.load(cfg.run_dir / "gan" / "generator.pt", weights_only=True)["generator"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


@pytest.mark.slow
def test_resume_continues_an_interrupted_run_like_an_uninterrupted_one(prepared_tiny, tmp_path):
    interrupted = copied_run(prepared_tiny[0], tmp_path / "a", gan={"epochs": 2})
    uninterrupted = copied_run(prepared_tiny[0], tmp_path / "b", gan={"epochs": 3})
    config_a = tmp_path / "a.yaml"
    config_a.write_text(config_to_yaml(interrupted))
    config_b = tmp_path / "b.yaml"
    config_b.write_text(config_to_yaml(uninterrupted))

    assert invoke("train-gan", "-c", str(config_a), catch_exceptions=False).exit_code == 0
    resumed = invoke("train-gan", "-c", str(config_a), "--set", "gan.epochs=3", "--resume", catch_exceptions=False)
    assert resumed.exit_code == 0, resumed.output
    assert invoke("train-gan", "-c", str(config_b), catch_exceptions=False).exit_code == 0

    a = pd.read_csv(interrupted.run_dir / "gan" / "metrics.csv")
    b = pd.read_csv(uninterrupted.run_dir / "gan" / "metrics.csv")
    assert a["epoch"].tolist() == b["epoch"].tolist() == [1, 2, 3]
    columns = ["g_loss", "d_loss", "d_real_acc", "d_fake_acc", "lr_g", "lr_d", "r1_penalty"]
    np.testing.assert_allclose(a[columns].to_numpy(), b[columns].to_numpy(), rtol=1e-4, atol=1e-6)
    generator_a = torch.load(interrupted.run_dir / "gan" / "generator.pt", weights_only=True)["generator"]
    generator_b = torch.load(uninterrupted.run_dir / "gan" / "generator.pt", weights_only=True)["generator"]
    assert all(torch.allclose(generator_a[k].float(), generator_b[k].float(), atol=1e-5) for k in generator_a)

    mismatch = copied_run(prepared_tiny[0], tmp_path / "c", gan={"epochs": 3, "channels": 32})
    shutil.copytree(interrupted.run_dir / "gan", mismatch.run_dir / "gan")
    with pytest.raises(CheckpointError, match="gan.channels"):
        train_gan(mismatch, resume=True, progress=False)


def test_gan_steps_trains_exactly_that_many_steps_and_ends_at_the_epochs_learning_rate(prepared_tiny, tmp_path):
    cfg, data = prepared_tiny
    per_epoch = len(TrainingBatches(data.segments("train"), 16, torch.device("cpu")))
    steps = per_epoch + 1  # one full epoch and one step of the next
    cfg = tiny_config(cfg.data.root, tmp_path / "run", cfg.features.cache_dir,
                      gan={"steps": steps, "epochs": 1, "lr_gamma": 0.5})
    history = train_gan(cfg, progress=False).history
    assert [row["steps"] for row in history] == [per_epoch, 1]
    # two epochs instead of gan.epochs=1: the decay per epoch is spread (0.5 ** 1/2), so that after both
    # the rate is where one epoch would leave it (lr * 0.5)
    assert history[1]["lr_g"] == pytest.approx(history[0]["lr_g"] * 0.5 ** 0.5)
