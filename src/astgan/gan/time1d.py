"""The first release's GAN pair (``gan.architecture: time1d``): 1-D convolutions over time with the
mel bands as channels, upsampling by nearest neighbour + convolution in the generator, stride-2
convolutions in the discriminator. Kept so that the first release's generators still load and
its recipe can be set beside the default (:mod:`astgan.gan.grid2d`).
"""

from __future__ import annotations

import torch
from torch import nn

from astgan.errors import ConfigError
from astgan.gan.layers import (
    OUTPUT_BOUND,
    ConditionEmbedding,
    ProjectionHead,
    condition_projection,
    doublings,
    spectral_norm_if,
    with_time_deltas,
)

MIN_START_FRAMES = 16  # the shortest sequence G starts from / D ends at


def network_depth(segment_frames: int) -> int:
    """time1d: number of time doublings (generator) and halvings (discriminator) for a segment length.

    :func:`doublings` from a start of at least 16 frames; e.g. 128 -> 3, 256 -> 4, 1024 -> 6.
    """
    if segment_frames < 4 * MIN_START_FRAMES or segment_frames % 4:
        raise ConfigError(
            f"config key 'features.segment_frames': the GAN needs a multiple of 4 of at least "
            f"{4 * MIN_START_FRAMES} frames, got {segment_frames}"
        )
    return doublings(segment_frames, MIN_START_FRAMES)


def block_widths(channels: int, depth: int) -> list[int]:
    """Channel count of each resolution, coarsest first: halves every two blocks, at least 16."""
    return [max(16, channels // 2 ** (i // 2)) for i in range(depth)]


class TimeGenerator(nn.Module):
    """(z, c) -> one segment (``gan.architecture: time1d``): 1-D convolutions over time, bands as channels.

    ``forward(z, c)``: z (B, latent_dim), c (B, 2) on -1..1; returns (B, n_mels, segment_frames).
    The embedded condition is joined to z, projected to a short sequence and doubled in length.
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


class TimeDiscriminator(nn.Module):
    """(segment, c) -> one realness logit per segment (``gan.architecture: time1d``).

    ``forward(x, c)``: x (B, n_mels, segment_frames), c (B, 2) on -1..1; returns (B,) logits, and
    with ``with_labels`` (projection only) also (B, 2) labels. Each block halves the time axis
    with a stride-2 convolution; with ``deltas`` the bands' frame-to-frame changes are read too.
    """

    def __init__(self, n_mels: int, segment_frames: int, condition_dim: int, channels: int,
                 conditioning: str = "concat", spectral_norm: bool = False, deltas: bool = False):
        super().__init__()
        depth = network_depth(segment_frames)
        widths = block_widths(channels, depth)[::-1]  # finest first
        self.conditioning, self.deltas = conditioning, deltas
        feature_size = widths[-1] * (segment_frames // 2**depth)
        norm = spectral_norm_if(spectral_norm)
        in_channels = (2 if deltas else 1) * n_mels + (condition_dim if conditioning == "concat" else 0)
        layers: list[nn.Module] = []
        for width in widths:
            layers += [norm(nn.Conv1d(in_channels, width, kernel_size=4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            in_channels = width
        self.body = nn.Sequential(*layers)
        self.embed = condition_projection(condition_dim, conditioning, feature_size, norm)
        self.head = ProjectionHead(feature_size, conditioning, norm)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, with_labels: bool = False):
        embedded = self.embed(condition)
        if self.deltas:  # the bands' changes join the bands as channels: (B, 2 n_mels, T)
            x = with_time_deltas(x).flatten(1, 2)
        if self.conditioning == "concat":
            x = torch.cat([x, embedded[:, :, None].expand(-1, -1, x.shape[2])], dim=1)
        features = self.body(x).flatten(1)  # (B, feature_size)
        return self.head(features, embedded, with_labels)
