"""The classifier two-sample test: a planted fake is caught, held-out real music passes, the report says so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from astgan.synthetic.c2st import (
    LAGS,
    TARGET_GAP,
    accuracies,
    grouped_folds,
    matched_reference,
    motion_features,
    run_c2st,
)
from astgan.synthetic.quality import QualityInputs, describe, quality_report
from astgan.synthetic.quality_text import format_quality_table, quality_markdown
from astgan.synthetic.reference_sets import reference_split


@pytest.fixture(scope="module")
def real_thirds(prepared_tiny):
    """Every segment of the small demo, its songs dealt into three song-disjoint sets:
    {name: (specs (N, n_mels, frames), songs (N,))} for "held_out", "stand_in" and "reference"."""
    _, data = prepared_tiny
    parts = [data.segments(split) for split in ("train", "val", "test")]
    specs = np.concatenate([part.stack() for part in parts])
    songs = np.concatenate([part.song_ids for part in parts])
    ids = np.random.default_rng(0).permutation(np.unique(songs))
    thirds = np.array_split(ids, 3)
    return {name: (specs[np.isin(songs, chosen)], songs[np.isin(songs, chosen)])
            for name, chosen in zip(("held_out", "stand_in", "reference"), thirds)}


def _grained(specs: np.ndarray) -> np.ndarray:
    """Real segments plus a fixed 8-frame grain (the same small pattern in every segment)."""
    grain = np.random.default_rng(1).normal(0.0, 0.3, size=(specs.shape[1], 8)).astype(np.float32)
    return specs + np.tile(grain, (1, specs.shape[2] // 8 + 1))[:, :specs.shape[2]]


def test_motion_features_read_change_and_autocorrelation():
    t = np.arange(64, dtype=np.float32)
    slow, flat = np.sin(2 * np.pi * t / 64), np.zeros(64, np.float32)
    features = motion_features(np.stack([slow, flat])[None])  # one segment, two bands
    assert features.shape == (1, 2 * (1 + len(LAGS)))
    change, lag1 = features[0, :2], features[0, 2:4]
    assert change[0] > 0 and change[1] == 0
    assert lag1[0] > 0.9 and lag1[1] == 0  # a slow sine follows itself; a flat band has no correlation


def test_grouped_folds_hold_out_whole_songs_of_both_sets():
    groups = np.array([0, 0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3])  # the second set shares the first's songs
    folds = grouped_folds(groups, 3, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    for held_out in folds:
        assert not set(groups[held_out]) & set(np.delete(groups, held_out))
    with pytest.raises(ValueError, match="at least 5 songs"):
        grouped_folds(groups, 5, seed=0)


def test_the_floor_matches_each_song_with_another_of_as_many_segments():
    songs = np.array([1, 1, 1, 2, 2, 3])
    reference_songs = np.array([7, 7, 7, 7, 8, 8, 9, 9, 9, 5])
    picked, picked_reference, groups = matched_reference(songs, reference_songs, seed=0)
    assert len(picked) == len(picked_reference) == len(groups) == len(songs)
    assert sorted(picked.tolist()) == list(range(len(songs)))
    assert set(groups.tolist()) == {1, 2, 3}
    for song in (1, 2, 3):  # each held-out song's partner is one reference song with as many segments
        partners = set(reference_songs[picked_reference[groups == song]].tolist())
        assert len(partners) == 1 and (groups == song).sum() == (songs == song).sum()


def test_the_floor_pairs_as_many_held_out_songs_as_the_reference_has():
    songs = np.array([1, 1, 2, 2, 3, 3, 4])  # four held-out songs, two reference songs (a small budget)
    reference_songs = np.array([7, 7, 8, 8, 8])
    picked, picked_reference, groups = matched_reference(songs, reference_songs, seed=0)
    assert len(set(groups.tolist())) == 2 and len(picked) == len(picked_reference) == len(groups)
    assert set(reference_songs[picked_reference].tolist()) == {7, 8}
    assert np.array_equal(songs[picked], groups)  # each picked segment is of its own group's song
    with pytest.raises(ValueError, match="reference songs"):
        matched_reference(songs, np.array([], dtype=np.int64), seed=0)


@pytest.fixture(scope="module")
def planted(real_thirds):
    """The C2ST of held-out real segments against themselves with a fixed 8-frame grain."""
    real, songs = real_thirds["held_out"]
    return run_c2st(real, songs, _grained(real), *real_thirds["reference"], seed=0)


def test_a_planted_grain_is_caught_far_above_the_floor(planted):
    assert planted["synthetic"]["motion"]["linear"] >= 0.95
    assert planted["synthetic"]["cnn"] >= 0.9
    assert max(planted["synthetic"]["band"].values()) >= 0.9
    assert planted["max_gap"] > 0.3 and not planted["met"]
    assert planted["gap"]["cnn"] == pytest.approx(planted["synthetic"]["cnn"] - max(planted["floor"]["cnn"], 0.5))


def test_held_out_real_music_passes(real_thirds):
    """New segments of the held-out songs stand in for a perfect generator (one that draws new music at
    each song's label): each accuracy stays within the target of its floor. Segments overlap by half
    their length, so every fourth segment of a song is real and the one two places on its stand-in:
    none shares a frame with another, and both sample the whole song (a song's first half against its
    second is told apart by the motion features). (A stand-in drawn from a few other songs is caught:
    a generator of a few modes is not real music.)"""
    specs, songs = real_thirds["held_out"]
    real, stand_in = [], []
    for song in np.unique(songs):
        rows = np.flatnonzero(songs == song)[1:-1]  # not a song's first or last segment (its fade in or out)
        n = len(rows[2::4])
        real.append(rows[0::4][:n])
        stand_in.append(rows[2::4])
    real, stand_in = np.concatenate(real), np.concatenate(stand_in)
    result = run_c2st(specs[real], songs[real], specs[stand_in], *real_thirds["reference"], seed=0)
    assert result["met"], json.dumps(result["gap"])
    assert len(result["gap"]) == 7 and result["max_gap"] <= TARGET_GAP
    assert all(accuracy < 0.75 for accuracy in accuracies(result["synthetic"]).values())
    json.dumps(result)  # plain data for quality.json


def _report(real_thirds, c2st: dict) -> dict:
    """A quality report on real segments standing in for synthetic ones, with the given C2ST block."""
    train, train_songs = real_thirds["reference"]
    val, val_songs = real_thirds["held_out"]
    labels = lambda n: np.zeros((n, 2)) + np.linspace(-0.5, 0.5, n)[:, None]  # noqa: E731
    split = reference_split(train_songs, val_songs, seed=0)
    stand_in = real_thirds["stand_in"][0]
    inputs = QualityInputs(train=describe([train]), train_labels=labels(len(train)), val=describe([val]),
                           val_labels=labels(len(val)), split=split,
                           synthetic_pool=describe([np.resize(stand_in, (len(split.pool), *stand_in.shape[1:]))]),
                           synthetic_val=describe([np.resize(stand_in, (len(split.val), *stand_in.shape[1:]))]),
                           written=describe([stand_in]), c2st=c2st)
    return quality_report(inputs)


def test_the_report_carries_the_c2st_and_withholds_every_target_is_met_when_it_fails(real_thirds, planted):
    report = _report(real_thirds, planted)
    assert report["c2st"] is planted and report["targets"]["c2st"]["met"] is False
    for name, check in report["targets"].items():  # every other target met: only the C2ST withholds the verdict
        check["met"] = check["met"] if name == "c2st" else True
    text = quality_markdown(report)
    assert "Every target is met" not in text and "Targets missed: c2st" in text
    assert "## Can a classifier tell?" in text and "small CNN on the segments" in text
    assert "classifier two-sample test" in format_quality_table(report)
    report["targets"]["c2st"]["met"] = True
    assert "Every target is met." in quality_markdown(report)
    without = _report(real_thirds, None)
    assert "c2st" not in without["targets"]
    for check in without["targets"].values():
        check["met"] = True
    assert "Every target is met." not in quality_markdown(without)
    assert "classifier two-sample test was not run" in quality_markdown(without)
