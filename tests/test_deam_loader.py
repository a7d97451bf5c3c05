"""The DEAM loader against the real annotation files as shipped, and against broken variants."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from astgan.data.deam import ANNOTATIONS_DIR, AUDIO_DIR, load_song_table, read_annotation_file
from astgan.data.labels import labels_of, to_deam_scale, to_unit_scale
from astgan.errors import DataError

from helpers import FIXTURES

FILE_2013 = FIXTURES / "static_annotations_averaged_songs_1_2000.csv"
FILE_2015 = FIXTURES / "static_annotations_averaged_songs_2000_2058.csv"


def write_tone(path: Path, seconds: float = 0.5, sample_rate: int = 16000) -> None:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sample_rate)


def make_deam(root: Path, csv_texts: dict[str, str] | None = None, audio_ids=(), extension: str = ".wav") -> Path:
    """A folder in DEAM's layout; ``csv_texts`` maps file name -> text (default: the real files)."""
    annotations = root / ANNOTATIONS_DIR
    annotations.mkdir(parents=True)
    if csv_texts is None:
        shutil.copy(FILE_2013, annotations)
        shutil.copy(FILE_2015, annotations)
    else:
        for name, text in csv_texts.items():
            (annotations / name).write_bytes(text.encode())
    audio = root / AUDIO_DIR
    audio.mkdir(parents=True)
    for song_id in audio_ids:
        write_tone(audio / f"{song_id}{extension}")
    return root


def test_real_files_are_read_as_shipped():
    first, dropped_first = read_annotation_file(FILE_2013)
    second, dropped_second = read_annotation_file(FILE_2015)
    assert (len(first), len(second)) == (1744, 58)
    assert not dropped_first and not dropped_second
    assert first["song_id"].iloc[:3].tolist() == ["2", "3", "4"]
    assert first[["valence", "arousal"]].iloc[0].tolist() == [3.1, 3.0]
    # the 13-column 2015 file: valence is 'valence_mean', not the typo column 'valence_ max_mean'
    assert second[["valence", "arousal"]].iloc[0].tolist() == [3.2, 6.6]
    assert second["song_id"].astype(int).between(2001, 2058).all()


def test_real_label_statistics_match_deam():
    files = (FILE_2013, FILE_2015)
    table = np.concatenate([read_annotation_file(f)[0][["valence", "arousal"]].to_numpy() for f in files])
    assert table.shape == (1802, 2)
    assert table[:, 0].mean() == pytest.approx(4.90, abs=0.01)
    assert table[:, 1].mean() == pytest.approx(4.81, abs=0.01)
    assert np.corrcoef(table.T)[0, 1] == pytest.approx(0.57, abs=0.01)


def test_song_table_matches_audio_and_reports_missing(tmp_path):
    root = make_deam(tmp_path, audio_ids=[2, 3, 5, 2001])
    table, report = load_song_table(root)
    assert table["song_id"].tolist() == ["2", "3", "5", "2001"]
    labels = labels_of(table)
    assert labels.shape == (4, 2)
    np.testing.assert_allclose(labels[0], to_unit_scale([3.1, 3.0]))
    assert all(Path(p).exists() for p in table["path"])
    missing = [d for d in report.dropped if d.reason == "audio file missing"]
    assert len(missing) == 1802 - 4
    assert "dropped 1798 song(s), audio file missing: 4, 7, 8, 10, 12, ..." in report.summary()


def test_unit_scale_round_trip():
    values = np.array([1.0, 5.0, 9.0, 3.1])
    np.testing.assert_allclose(to_unit_scale(values), [-1.0, 0.0, 1.0, -0.475])
    np.testing.assert_allclose(to_deam_scale(to_unit_scale(values)), values)


HEADER_VARIANTS = [
    "song_id,valence_mean,valence_std,arousal_mean,arousal_std",
    "song_id, valence_mean, valence_std, arousal_mean, arousal_std",
    "Song_ID,Valence,Arousal",
    "song_id,valence,arousal",
    "  song_id ,  valence_mean  ,  arousal_mean  ",
]


@pytest.mark.parametrize("header", HEADER_VARIANTS)
def test_header_variants_and_padding(tmp_path, header):
    n_cols = header.count(",") + 1
    pad = " " * 3
    rows = []
    for song_id, v, a in [(2, 3.1, 3.0), (3, 6.5, 7.25)]:
        values = [str(song_id), str(v), "1.0", str(a), "1.0"] if n_cols == 5 else [str(song_id), str(v), str(a)]
        rows.append(",".join(f"{pad}{x:>6}" for x in values))
    text = "\r\n".join([header] + rows) + "\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text}, audio_ids=[2, 3])
    table, _ = load_song_table(root)
    np.testing.assert_allclose(labels_of(table), to_unit_scale([[3.1, 3.0], [6.5, 7.25]]))


