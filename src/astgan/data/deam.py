"""DEAM (MediaEval 2015-2017, 1,802 songs) as distributed -> one song table.

Real DEAM ships two static annotation files whose headers have leading spaces, whose lines end in
CRLF, whose values are sometimes space-padded, and one of which has a typo column
(``valence_ max_mean``). The loader reads them as shipped and tolerates common header variants.

Copies unpack in two layouts, and both are found by searching below ``data.root``::

    DEAM_Annotations/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_*.csv
    DEAM_audio/MEMD_audio/<song_id>.mp3

    annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_*.csv
    MEMD_audio/<song_id>.mp3

Labels are on 1..9; inside astgan on -1..1 by (x - 5) / 4.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from astgan.data.annotated_folder import FolderLayout, load_annotated_folder
from astgan.data.annotated_folder import find_annotation_files as _find_annotation_files
from astgan.data.annotated_folder import find_audio_dir as _find_audio_dir
from astgan.data.labels import DEAM_SCALE
from astgan.data.song_table import SONG_COLUMNS, DroppedSong, SongTableReport, read_static_annotations

__all__ = ["ANNOTATIONS_DIR", "AUDIO_DIR", "LAYOUT", "SONG_COLUMNS", "DroppedSong", "SongTableReport",
           "find_annotation_files", "find_audio_dir", "load_song_table", "read_annotation_file"]

# The layout as the official archives unpack (and as the demo generator writes it).
ANNOTATIONS_DIR = Path("DEAM_Annotations") / "annotations" / "annotations averaged per song" / "song_level"
AUDIO_DIR = Path("DEAM_audio") / "MEMD_audio"
ANNOTATION_GLOB = "static_annotations_averaged_songs*.csv"

# Header spellings seen in DEAM copies and derived datasets, compared after normalising
# (lower case, spaces removed). "valence_max_mean" (the 2015 typo column) must not match.
COLUMN_CANDIDATES = {
    "song_id": ("song_id", "songid", "song", "id"),
    "valence": ("valence_mean", "valence", "mean_valence", "valencemean", "v_mean"),
    "arousal": ("arousal_mean", "arousal", "mean_arousal", "arousalmean", "a_mean"),
}

LAYOUT = FolderLayout(
    name="deam",
    annotation_glob=ANNOTATION_GLOB,
    audio_folder=AUDIO_DIR.name,
    scale=DEAM_SCALE,
    columns=COLUMN_CANDIDATES,
    annotations_expected=f"them in <data.root>/{ANNOTATIONS_DIR} (or annotations/... directly under it)",
    audio_expected=f"DEAM's <song_id>.mp3 files in <data.root>/{AUDIO_DIR} (or MEMD_audio/ directly under it)",
    root_hint="For the demo run `astgan make-demo-data {root}`; for DEAM put the download there "
              "(it holds DEAM_audio/ and DEAM_Annotations/, or MEMD_audio/ and annotations/)",
)


def find_annotation_files(root: str | Path) -> list[Path]:
    """DEAM's static (song-level) annotation CSVs: all in the one folder below ``root`` that has them."""
    return _find_annotation_files(LAYOUT, Path(root))


def find_audio_dir(root: str | Path) -> Path:
    """DEAM's one ``MEMD_audio`` folder below ``root``."""
    return _find_audio_dir(LAYOUT, Path(root))


def read_annotation_file(path: Path) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """Read one static annotation CSV as shipped.

    Returns a frame with columns ``song_id`` (str of an int), ``valence``, ``arousal`` (floats on
    1..9), and the rows dropped for unreadable ids or labels.
    """
    return read_static_annotations(Path(path), COLUMN_CANDIDATES, DEAM_SCALE)


def load_song_table(root: str | Path, max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """Read every DEAM annotation file below ``root`` and match each song to its audio file.

    Returns the table (columns ``song_id`` (str), ``path`` (str), ``valence``, ``arousal`` on -1..1,
    sorted by numeric id) and a report of what was dropped and why.
    """
    return load_annotated_folder(LAYOUT, root, max_songs)
