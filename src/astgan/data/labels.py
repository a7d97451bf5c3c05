"""The label space: valence and arousal, DEAM's 1..9 scale and the internal -1..1 scale.

Labels are kept on -1..1 everywhere inside astgan ((x - 5) / 4) and shown on DEAM's 1..9 scale.
A label array is always (N, 2): column 0 valence, column 1 arousal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.metrics import DIMENSIONS  # the names; the scales and helpers below

LABEL_RANGE = (1.0, 9.0)  # DEAM's self-assessment scale

QUADRANTS = {  # name -> (valence, arousal) corner on the -1..1 scale
    "low V / high A": (-1.0, 1.0),
    "high V / high A": (1.0, 1.0),
    "low V / low A": (-1.0, -1.0),
    "high V / low A": (1.0, -1.0),
}


def to_unit_scale(labels_1_to_9: np.ndarray) -> np.ndarray:
    """DEAM's 1..9 labels -> the internal -1..1 scale: (x - 5) / 4."""
    return (np.asarray(labels_1_to_9, dtype=np.float64) - 5.0) / 4.0


def to_deam_scale(labels_unit: np.ndarray) -> np.ndarray:
    """The internal -1..1 scale -> DEAM's 1..9 scale: 4 x + 5."""
    return np.asarray(labels_unit, dtype=np.float64) * 4.0 + 5.0


def labels_of(table: pd.DataFrame) -> np.ndarray:
    """The (N, 2) float32 label array (valence, arousal) of a song table, on -1..1."""
    labels = table[list(DIMENSIONS)].to_numpy(dtype=np.float32)
    if labels.ndim != 2 or labels.shape[1] != 2:
        raise ValueError(f"labels have shape {labels.shape}, expected (N, 2)")
    return labels


def quadrant(labels: np.ndarray) -> np.ndarray:
    """(N,) quadrant index 0..3 of (N, 2) labels on -1..1: (valence >= 0) * 2 + (arousal >= 0)."""
    labels = np.asarray(labels)
    return (labels[:, 0] >= 0).astype(int) * 2 + (labels[:, 1] >= 0).astype(int)


def nearest_to_corners(labels: np.ndarray) -> dict[str, int]:
    """For each V/A quadrant, the index of the label closest to its corner. labels: (N, 2)."""
    return {
        name: int(np.argmin(np.square(labels - np.asarray(corner)).sum(axis=1)))
        for name, corner in QUADRANTS.items()
    }
