"""The C2ST's small CNN: three strided convolutions over the segment, global mean and max, a logit.

It sees what hand-made features may miss (a grain, smeared partials, a repeated pattern) and stays
cheap on a CPU: segments are average-pooled by whole factors to at most :data:`MAX_BANDS` x
:data:`MAX_FRAMES` first (the demo's 64 x 256 to 32 x 128: an 8-frame grain is still a 4-frame one),
and it trains :data:`EPOCHS` epochs per fold (more on a small set: at least :data:`MIN_STEPS` steps),
on one thread. At the demo's full 64 x 256, with 16 channels, 6 epochs and torch's two threads, the
quality report's test took 111 s on a shared 2-core CPU; as set here, about 1 s.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MAX_BANDS = 32
MAX_FRAMES = 128
EPOCHS = 4
MIN_STEPS = 80  # small sets train more epochs, up to this many optimiser steps (about 4 epochs on the demo)
BATCH_SIZE = 32
LR = 3e-3


class SmallCNN(nn.Module):
    """(B, 1, bands, frames) -> (B,) logits of "second set"."""

    def __init__(self, channels: int = 8):
        super().__init__()
        layers, width = [], 1
        for out in (channels // 2, channels, 2 * channels):
            layers += [nn.Conv2d(width, out, 3, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            width = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(2 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        # mean and max over the map: a texture everywhere and a single odd spot both reach the logit
        return self.head(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)).squeeze(1)


def shrink(specs: np.ndarray) -> torch.Tensor:
    """(N, n_mels, frames) -> (N, 1, <= MAX_BANDS, <= MAX_FRAMES) float32, average-pooled by whole factors."""
    x = torch.from_numpy(np.asarray(specs, dtype=np.float32)).unsqueeze(1)
    factor = (max(1, x.shape[2] // MAX_BANDS), max(1, x.shape[3] // MAX_FRAMES))
    return nn.functional.avg_pool2d(x, factor) if factor != (1, 1) else x


def _fit_predict(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, seed: int) -> np.ndarray:
    torch.manual_seed(seed)
    model = SmallCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    order = torch.Generator().manual_seed(seed)
    model.train()
    epochs = max(EPOCHS, -(-MIN_STEPS // max(1, len(x_train) // BATCH_SIZE)))
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train), generator=order).split(BATCH_SIZE):
            if len(batch) < 2:  # batch norm needs two items
                continue
            loss = nn.functional.binary_cross_entropy_with_logits(model(x_train[batch]), y_train[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test) > 0).long().numpy()


def cnn_accuracy(specs: np.ndarray, targets: np.ndarray, folds: list[np.ndarray], seed: int) -> float:
    """Held-out accuracy of the CNN over the given folds. ``specs``: (N, n_mels, frames); ``targets``:
    (N,) 0/1; ``folds``: held-out positions per fold."""
    x = shrink(specs)
    y = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    correct = 0
    threads = torch.get_num_threads()
    # one thread: ops this small gain nothing from a second, and on a shared 2-core CPU two threads
    # made each step 10 times slower (76 ms against 7 ms)
    torch.set_num_threads(1)
    try:
        for k, held_out in enumerate(folds):
            train = torch.from_numpy(np.setdiff1d(np.arange(len(y)), held_out))
            test = torch.from_numpy(held_out)
            predicted = _fit_predict(x[train], y[train], x[test], seed + k)
            correct += int((predicted == targets[held_out]).sum())
    finally:
        torch.set_num_threads(threads)
    return correct / len(targets)
