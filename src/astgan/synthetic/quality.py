"""Is a set of synthetic segments any good? Each number beside what real data scores in the same test.

Every comparison is like for like: the real reference has the same size, the same number of songs
and the same label distribution as the synthetic set it is compared with.

- **label fidelity**: a ridge probe on per-band mean and std, fitted on real TRAIN segments,
  predicts (valence, arousal) of segments generated at TRAIN's labels (one per TRAIN segment of
  the pool below: TRAIN's own label distribution); its CCC against the requested labels sits
  beside the same probe's CCC on real VAL segments. The judge (:mod:`astgan.synthetic.judge`) gives a
  second probe.
- **realism**: the Frechet distance, in two feature spaces (per-band mean + std; the judge's pooled
  embedding), between synthetic segments and real TRAIN segments, divided by the distance between
  two real sets of unseen-to-each-other songs (the floor). Two floors: TRAIN songs split in two
  halves of equal song count (synthetic generated at half A's labels, both compared with half B),
  and VAL against as many TRAIN songs (synthetic generated at VAL's labels, both compared with
  those TRAIN songs). Every compared set has the same number of segments. Which songs land in
  which half moves a single floor a lot (on the demo one draw gave 0.80, another 0.68, and the
  same generator's ratio 1.34 and 2.0), so both distances are averaged over seeded draws of the
  halves and of the TRAIN songs set against VAL (:mod:`astgan.synthetic.reference_sets`), and the ratio
  is that of the averages; each draw's ratio is kept beside it. One synthetic set per floor serves
  every draw: one segment generated at the label of each TRAIN segment of the pool (all TRAIN
  segments, or a random ``MAX_POOL`` of them), one at each compared VAL segment.
- **diversity**: mean pairwise distance among the synthetic segments generated at the first
  draw's half-A labels, beside the same among half A's real segments.
- **texture**: the mean frame-to-frame change of the same two sets (:func:`~astgan.data.descriptors.frame_change`). A
  generator that draws jitter or a patch grain scores well above the real value; one that smears
  onsets and notes, well below. Band statistics barely see either.
- **can a classifier tell?**: a classifier two-sample test (:mod:`astgan.synthetic.c2st`) between real
  VAL segments and as many generated at their labels, beside the same test between VAL and TRAIN
  songs; computed by the synthesize stage and passed in as ``QualityInputs.c2st``.
- **memorisation**: a synthetic segment closer to its nearest TRAIN segment than half of what the
  closest 5 % of real VAL segments get is flagged as a near-copy; the check passes while at most
  1 % of the written set is flagged. A generator far from the data passes it trivially: realism is
  the check that catches that.

Distances for diversity and memorisation are Euclidean between segments average-pooled to at most
32 bands x 64 frames (:func:`~astgan.data.descriptors.pooled_vectors`): shapes rather than noise, cheap for 128 x 1024.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from astgan.data.descriptors import band_statistics, frame_change, mean_pairwise_distance, pooled_vectors
from astgan.data.labels import DIMENSIONS
from astgan.evaluation.baselines import fit_ridge
from astgan.metrics import ccc, pearson
from astgan.synthetic.reference_sets import ReferenceSplit

# memorisation: flagged when nearer to TRAIN than this fraction of VAL's 5th-percentile distance
COPY_FRACTION = 0.5
COPY_PERCENTILE = 5.0
MAX_COPY_SHARE = 0.01  # the check passes while at most this share of the written set is flagged
# The bar this project set for a GAN good enough to test the augmentation idea (issue 12).
TARGETS = {"frechet_ratio": 1.5, "fidelity_ratio": 0.85}


@dataclass
class SegmentFeatures:
    """What the report reads of a set of segments, one row per segment.

    ``band``: (N, 2 n_mels) per-band mean then std over time; ``pooled``: (N, D) from
    :func:`~astgan.data.descriptors.pooled_vectors`; ``change``: (N,) from
    :func:`~astgan.data.descriptors.frame_change`; ``embedding``: (N, H) the
    judge's pooled embedding (None without a judge); ``predicted``: (N, 2) the judge's (valence,
    arousal) (None when not asked for).
    """

    band: np.ndarray
    pooled: np.ndarray
    change: np.ndarray
    embedding: np.ndarray | None = None
    predicted: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.band)

    def take(self, indices: np.ndarray) -> SegmentFeatures:
        """The rows ``indices`` of every array."""
        pick = lambda values: None if values is None else values[indices]  # noqa: E731
        return SegmentFeatures(self.band[indices], self.pooled[indices], self.change[indices], pick(self.embedding),
                               pick(self.predicted))


Embedder = Callable[[np.ndarray], np.ndarray]  # (n, n_mels, frames) -> (n, H)


def describe(chunks: Iterable[np.ndarray], embed: Embedder | None = None,
             predict: Embedder | None = None) -> SegmentFeatures:
    """Features of segments given as chunks of (n, n_mels, frames) arrays (a whole set never sits in memory).

    ``embed``/``predict``: the judge's embedding and label read-out, applied per chunk when given.
    """
    band, pooled, change, embedded, predicted = [], [], [], [], []
    for chunk in chunks:
        band.append(band_statistics(chunk))
        pooled.append(pooled_vectors(chunk))
        change.append(frame_change(chunk))
        if embed is not None:
            embedded.append(embed(chunk))
        if predict is not None:
            predicted.append(predict(chunk))
    if not band:
        raise ValueError("no segments to describe")
    join = lambda parts: np.concatenate(parts) if parts else None  # noqa: E731
    return SegmentFeatures(np.concatenate(band), np.concatenate(pooled), np.concatenate(change), join(embedded),
                           join(predicted))


# --------------------------------------------------------------------------- distances


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


def nearest_distances(queries: np.ndarray, reference: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(N,) Euclidean distance from each of (N, D) ``queries`` to its nearest row of (M, D) ``reference``.

    Computed exactly (no matrix-product shortcut), so that a copy sits at distance 0.
    """
    reference_t = torch.from_numpy(np.asarray(reference, dtype=np.float32))
    out = []
    for start in range(0, len(queries), chunk):
        block = torch.from_numpy(np.asarray(queries[start:start + chunk], dtype=np.float32))
        out.append(torch.cdist(block, reference_t, compute_mode="donot_use_mm_for_euclid_dist").min(dim=1).values)
    return torch.cat(out).numpy()


