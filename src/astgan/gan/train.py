"""The GAN stage: ``train_gan(cfg)`` trains the conditional pair on real TRAIN segments.

Writes into ``<run>/gan/``: ``metrics.csv`` (one row per epoch), ``losses.png``, sample figures
(``samples_epoch_NNN.png`` every ``gan.sample_every`` epochs, ``samples.png`` at the end),
``last.pt`` (everything needed to resume, rewritten atomically every epoch) and ``generator.pt``
(the final generator and its config).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from astgan.artifacts import check_config_compatible, load_checkpoint, save_checkpoint, write_text
from astgan.config import Config, GanConfig
from astgan.data.datasets import SegmentDataset
from astgan.data.features import Normalization
from astgan.data.prepare import prepare_data
from astgan.errors import AstganError, DataError
from astgan.gan.figures import plot_gan_history
from astgan.gan.losses import (
    collapse_signs,
    motion_matching_loss,
    needs_extra_generator_step,
)
from astgan.gan.models import MODEL_KEYS, build_discriminator, build_generator, count_parameters
from astgan.gan.sample_probe import SampleProbe
from astgan.gan.updates import DiscriminatorUpdate, GeneratorEma, adam, optimizer_step
from astgan.paths import RunPaths
from astgan.runtime import (
    autocast,
    autocast_dtype,
    resolve_device,
    resolve_precision,
    rng_state,
    seed_everything,
    set_rng_state,
)

log = logging.getLogger(__name__)

# g_loss and d_loss are the adversarial losses alone; label_mse_* (empty unless the label loss is on)
# is D's (valence, arousal) read-out error on real and on fake segments; r1_penalty (empty unless
# R1 is on) the mean squared gradient norm of D on real segments, over the steps that computed it;
# motion_gap (empty unless gan.motion_match > 0) the motion-matching gap before its weight.
METRIC_COLUMNS = ["epoch", "g_loss", "d_loss", "d_real_acc", "d_fake_acc", "lr_g", "lr_d", "extra_g_steps",
                  "steps", "label_mse_real", "label_mse_fake", "r1_penalty", "motion_gap", "sample_diversity",
                  "seconds"]
IN_MEMORY_BYTES = 1 << 30  # TRAIN sets up to 1 GiB (float32) are read once and kept in (device) memory
FINITE_CHECK_EVERY = 50  # steps between checks that the losses are finite (each check waits for the device)
PROGRESS_SECONDS = 0.5  # the progress bar's numbers are read back at most this often


class MetricMeter:
    """Sums of per-step metrics, kept on the device; read back (one wait) only when asked."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, metrics: dict[str, torch.Tensor]) -> None:
        for key, value in metrics.items():
            self.sums[key] = self.sums[key] + value if key in self.sums else value.detach().float().clone()
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        """Mean of every metric over the steps that reported it."""
        if not self.sums:
            return {}
        values = torch.stack(list(self.sums.values())).cpu().tolist()
        return {key: value / self.counts[key] for key, value in zip(self.sums, values)}

    def check_finite(self, where: str) -> None:
        """Fail when a loss has become NaN or infinite (one wait for the device)."""
        bad = [key for key, value in self.means().items() if not np.isfinite(value)]
        if bad:
            raise AstganError(f"GAN training diverged ({', '.join(bad)} not finite) {where}; lower gan.lr_d and "
                              "gan.lr_g, or switch on the stabilisers (gan.recipe=modern)")


