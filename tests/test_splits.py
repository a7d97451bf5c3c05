"""Song-level splits: disjoint, deterministic, sized by the config, quadrant-stratified."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.config import SplitConfig
from astgan.data.labels import labels_of, quadrant
from astgan.data.splits import assign_splits, check_disjoint
from astgan.errors import DataError


def song_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.clip(rng.normal(0, 0.35, size=(n, 2)), -1, 1)
    return pd.DataFrame({"song_id": [str(i) for i in range(2, n + 2)], "path": "x.mp3",
                         "valence": labels[:, 0], "arousal": labels[:, 1]})


def test_every_song_in_exactly_one_split_with_the_configured_sizes():
    table = assign_splits(song_table(200), SplitConfig(train=0.7, val=0.15, test=0.15, seed=3))
    counts = table["split"].value_counts()
    assert (counts["train"], counts["val"], counts["test"]) == (140, 30, 30)
    assert table["song_id"].is_unique
    check_disjoint(table)


def test_same_seed_same_split_other_seed_other_split():
    table = song_table(100)
    a = assign_splits(table, SplitConfig(seed=1))["split"].tolist()
    b = assign_splits(table, SplitConfig(seed=1))["split"].tolist()
    c = assign_splits(table, SplitConfig(seed=2))["split"].tolist()
    assert a == b and a != c


def test_quadrants_are_spread_over_splits():
    table = assign_splits(song_table(400), SplitConfig(seed=0))
    share = pd.crosstab(table["split"], quadrant(labels_of(table)), normalize="index")
    assert (share.max(axis=0) - share.min(axis=0)).max() < 0.05


def test_tiny_tables_still_get_three_nonempty_splits():
    table = assign_splits(song_table(5), SplitConfig())
    assert set(table["split"]) == {"train", "val", "test"}
    with pytest.raises(DataError, match="at least 3 songs"):
        assign_splits(song_table(2), SplitConfig())


def test_check_disjoint_catches_a_leak():
    table = pd.DataFrame({"song_id": ["1", "1", "2"], "split": ["train", "test", "val"]})
    with pytest.raises(DataError, match=r"more than one split: \['1'\]"):
        check_disjoint(table)
