"""A manifest CSV: any labelled music, one row per song -> one song table.

Columns (headers compared without case or surrounding spaces; other columns are ignored)::

    path      the audio file, relative to the manifest's folder (or absolute)       required
    valence   on the scale the config declares (data.label_scale: [lo, hi])          required
    arousal   on the same scale                                                      required
    song_id   unique; default: the file name without its extension                   optional
    split     train | val | test: honoured when the run makes its split              optional
    group     artist or album: a group's songs stay in one split and one fold        optional

Rows are kept in the manifest's order. A row without a path, with a label that is not a number or
lies off the scale, with another split than train/val/test, or with a song_id given twice with
different contents, and a song whose audio file is missing or empty, are dropped and reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from astgan.data.labels import LabelScale
from astgan.data.song_table import (
    DroppedSong,
    SongTableReport,
    apply_checks,
    check_audio,
    check_root,
    drop_duplicates,
    finish_table,
    label_checks,
    normalise_header,
    read_csv_as_text,
)
from astgan.data.splits import GIVEN_SPLITS
from astgan.errors import DataError

MANIFEST_NAME = "manifest.csv"  # looked for when data.root is a folder
REQUIRED = ("path", "valence", "arousal")
OPTIONAL = ("song_id", "split", "group")


def find_manifest(root: str | Path) -> Path:
    """The manifest file: ``root`` itself, or ``root/manifest.csv`` when ``root`` is a folder."""
    root = check_root(Path(root), "For a manifest, point data.root at the CSV "
                                  "(path,valence,arousal[,song_id,split,group])")
    if root.is_dir():
        candidate = root / MANIFEST_NAME
        if not candidate.is_file():
            raise DataError(f"data.root '{root}' is a folder without {MANIFEST_NAME}; for data.dataset=manifest "
                            "point data.root at the manifest CSV")
        return candidate
    return root


def _columns(raw: pd.DataFrame, path: Path) -> dict[str, str]:
    """Role -> the manifest's column, for the required and optional columns present."""
    by_name = {normalise_header(c): c for c in raw.columns}
    missing = [c for c in REQUIRED if c not in by_name]
    if missing:
        found = ", ".join(repr(c) for c in raw.columns)
        raise DataError(f"{path}: no {', '.join(missing)} column; columns found: {found}; a manifest needs "
                        f"{', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})")
    return {role: by_name[role] for role in REQUIRED + OPTIONAL if role in by_name}


def read_manifest(path: Path, scale: LabelScale) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """The manifest's readable rows: ``song_id``, ``path`` (as written), ``valence``, ``arousal``
    (on ``scale``), and ``split`` / ``group`` when the manifest has them; and the rows dropped."""
    raw = read_csv_as_text(path)
    columns = _columns(raw, path)
    paths = raw[columns["path"]].str.strip()
    if "song_id" in columns:
        ids = raw[columns["song_id"]].str.strip()
    else:
        ids = pd.Series([Path(p).stem if p else "" for p in paths], index=raw.index, dtype=object)
    valence = pd.to_numeric(raw[columns["valence"]].str.strip(), errors="coerce")
    arousal = pd.to_numeric(raw[columns["arousal"]].str.strip(), errors="coerce")
    checks = [(paths == "", "path missing"), (ids == "", "song_id missing"), *label_checks(valence, arousal, scale)]
    table = pd.DataFrame({"song_id": ids, "path": paths, "valence": valence, "arousal": arousal})
    if "split" in columns:
        table["split"] = raw[columns["split"]].str.strip().str.lower()
        checks.append((~table["split"].isin(GIVEN_SPLITS), f"split is not {', '.join(GIVEN_SPLITS)}"))
    if "group" in columns:
        table["group"] = raw[columns["group"]].str.strip()  # empty: the song is a group of its own
    keep, dropped = apply_checks(ids, checks, path)
    return table[keep].reset_index(drop=True), dropped


def load_manifest(root: str | Path, scale: LabelScale,
                  max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """The songs of a manifest whose audio file exists and is not empty.

    Returns the table (``song_id``, ``path`` (resolved against the manifest's folder), ``valence``,
    ``arousal`` on -1..1, then ``split`` and ``group`` when given; manifest order, ``max_songs``
    keeps the first) and a report of what was dropped and why.
    """
    manifest = find_manifest(root)
    table, dropped = read_manifest(manifest, scale)
    n_annotated = len(table) + len(dropped)
    extra = [c for c in ("split", "group") if c in table.columns]
    table, duplicates = drop_duplicates(table, [manifest], ["path", "valence", "arousal", *extra],
                                        "path, labels, split or group (song_id defaults to the file name "
                                        "without extension)")
    dropped += duplicates

    folder = manifest.parent
    keep, paths = [], []
    for song_id, written in zip(table["song_id"], table["path"]):
        audio = folder / written  # an absolute path stays as written
        problem = check_audio(audio, song_id, str(folder))
        if problem is not None:
            dropped.append(problem)
        keep.append(problem is None)
        paths.append(str(audio))
    table = table.assign(path=paths).loc[np.asarray(keep, dtype=bool)]
    report = SongTableReport([manifest], folder, n_annotated, dropped, 0, "manifest")
    return finish_table(table, report, scale, manifest, max_songs, extra)
