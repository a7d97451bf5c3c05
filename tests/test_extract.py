"""The extract stage end to end on real demo MP3s: song table, split, cache, normalisation, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from astgan.cli import main
from astgan.data.features import FeatureCache
from astgan.data.prepare import prepare_data
from astgan.errors import DataError

from helpers import copied_run, invoke


def write_config(path, cfg) -> str:
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    return str(path)


def test_extract_command_writes_the_run_folder(tiny_cfg, tmp_path):
    config_path = write_config(tmp_path / "c.yaml", tiny_cfg)
    result = invoke("extract", "-c", config_path, "--set", "split.seed=5")
    assert result.exit_code == 0, result.output
    run = tiny_cfg.run_dir
    songs = pd.read_csv(run / "songs.csv", dtype={"song_id": str})
    assert list(songs.columns) == ["song_id", "path", "valence", "arousal", "split"]
    assert len(songs) == 24 and songs["song_id"].is_unique
    assert songs[["valence", "arousal"]].abs().max().max() <= 1.0
    assert set(songs["split"]) == {"train", "val", "test"}
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["split"]["seed"] == 5  # the resolved config, overrides included
    for name in ("normalization.json", "songs_labels.png", "songs_examples.png"):
        assert (run / name).stat().st_size > 0
    assert "train" in result.output and "segments" in result.output


def test_second_run_reuses_split_and_cache(prepared_tiny, tmp_path):
    cfg, first = prepared_tiny
    again = prepare_data(copied_run(cfg, tmp_path), progress=False)
    pd.testing.assert_frame_equal(again.songs, first.songs)
    assert again.entries == first.entries


def test_normalisation_uses_train_songs_only(prepared_tiny):
    cfg, data = prepared_tiny
    cache = FeatureCache(cfg.features)
    train_values = np.concatenate([np.asarray(cache.open(e), np.float64).ravel() for e in data.subset("train")[1]])
    all_values = np.concatenate([np.asarray(cache.open(e), np.float64).ravel() for e in data.entries])
    assert data.normalization.source == "train"
    assert data.normalization.mean == pytest.approx(train_values.mean(), rel=1e-6)
    assert data.normalization.std == pytest.approx(train_values.std(), rel=1e-6)
    assert data.normalization.mean != pytest.approx(all_values.mean(), rel=1e-6)


def test_segments_inherit_their_songs_split(prepared_tiny):
    cfg, data = prepared_tiny
    ids = {split: set(data.segments(split).song_ids) for split in ("train", "val", "test")}
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"]) and not (ids["val"] & ids["test"])
    train = data.segments("train")
    spec, label = train[0]
    assert tuple(spec.shape) == (cfg.features.n_mels, cfg.features.segment_frames)
    assert tuple(label.shape) == (2,)
    assert train.labels.shape == (len(train), 2)
    assert abs(float(train.stack().mean())) < 0.2  # normalised with TRAIN statistics


def test_a_run_folder_made_from_other_songs_is_refused(prepared_tiny, tmp_path):
    cfg, _ = prepared_tiny
    with pytest.raises(DataError, match="different set of songs.*new run.dir"):
        prepare_data(copied_run(cfg, tmp_path, data={"max_songs": 10}), progress=False)


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    config = tmp_path / "c.yaml"
    raw = {"data": {"root": str(tmp_path / "missing")}, "run": {"dir": str(tmp_path / "run")}}
    config.write_text(yaml.safe_dump(raw))
    result = invoke("extract", "-c", str(config))
    assert result.exit_code == 1
    assert result.output.startswith("error: data.root")
    assert "make-demo-data" in result.output and "Traceback" not in result.output
    typo = invoke("extract", "-c", str(config), "--set", "gan.epoch=3")
    assert typo.exit_code == 1 and "Did you mean 'epochs'?" in typo.output


def test_every_command_has_help():
    top = invoke("--help")
    assert top.exit_code == 0
    for name in main.commands:
        result = invoke(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_reading_every_segment_keeps_few_files_open(prepared_tiny, monkeypatch):
    import astgan.data.datasets

    cfg, data = prepared_tiny
    monkeypatch.setattr(astgan.data.datasets, "MAX_OPEN_MAPS", 3)
    train = data.segments("train")
    first = train.stack()
    assert len(train._maps) == 3  # the least recently used maps were closed
    np.testing.assert_array_equal(train.stack(), first)  # and reopened when needed again
