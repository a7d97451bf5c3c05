"""Can a classifier tell synthetic segments from real ones? A classifier two-sample test (C2ST).

Real held-out (VAL) segments are set against as many synthetic segments, each generated at the label
of one of them. Classifiers learn to tell the two sets apart, in cross-validation grouped by song (a
synthetic segment belongs to the song whose label it was drawn at, so every fold holds out whole songs
of both sets). The accuracy is the share of held-out segments told apart: 0.5 means the classifier
cannot tell, 1.0 that every segment gives itself away.

Three readable feature sets, each with a linear classifier (logistic regression on standardised
features) and a boosted one (gradient-boosted trees), plus a small CNN on the segments themselves
(:mod:`astgan.synthetic.c2st_cnn`):

- **band**: per-band mean and std over time (what the Frechet ratio in band statistics sees);
- **motion**: per-band mean absolute frame-to-frame change and autocorrelation at lags 1, 4 and 16
  frames (onsets, sustained notes, the grain of a generator's patches);
- **image**: the segment average-pooled to 16 x 16 (coarse shapes in time and frequency).

**Floor**: the same test between two real sets of different songs (VAL songs against as many TRAIN
songs, segment counts matched song by song). Real music of different songs is not identical either,
and a small set leaves a classifier some luck, so each accuracy is read against its floor. Target:
every accuracy at most :data:`TARGET_GAP` above its floor (or above 0.5 where the floor is lower:
below chance is luck). With few held-out songs the floor itself is noisy: the segments of one song
go together, so a set of 18 songs moves an accuracy by about 0.1 either way.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from astgan.data.descriptors import band_statistics

MAX_SEGMENTS = 512  # real segments per side (as many synthetic ones): a few seconds on a laptop CPU
FOLDS = 3  # grouped cross-validation folds
TARGET_GAP = 0.10  # every accuracy at most this far above its real-vs-real floor
LAGS = (1, 4, 16)  # frames; the autocorrelation lags of the motion features
IMAGE_SIZE = 16  # the coarse image is IMAGE_SIZE x IMAGE_SIZE
CLASSIFIERS = ("linear", "boosted")


def motion_features(specs: np.ndarray) -> np.ndarray:
    """(N, n_mels, frames) -> (N, (1 + len(LAGS)) n_mels) float64: per-band mean |x[t] - x[t-1]|, then
    per-band autocorrelation at each lag of :data:`LAGS` (0 for a band that does not move)."""
    specs = np.asarray(specs, dtype=np.float32)
    change = np.abs(np.diff(specs, axis=2)).mean(axis=2, dtype=np.float64)
    centred = specs - specs.mean(axis=2, keepdims=True)
    power = np.square(centred).sum(axis=2, dtype=np.float64)
    moves = power > 1e-8
    safe = np.where(moves, power, 1.0)
    lags = [np.where(moves, (centred[..., lag:] * centred[..., :-lag]).sum(axis=2, dtype=np.float64) / safe, 0.0)
            for lag in LAGS if lag < specs.shape[2]]
    return np.concatenate([change, *lags], axis=1)


def image_features(specs: np.ndarray) -> np.ndarray:
    """(N, n_mels, frames) -> (N, IMAGE_SIZE ** 2) float64: each segment average-pooled to 16 x 16."""
    x = torch.from_numpy(np.asarray(specs, dtype=np.float32)).unsqueeze(1)
    pooled = torch.nn.functional.adaptive_avg_pool2d(x, IMAGE_SIZE)
    return pooled.flatten(1).double().numpy()


FEATURE_SETS = {"band": band_statistics, "motion": motion_features, "image": image_features}


def _classifier(kind: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    # few, shallow trees: enough to catch what the linear model misses, cheap on a few hundred segments
    return HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, max_bins=64, early_stopping=False,
                                          random_state=seed)


def grouped_folds(groups: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Fold index arrays (held-out positions) over (N,) ``groups``: every group in exactly one fold,
    groups dealt at random to folds of near-equal segment counts (largest groups first)."""
    rng = np.random.default_rng(seed)
    ids, counts = np.unique(groups, return_counts=True)
    if len(ids) < folds:
        raise ValueError(f"a grouped cross-validation of {folds} folds needs at least {folds} songs, got {len(ids)}")
    order = rng.permutation(len(ids))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes, members = np.zeros(folds), [[] for _ in range(folds)]
    for i in order:
        fold = int(np.argmin(sizes))
        members[fold].append(ids[i])
        sizes[fold] += counts[i]
    return [np.flatnonzero(np.isin(groups, chosen)) for chosen in members]


