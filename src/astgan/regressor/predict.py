"""``astgan predict``: valence and arousal of new audio files with a trained run.

Every file is decoded at any sample rate and channel count, turned into the same log-mel the model
was trained on (the run's saved feature settings and normalisation), cut into the training segment
length (a file shorter than one segment is padded), and each segment is predicted; a file's
song-level prediction is the mean of its segments, as in ``astgan evaluate``.

The CSV has one row per file (``level`` = song) and, with ``timeline``, one more per segment
(``level`` = segment)::

    path, level, start_s, end_s, valence, arousal        (valence and arousal on DEAM's 1..9 scale)

A file that cannot be decoded is reported and skipped; only when no file at all can be predicted
is that an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.artifacts import require, write_text
from astgan.config import RunConfig
from astgan.data.audio import AUDIO_EXTENSIONS, AudioDecodeError
from astgan.data.features import audio_log_mel, cut_segment, segment_starts
from astgan.data.labels import to_deam_scale
from astgan.errors import DataError
from astgan.paths import RunPaths
from astgan.regressor.inference import TrainedRegressor, load_trained, predict_segments
from astgan.runtime import resolve_device

log = logging.getLogger(__name__)

CSV_COLUMNS = ["path", "level", "start_s", "end_s", "valence", "arousal"]


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


@dataclass
class PredictionResult:
    files: list[FilePrediction]
    failed: dict[str, str] = field(default_factory=dict)  # path -> why it was skipped
    csv_path: Path | None = None
    figure_path: Path | None = None

    def table(self, timeline: bool = False) -> pd.DataFrame:
        """The CSV's rows (see the module doc): per file its song row, then its segment rows."""
        rows = []
        for item in self.files:
            v, a = to_deam_scale(item.song)
            rows.append([str(item.path), "song", 0.0, item.duration_s, v, a])
            if timeline:
                deam = to_deam_scale(item.segments)
                rows += [[str(item.path), "segment", float(s), float(e), float(sv), float(sa)]
                         for s, e, (sv, sa) in zip(item.starts_s, item.ends_s, deam)]
        return pd.DataFrame(rows, columns=CSV_COLUMNS)

    def summary(self, timeline: bool = False) -> str:
        """The predictions as printed text: one line per file (and per segment with ``timeline``)."""
        table = self.table(timeline)
        if not timeline:
            table = table.drop(columns=["level", "start_s"]).rename(columns={"end_s": "seconds"})
        return table.to_string(index=False, float_format=lambda x: f"{x:.2f}")


def find_audio_files(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus every audio file below the named folders (sorted, no repeats)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(found))
    if not unique:
        shown = ", ".join(str(p) for p in paths)
        raise DataError(f"no audio files ({' '.join(AUDIO_EXTENSIONS)}) found in {shown}")
    return unique


def predict_file(trained: TrainedRegressor, path: Path, batch_size: int = 32) -> FilePrediction:
    """Decode, extract, segment, normalise and predict one file. Raises AudioDecodeError."""
    features_cfg = trained.config.features
    features, duration = audio_log_mel(path, features_cfg)
    n_frames = features.shape[1]
    length = features_cfg.segment_frames
    starts = segment_starts(n_frames, length, features_cfg.segment_hop, features_cfg.max_segments_per_song)
    specs = np.stack([trained.normalization.apply(cut_segment(features, int(s), length)) for s in starts])
    # frame i covers [i * shift, i * shift + window] seconds; a padded segment ends with the audio
    shift, window = features_cfg.frame_shift_ms / 1000.0, features_cfg.frame_length_ms / 1000.0
    last_frames = np.minimum(starts + length, n_frames) - 1
    return FilePrediction(
        path=path,
        duration_s=round(duration, 2),
        starts_s=np.round(starts * shift, 2),
        ends_s=np.round(np.minimum(last_frames * shift + window, duration), 2),
        # precision "auto" (bf16 on CUDA, fp32 on the CPU): the run's own setting may name a GPU mode
        segments=predict_segments(trained, specs.astype(np.float32), batch_size, precision="auto"),
    )


def predict_files(run_dir: str | Path, paths: list[str | Path], timeline: bool = False, out: str | Path | None = None,
                  device: str = "auto", progress: bool = True) -> PredictionResult:
    """Predict every audio file in ``paths`` with ``<run_dir>/ast/best.pt``; write the CSV.

    The CSV goes to ``out`` (default ``<run_dir>/predictions/predict.csv``); with ``timeline`` it
    also holds per-segment rows and a figure ``<csv stem>_timeline.png`` is written beside it.
    Raises DataError when no file could be predicted.
    """
    from tqdm import tqdm

    RunConfig(device=device).check()  # a clear message for a device name torch would not know
    run_dir = Path(run_dir)
    run_paths = RunPaths(run_dir)
    best = require(run_paths.best, "train-ast")
    files = find_audio_files(paths)
    trained = load_trained(best, resolve_device(device))
    result = PredictionResult(files=[])
    for path in tqdm(files, desc="predict", unit="file", disable=not progress):
        try:
            result.files.append(predict_file(trained, path, trained.config.ast.batch_size))
        except (AudioDecodeError, OSError) as err:
            reason = str(err) if str(path) in str(err) else f"{path}: {err}"  # always name the file
            result.failed[str(path)] = reason
            log.warning(f"skipped {reason}")
    if not result.files:
        raise DataError(f"none of the {len(files)} file(s) could be decoded: "
                        + "; ".join(list(result.failed.values())[:3]))

    result.csv_path = Path(out) if out is not None else run_paths.predict_csv
    write_text(result.csv_path, result.table(timeline).to_csv(index=False, float_format="%.3f"))
    if timeline:
        from astgan.regressor.figures import plot_timelines

        series = [(item.path.name, (item.starts_s + item.ends_s) / 2.0, item.segments) for item in result.files]
        result.figure_path = plot_timelines(series, result.csv_path.with_name(f"{result.csv_path.stem}_timeline.png"))
    return result
