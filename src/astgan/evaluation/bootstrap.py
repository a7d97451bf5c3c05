"""Bootstrap over test songs: how much a song-level CCC depends on which songs happened to be tested.

With a few dozen test songs a CCC moves by 0.1 between splits, so every CCC that a claim rests on
is shown with a percentile interval, and two predictors on the same songs are compared with a
*paired* bootstrap: each resample draws songs once and scores both predictors on them, so the
song-to-song difficulty that both share cancels out of the difference.
"""

from __future__ import annotations

import numpy as np

from astgan.data.labels import DIMENSIONS
from astgan.metrics import ccc

SUMMARIES = DIMENSIONS + ("mean_ccc",)  # the values each bootstrap reports on


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) song indices, each row a resample of n songs drawn with replacement."""
    if n < 2:
        raise ValueError(f"a bootstrap over songs needs at least 2 songs, got {n}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def resampled_ccc(pred: np.ndarray, true: np.ndarray, indices: np.ndarray) -> dict[str, np.ndarray]:
    """CCC per dimension and their mean on every resample.

    ``pred``: (n, 2), or (n_seeds, n, 2) for one model trained with several seeds, whose CCCs are
    averaged on each resample; ``true``: (n, 2); ``indices``: (n_boot, n). Returns
    name -> (n_boot,) for valence, arousal and mean_ccc.
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    seeds = pred if pred.ndim == 3 else pred[None]
    values = {name: ccc(seeds[:, indices, d], true[indices, d]).mean(axis=0) for d, name in enumerate(DIMENSIONS)}
    values["mean_ccc"] = np.mean([values[name] for name in DIMENSIONS], axis=0)
    return values


def percentile_interval(samples: np.ndarray, confidence: float) -> list[float]:
    """The central ``confidence`` interval [low, high] of bootstrap samples."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return [float(low), float(high)]


def two_sided_p(differences: np.ndarray) -> float:
    """Bootstrap p-value of "the difference is 0" from resampled differences (n_boot,): twice the smaller
    tail that reaches 0, counted as (k + 1) / (n_boot + 1) so that it is never exactly 0. It is below
    1 - confidence roughly where the percentile interval excludes 0; unlike the interval it can be
    corrected for the number of comparisons read together (:func:`holm`)."""
    tail = min(int(np.sum(differences <= 0)), int(np.sum(differences >= 0)))
    return float(min(1.0, 2.0 * (tail + 1) / (len(differences) + 1)))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (same order as given): each adjusted value
    can be compared with the same alpha while the chance of any false "shown" stays at most alpha."""
    order = np.argsort(p_values, kind="stable")
    m, running, adjusted = len(p_values), 0.0, [0.0] * len(p_values)
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def ccc_intervals(pred: np.ndarray, true: np.ndarray, n_boot: int, confidence: float, seed: int) -> dict:
    """Percentile bootstrap intervals of one predictor's song-level CCC.

    ``pred``: (n_songs, 2), or (n_seeds, n_songs, 2) (CCC averaged over seeds on every resample);
    ``true``: (n_songs, 2), on the same scale. Returns
    ``{"valence": [low, high], "arousal": [...], "mean_ccc": [...]}``.
    """
    samples = resampled_ccc(pred, true, bootstrap_indices(len(true), n_boot, seed))
    return {name: percentile_interval(samples[name], confidence) for name in SUMMARIES}


def paired_difference(pred_a: np.ndarray, pred_b: np.ndarray, true: np.ndarray, n_boot: int,
                      confidence: float, seed: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Paired bootstrap of CCC(A) - CCC(B) on the same songs.

    ``pred_a``, ``pred_b``: (n_songs, 2), or (n_seeds, n_songs, 2) for several training seeds of
    each (CCC averaged over seeds); ``true``: (n_songs, 2); rows aligned by song. Returns the summary
    ``{name: {"a", "b", "difference", "low", "high", "p_a_better", "p"}}`` for valence, arousal and
    mean_ccc (``difference`` is the point estimate on all songs, ``low``/``high`` its interval,
    ``p_a_better`` the share of resamples where A scores higher, ``p`` :func:`two_sided_p`) and the
    raw resampled differences
    (name -> (n_boot,)) for figures.
    """
    indices = bootstrap_indices(len(true), n_boot, seed)
    samples_a = resampled_ccc(pred_a, true, indices)
    samples_b = resampled_ccc(pred_b, true, indices)
    all_songs = np.arange(len(true))[None, :]
    point_a = resampled_ccc(pred_a, true, all_songs)
    point_b = resampled_ccc(pred_b, true, all_songs)
    summary, differences = {}, {}
    for name in SUMMARIES:
        diff = samples_a[name] - samples_b[name]
        low, high = percentile_interval(diff, confidence)
        a, b = float(point_a[name][0]), float(point_b[name][0])
        summary[name] = {
            "a": a,
            "b": b,
            "difference": a - b,
            "low": low,
            "high": high,
            "p_a_better": float(np.mean(diff > 0)),
            "p": two_sided_p(diff),
        }
        differences[name] = diff
    return summary, differences
