"""`astgan predict` on WAV and MP3 files at 22.05, 44.1 and 48 kHz, mono and stereo, plus bad files;
and what a music library needs: decoding workers, batches across files, a CSV that resumes after a
kill, a short terminal summary, and shares of the files for several processes.

Every clip holds the same 3 s of a real demo song, so a model must give them nearly the same
prediction whatever the container, rate or channel count.
"""

from __future__ import annotations

import logging
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import soxr
import torch

from astgan.data.audio import load_audio
from astgan.data.features import segment_starts
from astgan.errors import DataError, MissingArtifactError
from astgan.regressor import predict as predict_module
from astgan.regressor.inference import load_trained
from astgan.regressor.library import find_audio_files, segmented_files, shard_files
from astgan.regressor.predict import predict_files, predict_stream
from astgan.regressor.prediction_csv import HEADER, part_path, read_rows

from helpers import invoke

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


@pytest.fixture(scope="module")
def songs(demo_root_small):
    """The 24 demo songs (8..12 s each): a small library of different music."""
    return sorted((demo_root_small / "DEAM_audio" / "MEMD_audio").glob("*.mp3"))


@pytest.fixture(scope="module")
def reference(run_dir, songs, tmp_path_factory):
    """The demo songs predicted the plain way (decoding here, one file after the other), with segments."""
    out = tmp_path_factory.mktemp("reference") / "reference.csv"
    predict_files(run_dir, songs, timeline=True, out=out, progress=False, workers=0)
    return pd.read_csv(out)


def _by_path(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["path", "level", "start_s"]).reset_index(drop=True)


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
    for path, (_, duration, n_segments, _, _) in zip(files, result.songs):
        rows = table[table["path"] == str(path)]
        song, segments = rows[rows["level"] == "song"], rows[rows["level"] == "segment"]
        n_frames = 1 + round((duration * 1000 - features.frame_length_ms) / features.frame_shift_ms)
        expected = segment_starts(n_frames, features.segment_frames, features.segment_hop)
        assert len(segments) == n_segments == len(expected)
        assert (segments["start_s"] < segments["end_s"]).all()
        assert segments["end_s"].max() == pytest.approx(song["end_s"].iloc[0], abs=0.02)
        for dim in ("valence", "arousal"):
            assert song[dim].iloc[0] == pytest.approx(segments[dim].mean(), abs=2e-3)
    short = table[(table["path"] == str(files[1])) & (table["level"] == "segment")]
    assert len(short) == 1 and short["end_s"].iloc[0] == pytest.approx(0.5, abs=0.02)  # padded to one segment
    assert result.figure_path == tmp_path / "t_timeline.png" and result.figure_path.is_file()


def test_cli_writes_the_default_csv_and_fails_only_when_nothing_decodes(run_dir, audio_dir, tmp_path):
    clip = audio_dir / "mp3" / "22050" / "clip_1ch.mp3"
    result = invoke("predict", run_dir, clip, audio_dir / "broken.mp3")
    assert result.exit_code == 0, result.output
    assert "clip_1ch.mp3" in result.output and "1 skipped (cannot decode)" in result.output
    assert "broken.mp3" in result.output  # the warning names it
    default_csv = run_dir / "predictions" / "predict.csv"
    assert pd.read_csv(default_csv)["path"].tolist() == [str(clip)]
    assert f"all rows: {default_csv}" in result.output

    result = invoke("predict", run_dir, audio_dir / "broken.mp3", audio_dir / "empty.wav")
    assert result.exit_code == 1
    assert "none of the 2 file(s) could be decoded" in result.output


def test_predict_needs_a_trained_run(audio_dir, tmp_path):
    with pytest.raises(MissingArtifactError, match="astgan train-ast"):
        predict_files(tmp_path, [audio_dir / "short.wav"], progress=False)


# --------------------------------------------------------------------------- at library scale


