"""Condition sampling, generation, the quality report (real references, planted copies), the stage."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gaussian_kde

from astgan.config import config_to_yaml
from astgan.data.descriptors import band_statistics, frame_change, mean_pairwise_distance, pooled_vectors
from astgan.data.prepare import prepare_data
from astgan.errors import CheckpointError, MissingArtifactError
from astgan.regressor.train import load_synthetic
from astgan.synthetic.conditions import sample_conditions
from astgan.synthetic.quality import (
    MAX_COPY_SHARE,
    QualityInputs,
    describe,
    flag_copies,
    frechet_block,
    frechet_distance,
    nearest_distances,
    quality_report,
)
from astgan.synthetic.quality_text import format_quality_table, quality_markdown
from astgan.synthetic.reference_sets import REFERENCE_DRAWS, reference_split
from astgan.synthetic.synthesis import label_consistent, synthesize

from helpers import copied_run, invoke, tiny_config


def _imbalanced_labels(rng: np.random.Generator) -> np.ndarray:
    """Most labels near the centre, a few at the extremes (like DEAM)."""
    centre = rng.normal(0.0, 0.15, size=(300, 2))
    extremes = rng.uniform(-0.9, 0.9, size=(30, 2))
    return np.clip(np.concatenate([centre, extremes]), -1, 1)


@pytest.mark.parametrize("sampler", ["empirical", "uniform", "balanced"])
def test_samplers_give_n_conditions_on_the_label_scale(sampler):
    rng = np.random.default_rng(0)
    train = _imbalanced_labels(rng)
    conditions = sample_conditions(train, 500, sampler, jitter=0.05, rng=rng)
    assert conditions.shape == (500, 2) and conditions.dtype == np.float32
    assert conditions.min() >= -1.0 and conditions.max() <= 1.0
    if sampler == "uniform":
        assert (conditions >= train.min(axis=0) - 1e-6).all() and (conditions <= train.max(axis=0) + 1e-6).all()
    if sampler == "empirical":  # jittered copies of TRAIN labels: close to one, but not equal
        gaps = np.min(np.abs(conditions[:, None, :] - train[None]).sum(-1), axis=1)
        assert np.median(gaps) < 0.2 and (gaps > 0).all()


def test_the_empirical_sampler_follows_the_train_label_distribution():
    """What the fidelity check relies on: drawn at TRAIN's label distribution, not a wider one."""
    train = _imbalanced_labels(np.random.default_rng(3))
    drawn = sample_conditions(train, 20_000, "empirical", 0.02, np.random.default_rng(4))
    np.testing.assert_allclose(drawn.mean(axis=0), train.mean(axis=0), atol=0.01)
    np.testing.assert_allclose(drawn.std(axis=0), train.std(axis=0), rtol=0.05)
    for q in (10, 50, 90):
        np.testing.assert_allclose(np.percentile(drawn, q, axis=0), np.percentile(train, q, axis=0), atol=0.03)


def test_the_balanced_sampler_puts_more_mass_in_sparse_regions_than_empirical():
    rng = np.random.default_rng(1)
    train = _imbalanced_labels(rng)
    density = gaussian_kde(train.T)
    empirical = sample_conditions(train, 4000, "empirical", 0.02, np.random.default_rng(2))
    balanced = sample_conditions(train, 4000, "balanced", 0.02, np.random.default_rng(2))
    # mean TRAIN density at the drawn labels: lower = more mass where TRAIN is sparse
    assert density(balanced.T).mean() < 0.5 * density(empirical.T).mean()
    far = lambda labels: np.mean(np.abs(labels).max(axis=1) > 0.5)  # noqa: E731
    assert far(balanced) > 2 * far(empirical)


def test_sampling_is_seeded():
    train = _imbalanced_labels(np.random.default_rng(0))
    a = sample_conditions(train, 50, "balanced", 0.05, np.random.default_rng(7))
    b = sample_conditions(train, 50, "balanced", 0.05, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ quality metrics on hand-made inputs


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(400, 6))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 1.0) == pytest.approx(6.0, rel=1e-3)  # |shift|^2
    assert frechet_distance(features, features * 2.0) > 1.0


