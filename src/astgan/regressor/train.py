"""The train-ast stage: the AST regressor on real TRAIN segments (+ extra items), early stopping on VAL songs.

``train_ast(cfg)`` reads the prepared real data and, when ``ast.synthetic_ratio > 0``, the extra
items it adds on top of every real batch (the run's synthetic set, or C-Mixup blends of real
segments); trains with accelerate (CPU, one GPU, or several under ``accelerate launch``, mixed
precision on CUDA), and writes ``ast/best.pt``, ``ast/last.pt`` (for ``--resume``),
``ast/history.csv`` and ``ast/curves.png``.

Ablations are honest by construction (see :mod:`astgan.data.batches`): an epoch is
``ceil(n_real / batch_size)`` optimiser steps whatever the extra items, and the real part of
every step is the same in every arm, so arms differ only in what is added on top. The real items
also weigh the same in every arm: a step's loss is the mean over its B real items plus E / B times
the mean over its E extra items (every item counts 1 / B), and the real and the extra items go
through the model in two forward passes, each under a dropout seed of its own that depends only
on the step, so the real items meet the same dropout masks in every arm.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from astgan.artifacts import check_config_compatible, load_checkpoint, save_checkpoint, write_text
from astgan.config import AstConfig, Config
from astgan.data.augment import CMixup, SpecAugment
from astgan.data.batches import ExtraItems, SegmentBank, Step, TrainingBatches
from astgan.data.prepare import PreparedData, prepare_data
from astgan.data.registry import label_scale_of
from astgan.data.synthetic_set import read_synthetic
from astgan.errors import AstganError, DataError, MissingArtifactError
from astgan.metrics import regression_report, song_means
from astgan.regressor.accelerator import device_batch, make_accelerator
from astgan.regressor.early_stopping import EarlyStopping
from astgan.regressor.losses import regression_loss
from astgan.regressor.model import build_regressor, regressor_checkpoint, regressor_from_checkpoint, to_label_range
from astgan.runtime import resolve_device, rng_state, seed_everything, set_rng_state

log = logging.getLogger(__name__)

HISTORY_COLUMNS = [
    "epoch", "step", "train_loss", "val_loss", "val_valence_ccc", "val_arousal_ccc",
    "val_valence_rmse", "val_arousal_rmse", "val_mean_ccc", "lr", "seconds", "data_wait",
]
FINITE_CHECK_EVERY = 50  # steps between checks that the loss is finite (each check waits for the device)

# --------------------------------------------------------------------------- data


def load_synthetic(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """The run's synthetic set: specs (N, n_mels, frames), labels (N, 2) on -1..1, checked."""
    return read_synthetic(
        cfg.paths.synthetic, cfg.features.n_mels, cfg.features.segment_frames,
        missing_hint=f" (ast.synthetic_ratio={cfg.ast.synthetic_ratio} asks for synthetic data), or train on "
        "real data only with --set ast.synthetic_ratio=0 (or on C-Mixup items: --set ast.synthetic_source=cmixup)",
    )


@dataclass
class TrainingData:
    """What the regressor trains and validates on: the step batches and the VAL segments."""

    batches: TrainingBatches
    val: SegmentBank
    val_song_ids: np.ndarray  # (N_val_segments,) the song of each VAL segment

    def describe(self, cfg: Config) -> str:
        batches = self.batches
        extra = (f" + {batches.n_extra(cfg.ast.batch_size)} {cfg.ast.synthetic_source} items on top of each batch "
                 f"of {cfg.ast.batch_size}" if batches.extras is not None else "")
        where = "in memory" if batches.real.resident else "read from the cache"
        return (f"training: {len(batches.real)} real TRAIN segments ({where}){extra}; {batches.global_steps} "
                f"steps per epoch, set by the real segments; validation: {len(self.val)} real segments of "
                f"{len(set(self.val_song_ids))} songs")