def test_terminal_shows_a_song_level_summary_and_the_csv_holds_the_segments(run_dir, songs, reference, tmp_path):
    out = tmp_path / "library.csv"
    result = invoke("predict", run_dir, *songs, "--timeline", "--out", out, "--workers", "0")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    n_segments = int((table["level"] == "segment").sum())
    assert n_segments > 2 * len(songs)
    # a summary of the 24 songs: a handful of lines, not one per file or segment
    assert len(result.stdout.strip().splitlines()) < 12, result.stdout
    assert "song level (1..9) over 24 files" in result.stdout and "files/s" in result.stdout
    assert f"all rows: {out}" in result.stdout
    assert _by_path(table).equals(_by_path(reference))


def test_workers_and_batches_across_files_give_the_same_predictions(run_dir, songs, reference, tmp_path):
    out = tmp_path / "workers.csv"
    predict_files(run_dir, songs, timeline=True, out=out, progress=False, workers=2, batch_size=5)
    table = pd.read_csv(out)
    assert set(table["path"]) == set(reference["path"]) and len(table) == len(reference)
    left, right = _by_path(table), _by_path(reference)
    assert (left[["path", "level", "start_s", "end_s"]] == right[["path", "level", "start_s", "end_s"]]).all().all()
    assert np.allclose(left[["valence", "arousal"]], right[["valence", "arousal"]], atol=2e-3)  # CSV rounding


def test_predict_stream_mixes_files_in_a_batch_and_returns_them_in_order(run_dir, songs):
    trained = load_trained(run_dir, torch.device("cpu"))
    files = list(segmented_files(songs[:4], trained.config.features, trained.normalization))
    whole = [p.segments for p in predict_stream(trained, files, batch_size=1000)]  # one batch of all files
    counts = [len(f.specs) for f in files]
    assert len(whole) == 4 and [len(s) for s in whole] == counts
    small = list(predict_stream(trained, files, batch_size=3))  # 3 never divides the files' segment counts
    assert [str(p.path) for p in small] == [f.path for f in files]
    for a, b in zip(small, whole):
        assert np.allclose(a.segments, b, atol=1e-5)


def test_resume_skips_the_files_already_in_the_csv(run_dir, songs, tmp_path):
    out = tmp_path / "resume.csv"
    first = predict_files(run_dir, songs[:5], out=out, progress=False)
    assert len(first.songs) == 5
    marked = pd.read_csv(out)
    marked.loc[marked["path"] == str(songs[0]), "valence"] = 1.234  # a value only the old row can have
    marked.to_csv(out, index=False)
    second = predict_files(run_dir, songs[:8], out=out, progress=False, resume=True)
    assert second.n_resumed == 5 and len(second.songs) == 3
    table = pd.read_csv(out)
    assert len(table) == 8 and table["path"].is_unique
    assert table.loc[table["path"] == str(songs[0]), "valence"].item() == 1.234
    # without --resume the CSV starts again
    third = predict_files(run_dir, songs[:2], out=out, progress=False)
    assert third.n_resumed == 0 and len(pd.read_csv(out)) == 2


def test_a_write_cut_by_a_kill_is_repaired_and_its_file_predicted_again(run_dir, songs, tmp_path):
    out = tmp_path / "killed.csv"
    predict_files(run_dir, songs[:3], timeline=True, out=out, progress=False)
    whole = out.read_text()
    cut = whole[: whole.rfind("\n", 0, len(whole) - 1) + 9]  # the last segment row cut after 8 characters
    out.write_text(cut)
    kept = read_rows(out)
    assert set(kept["path"]) == {str(songs[0]), str(songs[1])}  # the cut file's rows are dropped ...
    result = predict_files(run_dir, songs[:3], timeline=True, out=out, progress=False, resume=True)
    assert result.n_resumed == 2 and [row[0] for row in result.songs] == [str(songs[2])]  # ... and it is redone
    assert out.read_text() == whole