def test_a_collapsed_set_has_low_diversity():
    rng = np.random.default_rng(0)
    varied = rng.normal(size=(100, 16, 32)).astype(np.float32)
    collapsed = np.repeat(varied[:1], 100, axis=0) + rng.normal(scale=1e-3, size=(100, 16, 32)).astype(np.float32)
    diverse = mean_pairwise_distance(pooled_vectors(varied))
    assert mean_pairwise_distance(pooled_vectors(collapsed)) < 0.01 * diverse


def test_copies_of_training_segments_sit_at_distance_zero():
    rng = np.random.default_rng(0)
    train = pooled_vectors(rng.normal(size=(50, 16, 32)))
    queries = np.concatenate([train[:5], train[:5] + 3.0])
    distances = nearest_distances(queries, train)
    assert (distances[:5] < 1e-5).all() and (distances[5:] > 1.0).all()


def test_the_reference_sets_are_song_disjoint_and_of_equal_size_and_song_count():
    rng = np.random.default_rng(0)
    train_songs = np.repeat(np.arange(21), rng.integers(3, 12, size=21))  # songs of unequal length
    val_songs = np.repeat(np.arange(100, 105), rng.integers(3, 12, size=5))
    split = reference_split(train_songs, val_songs, seed=1)
    assert len(split.draws) == REFERENCE_DRAWS
    np.testing.assert_array_equal(split.pool, np.arange(len(train_songs)))  # small: every TRAIN segment
    for draw in split.draws:
        songs_a, songs_b = set(train_songs[draw.half_a]), set(train_songs[draw.half_b])
        assert not songs_a & songs_b and len(songs_a) == len(songs_b) == split.songs_per_half == 10
        assert len(draw.half_a) == len(draw.half_b) > 0
        assert len(set(draw.half_a)) == len(draw.half_a)  # no segment drawn twice
        assert len(set(train_songs[draw.val_reference])) <= split.val_songs == 5
        assert len(draw.val) == len(draw.val_reference) > 0
        assert set(draw.val) <= set(split.val)
    assert len({tuple(draw.half_a) for draw in split.draws}) > 1  # the draws differ
    again = reference_split(train_songs, val_songs, seed=1)
    for first, second in zip(split.draws, again.draws):  # seeded
        np.testing.assert_array_equal(first.half_a, second.half_a)
        np.testing.assert_array_equal(first.val_reference, second.val_reference)


def test_a_large_train_set_is_compared_through_a_pool_and_positions_map_into_it(monkeypatch):
    """Above MAX_POOL segments the stand-in set is generated at a random pool of TRAIN segments;
    every draw takes its TRAIN sets from that pool, and in_pool finds their rows in the stand-in set."""
    monkeypatch.setattr("astgan.synthetic.reference_sets.MAX_POOL", 40)
    monkeypatch.setattr("astgan.synthetic.reference_sets.MAX_COMPARED", 12)
    train_songs = np.repeat(np.arange(30), 5)  # 150 segments
    val_songs = np.repeat(np.arange(100, 104), 5)
    split = reference_split(train_songs, val_songs, seed=0)
    assert len(split.pool) == 40 and (np.diff(split.pool) > 0).all()
    for draw in split.draws:
        for indices in (draw.half_a, draw.half_b, draw.val_reference):
            assert set(indices) <= set(split.pool)
            np.testing.assert_array_equal(split.pool[split.in_pool(indices)], indices)
        assert len(draw.half_a) <= 12
        np.testing.assert_array_equal(split.val[split.in_val(draw.val)], draw.val)


def test_the_frechet_ratio_is_the_ratio_of_the_draws_mean_distances():
    block = frechet_block([(1.0, 1.5), (0.5, 1.5)])
    assert block["floor"] == 0.75 and block["synthetic"] == 1.5 and block["ratio"] == pytest.approx(2.0)
    assert block["ratio_per_draw"] == [1.5, 3.0] and block["draws"] == 2


