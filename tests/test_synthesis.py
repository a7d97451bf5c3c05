"""Condition sampling, generation, the synthetic set and its quality report."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import gaussian_kde

from astgan.cli import main
from astgan.config import config_to_yaml
from astgan.errors import CheckpointError, MissingArtifactError
from astgan.gan.quality import frechet_distance, mean_pairwise_distance, nearest_distances, pooled_vectors
from astgan.gan.synthesis import sample_conditions, synthesize
from astgan.regressor.train import load_synthetic

from helpers import tiny_config


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
    # cdist's matrix-product shortcut leaves rounding of about 1e-2 on distances of about 50
    assert (distances[:5] < 0.05).all() and (distances[5:] > 1.0).all()


# ------------------------------------------------------------------ the stage


@pytest.fixture(scope="module")
def trained_run(prepared_tiny, tmp_path_factory):
    """A run folder with a 1-epoch generator (tiny config)."""
    from astgan.gan.train import train_gan

    cfg, _ = prepared_tiny
    run_dir = tmp_path_factory.mktemp("synth") / "run"
    shutil.copytree(cfg.run_dir, run_dir)
    cfg = tiny_config(cfg.data.root, run_dir, cfg.features.cache_dir, synth={"n": 40, "batch_size": 16, "sampler": "balanced"})
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
    assert set(saved) >= {"label_fidelity", "realism", "diversity", "memorisation"}
    assert saved["realism"]["fd_val_vs_train"] > 0 and saved["diversity"]["synthetic"] > 0
    assert quality["realism"] == saved["realism"]
    for name in ("real_vs_synthetic.png", "labels.png", "mean_spectrum.png"):
        assert (out / name).is_file(), name
    again = synthesize(cfg, progress=False)  # seeded: the same set again
    np.testing.assert_array_equal(load_synthetic(cfg)[0], specs)
    assert again["realism"] == quality["realism"]


def test_synthesize_refuses_a_generator_for_another_segment_shape(trained_run, tmp_path):
    cfg = trained_run
    run_dir = tmp_path / "run"
    shutil.copytree(cfg.run_dir / "gan", run_dir / "gan")
    other = tiny_config(cfg.data.root, run_dir, cfg.features.cache_dir, features={"segment_frames": 64, "segment_hop": 32})
    with pytest.raises(CheckpointError, match="features.segment_frames"):
        synthesize(other, progress=False)


def test_synthesize_without_a_generator_says_to_run_train_gan(prepared_tiny, tmp_path):
    cfg, _ = prepared_tiny
    cfg = tiny_config(cfg.data.root, tmp_path / "empty_run", cfg.features.cache_dir)
    with pytest.raises(MissingArtifactError, match="astgan train-gan"):
        synthesize(cfg, progress=False)
    config = tmp_path / "c.yaml"
    config.write_text(config_to_yaml(cfg))
    result = CliRunner().invoke(main, ["synthesize", "-c", str(config)])
    assert result.exit_code == 1 and "astgan train-gan" in result.output
