"""Finding and validating DEAM annotations and audio -> one song table.

Real DEAM ships two static annotation files whose headers have leading spaces, whose lines end in
CRLF, whose values are sometimes space-padded, and one of which has a typo column
(``valence_ max_mean``). The loader reads them as shipped and tolerates common header variants.

A song whose labels cannot be read, or whose audio file is missing or empty, is dropped and
reported with its reason; labels and audio are matched by song id, so nothing can be misaligned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.data.audio import AUDIO_EXTENSIONS
from astgan.data.labels import DIMENSIONS, LABEL_RANGE, to_unit_scale
from astgan.errors import DataError

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

SONG_COLUMNS = ["song_id", "path", "valence", "arousal"]




@dataclass
class DroppedSong:
    song_id: str
    reason: str
    source: str  # the file that holds the bad row, or the audio folder


@dataclass
class SongTableReport:
    """What was read and what was dropped, for the summary a command prints."""

    annotation_files: list[Path]
    audio_dir: Path
    n_annotated: int
    dropped: list[DroppedSong] = field(default_factory=list)
    unlabelled_audio: int = 0

    def summary(self, max_ids: int = 5) -> str:
        lines = [
            f"{self.n_annotated} annotated songs in {len(self.annotation_files)} file(s); "
            f"audio in {self.audio_dir}"
        ]
        by_reason: dict[str, list[str]] = {}
        for item in self.dropped:
            by_reason.setdefault(item.reason, []).append(item.song_id)
        for reason, ids in by_reason.items():
            shown = ", ".join(ids[:max_ids]) + (", ..." if len(ids) > max_ids else "")
            lines.append(f"dropped {len(ids)} song(s), {reason}: {shown}")
        if self.unlabelled_audio:
            lines.append(f"ignored {self.unlabelled_audio} audio file(s) without an annotation row")
        return "\n".join(lines)


def _normalise_header(name: str) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def _find_column(columns: list[str], role: str, path: Path) -> str:
    normalised = {_normalise_header(c): c for c in columns}
    for candidate in COLUMN_CANDIDATES[role]:
        if candidate in normalised:
            return normalised[candidate]
    found = ", ".join(repr(c) for c in columns)
    expected = ", ".join(COLUMN_CANDIDATES[role])
    raise DataError(f"{path}: no {role} column; columns found: {found}; expected one of: {expected}")


def find_annotation_files(root: Path) -> list[Path]:
    """The static (song-level) annotation CSVs under ``root``, in DEAM's place or anywhere below."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"data.root '{root}' does not exist. For the demo run `astgan make-demo-data {root}`; "
            f"for DEAM put the download there (it holds DEAM_audio/ and DEAM_Annotations/)"
        )
    standard = root / ANNOTATIONS_DIR
    files = sorted(standard.glob(ANNOTATION_GLOB)) if standard.is_dir() else []
    if not files and (root / "DEAM_Annotations").is_dir():
        files = sorted((root / "DEAM_Annotations").rglob(ANNOTATION_GLOB))
    if not files:
        raise DataError(
            f"no annotation files '{ANNOTATION_GLOB}' under {root}; expected them in {standard}"
        )
    return files


def read_annotation_file(path: Path) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """Read one static annotation CSV as shipped.

    Returns a frame with columns ``song_id`` (str of an int), ``valence``, ``arousal`` (floats on
    1..9), and the rows dropped for unreadable ids or labels.
    """
    try:
        # CRLF, leading-space headers and space-padded values are all handled by the C parser
        # with skipinitialspace; everything is read as text and converted below.
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV ({err})") from None
    columns = list(raw.columns)
    id_col = _find_column(columns, "song_id", path)
    v_col = _find_column(columns, "valence", path)
    a_col = _find_column(columns, "arousal", path)
    ids = raw[id_col].str.strip()
    valence = pd.to_numeric(raw[v_col].str.strip(), errors="coerce")
    arousal = pd.to_numeric(raw[a_col].str.strip(), errors="coerce")
    numeric_ids = pd.to_numeric(ids, errors="coerce")

    dropped: list[DroppedSong] = []
    keep = np.ones(len(raw), dtype=bool)
    checks = [
        (numeric_ids.isna() | (numeric_ids % 1 != 0), "song_id is not an integer"),
        (valence.isna() | arousal.isna(), "label missing or not a number"),
        (~valence.between(*LABEL_RANGE) | ~arousal.between(*LABEL_RANGE), "label outside 1..9"),
    ]
    for bad, reason in checks:
        bad = bad.to_numpy() & keep
        dropped += [DroppedSong(ids.iloc[i] or f"row {i + 2}", reason, str(path)) for i in np.flatnonzero(bad)]
        keep &= ~bad
    table = pd.DataFrame(
        {
            "song_id": numeric_ids[keep].astype(np.int64).astype(str).to_numpy(),
            "valence": valence[keep].to_numpy(dtype=np.float64),
            "arousal": arousal[keep].to_numpy(dtype=np.float64),
        }
    )
    return table, dropped