def cross_validated_accuracy(features: np.ndarray, targets: np.ndarray, folds: list[np.ndarray], kind: str,
                             seed: int) -> float:
    """Share of (N, D) ``features`` whose (N,) 0/1 ``targets`` a ``kind`` classifier gets right when
    its fold is held out."""
    from threadpoolctl import threadpool_limits

    correct = 0
    # one thread: the trees' OpenMP loops spin far slower than one core when the CPU is shared
    with threadpool_limits(limits=1):
        for held_out in folds:
            train = np.setdiff1d(np.arange(len(targets)), held_out)
            model = _classifier(kind, seed).fit(features[train], targets[train])
            correct += int((model.predict(features[held_out]) == targets[held_out]).sum())
    return correct / len(targets)


def two_sample_test(first: np.ndarray, first_groups: np.ndarray, second: np.ndarray, second_groups: np.ndarray,
                    folds: int = FOLDS, seed: int = 0, cnn: bool = True) -> dict:
    """Held-out accuracy of telling (N, n_mels, frames) ``first`` from (M, n_mels, frames) ``second``.

    ``first_groups`` (N,) and ``second_groups`` (M,): the song of each segment; a group id shared by
    the two sets holds segments of both, and cross-validation keeps each group in one fold.
    Returns {feature set: {"linear": accuracy, "boosted": accuracy}, "cnn": accuracy (when asked)}.
    """
    specs = np.concatenate([first, second]).astype(np.float32, copy=False)
    targets = np.concatenate([np.zeros(len(first), np.int64), np.ones(len(second), np.int64)])
    fold_indices = grouped_folds(np.concatenate([first_groups, second_groups]), folds, seed)
    result: dict = {}
    for name, extract in FEATURE_SETS.items():
        features = extract(specs)
        result[name] = {kind: cross_validated_accuracy(features, targets, fold_indices, kind, seed)
                        for kind in CLASSIFIERS}
    if cnn:
        from astgan.synthetic.c2st_cnn import cnn_accuracy

        result["cnn"] = cnn_accuracy(specs, targets, fold_indices, seed)
    return result