# --------------------------------------------------------------------------- the four checks


def probe_scores(predicted: np.ndarray, requested: np.ndarray) -> dict:
    """Per dimension {"ccc", "pearson"} of (N, 2) predictions against (N, 2) labels."""
    predicted, requested = np.asarray(predicted, np.float64), np.asarray(requested, np.float64)
    return {name: {"ccc": float(ccc(predicted[:, d], requested[:, d])),
                   "pearson": pearson(predicted[:, d], requested[:, d])}
            for d, name in enumerate(DIMENSIONS)}


def fidelity_block(synthetic_pred: np.ndarray, synthetic_labels: np.ndarray, val_pred: np.ndarray,
                   val_labels: np.ndarray, probe: str) -> dict:
    """One probe's scores on synthetic and on real VAL segments, and their per-dimension CCC ratio."""
    synthetic, real = probe_scores(synthetic_pred, synthetic_labels), probe_scores(val_pred, val_labels)
    ratio = {name: synthetic[name]["ccc"] / real[name]["ccc"] if real[name]["ccc"] > 0 else None
             for name in DIMENSIONS}
    return {"probe": probe, "synthetic": synthetic, "real_val": real, "ratio": ratio}


def frechet_block(pairs: list[tuple[float, float]]) -> dict:
    """(floor, synthetic) Frechet distances of each draw -> their means, the ratio of the means, and
    each draw's own ratio (how much the choice of real songs moves it)."""
    floors, distances = np.array(pairs).T
    floor, distance = float(floors.mean()), float(distances.mean())
    return {"floor": floor, "synthetic": distance, "ratio": distance / max(floor, 1e-12),
            "ratio_per_draw": [float(d / max(f, 1e-12)) for f, d in pairs], "draws": len(pairs)}


