"""One unit of a study, done in this process: train a GAN and draw its set, train an arm, or fit the ridge.

A unit reads its config as a plain dict (so that it crosses process boundaries), works in its own
run folder (:func:`astgan.study.plan.unit_dir`) and writes its result file there when it is done.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from astgan.config import Config
from astgan.data.prepare import prepare_data
from astgan.evaluation.evaluate import baseline_predictions
from astgan.gan.train import train_gan
from astgan.metrics import song_means
from astgan.regressor.inference import load_trained, predict_segments
from astgan.regressor.train import train_ast
from astgan.runtime import resolve_device
from astgan.study.plan import BASELINE, result_name
from astgan.study.results import ArmResult, GanModelResult, UnitResult, write_unit_result
from astgan.synthetic.synthesis import synthesize


def run_unit(config: dict, kind: str) -> UnitResult:
    """Do one unit in this process and write its result file; returns the result.

    ``config`` is the unit's config as a plain dict (so that it crosses process boundaries).
    """
    cfg = Config.from_dict(config, source="study unit")
    started = time.perf_counter()
    if kind == "gan-model":
        result = _train_gan_model(cfg)
    elif kind == BASELINE:
        result = _ridge(cfg)
    else:
        result = _train_arm(cfg)
    result.seconds = time.perf_counter() - started
    write_unit_result(cfg.run_dir / result_name(kind), result)
    return result


def _train_gan_model(cfg: Config) -> GanModelResult:
    paths = cfg.paths
    if cfg.gan.steps is None:
        cfg = cfg.with_overrides(f"gan.steps={equal_gan_steps(cfg)}")
    trained = train_gan(cfg, resume=paths.gan_last.exists(), progress=False)
    quality = synthesize(cfg, progress=False)
    return GanModelResult(len(trained.history), int(quality.get("n_synthetic", cfg.synth.n)), quality)


def equal_gan_steps(cfg: Config) -> int:
    """The optimiser steps of this fold's full-budget GAN: gan.epochs passes over the fold's whole TRAIN
    (the budget's songs and those it leaves unused). Every budget's GAN trains this many steps, so that
    a GAN on 10% of TRAIN is not also a GAN trained a tenth as long (equal GAN training)."""
    data = prepare_data(cfg, progress=False)
    n_segments = sum(len(data.segments(split)) for split in ("train", "unused") if (data.songs["split"] == split).any())
    return cfg.gan.epochs * math.ceil(n_segments / cfg.gan.batch_size)


def _train_arm(cfg: Config) -> ArmResult:
    trained = train_ast(cfg, resume=cfg.paths.ast_last.exists(), progress=False)
    song_ids, true, pred = _predict_test_songs(cfg)
    return ArmResult(song_ids, true.tolist(), pred.tolist(), trained.best_epoch, trained.steps,
                     _n_songs(cfg, "train"))


def _predict_test_songs(cfg: Config) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The best model's song-level predictions of the TEST songs: (ids, true (N, 2), pred (N, 2)), -1..1."""
    trained = load_trained(cfg.paths.best, resolve_device(cfg.run.device))
    test = prepare_data(cfg, progress=False).segments("test", trained.normalization)
    segments = predict_segments(trained, test, 4 * cfg.ast.batch_size, cfg.run.precision)
    return test.songs["song_id"].tolist(), test.song_labels, song_means(segments, test.song_index)


def _ridge(cfg: Config) -> ArmResult:
    """The ridge baseline of the cell, fitted on the budget's TRAIN segments."""
    data = prepare_data(cfg, progress=False)
    train, test = data.segments("train"), data.segments("test")
    _, song_pred = baseline_predictions(train, test, data.labels("train"), cfg.eval.ridge_alpha)["ridge"]
    return ArmResult(test.songs["song_id"].tolist(), test.song_labels.tolist(), song_pred.tolist(), None, None,
                     _n_songs(cfg, "train"))


def _n_songs(cfg: Config, split: str) -> int:
    songs = pd.read_csv(cfg.paths.songs, dtype={"song_id": str})
    return int((songs["split"] == split).sum())