def make_training_data(cfg: Config, data: PreparedData, device: torch.device, rank: int = 0,
                       world: int = 1) -> TrainingData:
    """The real TRAIN bank with its extra items (synthetic or C-Mixup) and the real VAL segments."""
    real_segments = data.segments("train")
    if len(real_segments) == 0:
        raise DataError("no TRAIN segments: the split left no training songs")
    val_segments = data.segments("val")
    if len(val_segments) == 0:
        raise DataError("no VAL segments: early stopping needs validation songs (raise split.val)")
    real = SegmentBank(real_segments, device)
    extras = make_extra_items(cfg, real, device) if cfg.ast.synthetic_ratio > 0 else None
    augment = SpecAugment(cfg.ast.freq_mask, cfg.ast.time_mask)
    batches = TrainingBatches(real, cfg.ast.batch_size, cfg.run.seed, augment, extras, cfg.ast.synthetic_ratio,
                              rank=rank, world=world)
    return TrainingData(batches, SegmentBank(val_segments, device), val_segments.song_ids)


def make_extra_items(cfg: Config, real: SegmentBank, device: torch.device) -> ExtraItems:
    """The items added on top of each real batch: the run's synthetic set, or C-Mixup blends of ``real``."""
    if cfg.ast.synthetic_source == "cmixup":
        cmixup = CMixup(real.labels.cpu().numpy(), cfg.ast.mixup_bandwidth, cfg.ast.mixup_alpha, real.song_index)
        return ExtraItems("cmixup", real, cmixup)
    specs, labels = load_synthetic(cfg)
    return ExtraItems("synthetic", SegmentBank((specs, labels), device))


# --------------------------------------------------------------------------- optimisation


def make_optimizer(model: nn.Module, cfg: AstConfig) -> torch.optim.AdamW:
    """AdamW; biases, norms, position embeddings and tokens are not decayed (only weight matrices).

    On CUDA the fused kernel updates every parameter in one launch (the model must already be on
    the device).
    """
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.dim() >= 2 and "embeddings.position" not in name else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = all(p.is_cuda for p in decay + no_decay)
    return torch.optim.AdamW(groups, lr=cfg.lr, fused=fused or None)


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float):
    """Linear warmup over ``warmup_fraction`` of the steps, then cosine decay to zero (a LambdaLR)."""
    from transformers import get_cosine_schedule_with_warmup

    warmup = int(math.ceil(warmup_fraction * total_steps))
    return get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


# --------------------------------------------------------------------------- the trainer


@dataclass
class EpochResult:
    loss: float  # mean training loss per real segment (a step's loss: real mean + E / B x extra mean)
    steps: int  # optimiser steps taken
    seconds: float
    data_wait: float  # share of the epoch spent waiting for the next batch


