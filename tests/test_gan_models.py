"""The GAN's networks, its recipes and the loss rules, on real (tiny) models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from astgan.artifacts import save_checkpoint
from astgan.config import GAN_RECIPES, Config
from astgan.errors import ConfigError
from astgan.gan.grid2d import GridDiscriminator, GridGenerator, PatchDecoder
from astgan.gan.layers import FilmParameters, with_time_deltas
from astgan.gan.losses import (
    COLLAPSE_EPOCHS,
    collapse_signs,
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    needs_extra_generator_step,
    r1_penalty,
    smoothed_targets,
)
from astgan.gan.models import build_discriminator, build_generator, load_generator
from astgan.gan.time1d import TimeDiscriminator, TimeGenerator, network_depth

from helpers import tiny_config


def _pair(architecture: str, n_mels: int, frames: int, conditioning: str):
    if architecture == "time1d":
        return (TimeGenerator(n_mels, frames, latent_dim=8, condition_dim=4, channels=16),
                TimeDiscriminator(n_mels, frames, condition_dim=4, channels=16, conditioning=conditioning,
                                  spectral_norm=conditioning == "projection"))
    return (GridGenerator(n_mels, frames, latent_dim=8, condition_dim=4, channels=16, grid_channels=4),
            GridDiscriminator(n_mels, frames, condition_dim=4, channels=16, grid_channels=4, conditioning=conditioning,
                              spectral_norm=conditioning == "projection"))


@pytest.mark.parametrize("n_mels, frames", [(32, 128), (64, 256), (128, 1024), (40, 160)])
@pytest.mark.parametrize("architecture", ["grid2d", "time1d"])
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_models_build_for_the_feature_shape(architecture, n_mels, frames, conditioning):
    generator, discriminator = _pair(architecture, n_mels, frames, conditioning)
    z, condition = torch.randn(3, 8), torch.rand(3, 2) * 2 - 1
    spec = generator(z, condition)
    assert spec.shape == (3, n_mels, frames)
    assert spec.abs().max() < 3.0  # the soft output bound
    logits = discriminator(spec, condition)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("architecture", ["grid2d", "time1d"])
def test_the_condition_changes_the_output(architecture):
    torch.manual_seed(0)
    generator, _ = _pair(architecture, 32, 128, "projection")
    generator.train()
    generator(torch.randn(8, 8), torch.rand(8, 2) * 2 - 1)  # one batch of running statistics
    generator.eval()
    z = torch.randn(1, 8)
    # the grid generator's conditional norms start neutral: give them a nudge as training would
    for module in generator.modules():
        if isinstance(module, FilmParameters):
            torch.nn.init.normal_(module.linear.weight, std=0.1)
    low = generator(z, torch.tensor([[-1.0, -1.0]]))
    high = generator(z, torch.tensor([[1.0, 1.0]]))
    assert (low - high).abs().mean() > 1e-4


@pytest.mark.parametrize("latent_film", [True, False])
def test_latent_film_lets_the_noise_set_the_norms_gains(latent_film):
    """With gan.latent_film the films read z beside the condition; without, the condition alone."""
    torch.manual_seed(0)
    generator = GridGenerator(32, 128, latent_dim=8, condition_dim=4, channels=16, grid_channels=4,
                              latent_film=latent_film)
    torch.nn.init.normal_(generator.films.linear.weight, std=0.1)
    condition = torch.tensor([[0.5, -0.5], [0.5, -0.5]])
    z = torch.randn(2, 8)
    embedded = generator.embed(condition)
    style = torch.cat([embedded, z], dim=1) if latent_film else embedded
    films = generator.films(style)  # what forward computes
    assert generator.films.linear.in_features == 4 + (8 if latent_film else 0)
    same_condition_films_differ = any(not torch.allclose(film[0], film[1]) for film in films)
    assert same_condition_films_differ == latent_film


def test_time_deltas_are_each_bands_change_from_the_frame_before():
    x = torch.randn(3, 8, 20)
    both = with_time_deltas(x)
    assert both.shape == (3, 2, 8, 20)
    assert torch.equal(both[:, 0], x)
    assert torch.all(both[:, 1, :, 0] == 0)
    assert torch.allclose(both[:, 1, :, 5], x[:, :, 5] - x[:, :, 4])


@pytest.mark.parametrize("architecture", ["grid2d", "time1d"])
def test_a_discriminator_with_deltas_reads_the_frame_to_frame_change(architecture):
    """With the segment's own input weights zeroed, D sees only the deltas: a level added to every
    frame of a band leaves its logits alone, a jump in the middle of the segment does not."""
    torch.manual_seed(0)
    if architecture == "grid2d":
        discriminator = GridDiscriminator(32, 128, condition_dim=4, channels=16, grid_channels=4,
                                          conditioning="projection", spectral_norm=False, deltas=True)
        first = discriminator.grid[0]
        assert first.in_channels == 2
        segment_weights = first.weight[:, 0]
    else:
        discriminator = TimeDiscriminator(32, 128, condition_dim=4, channels=16, conditioning="projection",
                                          spectral_norm=False, deltas=True)
        first = discriminator.body[0]
        assert first.in_channels == 64  # the bands, then their changes
        segment_weights = first.weight[:, :32]
    with torch.no_grad():
        segment_weights.zero_()
    x, condition = torch.randn(4, 32, 128), torch.rand(4, 2) * 2 - 1
    level = x + torch.linspace(-1, 1, 32)[None, :, None]
    jump = x.clone()
    jump[:, :, 64:] += 1.0
    logits = discriminator(x, condition)
    assert torch.allclose(discriminator(level, condition), logits, atol=1e-5)
    assert (discriminator(jump, condition) - logits).abs().max() > 1e-3


def test_the_sub_pixel_decoder_starts_as_nearest_upsampling():
    """ICNR: every 2 x 8 patch of the first output is flat, so no checkerboard is drawn from the start."""
    decoder = PatchDecoder(channels=6)
    grid = torch.randn(2, 6, 5, 7)
    out = decoder(grid)
    assert out.shape == (2, 10, 56)
    patches = out.reshape(2, 5, 2, 7, 8)  # (B, F cells, 2 bands, T cells, 8 frames)
    assert patches.std(dim=(2, 4)).max() < 1e-5
    # the pixel at (band 1, frame 5) of cell (3, 4) comes from that cell's 14th output channel
    cells = decoder.conv(grid)
    assert torch.equal(out[:, 3 * 2 + 1, 4 * 8 + 5], cells[:, 1 * 8 + 5, 3, 4])
    assert out.std() > 0.01  # ... while the patches differ from each other


@pytest.mark.parametrize("frames", [50, 130, 60])
def test_segment_lengths_the_networks_cannot_build_name_the_config_key(frames):
    with pytest.raises(ConfigError, match="features.segment_frames"):
        TimeGenerator(32, frames, latent_dim=8, condition_dim=4, channels=16)
    with pytest.raises(ConfigError, match="features.segment_frames"):
        GridGenerator(32, frames, latent_dim=8, condition_dim=4, channels=16, grid_channels=4)


def test_the_grid_needs_whole_patches_along_frequency():
    with pytest.raises(ConfigError, match="features.n_mels.*time1d"):
        GridGenerator(31, 128, latent_dim=8, condition_dim=4, channels=16, grid_channels=4)


def test_the_label_loss_needs_a_projection_discriminator():
    with pytest.raises(ConfigError, match="gan.label_loss_weight.*projection"):
        Config.from_dict({"gan": {"label_loss_weight": 1.0, "conditioning": "concat"}})
    with pytest.raises(ConfigError, match="gan.label_loss_weight.*projection"):  # the modern recipe's label loss
        Config.from_dict({"gan": {"recipe": "modern", "conditioning": "concat"}})
    Config.from_dict({"gan": {"recipe": "modern", "conditioning": "concat", "label_loss_weight": 0}})


@pytest.mark.parametrize("architecture", ["grid2d", "time1d"])
def test_the_projection_discriminator_can_predict_labels(architecture):
    _, discriminator = _pair(architecture, 32, 128, "projection")
    logits, labels = discriminator(torch.randn(5, 32, 128), torch.zeros(5, 2), with_labels=True)
    assert logits.shape == (5,) and labels.shape == (5, 2) and labels.abs().max() <= 1.0


def test_depth_follows_the_segment_length():
    assert [network_depth(f) for f in (64, 128, 256, 1024, 96)] == [2, 3, 4, 6, 2]


# ------------------------------------------------------------------ recipes


def test_unset_keys_take_the_recipe_and_set_keys_win():
    modern = Config.from_dict({}).gan.resolved()
    assert modern.recipe == "modern" and modern.loss == "hinge" and modern.spectral_norm and modern.ema_decay > 0
    classic = Config.from_dict({"gan": {"recipe": "classic"}}).gan.resolved()
    for key, value in GAN_RECIPES["classic"].items():
        assert getattr(classic, key) == value, key
    assert (classic.lr_g, classic.lr_d) == (2e-4, 1e-4)  # G twice D
    assert classic.real_label_range == (0.8, 1.0) and classic.fake_label_range == (0.0, 0.2)
    tweaked = Config.from_dict({"gan": {"recipe": "classic", "spectral_norm": True}}).gan.resolved()
    assert tweaked.spectral_norm and tweaked.loss == "bce"
    # the saved config keeps the unset keys unset: switching the recipe later switches them all
    raw = Config.from_dict({"gan": {"recipe": "classic"}}).to_dict()
    assert raw["gan"]["loss"] is None
    assert Config.from_dict(raw).with_overrides("gan.recipe=modern").gan.resolved().loss == "hinge"


def test_recipe_values_are_checked():
    with pytest.raises(ConfigError, match="gan.recipe"):
        Config.from_dict({"gan": {"recipe": "fancy"}})
    with pytest.raises(ConfigError, match="gan.ema_decay"):
        Config.from_dict({"gan": {"ema_decay": 1.0}})
    with pytest.raises(ConfigError, match="gan.r1_weight"):
        Config.from_dict({"gan": {"r1_weight": -1.0}})


def test_the_recipes_build_their_discriminators(tmp_path):
    classic = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"recipe": "classic"})
    assert build_discriminator(classic).conditioning == "concat"
    modern = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"recipe": "modern"})
    discriminator = build_discriminator(modern)
    assert discriminator.conditioning == "projection"
    assert discriminator.deltas  # gan.d_deltas, on unless set off
    plain = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"recipe": "modern", "d_deltas": False})
    assert not build_discriminator(plain).deltas
    assert any("parametrizations" in name for name, _ in discriminator.named_modules())  # spectral norm


def test_the_local_critic_sees_a_grain_inside_the_patches(tmp_path):
    """gan.d_local: a texture that lives inside the 2 x 8 patches changes the critic's logit.

    A segment and the same segment with an alternating frame pattern (each patch's mean kept) get
    different logits from the local critic, whose logit is added to the grid path's.
    """
    cfg = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"d_local": True})
    discriminator = build_discriminator(cfg).eval()
    assert discriminator.local is not None
    assert not build_discriminator(tiny_config(tmp_path, tmp_path / "run", tmp_path)).local
    n_mels, frames = cfg.features.n_mels, cfg.features.segment_frames
    flat = torch.zeros(2, n_mels, frames)
    grain = flat.clone()
    grain[:, :, ::2] += 1.0
    grain[:, :, 1::2] -= 1.0  # each patch's mean still 0
    condition = torch.zeros(2, 2)
    with torch.no_grad():
        local = discriminator.local
        assert not torch.allclose(local(with_time_deltas(flat)), local(with_time_deltas(grain)))
        grid_only = discriminator(flat, condition) - local(with_time_deltas(flat))
        discriminator.local = None
        assert torch.allclose(discriminator(flat, condition), grid_only, atol=1e-5)
    with pytest.raises(ConfigError, match="gan.d_local"):
        Config.from_dict({"gan": {"d_local": True, "architecture": "time1d"}})


def test_a_first_release_generator_file_still_loads(tmp_path):
    """generator.pt files written before gan.architecture existed hold the time1d generator."""
    cfg = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"architecture": "time1d"})
    old_config = cfg.to_dict()
    gan = old_config["gan"]
    for key in ("architecture", "recipe", "grid_channels", "r1_weight", "r1_every", "ema_decay"):
        del gan[key]  # keys the first release did not have ...
    gan.update({key: value for key, value in GAN_RECIPES["classic"].items() if key in gan})  # ... and explicit ones
    old_config["gan"] = {k: list(v) if isinstance(v, tuple) else v for k, v in gan.items()}
    weights = build_generator(cfg).state_dict()
    path = save_checkpoint(tmp_path / "generator.pt", {"generator": weights, "config": old_config})
    generator, loaded_cfg = load_generator(path)
    assert isinstance(generator, TimeGenerator) and loaded_cfg.gan.architecture == "time1d"
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), weights.values()))


def test_a_grid_generator_file_from_before_latent_film_still_loads(tmp_path):
    """generator.pt files of release 0.2 have no gan.latent_film: their films read the condition alone."""
    cfg = tiny_config(tmp_path, tmp_path / "run", tmp_path, gan={"architecture": "grid2d", "latent_film": False})
    old_config = cfg.to_dict()
    del old_config["gan"]["latent_film"]
    old_config["gan"] = {k: list(v) if isinstance(v, tuple) else v for k, v in old_config["gan"].items()}
    weights = build_generator(cfg).state_dict()
    path = save_checkpoint(tmp_path / "generator.pt", {"generator": weights, "config": old_config})
    generator, loaded_cfg = load_generator(path)
    assert isinstance(generator, GridGenerator) and loaded_cfg.gan.latent_film is False
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), weights.values()))


# ------------------------------------------------------------------ the loss rules


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
    softplus = torch.nn.functional.softplus
    # with degenerate ranges the smoothed targets are exactly 1 and 0
    bce = discriminator_loss(real_logits, fake_logits, "bce", (1.0, 1.0), (0.0, 0.0))
    assert torch.allclose(bce, 0.5 * (softplus(-real_logits).mean() + softplus(fake_logits).mean()))
    hinge = discriminator_loss(real_logits, fake_logits, "hinge", (0.8, 1.0), (0.0, 0.2))
    expected = 0.5 * (torch.relu(1 - real_logits).mean() + torch.relu(1 + fake_logits).mean())
    assert torch.allclose(hinge, expected)
    assert torch.allclose(generator_loss(fake_logits, "hinge"), -fake_logits.mean())
    assert torch.allclose(generator_loss(fake_logits, "bce"), softplus(-fake_logits).mean())


def test_discriminator_accuracy_uses_logit_zero_as_the_border():
    real_acc, fake_acc = discriminator_accuracy(torch.tensor([1.0, -1.0, 2.0, 3.0]), torch.tensor([-1.0, 1.0]))
    assert (float(real_acc), float(fake_acc)) == (0.75, 0.5)


def test_r1_penalty_is_the_squared_input_gradient():
    weight = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    real = torch.randn(4, 2, 2, requires_grad=True)
    logits = (real * weight).sum(dim=(1, 2)) ** 2 / 2  # d/dx = logit_root * weight
    penalty = r1_penalty(logits, real)
    roots = (real * weight).sum(dim=(1, 2))
    expected = (roots**2 * weight.pow(2).sum()).mean()
    assert torch.allclose(penalty, expected)
    penalty.backward()  # differentiable: D can be trained on it
    assert real.grad is not None


def test_collapse_signs():
    healthy = [{"d_loss": 0.6, "g_loss": 1.2}] * 5
    assert collapse_signs(healthy, sample_diversity=0.5) == []
    winning = healthy + [{"d_loss": 0.01, "g_loss": 6.0}] * COLLAPSE_EPOCHS
    assert len(collapse_signs(winning, sample_diversity=0.5)) == 1
    briefly = healthy + [{"d_loss": 0.01, "g_loss": 6.0}] * (COLLAPSE_EPOCHS - 1)
    assert collapse_signs(briefly, sample_diversity=0.5) == []
    assert "nearly identical" in collapse_signs(healthy, sample_diversity=0.001)[0]


def test_motion_statistics_are_the_c2st_motion_features_and_their_gap_sees_a_grain():
    from astgan.gan.losses import motion_matching_loss, motion_statistics
    from astgan.synthetic.c2st import motion_features

    rng = np.random.default_rng(0)
    # smooth "music": a random walk over frames per band
    real = np.cumsum(rng.normal(size=(32, 16, 64)), axis=2).astype(np.float32) * 0.1
    stats = motion_statistics(torch.from_numpy(real)).double().numpy()
    assert np.allclose(stats, motion_features(real), atol=1e-4)  # the same statistics the C2ST reads

    real_t = torch.from_numpy(real)
    assert motion_matching_loss(real_t, real_t) == 0
    grain = np.tile(rng.normal(size=(1, 16, 8)), (1, 1, 8)).astype(np.float32)  # a fixed 8-frame grain
    grained = torch.from_numpy(real + grain).requires_grad_(True)
    gap = motion_matching_loss(grained, real_t)
    assert gap > 0.1
    gap.backward()
    assert grained.grad.abs().sum() > 0  # the generator gets a gradient from it