def realism_block(space: str, train: SegmentFeatures, val: SegmentFeatures, split: ReferenceSplit,
                  synthetic_pool: SegmentFeatures, synthetic_val: SegmentFeatures) -> dict:
    """Both floors in one feature space ("band" or "embedding"), averaged over the split's draws;
    ``ratio`` is the larger of the two.

    In each draw the real set and its synthetic stand-in (generated at the same labels) are both
    compared with the same reference: half A (real) and its stand-in against half B; VAL and its
    stand-in against as many TRAIN songs.
    """
    real_train, real_val = getattr(train, space), getattr(val, space)
    fake_train, fake_val = getattr(synthetic_pool, space), getattr(synthetic_val, space)
    halves, against_val = [], []
    for draw in split.draws:
        reference = real_train[draw.half_b]
        halves.append((frechet_distance(real_train[draw.half_a], reference),
                       frechet_distance(fake_train[split.in_pool(draw.half_a)], reference)))
        reference = real_train[draw.val_reference]
        against_val.append((frechet_distance(real_val[draw.val], reference),
                            frechet_distance(fake_val[split.in_val(draw.val)], reference)))
    halves_block, val_block = frechet_block(halves), frechet_block(against_val)
    return {"train_halves": halves_block, "val": val_block, "ratio": max(halves_block["ratio"], val_block["ratio"])}


def flag_copies(synthetic_pooled: np.ndarray, train_pooled: np.ndarray, val_pooled: np.ndarray) -> dict:
    """Near-copies of TRAIN segments among synthetic ones (pooled vectors, (N, D) each).

    Returns {"flagged": (N,) bool, "threshold", "synthetic_nearest": (N,), "val_nearest": (N_val,)}.
    """
    synthetic_nearest = nearest_distances(synthetic_pooled, train_pooled)
    val_nearest = nearest_distances(val_pooled, train_pooled)
    threshold = COPY_FRACTION * float(np.percentile(val_nearest, COPY_PERCENTILE))
    return {"flagged": synthetic_nearest < threshold, "threshold": threshold,
            "synthetic_nearest": synthetic_nearest, "val_nearest": val_nearest}


def memorisation_block(written: SegmentFeatures, train: SegmentFeatures, val: SegmentFeatures) -> dict:
    copies = flag_copies(written.pooled, train.pooled, val.pooled)
    share = float(copies["flagged"].mean())
    return {
        "synthetic_nearest_median": float(np.median(copies["synthetic_nearest"])),
        "val_nearest_median": float(np.median(copies["val_nearest"])),
        "threshold": copies["threshold"],
        "flagged_share": share,
        "val_flagged_share": float(np.mean(copies["val_nearest"] < copies["threshold"])),
        "max_share": MAX_COPY_SHARE,
        "passes": share <= MAX_COPY_SHARE,
    }


def diversity_block(synthetic: SegmentFeatures, real: SegmentFeatures, seed: int) -> dict:
    synthetic_spread = mean_pairwise_distance(synthetic.pooled, seed=seed)
    real_spread = mean_pairwise_distance(real.pooled, seed=seed)
    return {"synthetic": synthetic_spread, "real_train_half": real_spread,
            "ratio": synthetic_spread / max(real_spread, 1e-12)}


def texture_block(synthetic: SegmentFeatures, real: SegmentFeatures) -> dict:
    """Mean frame-to-frame change of synthetic segments beside real ones at the same labels."""
    synthetic_change, real_change = float(synthetic.change.mean()), float(real.change.mean())
    return {"synthetic": synthetic_change, "real_train_half": real_change,
            "ratio": synthetic_change / max(real_change, 1e-12)}