@pytest.fixture(scope="module")
def real_splits(prepared_tiny):
    """Real TRAIN, VAL and TEST segments of the small demo: (stacked specs, labels) per split."""
    _, data = prepared_tiny
    return {split: (data.segments(split).stack(), data.segments(split).labels) for split in ("train", "val", "test")}


def test_planted_copies_of_train_segments_are_flagged_and_a_clean_set_passes(real_splits):
    """TEST segments stand in for a generator that draws new music on the real manifold: it must
    pass. Planting 5 % copies of TRAIN segments (stored as float16, as synthetic.npz does) must
    fail the check, with every copy flagged."""
    train, _ = real_splits["train"]
    val, _ = real_splits["val"]
    clean, _ = real_splits["test"]
    rng = np.random.default_rng(0)
    train_pooled, val_pooled = pooled_vectors(train), pooled_vectors(val)
    clean_check = flag_copies(pooled_vectors(clean), train_pooled, val_pooled)
    assert clean_check["flagged"].mean() <= MAX_COPY_SHARE

    n_copies = max(1, round(0.05 * len(clean)))
    slots = rng.choice(len(clean), n_copies, replace=False)
    planted = clean.copy()
    planted[slots] = train[rng.choice(len(train), n_copies, replace=False)].astype(np.float16).astype(np.float32)
    check = flag_copies(pooled_vectors(planted), train_pooled, val_pooled)
    assert check["flagged"][slots].all()
    assert check["flagged"].sum() == n_copies + clean_check["flagged"].sum()
    assert check["flagged"].mean() > MAX_COPY_SHARE  # the check fails


def test_frame_change_sees_a_grain_that_band_statistics_barely_see(real_splits):
    train, _ = real_splits["train"]
    assert frame_change(np.zeros((2, 4, 10))).tolist() == [0.0, 0.0]
    assert frame_change(np.tile([-1.0, 1.0], (1, 3, 5))).tolist() == [2.0]
    grain = np.where(np.arange(train.shape[2]) % 8 == 0, 0.3, 0.0)  # a jump every 8 frames
    grained = train + grain
    real_band = band_statistics(train)
    assert np.abs(band_statistics(grained) - real_band).mean() < 0.1 * np.abs(real_band).mean()
    assert frame_change(grained).mean() > 1.3 * frame_change(train).mean()


