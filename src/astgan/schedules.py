"""Optimiser, learning-rate schedule and early stopping of the regressor's training."""

from __future__ import annotations

import math

import torch
from torch import nn

from astgan.config import AstConfig


def make_optimizer(model: nn.Module, cfg: AstConfig) -> torch.optim.AdamW:
    """AdamW; biases, norms, position embeddings and tokens are not decayed (only weight matrices)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.dim() >= 2 and "embeddings.position" not in name else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float):
    """Linear warmup over ``warmup_fraction`` of the steps, then cosine decay to zero (a LambdaLR)."""
    from transformers import get_cosine_schedule_with_warmup

    warmup = int(math.ceil(warmup_fraction * total_steps))
    return get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


class EarlyStopping:
    """Stop when a score to maximise (validation mean CCC) has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = -math.inf
        self.best_epoch = 0
        self.bad_epochs = 0

    def step(self, score: float, epoch: int) -> bool:
        """Record an epoch's score; True when it is the best so far (save the model then)."""
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(score), int(epoch), 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.bad_epochs = float(state["best"]), int(state["best_epoch"]), int(state["bad_epochs"])
