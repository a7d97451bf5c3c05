"""`astgan demo --quick` end to end: every file of the run-folder contract, a well-formed report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers import invoke

pytestmark = pytest.mark.slow  # the whole chain, several training runs

CONFIG = "demo"  # the packaged demo config

CONTRACT = [
    "config.yaml", "songs.csv", "normalization.json", "songs_labels.png", "songs_examples.png",
    "gan/metrics.csv", "gan/generator.pt", "gan/losses.png",
    "synthetic/synthetic.npz", "synthetic/quality.json",
    "ast/best.pt", "ast/history.csv", "ast/curves.png",
    "eval/report.json", "eval/report.md", "eval/predictions.csv", "eval/pred_vs_true.png", "eval/va_plane.png",
    "eval/compare.json", "eval/compare.md", "eval/compare.png",
]
METRICS = {"ccc", "pearson", "r2", "rmse", "mae"}


@pytest.fixture(scope="module")
def quick_demo(demo_root_small, tmp_path_factory):
    """One quick demo (two seeds per arm) on the session's small demo dataset."""
    out = tmp_path_factory.mktemp("quick_demo")
    result = invoke("demo", "--quick", "--seeds", "2", "-c", CONFIG,
                    "--set", f"data.root={demo_root_small}", "--set", f"run.dir={out / 'demo'}",
                    "--set", f"features.cache_dir={out / 'cache'}")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_every_contract_file_exists(quick_demo):
    out, _ = quick_demo
    run = out / "demo"
    missing = [name for name in CONTRACT if not (run / name).is_file()]
    assert not missing
    for twin in ("demo-real-only", "demo-seed1", "demo-seed1-real-only"):
        assert (out / twin / "eval" / "report.json").is_file(), twin
    assert not (out / "demo-real-only" / "synthetic").exists()  # the real-only arm never sees synthetic data


def test_report_is_well_formed(quick_demo):
    out, _ = quick_demo
    report = json.loads((out / "demo" / "eval" / "report.json").read_text())
    for level in ("song", "segment"):
        for dim in ("valence", "arousal"):
            assert set(report[level][dim]) >= METRICS
            assert all(np.isfinite(v) for v in report[level][dim].values())
        assert -1.0 <= report[level]["mean_ccc"] <= 1.0
    assert set(report["baselines"]) == {"mean", "ridge"}
    assert abs(report["baselines"]["mean"]["valence"]["ccc"]) < 1e-6
    predictions = pd.read_csv(out / "demo" / "eval" / "predictions.csv", dtype={"song_id": str})
    songs = pd.read_csv(out / "demo" / "songs.csv", dtype={"song_id": str})
    assert set(predictions["song_id"]) == set(songs.loc[songs["split"] == "test", "song_id"])
    values = predictions[["valence_true", "arousal_true", "valence_pred", "arousal_pred"]].to_numpy()
    assert ((values >= 1) & (values <= 9)).all()


def test_both_arms_share_the_split_and_the_step_count(quick_demo):
    out, _ = quick_demo
    songs = [pd.read_csv(out / run / "songs.csv") for run in ("demo", "demo-real-only", "demo-seed1")]
    assert all(s.equals(songs[0]) for s in songs)
    runs = ("demo", "demo-real-only", "demo-seed1", "demo-seed1-real-only")
    steps = {pd.read_csv(out / run / "ast" / "history.csv")["step"].iloc[-1] for run in runs}
    assert len(steps) == 1  # early stopping is off in the ablation: every run takes the same steps
    for run in runs:
        ast = yaml.safe_load((out / run / "config.yaml").read_text())["ast"]
        assert ast["patience"] >= ast["epochs"], run
    synthetic = np.load(out / "demo" / "synthetic" / "synthetic.npz")
    assert synthetic["specs"].shape[1:] == (64, 256) and synthetic["labels"].shape == (64, 2)
    checkpoint = torch.load(out / "demo" / "ast" / "best.pt", weights_only=True)
    assert checkpoint["config"]["ast"]["synthetic_ratio"] > 0


def test_the_summary_ends_with_the_table_and_the_gan_effect(quick_demo):
    out, output = quick_demo
    compare = json.loads((out / "demo" / "eval" / "compare.json").read_text())
    assert compare["n_seeds"] == 2
    mean = compare["dimensions"]["mean_ccc"]
    assert mean["low"] <= mean["difference"] <= mean["high"]
    tail = output[output.index("Song-level results"):]
    for text in ("AST, real + synthetic (mean of 2 seeds)", "AST, real only", "ridge on band stats", "TRAIN mean",
                 "GAN effect", "seed 1:", "stage timings:", "run folders:"):
        assert text in tail, text
