"""Each dataset's folder through the commands, labels on its own scale; a run evaluated on another
dataset through ``astgan evaluate --on``; the config keys that pick a dataset."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from astgan.config import Config, DataConfig, config_to_yaml, load_config
from astgan.data.prepare import prepare_data, read_songs_csv
from astgan.data.registry import DATASETS, load_songs
from astgan.errors import ConfigError, DataError
from astgan.evaluation.cross import evaluation_name
from dataset_folders import layout_from_songs, relabelled, write_clip, write_manifest

from helpers import copied_run, invoke, tiny_config

SCALES = {"pmemo": (0.0, 1.0), "emomusic": (1.0, 9.0), "deam-unzipped": (1.0, 9.0), "manifest": (0.0, 100.0)}


@pytest.fixture(scope="module")
def demo_songs(demo_root_small) -> pd.DataFrame:
    """The small demo's songs (real MP3s whose sound follows their labels), labels on -1..1."""
    return load_songs("deam", demo_root_small)[0]


def data_section(dataset: str, root: Path) -> dict:
    if dataset == "manifest":
        return {"dataset": "manifest", "root": str(root), "label_scale": [0, 100]}
    return {"dataset": "deam" if dataset == "deam-unzipped" else dataset, "root": str(root)}


# --------------------------------------------------------------------------- config keys


def test_config_keys_pick_a_dataset_and_its_scale():
    assert typing.get_args(typing.get_type_hints(DataConfig)["dataset"]) == DATASETS
    assert Config().data.dataset == "deam" and Config().data.label_scale is None
    cfg = Config.from_dict({"data": {"dataset": "manifest", "root": "m.csv", "label_scale": [0, 10]}})
    assert cfg.data.label_scale == (0.0, 10.0)
    with pytest.raises(ConfigError, match="data.label_scale.*needs the \\[lo, hi\\] scale"):
        Config.from_dict({"data": {"dataset": "manifest", "root": "m.csv"}})
    with pytest.raises(ConfigError, match="data.label_scale.*pmemo has its own scale"):
        Config.from_dict({"data": {"dataset": "pmemo", "label_scale": [0, 1]}})
    with pytest.raises(ConfigError, match="data.label_scale.*lo < hi"):
        Config.from_dict({"data": {"dataset": "manifest", "label_scale": [9, 1]}})
    with pytest.raises(ConfigError, match="data.dataset.*Did you mean 'pmemo'"):
        Config.from_dict({"data": {"dataset": "pmem"}})


def test_packaged_dataset_configs_are_the_deam_recipe_on_their_data():
    deam = load_config("deam").to_dict()
    for name in ("pmemo", "emomusic"):
        other = load_config(name).to_dict()
        assert other["data"]["dataset"] == name and other["run"]["dir"] == f"runs/{name}"
        for section in deam:
            if section not in ("data", "run"):
                assert other[section] == deam[section], (name, section)


def test_evaluation_names():
    assert evaluation_name("pmemo") == "pmemo"
    assert evaluation_name("configs/PMEmo local.yaml") == "PMEmo_local"
    assert evaluation_name(Path("/x/y/emo.yml")) == "emo"


# --------------------------------------------------------------------------- a manifest's split and groups


@pytest.fixture
def lab_manifest(tmp_path) -> Path:
    """12 short songs by 4 artists, with a split column that keeps each artist in one split."""
    rows = []
    for i in range(12):
        write_clip(tmp_path / "lab" / f"s{i}.mp3", seconds=1.5, frequency=200 + 40 * i)
        split = "train" if i < 6 else "val" if i < 9 else "test"
        rows.append((f"s{i}.mp3", 1 + i % 9, 9 - i % 9, split, f"artist {i // 3}"))
    return write_manifest(tmp_path / "lab" / "manifest.csv", "path,valence,arousal,split,group", rows)


