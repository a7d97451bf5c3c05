"""The datasets astgan reads by name, and the label scale each one is on.

``data.dataset`` picks the loader: ``deam`` (the default, also the embedded demo's layout),
``pmemo``, ``emomusic`` (the 1000-songs set) or ``manifest`` (a CSV for anything else). Every
loader returns the same song table (labels on -1..1) and drop-and-report summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from astgan.config import DataConfig
from astgan.data import deam, emomusic, pmemo
from astgan.data.annotated_folder import FolderLayout, load_annotated_folder
from astgan.data.labels import LabelScale
from astgan.data.manifest import load_manifest
from astgan.data.song_table import SongTableReport
from astgan.errors import DataError

FOLDER_DATASETS: dict[str, FolderLayout] = {layout.name: layout
                                            for layout in (deam.LAYOUT, pmemo.LAYOUT, emomusic.LAYOUT)}
DATASETS = (*FOLDER_DATASETS, "manifest")
TITLES = {"deam": "DEAM", "pmemo": "PMEmo", "emomusic": "the 1000-songs set", "manifest": "the manifest"}


def _check_name(dataset: str) -> None:
    if dataset not in DATASETS:
        raise DataError(f"data.dataset '{dataset}' is not one astgan reads; expected one of: {', '.join(DATASETS)}")


def dataset_scale(dataset: str, label_scale: Sequence[float] | None = None) -> LabelScale:
    """The scale ``dataset``'s labels are on: a known dataset's own, or a manifest's ``label_scale``.

    A ``label_scale`` given for a known dataset must be its own (a different one would silently
    rescale its labels).
    """
    _check_name(dataset)
    given = None
    if label_scale is not None:
        try:
            lo, hi = (float(v) for v in label_scale)
            given = LabelScale(lo, hi)
        except (TypeError, ValueError):
            raise DataError(f"data.label_scale {label_scale!r}: expected [lo, hi], two numbers with "
                            "lo < hi") from None
    if dataset == "manifest":
        if given is None:
            raise DataError("data.dataset=manifest needs data.label_scale: [lo, hi], the scale of its valence and "
                            "arousal columns (for example [1, 9] or [0, 1])")
        return given
    own = FOLDER_DATASETS[dataset].scale
    if given is not None and given != own:
        raise DataError(f"data.label_scale {given} contradicts {dataset}'s own scale {own}; leave it unset")
    return own


def load_songs(dataset: str, root: str | Path, label_scale: Sequence[float] | None = None,
               max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """The song table of ``dataset`` below ``root`` and the report of what was dropped.

    Table columns: ``song_id`` (str), ``path``, ``valence``, ``arousal`` (on -1..1), plus ``split``
    and ``group`` where a manifest gives them.
    """
    scale = dataset_scale(dataset, label_scale)
    if dataset == "manifest":
        return load_manifest(root, scale, max_songs)
    return load_annotated_folder(FOLDER_DATASETS[dataset], root, max_songs)


def label_scale_of(data: DataConfig) -> LabelScale:
    """The scale of the labels of the dataset a config's ``data`` section names."""
    return dataset_scale(data.dataset, data.label_scale)


def load_song_table(data: DataConfig) -> tuple[pd.DataFrame, SongTableReport]:
    """The song table of the dataset a config's ``data`` section names (see :func:`load_songs`)."""
    return load_songs(data.dataset, data.root, data.label_scale, data.max_songs)


def scale_sentence(data: DataConfig) -> str:
    """Where a number in labels' units lives, for reports: "DEAM's 1..9 scale"."""
    return f"{TITLES[data.dataset]}'s {label_scale_of(data)} scale"
