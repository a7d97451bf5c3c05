"""The hierarchical bootstrap: its estimates, and intervals whose coverage is what they claim."""

from __future__ import annotations

import numpy as np
import pytest

from astgan.evaluation.hierarchical import (
    fold_t_interval,
    fold_values,
    hierarchical_draws,
    paired_effects,
    per_fold_statistic,
    point,
    pooled_statistic,
    seed_scale,
)
from astgan.metrics import ccc

LABEL_COV = np.array([[0.25, 0.14], [0.14, 0.25]])  # about DEAM's spread on -1..1, r(V, A) 0.55


def null_study(rng: np.random.Generator, folds: int = 5, songs: int = 24, seeds: int = 3, seed_sd: float = 0.08,
               gain_sd: float = 0.1, noise: float = 0.15) -> tuple[list, list, list]:
    """Two arms that differ only by seed noise: per fold, both arms' models are drawn from one
    distribution. A model is the labels plus a song difficulty both arms share, scaled by a
    seed-level gain and moved by a seed-level offset (``gain_sd``, ``seed_sd``: how good a seed's
    model is), plus its own per-song noise (``noise``: which songs a seed gets wrong)."""
    true, arm_a, arm_b = [], [], []
    for _ in range(folds):
        labels = rng.multivariate_normal([0.0, 0.0], LABEL_COV, size=songs)
        heard = labels + rng.normal(0.0, 0.3, size=(songs, 2))  # what every model hears: labels + difficulty
        true.append(labels)
        arm_a.append(seed_models(rng, heard, seeds, seed_sd, gain_sd, noise))
        arm_b.append(seed_models(rng, heard, seeds, seed_sd, gain_sd, noise))
    return arm_a, arm_b, true


def seed_models(rng: np.random.Generator, heard: np.ndarray, seeds: int, seed_sd: float, gain_sd: float,
                noise: float) -> np.ndarray:
    """(seeds, songs, 2) predictions of one arm's models, one per training seed."""
    gain = rng.normal(0.6, gain_sd, size=(seeds, 1, 2))
    offset = rng.normal(0.0, seed_sd, size=(seeds, 1, 2))
    return offset + gain * heard[None] + rng.normal(0.0, noise, size=(seeds, *heard.shape))


def coverage(n_studies: int, n_boot: int, resample_seeds: bool, statistic: str = "per_fold", **noise) -> float:
    """Share of simulated null studies whose 95% interval of mean CCC (``statistic``: "per_fold" or
    "pooled") covers 0. Also the command behind docs/study.md's calibration figures."""
    rng = np.random.default_rng(7)
    covered = 0
    for k in range(n_studies):
        arm_a, arm_b, true = null_study(rng, **noise)
        draws = hierarchical_draws([len(t) for t in true], len(arm_a[0]), n_boot, k, resample_seeds=resample_seeds)
        mean = paired_effects(arm_a, arm_b, true, draws, 0.95, statistic)["mean_ccc"]
        covered += mean.low <= 0.0 <= mean.high
    return covered / n_studies


def test_point_estimates_are_the_per_fold_mean_and_the_pooled_ccc():
    arm, _, true = null_study(np.random.default_rng(0), folds=3, songs=10, seeds=2)
    per_fold = np.mean([np.mean([ccc(arm[f][s, :, 0], true[f][:, 0]) for s in range(2)]) for f in range(3)])
    assert point("per_fold", arm, true)[0] == pytest.approx(per_fold)
    pooled = np.mean([ccc(np.concatenate([arm[f][s, :, 1] for f in range(3)]),
                          np.concatenate([true[f][:, 1] for f in range(3)])) for s in range(2)])
    assert point("pooled", arm, true)[1] == pytest.approx(pooled)
    assert point("pooled", arm, true)[2] == pytest.approx(point("pooled", arm, true)[:2].mean())


def test_resampled_ccc_equals_ccc_on_the_drawn_songs():
    arm, _, true = null_study(np.random.default_rng(1), folds=1, songs=12, seeds=2)
    draws = hierarchical_draws([12], 2, 5, seed=3)
    counts = draws.counts[0][2].astype(int)
    songs = np.repeat(np.arange(12), counts)
    values = fold_values(arm[0], true[0], draws.counts[0][2:3])  # (1, S, 3)
    assert values[0, 1, 0] == pytest.approx(ccc(arm[0][1, songs, 0], true[0][songs, 0]))