def test_a_given_split_is_honoured_and_groups_are_saved(lab_manifest, tmp_path, feature_cache_dir):
    cfg = tiny_config(lab_manifest, tmp_path / "run", feature_cache_dir,
                      data={"dataset": "manifest", "label_scale": [1, 9]})
    data = prepare_data(cfg, progress=False)
    saved = read_songs_csv(cfg.paths.songs)
    assert saved.columns.tolist() == ["song_id", "path", "valence", "arousal", "split", "group"]
    assert saved["split"].tolist() == ["train"] * 6 + ["val"] * 3 + ["test"] * 3
    assert data.labels("test").shape == (3, 2)
    # without the split column, astgan splits, by whole artists
    text = lab_manifest.read_text().replace(",split,", ",fold,")
    (lab_manifest.parent / "nosplit.csv").write_text(text)
    cfg2 = tiny_config(lab_manifest.parent / "nosplit.csv", tmp_path / "run2", feature_cache_dir,
                       data={"dataset": "manifest", "label_scale": [1, 9]}, split={"seed": 1})
    songs = prepare_data(cfg2, progress=False).songs
    assert (songs.groupby("group")["split"].nunique() == 1).all()
    assert set(songs["split"]) == {"train", "val", "test"}


def test_a_given_split_that_mixes_an_artist_or_lacks_val_is_refused(lab_manifest, tmp_path, feature_cache_dir):
    mixed = lab_manifest.read_text().replace("s2.mp3,3,7,train", "s2.mp3,3,7,test")
    (lab_manifest.parent / "mixed.csv").write_text(mixed)
    cfg = tiny_config(lab_manifest.parent / "mixed.csv", tmp_path / "run", feature_cache_dir,
                      data={"dataset": "manifest", "label_scale": [1, 9]})
    with pytest.raises(DataError, match=r"group\(s\) in more than one split: \['artist 0'\]"):
        prepare_data(cfg, progress=False)
    no_val = lab_manifest.read_text().replace(",val,", ",train,")
    (lab_manifest.parent / "noval.csv").write_text(no_val)
    cfg = tiny_config(lab_manifest.parent / "noval.csv", tmp_path / "run2", feature_cache_dir,
                      data={"dataset": "manifest", "label_scale": [1, 9]})
    with pytest.raises(DataError, match="noval.csv: its split column gives no val song"):
        prepare_data(cfg, progress=False)


# --------------------------------------------------------------------------- each dataset through the commands


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["pmemo", "emomusic", "deam-unzipped", "manifest"])
def test_each_dataset_folder_extracts_trains_one_epoch_and_evaluates(dataset, demo_songs, tmp_path,
                                                                     feature_cache_dir):
    root = layout_from_songs(dataset, demo_songs, tmp_path / "data")
    cfg = tiny_config(root, tmp_path / "run", feature_cache_dir, data=data_section(dataset, root),
                      split={"train": 0.55, "val": 0.15, "test": 0.3}, ast={"synthetic_ratio": 0.0})
    config = tmp_path / "run.yaml"
    config.write_text(config_to_yaml(cfg))
    lo, hi = SCALES[dataset]

    extracted = invoke("extract", "-c", config, code=0)
    name = cfg.data.dataset
    assert f"{name}: 24 annotated songs in 1 file(s)" in extracted.output
    if dataset == "pmemo":  # the GAN reads labels on -1..1 whatever the dataset: one dataset shows it runs
        invoke("train-gan", "-c", config, code=0)
        assert cfg.paths.generator.is_file()
    invoke("train-ast", "-c", config, code=0)
    evaluated = invoke("evaluate", "-c", config, code=0)
    n_test = int((read_songs_csv(cfg.paths.songs)["split"] == "test").sum())  # 7; whole artists for the manifest
    assert f"song level, {n_test} TEST songs (RMSE/MAE on {lo:g}..{hi:g}):" in evaluated.output

    # predictions.csv on the dataset's own scale: the true labels are the folder's, as written
    predictions = pd.read_csv(cfg.paths.predictions, dtype={"song_id": str})
    written = {s if dataset != "manifest" else f"track{s}": (v, a) for s, v, a in relabelled(demo_songs, lo, hi)}
    for row in predictions.itertuples():
        assert (row.valence_true, row.arousal_true) == pytest.approx(written[row.song_id], abs=1e-4)
    assert predictions[["valence_pred", "arousal_pred"]].stack().between(lo, hi).all()
    report = json.loads(cfg.paths.report.read_text())
    error = predictions["valence_pred"] - predictions["valence_true"]
    assert report["song"]["valence"]["rmse"] == pytest.approx(np.sqrt(np.mean(error ** 2)), abs=1e-3)
    assert report["evaluated_on"]["label_scale"] == [lo, hi] and report["evaluated_on"]["songs"] == "test"
    if dataset == "manifest":
        songs = read_songs_csv(cfg.paths.songs)
        assert (songs.groupby("group")["split"].nunique() == 1).all()  # no artist in two splits


