"""The GAN's networks and the recipe's rules, on real (tiny) models."""

from __future__ import annotations

import pytest
import torch

from astgan.config import Config
from astgan.errors import ConfigError
from astgan.gan.losses import (
    COLLAPSE_EPOCHS,
    collapse_signs,
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    needs_extra_generator_step,
    smoothed_targets,
)
from astgan.gan.models import SpectrogramDiscriminator, SpectrogramGenerator, network_depth


@pytest.mark.parametrize("n_mels, frames", [(32, 128), (64, 256), (128, 1024), (40, 96)])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_models_build_for_the_feature_shape(n_mels, frames, conditioning):
    generator = SpectrogramGenerator(n_mels, frames, latent_dim=8, condition_dim=4, channels=16)
    discriminator = SpectrogramDiscriminator(n_mels, frames, condition_dim=4, channels=16,
                                             conditioning=conditioning, spectral_norm=conditioning == "projection")
    z, condition = torch.randn(3, 8), torch.rand(3, 2) * 2 - 1
    spec = generator(z, condition)
    assert spec.shape == (3, n_mels, frames)
    assert spec.abs().max() < 3.0  # the soft output bound
    logits = discriminator(spec, condition)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_the_condition_changes_the_output():
    torch.manual_seed(0)
    generator = SpectrogramGenerator(32, 128, latent_dim=8, condition_dim=4, channels=16).eval()
    z = torch.randn(1, 8)
    low = generator(z, torch.tensor([[-1.0, -1.0]]))
    high = generator(z, torch.tensor([[1.0, 1.0]]))
    assert (low - high).abs().mean() > 1e-4


@pytest.mark.parametrize("frames", [50, 130, 60])
def test_segment_lengths_the_networks_cannot_build_name_the_config_key(frames):
    with pytest.raises(ConfigError, match="features.segment_frames"):
        SpectrogramGenerator(32, frames, latent_dim=8, condition_dim=4, channels=16)


def test_the_label_loss_needs_a_projection_discriminator():
    with pytest.raises(ConfigError, match="gan.label_loss_weight.*projection"):
        Config.from_dict({"gan": {"label_loss_weight": 1.0, "conditioning": "concat"}})
    Config.from_dict({"gan": {"label_loss_weight": 1.0, "conditioning": "projection"}})


def test_the_projection_discriminator_can_predict_labels():
    discriminator = SpectrogramDiscriminator(32, 128, condition_dim=4, channels=16, conditioning="projection")
    logits, labels = discriminator(torch.randn(5, 32, 128), torch.zeros(5, 2), with_labels=True)
    assert logits.shape == (5,) and labels.shape == (5, 2) and labels.abs().max() <= 1.0


def test_depth_follows_the_segment_length():
    assert [network_depth(f) for f in (64, 128, 256, 1024, 96)] == [2, 3, 4, 6, 2]


# ------------------------------------------------------------------ the recipe's rules


def test_extra_generator_step_fires_exactly_when_d_accuracy_exceeds_the_threshold():
    threshold = 0.8
    for real_acc in [i / 20 for i in range(21)]:
        for fake_acc in [i / 20 for i in range(21)]:
            expected = (real_acc + fake_acc) / 2 > threshold
            assert needs_extra_generator_step(real_acc, fake_acc, threshold) is expected
    assert not needs_extra_generator_step(0.8, 0.8, 0.8)  # equal is not "too strong"
    assert needs_extra_generator_step(1.0, 0.65, 0.8)


def test_label_smoothing_stays_within_its_ranges():
    torch.manual_seed(0)
    real = smoothed_targets(10_000, (0.8, 1.0))
    fake = smoothed_targets(10_000, (0.0, 0.2))
    assert 0.8 <= real.min() and real.max() <= 1.0
    assert 0.0 <= fake.min() and fake.max() <= 0.2
    assert real.std() > 0.05  # drawn per sample, not one constant
    assert abs(float(real.mean()) - 0.9) < 0.01


def test_discriminator_loss_is_the_mean_of_its_real_and_fake_terms():
    real_logits, fake_logits = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    # with degenerate ranges the smoothed targets are exactly 1 and 0
    bce = discriminator_loss(real_logits, fake_logits, "bce", (1.0, 1.0), (0.0, 0.0))
    expected = 0.5 * (torch.nn.functional.softplus(-real_logits).mean() + torch.nn.functional.softplus(fake_logits).mean())
    assert torch.allclose(bce, expected)
    hinge = discriminator_loss(real_logits, fake_logits, "hinge", (0.8, 1.0), (0.0, 0.2))
    expected = 0.5 * (torch.relu(1 - real_logits).mean() + torch.relu(1 + fake_logits).mean())
    assert torch.allclose(hinge, expected)
    assert torch.allclose(generator_loss(fake_logits, "hinge"), -fake_logits.mean())
    assert torch.allclose(generator_loss(fake_logits, "bce"), torch.nn.functional.softplus(-fake_logits).mean())


def test_discriminator_accuracy_uses_logit_zero_as_the_border():
    real_acc, fake_acc = discriminator_accuracy(torch.tensor([1.0, -1.0, 2.0, 3.0]), torch.tensor([-1.0, 1.0]))
    assert (real_acc, fake_acc) == (0.75, 0.5)


def test_collapse_signs():
    healthy = [{"d_loss": 0.6, "g_loss": 1.2}] * 5
    assert collapse_signs(healthy, sample_diversity=0.5) == []
    winning = healthy + [{"d_loss": 0.01, "g_loss": 6.0}] * COLLAPSE_EPOCHS
    assert len(collapse_signs(winning, sample_diversity=0.5)) == 1
    briefly = healthy + [{"d_loss": 0.01, "g_loss": 6.0}] * (COLLAPSE_EPOCHS - 1)
    assert collapse_signs(briefly, sample_diversity=0.5) == []
    assert "nearly identical" in collapse_signs(healthy, sample_diversity=0.001)[0]
