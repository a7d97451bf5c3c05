"""One training step's updates of the GAN: D's (with every term of its loss), G's optimiser step,
and the moving average of G's weights that synthesis draws from."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from astgan.config import GanConfig
from astgan.gan.losses import discriminator_accuracy, discriminator_loss, generator_loss, r1_penalty
from astgan.runtime import autocast


def adam(model: torch.nn.Module, lr: float, betas: tuple[float, float], device: torch.device):
    # one fused kernel per step on CUDA instead of several per parameter
    return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, fused=device.type == "cuda")


def optimizer_step(loss: torch.Tensor, model: torch.nn.Module, optimizer, scaler, grad_clip: float) -> None:
    """Backward, optional clipping of the true (unscaled) gradients, optimiser step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if grad_clip > 0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip, foreach=True)
    scaler.step(optimizer)
    scaler.update()


class DiscriminatorUpdate:
    """Owns the discriminator's side of training: D, its optimiser, schedule and gradient scaler, and
    every term of its loss (adversarial, auxiliary labels, lazy R1).

    ``update(real, fake, condition)`` is one D update; ``generator_terms(fake, condition)`` is G's
    loss as the current D judges it (D's weights get no gradient from it). Both return 0-d
    tensors on the device; nothing here waits for the device.
    """

    def __init__(self, discriminator: torch.nn.Module, gan: GanConfig, device: torch.device,
                 amp_dtype: torch.dtype | None, fp16: bool):
        self.discriminator, self.gan, self.device, self.amp_dtype = discriminator, gan, device, amp_dtype
        self.optimizer = adam(discriminator, gan.lr_d, gan.betas, device)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=gan.lr_gamma)
        self.scaler = torch.amp.GradScaler(device.type, enabled=fp16)
        self.steps = 0  # D updates so far: lazy R1 runs on every r1_every-th

    def _forward(self, x: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B,) logits and, with the label loss on, (B, 2) labels read by D."""
        with autocast(self.device, self.amp_dtype):
            if self.gan.label_loss_weight > 0:
                logits, labels = self.discriminator(x, condition, with_labels=True)
                return logits.float(), labels.float()
            return self.discriminator(x, condition).float(), None

    def update(self, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D update. real, fake: (B, n_mels, frames) (fake detached); condition: (B, 2).

        Real and fake go through D as one batch (D has no batch statistics, so this equals two
        passes, with half the kernel launches). Returns d_loss, D's real and fake accuracy
        (before the update), and label_mse_real / r1_penalty when those terms are on.
        """
        gan = self.gan
        with_r1 = gan.r1_weight > 0 and self.steps % gan.r1_every == 0
        self.steps += 1
        if with_r1:
            real = real.detach().requires_grad_(True)
        logits, labels = self._forward(torch.cat([real, fake]), torch.cat([condition, condition]))
        real_logits, fake_logits = logits[:len(real)], logits[len(real):]
        loss = discriminator_loss(real_logits, fake_logits, gan.loss, gan.real_label_range, gan.fake_label_range)
        real_acc, fake_acc = discriminator_accuracy(real_logits.detach(), fake_logits.detach())
        metrics = {"d_loss": loss.detach(), "d_real_acc": real_acc, "d_fake_acc": fake_acc}
        total = loss
        if labels is not None:  # D learns the labels on real segments only
            label_error = F.mse_loss(labels[:len(real)], condition.float())
            total = total + gan.label_loss_weight * label_error
            metrics["label_mse_real"] = label_error.detach()
        if with_r1:  # scaled by r1_every: the same average strength as a penalty every step
            penalty = r1_penalty(real_logits, real)
            total = total + 0.5 * gan.r1_weight * gan.r1_every * penalty
            metrics["r1_penalty"] = penalty.detach()
        optimizer_step(total, self.discriminator, self.optimizer, self.scaler, gan.grad_clip)
        return metrics

    def generator_terms(self, fake: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """G's loss on ``fake`` (B, n_mels, frames, with G's graph) at ``condition`` (B, 2), and its metrics."""
        self.discriminator.requires_grad_(False)  # gradients flow through D to G; none are kept for D
        try:
            logits, labels = self._forward(fake, condition)
        finally:
            self.discriminator.requires_grad_(True)
        loss = generator_loss(logits, self.gan.loss)
        metrics = {"g_loss": loss.detach()}
        if labels is not None:  # G is penalised when D reads another label off its fakes
            label_error = F.mse_loss(labels, condition.float())
            loss = loss + self.gan.label_loss_weight * label_error
            metrics["label_mse_fake"] = label_error.detach()
        return loss, metrics

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        for name in ("discriminator", "optimizer", "scheduler", "scaler"):
            getattr(self, name).load_state_dict(state[name])
        self.steps = int(state["steps"])


class GeneratorEma:
    """An exponential moving average of G's weights (``gan.ema_decay`` per step), for synthesis.

    Batch-norm running statistics are copied from the live generator, not averaged: they describe
    activations, and the averaged weights produce nearly the same ones.
    """

    def __init__(self, generator: torch.nn.Module, decay: float):
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.averaged = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.module.eval()

    @property
    def module(self) -> torch.nn.Module:
        return self.averaged.module

    @torch.no_grad()
    def update(self, generator: torch.nn.Module) -> None:
        self.averaged.update_parameters(generator)
        torch._foreach_copy_(list(self.module.buffers()), list(generator.buffers()))  # one launch for all

    def state_dict(self) -> dict:
        return self.averaged.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.averaged.load_state_dict(state)
