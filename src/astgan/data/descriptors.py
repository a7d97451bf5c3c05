"""Summary descriptors of log-mel segments that several stages compare sets of segments by.

The evaluation's ridge baseline reads band statistics; the GAN's training probe and the synthetic
set's quality report read pooled vectors, their pairwise spread and the frame-to-frame change.
Every function takes (N, n_mels, frames) segments in the normalised log-mel space.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

POOLED_SHAPE = (32, 64)  # (bands, frames) of the pooled segments that distances compare
MAX_PAIRWISE = 512  # a pairwise spread is estimated on a random subset of at most this many segments


def band_statistics(specs: np.ndarray) -> np.ndarray:
    """Per-band mean and standard deviation over time.

    ``specs``: (N, n_mels, frames). Returns (N, 2 * n_mels) float64: means then stds.
    """
    specs = np.asarray(specs, dtype=np.float64)
    if specs.ndim != 3:
        raise ValueError(f"specs have shape {specs.shape}, expected (N, n_mels, frames)")
    return np.concatenate([specs.mean(axis=2), specs.std(axis=2)], axis=1)


def frame_change(specs: np.ndarray) -> np.ndarray:
    """(N, n_mels, frames) -> (N,) float64: mean |x[t] - x[t-1]| over bands and frames, per segment."""
    specs = np.asarray(specs, dtype=np.float32)
    return np.abs(np.diff(specs, axis=2)).mean(axis=(1, 2), dtype=np.float64)


def pooled_vectors(specs: np.ndarray) -> np.ndarray:
    """(N, n_mels, frames) -> (N, D) float32: each segment average-pooled to at most 32 x 64, flattened."""
    specs = torch.as_tensor(np.asarray(specs, dtype=np.float32))
    if specs.ndim != 3:
        raise ValueError(f"specs have shape {tuple(specs.shape)}, expected (N, n_mels, frames)")
    target = (min(POOLED_SHAPE[0], specs.shape[1]), min(POOLED_SHAPE[1], specs.shape[2]))
    return F.adaptive_avg_pool2d(specs[:, None], target).flatten(1).numpy()


def mean_pairwise_distance(vectors: np.ndarray, max_items: int = MAX_PAIRWISE, seed: int = 0) -> float:
    """Mean Euclidean distance over distinct pairs of (N, D) vectors (a random subset when N is large)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < 2:
        raise ValueError(f"need at least 2 vectors for a pairwise distance, got {len(vectors)}")
    if len(vectors) > max_items:
        vectors = vectors[np.random.default_rng(seed).choice(len(vectors), max_items, replace=False)]
    points = torch.from_numpy(vectors)
    distances = torch.cdist(points, points)
    n = len(points)
    return float(distances.sum() / (n * (n - 1)))
