"""The conditional spectrogram GAN: generator and discriminator.

Both networks read a segment as a sequence over time whose channels are the mel bands: a
(n_mels, frames) spectrogram is a 1-D signal of ``n_mels`` channels. Convolutions run along time
only, and every layer mixes all bands. Why not 2-D convolutions like an image GAN:

- a mel band is not a translated copy of its neighbour (a timbre shifted by a few bins is another
  timbre), so the translation invariance that 2-D kernels buy along frequency buys little here,
  while onsets and drums, which span all bands at one instant, are one step of a 1-D kernel;
- on a CPU the notebook's 2-D DCGAN pair at 64 x 256 trains at about 20-40 segments/s, the demo's
  1-D pair at about 1,000 (``scripts/bench_gan.py``): what lets the demo's GAN train in a minute.

The generator doubles the time axis with nearest-neighbour upsampling followed by a convolution
(stride-2 transposed convolutions leave checkerboard artifacts). Shapes come from the feature
config: ``segment_frames`` must be a multiple of 4 and at least 64 frames; any ``n_mels`` works.
"""

from __future__ import annotations

import torch
from torch import nn

from astgan.artifacts import load_checkpoint
from astgan.config import Config
from astgan.errors import CheckpointError, ConfigError

# Normalised log-mels ((x - mean) / (2 std)) lie within about +-2: a soft bound a little wider
# keeps a young generator from drawing values the data never holds.
OUTPUT_BOUND = 3.0
MIN_START_FRAMES = 16  # the shortest sequence the generator starts from / the discriminator ends at
MAX_DEPTH = 6  # at most six doublings (e.g. 16 -> 1024 frames)
# The condition is (valence, arousal): two numbers on -1..1.
CONDITION_SIZE = 2


