"""Where on the label plane an arm helps: the study's comparisons by tercile of label rarity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.study.figures import plot_study_regions
from astgan.study.regions import (
    CONTRAST,
    label_distance,
    region_effects,
    regions_markdown,
    spread_matched,
    terciles,
)

N_SONGS = 90


def predictions_table(seed: int = 0) -> pd.DataFrame:
    """A predictions.csv for two budgets: ``real`` shrinks every prediction halfway to the mean label;
    ``gan`` is the same on the songs nearest the mean and accurate on the farthest third; ``control``
    equals ``real``."""
    rng = np.random.default_rng(seed)
    true = np.clip(rng.normal(5.0, 1.3, size=(N_SONGS, 2)), 1, 9)
    noise = rng.normal(0, 0.2, size=true.shape)
    shrunk = true.mean(axis=0) + 0.5 * (true - true.mean(axis=0)) + noise
    edge = terciles(label_distance(true))[0] == 2
    better = np.where(edge[:, None], true + noise, shrunk)
    rows = []
    for budget in (0.5, 1.0):
        for arm, pred in (("real", shrunk), ("gan", better), ("control", shrunk)):
            for song, (t, p) in enumerate(zip(true, pred)):
                rows.append([1, budget, arm, str(1000 + song), *t, *p])
    return pd.DataFrame(rows, columns=["fold", "budget", "arm", "song_id", "valence_true", "arousal_true",
                                       "valence_pred", "arousal_pred"])


def test_label_distance_follows_the_label_cloud():
    labels = np.random.default_rng(1).normal(size=(50, 2))
    stretched = labels * [10.0, 0.1] + [3.0, -2.0]  # another scale and origin per dimension
    assert np.allclose(label_distance(labels), label_distance(stretched))
    sheared = labels @ np.array([[1.0, 0.8], [0.0, 0.6]]) + 5.0  # correlated, as valence and arousal are
    assert np.allclose(label_distance(labels), label_distance(sheared))
    # on correlated labels a song off the diagonal is farther out than one as far along it, per dimension
    correlated = np.random.default_rng(2).multivariate_normal([5, 5], [[1, 0.6], [0.6, 1]], size=400)
    along, across = np.array([[6.5, 6.5]]), np.array([[6.5, 3.5]])
    distance = label_distance(np.vstack([correlated, along, across]))
    assert distance[-1] > 1.5 * distance[-2]
    line = np.column_stack([np.arange(10.0), np.arange(10.0)])  # no spread across the line: still finite
    assert np.isfinite(label_distance(line)).all() and label_distance(line)[0] > label_distance(line)[5]
    group, cuts = terciles(label_distance(labels))
    assert sorted(np.bincount(group).tolist()) == [16, 17, 17]  # thirds, as even as 50 songs allow
    assert cuts[0] < cuts[1] and label_distance(labels)[group == 2].min() > cuts[1]


def test_a_gain_on_the_edge_songs_is_found_there_and_nowhere_else():
    regions = region_effects(predictions_table(), n_boot=500, confidence=0.95, seed=0)
    assert set(regions) == {"0.5", "1"}
    entry = regions["0.5"]
    assert entry["n_songs"] == {"all": 90, "centre": 30, "middle": 30, "edge": 30}
    gan = entry["comparisons"]["gan - real"]
    assert gan["edge"]["shown"] and gan["edge"]["low"] > 0
    assert gan["centre"]["difference"] == 0 and not gan["centre"]["shown"]
    assert gan[CONTRAST]["shown"] and gan[CONTRAST]["difference"] == pytest.approx(gan["edge"]["difference"])
    control = entry["comparisons"]["control - real"]
    assert not any(effect["shown"] for effect in control.values())
    assert entry["mean_error"]["gan"]["edge"] < entry["mean_error"]["real"]["edge"]
    assert entry["spread"]["gan"] > entry["spread"]["real"] == pytest.approx(entry["spread"]["control"])
    # seeded: the same numbers again
    assert region_effects(predictions_table(), n_boot=500, confidence=0.95, seed=0) == regions


def test_the_section_and_figure(tmp_path):
    regions = region_effects(predictions_table(), n_boot=200, confidence=0.9, seed=0)
    text = "\n".join(regions_markdown(regions, 0.9))
    rows = [line for line in text.splitlines() if line.startswith("| 50%") or line.startswith("| 100%")]
    # 3 comparisons per budget, the spread table's rows, then the 3 comparisons again at equal spread
    assert len(rows) == 2 * 3 + 2 + 2 * 3
    assert "at equal spread" in text and "edge (30 songs)" in text and " *" in text and "90% paired-bootstrap" in text
    path = plot_study_regions(regions, tmp_path / "study_regions.png", 0.9)
    assert path.stat().st_size > 10_000


def test_spread_matching_keeps_the_mean_and_takes_the_target_spread():
    pred = np.random.default_rng(2).normal([5.0, 4.0], [0.5, 1.5], size=(40, 2))
    matched = spread_matched(pred, np.array([1.0, 0.75]))
    assert np.allclose(matched.mean(axis=0), pred.mean(axis=0))
    assert np.allclose(matched.std(axis=0), [1.0, 0.75])
    constant = np.full((5, 2), 3.0)  # no spread to stretch: left as it is
    assert np.array_equal(spread_matched(constant, np.array([1.0, 1.0])), constant)


def test_an_arm_that_only_shrinks_less_gains_nothing_at_equal_spread():
    """``gan`` is ``real`` stretched about its mean: it gains at the edge and loses at the centre, and at
    equal spread every difference is 0; an arm that is truly better at the edge keeps its gain there."""
    table = predictions_table()
    real = table["arm"] == "real"
    wide = table[real].copy()
    for column in ("valence_pred", "arousal_pred"):
        values = wide[column] - wide.groupby("budget")[column].transform("mean")
        wide[column] = wide.groupby("budget")[column].transform("mean") + 1.8 * values
    table = pd.concat([table[table["arm"] != "gan"], wide.assign(arm="wide")])
    regions = region_effects(table, n_boot=300, confidence=0.95, seed=0, compared=(("wide", "real"),))
    raw, matched = regions["0.5"]["comparisons"]["wide - real"], regions["0.5"]["matched"]["wide - real"]
    assert raw["edge"]["shown"] and raw["edge"]["difference"] > 0 and raw["centre"]["difference"] < 0
    assert raw[CONTRAST]["shown"]
    for effect in matched.values():
        assert effect["difference"] == pytest.approx(0.0, abs=1e-9) and not effect["shown"]

    truly = region_effects(predictions_table(), n_boot=300, confidence=0.95, seed=0)["0.5"]["matched"]["gan - real"]
    assert truly["edge"]["shown"] and truly["edge"]["difference"] > 0
