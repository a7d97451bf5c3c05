"""``astgan train-ast`` end to end on the tiny config: artifacts, equal steps, resume, missing inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from astgan.artifacts import load_checkpoint
from astgan.config import config_to_yaml
from astgan.errors import DataError, MissingArtifactError
from astgan.regressor.model import load_regressor
from astgan.regressor.train import HISTORY_COLUMNS, load_synthetic, train_ast

from helpers import copied_run, invoke, tiny_config


def write_synthetic(run_dir, data, cfg, n: int = 64) -> None:
    """A stand-in for `astgan synthesize`: jittered real TRAIN segments, float16, labels (N, 2)."""
    train = data.segments("train")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(train), n, replace=len(train) < n)
    specs = train.stack(rows) + rng.normal(scale=0.05, size=(n, cfg.features.n_mels, cfg.features.segment_frames))
    (run_dir / "synthetic").mkdir(parents=True, exist_ok=True)
    np.savez(run_dir / "synthetic" / "synthetic.npz", specs=specs.astype(np.float16), labels=train.labels[rows])


def _config(demo_root_small, feature_cache_dir, run_dir, **ast):
    return tiny_config(demo_root_small, run_dir, feature_cache_dir, ast={"epochs": 2, "synthetic_ratio": 0.5, **ast})


@pytest.fixture(scope="module")
def trained_run(demo_root_small, feature_cache_dir, tmp_path_factory, prepared_tiny):
    """A run folder after a 2-epoch augmented train-ast (module-scoped: copy it to change it)."""
    run_dir = tmp_path_factory.mktemp("ast_run") / "run"
    cfg = _config(demo_root_small, feature_cache_dir, run_dir)
    write_synthetic(run_dir, prepared_tiny[1], cfg)
    result = train_ast(cfg, progress=False)
    return cfg, result


def test_train_ast_writes_best_history_and_curves(trained_run):
    cfg, result = trained_run
    out = cfg.run_dir / "ast"
    best = result.best_path
    assert best == out / "best.pt"
    for name in ("best.pt", "last.pt", "history.csv", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2]
    assert [row["epoch"] for row in result.history] == [1, 2]  # the same rows, in memory
    assert result.best_epoch == int(history.loc[history["val_mean_ccc"].idxmax(), "epoch"])
    assert result.steps == int(history["step"].iloc[-1])
    assert np.isfinite(history.drop(columns=["epoch", "step"]).to_numpy()).all()

    ckpt = load_checkpoint(best)
    assert {"model", "config", "ast_config", "normalization", "epoch", "val"} <= set(ckpt)
    assert ckpt["normalization"]["source"] == "train"
    assert ckpt["epoch"] == int(history.loc[history["val_mean_ccc"].idxmax(), "epoch"])
    model, saved_cfg = load_regressor(best)
    assert saved_cfg.to_dict() == cfg.to_dict()
    specs = torch.zeros(2, cfg.features.n_mels, cfg.features.segment_frames)
    assert model(specs).shape == (2, 2)


def test_epochs_take_the_same_steps_with_or_without_synthetic_data(trained_run, demo_root_small, feature_cache_dir,
                                                                   tmp_path, prepared_tiny):
    cfg, _ = trained_run
    n_real = len(prepared_tiny[1].segments("train"))
    augmented = pd.read_csv(cfg.run_dir / "ast" / "history.csv")
    real_only_cfg = _config(demo_root_small, feature_cache_dir, tmp_path / "real", synthetic_ratio=0.0, epochs=1)
    train_ast(real_only_cfg, progress=False)
    real_only = pd.read_csv(tmp_path / "real" / "ast" / "history.csv")
    per_epoch = math.ceil(n_real / cfg.ast.batch_size)
    assert augmented["step"].tolist() == [per_epoch, 2 * per_epoch]
    assert real_only["step"].tolist() == [per_epoch]


def test_resume_continues_the_epoch_count(trained_run, tmp_path):

    resumed = copied_run(trained_run[0], tmp_path)
    run_dir = resumed.run_dir
    before = pd.read_csv(run_dir / "ast" / "history.csv")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config_to_yaml(resumed))

    result = invoke("train-ast", "-c", str(config_path), "--set", "ast.epochs=3", "--resume")
    assert result.exit_code == 0, result.output
    assert "best epoch" in result.output
    after = pd.read_csv(run_dir / "ast" / "history.csv")
    assert after["epoch"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(after.iloc[:2], before)  # the first epochs are kept, not retrained
    assert after["step"].iloc[2] == 3 * before["step"].iloc[0]
    last = load_checkpoint(run_dir / "ast" / "last.pt")
    assert last["epoch"] == 3 and len(last["optimizer"]["state"]) > 0


def test_resume_without_a_last_checkpoint_says_so(tiny_cfg):
    tiny_cfg.ast.synthetic_ratio = 0.0
    with pytest.raises(MissingArtifactError, match="without --resume"):
        train_ast(tiny_cfg, resume=True, progress=False)


def test_missing_synthetic_data_names_the_command_and_the_real_only_option(tiny_cfg):
    tiny_cfg.ast.synthetic_ratio = 1.0
    with pytest.raises(MissingArtifactError, match="astgan synthesize") as info:
        train_ast(tiny_cfg, progress=False)
    assert "ast.synthetic_ratio=0" in str(info.value)


def test_synthetic_with_the_wrong_shape_is_refused(tiny_cfg):
    tiny_cfg.ast.synthetic_ratio = 1.0
    folder = tiny_cfg.run_dir / "synthetic"
    folder.mkdir(parents=True)
    np.savez(folder / "synthetic.npz", specs=np.zeros((4, 64, 128), np.float16), labels=np.zeros((4, 2), np.float32))
    with pytest.raises(DataError, match=r"\(4, 64, 128\), expected \(N, 32, 128\)"):
        load_synthetic(tiny_cfg)