class GanTrainer:
    """Owns G (with its optimiser, schedule, scaler and EMA) and the :class:`DiscriminatorUpdate`.

    ``train_step`` is one step (D, then G), ``train_epoch`` one pass over the TRAIN segments,
    ``state_dict`` / ``load_state_dict`` everything a resumed run needs. ``cfg.gan`` is read
    through its recipe (:meth:`GanConfig.resolved`).
    """

    def __init__(self, cfg: Config, device: torch.device):
        gan = cfg.gan.resolved()
        self.cfg, self.gan, self.device = cfg, gan, device
        precision = resolve_precision(cfg.run.precision, device)
        self.amp_dtype = autocast_dtype(precision)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
        self.generator = build_generator(cfg).to(device)
        self.critic = DiscriminatorUpdate(build_discriminator(cfg).to(device), gan, device, self.amp_dtype,
                                          fp16=precision == "fp16")
        self.opt_g = adam(self.generator, gan.lr_g, gan.betas, device)
        self.sched_g = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, gamma=gan.lr_gamma)
        # fp16 needs loss scaling; with bf16 or fp32 the scaler is disabled and passes through.
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.ema = GeneratorEma(self.generator, gan.ema_decay) if gan.ema_decay > 0 else None
        self._flags = torch.tensor([0.0, 1.0], device=device)  # "extra G step" as a device value, no copy per step

    @property
    def discriminator(self) -> torch.nn.Module:
        return self.critic.discriminator

    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator that draws samples: the moving average when ``gan.ema_decay`` > 0."""
        return self.ema.module if self.ema is not None else self.generator

    def _fake(self, condition: torch.Tensor) -> torch.Tensor:
        z = torch.randn(len(condition), self.gan.latent_dim, device=self.device)
        with autocast(self.device, self.amp_dtype):
            return self.generator(z, condition)

    def _generator_update(self, fake: torch.Tensor, condition: torch.Tensor, real: torch.Tensor) -> dict:
        loss, metrics = self.critic.generator_terms(fake, condition)
        if self.gan.motion_match > 0:  # fake was drawn at real's labels: their batches should move alike
            gap = motion_matching_loss(fake, real)
            loss = loss + self.gan.motion_match * gap
            metrics["motion_gap"] = gap.detach()
        optimizer_step(loss, self.generator, self.opt_g, self.scaler_g, self.gan.grad_clip)
        return metrics

    def train_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        """``gan.d_steps`` D updates, one G update, and a second G update when D was too strong
        (:func:`needs_extra_generator_step`; only when ``gan.extra_g_step_threshold`` < 1).

        real: (B, n_mels, frames), condition: (B, 2), both on the device. The first D update and
        the G update share one batch of fakes (as DCGAN's loop does: one G forward less). Returns
        0-d device tensors: the last D update's metrics, G's, and ``extra_g_steps`` (0 or 1).
        """
        fake = self._fake(condition)
        for i in range(self.gan.d_steps):
            d_fake = fake.detach() if i == 0 else self._fake(condition).detach()
            d_metrics = self.critic.update(real, d_fake, condition)
        g_metrics = self._generator_update(fake, condition, real)
        extra = self.gan.extra_g_step_threshold < 1.0 and needs_extra_generator_step(
            float(d_metrics["d_real_acc"]), float(d_metrics["d_fake_acc"]), self.gan.extra_g_step_threshold)
        if extra:  # the classic recipe's rule reads D's accuracy back: one wait per step
            g_metrics = self._generator_update(self._fake(condition), condition, real)
        if self.ema is not None:
            self.ema.update(self.generator)
        return {**d_metrics, **g_metrics, "extra_g_steps": self._flags[int(extra)]}

    def end_epoch(self) -> None:
        self.sched_g.step()
        self.critic.scheduler.step()

    def spread_lr_decay(self, epochs: int) -> None:
        """Decay the learning rates over ``epochs`` epochs as ``gan.epochs`` epochs would (gan.steps):
        gamma ** (gan.epochs / epochs) per epoch, so that both end at lr * gamma ** gan.epochs."""
        gamma = self.gan.lr_gamma ** (self.cfg.gan.epochs / epochs)
        self.sched_g.gamma = self.critic.scheduler.gamma = gamma

    def train_epoch(self, batches: TrainingBatches, epoch: int, progress: bool = True,
                    max_steps: int | None = None, epochs: int | None = None) -> dict:
        """One pass over ``batches`` (at most ``max_steps`` steps, for gan.steps); returns the epoch's
        metrics.csv row (means over its steps). ``epochs``: the run's epoch count, for the progress bar."""
        from tqdm import tqdm

        started = time.perf_counter()
        lr_g, lr_d = self.opt_g.param_groups[0]["lr"], self.critic.optimizer.param_groups[0]["lr"]
        meter, steps, shown = MetricMeter(), 0, started
        total = len(batches) if max_steps is None else min(len(batches), max_steps)
        bar = tqdm(total=total, desc=f"gan epoch {epoch}/{epochs or self.cfg.gan.epochs}", unit="batch", leave=False,
                   disable=not progress, mininterval=PROGRESS_SECONDS)
        for real, condition in batches:
            meter.add(self.train_step(real, condition))
            steps += 1
            bar.update(1)
            if steps % FINITE_CHECK_EVERY == 0:
                meter.check_finite(f"at step {steps} of epoch {epoch}")
            if progress and time.perf_counter() - shown > PROGRESS_SECONDS:
                shown = time.perf_counter()
                means = meter.means()
                bar.set_postfix(G=f"{means['g_loss']:.2f}", D=f"{means['d_loss']:.2f}",
                                real=f"{means['d_real_acc']:.2f}", fake=f"{means['d_fake_acc']:.2f}", refresh=False)
            if steps == total:
                break
        bar.close()
        self.end_epoch()
        meter.check_finite(f"in epoch {epoch}")
        row = {"epoch": epoch, **meter.means()}
        row.update(lr_g=lr_g, lr_d=lr_d, extra_g_steps=int(round(row.get("extra_g_steps", 0.0) * steps)),
                   steps=steps, seconds=time.perf_counter() - started)
        return row

    def state_dict(self) -> dict:
        state = {"generator": self.generator.state_dict(), "opt_g": self.opt_g.state_dict(),
                 "sched_g": self.sched_g.state_dict(), "scaler_g": self.scaler_g.state_dict(),
                 "critic": self.critic.state_dict()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        for name in ("generator", "opt_g", "sched_g", "scaler_g", "critic"):
            getattr(self, name).load_state_dict(state[name])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])