# --------------------------------------------------------------------------- cross-dataset


@pytest.mark.slow
def test_a_deam_run_evaluates_on_a_pmemo_folder_through_on(trained_tiny_run, demo_songs, tmp_path, monkeypatch):
    cfg = copied_run(trained_tiny_run, tmp_path / "run")
    config = tmp_path / "run.yaml"
    config.write_text(config_to_yaml(cfg))
    invoke("evaluate", "-c", config, code=0)  # on its own TEST songs: eval/

    # the packaged `pmemo` config reads data/PMEmo below the working folder, its features in data/cache
    monkeypatch.chdir(tmp_path)
    layout_from_songs("pmemo", demo_songs, tmp_path / "data" / "PMEmo")
    result = invoke("evaluate", "-c", config, "--on", "pmemo", code=0)
    assert "pmemo: 24 annotated songs in 1 file(s)" in result.output
    assert "song level, all 24 songs of PMEmo (data/PMEmo) (RMSE/MAE on 0..1):" in result.output
    on = cfg.paths.evaluation_on("pmemo")
    assert f"report: {on.report_md}" in result.output
    assert all(p.is_file() for p in (on.report, on.predictions, on.pred_vs_true_figure, on.va_plane_figure))
    assert any((tmp_path / "data" / "cache").rglob("*.npy"))  # the other dataset's features: its own cache

    report = json.loads(on.report.read_text())
    songs = read_songs_csv(cfg.paths.songs)
    seen = int(songs["split"].isin(["train", "val"]).sum())
    assert report["evaluated_on"] == {"dataset": "pmemo", "title": "PMEmo", "root": "data/PMEmo", "songs": "all",
                                      "label_scale": [0.0, 1.0], "in_training_run": 0}
    assert report["n_test_songs"] == 24
    own = json.loads(cfg.paths.report.read_text())
    assert report["n_train_segments"] == own["n_train_segments"]  # baselines fitted on the run's TRAIN
    text = on.report_md.read_text()
    assert "all 24 songs of PMEmo (data/PMEmo)" in text and "RMSE and MAE on PMEmo's 0..1 scale" in text
    assert seen > 0  # copies of its songs, as other files: counted as unseen (by file, not by content)
    assert "None of their audio files is one the run trained or validated on" in text

    # the same audio and model give the same predictions as the run's own evaluation, each on its scale:
    # the normalisation and the features come from the training run's settings
    cross = pd.read_csv(on.predictions, dtype={"song_id": str}).set_index("song_id")
    mine = pd.read_csv(cfg.paths.predictions, dtype={"song_id": str}).set_index("song_id")
    for column in ("valence_pred", "arousal_pred", "valence_true", "arousal_true"):
        on_unit = cross.loc[mine.index, column] * 2 - 1
        np.testing.assert_allclose(on_unit, (mine[column] - 5) / 4, atol=2e-4)

    # on the very files it trained on, the report says those numbers are no test
    same = tmp_path / "same.yaml"
    same.write_text(config_to_yaml(Config.from_dict({"data": {"root": str(cfg.data.root)},
                                                     "features": {"cache_dir": str(tmp_path / "cache2")}})))
    invoke("evaluate", "-c", config, "--on", same, code=0)
    again = cfg.paths.evaluation_on("same")
    assert json.loads(again.report.read_text())["evaluated_on"]["in_training_run"] == seen
    assert f"{seen} of their audio files are ones the run trained or validated on" in again.report_md.read_text()
