"""The regressor's training loss: MSE, 1 - CCC, or their sum, on (valence, arousal)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from astgan.metrics import ccc


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
