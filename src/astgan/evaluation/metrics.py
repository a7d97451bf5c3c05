"""Regression metrics for valence and arousal.

One concordance correlation coefficient (CCC) serves the metric and the training loss: it is
written with operations that numpy arrays and torch tensors share, with population variances
(divide by N), as in Lin (1989) and the emotion-recognition challenges that report it.
"""

from __future__ import annotations

import numpy as np

from astgan.data.labels import DIMENSIONS

EPS = 1e-12


def ccc(pred, true):
    """Concordance correlation coefficient of two 1-D arrays or tensors (or along the last axis).

    2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), population moments. Works on numpy
    arrays and torch tensors alike (a tensor in gives a tensor out, differentiable).
    """
    pred_mean, true_mean = pred.mean(-1), true.mean(-1)
    pred_c, true_c = pred - pred_mean[..., None], true - true_mean[..., None]
    covariance = (pred_c * true_c).mean(-1)
    pred_var, true_var = (pred_c**2).mean(-1), (true_c**2).mean(-1)
    mean_gap = (pred_mean - true_mean) ** 2
    return 2.0 * covariance / (pred_var + true_var + mean_gap + EPS)


def pearson(pred: np.ndarray, true: np.ndarray) -> float:
    """Pearson r; 0 when either side is constant (no linear relation can be measured)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.std() < EPS or true.std() < EPS:
        return 0.0
    return float(np.corrcoef(pred, true)[0, 1])


def r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    total = np.square(true - true.mean()).sum()
    return float(1.0 - np.square(true - pred).sum() / max(total, EPS))


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(pred, np.float64) - np.asarray(true, np.float64)))))


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64))))


def song_means(values: np.ndarray, songs: np.ndarray) -> np.ndarray:
    """Segment values averaged per song: what "song level" means everywhere in astgan.

    ``values``: (N_segments, D); ``songs``: (N_segments,) the song (id or row) of each segment.
    Returns (N_songs, D), songs in the order they first appear.
    """
    values = np.asarray(values, dtype=np.float64)
    _, first, inverse = np.unique(np.asarray(songs), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))  # unique keys come sorted; reorder by first appearance
    index = rank[inverse.ravel()]
    sums = np.zeros((len(first), values.shape[1]), dtype=np.float64)
    np.add.at(sums, index, values)
    return sums / np.bincount(index)[:, None]


def regression_report(pred: np.ndarray, true: np.ndarray, error_scale: float = 4.0) -> dict:
    """Per-dimension CCC, Pearson r, R², RMSE and MAE, plus the mean CCC.

    ``pred`` and ``true``: (N, 2) arrays on the -1..1 scale. RMSE and MAE are multiplied by
    ``error_scale`` (4 maps -1..1 back to DEAM's 1..9 scale) so they compare with published numbers.
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"predictions have shape {pred.shape} and labels {true.shape}; expected both (N, 2)")
    report: dict = {}
    for d, name in enumerate(DIMENSIONS):
        p, t = pred[:, d], true[:, d]
        report[name] = {
            "ccc": float(ccc(p, t)),
            "pearson": pearson(p, t),
            "r2": r2(p, t),
            "rmse": rmse(p, t) * error_scale,
            "mae": mae(p, t) * error_scale,
        }
    report["mean_ccc"] = float(np.mean([report[name]["ccc"] for name in DIMENSIONS]))
    return report
