"""The GAN's losses and rules as small pure functions, so each can be tested alone.

- BCE with one-sided noisy labels: real targets drawn per sample from ``real_label_range``
  (0.8..1.0 in the classic recipe), fake targets from ``fake_label_range``; or the hinge loss.
- D loss = mean of its real and fake terms.
- The R1 penalty: the squared gradient norm of D's output on real segments.
- A second generator update in a step where the discriminator is too strong (classic recipe).
- Motion matching (``gan.motion_match``): G is also pulled towards the real batch's frame-to-frame
  statistics (per band: mean absolute change, autocorrelation at a few lags), their batch mean and spread.
- Signs of mode collapse, checked once per epoch.

Everything returns tensors on the input's device: the training loop reads them back rarely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Collapse signature 1: D wins outright (loss near 0) while G's loss is high, for several epochs.
COLLAPSE_D_LOSS = 0.05
COLLAPSE_G_LOSS = 4.0
COLLAPSE_EPOCHS = 3
# Collapse signature 2: samples for one condition barely differ across z, relative to how much
# real TRAIN segments differ from each other.
COLLAPSE_DIVERSITY = 0.05


def smoothed_targets(n: int, value_range: tuple[float, float], device: torch.device | str = "cpu") -> torch.Tensor:
    """(n,) targets drawn uniformly from ``value_range`` = (low, high), one per sample."""
    low, high = value_range
    return torch.empty(n, device=device).uniform_(low, high)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str,
                       real_range: tuple[float, float], fake_range: tuple[float, float]) -> torch.Tensor:
    """Mean of the real and the fake term. ``loss``: "bce" (with smoothed targets) or "hinge".

    The hinge loss has no targets, so the label ranges do not apply to it.
    """
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if loss == "hinge":
        real_term = F.relu(1.0 - real_logits).mean()
        fake_term = F.relu(1.0 + fake_logits).mean()
    else:
        real_targets = smoothed_targets(len(real_logits), real_range, real_logits.device)
        fake_targets = smoothed_targets(len(fake_logits), fake_range, fake_logits.device)
        real_term = F.binary_cross_entropy_with_logits(real_logits, real_targets)
        fake_term = F.binary_cross_entropy_with_logits(fake_logits, fake_targets)
    return 0.5 * (real_term + fake_term)


def generator_loss(fake_logits: torch.Tensor, loss: str) -> torch.Tensor:
    """Non-saturating BCE (targets 1, no smoothing) or the hinge generator loss -E[D(G(z))]."""
    fake_logits = fake_logits.float()
    if loss == "hinge":
        return -fake_logits.mean()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(share of real segments called real, share of fake segments called fake) as 0-d tensors; logit 0
    is the border."""
    return (real_logits > 0).float().mean(), (fake_logits < 0).float().mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |d sum(D(real)) / d real|^2 (Mescheder et al. 2018), differentiable.

    ``real`` must have required gradients when ``real_logits`` (B,) were computed from it.
    """
    (gradient,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return gradient.float().pow(2).flatten(1).sum(1).mean()


# Frame lags of the autocorrelations motion matching compares: one frame (jitter), the generator's
# 8-frame patch scale on either side of it, and a phrase-scale lag. They are the quality report's
# C2ST motion features, so with motion matching on that classifier is no longer an independent judge.
MOTION_LAGS = (1, 4, 16)


def motion_statistics(x: torch.Tensor) -> torch.Tensor:
    """(B, n_mels, frames) -> (B, (1 + len(MOTION_LAGS)) n_mels) float32, differentiable: per band the
    mean |x[t] - x[t-1]|, then its autocorrelation at each lag shorter than the segment."""
    x = x.float()
    change = (x[..., 1:] - x[..., :-1]).abs().mean(dim=2)
    centred = x - x.mean(dim=2, keepdim=True)
    power = centred.pow(2).sum(dim=2) + 1e-6  # a silent band has autocorrelation ~0, not NaN
    lags = [(centred[..., lag:] * centred[..., :-lag]).sum(dim=2) / power
            for lag in MOTION_LAGS if lag < x.shape[2]]
    return torch.cat([change, *lags], dim=1)


def motion_matching_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute gap between the batch mean and the batch standard deviation of every motion
    statistic of ``fake`` and of ``real`` (both (B, n_mels, frames); gradients reach ``fake`` only).

    Matching moments of the whole batch leaves each segment free to move its own way, as long as the
    batch moves like real music does.
    """
    fake_stats = motion_statistics(fake)
    with torch.no_grad():
        real_stats = motion_statistics(real)
    mean_gap = (fake_stats.mean(dim=0) - real_stats.mean(dim=0)).abs().mean()
    std_gap = (fake_stats.std(dim=0) - real_stats.std(dim=0)).abs().mean()
    return mean_gap + std_gap


def needs_extra_generator_step(real_acc: float, fake_acc: float, threshold: float) -> bool:
    """True when D's accuracy, the mean of its real and fake accuracy, exceeds ``threshold``."""
    return (real_acc + fake_acc) / 2.0 > threshold


def collapse_signs(history: list[dict], sample_diversity: float | None) -> list[str]:
    """Warnings for a collapse signature in the epochs so far (``history``: metrics.csv rows).

    ``sample_diversity``: mean distance between samples drawn for one condition with different z,
    divided by the mean distance between real TRAIN segments (None when not measured).
    """
    signs = []
    recent = history[-COLLAPSE_EPOCHS:]
    if len(recent) == COLLAPSE_EPOCHS and all(
        row["d_loss"] < COLLAPSE_D_LOSS and row["g_loss"] > COLLAPSE_G_LOSS for row in recent
    ):
        signs.append(
            f"D loss < {COLLAPSE_D_LOSS} with G loss > {COLLAPSE_G_LOSS} for the last {COLLAPSE_EPOCHS} epochs: "
            "the discriminator wins outright and the generator gets no useful gradient"
        )
    if sample_diversity is not None and sample_diversity < COLLAPSE_DIVERSITY:
        signs.append(
            f"samples for one condition are nearly identical across z (diversity {sample_diversity:.3f} of "
            f"the real data's, below {COLLAPSE_DIVERSITY})"
        )
    return signs
