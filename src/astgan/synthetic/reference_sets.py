"""The real sets a synthetic set is compared with: seeded draws of song-disjoint TRAIN and VAL sets.

A Frechet floor is the distance between two real sets of songs unseen to each other, and which songs
land in which set moves it a lot, so the quality report (:mod:`astgan.synthetic.quality`) averages over
:data:`REFERENCE_DRAWS` draws. Everything here is indices: (N,) song ids in, segment indices out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_COMPARED = 2048  # segments per side of a Frechet comparison
MAX_POOL = 2 * MAX_COMPARED  # TRAIN segments the synthetic stand-ins for TRAIN sets are generated at
REFERENCE_DRAWS = 5  # seeded draws of the real reference sets that the Frechet distances are averaged over


@dataclass
class ReferenceDraw:
    """One draw of song-disjoint real sets, as indices into the TRAIN / VAL segments.

    ``half_a`` and ``half_b``: pool segments of two disjoint halves of the TRAIN songs (equal song
    counts), subsampled to the same number of segments. ``val``: VAL segments, and
    ``val_reference``: pool segments of as many TRAIN songs as VAL has, both subsampled to the
    same number of segments.
    """

    half_a: np.ndarray
    half_b: np.ndarray
    val: np.ndarray
    val_reference: np.ndarray


@dataclass
class ReferenceSplit:
    """The real comparison sets of the report: :data:`REFERENCE_DRAWS` draws over fixed pools.

    ``pool``: sorted TRAIN segment indices (all, or a random :data:`MAX_POOL`) that every draw's
    TRAIN sets come from, and at whose labels the TRAIN stand-in set is generated; ``val``: sorted
    VAL segment indices (at most :data:`MAX_COMPARED`) likewise for VAL.
    """

    pool: np.ndarray
    val: np.ndarray
    draws: list[ReferenceDraw]
    songs_per_half: int
    val_songs: int

    def in_pool(self, train_indices: np.ndarray) -> np.ndarray:
        """Positions in ``pool`` (and in the set generated at its labels) of TRAIN segment indices."""
        return np.searchsorted(self.pool, train_indices)

    def in_val(self, val_indices: np.ndarray) -> np.ndarray:
        """Positions in ``val`` (and in the set generated at its labels) of VAL segment indices."""
        return np.searchsorted(self.val, val_indices)


def _segments_of(pool: np.ndarray, pool_songs: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The pool's segment indices whose song is one of ``chosen`` (``pool_songs``: each one's song)."""
    return pool[np.isin(pool_songs, chosen)]


def _subsample(indices: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(indices, n, replace=False))


def _draw(pool: np.ndarray, pool_songs: np.ndarray, train_ids: np.ndarray, val: np.ndarray, n_val_songs: int,
          rng: np.random.Generator) -> ReferenceDraw:
    """Halves of ``train_ids`` (shuffled) and ``n_val_songs`` TRAIN songs to set against ``val``."""
    train_ids = rng.permutation(train_ids)
    half = len(train_ids) // 2
    a = _segments_of(pool, pool_songs, train_ids[:half])
    b = _segments_of(pool, pool_songs, train_ids[half:2 * half])
    n_half = min(len(a), len(b), MAX_COMPARED)
    reference = _segments_of(pool, pool_songs, rng.permutation(train_ids)[:n_val_songs])
    n_val = min(len(val), len(reference))
    return ReferenceDraw(_subsample(a, n_half, rng), _subsample(b, n_half, rng), _subsample(val, n_val, rng),
                         _subsample(reference, n_val, rng))


def reference_split(train_songs: np.ndarray, val_songs: np.ndarray, seed: int,
                    draws: int = REFERENCE_DRAWS) -> ReferenceSplit:
    """Draw the real comparison sets (see :class:`ReferenceSplit`); seeded.

    ``train_songs``: (N_train,) song id of each TRAIN segment; ``val_songs``: (N_val,) likewise.
    """
    rng = np.random.default_rng(seed)
    train_ids = np.unique(train_songs)
    if len(train_ids) < 2:
        raise ValueError(f"the Frechet floors need at least 2 TRAIN songs, got {len(train_ids)}")
    pool = np.arange(len(train_songs))
    if len(pool) > MAX_POOL:
        pool = _subsample(pool, MAX_POOL, rng)
    val = np.arange(len(val_songs))
    if len(val) > MAX_COMPARED:
        val = _subsample(val, MAX_COMPARED, rng)
    n_val_songs = len(np.unique(val_songs))
    chosen = [_draw(pool, train_songs[pool], train_ids, val, n_val_songs, rng) for _ in range(draws)]
    return ReferenceSplit(pool, val, chosen, int(len(train_ids) // 2), int(n_val_songs))