class TrainingBatches:
    """Shuffled batches (spec (B, n_mels, frames), label (B, 2)) of the TRAIN segments, on the device.

    A TRAIN set that fits (``IN_MEMORY_BYTES``; on CUDA also at most a quarter of the free GPU
    memory) is read from the cache once and kept on the device, so a batch is one indexing
    operation there; a larger one is read segment by segment every epoch (``run.num_workers``
    processes). The order comes from torch's global RNG (seeded, and restored on resume).
    """

    def __init__(self, segments: SegmentDataset, batch_size: int, device: torch.device, num_workers: int = 0):
        self.device = device
        self.batch_size = min(batch_size, len(segments))
        self.n = len(segments)
        nbytes = self.n * segments.n_mels * segments.segment_frames * 4
        fits = nbytes <= IN_MEMORY_BYTES
        if device.type == "cuda":
            fits = fits or nbytes <= torch.cuda.mem_get_info(device)[0] // 4
        self.specs = self.labels = self.loader = None
        if fits:
            self.specs = torch.empty(self.n, segments.n_mels, segments.segment_frames, device=device)
            start = 0
            for chunk in segments.chunks():
                self.specs[start:start + len(chunk)] = torch.from_numpy(chunk).to(device)
                start += len(chunk)
            self.labels = torch.from_numpy(segments.labels.astype(np.float32)).to(device)
        else:
            self.loader = DataLoader(segments, batch_size=self.batch_size, shuffle=True, drop_last=True,
                                     num_workers=num_workers, pin_memory=device.type == "cuda")

    def __len__(self) -> int:
        return self.n // self.batch_size

    def __iter__(self):
        if self.loader is not None:
            for specs, labels in self.loader:
                yield specs.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
            return
        order = torch.randperm(self.n).to(self.device, non_blocking=True)
        for i in range(len(self)):
            picks = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield self.specs[picks], self.labels[picks]


