"""The synthesize stage: draw conditions, generate segments, write them with a quality report.

``synthesize(cfg)`` reads ``<run>/gan/generator.pt`` and writes into ``<run>/synthetic/``:
``synthetic.npz`` (specs (N, n_mels, frames) float16 in the normalised log-mel space, labels
(N, 2) float32 on -1..1; conditions drawn by :mod:`astgan.synthetic.conditions`), ``quality.json``
and ``quality.md`` (see :mod:`astgan.synthetic.quality`), ``judge.pt`` (the cached judge,
:mod:`astgan.synthetic.judge`) and three figures:
``real_vs_synthetic.png``, ``labels.png`` and ``mean_spectrum.png``.

With ``synth.filter`` above 1 the generator draws that many times ``synth.n`` candidates, and only
the ``synth.n`` whose label the judge reads closest to the one asked for are written (a
label-consistency filter). The quality report's label fidelity is measured on fresh draws, not on
the filtered set, so the filter cannot flatter it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from astgan.artifacts import check_config_compatible, require, write_json, write_text
from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.labels import nearest_to_corners
from astgan.data.prepare import PreparedData, prepare_data
from astgan.data.synthetic_set import write_synthetic
from astgan.gan.figures import plot_condition_grid
from astgan.gan.models import load_generator
from astgan.runtime import resolve_device, seed_everything
from astgan.synthetic.c2st import FOLDS as C2ST_FOLDS
from astgan.synthetic.c2st import held_out_subset, run_c2st
from astgan.synthetic.conditions import sample_conditions
from astgan.synthetic.figures import plot_label_plane, plot_mean_spectrum
from astgan.synthetic.judge import Judge, load_or_train_judge
from astgan.synthetic.quality import (
    QualityInputs,
    SegmentFeatures,
    describe,
    quality_report,
)
from astgan.synthetic.quality_text import quality_markdown
from astgan.synthetic.reference_sets import reference_split

log = logging.getLogger(__name__)

def generate_chunks(generator: torch.nn.Module, conditions: np.ndarray, batch_size: int, seed: int,
                    device: torch.device | str = "cpu", progress: bool = False) -> Iterator[np.ndarray]:
    """Segments for (N, 2) ``conditions`` in order, as (<= batch_size, n_mels, frames) float32 chunks.

    Eval mode, seeded noise drawn on the CPU (the same samples on any device).
    """
    from tqdm import tqdm

    generator = generator.to(device).eval()
    noise = torch.Generator().manual_seed(seed)
    starts = range(0, len(conditions), batch_size)
    for start in tqdm(starts, desc="generate", unit="batch", disable=not progress, leave=False):
        condition = torch.from_numpy(np.asarray(conditions[start:start + batch_size], dtype=np.float32))
        z = torch.randn(len(condition), generator.latent_dim, generator=noise)
        with torch.no_grad():
            yield generator(z.to(device), condition.to(device)).float().cpu().numpy()


def generate(generator: torch.nn.Module, conditions: np.ndarray, batch_size: int, seed: int,
             device: torch.device | str = "cpu", progress: bool = False) -> np.ndarray:
    """Segments for (N, 2) ``conditions``: (N, n_mels, frames) float32 (see :func:`generate_chunks`)."""
    return np.concatenate(list(generate_chunks(generator, conditions, batch_size, seed, device, progress)))


def label_consistent(read: np.ndarray, asked: np.ndarray, n: int) -> np.ndarray:
    """(n,) indices, in drawing order, of the n segments whose (N, 2) ``read`` labels (the judge's, -1..1)
    lie closest to the (N, 2) ``asked`` ones (mean absolute difference over valence and arousal)."""
    distance = np.abs(np.asarray(read, np.float64) - np.asarray(asked, np.float64)).mean(axis=1)
    return np.sort(np.argsort(distance, kind="stable")[:n])


def synthesize(cfg: Config, progress: bool = True) -> dict:
    """Generate ``synth.n`` segments with the run's generator, write them, report their quality.

    Writes synthetic.npz, quality.json, quality.md and the figures (see the module doc).
    """
    paths = cfg.paths
    generator_path = require(paths.generator, "train-gan")
    generator, generator_cfg = load_generator(generator_path)
    check_config_compatible(generator_cfg.to_dict(), cfg.to_dict(), ["features.n_mels", "features.segment_frames"],
                            str(generator_path))
    seed_everything(cfg.synth.seed, cfg.run.threads)
    data = prepare_data(cfg, progress=progress)
    device = resolve_device(cfg.run.device)
    synth = cfg.synth
    rng = np.random.default_rng(synth.seed)
    candidates = max(synth.n, round(synth.n * synth.filter))
    conditions = sample_conditions(data.labels("train"), candidates, synth.sampler, synth.jitter, rng)
    started = time.perf_counter()
    specs = generate(generator, conditions, synth.batch_size, synth.seed, device, progress)
    seconds = time.perf_counter() - started
    log.info(f"generated {len(specs)} segments in {seconds:.1f}s ({len(specs) / seconds:.0f}/s) on {device}")

    started = time.perf_counter()  # the report's time, its judge included
    train = data.segments("train")
    # one judge serves the filter and the quality report (loading it twice would score VAL twice)
    judge = load_or_train_judge(cfg, train, data.segments("val"), device)
    if candidates > synth.n:
        keep = label_consistent(judge.predict(specs, train.normalization), conditions, synth.n)
        log.info(f"kept the {synth.n} of {candidates} segments whose label the judge reads closest to the asked one")
        specs, conditions = specs[keep], conditions[keep]
    write_synthetic(paths.synthetic, specs, conditions, cfg.features.n_mels, cfg.features.segment_frames)

    written = specs.astype(np.float16).astype(np.float32)  # as written: copies are judged as they are stored
    quality = assess_quality(cfg, generator, data, written, judge, device)
    quality.update(sampler=synth.sampler, filter=synth.filter, generator=str(generator_path),
                   generation={"seconds": seconds, "segments_per_second": len(specs) / seconds, "device": str(device)},
                   report_seconds=time.perf_counter() - started)
    write_json(paths.quality, quality)
    write_text(paths.quality_md, quality_markdown(quality))
    _write_figures(generator, train, quality_features(train), describe([written]), conditions, cfg, device,
                   paths.synthetic_dir)
    return quality


def quality_features(segments: SegmentDataset) -> SegmentFeatures:
    """Band statistics and pooled vectors of real segments, read chunk by chunk from the cache."""
    return describe(segments.chunks())


def assess_quality(cfg: Config, generator: torch.nn.Module, data: PreparedData, written: np.ndarray,
                   judge: Judge, device: torch.device) -> dict:
    """The quality report (:mod:`astgan.synthetic.quality`) of ``written`` (N, n_mels, frames) and of the
    generator, with every synthetic set drawn at the labels of the real set it is compared with;
    ``judge``: the run's (:func:`astgan.synthetic.judge.load_or_train_judge`)."""
    synth = cfg.synth
    train, val = data.segments("train"), data.segments("val")
    embed = lambda chunk: judge.embed(chunk, train.normalization)  # noqa: E731
    predict = lambda chunk: judge.predict(chunk, train.normalization)  # noqa: E731

    def generated(labels: np.ndarray, seed: int, with_predictions: bool = False) -> SegmentFeatures:
        chunks = generate_chunks(generator, labels, synth.batch_size, seed, device)
        return describe(chunks, embed, predict if with_predictions else None)

    split = reference_split(train.song_ids, val.song_ids, seed=synth.seed)
    c2st = None
    if synth.c2st:
        c2st = classifier_test(generator, train, val, synth.batch_size, synth.seed, device, synth.c2st_cnn)
    inputs = QualityInputs(
        train=describe(train.chunks(), embed), train_labels=train.labels,
        val=describe(val.chunks(), embed, predict), val_labels=val.labels,
        split=split,
        synthetic_pool=generated(train.labels[split.pool], synth.seed + 1, with_predictions=True),
        synthetic_val=generated(val.labels[split.val], synth.seed + 2),
        written=describe([written]),
        c2st=c2st,
    )
    report = quality_report(inputs, ridge_alpha=cfg.eval.ridge_alpha, seed=synth.seed)
    report["judge"] = {"source": judge.source, "val_segment_ccc": judge.val}
    return report


def classifier_test(generator: torch.nn.Module, train: SegmentDataset, val: SegmentDataset, batch_size: int,
                    seed: int, device: torch.device, cnn: bool = True) -> dict | None:
    """The classifier two-sample test (:func:`astgan.synthetic.c2st.run_c2st`): VAL segments (at most
    :data:`~astgan.synthetic.c2st.MAX_SEGMENTS`) against as many generated at their labels, and its
    floor against TRAIN songs. None, with a log line, when VAL has too few songs for the folds."""
    if len(np.unique(val.song_ids)) < C2ST_FOLDS:
        log.warning(f"no classifier two-sample test: VAL has fewer than {C2ST_FOLDS} songs")
        return None
    picked = held_out_subset(val.song_ids, seed)
    real = val.stack(picked)
    synthetic = generate(generator, val.labels[picked], batch_size, seed + 3, device)
    result = run_c2st(real, val.song_ids[picked], synthetic, train, train.song_ids, seed=seed, cnn=cnn)
    log.info(f"classifier two-sample test: largest gap above the floor {result['max_gap']:+.3f} "
             f"({result['worst']}) in {result['seconds']:.1f}s")
    return result


def _write_figures(generator, train: SegmentDataset, train_features: SegmentFeatures,
                   synthetic_features: SegmentFeatures, conditions: np.ndarray, cfg: Config, device,
                   out_dir: Path) -> list[Path]:
    """Real vs synthetic at the TRAIN segments nearest each V/A corner; label plane; mean spectra."""
    labels = train.labels.astype(np.float32)
    picks = np.array(list(nearest_to_corners(labels).values()))
    per_row = 4
    grid_conditions = np.repeat(labels[picks], per_row, axis=0)
    grid = generate(generator, grid_conditions, cfg.synth.batch_size, cfg.synth.seed + 2, device)
    grid = grid.reshape(len(picks), per_row, *grid.shape[1:])
    return [
        plot_condition_grid(train.stack(picks), grid, labels[picks], out_dir / "real_vs_synthetic.png",
                            "real TRAIN segment (left) and synthetic segments at its label"),
        plot_label_plane(labels, conditions, out_dir / "labels.png", cfg.synth.sampler),
        plot_mean_spectrum(train_features.band, synthetic_features.band, out_dir / "mean_spectrum.png"),
    ]
