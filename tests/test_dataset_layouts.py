"""Datasets by name, found as people have them: DEAM in both layouts, PMEmo 2019, the 1000-songs
set; each on its own label scale; the same drop-and-report behaviour for all of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from astgan.data.deam import ANNOTATIONS_DIR, AUDIO_DIR
from astgan.data.labels import DEAM_SCALE, LabelScale, labels_of, to_unit_scale
from astgan.data.registry import DATASETS, dataset_scale, load_songs
from astgan.errors import DataError
from dataset_folders import (
    DEAM_2013,
    DEAM_2015,
    emomusic_text,
    make_deam_unzipped,
    make_emomusic,
    make_pmemo,
    place_audio,
    pmemo_text,
)

# --------------------------------------------------------------------------- label scales


def test_each_scale_maps_onto_minus_one_to_one_and_back():
    for scale, values, unit in [
        (LabelScale(1, 9), [1.0, 5.0, 9.0, 3.1], [-1.0, 0.0, 1.0, -0.475]),
        (LabelScale(0, 1), [0.0, 0.5, 1.0, 0.2], [-1.0, 0.0, 1.0, -0.6]),
        (LabelScale(-10, 30), [-10.0, 10.0, 30.0], [-1.0, 0.0, 1.0]),
    ]:
        np.testing.assert_allclose(scale.to_unit(values), unit)
        np.testing.assert_allclose(scale.from_unit(scale.to_unit(values)), values)
    # DEAM's map is exactly (x - 5) / 4 and 4 x + 5: DEAM outputs stay byte-identical
    x = np.random.default_rng(0).uniform(1, 9, 1000)
    assert np.array_equal(DEAM_SCALE.to_unit(x), (x - 5.0) / 4.0)
    assert np.array_equal(DEAM_SCALE.from_unit(x), x * 4.0 + 5.0)
    with pytest.raises(ValueError):
        LabelScale(1, 1)


def test_known_datasets_have_their_own_scale_and_a_manifest_declares_one():
    assert DATASETS == ("deam", "pmemo", "emomusic", "manifest")
    assert str(dataset_scale("deam")) == "1..9" and str(dataset_scale("emomusic")) == "1..9"
    assert str(dataset_scale("pmemo")) == "0..1"
    assert dataset_scale("pmemo", [0, 1]) == LabelScale(0, 1)
    assert dataset_scale("manifest", [-1, 1]) == LabelScale(-1, 1)
    with pytest.raises(DataError, match="contradicts pmemo's own scale 0..1"):
        dataset_scale("pmemo", [1, 9])
    with pytest.raises(DataError, match="manifest needs data.label_scale"):
        dataset_scale("manifest")
    with pytest.raises(DataError, match=r"expected \[lo, hi\]"):
        dataset_scale("manifest", [5, 1])
    with pytest.raises(DataError, match="data.dataset 'deam2' .* deam, pmemo, emomusic, manifest"):
        load_songs("deam2", ".")


# --------------------------------------------------------------------------- DEAM, both layouts


def test_deam_unzipped_side_by_side_reads_the_real_files(tmp_path):
    root = make_deam_unzipped(tmp_path / "official", audio_ids=[2, 3, 2001])
    table, report = load_songs("deam", root)
    assert table["song_id"].tolist() == ["2", "3", "2001"]
    np.testing.assert_allclose(labels_of(table)[[0, 2]], to_unit_scale([[3.1, 3.0], [3.2, 6.6]]))
    assert report.audio_dir == root / "MEMD_audio"
    assert [p.name for p in report.annotation_files] == [DEAM_2013.name, DEAM_2015.name]
    assert report.n_annotated == 1802
    assert "dropped 1799 song(s), audio file missing" in report.summary()


def test_deam_one_folder_deeper_and_through_a_linked_audio_folder(tmp_path):
    elsewhere = tmp_path / "disk" / "MEMD_audio"
    place_audio(elsewhere, [2, 3])
    root = tmp_path / "downloads"
    annotations = root / "DEAM" / ANNOTATIONS_DIR
    annotations.mkdir(parents=True)
    shutil.copy(DEAM_2013, annotations)
    (root / "DEAM" / "DEAM_audio").mkdir()
    (root / "DEAM" / AUDIO_DIR).symlink_to(elsewhere, target_is_directory=True)
    table, report = load_songs("deam", root)
    assert table["song_id"].tolist() == ["2", "3"]
    assert report.audio_dir == root / "DEAM" / AUDIO_DIR


def test_deam_in_two_places_is_an_error_that_lists_them(tmp_path):
    make_deam_unzipped(tmp_path / "copy_a", audio_ids=[2])
    make_deam_unzipped(tmp_path / "copy_b", audio_ids=[2])
    with pytest.raises(DataError, match="(?s)found annotation files .* in 2 places.*copy_a.*copy_b"):
        load_songs("deam", tmp_path)
    # one annotation folder, two audio folders
    root = make_deam_unzipped(tmp_path / "copy_c", audio_ids=[2])
    place_audio(root / "backup" / "MEMD_audio", [2])
    with pytest.raises(DataError, match="(?s)found audio folder 'MEMD_audio' in 2 places.*backup/MEMD_audio"):
        load_songs("deam", root)


def test_deam_missing_pieces_say_where_they_are_expected(tmp_path):
    root = tmp_path / "half"
    place_audio(root / "MEMD_audio", [2])
    with pytest.raises(DataError, match="no annotation files 'static_annotations_averaged_songs.*csv' found below"):
        load_songs("deam", root)
    with pytest.raises(DataError, match="does not exist.*make-demo-data"):
        load_songs("deam", tmp_path / "nowhere")


# --------------------------------------------------------------------------- PMEmo 2019

PMEMO_ROWS = [(1, 0.4, 0.575), (4, 0.2625, 0.2875), (5, 0.15, 0.2), (6, 0.5125, 0.35), (7, 1.0, 0.0)]


def test_pmemo_arousal_before_valence_on_zero_to_one(tmp_path):
    root = make_pmemo(tmp_path, PMEMO_ROWS, audio_ids=[1, 4, 5, 6, 7])
    table, report = load_songs("pmemo", root)
    assert table["song_id"].tolist() == ["1", "4", "5", "6", "7"]
    # musicId 1: Arousal(mean) 0.4, Valence(mean) 0.575 -> valence 2 * 0.575 - 1, arousal 2 * 0.4 - 1
    np.testing.assert_allclose(labels_of(table)[0], [0.15, -0.2], atol=1e-6)
    np.testing.assert_allclose(labels_of(table)[4], [-1.0, 1.0])  # the scale's ends are on it
    assert report.annotation_files == [root / "PMEmo2019" / "annotations" / "static_annotations.csv"]
    assert report.audio_dir == root / "PMEmo2019" / "chorus"
    assert all(Path(p).parent.name == "chorus" and Path(p).suffix == ".mp3" for p in table["path"])


def test_pmemo_drops_and_reports_like_deam(tmp_path):
    text = pmemo_text([
        (1, 0.4, 0.575),
        (2, 0.5, 0.5),       # annotated, but no chorus clip (as for about 27 PMEmo songs)
        (3, 1.2, 0.5),       # off the 0..1 scale
        (4, "", 0.3),        # empty
        ("x5", 0.3, 0.3),    # bad id
        (6, 0.3, 0.3),
        (6, 0.6, 0.6),       # the same musicId twice, with other labels
        (8, 0.7, 0.8),
    ], newline="\r\n")
    root = make_pmemo(tmp_path, [], audio_ids=[1, 3, 4, 6, 8, 9], text=text)
    table, report = load_songs("pmemo", root)
    assert table["song_id"].tolist() == ["1", "8"]
    assert Path(table["path"].iloc[1]).stem == "8"
    reasons = {d.song_id: d.reason for d in report.dropped}
    assert reasons == {
        "3": "label outside 0..1",
        "4": "label missing or not a number",
        "x5": "song_id is not an integer",
        "6": "duplicate song_id with different labels",
        "2": "audio file missing",
    }
    assert report.n_annotated == 8
    assert report.unlabelled_audio == 1  # 9.mp3
    assert "dropped 1 song(s), label outside 0..1: 3" in report.summary()


def test_pmemo_wrong_header_lists_the_columns(tmp_path):
    root = make_pmemo(tmp_path, [], text="musicId,Arousal(mean),Happiness\n1,0.4,0.5\n", audio_ids=[1])
    with pytest.raises(DataError, match=r"no valence column; columns found: 'musicId', 'Arousal\(mean\)'"):
        load_songs("pmemo", root)


# --------------------------------------------------------------------------- the 1000-songs set

EMO_ROWS = [(2, 3.1, 3.0), (3, 3.5, 3.3), (4, 5.7, 5.5), (5, 4.4, 5.3), (7, 5.8, 6.3)]


def test_emomusic_reads_means_not_stds_on_one_to_nine(tmp_path):
    root = make_emomusic(tmp_path / "emoMusic", EMO_ROWS, audio_ids=[2, 3, 4, 5, 7])
    table, report = load_songs("emomusic", root)
    assert table["song_id"].tolist() == ["2", "3", "4", "5", "7"]
    # song 2: mean_arousal 3.1, mean_valence 3.0 (the std columns hold 0.9 and 0.8)
    np.testing.assert_allclose(labels_of(table)[0], to_unit_scale([3.0, 3.1]))
    assert report.audio_dir == root / "clips_45seconds"


def test_emomusic_drops_and_reports(tmp_path):
    text = emomusic_text([(2, 3.1, 3.0), (3, 0.5, 3.0), (4, "n/a", 5.0), (5, 4.4, 5.3), (6, 5.0, 5.0)],
                         header=" song_id, mean_arousal, std_arousal, mean_valence, std_valence", newline="\r\n")
    root = make_emomusic(tmp_path, [], audio_ids=[2, 3, 4, 6], text=text)
    (root / "clips_45seconds" / "6.mp3").write_bytes(b"")
    table, report = load_songs("emomusic", root)
    assert table["song_id"].tolist() == ["2"]
    assert {d.song_id: d.reason for d in report.dropped} == {
        "3": "label outside 1..9", "4": "label missing or not a number",
        "5": "audio file missing", "6": "audio file is empty (0 bytes)"}


def test_two_static_annotation_files_below_one_root_are_listed(tmp_path):
    # PMEmo and the 1000-songs set both name their file static_annotations.csv
    make_pmemo(tmp_path, PMEMO_ROWS, audio_ids=[1])
    make_emomusic(tmp_path / "emoMusic", EMO_ROWS, audio_ids=[2])
    with pytest.raises(DataError, match="(?s)in 2 places.*PMEmo2019/annotations.*emoMusic/annotations"):
        load_songs("pmemo", tmp_path)
    table, _ = load_songs("pmemo", tmp_path / "PMEmo2019")  # pointed at the one copy, it loads
    assert table["song_id"].tolist() == ["1"]


def test_max_songs_keeps_the_first_ids_for_every_folder_dataset(tmp_path):
    root = make_pmemo(tmp_path, PMEMO_ROWS, audio_ids=[7, 1, 5, 4])
    table, _ = load_songs("pmemo", root, max_songs=2)
    assert table["song_id"].tolist() == ["1", "4"]
