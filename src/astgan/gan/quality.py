"""Is a set of synthetic segments any good? Metrics, each beside the value real data gets.

- label fidelity: a ridge probe on per-band mean and std, fitted on real TRAIN segments, predicts
  (valence, arousal) of the synthetic segments; CCC and Pearson r against the requested labels,
  beside the same probe on real VAL segments;
- realism: Frechet distance between per-band mean + std features of synthetic and TRAIN segments,
  beside real VAL vs TRAIN (the floor: what unseen real songs score);
- diversity: mean pairwise distance among synthetic segments beside that among real ones (a
  collapsed generator scores near 0);
- memorisation: each synthetic segment's distance to its nearest TRAIN segment, beside the same
  distance for real VAL segments (copies of training data would sit far below VAL's).

Distances for diversity and memorisation are Euclidean between segments average-pooled to at most
32 bands x 64 frames (:func:`pooled_vectors`), so that they compare shapes rather than noise and
stay cheap for 128 x 1024 segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from astgan.data.labels import DIMENSIONS
from astgan.evaluation.baselines import band_statistics, fit_ridge
from astgan.evaluation.metrics import ccc, pearson

POOLED_SHAPE = (32, 64)  # (bands, frames) of the pooled segments that distances compare
MAX_PAIRWISE = 512  # diversity is estimated on a random subset of at most this many segments


def pooled_vectors(specs: np.ndarray) -> np.ndarray:
    """(N, n_mels, frames) -> (N, D) float32: each segment average-pooled to at most 32 x 64, flattened."""
    specs = torch.as_tensor(np.asarray(specs, dtype=np.float32))
    if specs.ndim != 3:
        raise ValueError(f"specs have shape {tuple(specs.shape)}, expected (N, n_mels, frames)")
    target = (min(POOLED_SHAPE[0], specs.shape[1]), min(POOLED_SHAPE[1], specs.shape[2]))
    return F.adaptive_avg_pool2d(specs[:, None], target).flatten(1).numpy()


@dataclass
class SegmentSummary:
    """What the quality report reads of a set of segments.

    ``band_stats``: (N, 2 n_mels) per-band mean then std over time; ``pooled``: (N, D) from
    :func:`pooled_vectors`.
    """

    band_stats: np.ndarray
    pooled: np.ndarray

    def __len__(self) -> int:
        return len(self.band_stats)


def summarize(chunks: Iterable[np.ndarray]) -> SegmentSummary:
    """Summarise segments given as chunks of (n, n_mels, frames) arrays (a whole set never sits in memory)."""
    stats, pooled = [], []
    for chunk in chunks:
        stats.append(band_statistics(chunk))
        pooled.append(pooled_vectors(chunk))
    if not stats:
        raise ValueError("no segments to summarise")
    return SegmentSummary(np.concatenate(stats), np.concatenate(pooled))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature sets.

    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)); 0 for identical sets.
    """
    from scipy import linalg

    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"expected two (N >= 2, D) feature sets of equal D, got {a.shape} and {b.shape}")
    mean_gap = np.square(a.mean(0) - b.mean(0)).sum()
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # near-singular product: nudge both diagonals (as FID code does)
        nudge = np.eye(len(cov_a)) * 1e-6
        root = linalg.sqrtm((cov_a + nudge) @ (cov_b + nudge))
    trace = np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(np.real(root))
    return float(max(mean_gap + trace, 0.0))


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


