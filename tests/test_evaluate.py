"""`astgan evaluate` on a tiny trained run: report schema and values, baselines, outputs, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from astgan.config import config_to_yaml
from astgan.data.labels import labels_of, to_unit_scale
from astgan.data.prepare import read_songs_csv
from astgan.errors import CheckpointError, MissingArtifactError
from astgan.evaluation.evaluate import EvaluationReport, baseline_predictions, evaluate
from astgan.metrics import regression_report

from helpers import copied_run, invoke

METRICS = {"ccc", "pearson", "r2", "rmse", "mae"}


@pytest.fixture(scope="module")
def evaluated(trained_tiny_run, tmp_path_factory):
    """(config, report) of the tiny trained run after `evaluate`."""
    cfg = copied_run(trained_tiny_run, tmp_path_factory.mktemp("evaluated"))
    return cfg, evaluate(cfg, progress=False)


def assert_regression_report(report: dict) -> None:
    assert set(report) == {"valence", "arousal", "mean_ccc"}
    for dim in ("valence", "arousal"):
        assert set(report[dim]) == METRICS
        assert all(np.isfinite(v) for v in report[dim].values())
        assert -1.0 <= report[dim]["ccc"] <= 1.0
        assert report[dim]["rmse"] >= report[dim]["mae"] >= 0.0
    assert report["mean_ccc"] == pytest.approx((report["valence"]["ccc"] + report["arousal"]["ccc"]) / 2)


def test_report_follows_the_run_folder_schema(evaluated):
    cfg, report = evaluated
    for key in ("song", "segment"):
        assert_regression_report(getattr(report, key))
    assert set(report.baselines) == {"mean", "ridge"}
    for name in ("mean", "ridge"):
        assert_regression_report(report.baselines[name])
        assert_regression_report(report.baselines_segment[name])
    on_disk = json.loads((cfg.run_dir / "eval" / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(report.to_dict()))  # what is returned is what is written
    assert list(on_disk) == list(report.to_dict())  # in the file's order
    assert EvaluationReport.from_dict(on_disk).to_dict() == on_disk  # and it reads back


def test_report_uses_only_the_saved_test_songs(evaluated):
    cfg, report = evaluated
    songs = read_songs_csv(cfg.run_dir / "songs.csv")
    test = songs[songs["split"] == "test"]
    predictions = pd.read_csv(cfg.run_dir / "eval" / "predictions.csv", dtype={"song_id": str})
    assert list(predictions.columns) == ["song_id", "valence_true", "arousal_true", "valence_pred", "arousal_pred"]
    assert sorted(predictions["song_id"]) == sorted(test["song_id"])
    assert report.n_test_songs == len(test) >= 2
    # labels on the 1..9 scale, and the song-level report is recomputable from the CSV
    true = to_unit_scale(predictions[["valence_true", "arousal_true"]].to_numpy())
    by_id = test.set_index("song_id").loc[predictions["song_id"]]
    np.testing.assert_allclose(true, labels_of(by_id), atol=1e-4)
    pred = to_unit_scale(predictions[["valence_pred", "arousal_pred"]].to_numpy())
    recomputed = regression_report(pred, true)
    for dim in ("valence", "arousal"):
        for metric in ("ccc", "pearson", "rmse", "mae"):
            assert recomputed[dim][metric] == pytest.approx(report.song[dim][metric], abs=2e-3)


def test_mean_baseline_scores_zero_ccc_and_the_train_mean_error(evaluated):
    cfg, report = evaluated
    songs = read_songs_csv(cfg.run_dir / "songs.csv")
    train_mean = labels_of(songs[songs["split"] == "train"]).mean(axis=0)
    test_labels = labels_of(songs[songs["split"] == "test"])
    mean = report.baselines["mean"]
    assert mean["mean_ccc"] == pytest.approx(0.0, abs=1e-9)
    for d, dim in enumerate(("valence", "arousal")):
        expected_rmse = np.sqrt(np.mean((test_labels[:, d] - train_mean[d]) ** 2)) * 4.0
        assert mean[dim]["rmse"] == pytest.approx(expected_rmse, rel=1e-6)


def test_ridge_baseline_fits_train_segments(trained_tiny_run):
    """In-sample, the ridge on band statistics must follow the labels: it really was fitted."""
    from astgan.data.prepare import prepare_data

    cfg = trained_tiny_run
    data = prepare_data(cfg, progress=False)
    train = data.segments("train")
    preds = baseline_predictions(train, train, data.labels("train"), ridge_alpha=1.0)
    segments, songs = preds["ridge"]
    assert segments.shape == (len(train), 2) and songs.shape == (len(train.songs), 2)
    assert regression_report(songs, train.song_labels)["mean_ccc"] > 0.5
    np.testing.assert_allclose(preds["mean"][1], np.repeat(data.labels("train").mean(0, keepdims=True), len(songs), 0))


def test_intervals_and_model_vs_ridge_are_well_formed(evaluated):
    _, report = evaluated
    intervals = report.intervals
    assert intervals["n_boot"] == 100 and intervals["confidence"] == 0.95
    for who in ("model", "ridge"):
        for name in ("valence", "arousal", "mean_ccc"):
            low, high = intervals[who][name]
            assert -1.0 <= low <= high <= 1.0
    paired = report.model_vs_ridge["mean_ccc"]
    assert paired["a"] == pytest.approx(report.song["mean_ccc"])
    assert paired["b"] == pytest.approx(report.baselines["ridge"]["mean_ccc"])
    assert paired["low"] <= paired["high"] and 0.0 <= paired["p_a_better"] <= 1.0


def test_markdown_report_and_figures(evaluated):
    cfg, report = evaluated
    eval_dir = cfg.run_dir / "eval"
    text = (eval_dir / "report.md").read_text()
    for name in ("AST", "ridge (band stats)", "TRAIN mean", "Song level", "Segment level"):
        assert name in text
    assert f"{report.song['valence']['ccc']:.3f}" in text
    for figure in ("pred_vs_true.png", "va_plane.png"):
        assert (eval_dir / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_without_a_checkpoint_names_train_ast(trained_tiny_run, tmp_path):
    cfg = copied_run(trained_tiny_run, tmp_path)
    (cfg.run_dir / "ast" / "best.pt").unlink()
    with pytest.raises(MissingArtifactError, match="astgan train-ast"):
        evaluate(cfg, progress=False)


def test_evaluate_refuses_features_the_model_was_not_trained_on(trained_tiny_run, tmp_path):
    cfg = copied_run(trained_tiny_run, tmp_path, features={"n_mels": 16})
    with pytest.raises(CheckpointError, match="features.n_mels"):
        evaluate(cfg, progress=False)


def test_cli_evaluate_and_compare(evaluated, tmp_path):
    cfg, _ = evaluated
    other = copied_run(cfg, tmp_path)  # already evaluated: same songs, same predictions
    config_file = tmp_path / "a.yaml"
    config_file.write_text(config_to_yaml(cfg))
    result = invoke("evaluate", "-c", str(config_file), "--compare", str(other.run_dir))
    assert result.exit_code == 0, result.output
    assert "ridge (band stats)" in result.output and "A ahead in" in result.output
    compare = json.loads((cfg.run_dir / "eval" / "compare.json").read_text())
    assert compare["dimensions"]["mean_ccc"]["difference"] == pytest.approx(0.0, abs=1e-9)

    (other.run_dir / "eval" / "predictions.csv").unlink()
    result = invoke("evaluate", "-c", str(config_file), "--compare", str(other.run_dir))
    assert result.exit_code == 1
    assert "astgan evaluate -c" in result.output and "predictions.csv not found" in result.output
