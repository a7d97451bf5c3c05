"""Song-level train/val/test splits, and the study's folds and real-data budgets.

Splits are made by song, once, before any segmenting, so no segment of a TEST song can leak into
training. Stratifying by the valence/arousal quadrant keeps DEAM's rare extremes in every split.
A run folder may also leave songs out (split ``unused``): the study trains on a budget, a share of
each fold's TRAIN songs, and the rest of them are used by nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from astgan.config import SplitConfig
from astgan.data.labels import labels_of, quadrant
from astgan.errors import DataError

SPLITS = ("train", "val", "test", "unused")


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

    Deterministic for a given table and ``cfg.seed``. Every split gets at least one song.
    """
    n = len(table)
    if n < 3:
        raise DataError(f"need at least 3 songs to make train/val/test splits, found {n}")
    n_test = max(1, int(round(n * cfg.test)))
    n_val = max(1, int(round(n * cfg.val)))
    if n - n_test - n_val < 1:
        raise DataError(f"{n} songs are too few for split fractions {cfg.train}/{cfg.val}/{cfg.test}")
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
    """Fail if a song id appears in more than one split."""
    per_song = table.groupby("song_id")["split"].nunique()
    leaked = per_song[per_song > 1].index.tolist()
    if leaked:
        raise DataError(f"songs in more than one split: {leaked[:5]}")


def assign_folds(table: pd.DataFrame, k: int, seed: int, stratify: bool = True) -> np.ndarray:
    """(N,) fold index 0..k-1 of every song: k song-disjoint folds of nearly equal size.

    Stratified by V/A quadrant when every quadrant has at least ``k`` songs, so each fold holds
    DEAM's rare extremes too. Deterministic for a given table, ``k`` and ``seed``.
    """
    n = len(table)
    if not 2 <= k <= n:
        raise DataError(f"study.folds={k}: need 2 <= folds <= number of songs ({n})")
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
    train, val = train_test_split(rest, test_size=n_val, random_state=seed + fold,
                                  stratify=_strata(rest_table, n_val, True))
    split = np.full(len(table), "test", dtype=object)
    split[train], split[val] = "train", "val"
    return table.assign(split=split)


def budget_split(table: pd.DataFrame, budget: float, seed: int) -> pd.DataFrame:
    """Keep ``budget`` (0..1] of the TRAIN songs; the others become ``unused``. VAL and TEST stay.

    Budgets are nested: the songs kept at 25 % are among those kept at 50 %, because every budget
    takes a prefix of one seeded order. The order interleaves the V/A quadrants, so each prefix
    keeps about the quadrant mix of the whole TRAIN set.
    """
    if not 0.0 < budget <= 1.0:
        raise DataError(f"study budget {budget}: expected a share of the TRAIN songs in (0, 1]")
    train = np.flatnonzero((table["split"] == "train").to_numpy())
    order = _interleaved_order(quadrant(labels_of(table.iloc[train])), seed)
    keep = train[order[: max(2, math.ceil(budget * len(train)))]]
    split = table["split"].to_numpy(dtype=object).copy()
    split[np.setdiff1d(train, keep)] = "unused"
    return table.assign(split=split)


def _interleaved_order(groups: np.ndarray, seed: int) -> np.ndarray:
    """A seeded order of items that takes the groups in turn, in proportion to their sizes."""
    rng = np.random.default_rng(seed)
    keys = np.empty(len(groups))
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        # spread each group's members evenly over (0, 1), in a random order within the group
        keys[rng.permutation(members)] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable")
