"""The public Python API: ``import astgan`` stays light, ``astgan.load_model(path).predict(paths)``
gives a DataFrame, and the stages are functions."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import astgan


def _fresh_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_import_astgan_and_the_cli_help_do_not_import_torch():
    done = _fresh_python(
        "import sys, astgan\n"
        "assert callable(astgan.load_model) and callable(astgan.train_ast)\n"  # resolving a name is lazy too
        "from click.testing import CliRunner\n"
        "from astgan.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\n"
        "assert result.exit_code == 0 and 'export' in result.output and 'predict' in result.output\n"
        "heavy = sorted(m for m in ('torch', 'torchaudio', 'transformers', 'pandas', 'librosa') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_api_names_are_documented_and_resolve_lazily():
    from astgan import api

    for name in ("load_model", "load_config", "extract", "train_gan", "synthesize", "train_ast", "evaluate", "export",
                 "predict", "run_study", "Model"):
        assert name in astgan.__all__ and name in dir(astgan)
        assert getattr(astgan, name) is getattr(api, name)
        assert getattr(api, name).__doc__, f"astgan.{name} has no docstring"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        astgan.nothing_here  # noqa: B018


def test_the_version_comes_from_the_package_metadata_or_says_unknown(monkeypatch):
    import importlib.metadata

    from astgan.artifacts import UNKNOWN_VERSION

    assert astgan.__version__ == importlib.metadata.version("astgan")

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)  # a source tree on PYTHONPATH, never installed
    assert astgan.__version__ == UNKNOWN_VERSION == "0+unknown"


def test_load_model_predicts_a_dataframe_like_the_cli_csv(trained_tiny_run, demo_root_small, tmp_path):
    songs = sorted((demo_root_small / "DEAM_audio" / "MEMD_audio").glob("*.mp3"))[:4]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio at all")
    model = astgan.load_model(trained_tiny_run.run_dir, device="cpu")
    assert "32 mel bins x 128 frames" in repr(model)
    assert model.config.features.n_mels == 32

    table = model.predict([*songs, broken], workers=2)
    assert list(table.columns) == ["path", "duration_s", "n_segments", "valence", "arousal"]
    assert table["path"].tolist() == [str(s) for s in songs]  # input order, whatever finished first
    assert table.attrs["failed"].keys() == {str(broken)}
    assert table[["valence", "arousal"]].stack().between(1.0, 9.0).all()
    assert (table["duration_s"] > 7.5).all() and (table["n_segments"] >= 1).all()

    out = tmp_path / "cli.csv"
    result = astgan.predict(trained_tiny_run.run_dir, songs, out=out, progress=False)
    assert len(result.songs) == 4
    csv = pd.read_csv(out).set_index("path")
    assert np.allclose(csv.loc[table["path"], ["valence", "arousal"]], table[["valence", "arousal"]], atol=1e-3)

    segments = model.predict(songs[0], segments=True)
    assert list(segments.columns) == ["path", "start_s", "end_s", "valence", "arousal"]
    assert len(segments) == table["n_segments"].iloc[0]
    assert segments[["valence", "arousal"]].mean().values == pytest.approx(
        table[["valence", "arousal"]].iloc[0].values, abs=1e-6)


def test_stages_take_a_config_name_or_object_and_save_it_in_the_run(trained_tiny_run, tmp_path):
    cfg = astgan.load_config(None, [f"run.dir={tmp_path / 'run'}"])
    assert cfg.run_dir == tmp_path / "run"
    # extract on the tiny config: the song table and split land in the run folder, with its config
    tiny = trained_tiny_run.with_overrides(f"run.dir={tmp_path / 'api-run'}")
    data = astgan.extract(tiny, progress=False)
    assert tiny.paths.songs.is_file() and tiny.paths.config.is_file()
    assert len(data.segments("train")) > 0
    exported = astgan.export(trained_tiny_run.run_dir, tmp_path / "model")
    assert (exported / "model.safetensors").is_file()
    assert astgan.load_model(exported, device="cpu").config.to_dict() == trained_tiny_run.to_dict()


@pytest.mark.slow
def test_the_study_runs_from_python_and_returns_its_tables(demo_root_small, feature_cache_dir, tmp_path):
    import astgan.study  # noqa: F401  (the module beside the function: the name must still resolve)

    result = astgan.run_study("demo", [f"data.root={demo_root_small}", f"run.dir={tmp_path / 'run'}",
                                       f"features.cache_dir={feature_cache_dir}", "study.folds=2",
                                       "study.budgets=[1.0]", "run.device=cpu"], quick=True)
    per_arm = result.predictions.groupby("arm")["song_id"]
    assert set(per_arm.groups) == {"real", "gan", "control", "ridge"}
    assert (per_arm.nunique() == per_arm.count()).all() and per_arm.count().nunique() == 1  # every song once per arm
    assert len(result.table) == 2 * 4  # 2 folds x (3 arms + ridge)
    assert result.paths.report.is_file() and "## Primary verdicts" in result.paths.report.read_text()
