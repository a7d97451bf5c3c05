"""What every dataset loader shares: the song table, the drop-and-report record, and the search.

A loader turns a dataset as distributed into one song table (``SONG_COLUMNS``, labels on -1..1,
plus ``split`` and ``group`` where the dataset gives them) and a :class:`SongTableReport`. A song
whose row cannot be read, whose labels lie off the dataset's scale, whose id is given twice with
different labels, or whose audio file is missing or empty is dropped and reported with its reason:
a user sees every song that did not make it, and labels and audio are matched by id, never by
position.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.data.audio import AUDIO_EXTENSIONS
from astgan.data.labels import DIMENSIONS, LabelScale
from astgan.errors import DataError

SONG_COLUMNS = ["song_id", "path", "valence", "arousal"]

# How deep below data.root the annotation files and audio folders are searched for: DEAM's static
# files sit four folders down, one or two more allow a download unpacked into a folder of its own.
SEARCH_DEPTH = 6


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
    dataset: str = "deam"

    def summary(self, max_ids: int = 5) -> str:
        lines = [
            f"{self.dataset}: {self.n_annotated} annotated songs in {len(self.annotation_files)} file(s); "
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


# --------------------------------------------------------------------------- reading annotation CSVs


def normalise_header(name: str) -> str:
    """A header compared without case or whitespace: ' Valence_Mean ' -> 'valence_mean'."""
    return re.sub(r"\s+", "", str(name)).lower()


def find_column(columns: list[str], role: str, candidates: tuple[str, ...], path: Path) -> str:
    """The column of ``columns`` that plays ``role``: the first of ``candidates`` (normalised) present."""
    normalised = {normalise_header(c): c for c in columns}
    for candidate in candidates:
        if candidate in normalised:
            return normalised[candidate]
    found = ", ".join(repr(c) for c in columns)
    raise DataError(f"{path}: no {role} column; columns found: {found}; expected one of: {', '.join(candidates)}")


def read_csv_as_text(path: Path) -> pd.DataFrame:
    """Every cell of a CSV as text. CRLF, leading-space headers and space-padded values are all
    handled by the C parser with skipinitialspace; cells are converted by the caller."""
    try:
        return pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV ({err})") from None


def label_checks(valence: pd.Series, arousal: pd.Series, scale: LabelScale) -> list[tuple[pd.Series, str]]:
    """(bad-row mask, reason) for labels that are missing, not numbers, or off ``scale``."""
    return [
        (valence.isna() | arousal.isna(), "label missing or not a number"),
        (~scale.contains(valence) | ~scale.contains(arousal), f"label outside {scale}"),
    ]


def apply_checks(ids: pd.Series, checks: list[tuple[pd.Series, str]],
                 source: Path) -> tuple[np.ndarray, list[DroppedSong]]:
    """Run the checks in order; a row is reported once, under the first check it fails.

    Returns the (N,) mask of rows that pass every check and the dropped rows.
    """
    keep = np.ones(len(ids), dtype=bool)
    dropped: list[DroppedSong] = []
    for bad, reason in checks:
        bad = np.asarray(bad, dtype=bool) & keep
        dropped += [DroppedSong(ids.iloc[i] or f"row {i + 2}", reason, str(source)) for i in np.flatnonzero(bad)]
        keep &= ~bad
    return keep, dropped


def read_static_annotations(path: Path, candidates: dict[str, tuple[str, ...]],
                            scale: LabelScale) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """Read one song-level annotation CSV whose song ids are integers.

    ``candidates`` maps each role (song_id, valence, arousal) to the header spellings it may have;
    columns are found by name, so their order does not matter. Returns a frame with ``song_id``
    (str of an int), ``valence`` and ``arousal`` (floats on ``scale``) and the rows dropped.
    """
    raw = read_csv_as_text(path)
    columns = list(raw.columns)
    id_col, v_col, a_col = (find_column(columns, role, candidates[role], path) for role in ("song_id", *DIMENSIONS))
    ids = raw[id_col].str.strip()
    valence = pd.to_numeric(raw[v_col].str.strip(), errors="coerce")
    arousal = pd.to_numeric(raw[a_col].str.strip(), errors="coerce")
    numeric_ids = pd.to_numeric(ids, errors="coerce")
    checks = [(numeric_ids.isna() | (numeric_ids % 1 != 0), "song_id is not an integer"),
              *label_checks(valence, arousal, scale)]
    keep, dropped = apply_checks(ids, checks, path)
    table = pd.DataFrame(
        {
            "song_id": numeric_ids[keep].astype(np.int64).astype(str).to_numpy(),
            "valence": valence[keep].to_numpy(dtype=np.float64),
            "arousal": arousal[keep].to_numpy(dtype=np.float64),
        }
    )
    return table, dropped


def drop_duplicates(table: pd.DataFrame, sources: list[Path], same: list[str],
                    differ: str = "labels") -> tuple[pd.DataFrame, list[DroppedSong]]:
    """Keep one row per song id when its copies agree on the columns ``same``; drop every copy when
    they differ (no way to tell which is right), reported as "... with different ``differ``"."""
    counts = table["song_id"].value_counts()
    duplicated = counts[counts > 1].index
    if len(duplicated) == 0:
        return table, []
    dropped = []
    keep = ~table["song_id"].duplicated(keep="first")
    for song_id in duplicated:
        rows = table[table["song_id"] == song_id]
        if len(rows[same].drop_duplicates()) > 1:
            keep &= table["song_id"] != song_id
            where = ", ".join(map(str, sources))
            dropped.append(DroppedSong(song_id, f"duplicate song_id with different {differ}", where))
    return table[keep].reset_index(drop=True), dropped


# --------------------------------------------------------------------------- audio


def audio_index(audio_dir: Path) -> dict[str, Path]:
    """Map song id -> audio path from one listing of the folder (first extension in AUDIO_EXTENSIONS wins)."""
    def rank(path: Path) -> int:
        suffix = path.suffix.lower()
        return AUDIO_EXTENSIONS.index(suffix) if suffix in AUDIO_EXTENSIONS else len(AUDIO_EXTENSIONS)

    index: dict[str, Path] = {}
    for path in sorted(audio_dir.iterdir(), key=rank):
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file():
            index.setdefault(path.stem.strip(), path)
    return index


def check_audio(path: Path | None, song_id: str, missing_source: str) -> DroppedSong | None:
    """Why a song's audio file cannot be used (missing or empty), or None when it can."""
    if path is None or not path.is_file():
        return DroppedSong(song_id, "audio file missing", missing_source if path is None else str(path))
    if path.stat().st_size == 0:
        return DroppedSong(song_id, "audio file is empty (0 bytes)", str(path))
    return None


