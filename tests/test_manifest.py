"""A manifest CSV for any labelled music: paths relative to its folder, its declared scale, optional
song_id / split / group columns, and the same drop-and-report behaviour as the datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from astgan.data.labels import labels_of
from astgan.data.registry import load_songs
from astgan.errors import DataError
from dataset_folders import write_clip, write_manifest


@pytest.fixture
def lab(tmp_path) -> Path:
    """A lab's folder: songs in album folders (two share a file name), one WAV, one file elsewhere."""
    lab = tmp_path / "lab"
    for name in ("album_a/01.mp3", "album_a/02.mp3", "album_b/01.mp3", "album_b/03.wav", "album_c/04.mp3"):
        write_clip(lab / name)
    write_clip(tmp_path / "elsewhere" / "05.mp3")
    return lab


def test_paths_relative_to_the_manifest_ids_from_file_names_labels_on_its_scale(lab, tmp_path, monkeypatch):
    absolute = tmp_path / "elsewhere" / "05.mp3"
    manifest = write_manifest(lab / "labels" / "manifest.csv", " Path , Valence, AROUSAL , notes", [
        ("../album_a/02.mp3", 80, 20, "x"),
        ("../album_b/03.wav", 0, 100, ""),
        ("../album_c/04.mp3", 50, 50, "y"),
        (absolute, 25, 75, ""),
    ])
    monkeypatch.chdir(tmp_path / "elsewhere")  # paths resolve against the manifest's folder, not the cwd
    table, report = load_songs("manifest", manifest, label_scale=[0, 100])
    assert table.columns.tolist() == ["song_id", "path", "valence", "arousal"]
    assert table["song_id"].tolist() == ["02", "03", "04", "05"]  # manifest order, ids from file names
    assert [Path(p).resolve() for p in table["path"]] == [
        lab / "album_a/02.mp3", lab / "album_b/03.wav", lab / "album_c/04.mp3", absolute]
    np.testing.assert_allclose(labels_of(table), [[0.6, -0.6], [-1, 1], [0, 0], [-0.5, 0.5]], atol=1e-6)
    assert report.n_annotated == 4 and not report.dropped
    assert report.dataset == "manifest" and report.annotation_files == [manifest]


def test_a_folder_root_means_its_manifest_csv(lab):
    write_manifest(lab / "manifest.csv", "path,valence,arousal,song_id", [("album_c/04.mp3", 3, 7, "song-four")])
    table, _ = load_songs("manifest", lab, label_scale=[1, 9])
    assert table["song_id"].tolist() == ["song-four"]
    np.testing.assert_allclose(labels_of(table), [[-0.5, 0.5]])
    with pytest.raises(DataError, match="folder without manifest.csv"):
        load_songs("manifest", lab / "album_a", label_scale=[1, 9])
    with pytest.raises(DataError, match="needs data.label_scale"):
        load_songs("manifest", lab)


def test_missing_columns_are_named(lab):
    manifest = write_manifest(lab / "m.csv", "file,valence,arousal", [("album_a/01.mp3", 3, 4)])
    with pytest.raises(DataError, match=r"no path column; columns found: 'file', 'valence', 'arousal'; a manifest "
                                        r"needs path, valence, arousal \(optional: song_id, split, group\)"):
        load_songs("manifest", manifest, label_scale=[1, 9])


def test_bad_rows_missing_audio_and_duplicate_ids_are_dropped_and_reported(lab):
    (lab / "album_a" / "empty.mp3").write_bytes(b"")
    manifest = write_manifest(lab / "m.csv", "path,valence,arousal,split", [
        ("album_a/01.mp3", 3, 4, "train"),      # 01: also in album_b -> the id is ambiguous
        ("album_b/01.mp3", 5, 6, "train"),
        ("album_a/02.mp3", 3, 4, "Train"),      # split compared without case
        ("album_a/02.mp3", 3, 4, "train"),      # the same row twice: kept once
        ("", 3, 4, "train"),                    # no path
        ("album_b/03.wav", "high", 4, "val"),   # not a number
        ("album_c/04.mp3", 3, 10, "test"),      # off the 1..9 scale
        ("album_c/04.mp3", 3, 4, "holdout"),    # another split
        ("album_c/missing.mp3", 3, 4, "test"),
        ("album_a/empty.mp3", 3, 4, "test"),
    ])
    table, report = load_songs("manifest", manifest, label_scale=[1, 9])
    assert table["song_id"].tolist() == ["02"]
    assert table["split"].tolist() == ["train"]
    reasons = [(d.song_id, d.reason) for d in report.dropped]
    assert reasons == [
        ("row 6", "path missing"),
        ("03", "label missing or not a number"),
        ("04", "label outside 1..9"),
        ("04", "split is not train, val, test"),
        ("01", "duplicate song_id with different path, labels, split or group (song_id defaults to the file "
               "name without extension)"),
        ("missing", "audio file missing"),
        ("empty", "audio file is empty (0 bytes)"),
    ]
    assert report.n_annotated == 10
    assert "dropped 1 song(s), audio file missing: missing" in report.summary()


def test_split_and_group_columns_come_through(lab):
    manifest = write_manifest(lab / "m.csv", "song_id,path,valence,arousal,split,group", [
        ("a1", "album_a/01.mp3", 3, 4, "train", "artist A"),
        ("a2", "album_a/02.mp3", 3, 4, "val", "artist A"),
        ("b1", "album_b/01.mp3", 3, 4, "test", ""),
    ])
    table, _ = load_songs("manifest", manifest, label_scale=[1, 9])
    assert table.columns.tolist() == ["song_id", "path", "valence", "arousal", "split", "group"]
    assert table["split"].tolist() == ["train", "val", "test"]
    assert table["group"].tolist() == ["artist A", "artist A", ""]


def test_max_songs_keeps_the_first_rows_and_nothing_usable_is_an_error(lab):
    rows = [("album_c/04.mp3", 3, 4), ("album_a/01.mp3", 3, 4), ("album_a/02.mp3", 3, 4)]
    manifest = write_manifest(lab / "m.csv", "path,valence,arousal", rows)
    table, _ = load_songs("manifest", manifest, label_scale=[1, 9], max_songs=2)
    assert table["song_id"].tolist() == ["04", "01"]
    bad = write_manifest(lab / "bad.csv", "path,valence,arousal", [("album_c/04.mp3", 30, 4)])
    with pytest.raises(DataError, match="(?s)no usable songs.*label outside 1..9"):
        load_songs("manifest", bad, label_scale=[1, 9])
