"""`astgan predict` on WAV and MP3 files at 22.05, 44.1 and 48 kHz, mono and stereo, plus bad files.

Every file holds the same 3 s of a real demo song, so a model must give them nearly the same
prediction whatever the container, rate or channel count.
"""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import soxr
from click.testing import CliRunner

from astgan.cli import main
from astgan.data.audio import load_audio
from astgan.data.features import segment_starts
from astgan.errors import DataError, MissingArtifactError
from astgan.regressor.predict import find_audio_files, predict_files

RATES = (22050, 44100, 48000)
SECONDS = 3.0


@pytest.fixture(scope="module")
def run_dir(trained_tiny_run, tmp_path_factory):
    """A run folder holding only the trained model (predict needs nothing else)."""
    run = tmp_path_factory.mktemp("predict") / "run"
    (run / "ast").mkdir(parents=True)
    shutil.copy(trained_tiny_run.run_dir / "ast" / "best.pt", run / "ast" / "best.pt")
    return run


@pytest.fixture(scope="module")
def audio_dir(demo_root_small, tmp_path_factory):
    """12 good files (2 formats x 3 rates x mono/stereo) in nested folders, a short one, two bad ones."""
    root = tmp_path_factory.mktemp("audio")
    song = sorted((demo_root_small / "DEAM_audio" / "MEMD_audio").glob("*.mp3"))[0]
    source = load_audio(song, 48000)[: int(48000 * SECONDS)]
    for rate in RATES:
        mono = soxr.resample(source, 48000, rate).astype(np.float32)
        for channels in (1, 2):
            data = mono if channels == 1 else np.stack([mono, mono], axis=1)  # mixes back to `mono`
            for ext in ("wav", "mp3"):
                folder = root / ext / f"{rate}"
                folder.mkdir(parents=True, exist_ok=True)
                sf.write(folder / f"clip_{channels}ch.{ext}", data, rate)
    sf.write(root / "short.wav", source[: 48000 // 2], 48000)  # 0.5 s: shorter than one segment
    (root / "broken.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


def test_find_audio_files_searches_folders_recursively(audio_dir, tmp_path):
    files = find_audio_files([audio_dir])
    assert len(files) == 15  # 12 clips, short.wav, broken.mp3, empty.wav; notes.txt is not audio
    assert all(f.suffix in (".wav", ".mp3") for f in files)
    assert find_audio_files([audio_dir / "short.wav", audio_dir]).count(audio_dir / "short.wav") == 1
    with pytest.raises(DataError, match="no such file"):
        find_audio_files([audio_dir / "missing.wav"])
    with pytest.raises(DataError, match="no audio files"):
        find_audio_files([tmp_path])


def test_predicts_every_format_rate_and_layout_and_skips_bad_files(run_dir, audio_dir, tmp_path, caplog):
    out = tmp_path / "out.csv"
    with caplog.at_level(logging.WARNING, logger="astgan"):
        result = predict_files(run_dir, [audio_dir], out=out, progress=False)
    assert sorted(result.failed) == sorted([str(audio_dir / "broken.mp3"), str(audio_dir / "empty.wav")])
    assert "broken.mp3" in caplog.text and "empty.wav" in caplog.text
    table = pd.read_csv(out)
    assert result.csv_path == out
    assert list(table.columns) == ["path", "level", "start_s", "end_s", "valence", "arousal"]
    assert (table["level"] == "song").all() and len(table) == 13
    assert table[["valence", "arousal"]].stack().between(1.0, 9.0).all()
    clips = table[table["path"].str.contains("clip_")]
    assert len(clips) == 12
    assert clips["end_s"].between(SECONDS - 0.05, SECONDS + 0.05).all()
    # the same music in any container, rate or channel layout gets the same prediction
    spread = clips[["valence", "arousal"]].max() - clips[["valence", "arousal"]].min()
    assert (spread < 0.1).all(), spread


def test_timeline_rows_cover_each_file(run_dir, audio_dir, trained_tiny_run, tmp_path):
    files = [audio_dir / "wav" / "44100" / "clip_2ch.wav", audio_dir / "short.wav"]
    result = predict_files(run_dir, files, timeline=True, out=tmp_path / "t.csv", progress=False)
    table = pd.read_csv(tmp_path / "t.csv")
    features = trained_tiny_run.features
    for path, item in zip(files, result.files):
        rows = table[table["path"] == str(path)]
        song, segments = rows[rows["level"] == "song"], rows[rows["level"] == "segment"]
        n_frames = 1 + round((item.duration_s * 1000 - features.frame_length_ms) / features.frame_shift_ms)
        assert len(segments) == len(segment_starts(n_frames, features.segment_frames, features.segment_hop))
        assert (segments["start_s"] < segments["end_s"]).all()
        assert segments["end_s"].max() == pytest.approx(song["end_s"].iloc[0], abs=0.02)
        for dim in ("valence", "arousal"):
            assert song[dim].iloc[0] == pytest.approx(segments[dim].mean(), abs=2e-3)
    short = table[(table["path"] == str(files[1])) & (table["level"] == "segment")]
    assert len(short) == 1 and short["end_s"].iloc[0] == pytest.approx(0.5, abs=0.02)  # padded to one segment
    assert result.figure_path == tmp_path / "t_timeline.png" and result.figure_path.is_file()


def test_cli_writes_the_default_csv_and_fails_only_when_nothing_decodes(run_dir, audio_dir, tmp_path):
    runner = CliRunner()
    clip = audio_dir / "mp3" / "22050" / "clip_1ch.mp3"
    result = runner.invoke(main, ["predict", str(run_dir), str(clip), str(audio_dir / "broken.mp3")])
    assert result.exit_code == 0, result.output
    assert "clip_1ch.mp3" in result.output and "1 file(s) predicted, 1 skipped" in result.output
    assert "broken.mp3" in result.output  # the warning names it
    default_csv = run_dir / "predictions" / "predict.csv"
    assert pd.read_csv(default_csv)["path"].tolist() == [str(clip)]

    result = runner.invoke(main, ["predict", str(run_dir), str(audio_dir / "broken.mp3"), str(audio_dir / "empty.wav")])
    assert result.exit_code == 1
    assert "none of the 2 file(s) could be decoded" in result.output


def test_predict_needs_a_trained_run(audio_dir, tmp_path):
    with pytest.raises(MissingArtifactError, match="astgan train-ast"):
        predict_files(tmp_path, [audio_dir / "short.wav"], progress=False)