def test_the_report_puts_each_number_beside_its_real_reference(real_splits):
    """The report on real segments standing in for synthetic ones: every block is filled, ratios
    are synthetic / real, and the text says what the numbers mean."""
    (train, train_labels), (val, val_labels), (test, test_labels) = (real_splits[s] for s in ("train", "val", "test"))
    train_songs = np.repeat(np.arange(len(train) // 4 + 1), 4)[:len(train)]
    val_songs = np.repeat(np.arange(len(val) // 4 + 1), 4)[:len(val)]
    split = reference_split(train_songs, val_songs, seed=0)
    embed = lambda chunk: chunk.mean(axis=2)  # noqa: E731  (a stand-in judge: per-band means)
    predict = lambda chunk: np.tanh(chunk.mean(axis=(1, 2)))[:, None].repeat(2, axis=1)  # noqa: E731
    stand_in = lambda n: np.resize(test, (n, *test.shape[1:]))  # noqa: E731  (TEST segments, repeated as needed)
    inputs = QualityInputs(
        train=describe([train], embed), train_labels=train_labels,
        val=describe([val], embed, predict), val_labels=val_labels, split=split,
        synthetic_pool=describe([stand_in(len(split.pool))], embed, predict),
        synthetic_val=describe([stand_in(len(split.val))], embed),
        written=describe([test]),
    )
    report = quality_report(inputs)
    for space in ("band", "judge"):
        block = report["realism"][space]
        for floor in ("train_halves", "val"):
            assert block[floor]["floor"] > 0 and block[floor]["draws"] == REFERENCE_DRAWS
            assert block[floor]["ratio"] == pytest.approx(block[floor]["synthetic"] / block[floor]["floor"])
            assert min(block[floor]["ratio_per_draw"]) <= block[floor]["ratio"] <= max(block[floor]["ratio_per_draw"])
        assert block["ratio"] == max(block["train_halves"]["ratio"], block["val"]["ratio"])
    ridge = report["label_fidelity"]["ridge"]
    assert set(ridge) == {"probe", "synthetic", "real_val", "ratio"}
    assert set(report["label_fidelity"]) == {"ridge", "judge"}
    assert report["diversity"]["ratio"] == pytest.approx(report["diversity"]["synthetic"]
                                                         / report["diversity"]["real_train_half"])
    assert report["texture"]["ratio"] == pytest.approx(report["texture"]["synthetic"]
                                                       / report["texture"]["real_train_half"])
    assert report["memorisation"]["passes"]
    assert set(report["targets"]) >= {"frechet_ratio_band", "frechet_ratio_judge", "fidelity_ratio_valence",
                                      "fidelity_ratio_arousal", "memorisation"}
    json.dumps(report)  # plain data
    assert "Frechet" in format_quality_table(report)
    text = quality_markdown(report)
    assert "## How to read it" in text and "floor" in text


# ------------------------------------------------------------------ the stage


@pytest.fixture(scope="module")
def trained_run(prepared_tiny, tmp_path_factory):
    """A run folder with a 1-epoch generator (tiny config)."""
    from astgan.gan.train import train_gan

    cfg = copied_run(prepared_tiny[0], tmp_path_factory.mktemp("synth"),
                     synth={"n": 40, "batch_size": 16, "sampler": "balanced"})
    train_gan(cfg, progress=False)
    return cfg


@pytest.mark.slow
def test_synthesize_writes_the_set_its_report_and_figures(trained_run):
    cfg = trained_run
    quality = synthesize(cfg, progress=False)
    out = cfg.run_dir / "synthetic"
    specs, labels = load_synthetic(cfg)
    assert specs.shape == (40, cfg.features.n_mels, cfg.features.segment_frames) and specs.dtype == np.float16
    assert labels.shape == (40, 2) and labels.dtype == np.float32
    assert np.abs(labels).max() <= 1.0 and np.isfinite(specs).all()
    saved = json.loads((out / "quality.json").read_text())
    assert saved["n_synthetic"] == 40 and saved["sampler"] == "balanced"
    assert set(saved) >= {"label_fidelity", "realism", "diversity", "memorisation", "targets", "judge"}
    assert saved["realism"]["band"]["train_halves"]["floor"] > 0 and saved["diversity"]["synthetic"] > 0
    assert saved["judge"]["source"].startswith("trained")
    c2st = saved["c2st"]  # the classifier two-sample test, its floor and its target
    assert set(c2st["synthetic"]) == set(c2st["floor"]) == {"band", "motion", "image", "cnn"}
    assert c2st["segments_per_side"] > 0 and "c2st" in saved["targets"]
    assert quality["realism"] == saved["realism"]
    assert (out / "quality.md").read_text().startswith("# Synthetic set quality")
    for name in ("real_vs_synthetic.png", "labels.png", "mean_spectrum.png", "judge.pt"):
        assert (out / name).is_file(), name
    again = synthesize(cfg, progress=False)  # seeded: the same set and report again, with the cached judge
    np.testing.assert_array_equal(load_synthetic(cfg)[0], specs)
    assert again["realism"] == quality["realism"] and again["label_fidelity"] == quality["label_fidelity"]
    assert again["judge"]["source"].endswith("(cached)")


def test_the_filter_asks_for_at_least_one_candidate_per_segment():
    from astgan.config import Config
    from astgan.errors import ConfigError

    with pytest.raises(ConfigError, match=r"synth.filter.*must be >= 1"):
        Config().with_overrides("synth.filter=0.5")


def test_the_label_consistency_filter_keeps_the_closest_reads_in_drawing_order():
    asked = np.zeros((6, 2))
    read = np.array([[0.5, 0.5], [0.0, 0.1], [0.9, 0.0], [0.0, 0.0], [0.2, 0.2], [0.1, 0.0]])
    assert label_consistent(read, asked, 3).tolist() == [1, 3, 5]
    assert label_consistent(read, asked, 6).tolist() == list(range(6))


@pytest.mark.slow
def test_a_filtered_set_carries_its_labels_better_and_its_report_judges_the_generator(trained_run, tmp_path):
    from astgan.synthetic.judge import load_or_train_judge

    plain = copied_run(trained_run, tmp_path)
    errors = {}
    for factor in (1.0, 3.0):
        cfg = plain.with_overrides(f"synth.filter={factor}")
        quality = synthesize(cfg, progress=False)
        specs, labels = load_synthetic(cfg)
        assert len(specs) == 40 and quality["filter"] == factor
        data = prepare_data(cfg, progress=False)
        judge = load_or_train_judge(cfg, data.segments("train"), data.segments("val"), "cpu")
        read = judge.predict(specs.astype(np.float32), data.segments("train").normalization)
        errors[factor] = (np.abs(read - labels).mean(), quality["label_fidelity"])
    assert errors[3.0][0] < errors[1.0][0]  # the kept segments' labels are read closer to the asked ones
    assert errors[3.0][1] == errors[1.0][1]  # fidelity is measured on fresh draws: the filter cannot flatter it


@pytest.mark.slow
def test_a_regressor_that_saw_synthetic_data_is_refused_as_judge(trained_run, trained_tiny_run, tmp_path):
    cfg = trained_run
    judge = tmp_path / "best.pt"
    import torch

    checkpoint = torch.load(trained_tiny_run.paths.best, weights_only=True)
    checkpoint["config"]["ast"]["synthetic_ratio"] = 0.5
    torch.save(checkpoint, judge)
    with pytest.raises(CheckpointError, match="synth.judge.*real data only"):
        synthesize(cfg.with_overrides(f"synth.judge={judge}"), progress=False)


@pytest.mark.slow
def test_a_filtering_judge_that_trained_on_songs_outside_train_is_refused(trained_run, trained_tiny_run, tmp_path):
    cfg = trained_run
    judge_run = tmp_path / "judge"
    (judge_run / "ast").mkdir(parents=True)
    shutil.copy(trained_tiny_run.paths.best, judge_run / "ast" / "best.pt")
    songs = pd.read_csv(cfg.paths.songs, dtype={"song_id": str})
    held_out = sorted(songs.loc[songs["split"] == "test", "song_id"])
    songs.assign(split="train").to_csv(judge_run / "songs.csv", index=False)  # it trained on every song
    judge = f"synth.judge={judge_run / 'ast' / 'best.pt'}"
    with pytest.raises(CheckpointError, match=f"outside the TRAIN songs of the run .*{held_out[0]}"):
        synthesize(cfg.with_overrides(judge, "synth.filter=3"), progress=False)
    # without the filter the judge only scores the quality report: no training data to shape
    assert synthesize(copied_run(cfg, tmp_path / "copy").with_overrides(judge), progress=False)["judge"]["source"]


def test_synthesize_refuses_a_generator_for_another_segment_shape(trained_run, tmp_path):
    cfg = trained_run
    run_dir = tmp_path / "run"
    shutil.copytree(cfg.run_dir / "gan", run_dir / "gan")
    other = tiny_config(cfg.data.root, run_dir, cfg.features.cache_dir,
                        features={"segment_frames": 64, "segment_hop": 32})
    with pytest.raises(CheckpointError, match="features.segment_frames"):
        synthesize(other, progress=False)


def test_synthesize_without_a_generator_says_to_run_train_gan(prepared_tiny, tmp_path):
    cfg, _ = prepared_tiny
    cfg = tiny_config(cfg.data.root, tmp_path / "empty_run", cfg.features.cache_dir)
    with pytest.raises(MissingArtifactError, match="astgan train-gan"):
        synthesize(cfg, progress=False)
    config = tmp_path / "c.yaml"
    config.write_text(config_to_yaml(cfg))
    result = invoke("synthesize", "-c", str(config))
    assert result.exit_code == 1 and "astgan train-gan" in result.output
