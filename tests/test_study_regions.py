"""Where on the label plane an arm helps: the study's comparisons by tercile of label rarity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.evaluation.figures import plot_study_regions
from astgan.evaluation.study_regions import (
    CONTRAST,
    label_distance,
    region_effects,
    regions_markdown,
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


def test_label_distance_is_in_standard_deviations_per_dimension():
    labels = np.random.default_rng(1).normal(size=(50, 2))
    stretched = labels * [10.0, 0.1] + [3.0, -2.0]  # another scale and origin per dimension
    assert np.allclose(label_distance(labels), label_distance(stretched))
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
    assert len(rows) == 2 * 3 + 2  # 3 comparisons per budget, then the spread table's rows
    assert "edge (30 songs)" in text and " *" in text and "90% paired-bootstrap" in text
    path = plot_study_regions(regions, tmp_path / "study_regions.png", 0.9)
    assert path.stat().st_size > 10_000
