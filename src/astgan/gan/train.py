"""The GAN stage: ``train_gan(cfg)`` trains the conditional pair on real TRAIN segments.

Writes into ``<run>/gan/``: ``metrics.csv`` (one row per epoch), ``losses.png``, sample figures
(``samples_epoch_NNN.png`` every ``gan.sample_every`` epochs, ``samples.png`` at the end),
``last.pt`` (everything needed to resume, rewritten atomically every epoch) and ``generator.pt``
(the final generator and its config).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

from astgan.artifacts import check_config_compatible, load_checkpoint, save_checkpoint, write_text
from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.features import Normalization
from astgan.data.labels import nearest_to_corners
from astgan.data.prepare import prepare_data
from astgan.errors import DataError
from astgan.gan.figures import plot_condition_grid, plot_gan_history
from astgan.gan.losses import (
    collapse_signs,
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    needs_extra_generator_step,
)
from astgan.gan.models import MODEL_KEYS, build_discriminator, build_generator, count_parameters
from astgan.gan.quality import mean_pairwise_distance, pooled_vectors
from astgan.paths import RunPaths
from astgan.runtime import autocast_dtype, resolve_device, resolve_precision, rng_state, seed_everything, set_rng_state

log = logging.getLogger(__name__)

# g_loss and d_loss are the adversarial losses alone; label_mse_* (empty unless
# gan.label_loss_weight > 0) is D's (valence, arousal) read-out error on real and on fake segments.
METRIC_COLUMNS = ["epoch", "g_loss", "d_loss", "d_real_acc", "d_fake_acc", "lr_g", "lr_d",
                  "extra_g_steps", "steps", "label_mse_real", "label_mse_fake", "sample_diversity", "seconds"]
IN_MEMORY_BYTES = 1 << 30  # TRAIN sets up to 1 GiB (float32) are read once and kept in memory


class GanTrainer:
    """Owns G, D, their optimisers, schedulers and gradient scalers.

    ``train_step`` is one step (the discriminator and generator updates), ``train_epoch`` one pass
    over the TRAIN segments, ``state_dict`` / ``load_state_dict`` everything a resumed run needs.
    """

    def __init__(self, cfg: Config, device: torch.device):
        gan = cfg.gan
        self.cfg, self.device = cfg, device
        self.generator = build_generator(cfg).to(device)
        self.discriminator = build_discriminator(cfg).to(device)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=gan.lr_g, betas=gan.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=gan.lr_d, betas=gan.betas)
        self.sched_g = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, gamma=gan.lr_gamma)
        self.sched_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, gamma=gan.lr_gamma)
        precision = resolve_precision(cfg.run.precision, device)
        self.amp_dtype = autocast_dtype(precision)
        # fp16 needs loss scaling; with bf16 or fp32 the scalers are disabled and pass through.
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.label_weight = gan.label_loss_weight

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.gan.latent_dim, device=self.device)

    def _update(self, loss: torch.Tensor, model: torch.nn.Module, optimizer, scaler) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.gan.grad_clip)
        scaler.step(optimizer)
        scaler.update()

    def _judge(self, x: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's (B,) logits for ``x`` and, when the label loss is on, the mean squared error of D's
        (valence, arousal) read-out against ``condition`` (None when off)."""
        if not self.label_weight:
            return self.discriminator(x, condition), None
        logits, predicted = self.discriminator(x, condition, with_labels=True)
        return logits, F.mse_loss(predicted.float(), condition.float())

    def discriminator_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict:
        """One D update on a real batch and as many fakes at the same conditions.

        real: (B, n_mels, frames), condition: (B, 2). Returns the adversarial loss, D's real and
        fake accuracy (measured before the update) and, with the label loss, its error on real.
        """
        gan = self.cfg.gan
        with torch.no_grad(), self._autocast():
            fake = self.generator(self._noise(len(real)), condition)
        with self._autocast():
            real_logits, label_error = self._judge(real, condition)  # D learns labels on real only
            fake_logits = self.discriminator(fake, condition)
        loss = discriminator_loss(real_logits, fake_logits, gan.loss, gan.real_label_range, gan.fake_label_range)
        total = loss if label_error is None else loss + self.label_weight * label_error
        self._update(total, self.discriminator, self.opt_d, self.scaler_d)
        real_acc, fake_acc = discriminator_accuracy(real_logits.detach(), fake_logits.detach())
        step = {"d_loss": float(loss.detach()), "d_real_acc": real_acc, "d_fake_acc": fake_acc}
        if label_error is not None:
            step["label_mse_real"] = float(label_error.detach())
        return step

    def generator_step(self, condition: torch.Tensor) -> dict:
        """One G update against the current D (whose weights stay fixed).

        Returns the adversarial loss and, with the label loss, D's label error on the fakes.
        """
        self.discriminator.requires_grad_(False)  # gradients flow through D to G, none are kept for D
        try:
            with self._autocast():
                logits, label_error = self._judge(self.generator(self._noise(len(condition)), condition), condition)
            loss = generator_loss(logits, self.cfg.gan.loss)
            total = loss if label_error is None else loss + self.label_weight * label_error
            self._update(total, self.generator, self.opt_g, self.scaler_g)
        finally:
            self.discriminator.requires_grad_(True)
        step = {"g_loss": float(loss.detach())}
        if label_error is not None:
            step["label_mse_fake"] = float(label_error.detach())
        return step

    def train_step(self, real: torch.Tensor, condition: torch.Tensor) -> dict:
        """``gan.d_steps`` D updates (same real batch, fresh fakes), one G update, and a second
        G update when D was too strong (:func:`needs_extra_generator_step`).

        Returns the metrics of the last D and G update of the step (losses, accuracies, and
        ``extra_g_steps`` 0 or 1).
        """
        for _ in range(self.cfg.gan.d_steps):
            d_step = self.discriminator_step(real, condition)
        g_step = self.generator_step(condition)
        extra = needs_extra_generator_step(d_step["d_real_acc"], d_step["d_fake_acc"], self.cfg.gan.extra_g_step_threshold)
        if extra:
            g_step = self.generator_step(condition)
        return {**g_step, **d_step, "extra_g_steps": int(extra)}

    def end_epoch(self) -> None:
        self.sched_g.step()
        self.sched_d.step()

    def train_epoch(self, loader: DataLoader, epoch: int, progress: bool = True) -> dict:
        """One pass over ``loader``; returns the epoch's metrics.csv row (means over its steps)."""
        from tqdm import tqdm

        started = time.perf_counter()
        lr_g, lr_d = self.opt_g.param_groups[0]["lr"], self.opt_d.param_groups[0]["lr"]
        totals: dict[str, float] = {}
        steps = 0
        bar = tqdm(loader, desc=f"gan epoch {epoch}/{self.cfg.gan.epochs}", unit="batch", leave=False,
                   disable=not progress)
        for real, condition in bar:
            step = self.train_step(real.to(self.device, non_blocking=True), condition.to(self.device, non_blocking=True))
            for key, value in step.items():
                totals[key] = totals.get(key, 0.0) + value
            steps += 1
            bar.set_postfix(G=f"{totals['g_loss'] / steps:.2f}", D=f"{totals['d_loss'] / steps:.2f}",
                            real=f"{totals['d_real_acc'] / steps:.2f}", fake=f"{totals['d_fake_acc'] / steps:.2f}")
        bar.close()
        self.end_epoch()
        row = {"epoch": epoch, **{key: value / max(steps, 1) for key, value in totals.items()}}
        row.update(lr_g=lr_g, lr_d=lr_d, extra_g_steps=int(totals.get("extra_g_steps", 0)), steps=steps,
                   seconds=time.perf_counter() - started)
        return row

    def state_dict(self) -> dict:
        return {name: getattr(self, name).state_dict() for name in self._parts()}

    def load_state_dict(self, state: dict) -> None:
        for name in self._parts():
            getattr(self, name).load_state_dict(state[name])

    @staticmethod
    def _parts() -> list[str]:
        return ["generator", "discriminator", "opt_g", "opt_d", "sched_g", "sched_d", "scaler_g", "scaler_d"]