def attach_audio(table: pd.DataFrame, audio: dict[str, Path],
                 audio_dir: Path) -> tuple[pd.DataFrame, list[DroppedSong]]:
    """The songs whose audio file exists and is not empty, with a ``path`` column; the others reported."""
    paths, keep, dropped = [], [], []
    for song_id in table["song_id"]:
        path = audio.get(song_id)
        problem = check_audio(path, song_id, str(audio_dir))
        if problem is not None:
            dropped.append(problem)
        keep.append(problem is None)
        paths.append(str(path) if problem is None else "")
    return table.assign(path=paths).loc[np.asarray(keep, dtype=bool)], dropped


def to_unit_labels(table: pd.DataFrame, scale: LabelScale) -> pd.DataFrame:
    """The table with valence and arousal mapped from ``scale`` onto -1..1."""
    return table.assign(valence=scale.to_unit(table["valence"].to_numpy()),
                        arousal=scale.to_unit(table["arousal"].to_numpy()))


# --------------------------------------------------------------------------- finding things below data.root


def search_below(root: Path, matches: Callable[[Path, list[str]], list[Path]],
                 depth: int = SEARCH_DEPTH) -> list[Path]:
    """Every path ``matches(folder, entries)`` returns for the folders at most ``depth`` levels
    below ``root`` (root included), sorted. Hidden folders are skipped; links are followed (audio
    folders are often links), and the depth bound stops any loop."""
    root = Path(root)
    found: list[Path] = []
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root, followlinks=True):
        here = Path(folder)
        found += matches(here, sorted(dirs) + sorted(files))
        if len(here.parts) - base_depth >= depth:
            dirs.clear()
        else:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
    return sorted(found)


def only_match(found: list[Path], what: str, root: Path, expected: str) -> Path:
    """The one path found, or a clear error: none (with where it is expected) or several (listed)."""
    if not found:
        raise DataError(f"no {what} found below {root} (searched {SEARCH_DEPTH} folders deep); expected {expected}")
    if len(found) > 1:
        listed = "\n  ".join(str(p) for p in found)
        raise DataError(f"found {what} in {len(found)} places below {root}, expected one:\n  {listed}\n"
                        "Point data.root at a folder that holds only the copy to use.")
    return found[0]


def check_root(root: Path, hint: str) -> Path:
    """``root`` as a Path, or an error saying it does not exist and what to put there (``hint``,
    in which ``{root}`` stands for the root)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"data.root '{root}' does not exist. {hint.format(root=root)}")
    return root


def finish_table(table: pd.DataFrame, report: SongTableReport, scale: LabelScale, root: Path,
                 max_songs: int | None, extra_columns: list[str]) -> tuple[pd.DataFrame, SongTableReport]:
    """The first ``max_songs`` rows, labels on -1..1, the table's columns in order; an error if empty."""
    if max_songs is not None:
        table = table.head(max_songs)
    table = to_unit_labels(table, scale)[SONG_COLUMNS + extra_columns].reset_index(drop=True)
    if table.empty:
        raise DataError(f"no usable songs under {root} after filtering:\n{report.summary()}")
    return table, report
