"""``astgan predict``: valence and arousal of audio files, from a handful to a music library.

Every file is decoded at any sample rate and channel count, turned into the same log-mel the model
was trained on (the saved feature settings and normalisation), cut into the training segment
length (a file shorter than one segment is padded), and each segment is predicted; a file's
song-level prediction is the mean of its segments, as in ``astgan evaluate``.

How it scales:

- decoding and log-mel extraction run in ``workers`` processes while the model runs in this one,
  on batches that mix segments of several files; at most ``2 * workers`` decoded files wait at
  any time, so memory does not grow with the library;
- each file's rows go to the CSV as soon as it is predicted (see :mod:`prediction_csv`), so a
  killed run keeps its finished files and ``resume`` skips them;
- under ``accelerate launch -m astgan predict ...`` every process takes its share of the files
  (balanced by file size), predicts on its own device into its own part, and the main process
  merges the parts into the CSV.

A file that cannot be decoded is reported and skipped; only when no file at all can be predicted
is that an error.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.config import RunConfig
from astgan.data.labels import to_deam_scale
from astgan.errors import AstganError, DataError
from astgan.paths import RunPaths
from astgan.regressor.export import is_export_folder
from astgan.regressor.inference import TrainedRegressor, load_trained, predict_segments
from astgan.regressor.library import SegmentedFile, find_audio_files, segmented_files, shard_files
from astgan.regressor.prediction_csv import (
    CSV_COLUMNS,
    PredictionWriter,
    done_paths,
    existing_parts,
    merge_parts,
    part_path,
    read_rows,
)
from astgan.runtime import resolve_device

log = logging.getLogger(__name__)

__all__ = ["CSV_COLUMNS", "FilePrediction", "PredictionResult", "predict_files", "predict_stream"]

TIMELINE_FILES = 8  # files drawn in the timeline figure
SUMMARY_FILES = 10  # up to this many files, the summary lists every one


# --------------------------------------------------------------------------- the model


@dataclass
class FilePrediction:
    """One file's segment predictions. ``segments``: (n, 2) on -1..1; times in seconds, (n,) each."""

    path: Path
    duration_s: float
    starts_s: np.ndarray
    ends_s: np.ndarray
    segments: np.ndarray

    @property
    def song(self) -> np.ndarray:
        """(2,) song-level prediction on -1..1: the mean of the segments."""
        return self.segments.mean(axis=0)

    def rows(self, timeline: bool) -> list[list]:
        """The CSV rows of this file (CSV_COLUMNS, 1..9): its song row, then (``timeline``) its segments."""
        v, a = to_deam_scale(self.song)
        rows = [[str(self.path), "song", 0.0, self.duration_s, v, a]]
        if timeline:
            deam = to_deam_scale(self.segments)
            rows += [[str(self.path), "segment", float(s), float(e), float(sv), float(sa)]
                     for s, e, (sv, sa) in zip(self.starts_s, self.ends_s, deam)]
        return rows


class _Waiting:
    """A file whose segments are (partly) still to be predicted."""

    def __init__(self, item: SegmentedFile):
        self.item = item
        self.taken = 0  # segments sent to the model
        self.outputs: list[np.ndarray] = []

    @property
    def complete(self) -> bool:
        return sum(len(o) for o in self.outputs) == len(self.item.specs)


def predict_stream(trained: TrainedRegressor, files: Iterable[SegmentedFile],
                   batch_size: int) -> Iterator[FilePrediction | SegmentedFile]:
    """Predict files as they arrive; batches mix the segments of consecutive files.

    Yields a :class:`FilePrediction` per file once all its segments are predicted (in arrival
    order), and the :class:`SegmentedFile` itself for a file that could not be decoded.
    """
    waiting: list[_Waiting] = []

    def run_batch() -> Iterator[FilePrediction]:
        chunks, owners, room = [], [], batch_size
        for entry in waiting:
            take = min(room, len(entry.item.specs) - entry.taken)
            if take > 0:
                chunks.append(entry.item.specs[entry.taken:entry.taken + take])
                owners.append((entry, take))
                entry.taken += take
                room -= take
            if room == 0:
                break
        # precision "auto" (bf16 on CUDA, fp32 on the CPU): the run's own setting may name a GPU mode
        outputs = predict_segments(trained, np.concatenate(chunks), batch_size, precision="auto")
        offset = 0
        for entry, take in owners:
            entry.outputs.append(outputs[offset:offset + take])
            offset += take
        while waiting and waiting[0].complete:
            done = waiting.pop(0)
            item = done.item
            yield FilePrediction(Path(item.path), item.duration_s, item.starts_s, item.ends_s,
                                 np.concatenate(done.outputs))

    def queued() -> int:
        return sum(len(e.item.specs) - e.taken for e in waiting)

    for item in files:
        if item.error is not None:
            yield item
            continue
        waiting.append(_Waiting(item))
        while queued() >= batch_size:
            yield from run_batch()
    while queued() > 0:
        yield from run_batch()


