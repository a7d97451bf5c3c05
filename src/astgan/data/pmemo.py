"""PMEmo 2019 (794 songs, about 767 with audio) as distributed -> one song table.

Found by searching below ``data.root``::

    PMEmo2019/annotations/static_annotations.csv   musicId,Arousal(mean),Valence(mean)  (0..1)
    PMEmo2019/chorus/<musicId>.mp3                 chorus clips, about 30 s, 44.1 kHz stereo

Arousal comes before valence in the file; columns are found by name, never by position. The files
beside it (``static_annotations_std.csv``, ``dynamic_annotations.csv``, ``metadata.csv``) are not
read. Labels are on 0..1; inside astgan on -1..1 by 2 x - 1. Songs annotated without a chorus
clip are dropped and reported, as for every dataset.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from astgan.data.annotated_folder import FolderLayout, load_annotated_folder
from astgan.data.labels import LabelScale
from astgan.data.song_table import SongTableReport

SCALE = LabelScale(0.0, 1.0)

LAYOUT = FolderLayout(
    name="pmemo",
    annotation_glob="static_annotations.csv",
    audio_folder="chorus",
    scale=SCALE,
    columns={
        "song_id": ("musicid", "music_id", "song_id", "id"),
        "valence": ("valence(mean)", "valence_mean", "valence"),
        "arousal": ("arousal(mean)", "arousal_mean", "arousal"),
    },
    annotations_expected="it in <data.root>/PMEmo2019/annotations/static_annotations.csv",
    audio_expected="PMEmo's <musicId>.mp3 chorus clips in <data.root>/PMEmo2019/chorus",
    root_hint="Put the PMEmo 2019 download there (it holds PMEmo2019/annotations/ and PMEmo2019/chorus/)",
)


def load_song_table(root: str | Path, max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """PMEmo's songs with a chorus clip: ``song_id``, ``path``, ``valence``, ``arousal`` on -1..1,
    sorted by musicId; and the report of what was dropped."""
    return load_annotated_folder(LAYOUT, root, max_songs)
