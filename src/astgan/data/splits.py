"""Song-level train/val/test splits.

Splits are made by song, once, before any segmenting, so no segment of a TEST song can leak into
training. Stratifying by the valence/arousal quadrant keeps DEAM's rare extremes in every split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from astgan.config import SplitConfig
from astgan.data.labels import labels_of, quadrant
from astgan.errors import DataError

SPLITS = ("train", "val", "test")


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
