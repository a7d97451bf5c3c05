"""The evaluate stage: the best regressor on the real TEST songs, beside two baselines.

Reads ``ast/best.pt`` and the split saved in the run folder, and writes ``eval/``:

- ``report.json``: ``{"song": {...}, "segment": {...}, "baselines": {"mean": {...}, "ridge": {...}}, ...}``
  where each ``{...}`` is a :func:`astgan.metrics.regression_report` (per dimension CCC, Pearson r,
  R², RMSE and MAE, plus mean CCC); song level averages each song's segment
  predictions. Extra keys: bootstrap intervals of the song-level CCCs, a paired bootstrap of the
  model against the ridge, the baselines at segment level, counts and wall time.
- ``report.md``: the same numbers as tables a person reads;
- ``predictions.csv``: song_id, valence_true, arousal_true, valence_pred, arousal_pred, on the
  dataset's own scale (1..9 for DEAM);
- ``pred_vs_true.png`` and ``va_plane.png``.

RMSE and MAE are on the evaluated dataset's scale too, so they compare with numbers published for
it. :mod:`astgan.evaluation.cross` evaluates the same way on every song of another dataset.

The baselines are computed here on the same split so that the model's numbers always come with the
numbers of a model that learned nothing (the TRAIN mean) and of a linear model on the spectral
envelope (ridge on per-band mel statistics of TRAIN segments).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from astgan.artifacts import check_config_compatible, require, write_json, write_text
from astgan.config import Config, DataConfig
from astgan.data.datasets import SegmentDataset
from astgan.data.descriptors import band_statistics
from astgan.data.labels import DEAM_SCALE, LabelScale
from astgan.data.prepare import prepare_data
from astgan.data.registry import TITLES, label_scale_of
from astgan.errors import DataError
from astgan.evaluation.baselines import fit_ridge, mean_predictor
from astgan.evaluation.bootstrap import ccc_intervals, paired_difference
from astgan.evaluation.figures import plot_predicted_vs_true, plot_va_plane
from astgan.evaluation.report import PREDICTION_COLUMNS, report_markdown, songs_phrase
from astgan.metrics import regression_report, song_means
from astgan.paths import EvalPaths
from astgan.regressor.inference import TrainedRegressor, load_trained, predict_segments
from astgan.runtime import resolve_device

log = logging.getLogger(__name__)

# The settings that shape what the model reads: evaluating with others would feed it other inputs.
MODEL_INPUT_KEYS = [
    "features.sample_rate", "features.n_mels", "features.frame_length_ms", "features.frame_shift_ms",
    "features.segment_frames",
]


@dataclass
class EvaluationReport:
    """``eval/report.json``: the model and the baselines on the TEST songs.

    Every metrics entry is a :func:`~astgan.metrics.regression_report` (``{"valence": {"ccc", "pearson",
    "r2", "rmse", "mae"}, "arousal": {...}, "mean_ccc"}``), at song level unless named ``*segment``.
    """

    song: dict  # the model, each song's segment predictions averaged
    segment: dict  # the model, per segment
    baselines: dict[str, dict]  # "mean", "ridge" at song level
    baselines_segment: dict[str, dict]  # ... and per segment
    intervals: dict  # bootstrap intervals of the song-level CCCs: "method", "n_boot", ..., "model", "ridge"
    model_vs_ridge: dict  # paired bootstrap of the model's CCC minus the ridge's, per dimension and mean
    n_test_songs: int
    n_test_segments: int
    n_train_segments: int
    checkpoint: dict  # {"path", "epoch"} of the evaluated model
    run: str  # the run folder
    wall_seconds: float = 0.0
    # what was evaluated: {"dataset", "title", "root", "songs": "test" (the run's TEST songs) or "all"
    # (every song of another dataset), "label_scale": [lo, hi] (predictions.csv, RMSE and MAE), and
    # for "all": "in_training_run" (how many of them the run trained or validated on)}
    evaluated_on: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """report.json's content, keys in the file's order."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> EvaluationReport:
        """A report.json read back."""
        return cls(**raw)


