"""Songs grouped by artist or album (a manifest's ``group`` column), kept together when split.

Songs of one artist share production, voice and style; with one in TRAIN and another in TEST a
model is partly graded on songs it has nearly heard (artist leakage). So every split, fold and
budget moves whole groups. A song with an empty group is a group of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.data.labels import labels_of, quadrant
from astgan.errors import DataError

_OWN = "\x00song:"  # prefix of the key of a song without a group: never equal to a group's name


def group_keys(table: pd.DataFrame) -> np.ndarray | None:
    """(N,) the group key of every song, or None when the table has no ``group`` column."""
    if "group" not in table.columns:
        return None
    groups = table["group"].fillna("").astype(str).str.strip()
    ids = table["song_id"].astype(str)
    return np.asarray([g if g else _OWN + i for g, i in zip(groups, ids)], dtype=object)


def group_name(key: str) -> str:
    """A group key as a user reads it (the group's name, or the song id of a song without one)."""
    return f"song {key[len(_OWN):]}" if key.startswith(_OWN) else key


def interleaved_order(kinds: np.ndarray, seed: int) -> np.ndarray:
    """A seeded order of items that takes the kinds in turn, in proportion to their sizes."""
    rng = np.random.default_rng(seed)
    keys = np.empty(len(kinds))
    for kind in np.unique(kinds):
        members = np.flatnonzero(kinds == kind)
        # spread each kind's members evenly over (0, 1), in a random order within the kind
        keys[rng.permutation(members)] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable")


def _groups_in_order(table: pd.DataFrame, keys: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group of every song (N,), songs per group (G,), a seeded order of the groups (G,)) where the
    order interleaves the V/A quadrants of the groups' mean labels."""
    unique, inverse = np.unique(keys.astype(str), return_inverse=True)
    sizes = np.bincount(inverse, minlength=len(unique))
    labels = labels_of(table)
    means = np.stack([np.bincount(inverse, weights=labels[:, d], minlength=len(unique)) / sizes for d in (0, 1)], 1)
    return inverse, sizes, interleaved_order(quadrant(means), seed)


def split_groups(table: pd.DataFrame, keys: np.ndarray, targets: dict[str, int], seed: int) -> np.ndarray:
    """(N,) the part of every song, whole groups to each part, parts about ``targets`` songs large.

    Groups are dealt in a seeded, quadrant-interleaved order, each to the part furthest below its
    target (relative to it; ties go to the part named first). Sizes count songs, not groups, which
    sklearn's group splitters cannot promise. Every part gets a group when there are enough groups.
    """
    inverse, sizes, order = _groups_in_order(table, keys, seed)
    if len(sizes) < len(targets):
        raise DataError(f"{len(sizes)} group(s) are too few for {len(targets)} splits ({', '.join(targets)}): "
                        "each split needs a group of its own")
    names = list(targets)
    wanted = np.asarray([max(targets[n], 1) for n in names], dtype=np.float64)
    filled = np.zeros(len(names))
    part_of_group = np.empty(len(sizes), dtype=object)
    for group in order:
        part = int(np.argmax((wanted - filled) / wanted))
        part_of_group[group] = names[part]
        filled[part] += sizes[group]
    return part_of_group[inverse]


def group_folds(table: pd.DataFrame, keys: np.ndarray, k: int, seed: int, stratify: bool) -> np.ndarray:
    """(N,) fold 0..k-1 of every song, whole groups per fold (sklearn's StratifiedGroupKFold, by V/A
    quadrant when every quadrant has at least ``k`` songs)."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(keys.astype(str)))
    if n_groups < k:
        raise DataError(f"study.folds={k}: the songs form only {n_groups} group(s); need at least one per fold")
    quadrants = quadrant(labels_of(table))
    counts = np.bincount(quadrants, minlength=4)
    strata = quadrants if stratify and counts[counts > 0].min() >= k else np.zeros(len(table), dtype=int)
    folds = np.empty(len(table), dtype=np.int64)
    splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(table)), strata, keys.astype(str))):
        folds[test] = fold
    return folds


def keep_groups(table: pd.DataFrame, keys: np.ndarray, rows: np.ndarray, n_songs: int, seed: int) -> np.ndarray:
    """The rows (of ``rows``) of whole groups, taken in one seeded order until ``n_songs`` are held.

    A prefix of one order for every ``n_songs``: the groups kept for a smaller budget are among
    those kept for a larger one."""
    inverse, sizes, order = _groups_in_order(table.iloc[rows], keys[rows], seed)
    taken = np.cumsum(sizes[order])
    n_groups = int(np.searchsorted(taken, n_songs)) + 1  # the first prefix that holds n_songs
    chosen = np.isin(inverse, order[:n_groups])
    return rows[chosen]


def check_groups_within_splits(table: pd.DataFrame) -> None:
    """Fail if a group's songs lie in more than one of train/val/test (``unused`` songs aside)."""
    keys = group_keys(table)
    if keys is None:
        return
    used = (table["split"] != "unused").to_numpy()
    per_group = pd.Series(table["split"].to_numpy()[used]).groupby(keys[used].astype(str)).nunique()
    leaked = [group_name(k) for k in per_group[per_group > 1].index]
    if leaked:
        raise DataError(f"group(s) in more than one split: {leaked[:5]}; a group's songs must share one split "
                        "(check the manifest's split column, or delete the run's songs.csv to split again)")
