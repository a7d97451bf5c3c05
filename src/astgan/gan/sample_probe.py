"""A fixed probe of the generator during training: the same conditions and noise every epoch, for
the sample figures and the per-epoch collapse check (``sample_diversity`` in metrics.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.descriptors import mean_pairwise_distance, pooled_vectors
from astgan.data.labels import nearest_to_corners
from astgan.gan.figures import plot_condition_grid


class SampleProbe:
    """Fixed conditions and noise, for the sample figures and the per-epoch collapse check.

    Conditions: the TRAIN segments nearest each V/A corner; ``n_z`` fixed noise vectors each.
    """

    def __init__(self, segments: SegmentDataset, cfg: Config, n_z: int = 4):
        labels = segments.labels.astype(np.float32)
        picks = np.array(list(nearest_to_corners(labels).values()))
        self.real = segments.stack(picks)  # (4, n_mels, frames)
        self.conditions = labels[picks]  # (4, 2)
        noise = torch.Generator().manual_seed(cfg.run.seed)
        self.z = torch.randn(len(picks), n_z, cfg.gan.latent_dim, generator=noise)
        rng = np.random.default_rng(cfg.run.seed)
        reference = segments.stack(rng.choice(len(segments), min(64, len(segments)), replace=False))
        self.real_spread = mean_pairwise_distance(pooled_vectors(reference))

    @torch.no_grad()
    def samples(self, generator: torch.nn.Module) -> np.ndarray:
        """(4, n_z, n_mels, frames) samples in eval mode (the generator's mode is restored after)."""
        device = next(generator.parameters()).device
        rows, n_z, latent = self.z.shape
        conditions = torch.from_numpy(self.conditions).repeat_interleave(n_z, dim=0)
        was_training = generator.training
        generator.eval()
        try:
            out = generator(self.z.reshape(rows * n_z, latent).to(device), conditions.to(device))
        finally:
            generator.train(was_training)
        return out.float().cpu().numpy().reshape(rows, n_z, *out.shape[1:])

    def diversity(self, samples: np.ndarray) -> float:
        """Mean distance across z within each condition, relative to the real segments' spread."""
        within = [mean_pairwise_distance(pooled_vectors(row)) for row in samples]
        return float(np.mean(within)) / max(self.real_spread, 1e-12)

    def figure(self, samples: np.ndarray, path: Path, title: str) -> Path:
        return plot_condition_grid(self.real, samples, self.conditions, path, title)
