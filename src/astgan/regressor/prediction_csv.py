"""The CSV that ``astgan predict`` writes, built to survive a kill and to be resumed.

One row per file (``level`` = song) and, with ``--timeline``, one more per segment (``level`` =
segment), valence and arousal on DEAM's 1..9 scale::

    path, level, start_s, end_s, valence, arousal

A file's rows (its song row, then its segment rows) are appended with a single ``os.write`` as
soon as the file is predicted, so a killed run keeps every file it finished. A kill during that
write can only leave the last line unfinished; whoever reads the CSV back drops that line and the
rows of the last file before it (which may be incomplete), and that file is predicted again.

Under ``accelerate launch`` every process appends to its own part, ``<stem>.part-<rank>-of-<n>.csv``
beside the CSV, and the main process merges the parts into the CSV at the end (``merge_parts``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from astgan.artifacts import write_text
from astgan.errors import DataError

CSV_COLUMNS = ["path", "level", "start_s", "end_s", "valence", "arousal"]
HEADER = ",".join(CSV_COLUMNS) + "\n"


def part_path(csv_path: Path, rank: int, world_size: int) -> Path:
    """Where process ``rank`` of ``world_size`` writes its rows."""
    return csv_path.with_name(f"{csv_path.stem}.part-{rank}-of-{world_size}{csv_path.suffix}")


def existing_parts(csv_path: Path) -> list[Path]:
    """Parts left beside ``csv_path`` by this or an earlier (interrupted) multi-process run."""
    return sorted(csv_path.parent.glob(f"{csv_path.stem}.part-*-of-*{csv_path.suffix}"))


def rows_text(rows: list[list]) -> str:
    """CSV text (no header) of rows in CSV_COLUMNS order; paths with commas or quotes are quoted."""
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=CSV_COLUMNS).to_csv(buffer, index=False, header=False, float_format="%.3f",
                                                   lineterminator="\n")
    return buffer.getvalue()


def read_rows(path: Path) -> pd.DataFrame:
    """The complete rows of a predictions CSV (see the module doc for what an interrupted write leaves).

    A missing file reads as no rows; a file with other columns is an error naming them.
    """
    if not path.is_file():
        return pd.DataFrame(columns=CSV_COLUMNS)
    text = path.read_text()
    if not text.startswith(HEADER):
        first = text.splitlines()[0] if text else "(empty)"
        raise DataError(f"{path} is not an astgan predictions CSV (header {first!r}, expected {HEADER.strip()!r}); "
                        "choose another --out, or delete the file to start again")
    complete = text.endswith("\n")
    body = text[len(HEADER):] if complete else text[len(HEADER):text.rfind("\n") + 1]
    table = pd.read_csv(io.StringIO(HEADER + body), dtype={"path": str, "level": str})
    if not complete and len(table):  # the last file's write was cut: its rows may be incomplete
        table = table[table["path"] != table["path"].iloc[-1]]
    return table.reset_index(drop=True)


def done_paths(table: pd.DataFrame) -> set[str]:
    """Paths whose song row is in ``table``: predicted, to be skipped by ``--resume``."""
    return set(table.loc[table["level"] == "song", "path"])


class PredictionWriter:
    """Appends each file's rows to ``target`` as one write (a part under ``accelerate launch``).

    ``resume``: keep what ``target`` holds (repaired if a kill cut its last write); otherwise it
    starts again with only the header.
    """

    def __init__(self, target: Path, resume: bool):
        self.target = Path(target)
        kept = read_rows(self.target) if resume else pd.DataFrame(columns=CSV_COLUMNS)
        write_text(self.target, HEADER + (rows_text(kept.values.tolist()) if len(kept) else ""))
        self._fd = os.open(self.target, os.O_WRONLY | os.O_APPEND)

    def append(self, rows: list[list]) -> None:
        """One file's rows, in one ``os.write``: a kill leaves all of them or a cut last line."""
        data = rows_text(rows).encode()
        while data:  # a regular file takes it in one call; loop only for a short write (full disk)
            data = data[os.write(self._fd, data):]

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def merge_parts(csv_path: Path, parts: list[Path], keep_csv: bool) -> pd.DataFrame:
    """Write ``csv_path`` (atomically) = its own rows (with ``keep_csv``) + every part's; delete the parts.

    A file predicted twice (in two parts) keeps its last rows. Returns the merged table.
    """
    tables = ([read_rows(csv_path)] if keep_csv else []) + [read_rows(p) for p in parts]
    tables = [t for t in tables if len(t)]
    merged = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=CSV_COLUMNS)
    if len(merged):
        # a file's rows are one group that starts at its song row; keep each file's last group
        group = (merged["level"] == "song").cumsum()
        merged = merged[group == group.groupby(merged["path"]).transform("max")].reset_index(drop=True)
    write_text(csv_path, HEADER + (rows_text(merged.values.tolist()) if len(merged) else ""))
    for part in parts:
        part.unlink(missing_ok=True)
    return merged
