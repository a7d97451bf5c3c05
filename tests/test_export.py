"""`astgan export`: a Hugging Face model folder that transformers loads alone and that predicts what
the run folder predicts; its feature extractor, its model card; and older runs, which still
evaluate and predict but are not exported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from astgan.artifacts import save_checkpoint
from astgan.data.audio import load_audio
from astgan.data.features import log_mel
from astgan.errors import AstganError, CheckpointError
from astgan.regressor.export import export_model, load_export
from astgan.regressor.inference import load_trained
from astgan.regressor.model import LegacyASTRegressor
from astgan.regressor.predict import predict_files

from helpers import copied_run, invoke, legacy_checkpoint


@pytest.fixture(scope="module")
def evaluated_run(trained_tiny_run, tmp_path_factory):
    """A copy of the tiny trained run, evaluated (eval/report.json for the model card)."""
    from astgan.evaluation.evaluate import evaluate

    cfg = copied_run(trained_tiny_run, tmp_path_factory.mktemp("evaluated"))
    report = evaluate(cfg, progress=False)
    return cfg, report


@pytest.fixture(scope="module")
def exported(evaluated_run, tmp_path_factory):
    cfg, _ = evaluated_run
    out = tmp_path_factory.mktemp("export") / "model"
    result = invoke("export", str(cfg.run_dir), str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def songs(demo_root_small):
    return sorted((demo_root_small / "DEAM_audio" / "MEMD_audio").glob("*.mp3"))[:6]


def test_export_folder_is_a_hugging_face_model(exported):
    names = sorted(p.name for p in exported.iterdir())
    assert names == ["README.md", "astgan.json", "config.json", "model.safetensors", "preprocessor_config.json"]
    config = json.loads((exported / "config.json").read_text())
    assert config["architectures"] == ["ASTForAudioClassification"]
    assert config["problem_type"] == "regression"
    assert config["id2label"] == {"0": "valence", "1": "arousal"}
    assert config["model_type"] == "audio-spectrogram-transformer"
    preprocessor = json.loads((exported / "preprocessor_config.json").read_text())
    meta = json.loads((exported / "astgan.json").read_text())
    assert preprocessor["feature_extractor_type"] == "ASTFeatureExtractor"
    assert preprocessor["max_length"] == meta["features"]["segment_frames"] == config["max_length"] == 128
    assert preprocessor["num_mel_bins"] == config["num_mel_bins"] == 32
    assert preprocessor["mean"] == pytest.approx(meta["normalization"]["mean"])
    assert preprocessor["std"] == pytest.approx(meta["normalization"]["std"])
    assert meta["features"]["segment_hop"] == 64 and meta["labels"]["names"] == ["valence", "arousal"]


def test_transformers_alone_loads_it_and_gives_astgan_s_outputs(exported, evaluated_run, songs, tmp_path):
    """In a fresh interpreter that never imports astgan: the Auto classes, a waveform, the logits."""
    cfg, _ = evaluated_run
    f = cfg.features
    samples = round(f.sample_rate * f.frame_length_ms / 1000) + (f.segment_frames - 1) * round(
        f.sample_rate * f.frame_shift_ms / 1000)
    waveform = load_audio(songs[0], f.sample_rate)[:samples]  # exactly one segment
    np.save(tmp_path / "wave.npy", waveform)
    script = f"""