def _drop_duplicates(table: pd.DataFrame, sources: list[Path]) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """Keep one row per song id when its copies agree; drop every copy when their labels differ."""
    counts = table["song_id"].value_counts()
    duplicated = counts[counts > 1].index
    if len(duplicated) == 0:
        return table, []
    dropped = []
    keep = ~table["song_id"].duplicated(keep="first")
    for song_id in duplicated:
        rows = table[table["song_id"] == song_id]
        if len(rows[list(DIMENSIONS)].drop_duplicates()) > 1:
            keep &= table["song_id"] != song_id
            where = ", ".join(map(str, sources))
            dropped.append(DroppedSong(song_id, "duplicate song_id with different labels", where))
    return table[keep].reset_index(drop=True), dropped


def _audio_index(audio_dir: Path) -> dict[str, Path]:
    """Map song id -> audio path from one listing of the folder (first extension in AUDIO_EXTENSIONS wins)."""
    index: dict[str, Path] = {}
    for path in sorted(audio_dir.iterdir(), key=lambda p: AUDIO_EXTENSIONS.index(p.suffix.lower())
                       if p.suffix.lower() in AUDIO_EXTENSIONS else len(AUDIO_EXTENSIONS)):
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file():
            index.setdefault(path.stem.strip(), path)
    return index


def find_audio_dir(root: Path) -> Path:
    audio_dir = Path(root) / AUDIO_DIR
    if not audio_dir.is_dir():
        raise DataError(f"audio folder not found: {audio_dir} (DEAM keeps <song_id>.mp3 files there)")
    return audio_dir


def load_song_table(root: str | Path, max_songs: int | None = None) -> tuple[pd.DataFrame, SongTableReport]:
    """Read every annotation file under ``root`` and match each song to its audio file.

    Returns the table (columns ``song_id`` (str), ``path`` (str), ``valence``, ``arousal`` on -1..1,
    sorted by numeric id) and a report of what was dropped and why.
    """
    root = Path(root)
    files = find_annotation_files(root)
    audio_dir = find_audio_dir(root)
    parts, dropped = [], []
    for path in files:
        part, bad = read_annotation_file(path)
        parts.append(part)
        dropped += bad
    table = pd.concat(parts, ignore_index=True)
    n_annotated = len(table) + len(dropped)
    table, duplicate_rows = _drop_duplicates(table, files)
    dropped += duplicate_rows

    audio = _audio_index(audio_dir)
    paths, keep = [], []
    for song_id in table["song_id"]:
        path = audio.get(song_id)
        if path is None:
            dropped.append(DroppedSong(song_id, "audio file missing", str(audio_dir)))
        elif path.stat().st_size == 0:
            dropped.append(DroppedSong(song_id, "audio file is empty (0 bytes)", str(path)))
            path = None
        keep.append(path is not None)
        paths.append(str(path) if path is not None else "")
    table = table.assign(path=paths).loc[np.asarray(keep, dtype=bool)]
    unlabelled = len(set(audio) - set(table["song_id"]) - {d.song_id for d in dropped})

    table = table.assign(_order=table["song_id"].astype(np.int64)).sort_values("_order")
    if max_songs is not None:
        table = table.head(max_songs)
    table = table.assign(
        valence=to_unit_scale(table["valence"].to_numpy()),
        arousal=to_unit_scale(table["arousal"].to_numpy()),
    )[SONG_COLUMNS].reset_index(drop=True)
    report = SongTableReport(files, audio_dir, n_annotated, dropped, unlabelled)
    if table.empty:
        raise DataError(f"no usable songs under {root} after filtering:\n{report.summary()}")
    return table, report