def matched_reference(songs: np.ndarray, reference_songs: np.ndarray,
                      seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Song-matched real sets for the floor: (positions in ``songs``, positions in ``reference_songs``,
    the group of each reference position).

    Each song of (N,) ``songs`` is paired with its own song of (M,) ``reference_songs`` (drawn at
    random, preferring one with at least as many segments), and both contribute as many segments as
    the smaller of the two has: equal set sizes and song counts. A reference segment's group is the id
    of its partner song, so that cross-validation holds out each pair of songs together. Where the
    reference has fewer songs than ``songs`` (a study's GAN at a tenth of TRAIN: 9 TRAIN songs, 14 VAL
    songs), only as many held-out songs, drawn at random, take part in the floor.
    """
    rng = np.random.default_rng(seed)
    ids, counts = np.unique(songs, return_counts=True)
    ref_ids, ref_counts = np.unique(reference_songs, return_counts=True)
    if len(ref_ids) == 0:
        raise ValueError("the floor needs reference songs, got none")
    order = np.argsort(-counts, kind="stable")
    if len(ref_ids) < len(ids):  # a random subset of the held-out songs, still largest first
        kept = np.sort(rng.choice(len(ids), len(ref_ids), replace=False))
        order = kept[np.argsort(-counts[kept], kind="stable")]
    available = list(rng.permutation(len(ref_ids)))
    chosen, reference, groups = [], [], []
    for i in order:
        fitting = [j for j in available if ref_counts[j] >= counts[i]]
        j = fitting[0] if fitting else max(available, key=lambda k: ref_counts[k])
        available.remove(j)
        n = min(counts[i], ref_counts[j])
        chosen.append(rng.choice(np.flatnonzero(songs == ids[i]), n, replace=False))
        reference.append(rng.choice(np.flatnonzero(reference_songs == ref_ids[j]), n, replace=False))
        groups.append(np.full(n, ids[i]))
    return np.concatenate(chosen), np.concatenate(reference), np.concatenate(groups)


def accuracies(result: dict) -> dict[str, float]:
    """A :func:`two_sample_test` result flattened to {"band linear": accuracy, ..., "cnn": accuracy}."""
    flat = {}
    for name, value in result.items():
        if isinstance(value, dict):
            flat.update({f"{name} {kind}": accuracy for kind, accuracy in value.items()})
        else:
            flat[name] = value
    return flat


def c2st_block(synthetic: dict, floor: dict, segments: int, songs: int, floor_segments: int, folds: int,
               seconds: float, cpu_seconds: float | None = None) -> dict:
    """quality.json's ``c2st``: both results, each accuracy's gap above its floor, and the target."""
    synthetic_flat, floor_flat = accuracies(synthetic), accuracies(floor)
    # a floor below 0.5 is the luck of which songs were held out, not a stricter bar: read from 0.5 then
    gaps = {name: synthetic_flat[name] - max(floor_flat[name], 0.5) for name in synthetic_flat}
    worst = max(gaps, key=gaps.get)
    return {"synthetic": synthetic, "floor": floor, "gap": gaps, "max_gap": gaps[worst], "worst": worst,
            "target_gap": TARGET_GAP, "met": gaps[worst] <= TARGET_GAP, "segments_per_side": segments,
            "songs": songs, "floor_segments_per_side": floor_segments, "folds": folds, "seconds": seconds,
            "cpu_seconds": cpu_seconds}


def run_c2st(real: np.ndarray, real_songs: np.ndarray, synthetic: np.ndarray, reference,
             reference_songs: np.ndarray, folds: int = FOLDS, seed: int = 0, cnn: bool = True) -> dict:
    """The whole test as quality.json's ``c2st`` block (:func:`c2st_block`).

    ``real``: (N, n_mels, frames) held-out segments with (N,) songs; ``synthetic``: (N, n_mels, frames),
    row i generated at the label of ``real[i]``; ``reference``: real segments of other songs (TRAIN)
    for the floor, (M, n_mels, frames), or anything whose ``stack(positions)`` gives them (a
    :class:`~astgan.data.datasets.SegmentDataset`: only the segments the floor uses are read), with
    (M,) ``reference_songs``.
    """
    if len(synthetic) != len(real):
        raise ValueError(f"expected one synthetic segment per real one, got {len(synthetic)} for {len(real)}")
    started, cpu_started = time.perf_counter(), time.process_time()
    against_synthetic = two_sample_test(real, real_songs, synthetic, real_songs, folds, seed, cnn)
    picked, picked_reference, groups = matched_reference(real_songs, reference_songs, seed)
    matched = reference.stack(picked_reference) if hasattr(reference, "stack") else reference[picked_reference]
    floor = two_sample_test(real[picked], real_songs[picked], matched, groups, folds, seed, cnn)
    return c2st_block(against_synthetic, floor, len(real), len(np.unique(real_songs)), len(picked), folds,
                      time.perf_counter() - started, time.process_time() - cpu_started)


def held_out_subset(songs: np.ndarray, seed: int, limit: int = MAX_SEGMENTS) -> np.ndarray:
    """Sorted positions of at most ``limit`` segments of (N,) ``songs``, drawn at random (all when fewer)."""
    if len(songs) <= limit:
        return np.arange(len(songs))
    return np.sort(np.random.default_rng(seed).choice(len(songs), limit, replace=False))