# --------------------------------------------------------------------------- a whole run


@dataclass
class PredictionResult:
    """What a ``predict_files`` call did. ``songs``: one row per predicted file (see :meth:`song_table`)."""

    songs: list[list] = field(default_factory=list)  # path, duration_s, n_segments, valence, arousal (1..9)
    failed: dict[str, str] = field(default_factory=dict)  # path -> why it was skipped
    n_resumed: int = 0  # files already in the CSV, skipped by ``resume``
    seconds: float = 0.0  # wall time of the prediction loop
    csv_path: Path | None = None
    figure_path: Path | None = None
    n_processes: int = 1
    timelines: list[FilePrediction] = field(default_factory=list)  # the first few files, for the figure

    def song_table(self) -> pd.DataFrame:
        """Columns path, duration_s, n_segments, valence, arousal (DEAM's 1..9 scale)."""
        return pd.DataFrame(self.songs, columns=["path", "duration_s", "n_segments", "valence", "arousal"])

    @property
    def audio_seconds(self) -> float:
        return float(sum(row[1] for row in self.songs))

    def throughput(self) -> str:
        """Files per second and times real time of this run."""
        n, seconds = len(self.songs), max(self.seconds, 1e-9)
        return (f"{n} file(s), {self.audio_seconds / 60:.1f} min of audio in {self.seconds:.1f} s: "
                f"{n / seconds:.2f} files/s, {self.audio_seconds / seconds:.0f}x real time")

    def summary(self) -> str:
        """A few lines for the terminal: every file when there are few, else the distribution."""
        table = self.song_table()
        if table.empty:
            return "no new file predicted"
        if len(table) <= SUMMARY_FILES:
            shown = table.drop(columns=["n_segments"]).rename(columns={"duration_s": "seconds"})
            return shown.to_string(index=False, float_format=lambda x: f"{x:.2f}")
        stats = table[["valence", "arousal"]].describe().T[["mean", "std", "min", "50%", "max"]]
        stats = stats.rename(columns={"50%": "median"})
        lines = [f"song level (1..9) over {len(table)} files:",
                 stats.to_string(float_format=lambda x: f"{x:.2f}")]
        for dim in ("valence", "arousal"):
            low, high = table.loc[table[dim].idxmin()], table.loc[table[dim].idxmax()]
            lines.append(f"{dim}: lowest {low[dim]:.2f} {Path(low['path']).name}, "
                         f"highest {high[dim]:.2f} {Path(high['path']).name}")
        return "\n".join(lines)


def process_layout() -> tuple[int, int]:
    """(rank, world size) from the environment that ``accelerate launch`` (or torchrun) sets; (0, 1) alone."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def default_csv(model_path: Path) -> Path:
    """Where the CSV goes without ``out``: the run folder's predictions/, else ./predictions.csv."""
    if model_path.is_dir() and not is_export_folder(model_path):
        return RunPaths(model_path).predict_csv
    if model_path.is_file() and model_path.parent.name == "ast":  # <run>/ast/best.pt
        return RunPaths(model_path.parent.parent).predict_csv
    return Path("predictions.csv")


