"""A dataset shipped as song-level annotation CSV(s) beside a folder of ``<song_id>.<ext>`` audio.

DEAM, PMEmo and the 1000-songs set are all this shape; each declares a :class:`FolderLayout`
(file and folder names, header spellings, label scale) and :func:`load_annotated_folder` does the
rest. Both are found by searching below ``data.root``, so a download unpacked as its authors ship
it, one folder deeper, or with its archives unpacked side by side all load the same; two copies
below one root are an error that lists them, never a silent pick.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.data.labels import DIMENSIONS, LabelScale
from astgan.data.song_table import (
    SongTableReport,
    attach_audio,
    audio_index,
    check_root,
    drop_duplicates,
    finish_table,
    only_match,
    read_static_annotations,
    search_below,
)


@dataclass(frozen=True)
class FolderLayout:
    """How one dataset is distributed: what to search for below ``data.root``, and its labels."""

    name: str
    annotation_glob: str  # the song-level annotation file(s), all in one folder
    audio_folder: str  # the folder of <song_id>.<ext> files (name compared without case)
    scale: LabelScale
    columns: dict[str, tuple[str, ...]]  # role (song_id, valence, arousal) -> header spellings
    annotations_expected: str  # where the dataset keeps the annotation files, for the error
    audio_expected: str  # where it keeps the audio
    root_hint: str  # what data.root should hold, for the error when it does not exist


def find_annotation_files(layout: FolderLayout, root: Path) -> list[Path]:
    """The annotation CSVs of ``layout``: every file matching its glob in the one folder below
    ``root`` that holds such files."""
    def holds_annotations(folder: Path, entries: list[str]) -> list[Path]:
        hit = any(fnmatch.fnmatch(e, layout.annotation_glob) and (folder / e).is_file() for e in entries)
        return [folder] if hit else []

    folder = only_match(search_below(root, holds_annotations), f"annotation files '{layout.annotation_glob}'",
                        root, layout.annotations_expected)
    return sorted(p for p in folder.glob(layout.annotation_glob) if p.is_file())


def find_audio_dir(layout: FolderLayout, root: Path) -> Path:
    """The one folder named ``layout.audio_folder`` below ``root``."""
    wanted = layout.audio_folder.lower()

    def is_audio_folder(folder: Path, entries: list[str]) -> list[Path]:
        return [folder / e for e in entries if e.lower() == wanted and (folder / e).is_dir()]

    return only_match(search_below(root, is_audio_folder), f"audio folder '{layout.audio_folder}'", root,
                      layout.audio_expected)


def load_annotated_folder(layout: FolderLayout, root: str | Path,
                          max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """Read every annotation file of ``layout`` below ``root`` and match each song to its audio file.

    Returns the table (columns ``song_id`` (str), ``path`` (str), ``valence``, ``arousal`` on -1..1,
    sorted by numeric id; ``max_songs`` keeps the first) and a report of what was dropped and why.
    """
    root = check_root(Path(root), layout.root_hint)
    files = find_annotation_files(layout, root)
    audio_dir = find_audio_dir(layout, root)
    parts, dropped = [], []
    for path in files:
        part, bad = read_static_annotations(path, layout.columns, layout.scale)
        parts.append(part)
        dropped += bad
    table = pd.concat(parts, ignore_index=True)
    n_annotated = len(table) + len(dropped)
    table, duplicates = drop_duplicates(table, files, list(DIMENSIONS))
    dropped += duplicates

    audio = audio_index(audio_dir)
    table, missing = attach_audio(table, audio, audio_dir)
    dropped += missing
    unlabelled = len(set(audio) - set(table["song_id"]) - {d.song_id for d in dropped})
    table = table.assign(_order=table["song_id"].astype(np.int64)).sort_values("_order")
    report = SongTableReport(files, audio_dir, n_annotated, dropped, unlabelled, layout.name)
    return finish_table(table, report, layout.scale, root, max_songs, [])