class SampleProbe:
    """Fixed conditions and noise, for the sample figures and the per-epoch collapse check.

    Conditions: the TRAIN segments nearest each V/A corner; ``n_z`` fixed noise vectors each.
    """

    def __init__(self, segments: SegmentDataset, cfg: Config, n_z: int = 4):
        labels = segments.labels.astype(np.float32)
        picks = np.array(list(nearest_to_corners(labels).values()))
        self.real = segments.stack(picks)  # (4, n_mels, frames)
        self.conditions = labels[picks]  # (4, 2)
        noise = torch.Generator().manual_seed(cfg.run.seed)
        self.z = torch.randn(len(picks), n_z, cfg.gan.latent_dim, generator=noise)
        rng = np.random.default_rng(cfg.run.seed)
        reference = segments.stack(rng.choice(len(segments), min(64, len(segments)), replace=False))
        self.real_spread = mean_pairwise_distance(pooled_vectors(reference))

    @torch.no_grad()
    def samples(self, generator: torch.nn.Module) -> np.ndarray:
        """(4, n_z, n_mels, frames) samples in eval mode (the generator is put back in train mode)."""
        device = next(generator.parameters()).device
        rows, n_z, latent = self.z.shape
        conditions = torch.from_numpy(self.conditions).repeat_interleave(n_z, dim=0)
        generator.eval()
        try:
            out = generator(self.z.reshape(rows * n_z, latent).to(device), conditions.to(device))
        finally:
            generator.train()
        return out.float().cpu().numpy().reshape(rows, n_z, *out.shape[1:])

    def diversity(self, samples: np.ndarray) -> float:
        """Mean distance across z within each condition, relative to the real segments' spread."""
        within = [mean_pairwise_distance(pooled_vectors(row)) for row in samples]
        return float(np.mean(within)) / max(self.real_spread, 1e-12)

    def figure(self, samples: np.ndarray, path: Path, title: str) -> Path:
        return plot_condition_grid(self.real, samples, self.conditions, path, title)