def _write_metrics(history: list[dict], paths: RunPaths, loss: str) -> None:
    table = pd.DataFrame(history, columns=METRIC_COLUMNS)
    write_text(paths.gan_metrics, table.to_csv(index=False, float_format="%.6g"))
    plot_gan_history(history, paths.gan_losses_figure, loss)


def _resume(trainer: GanTrainer, cfg: Config, path: Path) -> tuple[int, list[dict]]:
    """Restore the trainer and RNG from ``last.pt``; returns (epochs done, metrics rows so far)."""
    checkpoint = load_checkpoint(path, produced_by="train-gan")
    check_config_compatible(checkpoint["config"], cfg.to_dict(), MODEL_KEYS, str(path))
    trainer.load_state_dict(checkpoint["trainer"])
    set_rng_state(checkpoint["rng"])
    return int(checkpoint["epoch"]), [dict(row) for row in checkpoint["history"]]


def save_generator(trainer: GanTrainer, cfg: Config, epoch: int, path: Path, normalization: Normalization) -> Path:
    """The final generator (its moving average when ``gan.ema_decay`` > 0) with the config that rebuilds
    it (see :func:`astgan.gan.models.load_generator`)."""
    state = {k: v.detach().cpu() for k, v in trainer.sampling_generator.state_dict().items()}
    return save_checkpoint(path, {
        "generator": state,
        "config": cfg.to_dict(),
        "epoch": epoch,
        "normalization": normalization.to_dict(),
    })


@dataclass
class GanTrainingResult:
    """What ``train_gan`` leaves behind: where the generator is, and how training went."""

    generator_path: Path
    history: list[dict]  # one metrics.csv row per epoch
    seconds: float

    @property
    def last_row(self) -> dict:
        return self.history[-1]


def train_gan(cfg: Config, resume: bool = False, progress: bool = True) -> GanTrainingResult:
    """Train the conditional GAN on TRAIN segments; writes ``gan/`` (see the module doc).

    Builds the song table, split and features first when the run folder has none. With
    ``resume``, continues from ``gan/last.pt`` (epoch count, metrics and RNG state go on).
    """
    started = time.perf_counter()
    paths = cfg.paths
    device = resolve_device(cfg.run.device)
    seed_everything(cfg.run.seed, cfg.run.threads)
    trainer = GanTrainer(cfg, device)  # first: a shape the networks cannot take fails before any work
    data = prepare_data(cfg, progress=progress)
    segments = data.segments("train")
    if len(segments) < 2:
        raise DataError(f"the GAN needs at least 2 TRAIN segments, found {len(segments)} under {cfg.data.root}")
    paths.gan_dir.mkdir(parents=True, exist_ok=True)
    done, history = 0, []
    last_path = paths.gan_last
    if resume and last_path.exists():
        done, history = _resume(trainer, cfg, last_path)
        log.info(f"resuming the GAN from {last_path} after epoch {done}")
    elif resume:
        log.warning(f"--resume: {last_path} not found, training from the start")
    elif last_path.exists():
        log.info(f"starting a new GAN run; {last_path} will be replaced (use --resume to continue it)")

    batches = TrainingBatches(segments, cfg.gan.batch_size, device, cfg.run.num_workers)
    probe = SampleProbe(segments, cfg)
    log.info(
        f"GAN: {len(segments)} TRAIN segments of {cfg.features.n_mels} x {cfg.features.segment_frames}, "
        f"{len(batches)} steps/epoch, {cfg.gan.architecture} G {count_parameters(trainer.generator):,} / D "
        f"{count_parameters(trainer.discriminator):,} parameters, on {device}; {recipe_line(trainer.gan)}"
    )
    epochs = planned_epochs(cfg, len(batches))
    if cfg.gan.steps is not None:
        trainer.spread_lr_decay(epochs)
        log.info(f"gan.steps={cfg.gan.steps}: {epochs} epochs of at most {len(batches)} steps")
    for epoch in range(done + 1, epochs + 1):
        limit = None if cfg.gan.steps is None else cfg.gan.steps - (epoch - 1) * len(batches)
        row = trainer.train_epoch(batches, epoch, progress, limit, epochs)
        samples = probe.samples(trainer.sampling_generator)
        row["sample_diversity"] = probe.diversity(samples)
        history.append(row)
        log.info(_epoch_line(row, epochs))
        for sign in collapse_signs(history, row["sample_diversity"]):
            log.warning(f"possible mode collapse at epoch {epoch}: {sign}")
        _write_metrics(history, paths, trainer.gan.loss)
        if epoch % cfg.gan.sample_every == 0:
            probe.figure(samples, paths.gan_epoch_samples_figure(epoch), f"epoch {epoch}: real TRAIN vs generated")
        save_checkpoint(last_path, {
            "trainer": trainer.state_dict(), "rng": rng_state(), "epoch": epoch,
            "history": history, "config": cfg.to_dict(),
        })

    if done >= epochs:
        log.info(f"{last_path} has trained {done} epoch(s) of {epochs}: nothing to train; "
                 "raise gan.epochs (or gan.steps) to train further")
    epochs = history[-1]["epoch"]
    samples = probe.samples(trainer.sampling_generator)
    probe.figure(samples, paths.gan_samples_figure, f"after epoch {epochs}: real TRAIN vs generated at its label")
    save_generator(trainer, cfg, epochs, paths.generator, data.normalization)
    return GanTrainingResult(paths.generator, history, time.perf_counter() - started)