import sys, numpy as np, torch
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
extractor = AutoFeatureExtractor.from_pretrained({str(exported)!r})
model = AutoModelForAudioClassification.from_pretrained({str(exported)!r}).eval()
inputs = extractor(np.load({str(tmp_path / "wave.npy")!r}), sampling_rate=extractor.sampling_rate, return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
np.save({str(tmp_path / "inputs.npy")!r}, inputs["input_values"].numpy())
np.save({str(tmp_path / "logits.npy")!r}, logits.numpy())
assert not any(name.startswith("astgan") for name in sys.modules), "astgan was imported"
print(type(model).__name__)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ASTForAudioClassification"

    trained = load_trained(cfg.run_dir, torch.device("cpu"))  # the run folder's own model
    specs = trained.normalization.apply(log_mel(waveform, f))[None].astype(np.float32)  # (1, n_mels, frames)
    hf_inputs = np.load(tmp_path / "inputs.npy")  # (1, frames, n_mels)
    # the same log-mel and normalisation (astgan's waveform mean subtraction changes only rounding)
    assert hf_inputs.shape == (1, f.segment_frames, f.n_mels)
    assert np.abs(hf_inputs.transpose(0, 2, 1) - specs).max() < 1e-3
    with torch.no_grad():
        ours = trained.model(torch.from_numpy(specs)).numpy()
        on_their_inputs = trained.model(torch.from_numpy(hf_inputs.transpose(0, 2, 1).copy())).numpy()
    assert np.allclose(np.load(tmp_path / "logits.npy"), on_their_inputs, atol=1e-5)  # same model, same input
    assert np.allclose(on_their_inputs, ours, atol=1e-3)


def test_predictions_from_the_export_equal_those_from_the_run(exported, evaluated_run, songs, tmp_path):
    cfg, _ = evaluated_run
    from_run = predict_files(cfg.run_dir, songs, timeline=True, out=tmp_path / "run.csv", progress=False)
    from_export = predict_files(exported, songs, timeline=True, out=tmp_path / "export.csv", progress=False)
    assert len(from_run.songs) == len(from_export.songs) == len(songs)
    run_table, export_table = pd.read_csv(tmp_path / "run.csv"), pd.read_csv(tmp_path / "export.csv")
    assert (run_table["level"] == "segment").sum() > len(songs)
    pd.testing.assert_frame_equal(run_table, export_table)
    assert np.allclose([r[3:] for r in from_run.songs], [r[3:] for r in from_export.songs], atol=1e-6)


def test_cli_predict_reads_an_export_and_writes_to_the_working_folder(exported, songs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("predict", str(exported), str(songs[0]), "--workers", "0")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "predictions.csv")["path"].tolist() == [str(songs[0])]
    assert not (exported / "predictions").exists()


def test_export_round_trip_keeps_config_and_normalisation(exported, evaluated_run):
    cfg, _ = evaluated_run
    loaded = load_export(exported)
    trained = load_trained(cfg.run_dir, torch.device("cpu"))
    assert loaded.config.to_dict() == trained.config.to_dict()
    assert loaded.normalization == trained.normalization and loaded.epoch == trained.epoch
    for (name, a), (_, b) in zip(loaded.model.state_dict().items(), trained.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_model_card_holds_the_evaluation_data_use_and_limits(exported, evaluated_run):
    _, report = evaluated_run
    card = (exported / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\npipeline_tag: audio-classification\n")
    assert f"{report.n_test_songs} TEST songs" in card
    for predictor in ("AST", "ridge (band stats)", "TRAIN mean"):
        assert f"| {predictor}" in card
    ccc = report.song["valence"]["ccc"]
    assert f"{round(ccc, 3) + 0.0:.3f}" in card
    for heading in ("## Evaluation", "## Use it", "## Inputs", "## Training", "## Intended use", "## Limits"):
        assert heading in card
    assert "embedded demo" in card  # trained on the demo data: the card says so
    assert "AutoModelForAudioClassification.from_pretrained" in card


def test_export_without_evaluation_says_so(trained_tiny_run, tmp_path):
    result = export_model(trained_tiny_run.run_dir / "ast" / "best.pt", tmp_path / "model")
    assert not result.evaluated
    assert "Not evaluated" in (tmp_path / "model" / "README.md").read_text()


def test_export_refuses_to_overwrite_unless_asked(exported, evaluated_run, tmp_path):
    cfg, _ = evaluated_run
    target = tmp_path / "taken"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(AstganError, match="--overwrite"):
        export_model(cfg.run_dir, target)
    assert (target / "mine.txt").read_text() == "keep"
    export_model(cfg.run_dir, target, overwrite=True)
    assert (target / "model.safetensors").is_file() and not (target / "mine.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".taken")]  # no staging folder left


def test_export_of_a_run_without_a_model_names_train_ast(tmp_path):
    with pytest.raises(AstganError, match="astgan train-ast"):
        export_model(tmp_path, tmp_path / "out")


def test_a_folder_without_astgan_json_is_refused_by_astgan(exported, tmp_path):
    copy = tmp_path / "bare"
    shutil.copytree(exported, copy)
    (copy / "astgan.json").unlink()
    with pytest.raises(CheckpointError, match="astgan export"):
        load_trained(copy, torch.device("cpu"))


def test_an_older_run_still_evaluates_and_predicts_but_is_not_exported(evaluated_run, songs, tmp_path):
    """A run folder whose ast/best.pt has an earlier astgan's layout (encoder.* + a linear head)."""
    from astgan.evaluation.evaluate import evaluate

    cfg, _ = evaluated_run
    run = tmp_path / "old-run"
    shutil.copytree(cfg.run_dir, run, ignore=shutil.ignore_patterns("eval", "predictions"))
    old_cfg = cfg.with_overrides(f"run.dir={run}")
    payload, old_model = legacy_checkpoint(old_cfg)
    save_checkpoint(run / "ast" / "best.pt", payload)

    trained = load_trained(run, torch.device("cpu"))
    assert isinstance(trained.model, LegacyASTRegressor)
    report = evaluate(old_cfg, progress=False)
    assert report.n_test_songs >= 2 and np.isfinite(report.song["mean_ccc"])
    # its evaluation used the old model's own outputs
    predictions = pd.read_csv(run / "eval" / "predictions.csv")
    assert len(predictions) == report.n_test_songs

    result = predict_files(run, songs[:2], out=tmp_path / "old.csv", progress=False, timeline=True)
    table = pd.read_csv(tmp_path / "old.csv")
    segments = table[table["level"] == "segment"]
    first = result.songs[0][0]
    from astgan.regressor.library import segment_file

    item = segment_file(first, old_cfg.features, trained.normalization)
    with torch.no_grad():
        expected = old_model.head(old_model.encoder(input_values=torch.from_numpy(item.specs).transpose(1, 2))
                                  .pooler_output).clamp(-1, 1).numpy() * 4 + 5
    assert np.allclose(segments[segments["path"] == first][["valence", "arousal"]], expected, atol=2e-3)

    with pytest.raises(CheckpointError, match="retrain it with `astgan train-ast`"):
        export_model(run, tmp_path / "old-export")
    assert not (tmp_path / "old-export").exists()
