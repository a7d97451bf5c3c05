"""Cross-dataset evaluation: a trained run's model on every song of another dataset (``evaluate --on``).

Train on DEAM, test on PMEmo: the standard question of whether a model generalises beyond the
songs, annotators and label scale it learned from. What stays the training run's: the model, the
feature settings it reads, the normalisation statistics (from its checkpoint) and the baselines
(fitted on the run's TRAIN songs, so that they too are tested out of their dataset). What is the
other dataset's: its songs (all of them, whatever split a manifest gives), its feature cache
folder, and its label scale (predictions.csv, RMSE and MAE). Written to ``eval/on-<name>/``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from pathlib import Path

import pandas as pd
import torch

from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.prepare import load_songs_with_features, prepare_data
from astgan.errors import ConfigError, DataError
from astgan.evaluation.evaluate import EvaluationReport, assess, evaluated_on, load_model, write_outputs

log = logging.getLogger(__name__)


def evaluation_name(other: str | Path) -> str:
    """The ``<name>`` of ``eval/on-<name>/`` for ``--on OTHER``: the config's name without folder
    and ``.yaml`` (a packaged name stays as it is), in letters, digits, ``.``, ``_`` and ``-``."""
    name = Path(str(other)).name
    name = re.sub(r"\.ya?ml$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    if not name:
        raise ConfigError(f"--on {other!r}: cannot name an evaluation folder after it")
    return name


def reading_config(cfg: Config, other: Config) -> Config:
    """The training run's config reading the other dataset: the other's ``data`` section and feature
    cache folder, the run's feature settings (the model's inputs)."""
    return dataclasses.replace(cfg, data=other.data,
                               features=dataclasses.replace(cfg.features, cache_dir=other.features.cache_dir))


def songs_in_training(run_songs: pd.DataFrame, songs: pd.DataFrame) -> int:
    """How many of ``songs`` the run trained or validated on: the same audio file (resolved path).
    A copy of a file elsewhere is not recognised."""
    seen = run_songs.loc[run_songs["split"].isin(["train", "val"]), "path"]
    seen = {str(Path(p).resolve()) for p in seen}
    return sum(str(Path(p).resolve()) in seen for p in songs["path"])


def evaluate_on(cfg: Config, other: Config, name: str, progress: bool = True) -> EvaluationReport:
    """Evaluate ``<run>/ast/best.pt`` on every song of the dataset ``other.data`` names; write
    ``eval/on-<name>/`` (the files of ``eval/``) and return the report."""
    started = time.perf_counter()
    torch.set_num_threads(cfg.run.threads)
    trained = load_model(cfg)
    data = prepare_data(cfg, progress=progress)  # the training run: its TRAIN songs fit the baselines
    train = data.segments("train", trained.normalization)

    songs, entry_of = load_songs_with_features(reading_config(cfg, other), progress)
    if len(songs) < 2:
        raise DataError(f"{other.data.root}: {len(songs)} usable song(s); evaluation needs at least 2")
    test = SegmentDataset(songs, [entry_of[p] for p in songs["path"]], cfg.features, trained.normalization)
    on = {**evaluated_on(other.data, "all"), "in_training_run": songs_in_training(data.songs, songs)}
    if on["in_training_run"]:
        log.warning(f"{on['in_training_run']} of the {len(songs)} songs of {other.data.root} are among this run's "
                    "TRAIN or VAL songs (the same audio files): their numbers are not a test")

    report, song_pred = assess(trained, train, test, data.labels("train"), cfg, on, progress)
    report.wall_seconds = round(time.perf_counter() - started, 2)
    paths = cfg.paths.evaluation_on(name)
    write_outputs(report.to_dict(), songs["song_id"].tolist(), test.song_labels, song_pred, paths)
    log.info(f"evaluated all {len(songs)} songs of {other.data.root} ({len(test)} segments) in "
             f"{report.wall_seconds:.1f}s: {paths.report}")
    return report