def network_depth(segment_frames: int) -> int:
    """Number of time doublings (generator) and halvings (discriminator) for a segment length.

    The largest k <= 6 such that ``segment_frames`` is divisible by 2**k and the start length
    ``segment_frames / 2**k`` is at least 16; e.g. 128 -> 3, 256 -> 4, 1024 -> 6.
    """
    if segment_frames < 4 * MIN_START_FRAMES or segment_frames % 4:
        raise ConfigError(
            f"config key 'features.segment_frames': the GAN needs a multiple of 4 of at least "
            f"{4 * MIN_START_FRAMES} frames, got {segment_frames}"
        )
    depth = 0
    while (depth < MAX_DEPTH and segment_frames % 2 ** (depth + 1) == 0
           and segment_frames // 2 ** (depth + 1) >= MIN_START_FRAMES):
        depth += 1
    return depth


def block_widths(channels: int, depth: int) -> list[int]:
    """Channel count of each resolution, coarsest first: halves every two blocks, at least 16."""
    return [max(16, channels // 2 ** (i // 2)) for i in range(depth)]


class ConditionEmbedding(nn.Module):
    """(B, 2) condition on -1..1 -> (B, dim) learned embedding."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(CONDITION_SIZE, dim), nn.LeakyReLU(0.2), nn.Linear(dim, dim))

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.net(condition)


class SpectrogramGenerator(nn.Module):
    """(z, c) -> one segment in the normalised log-mel space.

    ``forward(z, c)``: z (B, latent_dim) standard normal, c (B, 2) (valence, arousal) on -1..1;
    returns (B, n_mels, segment_frames). The embedded condition is joined to z, projected to a
    short sequence of ``channels`` features, and doubled in length ``depth`` times.
    """

    def __init__(self, n_mels: int, segment_frames: int, latent_dim: int, condition_dim: int, channels: int):
        super().__init__()
        depth = network_depth(segment_frames)
        widths = block_widths(channels, depth)
        self.latent_dim = latent_dim
        self.start_frames = segment_frames // 2**depth
        self.embed = ConditionEmbedding(condition_dim)
        self.project = nn.Linear(latent_dim + condition_dim, widths[0] * self.start_frames)
        self.stem = nn.Sequential(nn.BatchNorm1d(widths[0]), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList()
        for width_in, width_out in zip(widths, widths[1:] + widths[-1:]):
            self.blocks.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv1d(width_in, width_out, kernel_size=5, padding=2, bias=False),
                nn.BatchNorm1d(width_out),
                nn.LeakyReLU(0.2),
            ))
        self.to_mels = nn.Conv1d(widths[-1], n_mels, kernel_size=3, padding=1)

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        features = self.project(torch.cat([z, self.embed(condition)], dim=1))
        features = self.stem(features.view(len(z), -1, self.start_frames))  # (B, widths[0], start_frames)
        for block in self.blocks:  # each doubles the time axis
            features = block(features)
        spec = self.to_mels(features)  # (B, n_mels, segment_frames)
        return OUTPUT_BOUND * torch.tanh(spec / OUTPUT_BOUND)


class SpectrogramDiscriminator(nn.Module):
    """(segment, c) -> one realness logit per segment.

    ``forward(x, c)``: x (B, n_mels, segment_frames), c (B, 2) on -1..1; returns (B,) logits.
    ``conditioning="concat"`` joins the embedded condition to the input as extra channels (the
    notebook's way); ``"projection"`` adds the inner product of the embedded condition with the
    final features to the logit (Miyato & Koyama, 2018); only then are the features free of the
    condition, so only then does ``forward(x, c, with_labels=True)`` also return (B, 2) labels
    read off them (the auxiliary label loss, ``gan.label_loss_weight``). Each block halves the
    time axis with a stride-2 convolution.
    """

    def __init__(self, n_mels: int, segment_frames: int, condition_dim: int, channels: int,
                 conditioning: str = "concat", spectral_norm: bool = False):
        super().__init__()
        depth = network_depth(segment_frames)
        widths = block_widths(channels, depth)[::-1]  # finest first
        self.conditioning = conditioning
        feature_size = widths[-1] * (segment_frames // 2**depth)
        norm = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        in_channels = n_mels + (condition_dim if conditioning == "concat" else 0)
        layers: list[nn.Module] = []
        for width in widths:
            layers += [norm(nn.Conv1d(in_channels, width, kernel_size=4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            in_channels = width
        self.body = nn.Sequential(*layers)
        self.head = norm(nn.Linear(feature_size, 1))
        # predicts (valence, arousal) from condition-free features: the auxiliary label loss
        self.label_head = nn.Linear(feature_size, CONDITION_SIZE) if conditioning == "projection" else None
        if conditioning == "concat":
            self.embed = ConditionEmbedding(condition_dim)
        else:  # one embedding vector per condition, matched against the features
            self.embed = nn.Sequential(ConditionEmbedding(condition_dim), norm(nn.Linear(condition_dim, feature_size)))

    def forward(self, x: torch.Tensor, condition: torch.Tensor, with_labels: bool = False):
        """(B,) logits; with ``with_labels`` also (B, 2) predicted (valence, arousal) (projection only)."""
        embedded = self.embed(condition)
        if self.conditioning == "concat":
            x = torch.cat([x, embedded[:, :, None].expand(-1, -1, x.shape[2])], dim=1)
        features = self.body(x).flatten(1)  # (B, feature_size)
        logits = self.head(features).squeeze(1)
        if self.conditioning == "projection":
            logits = logits + (embedded * features).sum(dim=1)
        if with_labels:
            return logits, torch.tanh(self.label_head(features))
        return logits


def build_generator(cfg: Config) -> SpectrogramGenerator:
    return SpectrogramGenerator(cfg.features.n_mels, cfg.features.segment_frames, cfg.gan.latent_dim,
                                cfg.gan.condition_dim, cfg.gan.channels)


def build_discriminator(cfg: Config) -> SpectrogramDiscriminator:
    return SpectrogramDiscriminator(cfg.features.n_mels, cfg.features.segment_frames, cfg.gan.condition_dim,
                                    cfg.gan.channels, cfg.gan.conditioning, cfg.gan.spectral_norm)


# Keys that change the networks' shapes: a checkpoint only resumes under the same values.
MODEL_KEYS = [
    "features.n_mels", "features.segment_frames", "gan.latent_dim", "gan.channels",
    "gan.condition_dim", "gan.conditioning", "gan.spectral_norm",
]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_generator(path) -> tuple[SpectrogramGenerator, Config]:
    """Rebuild the generator of ``gan/generator.pt`` from its own saved config, in eval mode, on the CPU."""
    checkpoint = load_checkpoint(path, produced_by="train-gan")
    if "generator" not in checkpoint or "config" not in checkpoint:
        raise CheckpointError(f"{path} holds no generator; expected the gan/generator.pt that `astgan train-gan` writes")
    cfg = Config.from_dict(checkpoint["config"], source=str(path))
    generator = build_generator(cfg)
    try:
        generator.load_state_dict(checkpoint["generator"])
    except RuntimeError as err:  # written by another version of this code
        raise CheckpointError(f"{path}: the weights do not fit the generator its config builds ({err}); "
                              "train it again with `astgan train-gan`") from None
    return generator.eval(), cfg