def test_identical_arms_differ_by_exactly_zero_with_p_one():
    arm, _, true = null_study(np.random.default_rng(2), folds=2, songs=8, seeds=3)
    draws = hierarchical_draws([8, 8], 3, 300, seed=0)
    for statistic in ("per_fold", "pooled"):
        mean = paired_effects(arm, arm, true, draws, 0.95, statistic)["mean_ccc"]
        assert (mean.difference, mean.low, mean.high, mean.p) == (0.0, 0.0, 0.0, 1.0)
        assert not mean.shown


def test_seed_scale_adds_only_a_seed_effect_the_songs_do_not_explain():
    rng = np.random.default_rng(4)
    labels = rng.normal(size=(40, 2))
    draws = hierarchical_draws([40], 3, 2000, seed=1)
    # seeds that differ only in which songs they get wrong: the song resampling already counts that
    songs_only = labels[None] + rng.normal(0.0, 0.5, size=(3, 40, 2))
    assert seed_scale([fold_values(songs_only, labels, draws.counts[0])])[2] < 0.5
    # seeds that differ in how good the whole model is: a gain the songs cannot explain
    gains = np.array([0.3, 1.0, 3.0])[:, None, None]
    whole_model = labels[None] * gains + rng.normal(0.0, 0.05, size=(3, 40, 2))
    assert seed_scale([fold_values(whole_model, labels, draws.counts[0])])[2] > 1.0


def test_one_seed_gives_the_song_only_interval():
    arm_a, arm_b, true = null_study(np.random.default_rng(5), folds=2, songs=10, seeds=1)
    with_seeds = hierarchical_draws([10, 10], 1, 500, seed=2)
    songs_only = hierarchical_draws([10, 10], 1, 500, seed=2, resample_seeds=False)
    a = per_fold_statistic(arm_a, true, with_seeds, minus=arm_b)
    b = per_fold_statistic(arm_a, true, songs_only, minus=arm_b)
    np.testing.assert_allclose(a, b)


def test_monte_carlo_error_of_the_bounds_is_small_at_ten_thousand_resamples():
    arm_a, arm_b, true = null_study(np.random.default_rng(6))
    draws = hierarchical_draws([24] * 5, 3, 10_000, seed=0)
    mean = paired_effects(arm_a, arm_b, true, draws, 0.95)["mean_ccc"]
    assert mean.mc_error < 0.02 * (mean.high - mean.low)
    assert mean.p_mc_error < 0.006


def test_pooled_statistic_uses_the_drawn_seed_of_every_fold():
    arm, _, true = null_study(np.random.default_rng(8), folds=2, songs=6, seeds=2)
    draws = hierarchical_draws([6, 6], 2, 50, seed=4)
    values = pooled_statistic(arm, true, draws)
    assert values.shape == (50, 3)
    assert np.unique(values[:, 2]).size > 10  # songs and seeds vary between resamples


def test_fold_t_interval_needs_three_folds():
    arm_a, arm_b, true = null_study(np.random.default_rng(9), folds=2, songs=8, seeds=2)
    assert fold_t_interval(arm_a, arm_b, true, 0.95) is None
    arm_a, arm_b, true = null_study(np.random.default_rng(9), folds=4, songs=8, seeds=2)
    low, high = fold_t_interval(arm_a, arm_b, true, 0.95)["mean_ccc"]
    assert low < point("per_fold", arm_a, true)[2] - point("per_fold", arm_b, true)[2] < high


@pytest.mark.slow
def test_intervals_cover_a_null_difference_as_often_as_they_claim():
    """Simulated studies of the study's shape (5 folds of 24 songs, 3 seeds) in which the arms
    differ only by seed noise: the hierarchical 95% interval covers 0 in about 95% of them; the
    song-only bootstrap, which treats each seed's model as fixed, visibly does not."""
    seed_noise = dict(seed_sd=0.08, gain_sd=0.1, noise=0.15)
    assert 0.92 <= coverage(200, 400, True, **seed_noise) <= 0.985
    assert coverage(200, 400, False, **seed_noise) < 0.88
    # where seeds change only which songs a model gets wrong, the songs already count it
    assert 0.92 <= coverage(200, 400, True, seed_sd=0.0, gain_sd=0.0, noise=0.4) <= 0.99