def test_bad_rows_are_dropped_and_counted_never_misaligned(tmp_path):
    text = "\r\n".join([
        "song_id, valence_mean, arousal_mean",
        "2, 3.1, 3.0",
        "3, NaN, 4.0",       # NaN label
        "4, high, 4.0",      # not a number
        "5, 9.5, 4.0",       # outside 1..9
        "6, 5.0, ",          # empty
        "x7, 5.0, 5.0",      # bad id
        "8, 7.0, 8.0",
    ]) + "\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text}, audio_ids=[2, 3, 4, 5, 6, 8])
    table, report = load_song_table(root)
    assert table["song_id"].tolist() == ["2", "8"]
    np.testing.assert_allclose(labels_of(table), to_unit_scale([[3.1, 3.0], [7.0, 8.0]]))
    assert Path(table["path"].iloc[1]).stem == "8"  # label and audio matched by id
    reasons = {d.song_id: d.reason for d in report.dropped}
    assert reasons == {
        "3": "label missing or not a number",
        "4": "label missing or not a number",
        "6": "label missing or not a number",
        "x7": "song_id is not an integer",
        "5": "label outside 1..9",
    }
    summary = report.summary()
    assert "dropped 3 song(s), label missing or not a number: 3, 4, 6" in summary


def test_duplicate_ids_keep_agreeing_copies_and_drop_conflicts(tmp_path):
    first = "song_id, valence_mean, arousal_mean\r\n2, 3.0, 3.0\r\n3, 4.0, 4.0\r\n"
    second = "song_id, valence_mean, arousal_mean\r\n2, 3.0, 3.0\r\n3, 6.0, 6.0\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": first,
                                "static_annotations_averaged_songs_2000_2058.csv": second}, audio_ids=[2, 3])
    table, report = load_song_table(root)
    assert table["song_id"].tolist() == ["2"]
    assert [d.song_id for d in report.dropped] == ["3"]
    assert "different labels" in report.dropped[0].reason


def test_missing_column_lists_the_columns_found(tmp_path):
    text = "song_id, happiness, arousal_mean\r\n2, 3.0, 3.0\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text}, audio_ids=[2])
    with pytest.raises(DataError, match=r"no valence column; columns found: 'song_id', 'happiness', 'arousal_mean'"):
        load_song_table(root)


@pytest.mark.parametrize("extension", [".wav", ".flac", ".ogg", ".mp3"])
def test_audio_extensions(tmp_path, extension):
    text = "song_id, valence_mean, arousal_mean\r\n2, 3.0, 3.0\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text})
    sf.write(root / AUDIO_DIR / f"2{extension}", np.zeros(8000, np.float32) + 0.1, 16000)
    table, _ = load_song_table(root)
    assert Path(table["path"].iloc[0]).suffix == extension


def test_empty_audio_file_is_dropped(tmp_path):
    text = "song_id, valence_mean, arousal_mean\r\n2, 3.0, 3.0\r\n3, 4.0, 4.0\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text}, audio_ids=[2])
    (root / AUDIO_DIR / "3.mp3").write_bytes(b"")
    table, report = load_song_table(root)
    assert table["song_id"].tolist() == ["2"]
    assert report.dropped[0].reason == "audio file is empty (0 bytes)"


def test_missing_root_and_folders_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match="does not exist.*make-demo-data"):
        load_song_table(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no annotation files"):
        load_song_table(tmp_path / "empty")
    root = make_deam(tmp_path / "noaudio")
    shutil.rmtree(root / AUDIO_DIR)
    with pytest.raises(DataError, match="no audio folder 'MEMD_audio' found below"):
        load_song_table(root)


def test_dataset_empty_after_filtering(tmp_path):
    text = "song_id, valence_mean, arousal_mean\r\n2, NaN, 3.0\r\n"
    root = make_deam(tmp_path, {"static_annotations_averaged_songs_1_2000.csv": text}, audio_ids=[2])
    with pytest.raises(DataError, match="(?s)no usable songs.*label missing"):
        load_song_table(root)


def test_max_songs_keeps_the_first_ids(tmp_path):
    root = make_deam(tmp_path, audio_ids=[10, 2, 2001, 3])
    table, _ = load_song_table(root, max_songs=2)
    assert table["song_id"].tolist() == ["2", "3"]
