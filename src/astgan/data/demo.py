"""The embedded demo dataset: procedural music in exactly DEAM's folder layout.

No DEAM download is reachable on a fresh machine, so :func:`write_demo_dataset` writes a small
folder that the DEAM loader reads unchanged::

    <out>/DEAM_audio/MEMD_audio/<song_id>.mp3
    <out>/DEAM_Annotations/annotations/annotations averaged per song/song_level/
        static_annotations_averaged_songs_1_2000.csv      (5 columns, ids from 2)
        static_annotations_averaged_songs_2000_2058.csv   (13 columns, ids from 2001)

The labels are drawn like DEAM's (resampled real label pairs plus a small jitter) and they really
drive the sound (see :mod:`astgan.data.demo_music`), so a model trained on the demo learns
something measurable.

Everything is deterministic by ``seed``: labels, file formats and every synthesis parameter come
from one :class:`numpy.random.SeedSequence`, independent of the number of worker processes.
"""

from __future__ import annotations

import importlib.resources
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from astgan.artifacts import atomic_path
from astgan.data.demo_music import render_song
from astgan.data.labels import DIMENSIONS
from astgan.errors import AstganError

__all__ = ["DemoSummary", "write_demo_dataset", "read_demo_labels", "is_written"]

# --------------------------------------------------------------------------- layout (as DEAM)

AUDIO_DIR = Path("DEAM_audio", "MEMD_audio")
ANNOTATION_DIR = Path("DEAM_Annotations", "annotations", "annotations averaged per song", "song_level")
ANNOTATIONS_2013 = "static_annotations_averaged_songs_1_2000.csv"
ANNOTATIONS_2015 = "static_annotations_averaged_songs_2000_2058.csv"
# A file beside the DEAM folders that marks a folder as ours, so a rerun may replace it but a
# real DEAM copy is never overwritten by mistake.
MARKER = "astgan_demo.json"

# Headers exactly as in the real files: leading spaces, and the 2015 typo "valence_ max_mean".
HEADER_2013 = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
HEADER_2015 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std"
)
FIRST_ID_2013 = 2  # DEAM's ids start at 2
FIRST_ID_2015 = 2001
MAX_SONGS_2013 = 2000 - FIRST_ID_2013 + 1

# Share of songs in the 2015 file and the quirky formats, roughly as in DEAM (58 of 1,802 songs).
SHARE_2015 = 0.05
SHARE_STEREO = 0.10
SHARE_48K = 0.07
SHARE_22K = 0.07
SAMPLE_RATE = 44_100

LABEL_JITTER = 0.15  # sd added to resampled DEAM label pairs (1..9 scale)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_dataset` wrote."""

    out_dir: Path
    n_songs: int
    audio_seconds: float  # total duration of all songs
    wall_seconds: float  # time the whole call took
    seed: int
    sample_rates: dict[int, int] = field(default_factory=dict)  # sample rate -> number of songs
    n_stereo: int = 0


@dataclass(frozen=True)
class SongJob:
    """One song to render: its label, file format and the seed of its own random stream."""

    song_id: int
    valence: float  # label on 1..9
    arousal: float  # label on 1..9
    seconds: float
    sample_rate: int
    channels: int
    seed: np.random.SeedSequence
    path: Path


# --------------------------------------------------------------------------- public API


