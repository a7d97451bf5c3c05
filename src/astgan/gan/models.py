"""The conditional spectrogram GAN: generator and discriminator, in two architectures.

``gan.architecture: grid2d`` (the default) is frequency-aware. A log-mel segment has structure along
both axes: notes are harmonic stacks of thin horizontal partials, onsets and drums are vertical
edges, and a timbre shifted by a few bands is another timbre, so neither a pure image net nor a
pure sequence net fits. The generator works in two stages:

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
(demo, 3 seeds each; README, "The GAN and its quality report").

Why a coarse grid and not 2-D convolutions at full resolution: on a CPU a 3 x 3 convolution over a
full 64 x 256 segment with a handful of channels costs more than the whole first-release 1-D pair
(small channel counts leave convolution kernels memory-bound), and the demo's GAN must train in
well under a minute on two cores. On the demo, 2 x 8 patches beat 4 x 4 ones (whose 4-band period
showed in the per-band statistics) and 1 x 4 or 2 x 4 ones (as good, 1.7-2.5 x slower). The
decoder is initialised as nearest-neighbour upsampling followed by a convolution (ICNR, Aitken et
al. 2017), which avoids the checkerboard of stride-2 transposed convolutions; what training
leaves is a faint 8-frame grain in flat regions.

``gan.architecture: time1d`` keeps the first release's pair: 1-D convolutions over time with the
mel bands as channels, upsampling by nearest neighbour + convolution.

The condition (valence, arousal) enters the grid generator at every block, as a per-channel gain
and bias of the normalisation (conditional batch norm), and the discriminators either by
concatenation or by projection (``gan.conditioning``). With ``gan.latent_film`` (the default) the
noise z sets those gains and biases too, beside the condition: what differs between two songs of
the same label (timbre, register, mix) then reaches every layer directly instead of only through
the first projection. Without it, generators on the demo drew too little of that variety: the
band statistics of their segments varied along the secondary principal directions of real music
at a quarter to a half of the real variance. Shapes come from the feature config.
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
MIN_START_FRAMES = 16  # time1d: the shortest sequence G starts from / D ends at
MIN_GRID_START = 8  # grid2d: the shortest sequence the trunk starts from / D ends at
MAX_DEPTH = 6  # at most six doublings (e.g. 16 -> 1024 frames)
PATCH = (2, 8)  # grid2d: (bands, frames) of one grid cell
GRID_BLOCKS = 1  # grid2d: residual 2-D blocks on the generator's grid
# The condition is (valence, arousal): two numbers on -1..1.
CONDITION_SIZE = 2


def doublings(frames: int, min_start: int) -> int:
    """The largest k <= 6 such that ``frames`` is divisible by 2**k and ``frames / 2**k >= min_start``."""
    depth = 0
    while depth < MAX_DEPTH and frames % 2 ** (depth + 1) == 0 and frames // 2 ** (depth + 1) >= min_start:
        depth += 1
    return depth


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


def _spectral(enabled: bool):
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


class GridDiscriminator(nn.Module):
    """(segment, c) -> one realness logit per segment (``gan.architecture: grid2d``).

    ``forward(x, c)``: x (B, n_mels, segment_frames), c (B, 2) on -1..1; returns (B,) logits, and
    with ``with_labels`` (projection only) also (B, 2) labels. 2 x 8 patches (of the segment and,
    with ``deltas``, of its frame-to-frame change: :func:`with_time_deltas`) -> a 2-D convolution
    on the grid -> frequency folded into channels -> stride-2 convolutions over time, the last
    one also reading the batch's spread (:func:`minibatch_spread`).
    """

    def __init__(self, n_mels: int, segment_frames: int, condition_dim: int, channels: int, grid_channels: int,
                 conditioning: str = "projection", spectral_norm: bool = True, deltas: bool = False):
        super().__init__()
        grid_bands, grid_frames = grid_shape(n_mels, segment_frames)
        depth = doublings(grid_frames, MIN_GRID_START)
        norm = _spectral(spectral_norm)
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
        self.embed = _condition_embedding(condition_dim, conditioning, feature_size, norm)
        self.head = ProjectionHead(feature_size, conditioning, norm)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, with_labels: bool = False):
        embedded = self.embed(condition)
        x = with_time_deltas(x) if self.deltas else x[:, None]  # (B, 1 or 2, n_mels, frames)
        if self.conditioning == "concat":
            x = torch.cat([x, embedded[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        h = self.grid(x).flatten(1, 2)  # (B, grid_channels * F cells, T cells)
        for i, conv in enumerate(self.time):
            if i == len(self.time) - 1:
                h = torch.cat([h, minibatch_spread(h)], dim=1)
            h = self.act(conv(h))
        return self.head(h.flatten(1), embedded, with_labels)


def _condition_embedding(condition_dim: int, conditioning: str, feature_size: int, norm) -> nn.Module:
    """concat: the embedding joins D's input; projection: one vector per condition, matched against the features."""
    if conditioning == "concat":
        return ConditionEmbedding(condition_dim)
    return nn.Sequential(ConditionEmbedding(condition_dim), norm(nn.Linear(condition_dim, feature_size)))


# --------------------------------------------------------------------------- time1d: the first release's pair


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
        norm = _spectral(spectral_norm)
        in_channels = (2 if deltas else 1) * n_mels + (condition_dim if conditioning == "concat" else 0)
        layers: list[nn.Module] = []
        for width in widths:
            layers += [norm(nn.Conv1d(in_channels, width, kernel_size=4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            in_channels = width
        self.body = nn.Sequential(*layers)
        self.embed = _condition_embedding(condition_dim, conditioning, feature_size, norm)
        self.head = ProjectionHead(feature_size, conditioning, norm)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, with_labels: bool = False):
        embedded = self.embed(condition)
        if self.deltas:  # the bands' changes join the bands as channels: (B, 2 n_mels, T)
            x = with_time_deltas(x).flatten(1, 2)
        if self.conditioning == "concat":
            x = torch.cat([x, embedded[:, :, None].expand(-1, -1, x.shape[2])], dim=1)
        features = self.body(x).flatten(1)  # (B, feature_size)
        return self.head(features, embedded, with_labels)


# --------------------------------------------------------------------------- building and loading


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
                             gan.conditioning, gan.spectral_norm, gan.d_deltas)


# Keys that change the networks' shapes: a checkpoint only resumes under the same values.
MODEL_KEYS = [
    "features.n_mels", "features.segment_frames", "gan.architecture", "gan.latent_dim", "gan.channels",
    "gan.grid_channels", "gan.condition_dim", "gan.latent_film", "gan.recipe", "gan.conditioning",
    "gan.spectral_norm", "gan.d_deltas",
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
