"""One training epoch and validation of the AST regressor, and the loss they share.

Written against an ``accelerate.Accelerator`` so the same code runs on the CPU, one GPU, several
GPUs (``accelerate launch``) and in mixed precision without branching.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from astgan.errors import AstganError
from astgan.metrics import ccc, regression_report, song_means
from astgan.regressor import to_label_range

# --------------------------------------------------------------------------- loss


def regression_loss(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Scalar loss of (B, 2) predictions against (B, 2) labels.

    ``mse``: mean squared error; ``ccc``: 1 - mean CCC over the two dimensions (the metric's own
    definition, population moments, computed over the batch); ``mse+ccc``: their sum.
    """
    pred, target = pred.float(), target.float()
    if kind == "mse":
        return F.mse_loss(pred, target)
    ccc_loss = 1.0 - ccc(pred.T, target.T).mean()  # ccc works along the last axis: one value per dimension
    if kind == "ccc":
        return ccc_loss
    if kind == "mse+ccc":
        return F.mse_loss(pred, target) + ccc_loss
    raise ValueError(f"unknown loss '{kind}', expected mse, ccc or mse+ccc")


# --------------------------------------------------------------------------- one epoch, validation


@dataclass
class EpochResult:
    loss: float  # mean training loss per segment
    steps: int  # optimiser steps taken
    seconds: float
    data_wait: float  # share of the epoch spent waiting for the next batch


def train_epoch(model, loader, optimizer, scheduler, accelerator, loss_kind: str, grad_clip: float,
                progress: bool = True, desc: str = "train") -> EpochResult:
    """One pass of ``loader``: forward, loss, backward, clip, step. Batches: (B, n_mels, frames), (B, 2)."""
    from tqdm import tqdm

    model.train()
    total, count, steps, waited = 0.0, 0, 0, 0.0
    started = tick = time.perf_counter()
    bar = tqdm(total=len(loader), desc=desc, unit="step", leave=False,
               disable=not progress or not accelerator.is_local_main_process)
    for specs, labels in loader:
        waited += time.perf_counter() - tick
        loss = regression_loss(model(specs), labels, loss_kind)
        if not torch.isfinite(loss):
            raise AstganError(f"training diverged (loss {loss.item()}) at step {steps + 1} of the epoch; "
                              "lower ast.lr or raise ast.warmup_fraction")
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        total += loss.item() * len(specs)
        count += len(specs)
        steps += 1
        bar.update(1)
        bar.set_postfix(loss=f"{total / count:.4f}")
        tick = time.perf_counter()
    bar.close()
    total, count = accelerator.reduce(torch.tensor([total, float(count)], device=accelerator.device), "sum").tolist()
    seconds = time.perf_counter() - started
    return EpochResult(total / max(count, 1.0), steps, seconds, waited / max(seconds, 1e-9))


@torch.no_grad()
def predict_segments(model, loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) predictions and (N, 2) labels of every segment of ``loader``, in its order."""
    model.eval()
    preds, labels = [], []
    for specs, target in loader:
        pred, target = accelerator.gather_for_metrics((to_label_range(model(specs).float()), target))
        preds.append(pred.detach().cpu())
        labels.append(target.detach().cpu())
    return torch.cat(preds).numpy(), torch.cat(labels).numpy()


def validate(model, loader, accelerator, song_ids: np.ndarray, loss_kind: str) -> dict:
    """Validation metrics: segment-level loss, song-level CCC and RMSE (1..9 scale) per dimension.

    ``song_ids``: (N_segments,) the song of each segment of ``loader`` (same order).
    """
    preds, labels = predict_segments(model, loader, accelerator)
    loss = regression_loss(torch.from_numpy(preds), torch.from_numpy(labels), loss_kind).item()
    report = regression_report(song_means(preds, song_ids), song_means(labels, song_ids))
    return {
        "val_loss": loss,
        "val_valence_ccc": report["valence"]["ccc"],
        "val_arousal_ccc": report["arousal"]["ccc"],
        "val_valence_rmse": report["valence"]["rmse"],
        "val_arousal_rmse": report["arousal"]["rmse"],
        "val_mean_ccc": report["mean_ccc"],
    }