def planned_epochs(cfg: Config, steps_per_epoch: int) -> int:
    """gan.epochs, or with gan.steps the epochs those steps take at ``steps_per_epoch``."""
    return cfg.gan.epochs if cfg.gan.steps is None else math.ceil(cfg.gan.steps / steps_per_epoch)


def recipe_line(gan: GanConfig) -> str:
    """The effective training rules in one line, for the log."""
    rules = [f"recipe {gan.recipe}: {gan.loss} loss", f"lr G {gan.lr_g:g} / D {gan.lr_d:g}", gan.conditioning + " D"]
    rules += ["spectral norm"] if gan.spectral_norm else []
    rules += ["local patch critic in D"] if gan.d_local else []
    rules += [f"R1 {gan.r1_weight:g} every {gan.r1_every}"] if gan.r1_weight > 0 else []
    rules += [f"label loss {gan.label_loss_weight:g}"] if gan.label_loss_weight > 0 else []
    rules += [f"G EMA {gan.ema_decay:g}"] if gan.ema_decay > 0 else []
    rules += [f"motion matching {gan.motion_match:g}"] if gan.motion_match > 0 else []
    rules += [f"smoothing {list(gan.real_label_range)}/{list(gan.fake_label_range)}"] if gan.loss == "bce" else []
    rules += [f"extra G step above acc {gan.extra_g_step_threshold:g}"] if gan.extra_g_step_threshold < 1 else []
    rules += [f"clip {gan.grad_clip:g}"] if gan.grad_clip > 0 else []
    rules += [f"lr x{gan.lr_gamma:g}/epoch"] if gan.lr_gamma != 1 else []
    return ", ".join(rules)


def _epoch_line(row: dict, epochs: int) -> str:
    """One log line per epoch: losses, D accuracies, extra G steps (and the label loss when on)."""
    label = (f" label mse real {row['label_mse_real']:.3f} fake {row['label_mse_fake']:.3f}"
             if "label_mse_real" in row else "")
    label += f" motion gap {row['motion_gap']:.3f}" if "motion_gap" in row else ""
    return (f"gan epoch {row['epoch']}/{epochs}: G {row['g_loss']:.3f} D {row['d_loss']:.3f} "
            f"real acc {row['d_real_acc']:.2f} fake acc {row['d_fake_acc']:.2f} "
            f"extra G steps {row['extra_g_steps']}/{row['steps']}{label} ({row['seconds']:.1f}s)")
