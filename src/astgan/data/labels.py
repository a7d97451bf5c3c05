"""The label space: valence and arousal, each dataset's own scale and the internal -1..1 scale.

Labels are kept on -1..1 everywhere inside astgan. A dataset's scale lo..hi maps onto it linearly,
2 (x - lo) / (hi - lo) - 1, and back: for DEAM's 1..9 that is (x - 5) / 4 and 4 x + 5.
A label array is always (N, 2): column 0 valence, column 1 arousal.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class LabelScale:
    """A dataset's rating scale ``lo..hi`` (both dimensions share it) and its map onto -1..1.

    Written with the scale's centre and half-width, so that DEAM's map is exactly (x - 5) / 4 and
    4 x + 5 (the same floating-point operations as always: DEAM outputs stay byte-identical).
    """

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(f"label scale {self.lo}..{self.hi}: expected two finite numbers, lo < hi")

    @property
    def centre(self) -> float:
        return (self.lo + self.hi) / 2.0

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2.0

    def to_unit(self, labels: np.ndarray) -> np.ndarray:
        """Labels on this scale -> -1..1: 2 (x - lo) / (hi - lo) - 1."""
        return (np.asarray(labels, dtype=np.float64) - self.centre) / self.half_width

    def from_unit(self, labels_unit: np.ndarray) -> np.ndarray:
        """Labels on -1..1 -> this scale: (x + 1) (hi - lo) / 2 + lo."""
        return np.asarray(labels_unit, dtype=np.float64) * self.half_width + self.centre

    def contains(self, values: pd.Series) -> pd.Series:
        """(N,) bool: which values lie on the scale, ends included."""
        return values.between(self.lo, self.hi)

    def __str__(self) -> str:
        return f"{self.lo:g}..{self.hi:g}"


DEAM_SCALE = LabelScale(*LABEL_RANGE)


def to_unit_scale(labels_1_to_9: np.ndarray) -> np.ndarray:
    """DEAM's 1..9 labels -> the internal -1..1 scale: (x - 5) / 4."""
    return DEAM_SCALE.to_unit(labels_1_to_9)


def to_deam_scale(labels_unit: np.ndarray) -> np.ndarray:
    """The internal -1..1 scale -> DEAM's 1..9 scale: 4 x + 5."""
    return DEAM_SCALE.from_unit(labels_unit)


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
