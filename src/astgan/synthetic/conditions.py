"""Which (valence, arousal) the synthetic set is drawn at: samplers over the TRAIN songs' labels."""

from __future__ import annotations

import numpy as np
from scipy.stats import gaussian_kde

# The balanced sampler's weights are capped at this multiple of the mean weight, so that one
# isolated song cannot take a large share of the synthetic set.
MAX_BALANCE_WEIGHT = 5.0


def inverse_density_weights(labels: np.ndarray) -> np.ndarray:
    """(N,) sampling probabilities proportional to 1 / (label density), capped; labels: (N, 2).

    The density is a Gaussian kernel density estimate over the V/A plane (Scott's bandwidth), so
    labels in sparse regions (DEAM's extremes) get the largest weights.
    """
    labels = np.asarray(labels, dtype=np.float64)
    if len(labels) < 3:
        return np.full(len(labels), 1.0 / len(labels))
    try:
        density = gaussian_kde(labels.T)(labels.T)
    except np.linalg.LinAlgError:  # labels on a line: no 2-D density, fall back to equal weights
        return np.full(len(labels), 1.0 / len(labels))
    weights = 1.0 / np.maximum(density, 1e-12)
    weights = np.minimum(weights / weights.mean(), MAX_BALANCE_WEIGHT)
    return weights / weights.sum()


def sample_conditions(train_labels: np.ndarray, n: int, sampler: str, jitter: float,
                      rng: np.random.Generator) -> np.ndarray:
    """(n, 2) float32 conditions on -1..1 drawn from the TRAIN songs' labels (``train_labels``: (N, 2)).

    - ``empirical``: TRAIN labels resampled uniformly, plus Gaussian noise of sd ``jitter``;
    - ``uniform``: uniform over the box that the TRAIN labels span;
    - ``balanced``: TRAIN labels resampled with probability proportional to 1 / density
      (:func:`inverse_density_weights`), plus the same noise.
    """
    train_labels = np.asarray(train_labels, dtype=np.float64)
    if train_labels.ndim != 2 or train_labels.shape[1] != 2 or len(train_labels) == 0:
        raise ValueError(f"train labels have shape {train_labels.shape}, expected (N >= 1, 2)")
    if sampler == "uniform":
        low, high = train_labels.min(axis=0), train_labels.max(axis=0)
        conditions = rng.uniform(low, high, size=(n, 2))
    elif sampler in ("empirical", "balanced"):
        weights = inverse_density_weights(train_labels) if sampler == "balanced" else None
        picks = rng.choice(len(train_labels), size=n, p=weights)
        conditions = train_labels[picks] + rng.normal(0.0, jitter, size=(n, 2))
    else:
        raise ValueError(f"unknown sampler '{sampler}'; expected empirical, uniform or balanced")
    return np.clip(conditions, -1.0, 1.0).astype(np.float32)