@dataclass
class QualityInputs:
    """Everything the report compares (features from :func:`describe`, labels (N, 2) on -1..1).

    ``synthetic_pool``: generated at ``train_labels[split.pool]``, one segment per pool segment,
    with the judge's predictions when there is a judge; ``synthetic_val``: generated at
    ``val_labels[split.val]``; ``written``: the synthetic set written to synthetic.npz.
    """

    train: SegmentFeatures
    train_labels: np.ndarray
    val: SegmentFeatures
    val_labels: np.ndarray
    split: ReferenceSplit
    synthetic_pool: SegmentFeatures
    synthetic_val: SegmentFeatures
    written: SegmentFeatures
    c2st: dict | None = None  # the classifier two-sample test's block (astgan.synthetic.c2st.run_c2st), when run


def quality_report(inputs: QualityInputs, ridge_alpha: float = 1.0, seed: int = 0) -> dict:
    """All checks as plain data for quality.json: each synthetic value beside its real reference."""
    x = inputs
    pool_labels = x.train_labels[x.split.pool]
    probe = fit_ridge(x.train.band, x.train_labels, alpha=ridge_alpha)
    fidelity = {"ridge": fidelity_block(probe.predict(x.synthetic_pool.band), pool_labels,
                                        probe.predict(x.val.band), x.val_labels, "ridge on per-band mean + std")}
    if x.synthetic_pool.predicted is not None and x.val.predicted is not None:
        fidelity["judge"] = fidelity_block(x.synthetic_pool.predicted, pool_labels, x.val.predicted, x.val_labels,
                                           "the judge's own (valence, arousal) head")
    realism = {"band": realism_block("band", x.train, x.val, x.split, x.synthetic_pool, x.synthetic_val)}
    if x.train.embedding is not None:
        realism["judge"] = realism_block("embedding", x.train, x.val, x.split, x.synthetic_pool, x.synthetic_val)
    first = x.split.draws[0]
    realism["compared"] = {"train_half_segments": len(first.half_a), "songs_per_train_half": x.split.songs_per_half,
                           "val_segments": len(first.val), "val_songs": x.split.val_songs,
                           "draws": len(x.split.draws)}
    synthetic_half, real_half = x.synthetic_pool.take(x.split.in_pool(first.half_a)), x.train.take(first.half_a)
    report = {
        "n_synthetic": len(x.written),
        "label_fidelity": fidelity,
        "realism": realism,
        "diversity": diversity_block(synthetic_half, real_half, seed),
        "texture": texture_block(synthetic_half, real_half),
        "memorisation": memorisation_block(x.written, x.train, x.val),
    }
    if x.c2st is not None:
        report["c2st"] = x.c2st
    report["targets"] = target_checks(report)
    return report


def target_checks(report: dict) -> dict:
    """Each target of :data:`TARGETS` with its value and whether it is met."""
    checks = {}
    for space, block in report["realism"].items():
        if space != "compared":
            ratio = block["ratio"]
            checks[f"frechet_ratio_{space}"] = {"value": ratio, "limit": f"<= {TARGETS['frechet_ratio']}",
                                                "met": ratio <= TARGETS["frechet_ratio"]}
    for name, ratio in report["label_fidelity"]["ridge"]["ratio"].items():
        checks[f"fidelity_ratio_{name}"] = {"value": ratio, "limit": f">= {TARGETS['fidelity_ratio']}",
                                            "met": ratio is not None and ratio >= TARGETS["fidelity_ratio"]}
    checks["memorisation"] = {"value": report["memorisation"]["flagged_share"], "limit": f"<= {MAX_COPY_SHARE}",
                              "met": report["memorisation"]["passes"]}
    if "c2st" in report:
        c2st = report["c2st"]
        checks["c2st"] = {"value": c2st["max_gap"], "limit": f"<= {c2st['target_gap']} above the real floor",
                          "met": c2st["met"]}
    return checks
