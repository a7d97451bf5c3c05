"""Building blocks both GAN architectures share (:mod:`astgan.gan.grid2d`, :mod:`astgan.gan.time1d`).

The condition (valence, arousal) enters a generator as a per-channel gain and bias of its
normalisation (conditional batch norm, every layer's film from one linear map), and a
discriminator either by concatenation or by projection (``gan.conditioning``). A discriminator can
also read the batch's spread (:func:`minibatch_spread`) and each band's frame-to-frame change
(:func:`with_time_deltas`).
"""

from __future__ import annotations

import torch
from torch import nn

# Normalised log-mels ((x - mean) / (2 std)) lie within about +-2: a soft bound a little wider
# keeps a young generator from drawing values the data never holds.
OUTPUT_BOUND = 3.0
MAX_DEPTH = 6  # at most six doublings (e.g. 16 -> 1024 frames)
# The condition is (valence, arousal): two numbers on -1..1.
CONDITION_SIZE = 2


def doublings(frames: int, min_start: int) -> int:
    """The largest k <= 6 such that ``frames`` is divisible by 2**k and ``frames / 2**k >= min_start``."""
    depth = 0
    while depth < MAX_DEPTH and frames % 2 ** (depth + 1) == 0 and frames // 2 ** (depth + 1) >= min_start:
        depth += 1
    return depth


class ConditionEmbedding(nn.Module):
    """(B, 2) condition on -1..1 -> (B, dim) learned embedding."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(CONDITION_SIZE, dim), nn.LeakyReLU(0.2), nn.Linear(dim, dim))

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.net(condition)


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own gain and bias: those come from the condition, per sample.

    ``forward(x, film)``: x (B, C, ...) 1-D or 2-D feature maps; film (B, 2C) = (scale, shift),
    applied as ``norm(x) * (1 + scale) + shift``. The generator computes every layer's film from
    the embedded condition with one linear map (:class:`FilmParameters`): one small matrix product
    per forward pass instead of one per layer.
    """

    def __init__(self, channels: int, dims: int):
        super().__init__()
        self.channels = channels
        self.norm = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(channels, affine=False)

    def forward(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        scale, shift = film.chunk(2, dim=1)
        shape = (len(x), -1) + (1,) * (x.dim() - 2)
        return self.norm(x) * (1 + scale.view(shape)) + shift.view(shape)


class FilmParameters(nn.Module):
    """(B, style_dim) style -> one (B, 2 C_i) film per conditional norm.

    The style is the embedded condition, or the embedded condition and z side by side
    (``gan.latent_film``). Starts at zero, so every norm starts as plain batch norm.
    """

    def __init__(self, style_dim: int, norms: list[ConditionalBatchNorm]):
        super().__init__()
        self.sizes = [2 * norm.channels for norm in norms]
        self.linear = nn.Linear(style_dim, sum(self.sizes))
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, embedded: torch.Tensor) -> list[torch.Tensor]:
        return list(self.linear(embedded).split(self.sizes, dim=1))


class ProjectionHead(nn.Module):
    """Features -> realness logit, conditioned by concatenation (upstream) or by projection.

    ``forward(features, embedded, with_labels)``: features (B, D); embedded (B, D) for projection
    (ignored for concat). With ``with_labels`` (projection only) also (B, 2) labels read off the
    condition-free features: the auxiliary label loss.
    """

    def __init__(self, feature_size: int, conditioning: str, norm):
        super().__init__()
        self.conditioning = conditioning
        self.head = norm(nn.Linear(feature_size, 1))
        self.label_head = nn.Linear(feature_size, CONDITION_SIZE) if conditioning == "projection" else None

    def forward(self, features: torch.Tensor, embedded: torch.Tensor, with_labels: bool = False):
        logits = self.head(features).squeeze(1)
        if self.conditioning == "projection":
            logits = logits + (embedded * features).sum(dim=1)
        if with_labels:
            return logits, torch.tanh(self.label_head(features))
        return logits


def with_time_deltas(x: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, T) -> (B, 2, n_mels, T): the segment and each band's change from the frame before
    (zero at the first frame). Arousal lives mostly in time structure (onsets, articulation, tempo),
    and a discriminator that reads the change directly tells crisp attacks from a generator's
    frame-to-frame jitter (``gan.d_deltas``)."""
    deltas = nn.functional.pad(x[:, :, 1:] - x[:, :, :-1], (1, 0))
    return torch.stack([x, deltas], dim=1)


class LocalCritic(nn.Module):
    """(B, C, n_mels, T) -> (B,) logits: a small near-full-resolution 2-D critic of local texture.

    The input 2 x 2 average-pooled, then three stride-2 3 x 3 convolutions (16, 32, 32 channels;
    each output sees about 30 bands x 30 frames) and a 1 x 1 convolution give one logit per
    patch, averaged over the segment (a PatchGAN-style critic). The grid discriminator reads the
    segment through 2 x 8 patches, so the texture inside a patch (a grain, smeared partials, the
    noise of real recordings) reaches it only through one linear map per patch; this branch reads
    it near the pixel, as a small classifier trained after the fact does (``gan.d_local``). It
    sees no condition: texture is what it judges.
    """

    def __init__(self, in_channels: int, norm, widths: tuple[int, ...] = (16, 32, 32)):
        super().__init__()
        layers, width = [], in_channels
        for out in widths:
            layers += [norm(nn.Conv2d(width, out, 3, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            width = out
        layers.append(norm(nn.Conv2d(width, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # 2 x 2 average pooling first, as the C2ST's CNN does: an 8-frame grain is still a 4-frame
        # one, and the critic costs a quarter (its first layer, memory-bound on a CPU, dominated)
        return self.net(nn.functional.avg_pool2d(x, 2)).mean(dim=(1, 2, 3))


def spectral_norm_if(enabled: bool):
    """A layer wrapper: spectral norm on the layer when ``enabled`` (``gan.spectral_norm``), else the layer as is."""
    return nn.utils.parametrizations.spectral_norm if enabled else (lambda layer: layer)


def minibatch_spread(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """(B, C, T) -> (B, 1, T): the standard deviation across each group of ``group`` samples,
    averaged over channels (Karras et al. 2018). It lets D see how varied a batch is, so a
    generator that draws too little variety loses; groups never mix the real and the fake half of
    a batch of even halves."""
    if len(x) % group:
        group = len(x)
    groups = x.view(-1, group, *x.shape[1:])  # (B / group, group, C, T)
    centred = groups - groups.mean(dim=1, keepdim=True)
    spread = (centred.square().mean(dim=1) + 1e-8).sqrt().mean(dim=1, keepdim=True)  # (B / group, 1, T)
    return spread.repeat_interleave(group, dim=0)


def condition_projection(condition_dim: int, conditioning: str, feature_size: int, norm) -> nn.Module:
    """concat: the embedding joins D's input; projection: one vector per condition, matched against the features."""
    if conditioning == "concat":
        return ConditionEmbedding(condition_dim)
    return nn.Sequential(ConditionEmbedding(condition_dim), norm(nn.Linear(condition_dim, feature_size)))