def load_model(cfg: Config) -> TrainedRegressor:
    """The run's best regressor, checked to read the inputs ``cfg`` describes."""
    best = require(cfg.paths.best, "train-ast")
    require(cfg.paths.songs, "train-ast")  # the split the model was trained on
    trained = load_trained(best, resolve_device(cfg.run.device))
    check_config_compatible(trained.config.to_dict(), cfg.to_dict(), MODEL_INPUT_KEYS, f"the model in {best}")
    return trained


def evaluated_on(data_cfg: DataConfig, songs: str) -> dict:
    """The report's ``evaluated_on`` entry for a config's ``data`` section; ``songs``: "test" or "all"."""
    scale = label_scale_of(data_cfg)
    return {"dataset": data_cfg.dataset, "title": TITLES[data_cfg.dataset], "root": str(data_cfg.root),
            "songs": songs, "label_scale": [scale.lo, scale.hi]}


def evaluate(cfg: Config, progress: bool = True) -> EvaluationReport:
    """Evaluate ``<run>/ast/best.pt`` on the TEST songs; write and return the report (see module doc)."""
    started = time.perf_counter()
    torch.set_num_threads(cfg.run.threads)  # the same sums, split the same way: the same numbers every time
    trained = load_model(cfg)
    data = prepare_data(cfg, progress=progress)
    train = data.segments("train", trained.normalization)
    test = data.segments("test", trained.normalization)
    n_test = len(test.songs)
    if n_test < 2:
        raise DataError(f"{cfg.paths.songs} has {n_test} TEST song(s); evaluation needs at least 2 "
                        "(raise split.test or use more songs, in a new run.dir)")
    report, song_pred = assess(trained, train, test, data.labels("train"), cfg, evaluated_on(cfg.data, "test"),
                               progress)
    report.wall_seconds = round(time.perf_counter() - started, 2)
    paths = cfg.paths.evaluation
    write_outputs(report.to_dict(), test.songs["song_id"].tolist(), test.song_labels, song_pred, paths)
    log.info(f"evaluated {n_test} TEST songs ({len(test)} segments) in {report.wall_seconds:.1f}s: {paths.report}")
    return report


def assess(trained: TrainedRegressor, train: SegmentDataset, test: SegmentDataset, train_song_labels: np.ndarray,
           cfg: Config, on: dict, progress: bool = True) -> tuple[EvaluationReport, np.ndarray]:
    """The model and the baselines (fitted on ``train``) on the songs of ``test``.

    ``train_song_labels``: (N_train_songs, 2) on -1..1, for the mean baseline; ``on``: the report's
    ``evaluated_on`` entry (its label scale turns RMSE and MAE into the dataset's units).
    Returns the report (wall time not set) and the (N_test_songs, 2) song predictions on -1..1.
    """
    scale = LabelScale(*on["label_scale"])
    what = "TEST" if on["songs"] == "test" else f"all of {on['dataset']}"
    segment_pred = predict_segments(trained, test, cfg.ast.batch_size, cfg.run.precision, progress, f"evaluate {what}")
    song_pred = song_means(segment_pred, test.song_index)
    song_true = test.song_labels
    baselines = baseline_predictions(train, test, train_song_labels, cfg.eval.ridge_alpha, progress)

    def metrics(pred: np.ndarray, true: np.ndarray) -> dict:
        return regression_report(pred, true, error_scale=scale.half_width)

    boot = dict(n_boot=cfg.eval.bootstrap_samples, confidence=cfg.eval.confidence, seed=cfg.run.seed)
    model_vs_ridge, _ = paired_difference(song_pred, baselines["ridge"][1], song_true, **boot)
    report = EvaluationReport(
        song=metrics(song_pred, song_true),
        segment=metrics(segment_pred, test.labels),
        baselines={name: metrics(song, song_true) for name, (_, song) in baselines.items()},
        baselines_segment={name: metrics(seg, test.labels) for name, (seg, _) in baselines.items()},
        intervals={
            "method": f"percentile bootstrap over {'TEST' if on['songs'] == 'test' else 'the'} songs",
            **boot,
            "model": ccc_intervals(song_pred, song_true, **boot),
            "ridge": ccc_intervals(baselines["ridge"][1], song_true, **boot),
        },
        model_vs_ridge=model_vs_ridge,
        n_test_songs=len(test.songs),
        n_test_segments=len(test),
        n_train_segments=len(train),
        checkpoint={"path": str(trained.path), "epoch": trained.epoch},
        run=str(cfg.run_dir),
        evaluated_on=on,
    )
    return report, song_pred


