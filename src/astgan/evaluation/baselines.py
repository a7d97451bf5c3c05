"""Simple reference predictors that every model result is shown beside.

- the TRAIN-mean predictor: what a model that learned nothing scores (CCC 0);
- a ridge regression on per-band log-mel statistics (:func:`astgan.data.descriptors.band_statistics`):
  what a linear model on the spectral envelope scores. It is also the probe that judges whether
  synthetic segments carry their labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


def fit_ridge(features: np.ndarray, labels: np.ndarray, alpha: float = 1.0) -> Pipeline:
    """Standardise, then ridge-regress (N, 2) labels on (N, D) features."""
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[1] != 2 or len(labels) != len(features):
        raise ValueError(f"labels have shape {labels.shape}, expected ({len(features)}, 2)")
    return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(features, labels)


def mean_predictor(train_labels: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) predictions that repeat the TRAIN label mean."""
    return np.repeat(np.asarray(train_labels, dtype=np.float64).mean(axis=0, keepdims=True), n, axis=0)