def write_demo_dataset(
    out_dir: str | Path,
    n_songs: int = 120,
    seed: int = 0,
    min_seconds: float = 15.0,
    max_seconds: float = 45.0,
    num_workers: int = 2,
    progress: bool = True,
) -> DemoSummary:
    """Write ``n_songs`` procedural songs and their labels into ``out_dir`` in DEAM's layout.

    Songs last uniform(``min_seconds``, ``max_seconds``) seconds; about 5 % go to the 2015
    annotation file (ids from 2001), the rest to the 2013 file (ids from 2). Audio is MP3, mostly
    44.1 kHz mono, with a few stereo, 48 kHz and 22.05 kHz files like DEAM. ``num_workers``
    processes render and encode in parallel (0 or 1: in this process).

    Every file is written atomically, and the annotation files last: a folder that has them is
    complete. Rerunning into a demo folder replaces it, songs it no longer has included; a
    DEAM-like folder this function did not write is refused.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    _check_arguments(n_songs, min_seconds, max_seconds, num_workers)
    _check_target(out_dir)

    label_seed, *song_seeds = np.random.SeedSequence(seed).spawn(n_songs + 1)
    rng = np.random.default_rng(label_seed)
    table = _draw_song_table(n_songs, min_seconds, max_seconds, rng)
    jobs = [
        SongJob(int(row.song_id), float(row.valence_mean), float(row.arousal_mean), float(row.seconds),
                int(row.sample_rate), int(row.channels), song_seed,
                out_dir / AUDIO_DIR / f"{int(row.song_id)}.mp3")
        for row, song_seed in zip(table.itertuples(), song_seeds)
    ]

    # The marker goes first, so an interrupted run can be rerun into the same folder.
    _write_bytes(out_dir / MARKER, (json.dumps({"generator": "astgan.data.demo", "seed": seed,
                                                "n_songs": n_songs}, indent=2) + "\n").encode())
    _remove_previous_run(out_dir, keep={job.path.name for job in jobs})
    _run_jobs(jobs, num_workers, progress)
    _write_annotations(out_dir, table, rng)

    return DemoSummary(
        out_dir=out_dir,
        n_songs=n_songs,
        audio_seconds=float(table["seconds"].sum()),
        wall_seconds=time.perf_counter() - start,
        seed=seed,
        sample_rates={int(k): int(v) for k, v in table["sample_rate"].value_counts().sort_index().items()},
        n_stereo=int((table["channels"] == 2).sum()),
    )


def is_written(out_dir: str | Path) -> bool:
    """True when ``out_dir`` holds a complete dataset (the annotation files are written last)."""
    return (Path(out_dir) / ANNOTATION_DIR / ANNOTATIONS_2013).is_file()


def read_demo_labels(out_dir: str | Path) -> pd.DataFrame:
    """The labels of a demo folder: columns song_id, valence, arousal (1..9), path; for tests.

    The pipeline itself reads a demo folder with the DEAM loader, exactly like real DEAM.
    """
    out_dir = Path(out_dir)
    frames = []
    for name in (ANNOTATIONS_2013, ANNOTATIONS_2015):
        frame = pd.read_csv(out_dir / ANNOTATION_DIR / name, skipinitialspace=True)
        frames.append(frame[["song_id", "valence_mean", "arousal_mean"]])
    labels = pd.concat(frames, ignore_index=True).rename(
        columns={"valence_mean": "valence", "arousal_mean": "arousal"})
    labels["path"] = [out_dir / AUDIO_DIR / f"{song_id}.mp3" for song_id in labels["song_id"]]
    return labels


# --------------------------------------------------------------------------- checks and files


def _check_arguments(n_songs: int, min_seconds: float, max_seconds: float, num_workers: int) -> None:
    if not 1 <= n_songs <= MAX_SONGS_2013:
        raise AstganError(f"n_songs must be between 1 and {MAX_SONGS_2013}, got {n_songs}")
    if not 1.0 <= min_seconds <= max_seconds:
        raise AstganError(f"need 1 <= min_seconds <= max_seconds, got {min_seconds} and {max_seconds}")
    if num_workers < 0:
        raise AstganError(f"num_workers must be 0 or more, got {num_workers}")


def _check_target(out_dir: Path) -> None:
    """Refuse to write over a DEAM folder that this generator did not write."""
    has_deam = (out_dir / AUDIO_DIR.parts[0]).exists() or (out_dir / ANNOTATION_DIR.parts[0]).exists()
    if has_deam and not (out_dir / MARKER).exists():
        raise AstganError(
            f"{out_dir} already holds a DEAM-like folder that is not an astgan demo (no {MARKER}); "
            "choose an empty or new folder for the demo data")


def _remove_previous_run(out_dir: Path, keep: set[str]) -> None:
    """Delete an earlier demo run's labels, songs not in ``keep`` and temp files of a killed run.

    The labels go first: until the new ones are written, the folder reads as incomplete rather
    than as labels pointing at songs that are gone or not yet rewritten.
    """
    for name in (ANNOTATIONS_2013, ANNOTATIONS_2015):
        (out_dir / ANNOTATION_DIR / name).unlink(missing_ok=True)
    audio_dir = out_dir / AUDIO_DIR
    if not audio_dir.is_dir():
        return
    for path in audio_dir.iterdir():
        stale_song = path.suffix == ".mp3" and path.stem.isdigit() and path.name not in keep
        stale_temp = path.name.startswith(".") and path.name.endswith(".tmp")
        if stale_song or stale_temp:
            path.unlink(missing_ok=True)


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


# --------------------------------------------------------------------------- labels and annotations


def _load_deam_label_pairs() -> np.ndarray:
    """The 1,802 real DEAM (valence, arousal) pairs on 1..9, shape (1802, 2)."""
    resource = importlib.resources.files("astgan.data") / "resources" / "deam_static_labels.csv"
    with resource.open("r") as handle:
        return pd.read_csv(handle)[list(DIMENSIONS)].to_numpy(dtype=float)


def _draw_song_table(n_songs: int, min_seconds: float, max_seconds: float,
                     rng: np.random.Generator) -> pd.DataFrame:
    """One row per song: song_id, valence_mean, arousal_mean (1..9, 1 decimal), seconds, format.

    Label pairs are resampled from real DEAM with replacement, so their spread, rarity of
    extremes and valence-arousal correlation (r 0.57) are DEAM's.
    """
    pairs = _load_deam_label_pairs()
    picked = pairs[rng.integers(0, len(pairs), n_songs)] + rng.normal(0.0, LABEL_JITTER, (n_songs, 2))
    labels = np.round(np.clip(picked, 1.0, 9.0), 1)

    n_2015 = max(1, round(SHARE_2015 * n_songs)) if n_songs >= 2 else 0
    n_2013 = n_songs - n_2015
    song_ids = np.concatenate([FIRST_ID_2013 + np.arange(n_2013), FIRST_ID_2015 + np.arange(n_2015)])

    draw = rng.random(n_songs)
    sample_rate = np.where(draw < SHARE_48K, 48_000, np.where(draw < SHARE_48K + SHARE_22K, 22_050, SAMPLE_RATE))
    channels = np.where(rng.random(n_songs) < SHARE_STEREO, 2, 1)
    seconds = np.round(rng.uniform(min_seconds, max_seconds, n_songs), 2)
    return pd.DataFrame({
        "song_id": song_ids, "valence_mean": labels[:, 0], "arousal_mean": labels[:, 1],
        "seconds": seconds, "sample_rate": sample_rate, "channels": channels,
    })


def _fmt_2013(value: float) -> str:
    """Numbers as in the 2013 file: shortest form, no trailing zeros (``3`` not ``3.0``)."""
    return f"{value:g}"


def _fmt_2015(value: float) -> str:
    """Numbers as in the 2015 file: Python float text (``5.0``, ``0.98``)."""
    return repr(float(value))


def _write_annotations(out_dir: Path, table: pd.DataFrame, rng: np.random.Generator) -> None:
    """Write both static annotation files with DEAM's headers and CRLF line endings.

    The rater spread columns (std, and in 2015 the max/min of the per-second ratings) are not
    used by astgan; they get plausible values so the files look and parse like the real ones.
    """
    folder = out_dir / ANNOTATION_DIR
    is_2015 = table["song_id"].to_numpy() >= FIRST_ID_2015

    lines = [HEADER_2013]
    for row in table[~is_2015].itertuples():
        v_std, a_std = rng.uniform(0.5, 2.0, 2).round(2)
        lines.append(",".join([str(row.song_id), _fmt_2013(row.valence_mean), _fmt_2013(v_std),
                               _fmt_2013(row.arousal_mean), _fmt_2013(a_std)]))
    _write_bytes(folder / ANNOTATIONS_2013, ("\r\n".join(lines) + "\r\n").encode())

    lines = [HEADER_2015]
    for row in table[is_2015].itertuples():
        cells = [str(row.song_id)]
        for mean in (row.valence_mean, row.arousal_mean):
            std = rng.uniform(0.5, 2.0)
            high = min(9.0, mean + rng.uniform(0.8, 2.5))
            low = max(1.0, mean - rng.uniform(0.8, 2.5))
            cells += [_fmt_2015(round(mean, 1)), _fmt_2015(round(std, 2)),
                      _fmt_2015(round(high, 1)), _fmt_2015(round(rng.uniform(0.4, 1.5), 2)),
                      _fmt_2015(round(low, 1)), _fmt_2015(round(rng.uniform(0.4, 1.5), 2))]
        lines.append(",".join(cells))
    _write_bytes(folder / ANNOTATIONS_2015, ("\r\n".join(lines) + "\r\n").encode())


# --------------------------------------------------------------------------- running the songs


def _run_jobs(jobs: list[SongJob], num_workers: int, progress: bool) -> None:
    """Render and write every song, in ``num_workers`` processes when more than one."""
    # Longest songs first: the last jobs to finish are then short, so workers end together.
    ordered = sorted(jobs, key=lambda job: -job.seconds)
    with tqdm(total=len(jobs), desc="demo songs", unit="song", disable=not progress) as bar:
        if num_workers <= 1:
            for job in ordered:
                _write_song(job)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=num_workers) as pool:
            futures = [pool.submit(_write_song, job) for job in ordered]
            try:
                for future in as_completed(futures):
                    future.result()
                    bar.update()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _write_song(job: SongJob) -> Path:
    """Render one song and write it as MP3, atomically; returns its path."""
    audio = render_song(job.valence, job.arousal, job.seconds, job.sample_rate, job.channels,
                        np.random.default_rng(job.seed))
    with atomic_path(job.path) as tmp:
        # The temp name does not end in .mp3, so the format is named explicitly.
        sf.write(tmp, audio, job.sample_rate, format="MP3")
    return job.path