# --------------------------------------------------------------------------- baselines


def baseline_predictions(train: SegmentDataset, test: SegmentDataset, train_song_labels: np.ndarray,
                         ridge_alpha: float, progress: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Predictions of the baselines on the TEST segments and songs.

    - ``mean``: the mean label of the TRAIN songs, for every segment;
    - ``ridge``: ridge on per-band mel mean + std, fitted on TRAIN segments (each labelled with its
      song's label); a song's prediction is the mean over its segments, as for the model.

    Returns name -> ((N_test_segments, 2), (N_test_songs, 2)) on the -1..1 scale.
    """
    n_songs = len(test.songs)
    ridge = fit_ridge(dataset_band_statistics(train, progress, "band stats TRAIN"), train.labels, alpha=ridge_alpha)
    ridge_segments = ridge.predict(dataset_band_statistics(test, progress, "band stats TEST"))
    mean_segments = mean_predictor(train_song_labels, len(test))
    return {
        "mean": (mean_segments, mean_predictor(train_song_labels, n_songs)),
        "ridge": (ridge_segments, song_means(ridge_segments, test.song_index)),
    }


def dataset_band_statistics(dataset: SegmentDataset, progress: bool = False, desc: str = "band stats") -> np.ndarray:
    """(N_segments, 2 * n_mels) per-band mean and std of every segment, read in bounded chunks."""
    from tqdm import tqdm

    stats = [band_statistics(chunk) for chunk in tqdm(dataset.chunks(), desc=desc, disable=not progress, leave=False)]
    return np.concatenate(stats) if stats else np.zeros((0, 2 * dataset.n_mels))


# --------------------------------------------------------------------------- outputs


def predictions_frame(song_ids: list[str], true: np.ndarray, pred: np.ndarray,
                      scale: LabelScale = DEAM_SCALE) -> pd.DataFrame:
    """The ``predictions.csv`` table: one row per song, labels and predictions on ``scale`` (the
    evaluated dataset's; DEAM's 1..9)."""
    true, pred = scale.from_unit(true), scale.from_unit(pred)
    return pd.DataFrame({
        "song_id": [str(s) for s in song_ids],
        "valence_true": true[:, 0], "arousal_true": true[:, 1],
        "valence_pred": pred[:, 0], "arousal_pred": pred[:, 1],
    })[PREDICTION_COLUMNS]


def write_outputs(report: dict, song_ids: list[str], song_true: np.ndarray, song_pred: np.ndarray,
                  paths: EvalPaths) -> list[Path]:
    """Write report.json, report.md, predictions.csv and the two figures into ``paths`` (``eval/``,
    or ``eval/on-<name>/``); labels on the scale the report names."""
    scale = LabelScale(*report["evaluated_on"]["label_scale"])
    table = predictions_frame(song_ids, song_true, song_pred, scale)
    title = f"{report['run']}: {songs_phrase(report)}"
    return [
        write_json(paths.report, report),
        write_text(paths.report_md, report_markdown(report)),
        write_text(paths.predictions, table.to_csv(index=False, float_format="%.4f")),
        plot_predicted_vs_true(song_true, song_pred, report["song"], paths.pred_vs_true_figure, title, scale),
        plot_va_plane(song_true, song_pred, paths.va_plane_figure, title, scale),
    ]