def nearest_distances(queries: np.ndarray, reference: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(N,) Euclidean distance from each of (N, D) ``queries`` to its nearest row of (M, D) ``reference``."""
    reference_t = torch.from_numpy(np.asarray(reference, dtype=np.float32))
    out = []
    for start in range(0, len(queries), chunk):
        block = torch.from_numpy(np.asarray(queries[start:start + chunk], dtype=np.float32))
        out.append(torch.cdist(block, reference_t).min(dim=1).values)
    return torch.cat(out).numpy()


def probe_scores(predicted: np.ndarray, requested: np.ndarray) -> dict:
    """Per dimension {"ccc", "pearson"} of (N, 2) probe predictions against (N, 2) labels."""
    return {
        name: {"ccc": float(ccc(predicted[:, d], requested[:, d])), "pearson": pearson(predicted[:, d], requested[:, d])}
        for d, name in enumerate(DIMENSIONS)
    }


def quality_report(train: SegmentSummary, train_labels: np.ndarray, val: SegmentSummary, val_labels: np.ndarray,
                   synthetic: SegmentSummary, synthetic_labels: np.ndarray, matched: SegmentSummary,
                   ridge_alpha: float = 1.0, seed: int = 0) -> dict:
    """All four checks as plain data for quality.json.

    ``synthetic`` is the written set (conditions from the chosen sampler, ``synthetic_labels``);
    ``matched`` is generated at TRAIN's own label distribution with as many segments as VAL, so
    that realism compares like with like: a sampler that asks for rare labels on purpose does not
    count as unrealistic.
    """
    probe = fit_ridge(train.band_stats, train_labels, alpha=ridge_alpha)
    fd_matched = frechet_distance(matched.band_stats, train.band_stats)
    fd_val = frechet_distance(val.band_stats, train.band_stats)
    diversity_synthetic = mean_pairwise_distance(synthetic.pooled, seed=seed)
    diversity_real = mean_pairwise_distance(train.pooled, seed=seed)
    nn_synthetic = nearest_distances(synthetic.pooled, train.pooled)
    nn_val = nearest_distances(val.pooled, train.pooled)
    val_p05 = float(np.percentile(nn_val, 5))
    return {
        "n_synthetic": len(synthetic),
        "label_fidelity": {
            "synthetic": probe_scores(probe.predict(synthetic.band_stats), synthetic_labels),
            "real_val": probe_scores(probe.predict(val.band_stats), val_labels),
        },
        "realism": {
            "fd_synthetic_vs_train": fd_matched,
            "fd_val_vs_train": fd_val,
            "ratio": fd_matched / max(fd_val, 1e-12),
            "fd_written_set_vs_train": frechet_distance(synthetic.band_stats, train.band_stats),
            "n_compared": len(matched),
        },
        "diversity": {
            "synthetic": diversity_synthetic,
            "real_train": diversity_real,
            "ratio": diversity_synthetic / max(diversity_real, 1e-12),
        },
        "memorisation": {
            "synthetic_nn_median": float(np.median(nn_synthetic)),
            "val_nn_median": float(np.median(nn_val)),
            "synthetic_nn_p05": float(np.percentile(nn_synthetic, 5)),
            "val_nn_p05": val_p05,
            # about 0.05 when synthetic segments sit as far from TRAIN as unseen real songs do
            "share_closer_than_val_p05": float(np.mean(nn_synthetic < val_p05)),
        },
    }


def format_quality_table(report: dict) -> str:
    """The report as a small text table: each synthetic value beside its real reference."""
    fidelity, realism = report["label_fidelity"], report["realism"]
    diversity, memo = report["diversity"], report["memorisation"]
    rows = [("check", "synthetic", "real reference", "")]
    for name in DIMENSIONS:
        for metric in ("ccc", "pearson"):
            rows.append((f"label fidelity {name} {metric}", f"{fidelity['synthetic'][name][metric]:.3f}",
                         f"{fidelity['real_val'][name][metric]:.3f}", "probe on VAL"))
    rows.append(("realism: Frechet distance to TRAIN", f"{realism['fd_synthetic_vs_train']:.3f}",
                 f"{realism['fd_val_vs_train']:.3f}", f"VAL; ratio {realism['ratio']:.2f}"))
    rows.append(("  (written set, its own sampler)", f"{realism['fd_written_set_vs_train']:.3f}", "", ""))
    rows.append(("diversity: mean pairwise distance", f"{diversity['synthetic']:.3f}",
                 f"{diversity['real_train']:.3f}", f"TRAIN; ratio {diversity['ratio']:.2f}"))
    rows.append(("memorisation: median nearest-TRAIN", f"{memo['synthetic_nn_median']:.3f}",
                 f"{memo['val_nn_median']:.3f}", "VAL"))
    rows.append(("  share closer than VAL's 5th pct", f"{memo['share_closer_than_val_p05']:.3f}", "0.050", "VAL"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
