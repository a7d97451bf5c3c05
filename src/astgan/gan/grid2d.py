"""The frequency-aware GAN pair (``gan.architecture: grid2d``, the default).

A log-mel segment has structure along both axes: notes are harmonic stacks of thin horizontal
partials, onsets and drums are vertical edges, and a timbre shifted by a few bands is another
timbre, so neither a pure image net nor a pure sequence net fits. The generator works in two
stages:

1. a 1-D trunk over time (all bands at once: rhythm, loudness, which notes sound) drafts a
   sequence of frame features at an eighth of the time resolution;
2. a lift turns each frame feature into a column of a 2-D (frequency x time) grid of 2-band x
   8-frame patches, a residual 2-D convolution refines the grid (the same local kernel everywhere
   along frequency: partials and onsets are drawn alike in every register), and a sub-pixel
   convolution decodes every grid cell into its patch, to the exact band and frame.

The discriminator mirrors it: 2 x 8 patches -> a 2-D convolution on the grid -> the grid's
frequency axis folded into channels -> stride-2 convolutions over time -> one logit, with a
minibatch-spread feature before the last convolution (a batch of too-similar fakes is easy to tell).
With ``gan.d_deltas`` (the default) it reads each band's frame-to-frame change as a second input
channel beside the segment (:func:`with_time_deltas`). Its patches line up with the generator's, so
without the change in view it hardly sees what happens from one frame to the next: generators
trained against it drew almost twice the real frame-to-frame change (a jitter and an 8-frame
grain) and carried arousal, which lives in time structure (onsets, articulation, tempo), at
0.82-0.88 of what a probe reads off real music. With it (and the modern recipe's R1 gamma of 4,
which keeps the seeds together) the change is 0.76-0.88 of real and arousal fidelity 0.88-0.96
(demo, 3 seeds each; docs/gan.md).

Why a coarse grid and not 2-D convolutions at full resolution: on a CPU a 3 x 3 convolution over a
full 64 x 256 segment with a handful of channels costs more than the whole first-release 1-D pair
(small channel counts leave convolution kernels memory-bound), and the demo's GAN must train
within the demo's 5-minute budget on two cores. On the demo, 2 x 8 patches beat 4 x 4 ones (whose 4-band period
showed in the per-band statistics) and 1 x 4 or 2 x 4 ones (as good, 1.7-2.5 x slower). The
decoder is initialised as nearest-neighbour upsampling followed by a convolution (ICNR, Aitken et
al. 2017), which avoids the checkerboard of stride-2 transposed convolutions; what training
leaves is a faint 8-frame grain in flat regions.

The condition (valence, arousal) enters the generator at every block, as a per-channel gain and
bias of the normalisation (conditional batch norm), and the discriminator by projection or
concatenation (``gan.conditioning``). With ``gan.latent_film`` (the default) the noise z sets
those gains and biases too, beside the condition: what differs between two songs of
the same label (timbre, register, mix) then reaches every layer directly instead of only through
the first projection. Without it, generators on the demo drew too little of that variety: the
band statistics of their segments varied along the secondary principal directions of real music
at a quarter to a half of the real variance. Shapes come from the feature config.
"""

from __future__ import annotations

import torch
from torch import nn

from astgan.errors import ConfigError
from astgan.gan.layers import (
    OUTPUT_BOUND,
    ConditionalBatchNorm,
    ConditionEmbedding,
    FilmParameters,
    LocalCritic,
    ProjectionHead,
    condition_projection,
    doublings,
    minibatch_spread,
    spectral_norm_if,
    with_time_deltas,
)

MIN_GRID_START = 8  # the shortest sequence the trunk starts from / D ends at
PATCH = (2, 8)  # (bands, frames) of one grid cell
GRID_BLOCKS = 1  # residual 2-D blocks on the generator's grid


def grid_shape(n_mels: int, segment_frames: int) -> tuple[int, int]:
    """(frequency, time) cells of the grid2d patch grid; errors name the config key to change."""
    bands, frames = PATCH
    if n_mels % bands or n_mels < 4 * bands:
        raise ConfigError(f"config key 'features.n_mels': gan.architecture=grid2d needs a multiple of {bands} of at "
                          f"least {4 * bands}, got {n_mels} (or use gan.architecture=time1d)")
    grid_frames = segment_frames // frames
    if segment_frames % (2 * frames) or grid_frames < 2 * MIN_GRID_START:
        raise ConfigError(f"config key 'features.segment_frames': gan.architecture=grid2d needs a multiple of "
                          f"{2 * frames} of at least {2 * MIN_GRID_START * frames}, got {segment_frames}")
    return n_mels // bands, grid_frames


