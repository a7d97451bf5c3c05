"""Group-aware splits, folds and budgets: an artist's (or album's) songs never straddle TRAIN and
TEST, in a run's split, in the study's folds, or in its budgets; without groups nothing changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.config import SplitConfig
from astgan.data.splits import (
    assign_folds,
    assign_splits,
    budget_split,
    check_disjoint,
    check_given_splits,
    fold_split,
)
from astgan.errors import DataError
from test_splits import song_table


def grouped_table(n_groups: int = 30, seed: int = 0, ungrouped: int = 0) -> pd.DataFrame:
    """Songs of ``n_groups`` artists with 1..8 songs each (labels shared by an artist, plus noise),
    and ``ungrouped`` songs with an empty group."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        centre = rng.normal(0, 0.4, 2)
        for s in range(int(rng.integers(1, 9))):
            v, a = np.clip(centre + rng.normal(0, 0.15, 2), -1, 1)
            rows.append((f"g{g}s{s}", f"artist {g}", v, a))
    rows += [(f"solo{i}", "", *np.clip(rng.normal(0, 0.4, 2), -1, 1)) for i in range(ungrouped)]
    table = pd.DataFrame(rows, columns=["song_id", "group", "valence", "arousal"])
    return table.assign(path="x.mp3")


def splits_per_group(table: pd.DataFrame) -> pd.Series:
    named = table[table["group"] != ""]
    return named.groupby("group")["split"].nunique()


def test_whole_groups_per_split_sizes_near_the_fractions_and_deterministic():
    table = grouped_table(40, ungrouped=10)
    cfg = SplitConfig(train=0.7, val=0.15, test=0.15, seed=3)
    split = assign_splits(table, cfg)
    assert (splits_per_group(split) == 1).all()
    shares = split["split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.7) < 0.06 and abs(shares["test"] - 0.15) < 0.06
    assert split["split"].tolist() == assign_splits(table, cfg)["split"].tolist()
    assert split["split"].tolist() != assign_splits(table, SplitConfig(seed=4))["split"].tolist()
    check_disjoint(split)


def test_empty_groups_are_groups_of_their_own_and_too_few_groups_is_an_error():
    solo = grouped_table(0, ungrouped=12)
    assert set(assign_splits(solo, SplitConfig())["split"]) == {"train", "val", "test"}
    two_artists = grouped_table(2, seed=1)
    with pytest.raises(DataError, match="2 group.* too few for 3 splits"):
        assign_splits(two_artists, SplitConfig())


def test_a_group_in_two_splits_is_caught():
    table = pd.DataFrame({"song_id": ["1", "2", "3", "4"], "group": ["A", "A", "", ""],
                          "split": ["train", "test", "train", "test"]})
    with pytest.raises(DataError, match=r"group\(s\) in more than one split: \['A'\]"):
        check_disjoint(table)
    check_disjoint(table.assign(split=["train", "unused", "train", "test"]))  # unused songs do not count


def test_a_given_split_needs_train_val_and_test():
    table = pd.DataFrame({"song_id": ["1", "2", "3"], "split": ["train", "train", "test"]})
    with pytest.raises(DataError, match="m.csv: its split column gives no val song"):
        check_given_splits(table, "m.csv")
    check_given_splits(table.assign(split=["train", "val", "test"]), "m.csv")


def test_folds_and_each_cells_split_and_budgets_move_whole_groups():
    table = grouped_table(36, seed=2, ungrouped=6)
    folds = assign_folds(table, 4, seed=0)
    assert (table.assign(fold=folds).groupby("group")["fold"].nunique().drop("") == 1).all()
    assert np.array_equal(folds, assign_folds(table, 4, seed=0))
    assert 0.15 < np.bincount(folds).min() / len(table)
    for fold in range(4):
        cell = fold_split(table, folds, fold, val_share=0.15, seed=0)
        assert (cell["split"] == "test").to_numpy().tolist() == (folds == fold).tolist()
        assert (splits_per_group(cell) == 1).all()
        kept = {}
        for budget in (0.25, 0.5, 1.0):
            part = budget_split(cell, budget, seed=1)
            assert (splits_per_group(part) == 1).all()  # no group half used, half not
            kept[budget] = set(part.loc[part["split"] == "train", "song_id"])
            check_disjoint(part)
        n_train = (cell["split"] == "train").sum()
        assert kept[0.25] <= kept[0.5] <= kept[1.0] and len(kept[1.0]) == n_train
        assert len(kept[0.25]) >= np.ceil(0.25 * n_train)


def test_too_few_groups_for_the_folds():
    with pytest.raises(DataError, match="study.folds=5: the songs form only 3 group"):
        assign_folds(grouped_table(3, seed=5), 5, seed=0)


def test_without_a_group_column_splits_folds_and_budgets_are_as_before():
    """The split by song, from before groups existed (values recorded with that code): DEAM runs
    and studies keep their splits."""
    table = song_table(20, seed=4)
    letters = lambda frame: "".join(s[1] for s in frame["split"])  # noqa: E731  (tRain, vAl, tEst, uNused)
    assert letters(assign_splits(table, SplitConfig(seed=0))) == "reraraarrrrrrrrrrree"
    folds = assign_folds(table, 3, seed=0)
    assert "".join(map(str, folds)) == "22110011201100220012"
    assert letters(budget_split(fold_split(table, folds, 1, 0.2, 0), 0.5, 1)) == "rneeaaeeaneennrrnrer"


def test_every_study_cell_keeps_each_artist_in_one_split(tmp_path):
    from astgan.config import Config
    from astgan.study.plan import Cell, write_cell_splits

    table = grouped_table(30, seed=7, ungrouped=4)
    cfg = Config.from_dict({"study": {"folds": 3, "budgets": [0.5, 1.0]}, "run": {"dir": str(tmp_path / "run")}})
    cells = [Cell(fold, budget) for fold in range(3) for budget in (0.5, 1.0)]
    write_cell_splits(cfg, table, cells)
    group_of = dict(zip(table["song_id"], table["group"]))
    written = sorted(cfg.paths.study_dir.rglob("songs.csv"))
    assert len(written) == 3 * 2 * 3  # cells x arms
    for path in written:
        cell = pd.read_csv(path, dtype={"song_id": str}).assign(group=lambda t: t["song_id"].map(group_of))
        assert (splits_per_group(cell) == 1).all(), path  # unused included: budgets leave out whole artists
