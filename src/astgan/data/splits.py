"""Song-level train/val/test splits, and the study's folds and real-data budgets.

Splits are made by song, once, before any segmenting, so no segment of a TEST song can leak into
training. Stratifying by the valence/arousal quadrant keeps DEAM's rare extremes in every split.
A run folder may also leave songs out (split ``unused``): the study trains on a budget, a share of
each fold's TRAIN songs, and the rest of them are used by nothing.

When the song table has a ``group`` column (artist or album, from a manifest), every split, fold
and budget moves whole groups (see :mod:`astgan.data.groups`); without one, nothing changes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from astgan.config import SplitConfig
from astgan.data.groups import (
    check_groups_within_splits,
    group_folds,
    group_keys,
    interleaved_order,
    keep_groups,
    split_groups,
)
from astgan.data.labels import labels_of, quadrant
from astgan.errors import DataError

SPLITS = ("train", "val", "test", "unused")
GIVEN_SPLITS = ("train", "val", "test")  # what a manifest's split column may hold


def _strata(table: pd.DataFrame, n_smallest_split: int, stratify: bool) -> np.ndarray | None:
    """Quadrant labels when every quadrant is large enough to appear in the smallest split."""
    if not stratify:
        return None
    quadrants = quadrant(labels_of(table))
    counts = np.bincount(quadrants, minlength=4)
    present = counts[counts > 0]
    if n_smallest_split < len(present) or present.min() < 2:
        return None
    return quadrants


def assign_splits(table: pd.DataFrame, cfg: SplitConfig) -> pd.DataFrame:
    """Return a copy of the song table with a ``split`` column (train | val | test).

    Deterministic for a given table and ``cfg.seed``. Every split gets at least one song. With a
    ``group`` column, whole groups go to each split (sizes then hold as nearly as the groups allow).
    """
    n = len(table)
    if n < 3:
        raise DataError(f"need at least 3 songs to make train/val/test splits, found {n}")
    n_test = max(1, int(round(n * cfg.test)))
    n_val = max(1, int(round(n * cfg.val)))
    if n - n_test - n_val < 1:
        raise DataError(f"{n} songs are too few for split fractions {cfg.train}/{cfg.val}/{cfg.test}")
    keys = group_keys(table)
    if keys is not None:
        targets = {"test": n_test, "val": n_val, "train": n - n_test - n_val}
        return table.assign(split=split_groups(table, keys, targets, cfg.seed))
    index = np.arange(n)
    rest, test = train_test_split(
        index, test_size=n_test, random_state=cfg.seed, stratify=_strata(table, n_test, cfg.stratify)
    )
    rest_table = table.iloc[rest]
    train, val = train_test_split(
        rest, test_size=n_val, random_state=cfg.seed + 1, stratify=_strata(rest_table, n_val, cfg.stratify)
    )
    split = np.empty(n, dtype=object)
    split[train], split[val], split[test] = "train", "val", "test"
    return table.assign(split=split)


def check_disjoint(table: pd.DataFrame) -> None:
    """Fail if a song id, or a group's songs, appear in more than one split."""
    per_song = table.groupby("song_id")["split"].nunique()
    leaked = per_song[per_song > 1].index.tolist()
    if leaked:
        raise DataError(f"songs in more than one split: {leaked[:5]}")
    check_groups_within_splits(table)


def check_given_splits(table: pd.DataFrame, source: str) -> None:
    """Fail unless a split given with the data (a manifest's ``split`` column) has TRAIN, VAL and
    TEST songs: training needs the first two, evaluation the third."""
    counts = table["split"].value_counts()
    missing = [s for s in GIVEN_SPLITS if counts.get(s, 0) == 0]
    if missing:
        raise DataError(f"{source}: its split column gives no {'/'.join(missing)} song (after dropping unusable "
                        f"songs); every one of {', '.join(GIVEN_SPLITS)} needs at least one, or leave the column out "
                        "to let astgan split")


def assign_folds(table: pd.DataFrame, k: int, seed: int, stratify: bool = True) -> np.ndarray:
    """(N,) fold index 0..k-1 of every song: k song-disjoint folds of nearly equal size.

    Stratified by V/A quadrant when every quadrant has at least ``k`` songs, so each fold holds
    DEAM's rare extremes too. Deterministic for a given table, ``k`` and ``seed``. With a ``group``
    column, whole groups go to each fold.
    """
    n = len(table)
    if not 2 <= k <= n:
        raise DataError(f"study.folds={k}: need 2 <= folds <= number of songs ({n})")
    keys = group_keys(table)
    if keys is not None:
        return group_folds(table, keys, k, seed, stratify)
    quadrants = quadrant(labels_of(table))
    counts = np.bincount(quadrants, minlength=4)
    use_strata = stratify and counts[counts > 0].min() >= k
    splitter = (StratifiedKFold(k, shuffle=True, random_state=seed) if use_strata
                else KFold(k, shuffle=True, random_state=seed))
    folds = np.empty(n, dtype=np.int64)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(n), quadrants if use_strata else None)):
        folds[test] = fold
    return folds


def fold_split(table: pd.DataFrame, folds: np.ndarray, fold: int, val_share: float, seed: int) -> pd.DataFrame:
    """The song table with a split for one fold: that fold is TEST, ``val_share`` of the rest VAL."""
    rest = np.flatnonzero(folds != fold)
    n_val = max(1, int(round(val_share * len(rest))))
    if len(rest) - n_val < 2:
        raise DataError(f"fold {fold}: {len(rest)} training songs are too few to hold out {n_val} for VAL")
    rest_table = table.iloc[rest]
    split = np.full(len(table), "test", dtype=object)
    keys = group_keys(table)
    if keys is not None:
        split[rest] = split_groups(rest_table, keys[rest], {"val": n_val, "train": len(rest) - n_val}, seed + fold)
        return table.assign(split=split)
    train, val = train_test_split(rest, test_size=n_val, random_state=seed + fold,
                                  stratify=_strata(rest_table, n_val, True))
    split[train], split[val] = "train", "val"
    return table.assign(split=split)


def budget_split(table: pd.DataFrame, budget: float, seed: int) -> pd.DataFrame:
    """Keep ``budget`` (0..1] of the TRAIN songs; the others become ``unused``. VAL and TEST stay.

    Budgets are nested: the songs kept at 25 % are among those kept at 50 %, because every budget
    takes a prefix of one seeded order. The order interleaves the V/A quadrants, so each prefix
    keeps about the quadrant mix of the whole TRAIN set. With a ``group`` column, whole groups are
    kept, in one seeded order, until the budget's songs are held.
    """
    if not 0.0 < budget <= 1.0:
        raise DataError(f"study budget {budget}: expected a share of the TRAIN songs in (0, 1]")
    train = np.flatnonzero((table["split"] == "train").to_numpy())
    n_keep = max(2, math.ceil(budget * len(train)))
    keys = group_keys(table)
    if keys is not None:
        keep = keep_groups(table, keys, train, n_keep, seed)
    else:
        keep = train[interleaved_order(quadrant(labels_of(table.iloc[train])), seed)[:n_keep]]
    split = table["split"].to_numpy(dtype=object).copy()
    split[np.setdiff1d(train, keep)] = "unused"
    return table.assign(split=split)

