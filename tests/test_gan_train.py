"""GAN training on real demo segments: steps, artifacts, resume, the CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from astgan.cli import main
from astgan.config import config_to_yaml
from astgan.errors import CheckpointError
from astgan.gan.models import load_generator
from astgan.gan.train import METRIC_COLUMNS, GanTrainer, train_gan

from helpers import tiny_config


def _run_copy(prepared_tiny, tmp_path, **sections):
    """A config on a copy of the prepared run folder (songs.csv and normalisation already there)."""
    cfg, _ = prepared_tiny
    run_dir = tmp_path / "run"
    shutil.copytree(cfg.run_dir, run_dir)
    return tiny_config(cfg.data.root, run_dir, cfg.features.cache_dir, **sections)


def test_a_few_training_steps_give_finite_losses_and_move_both_networks(prepared_tiny):
    cfg, data = prepared_tiny
    torch.manual_seed(0)
    trainer = GanTrainer(cfg, torch.device("cpu"))
    segments = data.segments("train")
    real = torch.from_numpy(segments.stack(np.arange(16)))
    condition = torch.from_numpy(segments.labels[:16].astype(np.float32))
    before_g = [p.detach().clone() for p in trainer.generator.parameters()]
    before_d = [p.detach().clone() for p in trainer.discriminator.parameters()]
    for _ in range(3):
        step = trainer.train_step(real, condition)
        assert np.isfinite([step["g_loss"], step["d_loss"]]).all()
        assert 0.0 <= step["d_real_acc"] <= 1.0 and 0.0 <= step["d_fake_acc"] <= 1.0
    moved_g = sum(not torch.equal(a, b) for a, b in zip(before_g, trainer.generator.parameters()))
    moved_d = sum(not torch.equal(a, b) for a, b in zip(before_d, trainer.discriminator.parameters()))
    assert moved_g == len(before_g) and moved_d == len(before_d)


@pytest.mark.parametrize("options", [{"loss": "hinge", "spectral_norm": True, "d_steps": 2},
                                     {"conditioning": "projection", "label_loss_weight": 1.0}])
def test_the_options_train(prepared_tiny, options):
    cfg, data = prepared_tiny
    cfg = tiny_config(cfg.data.root, cfg.run_dir, cfg.features.cache_dir, gan=options)
    trainer = GanTrainer(cfg, torch.device("cpu"))
    segments = data.segments("train")
    real = torch.from_numpy(segments.stack(np.arange(8)))
    step = trainer.train_step(real, torch.from_numpy(segments.labels[:8].astype(np.float32)))
    assert np.isfinite([step["g_loss"], step["d_loss"]]).all()


@pytest.mark.slow
def test_train_gan_writes_the_run_folder_contract(prepared_tiny, tmp_path):
    cfg = _run_copy(prepared_tiny, tmp_path, gan={"epochs": 2, "sample_every": 2})
    result = train_gan(cfg, progress=False)
    gan_dir = cfg.run_dir / "gan"
    assert result.generator_path == gan_dir / "generator.pt"
    assert [row["epoch"] for row in result.history] == [1, 2]
    for name in ("metrics.csv", "losses.png", "samples.png", "samples_epoch_002.png", "last.pt"):
        assert (gan_dir / name).is_file(), name
    metrics = pd.read_csv(gan_dir / "metrics.csv")
    assert list(metrics.columns) == METRIC_COLUMNS
    assert metrics["epoch"].tolist() == [1, 2]
    assert np.isfinite(metrics[["g_loss", "d_loss", "sample_diversity"]].to_numpy()).all()
    assert metrics["lr_g"].iloc[1] == pytest.approx(cfg.gan.lr_g * cfg.gan.lr_gamma)  # ExponentialLR per epoch

    generator, saved_cfg = load_generator(result.generator_path)
    assert saved_cfg.to_dict() == cfg.to_dict()
    with torch.no_grad():
        out = generator(torch.randn(2, saved_cfg.gan.latent_dim), torch.zeros(2, 2))
    assert out.shape == (2, cfg.features.n_mels, cfg.features.segment_frames)


def _cli(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


@pytest.mark.slow
def test_resume_continues_an_interrupted_run_like_an_uninterrupted_one(prepared_tiny, tmp_path):
    interrupted = _run_copy(prepared_tiny, tmp_path / "a", gan={"epochs": 2})
    uninterrupted = _run_copy(prepared_tiny, tmp_path / "b", gan={"epochs": 3})
    config_a = tmp_path / "a.yaml"
    config_a.write_text(config_to_yaml(interrupted))
    config_b = tmp_path / "b.yaml"
    config_b.write_text(config_to_yaml(uninterrupted))

    assert _cli("train-gan", "-c", str(config_a)).exit_code == 0
    resumed = _cli("train-gan", "-c", str(config_a), "--set", "gan.epochs=3", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert _cli("train-gan", "-c", str(config_b)).exit_code == 0

    a = pd.read_csv(interrupted.run_dir / "gan" / "metrics.csv")
    b = pd.read_csv(uninterrupted.run_dir / "gan" / "metrics.csv")
    assert a["epoch"].tolist() == b["epoch"].tolist() == [1, 2, 3]
    columns = ["g_loss", "d_loss", "d_real_acc", "d_fake_acc", "lr_g", "lr_d", "extra_g_steps"]
    np.testing.assert_allclose(a[columns].to_numpy(), b[columns].to_numpy(), rtol=1e-4, atol=1e-6)

    mismatch = _run_copy(prepared_tiny, tmp_path / "c", gan={"epochs": 3, "channels": 32})
    shutil.copytree(interrupted.run_dir / "gan", mismatch.run_dir / "gan")
    with pytest.raises(CheckpointError, match="gan.channels"):
        train_gan(mismatch, resume=True, progress=False)