def training_loader(segments: SegmentDataset, cfg: Config) -> DataLoader:
    """Shuffled batches of (spec (B, n_mels, frames), label (B, 2)) from the TRAIN segments.

    A TRAIN set that fits in ``IN_MEMORY_BYTES`` is read from the cache once; a larger one is read
    segment by segment every epoch (``run.num_workers`` processes).
    """
    dataset: Dataset = segments
    if len(segments) * cfg.features.n_mels * cfg.features.segment_frames * 4 <= IN_MEMORY_BYTES:
        dataset = TensorDataset(torch.from_numpy(segments.stack()), torch.from_numpy(segments.labels.astype(np.float32)))
    return DataLoader(dataset, batch_size=min(cfg.gan.batch_size, len(segments)), shuffle=True, drop_last=True,
                      num_workers=cfg.run.num_workers if dataset is segments else 0)


def _write_metrics(history: list[dict], paths: RunPaths) -> None:
    table = pd.DataFrame(history, columns=METRIC_COLUMNS)
    write_text(paths.gan_metrics, table.to_csv(index=False, float_format="%.6g"))
    plot_gan_history(history, paths.gan_losses_figure)


def _resume(trainer: GanTrainer, cfg: Config, path: Path) -> tuple[int, list[dict]]:
    """Restore the trainer and RNG from ``last.pt``; returns (epochs done, metrics rows so far)."""
    checkpoint = load_checkpoint(path, produced_by="train-gan")
    check_config_compatible(checkpoint["config"], cfg.to_dict(), MODEL_KEYS, str(path))
    trainer.load_state_dict(checkpoint["trainer"])
    set_rng_state(checkpoint["rng"])
    return int(checkpoint["epoch"]), [dict(row) for row in checkpoint["history"]]


def save_generator(trainer: GanTrainer, cfg: Config, epoch: int, path: Path, normalization: Normalization) -> Path:
    """The final generator with the config that rebuilds it (see :func:`astgan.gan.models.load_generator`)."""
    state = {k: v.detach().cpu() for k, v in trainer.generator.state_dict().items()}
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

    loader = training_loader(segments, cfg)
    probe = SampleProbe(segments, cfg)
    log.info(
        f"GAN: {len(segments)} TRAIN segments of {cfg.features.n_mels} x {cfg.features.segment_frames}, "
        f"{len(loader)} steps/epoch, G {count_parameters(trainer.generator):,} / D "
        f"{count_parameters(trainer.discriminator):,} parameters, on {device}"
    )
    for epoch in range(done + 1, cfg.gan.epochs + 1):
        row = trainer.train_epoch(loader, epoch, progress)
        samples = probe.samples(trainer.generator)
        row["sample_diversity"] = probe.diversity(samples)
        history.append(row)
        log.info(_epoch_line(row, cfg.gan.epochs))
        for sign in collapse_signs(history, row["sample_diversity"]):
            log.warning(f"possible mode collapse at epoch {epoch}: {sign}")
        _write_metrics(history, paths)
        if epoch % cfg.gan.sample_every == 0:
            probe.figure(samples, paths.gan_epoch_samples_figure(epoch), f"epoch {epoch}: real TRAIN vs generated")
        save_checkpoint(last_path, {
            "trainer": trainer.state_dict(), "rng": rng_state(), "epoch": epoch,
            "history": history, "config": cfg.to_dict(),
        })

    if done >= cfg.gan.epochs:
        log.info(f"{last_path} has trained {done} epoch(s), gan.epochs={cfg.gan.epochs}: nothing to train; "
                 "raise gan.epochs to train further")
    epochs = history[-1]["epoch"]
    samples = probe.samples(trainer.generator)
    probe.figure(samples, paths.gan_samples_figure, f"after epoch {epochs}: real TRAIN vs generated at its label")
    save_generator(trainer, cfg, epochs, paths.generator, data.normalization)
    return GanTrainingResult(paths.generator, history, time.perf_counter() - started)


def _epoch_line(row: dict, epochs: int) -> str:
    """One log line per epoch: losses, D accuracies, extra G steps (and the label loss when on)."""
    label = (f" label mse real {row['label_mse_real']:.3f} fake {row['label_mse_fake']:.3f}"
             if "label_mse_real" in row else "")
    return (f"gan epoch {row['epoch']}/{epochs}: G {row['g_loss']:.3f} D {row['d_loss']:.3f} "
            f"real acc {row['d_real_acc']:.2f} fake acc {row['d_fake_acc']:.2f} "
            f"extra G steps {row['extra_g_steps']}/{row['steps']}{label} ({row['seconds']:.1f}s)")
