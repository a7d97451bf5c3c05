"""The 1000-songs set (MediaEval 2013 "Emotion in Music", 744 usable songs) -> one song table.

Found by searching below ``data.root``::

    annotations/static_annotations.csv   song_id,mean_arousal,std_arousal,mean_valence,std_valence  (1..9)
    clips_45seconds/<song_id>.mp3        45 s clips

Arousal comes before valence in the file; columns are found by name, and the std columns are
never read as labels. Labels are on 1..9, like DEAM's; inside astgan on -1..1 by (x - 5) / 4.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from astgan.data.annotated_folder import FolderLayout, load_annotated_folder
from astgan.data.labels import LabelScale
from astgan.data.song_table import SongTableReport

SCALE = LabelScale(1.0, 9.0)

LAYOUT = FolderLayout(
    name="emomusic",
    annotation_glob="static_annotations.csv",
    audio_folder="clips_45seconds",
    scale=SCALE,
    columns={
        "song_id": ("song_id", "songid", "id"),
        "valence": ("mean_valence", "valence_mean", "valence"),
        "arousal": ("mean_arousal", "arousal_mean", "arousal"),
    },
    annotations_expected="it in <data.root>/annotations/static_annotations.csv",
    audio_expected="the <song_id>.mp3 clips in <data.root>/clips_45seconds",
    root_hint="Put the 1000-songs download there (it holds annotations/ and clips_45seconds/)",
)


def load_song_table(root: str | Path, max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """The 1000-songs set's songs with a clip: ``song_id``, ``path``, ``valence``, ``arousal`` on
    -1..1, sorted by song_id; and the report of what was dropped."""
    return load_annotated_folder(LAYOUT, root, max_songs)