class AstTrainer:
    """Owns the regressor, its optimiser, schedule, accelerator, early stopping and history.

    The same shape as :class:`astgan.gan.train.GanTrainer`: ``train_epoch`` is one pass over the
    training loader, ``validate`` scores the VAL segments at song level, ``state_dict`` /
    ``load_state_dict`` hold everything a resumed run needs. Written against an
    ``accelerate.Accelerator``, so the same code runs on the CPU, one GPU, several GPUs and in
    mixed precision without branching.
    """

    def __init__(self, cfg: Config, model: nn.Module, steps_per_epoch: int, accelerator):
        self.cfg = cfg
        self.accelerator = accelerator
        model = model.to(accelerator.device)  # before the optimiser: a fused one needs its parameters there
        optimizer = make_optimizer(model, cfg.ast)
        scheduler = make_scheduler(optimizer, steps_per_epoch * cfg.ast.epochs, cfg.ast.warmup_fraction)
        self.model, self.optimizer, self.scheduler = accelerator.prepare(model, optimizer, scheduler)
        self.stopper = EarlyStopping(cfg.ast.patience)
        self.history: list[dict] = []

    @property
    def epochs_done(self) -> int:
        return self.history[-1]["epoch"] if self.history else 0

    @property
    def steps_done(self) -> int:
        return self.history[-1]["step"] if self.history else 0

    def step_losses(self, step: Step) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the real items' mean loss, E / B times the extra items' mean loss or None without extras).

        Each forward pass runs under its own seed of the step (dropout), drawn in a forked RNG so the
        global generators are left as they were: the real items' pass is the same in every arm."""
        kind = self.cfg.ast.loss
        real = regression_loss(self._forward(step.specs, step.seed), step.labels, kind)
        if step.n_extra == 0:
            return real, None
        extra = regression_loss(self._forward(step.extra_specs, step.seed + 1), step.extra_labels, kind)
        return real, step.extra_weight * extra

    def _forward(self, specs: torch.Tensor, seed: int) -> torch.Tensor:
        device = self.accelerator.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            return self.model(specs)

    def train_epoch(self, batches: Iterable[Step], n_steps: int, progress: bool = True,
                    desc: str = "train") -> EpochResult:
        """One pass over ``batches`` (:class:`Step`: real segments, extra items on top) on the device:
        forward, loss, backward, clip, step.

        The loss stays on the device (summed there, read once at the end) and its finiteness is
        checked every ``FINITE_CHECK_EVERY`` steps, so the host never waits for the GPU mid-epoch.
        """
        from tqdm import tqdm

        ast, accelerator = self.cfg.ast, self.accelerator
        self.model.train()
        total = torch.zeros((), device=accelerator.device)
        count, steps, waited = 0, 0, 0.0
        started = tick = time.perf_counter()
        bar = tqdm(total=n_steps, desc=desc, unit="step", leave=False, mininterval=0.5,
                   disable=not progress or not accelerator.is_local_main_process)
        for step in batches:
            waited += time.perf_counter() - tick
            real, extra = self.step_losses(step)
            self.optimizer.zero_grad(set_to_none=True)
            if extra is None:
                accelerator.backward(real)
            else:  # two backward passes, gradients summed; several GPUs synchronise once, on the second
                with accelerator.no_sync(self.model):
                    accelerator.backward(real)
                accelerator.backward(extra)
            accelerator.clip_grad_norm_(self.model.parameters(), ast.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            loss = real.detach() if extra is None else real.detach() + extra.detach()
            total += loss * len(step.labels)
            count += len(step.labels)
            steps += 1
            if steps % FINITE_CHECK_EVERY == 0:
                self._check_finite(total, steps)
            bar.update(1)
            tick = time.perf_counter()
        bar.close()
        self._check_finite(total, steps)
        total = accelerator.reduce(torch.stack([total, torch.tensor(float(count), device=total.device)]), "sum")
        seconds = time.perf_counter() - started
        return EpochResult(float(total[0] / total[1].clamp(min=1.0)), steps, seconds, waited / max(seconds, 1e-9))

    @staticmethod
    def _check_finite(total: torch.Tensor, steps: int) -> None:
        if not torch.isfinite(total):
            raise AstganError(f"training diverged (the loss is not finite by step {steps} of the epoch); "
                              "lower ast.lr or raise ast.warmup_fraction")

    @torch.no_grad()
    def predict(self, bank: SegmentBank, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) predictions (clamped to the label range) and (N, 2) labels of every segment of ``bank``."""
        self.model.eval()
        preds = [to_label_range(self.model(specs).float()) for specs, _ in bank.batches(batch_size)]
        return torch.cat(preds).cpu().numpy(), bank.labels.cpu().numpy()

    def validate(self, bank: SegmentBank, song_ids: np.ndarray) -> dict:
        """Validation metrics: segment-level loss, song-level CCC and RMSE (on the dataset's scale, DEAM's
        1..9) per dimension.

        ``song_ids``: (N_segments,) the song of each segment of ``bank`` (same order).
        """
        preds, labels = self.predict(bank, 4 * self.cfg.ast.batch_size)
        loss = regression_loss(torch.from_numpy(preds), torch.from_numpy(labels), self.cfg.ast.loss).item()
        report = regression_report(song_means(preds, song_ids), song_means(labels, song_ids),
                                   error_scale=label_scale_of(self.cfg.data).half_width)
        return {
            "val_loss": loss,
            "val_valence_ccc": report["valence"]["ccc"],
            "val_arousal_ccc": report["arousal"]["ccc"],
            "val_valence_rmse": report["valence"]["rmse"],
            "val_arousal_rmse": report["arousal"]["rmse"],
            "val_mean_ccc": report["mean_ccc"],
        }

    def record(self, epoch: int, result: EpochResult, metrics: dict) -> bool:
        """Add an epoch to the history and to early stopping; True when it is the best so far."""
        self.history.append({"epoch": epoch, "step": self.steps_done + result.steps, "train_loss": result.loss,
                             **metrics, "lr": self.scheduler.get_last_lr()[0], "seconds": result.seconds,
                             "data_wait": result.data_wait})
        return self.stopper.step(metrics["val_mean_ccc"], epoch)

    def unwrapped_model(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def state_dict(self) -> dict:
        """Optimiser, schedule, early stopping and history (the model's weights are saved beside them)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "early_stopping": self.stopper.state_dict(),
            "history": [dict(row) for row in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.stopper.load_state_dict(state["early_stopping"])
        self.history = [dict(row) for row in state["history"]]


# --------------------------------------------------------------------------- the stage


@dataclass
class AstTrainingResult:
    """What ``train_ast`` leaves behind: where the best model is, and how training went."""

    best_path: Path
    history: list[dict]  # one row per epoch (HISTORY_COLUMNS)
    best_epoch: int
    seconds: float

    @property
    def best_row(self) -> dict:
        return next(row for row in self.history if row["epoch"] == self.best_epoch)

    @property
    def steps(self) -> int:
        return int(self.history[-1]["step"]) if self.history else 0


def train_ast(cfg: Config, resume: bool = False, progress: bool = True) -> AstTrainingResult:
    """The ``astgan train-ast`` stage (see the module doc).

    ``resume`` continues from ``ast/last.pt`` (model, optimiser, scheduler, early stopping, RNG,
    history); ``ast.epochs`` may be raised to train further.
    """
    started = time.perf_counter()
    paths = cfg.paths
    cfg = device_batch(cfg, resolve_device(cfg.run.device))
    last = _load_resume_checkpoint(cfg) if resume else None
    seed_everything(cfg.run.seed, cfg.run.threads)
    accelerator = make_accelerator(cfg)
    # the model first: an unreachable pretrained id or a shape it cannot take fails before any work
    model = regressor_from_checkpoint(last, "last.pt") if last else build_regressor(cfg)
    with accelerator.main_process_first():  # one process extracts features, the others reuse the cache
        data = prepare_data(cfg, progress=progress and accelerator.is_local_main_process)
    training = make_training_data(cfg, data, accelerator.device, accelerator.process_index, accelerator.num_processes)
    log.info(training.describe(cfg))

    trainer = AstTrainer(cfg, model, training.batches.global_steps, accelerator)
    if last:
        trainer.load_state_dict(last)
        set_rng_state(last["rng"])
        log.info(f"resuming {paths.ast_last} after epoch {last['epoch']} (best mean CCC "
                 f"{trainer.stopper.best:.3f} at epoch {trainer.stopper.best_epoch})")

    _fit(trainer, training, data.normalization.to_dict(), progress)
    if accelerator.is_main_process:
        from astgan.regressor.figures import plot_training_curves

        history = pd.DataFrame(trainer.history, columns=HISTORY_COLUMNS)
        plot_training_curves(history, paths.curves_figure, trainer.stopper.best_epoch)
        best_row = next(row for row in trainer.history if row["epoch"] == trainer.stopper.best_epoch)
        log.info(f"best epoch {trainer.stopper.best_epoch}: validation song-level CCC valence "
                 f"{best_row['val_valence_ccc']:.3f}, arousal {best_row['val_arousal_ccc']:.3f} -> {paths.best}")
    accelerator.wait_for_everyone()
    return AstTrainingResult(paths.best, list(trainer.history), trainer.stopper.best_epoch,
                             time.perf_counter() - started)


def _fit(trainer: AstTrainer, training: TrainingData, normalization: dict, progress: bool = True) -> None:
    """Epochs after the last one in the trainer's history up to ``ast.epochs``, or until early stopping.

    After every epoch: ``best.pt`` when validation mean CCC improved, ``last.pt`` and
    ``history.csv`` (all atomic, main process only), so an interruption loses at most one epoch.
    """
    cfg, accelerator, paths = trainer.cfg, trainer.accelerator, trainer.cfg.paths
    first = trainer.epochs_done + 1
    if trainer.stopper.should_stop:
        log.info(f"nothing to do: early stopping ended training after epoch {first - 1} (raise ast.patience to go on)")
        return
    if first > cfg.ast.epochs:
        log.info(f"nothing to do: training already ran {first - 1} epochs (raise ast.epochs to go on)")
        return
    for epoch in range(first, cfg.ast.epochs + 1):
        batches = training.batches
        result = trainer.train_epoch(batches.epoch(epoch), len(batches), progress,
                                     desc=f"ast epoch {epoch}/{cfg.ast.epochs}")
        metrics = trainer.validate(training.val, training.val_song_ids)
        improved = trainer.record(epoch, result, metrics)
        if accelerator.is_main_process:
            model = trainer.unwrapped_model()
            if improved:
                save_checkpoint(paths.best, regressor_checkpoint(model, cfg, normalization, epoch, metrics))
            save_checkpoint(paths.ast_last, _resume_payload(trainer, model, normalization))
            write_history(paths.history, trainer.history)
        accelerator.wait_for_everyone()
        log.info(f"epoch {epoch}/{cfg.ast.epochs}: train loss {result.loss:.4f}, val loss {metrics['val_loss']:.4f}, "
                 f"val CCC V {metrics['val_valence_ccc']:.3f} A {metrics['val_arousal_ccc']:.3f} "
                 f"({result.seconds:.1f}s{', best' if improved else ''})")
        if trainer.stopper.should_stop:
            log.info(f"early stop: no better validation mean CCC for {trainer.stopper.patience} epochs")
            break


def write_history(path: Path, history: list[dict]) -> Path:
    """``ast/history.csv``: one row per epoch (HISTORY_COLUMNS)."""
    return write_text(path, pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(index=False, float_format="%.6g"))


# --------------------------------------------------------------------------- resume

# Keys that change what a run is: resuming with another value would mix two experiments.
RESUME_KEYS = [
    "data.root", "data.max_songs", "features.n_mels", "features.segment_frames", "features.segment_hop",
    "features.max_segments_per_song", "split.seed", "ast.pretrained", "ast.hidden_size", "ast.num_layers",
    "ast.num_heads", "ast.intermediate_size", "ast.patch_size", "ast.frequency_stride", "ast.time_stride",
    "ast.batch_size", "ast.lr", "ast.loss", "ast.synthetic_ratio", "ast.synthetic_source", "ast.mixup_alpha",
    "ast.mixup_bandwidth", "run.seed",
]


def _load_resume_checkpoint(cfg: Config) -> dict:
    path = cfg.paths.ast_last
    if not path.is_file():
        raise MissingArtifactError(f"{path} not found: nothing to resume; run `astgan train-ast` without --resume")
    last = load_checkpoint(path, produced_by="train-ast")
    check_config_compatible(last["config"], cfg.to_dict(), RESUME_KEYS, f"{path}")
    return last


def _resume_payload(trainer: AstTrainer, model: nn.Module, normalization: dict) -> dict:
    """``ast/last.pt``: everything to continue exactly where training stopped (tensors and plain data)."""
    last_row = trainer.history[-1]
    payload = regressor_checkpoint(model, trainer.cfg, normalization, last_row["epoch"], last_row)
    payload.update(trainer.state_dict())
    payload["rng"] = rng_state()
    return payload
