"""Training the AST regressor: data, accelerate, the epoch loop with early stopping, checkpoints, resume.

``train_ast(cfg)`` is the ``astgan train-ast`` stage. It reads the prepared real data and (when
``ast.synthetic_ratio > 0``) ``<run>/synthetic/synthetic.npz``, trains with accelerate (CPU, one
GPU, or several under ``accelerate launch``, mixed precision on CUDA), and writes
``<run>/ast/best.pt``, ``last.pt`` (for ``--resume``), ``history.csv`` and ``curves.png``.

The GAN ablation is honest by construction: an epoch is ``ceil(n_real / batch_size)`` optimiser
steps whatever the synthetic ratio, drawn from the mixed pool (see :class:`EpochSampler`), so a
real-only and an augmented run with the same ``ast.epochs`` take the same number of steps.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from astgan.config import Config
from astgan.datasets import AugmentedSpectrogramDataset, EpochSampler, SegmentDataset, SpecAugment
from astgan.errors import DataError, MissingArtifactError
from astgan.synthesis import SYNTH_DIR, SYNTHETIC_FILE

log = logging.getLogger("astgan")

AST_DIR = "ast"
HISTORY_COLUMNS = [
    "epoch", "step", "train_loss", "val_loss", "val_valence_ccc", "val_arousal_ccc",
    "val_valence_rmse", "val_arousal_rmse", "val_mean_ccc", "lr", "seconds", "data_wait",
]

# --------------------------------------------------------------------------- data


def load_synthetic(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """``<run>/synthetic/synthetic.npz``: specs (N, n_mels, frames), labels (N, 2) on -1..1, checked."""
    path = cfg.run_dir / SYNTH_DIR / SYNTHETIC_FILE
    if not path.is_file():
        raise MissingArtifactError(
            f"{path} not found; run `astgan synthesize` first (ast.synthetic_ratio={cfg.ast.synthetic_ratio} "
            "asks for synthetic data), or train on real data only with --set ast.synthetic_ratio=0"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("specs", "labels") if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {missing}; run `astgan synthesize` again")
            specs, labels = npz["specs"], npz["labels"]
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz ({err}); run `astgan synthesize` again") from None
    expected = (cfg.features.n_mels, cfg.features.segment_frames)
    if specs.ndim != 3 or tuple(specs.shape[1:]) != expected:
        raise DataError(f"{path}: specs have shape {specs.shape}, expected (N, {expected[0]}, {expected[1]}) "
                        "(features.n_mels, features.segment_frames); run `astgan synthesize` again with this config")
    if labels.shape != (len(specs), 2):
        raise DataError(f"{path}: labels have shape {labels.shape}, expected ({len(specs)}, 2)")
    if not (np.isfinite(labels).all() and np.isfinite(specs).all()):
        raise DataError(f"{path}: holds NaN or infinite values; run `astgan synthesize` again")
    return specs, labels.astype(np.float32)


def make_datasets(cfg: Config, data) -> tuple[AugmentedSpectrogramDataset, SegmentDataset]:
    """The training pool (real TRAIN + synthetic, SpecAugment) and the real VAL segments (untouched)."""
    real = SegmentDataset.from_split(data, "train", cfg.features)
    if len(real) == 0:
        raise DataError("no TRAIN segments: the split left no training songs")
    specs = labels = None
    if cfg.ast.synthetic_ratio > 0:
        specs, labels = load_synthetic(cfg)
    # AST's default widths suit 128 x 1024 segments: never wider than the segment itself
    augment = SpecAugment(min(cfg.ast.freq_mask, cfg.features.n_mels), min(cfg.ast.time_mask, cfg.features.segment_frames))
    pool = AugmentedSpectrogramDataset(real, specs, labels, cfg.ast.synthetic_ratio, augment, seed=cfg.run.seed)
    val = SegmentDataset.from_split(data, "val", cfg.features)
    if len(val) == 0:
        raise DataError("no VAL segments: early stopping needs validation songs (raise split.val)")
    if specs is not None and len(specs) < pool.n_synthetic:
        log.warning(f"synthetic.npz holds {len(specs)} segments but ast.synthetic_ratio={cfg.ast.synthetic_ratio} asks "
                    f"for {pool.n_synthetic}: each is used about {pool.n_synthetic / len(specs):.1f} times per pool")
    return pool, val


def make_loaders(cfg: Config, pool: AugmentedSpectrogramDataset, val: SegmentDataset,
                 device: torch.device) -> tuple[DataLoader, DataLoader, EpochSampler]:
    """Loaders and the epoch sampler: ``n_real`` draws from the pool per epoch, whatever its size."""
    sampler = EpochSampler(len(pool), pool.n_real, seed=cfg.run.seed)
    common = {"num_workers": cfg.run.num_workers, "pin_memory": device.type == "cuda",
              "persistent_workers": cfg.run.num_workers > 0}
    train_loader = DataLoader(pool, batch_size=cfg.ast.batch_size, sampler=sampler, **common)
    val_loader = DataLoader(val, batch_size=cfg.ast.batch_size * 2, shuffle=False, **common)
    return train_loader, val_loader, sampler


def steps_per_epoch(n_real: int, batch_size: int) -> int:
    """Optimiser steps in one epoch: set by the real TRAIN segments alone."""
    return math.ceil(n_real / batch_size)


def make_accelerator(cfg: Config):
    """Accelerator for ``run.device`` and ``run.precision`` (``accelerate launch`` adds processes)."""
    from accelerate import Accelerator

    from astgan.runtime import resolve_device, resolve_precision

    device = resolve_device(cfg.run.device)
    precision = resolve_precision(cfg.run.precision, device)
    single_process = int(os.environ.get("WORLD_SIZE", "1")) == 1  # accelerate launch picks each process's GPU
    if device.type == "cuda" and device.index is not None and single_process:
        torch.cuda.set_device(device.index)
    mixed = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]
    return Accelerator(cpu=device.type == "cpu", mixed_precision=mixed)


def train_ast(cfg: Config, resume: bool = False, progress: bool = True) -> Path:
    """The ``astgan train-ast`` stage; returns the path of ``<run>/ast/best.pt``.

    ``resume`` continues from ``<run>/ast/last.pt`` (model, optimiser, scheduler, early stopping,
    RNG, history); ``ast.epochs`` may be raised to train further.
    """
    from astgan.prepare import prepare_data
    from astgan.regressor import build_regressor, regressor_from_checkpoint
    from astgan.runtime import seed_everything, set_rng_state
    from astgan.schedules import EarlyStopping, make_optimizer, make_scheduler

    out = cfg.run_dir / AST_DIR
    last = _load_resume_checkpoint(cfg, out) if resume else None
    seed_everything(cfg.run.seed)
    accelerator = make_accelerator(cfg)
    if not accelerator.is_main_process:  # under `accelerate launch`, one process tells the story
        log.setLevel(logging.WARNING)
    # the model first: an unreachable pretrained id or a shape it cannot take fails before any work
    model = regressor_from_checkpoint(last, "last.pt") if last else build_regressor(cfg)
    with accelerator.main_process_first():  # one process extracts features, the others reuse the cache
        data = prepare_data(cfg, progress=progress and accelerator.is_local_main_process)
    pool, val = make_datasets(cfg, data)
    train_loader, val_loader, sampler = make_loaders(cfg, pool, val, accelerator.device)
    n_steps = steps_per_epoch(pool.n_real, cfg.ast.batch_size)
    log.info(f"training pool: {pool.n_real} real + {pool.n_synthetic} synthetic segments "
             f"(ast.synthetic_ratio={cfg.ast.synthetic_ratio:g}); {n_steps} steps per epoch, set by the real "
             f"segments; validation: {len(val)} real segments of {val.songs.shape[0]} songs")

    optimizer = make_optimizer(model, cfg.ast)
    scheduler = make_scheduler(optimizer, n_steps * cfg.ast.epochs, cfg.ast.warmup_fraction)
    model, optimizer, train_loader, val_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, val_loader, scheduler)
    stopper = EarlyStopping(cfg.ast.patience)
    history: list[dict] = []
    if last:
        optimizer.load_state_dict(last["optimizer"])
        scheduler.load_state_dict(last["scheduler"])
        stopper.load_state_dict(last["early_stopping"])
        history = list(last["history"])
        set_rng_state(last["rng"])
        log.info(f"resuming {out / 'last.pt'} after epoch {last['epoch']} (best mean CCC "
                 f"{stopper.best:.3f} at epoch {stopper.best_epoch})")

    normalization = {"mean": data.normalization.mean, "std": data.normalization.std, "source": data.normalization.source}
    fit(model, optimizer, scheduler, accelerator, train_loader, val_loader, sampler, val.song_ids, stopper,
        history, cfg, normalization, progress)
    best = out / "best.pt"
    if accelerator.is_main_process:
        from astgan.plots import plot_training_curves

        plot_training_curves(pd.DataFrame(history, columns=HISTORY_COLUMNS), out / "curves.png", stopper.best_epoch)
        best_row = next(row for row in history if row["epoch"] == stopper.best_epoch)
        log.info(f"best epoch {stopper.best_epoch}: validation song-level CCC valence "
                 f"{best_row['val_valence_ccc']:.3f}, arousal {best_row['val_arousal_ccc']:.3f} -> {best}")
    accelerator.wait_for_everyone()
    return best


def fit(model, optimizer, scheduler, accelerator, train_loader, val_loader, sampler: EpochSampler,
        val_song_ids: np.ndarray, stopper, history: list[dict], cfg: Config, normalization: dict,
        progress: bool = True) -> None:
    """Epochs after the last one in ``history`` up to ``ast.epochs``, or until early stopping.

    After every epoch: ``best.pt`` when validation mean CCC improved, ``last.pt`` and
    ``history.csv`` (all atomic, main process only), so an interruption loses at most one epoch.
    """
    from astgan.epochs import train_epoch, validate
    from astgan.regressor import regressor_checkpoint
    from astgan.runtime import save_checkpoint

    out = cfg.run_dir / AST_DIR
    first = history[-1]["epoch"] + 1 if history else 1
    step = history[-1]["step"] if history else 0
    if stopper.should_stop:
        log.info(f"nothing to do: early stopping ended training after epoch {first - 1} (raise ast.patience to go on)")
        return
    if first > cfg.ast.epochs:
        log.info(f"nothing to do: training already ran {first - 1} epochs (raise ast.epochs to go on)")
        return
    for epoch in range(first, cfg.ast.epochs + 1):
        sampler.set_epoch(epoch)
        result = train_epoch(model, train_loader, optimizer, scheduler, accelerator, cfg.ast.loss, cfg.ast.grad_clip,
                             progress, desc=f"ast epoch {epoch}/{cfg.ast.epochs}")
        metrics = validate(model, val_loader, accelerator, val_song_ids, cfg.ast.loss)
        step += result.steps
        history.append({"epoch": epoch, "step": step, "train_loss": result.loss, **metrics,
                        "lr": scheduler.get_last_lr()[0], "seconds": result.seconds, "data_wait": result.data_wait})
        improved = stopper.step(metrics["val_mean_ccc"], epoch)
        if accelerator.is_main_process:
            unwrapped = accelerator.unwrap_model(model)
            if improved:
                save_checkpoint(out / "best.pt", regressor_checkpoint(unwrapped, cfg, normalization, epoch, metrics))
            save_checkpoint(out / "last.pt", _resume_payload(unwrapped, optimizer, scheduler, stopper, history,
                                                             cfg, normalization))
            write_history(out / "history.csv", history)
        accelerator.wait_for_everyone()
        log.info(f"epoch {epoch}/{cfg.ast.epochs}: train loss {result.loss:.4f}, val loss {metrics['val_loss']:.4f}, "
                 f"val CCC V {metrics['val_valence_ccc']:.3f} A {metrics['val_arousal_ccc']:.3f} "
                 f"({result.seconds:.1f}s{', best' if improved else ''})")
        if stopper.should_stop:
            log.info(f"early stop: no better validation mean CCC for {stopper.patience} epochs")
            break


def write_history(path: Path, history: list[dict]) -> Path:
    """``ast/history.csv``: one row per epoch (HISTORY_COLUMNS)."""
    from astgan.runtime import write_text

    return write_text(path, pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(index=False, float_format="%.6g"))


# --------------------------------------------------------------------------- resume

# Keys that change what a run is: resuming with another value would mix two experiments.
RESUME_KEYS = [
    "data.root", "data.max_songs", "features.n_mels", "features.segment_frames", "features.segment_hop",
    "features.max_segments_per_song", "split.seed", "ast.pretrained", "ast.hidden_size", "ast.num_layers",
    "ast.num_heads", "ast.intermediate_size", "ast.patch_size", "ast.frequency_stride", "ast.time_stride",
    "ast.batch_size", "ast.lr", "ast.loss", "ast.synthetic_ratio", "run.seed",
]


def _load_resume_checkpoint(cfg: Config, out: Path) -> dict:
    from astgan.runtime import check_config_compatible, load_checkpoint

    path = out / "last.pt"
    if not path.is_file():
        raise MissingArtifactError(f"{path} not found: nothing to resume; run `astgan train-ast` without --resume")
    last = load_checkpoint(path, produced_by="train-ast")
    check_config_compatible(last["config"], cfg.to_dict(), RESUME_KEYS, f"{path}")
    return last


def _resume_payload(model, optimizer, scheduler, stopper, history: list[dict], cfg: Config, normalization: dict) -> dict:
    """``ast/last.pt``: everything to continue exactly where training stopped (tensors and plain data)."""
    from astgan.regressor import regressor_checkpoint
    from astgan.runtime import rng_state

    payload = regressor_checkpoint(model, cfg, normalization, history[-1]["epoch"], history[-1])
    payload.update({
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "early_stopping": stopper.state_dict(),
        "rng": rng_state(),
        "history": [dict(row) for row in history],
    })
    return payload
