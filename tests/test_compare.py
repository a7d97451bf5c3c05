"""Comparing two evaluated runs: paired bootstrap over shared TEST songs, refusal of other splits.

The runs here are folders holding ``eval/predictions.csv`` written by the evaluate stage's own
writer, with predictions of known quality, so the expected answers are known.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from astgan.errors import DataError, MissingArtifactError
from astgan.evaluation.bootstrap import ccc_intervals, holm, paired_difference, two_sided_p
from astgan.evaluation.compare import compare_runs, compare_seeded_runs, comparison_table
from astgan.evaluation.evaluate import predictions_frame
from astgan.metrics import ccc

N_SONGS = 40


def write_run(run_dir, song_ids, true, pred, synthetic_ratio=None):
    (run_dir / "eval").mkdir(parents=True)
    table = predictions_frame(song_ids, true, pred)
    table.to_csv(run_dir / "eval" / "predictions.csv", index=False, float_format="%.4f")
    if synthetic_ratio is not None:
        (run_dir / "config.yaml").write_text(f"ast:\n  synthetic_ratio: {synthetic_ratio}\n")
    return run_dir


@pytest.fixture
def songs():
    rng = np.random.default_rng(0)
    ids = [str(i) for i in range(2, 2 + N_SONGS)]
    true = rng.uniform(-0.6, 0.6, size=(N_SONGS, 2))
    good = np.clip(true + rng.normal(scale=0.08, size=true.shape), -1, 1)
    poor = np.clip(0.4 * true + rng.normal(scale=0.3, size=true.shape), -1, 1)
    return ids, true, good, poor


def test_better_run_wins_with_an_interval_around_the_estimate(songs, tmp_path):
    ids, true, good, poor = songs
    a = write_run(tmp_path / "augmented", ids, true, good, synthetic_ratio=0.5)
    b = write_run(tmp_path / "real-only", ids, true, poor, synthetic_ratio=0.0)
    result = compare_runs(a, b, n_boot=500, confidence=0.95, seed=0)
    assert result["n_test_songs"] == N_SONGS
    assert result["run_a"]["synthetic_ratio"] == 0.5 and result["run_b"]["synthetic_ratio"] == 0.0
    for d, name in enumerate(("valence", "arousal")):
        s = result["dimensions"][name]
        assert s["a"] == pytest.approx(ccc(good[:, d], true[:, d]), abs=1e-3)  # CSV keeps 4 decimals
        assert s["b"] == pytest.approx(ccc(poor[:, d], true[:, d]), abs=1e-3)
    for name in ("valence", "arousal", "mean_ccc"):
        s = result["dimensions"][name]
        assert s["difference"] == pytest.approx(s["a"] - s["b"])
        assert 0.0 < s["low"] <= s["difference"] <= s["high"]
        assert s["p_a_better"] > 0.95
    # and the other way round: the same interval, mirrored
    reverse = compare_runs(b, a, n_boot=500, confidence=0.95, seed=0, write=False)["dimensions"]["mean_ccc"]
    forward = result["dimensions"]["mean_ccc"]
    assert reverse["difference"] == pytest.approx(-forward["difference"])
    assert reverse["low"] == pytest.approx(-forward["high"]) and reverse["high"] == pytest.approx(-forward["low"])


def test_outputs_are_written_in_run_a(songs, tmp_path):
    ids, true, good, poor = songs
    a = write_run(tmp_path / "a", ids, true, good)
    b = write_run(tmp_path / "b", ids, true, poor)
    result = compare_runs(a, b, n_boot=200, confidence=0.9, seed=1)
    assert json.loads((a / "eval" / "compare.json").read_text()) == json.loads(json.dumps(result))
    text = (a / "eval" / "compare.md").read_text()
    assert "90% interval" in text and str(a) in text and str(b) in text
    assert "the interval excludes 0" in text
    assert (a / "eval" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert not (b / "eval" / "compare.json").exists()
    table = comparison_table(result)
    assert table.count("\n") == 4  # header, rule, valence, arousal, mean


def test_identical_runs_differ_by_zero(songs, tmp_path):
    ids, true, good, _ = songs
    a = write_run(tmp_path / "a", ids, true, good)
    b = write_run(tmp_path / "b", ids, true, good)
    s = compare_runs(a, b, n_boot=100, seed=0, write=False)["dimensions"]["mean_ccc"]
    assert s["difference"] == 0.0 and s["low"] == 0.0 and s["high"] == 0.0 and s["p_a_better"] == 0.0
    assert s["p"] == 1.0  # no evidence of any difference


def test_song_order_does_not_matter(songs, tmp_path):
    ids, true, good, poor = songs
    order = np.random.default_rng(3).permutation(N_SONGS)
    a = write_run(tmp_path / "a", ids, true, good)
    b = write_run(tmp_path / "b", ids, true, poor)
    b_shuffled = write_run(tmp_path / "b2", [ids[i] for i in order], true[order], poor[order])
    plain = compare_runs(a, b, n_boot=100, seed=0, write=False)["dimensions"]
    shuffled = compare_runs(a, b_shuffled, n_boot=100, seed=0, write=False)["dimensions"]
    assert plain == shuffled


def test_refuses_runs_tested_on_other_songs(songs, tmp_path):
    ids, true, good, poor = songs
    a = write_run(tmp_path / "a", ids, true, good)
    other_ids = ids[:-2] + ["900", "901"]
    b = write_run(tmp_path / "b", other_ids, true, poor)
    with pytest.raises(DataError) as info:
        compare_runs(a, b, write=False)
    message = str(info.value)
    assert "different songs" in message and "40 TEST songs" in message and "38 shared" in message
    assert "['40', '41']" in message and "['900', '901']" in message

    fewer = write_run(tmp_path / "c", ids[:30], true[:30], poor[:30])
    with pytest.raises(DataError, match="30"):
        compare_runs(a, fewer, write=False)


def test_refuses_runs_with_other_labels(songs, tmp_path):
    ids, true, good, poor = songs
    a = write_run(tmp_path / "a", ids, true, good)
    relabelled = true.copy()
    relabelled[5, 1] += 0.2
    b = write_run(tmp_path / "b", ids, relabelled, poor)
    with pytest.raises(DataError, match="song 7 different arousal labels"):
        compare_runs(a, b, write=False)


def test_missing_predictions_name_the_command(songs, tmp_path):
    ids, true, good, _ = songs
    a = write_run(tmp_path / "a", ids, true, good)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config.yaml").write_text("ast: {}\n")
    with pytest.raises(MissingArtifactError, match=r"astgan evaluate -c .*b/config.yaml"):
        compare_runs(a, tmp_path / "b")


def test_bootstrap_intervals_on_known_data():
    rng = np.random.default_rng(5)
    true = rng.normal(size=(60, 2))
    pred = true + rng.normal(scale=0.5, size=true.shape)
    intervals = ccc_intervals(pred, true, n_boot=400, confidence=0.95, seed=0)
    wider = ccc_intervals(pred, true, n_boot=400, confidence=0.99, seed=0)
    for d, name in enumerate(("valence", "arousal")):
        low, high = intervals[name]
        assert low <= ccc(pred[:, d], true[:, d]) <= high
        assert wider[name][0] <= low and high <= wider[name][1]
    summary, differences = paired_difference(pred, true * 0.5, true, n_boot=50, confidence=0.95, seed=0)
    assert differences["mean_ccc"].shape == (50,)
    assert summary["mean_ccc"]["low"] <= summary["mean_ccc"]["high"]


def test_several_seeds_per_arm_average_their_ccc(songs, tmp_path):
    ids, true, good, poor = songs
    rng = np.random.default_rng(9)
    arm_a = [np.clip(good + rng.normal(scale=0.05, size=good.shape), -1, 1) for _ in range(3)]
    arm_b = [np.clip(poor + rng.normal(scale=0.05, size=poor.shape), -1, 1) for _ in range(3)]
    runs_a = [write_run(tmp_path / f"a{k}", ids, true, pred) for k, pred in enumerate(arm_a)]
    runs_b = [write_run(tmp_path / f"b{k}", ids, true, pred) for k, pred in enumerate(arm_b)]
    result = compare_seeded_runs(runs_a, runs_b, n_boot=300, seed=0)
    assert result["n_seeds"] == 3 and len(result["per_seed"]) == 3
    for d, name in enumerate(("valence", "arousal")):
        expected_a = np.mean([ccc(p[:, d], true[:, d]) for p in arm_a])
        assert result["dimensions"][name]["a"] == pytest.approx(expected_a, abs=1e-3)
    mean = result["dimensions"]["mean_ccc"]
    assert mean["low"] <= mean["difference"] <= mean["high"]
    assert mean["difference"] == pytest.approx(np.mean([p["mean_ccc"] for p in result["per_seed"]]))
    assert "Per seed" in (runs_a[0] / "eval" / "compare.md").read_text()
    shuffled_songs = write_run(tmp_path / "b_other", ids[:-1] + ["999"], true, poor)
    with pytest.raises(DataError, match="different songs"):
        compare_seeded_runs(runs_a, runs_b[:2] + [shuffled_songs], write=False)


def test_runs_with_different_step_counts_are_flagged(songs, tmp_path):
    ids, true, good, poor = songs
    a = write_run(tmp_path / "a", ids, true, good)
    b = write_run(tmp_path / "b", ids, true, poor)
    for run, steps in ((a, 744), (b, 806)):  # early stopping ended them at different epochs
        (run / "ast").mkdir()
        (run / "ast" / "history.csv").write_text(f"epoch,step\n1,62\n2,{steps}\n")
    result = compare_runs(a, b, n_boot=50, seed=0)
    assert "744, 806" in result["steps_warning"] and "ast.patience" in result["steps_warning"]
    assert "Warning: the runs took different numbers of optimiser steps" in (a / "eval" / "compare.md").read_text()
    (b / "ast" / "history.csv").write_text("epoch,step\n1,62\n2,744\n")
    assert compare_runs(a, b, n_boot=50, seed=0, write=False)["steps_warning"] is None


def test_bootstrap_p_values_and_holms_correction():
    assert two_sided_p(np.zeros(99)) == 1.0
    assert two_sided_p(np.full(99, 0.3)) == pytest.approx(2 / 100)  # never exactly 0
    assert two_sided_p(np.r_[np.full(90, 0.1), np.full(9, -0.1)]) == pytest.approx(2 * 10 / 100)
    # Holm: sorted p times (m, m - 1, ...), kept monotone, in the order given
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0]) and holm([]) == []
    # where the percentile interval excludes 0, the p-value is below 1 - confidence, and the other way round
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.1, 0.2, 0.3):
        differences = rng.normal(shift, 0.1, size=2000)
        low, high = np.quantile(differences, [0.025, 0.975])
        assert (low > 0 or high < 0) == (two_sided_p(differences) < 0.05)


def test_too_few_resamples_for_holm_are_named():
    from astgan.study.statistics import holm_resolution_note

    assert holm_resolution_note(12, 1000, 0.95) == []  # 2 / 1001 x 12 < 0.05
    note = holm_resolution_note(6, 200, 0.95)[0]  # 2 / 201 x 6 > 0.05: nothing could hold
    assert "with 200 bootstrap resamples" in note and "eval.bootstrap_samples to 240 or more" in note
    assert holm_resolution_note(12, 480, 0.95) == [] and holm_resolution_note(0, 10, 0.95) == []