def predict_files(model_path: str | Path, paths: list[str | Path], timeline: bool = False,
                  out: str | Path | None = None, device: str = "auto", progress: bool = True,
                  resume: bool = False, workers: int = 0, batch_size: int | None = None,
                  shard: tuple[int, int] | None = None) -> PredictionResult:
    """Predict every audio file in ``paths``; write the CSV (see :mod:`prediction_csv`).

    ``model_path``: a run folder, its ``ast/best.pt``, or an ``astgan export`` folder. The CSV goes
    to ``out`` (default: ``<run>/predictions/predict.csv``, or ``./predictions.csv`` for an
    export); with ``timeline`` it also holds per-segment rows and a figure
    ``<csv stem>_timeline.png`` is written beside it. ``resume`` skips files already in the CSV.
    ``workers``: decoding processes (0: decode in this process). ``batch_size``: segments per
    model call (default: twice the training batch). ``shard``: ``(i, n)``, predict only the i-th
    (0-based) of n shares of the files into a part of its own beside the CSV, for one task of a job
    array; a later run with ``resume`` and no shard merges the parts and predicts what they miss.
    Raises DataError when nothing could be predicted.
    """
    from tqdm import tqdm

    RunConfig(device=device).check()  # a clear message for a device name torch would not know
    started = time.perf_counter()
    model_path = Path(model_path)
    rank, world_size = process_layout()
    if shard is not None:
        if world_size > 1:
            raise AstganError("--shard splits the files between separate jobs; under accelerate launch the "
                              "processes already split them: use one or the other")
        rank, world_size = shard
    state = _distributed_state(device, world_size) if world_size > 1 and shard is None else None
    files = find_audio_files(paths)
    torch_device = state.device if state is not None and device == "auto" else resolve_device(device)
    trained = load_trained(model_path, torch_device)
    csv_path = Path(out) if out is not None else default_csv(model_path)
    target = part_path(csv_path, rank, world_size) if world_size > 1 else csv_path
    if world_size == 1 and not resume:
        for stale in existing_parts(csv_path):  # an earlier multi-process run's leftovers
            stale.unlink()

    done: set[str] = set()
    if resume:
        for source in [csv_path, *existing_parts(csv_path)]:
            done |= done_paths(read_rows(source))
    mine = shard_files(files, rank, world_size)
    todo = [f for f in mine if str(f) not in done]
    result = PredictionResult(n_resumed=len(mine) - len(todo), csv_path=target if shard else csv_path,
                              n_processes=1 if shard else world_size)
    if result.n_resumed:
        log.info(f"--resume: {result.n_resumed} of {len(mine)} file(s) already in {csv_path}, skipped")
    batch_size = batch_size or 2 * trained.config.ast.batch_size
    bar = tqdm(total=len(todo), desc="predict" if world_size == 1 else f"predict [{rank}/{world_size}]",
               unit="file", disable=not progress or not todo)
    stream = predict_stream(trained, segmented_files(todo, trained.config.features, trained.normalization, workers),
                            batch_size)
    with PredictionWriter(target, resume=resume) as writer:
        for item in stream:
            if isinstance(item, SegmentedFile):  # could not be decoded
                result.failed[item.path] = item.error
                log.warning(f"skipped {item.error}")
            else:
                writer.append(item.rows(timeline))
                v, a = to_deam_scale(item.song)
                result.songs.append([str(item.path), item.duration_s, len(item.segments), float(v), float(a)])
                if timeline and len(result.timelines) < TIMELINE_FILES:
                    result.timelines.append(item)
            bar.update(1)
            bar.set_postfix(audio=f"{result.audio_seconds / 60:.0f} min", refresh=False)
    bar.close()
    result.seconds = time.perf_counter() - started

    if state is not None:
        state.wait_for_everyone()  # every part is complete
        if state.is_main_process:
            ours = [part_path(csv_path, r, world_size) for r in range(world_size)]
            stale = [p for p in existing_parts(csv_path) if p not in ours]  # another process count's leftovers
            if not resume:
                for part in stale:
                    part.unlink()
            merged = merge_parts(csv_path, ours + (stale if resume else []), keep_csv=resume)
            result.songs = _song_rows(merged)  # the whole job, for the summary
            result.seconds = time.perf_counter() - started
        state.wait_for_everyone()
    elif shard is None and resume and existing_parts(csv_path):  # finish what an earlier split run left
        merge_parts(csv_path, existing_parts(csv_path), keep_csv=True)

    if not result.songs and not result.n_resumed and result.failed:
        raise DataError(f"none of the {len(todo)} file(s) could be decoded: "
                        + "; ".join(list(result.failed.values())[:3]))
    if timeline and result.timelines and rank == 0:
        from astgan.regressor.figures import plot_timelines

        series = [(item.path.name, (item.starts_s + item.ends_s) / 2.0, item.segments) for item in result.timelines]
        result.figure_path = plot_timelines(series, csv_path.with_name(f"{csv_path.stem}_timeline.png"))
    return result


def _song_rows(table: pd.DataFrame) -> list[list]:
    """PredictionResult.songs rows from a CSV table (n_segments counted from its segment rows, if any)."""
    songs = table[table["level"] == "song"]
    counts = table[table["level"] == "segment"].groupby("path").size()
    return [[row.path, float(row.end_s), int(counts.get(row.path, 0)), float(row.valence), float(row.arousal)]
            for row in songs.itertuples()]


def _distributed_state(device: str, world_size: int):
    """accelerate's process state under ``accelerate launch`` (or torchrun): a device per process, a barrier."""
    import torch
    from accelerate import PartialState

    # without CUDA, accelerate joins the processes only when told that they run on the CPU
    state = PartialState(cpu=device == "cpu" or not torch.cuda.is_available())
    if state.num_processes != world_size:
        raise AstganError(f"WORLD_SIZE={world_size} but accelerate joined {state.num_processes} process(es); start "
                          "them with `accelerate launch --multi_gpu --num_processes N -m astgan predict ...`")
    return state