def test_a_csv_of_another_kind_is_never_appended_to(run_dir, songs, tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("song_id,valence\n1,5\n")
    with pytest.raises(DataError, match="not an astgan predictions CSV"):
        predict_files(run_dir, songs[:1], out=out, progress=False, resume=True)
    assert out.read_text() == "song_id,valence\n1,5\n"


def test_shares_of_files_cover_the_list_once_and_balance_the_bytes(songs):
    shares = [shard_files(songs, rank, 3) for rank in range(3)]
    assert sorted(sum(shares, [])) == sorted(songs)
    assert all(len(set(a) & set(b)) == 0 for i, a in enumerate(shares) for b in shares[i + 1:])
    sizes = [sum(f.stat().st_size for f in share) for share in shares]
    assert max(sizes) - min(sizes) <= max(f.stat().st_size for f in songs)
    assert shares[1] == [f for f in songs if f in shares[1]]  # each share keeps the input order
    assert shard_files(songs, 0, 1) == songs


def test_processes_write_parts_and_the_main_one_merges_them(run_dir, songs, reference, tmp_path, monkeypatch):
    """Two processes of ``accelerate launch``, played one after the other in this process."""
    out = tmp_path / "merged.csv"
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (1, 0):  # the main process finishes last, as it waits for the others
        monkeypatch.setenv("RANK", str(rank))
        state = SimpleNamespace(device=torch.device("cpu"), is_main_process=rank == 0, wait_for_everyone=lambda: None)
        monkeypatch.setattr(predict_module, "_distributed_state", lambda device, world, state=state: state)
        result = predict_files(run_dir, songs, timeline=True, out=out, progress=False)
        if rank == 1:
            part = read_rows(part_path(out, 1, 2))
            assert 0 < part["path"].nunique() < len(songs) and not out.exists()
    assert not part_path(out, 0, 2).exists() and not part_path(out, 1, 2).exists()
    assert out.read_text().startswith(HEADER)
    assert _by_path(pd.read_csv(out)).equals(_by_path(reference))
    assert len(result.songs) == len(songs)  # the main process reports the whole job


@pytest.mark.slow
def test_two_launched_processes_share_the_files(run_dir, songs, reference, tmp_path):
    """The real thing on the CPU: two processes joined by torch.distributed (gloo).

    ``accelerate launch --multi_gpu`` starts its processes with this same launcher (torchrun);
    on the CPU accelerate would need mpirun, so the test calls the launcher itself.
    """
    import os
    import subprocess
    import sys

    out = tmp_path / "launched.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "astgan", "predict", str(run_dir), *map(str, songs), "--timeline", "--out", str(out),
               "--workers", "0"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "with 2 processes" in done.stdout
    assert _by_path(pd.read_csv(out)).equals(_by_path(reference))


def test_a_job_array_predicts_shares_into_parts_and_resume_merges_them_and_fills_the_gaps(run_dir, songs,
                                                                                            reference, tmp_path):
    """``--shard I/N`` per array task; one task never ran; ``--resume`` merges and predicts its files."""
    out = tmp_path / "library.csv"
    for i in (0, 2):  # task 1 of 3 died before it wrote anything
        result = invoke("predict", run_dir, *songs, "--out", out, "--timeline", "--workers", "0", "--shard", f"{i}/3")
        assert result.exit_code == 0, result.output
        assert part_path(out, i, 3).is_file() and f"all rows: {part_path(out, i, 3)}" in result.output
    parts = [set(read_rows(part_path(out, i, 3))["path"]) for i in (0, 2)]
    assert parts[0] == {str(f) for f in shard_files(songs, 0, 3)} and not parts[0] & parts[1]
    assert not out.exists()

    merged = invoke("predict", run_dir, *songs, "--out", out, "--timeline", "--workers", "0", "--resume")
    assert merged.exit_code == 0, merged.output
    assert f"{len(parts[0]) + len(parts[1])} already in the CSV" in merged.output
    assert not list(tmp_path.glob("library.part-*"))
    assert _by_path(pd.read_csv(out)).equals(_by_path(reference))


@pytest.mark.parametrize("shard", ["3/3", "1", "a/2", "-1/2"])
def test_a_shard_outside_its_count_is_refused(run_dir, songs, tmp_path, shard):
    result = invoke("predict", run_dir, songs[0], "--out", tmp_path / "x.csv", "--shard", shard)
    assert result.exit_code == 2 and "0 <= I < N" in result.output
