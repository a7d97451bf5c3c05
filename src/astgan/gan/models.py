"""The conditional spectrogram GAN: build the configured generator and discriminator, and load a
saved generator.

Two architectures (``gan.architecture``): ``grid2d`` (the default, :mod:`astgan.gan.grid2d`), a
frequency-aware pair that drafts over time and refines on a 2-D grid of patches, and ``time1d``
(:mod:`astgan.gan.time1d`), the first release's 1-D pair. The blocks they share (conditional
norms, the projection head, the discriminators' extra inputs) are in :mod:`astgan.gan.layers`.
Shapes come from the feature config.
"""

from __future__ import annotations

from torch import nn

from astgan.artifacts import load_checkpoint
from astgan.config import Config
from astgan.errors import CheckpointError
from astgan.gan.grid2d import GridDiscriminator, GridGenerator
from astgan.gan.time1d import TimeDiscriminator, TimeGenerator


def build_generator(cfg: Config) -> nn.Module:
    """The generator of ``cfg.gan.architecture`` for the configured segment shape."""
    f, gan = cfg.features, cfg.gan
    if gan.architecture == "time1d":
        return TimeGenerator(f.n_mels, f.segment_frames, gan.latent_dim, gan.condition_dim, gan.channels)
    return GridGenerator(f.n_mels, f.segment_frames, gan.latent_dim, gan.condition_dim, gan.channels,
                         gan.grid_channels, gan.latent_film)


def build_discriminator(cfg: Config) -> nn.Module:
    """The discriminator of ``cfg.gan.architecture``, with the recipe's conditioning and spectral norm."""
    f, gan = cfg.features, cfg.gan.resolved()
    if gan.architecture == "time1d":
        return TimeDiscriminator(f.n_mels, f.segment_frames, gan.condition_dim, gan.channels, gan.conditioning,
                                 gan.spectral_norm, gan.d_deltas)
    return GridDiscriminator(f.n_mels, f.segment_frames, gan.condition_dim, gan.channels, gan.grid_channels,
                             gan.conditioning, gan.spectral_norm, gan.d_deltas, gan.d_local)


# Keys that change the networks' shapes: a checkpoint only resumes under the same values.
MODEL_KEYS = [
    "features.n_mels", "features.segment_frames", "gan.architecture", "gan.latent_dim", "gan.channels",
    "gan.grid_channels", "gan.condition_dim", "gan.latent_film", "gan.recipe", "gan.conditioning",
    "gan.spectral_norm", "gan.d_deltas", "gan.d_local",
]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _older_release_config(saved: dict) -> dict:
    """The config of a generator.pt written by an earlier release, with the keys it predates set
    to what that release built: no ``gan.architecture`` (the first release) means the time1d
    generator; no ``gan.latent_film`` (before 0.3) means films from the condition alone."""
    gan = dict(saved.get("gan", {}))
    gan.setdefault("architecture", "time1d")
    gan.setdefault("recipe", "classic")  # the first release's explicit keys win over the recipe anyway
    gan.setdefault("latent_film", False)
    return {**saved, "gan": gan}


def load_generator(path) -> tuple[nn.Module, Config]:
    """Rebuild the generator of ``gan/generator.pt`` from its own saved config, in eval mode, on the CPU."""
    checkpoint = load_checkpoint(path, produced_by="train-gan")
    if "generator" not in checkpoint or "config" not in checkpoint:
        raise CheckpointError(f"{path} holds no generator; expected the gan/generator.pt of `astgan train-gan`")
    cfg = Config.from_dict(_older_release_config(checkpoint["config"]), source=str(path))
    generator = build_generator(cfg)
    try:
        generator.load_state_dict(checkpoint["generator"])
    except RuntimeError as err:  # written by another version of this code
        raise CheckpointError(f"{path}: the weights do not fit the generator its config builds ({err}); "
                              "train it again with `astgan train-gan`") from None
    return generator.eval(), cfg
