"""Shared fixtures: a small demo dataset written once per test session, and tiny configs.

Everything is real: MP3 files from the demo generator, Kaldi log-mels in an on-disk cache, real
models at tiny sizes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from astgan.config import Config

from helpers import tiny_config


@pytest.fixture(scope="session")
def demo_root_small(tmp_path_factory) -> Path:
    """A demo dataset in DEAM layout: 24 songs of 8..12 s, seed 0."""
    from astgan.data.demo import write_demo_dataset

    root = tmp_path_factory.mktemp("demo_small")
    write_demo_dataset(root, n_songs=24, seed=0, min_seconds=8.0, max_seconds=12.0, num_workers=2, progress=False)
    return root


@pytest.fixture(scope="session")
def feature_cache_dir(tmp_path_factory) -> Path:
    """One feature cache shared by the session's tests (extraction runs once per song)."""
    return tmp_path_factory.mktemp("feature_cache")


@pytest.fixture
def tiny_cfg(demo_root_small, feature_cache_dir, tmp_path) -> Config:
    """A tiny config on the small demo dataset with a fresh run folder."""
    return tiny_config(demo_root_small, tmp_path / "run", feature_cache_dir)


@pytest.fixture(scope="session")
def prepared_tiny(demo_root_small, feature_cache_dir, tmp_path_factory):
    """(config, PreparedData) of a run folder on the small demo that has been through `extract`.

    Session-scoped: tests must not modify its run folder; copy it (helpers.copied_run) to change it.
    """
    from astgan.data.prepare import prepare_data

    cfg = tiny_config(demo_root_small, tmp_path_factory.mktemp("prepared") / "run", feature_cache_dir)
    return cfg, prepare_data(cfg, progress=False)


@pytest.fixture(scope="session")
def trained_tiny_run(demo_root_small, feature_cache_dir, tmp_path_factory) -> Config:
    """The config of a tiny run through `train-ast` (real data only, 1 epoch) on the small demo.

    Its run folder holds songs.csv, ast/best.pt and the rest of train-ast's outputs. Split
    30 % TEST so that evaluation has a few songs. Session-scoped: copy it (helpers.copied_run) to change it.
    """
    from astgan.regressor.train import train_ast

    cfg = tiny_config(demo_root_small, tmp_path_factory.mktemp("trained") / "run", feature_cache_dir,
                      split={"train": 0.55, "val": 0.15, "test": 0.3}, ast={"synthetic_ratio": 0.0})
    train_ast(cfg, progress=False)
    return cfg


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` need a CUDA device: skipped without one, run unchanged with one."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
