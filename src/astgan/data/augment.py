"""Augmentation of training batches: SpecAugment masks and C-Mixup, both batched and seeded.

Both work on whole batches on whatever device the batch lives on, and draw their randomness from
a ``torch.Generator`` on the CPU that the caller owns. That is what lets two ablation arms see
exactly the same real items with exactly the same masks (each stream has its own generator), and
gives the same masks on the CPU and on a GPU.
"""

from __future__ import annotations

import numpy as np
import torch

from astgan.errors import DataError


class SpecAugment:
    """One frequency mask and one time mask per spectrogram, as in SpecAugment (Park et al., 2019).

    Each item gets a width drawn uniformly in [0, max) and a start uniformly where the band fits,
    and the band is set to 0, the mean of the normalised log-mel space. A width of 0 turns that
    mask off. ``freq_mask`` and ``time_mask`` are clipped to the spectrogram's own size.
    """

    def __init__(self, freq_mask: int, time_mask: int):
        self.freq_mask = max(0, int(freq_mask))
        self.time_mask = max(0, int(time_mask))

    def __call__(self, specs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, n_mels, frames), masked (a new tensor)."""
        keep = torch.ones_like(specs, dtype=torch.bool)
        if self.freq_mask > 0:
            keep &= ~band_mask(len(specs), specs.shape[1], self.freq_mask, generator, specs.device)[:, :, None]
        if self.time_mask > 0:
            keep &= ~band_mask(len(specs), specs.shape[2], self.time_mask, generator, specs.device)[:, None, :]
        return specs * keep


def band_mask(n: int, size: int, max_width: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """(n, size) bool: one contiguous band per row, width uniform in [0, max_width), start where it fits."""
    max_width = min(max_width, size)
    draws = torch.rand(n, 2, generator=generator)  # on the CPU: the same bands on any device
    width = (draws[:, 0] * max_width).long()
    start = (draws[:, 1] * (size - width + 1)).long().clamp(max=size - 1)
    position = torch.arange(size)
    band = (position[None, :] >= start[:, None]) & (position[None, :] < (start + width)[:, None])
    return band.to(device)


class CMixup:
    """Label-aware mixup for regression (C-Mixup, Yao et al., 2022): the control arm's extra items.

    Plain mixup blends two random items and their labels; for regression that invents labels for
    sounds that never carried them. C-Mixup draws the partner of each anchor with probability
    proportional to exp(-|y_i - y_j|^2 / (2 bandwidth^2)), so items are mixed mostly with items of
    similar (valence, arousal), then mixes x and y with one lambda ~ Beta(alpha, alpha).

    ``labels``: (N, 2) labels of the items that can be drawn (real TRAIN segments), on -1..1.
    An anchor is never paired with itself, nor (given ``song_index``) with another segment of its
    own song. The kernel is normalised in log space, so an anchor whose nearest partner lies many
    bandwidths away (a rare label, a small bandwidth) still draws its nearest partners instead of
    underflowing to nothing.
    """

    def __init__(self, labels: np.ndarray, bandwidth: float, alpha: float, song_index: np.ndarray | None = None):
        labels = torch.as_tensor(np.asarray(labels, dtype=np.float64))
        log_kernel = -torch.cdist(labels, labels).pow(2) / (2.0 * bandwidth**2)
        groups = torch.as_tensor(np.asarray(song_index)) if song_index is not None else torch.arange(len(labels))
        log_kernel = log_kernel.masked_fill(groups[:, None] == groups[None, :], float("-inf"))
        alone = torch.isinf(log_kernel).all(dim=1)
        if alone.any():
            raise DataError(f"C-Mixup needs items of at least two songs: {int(alone.sum())} of {len(labels)} "
                            "items have no partner of another song (train on more songs, or use "
                            "ast.synthetic_source=gan)")
        self.partner_weights = torch.softmax(log_kernel, dim=1).float()  # (N, N), 0 on self and own song
        self.alpha = float(alpha)

    def partners(self, anchors: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(partners (n,), lambdas (n,)) on the CPU for (n,) anchor indices."""
        partners = torch.multinomial(self.partner_weights[anchors], 1, generator=generator).squeeze(1)
        return partners, beta_sample(self.alpha, len(anchors), generator)


def beta_sample(alpha: float, n: int, generator: torch.Generator) -> torch.Tensor:
    """(n,) float32 draws from Beta(alpha, alpha) that depend only on ``generator``.

    torch's Beta sampler takes no generator, so the draw is X / (X + Y) with X, Y ~ Gamma(alpha)
    from a numpy generator seeded off ``generator``: reproducible, and cheap for a batch.
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    x, y = rng.gamma(alpha, size=n), rng.gamma(alpha, size=n)
    return torch.from_numpy(x / (x + y)).float()


def mix(specs_a: torch.Tensor, labels_a: torch.Tensor, specs_b: torch.Tensor, labels_b: torch.Tensor,
        lambdas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """lambda * a + (1 - lambda) * b for (n, n_mels, frames) specs and (n, 2) labels; lambdas (n,)."""
    lam = lambdas.to(specs_a.device)
    specs = lam[:, None, None] * specs_a + (1.0 - lam[:, None, None]) * specs_b
    labels = lam[:, None] * labels_a + (1.0 - lam[:, None]) * labels_b
    return specs, labels