class UpBlock1d(nn.Module):
    """(B, C_in, T) -> (B, C_out, 2T): nearest upsampling, convolution, conditional norm, LeakyReLU."""

    def __init__(self, width_in: int, width_out: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv1d(width_in, width_out, kernel_size=5, padding=2, bias=False)
        self.norm = ConditionalBatchNorm(width_out, dims=1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.up(x)), film))


class GridBlock(nn.Module):
    """Residual 2-D block on the patch grid: x + conv(act(norm(x))), shape kept (B, C, F, T)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = ConditionalBatchNorm(channels, dims=2)
        self.act = nn.LeakyReLU(0.2)
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, film: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.act(self.norm(x, film)))


def icnr_(conv: nn.Conv2d, patch: tuple[int, int]) -> None:
    """Initialise a sub-pixel convolution as nearest upsampling after a convolution (ICNR).

    ``conv`` outputs ``C * patch[0] * patch[1]`` channels that :class:`PatchDecoder` spreads over
    each cell's patch; giving every position in the patch the same initial kernel makes the first
    output flat within each patch, free of the checkerboard a random initialisation draws.
    """
    repeats = patch[0] * patch[1]
    kernel = torch.empty(conv.out_channels // repeats, *conv.weight.shape[1:])
    nn.init.kaiming_normal_(kernel, a=0.2)
    with torch.no_grad():
        conv.weight.copy_(kernel.repeat_interleave(repeats, dim=0))
        if conv.bias is not None:
            conv.bias.zero_()


class PatchDecoder(nn.Module):
    """Sub-pixel decoding: (B, C, F cells, T cells) grid -> (B, F cells * 2, T cells * 8) segment.

    A 3 x 3 convolution gives each cell the values of its patch's 2 x 8 pixels from the cell and its
    neighbours, so patch borders do not show; the values are then moved into place.
    """

    def __init__(self, channels: int):
        super().__init__()
        bands, frames = PATCH
        self.conv = nn.Conv2d(channels, bands * frames, kernel_size=3, padding=1)
        icnr_(self.conv, PATCH)

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        bands, frames = PATCH
        cells = self.conv(grid)  # (B, bands * frames, F cells, T cells)
        b, _, f, t = cells.shape
        patches = cells.view(b, bands, frames, f, t).permute(0, 3, 1, 4, 2)  # (B, F cells, bands, T cells, frames)
        return patches.reshape(b, f * bands, t * frames)


class GridGenerator(nn.Module):
    """(z, c) -> one segment in the normalised log-mel space (``gan.architecture: grid2d``).

    ``forward(z, c)``: z (B, latent_dim) standard normal, c (B, 2) (valence, arousal) on -1..1;
    returns (B, n_mels, segment_frames). See the module doc for the stages; ``latent_film``: z
    also sets the conditional norms' gains and biases.
    """

    def __init__(self, n_mels: int, segment_frames: int, latent_dim: int, condition_dim: int, channels: int,
                 grid_channels: int, latent_film: bool = True):
        super().__init__()
        self.grid_bands, grid_frames = grid_shape(n_mels, segment_frames)
        depth = doublings(grid_frames, MIN_GRID_START)
        self.latent_dim, self.grid_channels, self.latent_film = latent_dim, grid_channels, latent_film
        self.start_frames = grid_frames // 2**depth
        self.embed = ConditionEmbedding(condition_dim)
        self.project = nn.Linear(latent_dim + condition_dim, channels * self.start_frames)
        self.stem = ConditionalBatchNorm(channels, dims=1)
        self.trunk = nn.ModuleList(UpBlock1d(channels, channels) for _ in range(depth))
        self.lift = nn.Conv1d(channels, grid_channels * self.grid_bands, kernel_size=3, padding=1)
        self.grid = nn.ModuleList(GridBlock(grid_channels) for _ in range(GRID_BLOCKS))
        self.out_norm = ConditionalBatchNorm(grid_channels, dims=2)
        self.decode = PatchDecoder(grid_channels)
        self.act = nn.LeakyReLU(0.2)
        norms = [self.stem] + [block.norm for block in self.trunk] + [block.norm for block in self.grid]
        style_dim = condition_dim + (latent_dim if latent_film else 0)
        self.films = FilmParameters(style_dim, norms + [self.out_norm])

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        embedded = self.embed(condition)
        style = torch.cat([embedded, z], dim=1) if self.latent_film else embedded  # (B, style_dim)
        films = iter(self.films(style))  # one per conditional norm, in the order they are used
        frames = self.project(torch.cat([z, embedded], dim=1)).view(len(z), -1, self.start_frames)
        frames = self.act(self.stem(frames, next(films)))
        for block in self.trunk:  # each doubles the time axis
            frames = block(frames, next(films))
        grid = self.lift(frames)  # (B, grid_channels * F cells, T cells)
        grid = grid.view(len(z), self.grid_channels, self.grid_bands, -1)  # (B, C, F cells, T cells)
        for block in self.grid:
            grid = block(grid, next(films))
        spec = self.decode(self.act(self.out_norm(grid, next(films))))  # (B, n_mels, segment_frames)
        return OUTPUT_BOUND * torch.tanh(spec / OUTPUT_BOUND)


class GridDiscriminator(nn.Module):
    """(segment, c) -> one realness logit per segment (``gan.architecture: grid2d``).

    ``forward(x, c)``: x (B, n_mels, segment_frames), c (B, 2) on -1..1; returns (B,) logits, and
    with ``with_labels`` (projection only) also (B, 2) labels. 2 x 8 patches (of the segment and,
    with ``deltas``, of its frame-to-frame change: :func:`with_time_deltas`) -> a 2-D convolution
    on the grid -> frequency folded into channels -> stride-2 convolutions over time, the last
    one also reading the batch's spread (:func:`minibatch_spread`). With ``local`` a
    :class:`~astgan.gan.layers.LocalCritic` reads the same input near full resolution and its logit
    is added to the grid path's (``gan.d_local``).
    """

    def __init__(self, n_mels: int, segment_frames: int, condition_dim: int, channels: int, grid_channels: int,
                 conditioning: str = "projection", spectral_norm: bool = True, deltas: bool = False,
                 local: bool = False):
        super().__init__()
        grid_bands, grid_frames = grid_shape(n_mels, segment_frames)
        depth = doublings(grid_frames, MIN_GRID_START)
        norm = spectral_norm_if(spectral_norm)
        self.conditioning, self.deltas = conditioning, deltas
        in_channels = (2 if deltas else 1) + (condition_dim if conditioning == "concat" else 0)
        self.grid = nn.Sequential(
            norm(nn.Conv2d(in_channels, grid_channels, kernel_size=PATCH, stride=PATCH)), nn.LeakyReLU(0.2),
            norm(nn.Conv2d(grid_channels, grid_channels, kernel_size=3, padding=1)), nn.LeakyReLU(0.2),
        )
        widths_in = [grid_channels * grid_bands] + [channels] * (depth - 1)
        widths_in[-1] += 1  # the last one also reads the minibatch spread
        self.time = nn.ModuleList(norm(nn.Conv1d(width, channels, kernel_size=4, stride=2, padding=1))
                                  for width in widths_in)
        self.act = nn.LeakyReLU(0.2)
        feature_size = channels * (grid_frames // 2**depth)
        self.embed = condition_projection(condition_dim, conditioning, feature_size, norm)
        self.head = ProjectionHead(feature_size, conditioning, norm)
        self.local = LocalCritic(2 if deltas else 1, norm) if local else None

    def forward(self, x: torch.Tensor, condition: torch.Tensor, with_labels: bool = False):
        embedded = self.embed(condition)
        x = with_time_deltas(x) if self.deltas else x[:, None]  # (B, 1 or 2, n_mels, frames)
        local = self.local(x) if self.local is not None else None  # (B,) texture logits
        if self.conditioning == "concat":
            x = torch.cat([x, embedded[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        h = self.grid(x).flatten(1, 2)  # (B, grid_channels * F cells, T cells)
        for i, conv in enumerate(self.time):
            if i == len(self.time) - 1:
                h = torch.cat([h, minibatch_spread(h)], dim=1)
            h = self.act(conv(h))
        out = self.head(h.flatten(1), embedded, with_labels)
        if local is None:
            return out
        if with_labels:
            return out[0] + local, out[1]
        return out + local
