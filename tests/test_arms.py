"""The arms of an ablation differ in their extra items only: the real items of a step weigh the same
and meet the same masks and dropout in every arm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from astgan.data.synthetic_set import write_synthetic
from astgan.regressor.accelerator import make_accelerator
from astgan.regressor.model import build_regressor
from astgan.regressor.train import AstTrainer, make_training_data, train_ast

from helpers import tiny_config

ARMS = {"real": {"synthetic_ratio": 0.0}, "gan": {"synthetic_source": "gan"}, "control": {"synthetic_source": "cmixup"}}


def plant_synthetic(cfg, data, n: int = 48) -> None:
    """A synthetic set for the gan arm: real TRAIN segments with noise, written as synthesize writes it."""
    train = data.segments("train")
    rng = np.random.default_rng(1)
    rows = rng.choice(len(train), n)
    specs = train.stack(rows) + rng.normal(scale=0.1, size=(n, cfg.features.n_mels, cfg.features.segment_frames))
    write_synthetic(cfg.paths.synthetic, specs, train.labels[rows], cfg.features.n_mels, cfg.features.segment_frames)


def arm_config(root, cache, run_dir, arm: str, **ast):
    return tiny_config(root, run_dir, cache, ast={"dropout": 0.1, "synthetic_ratio": 0.5, "freq_mask": 8,
                                                 "time_mask": 32, **ARMS[arm], **ast})


def test_the_real_items_give_the_same_gradient_in_every_arm(demo_root_small, feature_cache_dir, prepared_tiny,
                                                            tmp_path):
    """One step with dropout 0.1 and SpecAugment: the gradient of the real items' loss is identical in the
    real-only, GAN and C-Mixup arms, and the extra items' mean loss comes on top at weight E / B."""
    _, data = prepared_tiny
    gradients, steps = {}, {}
    for arm in ARMS:
        cfg = arm_config(demo_root_small, feature_cache_dir, tmp_path / arm, arm)
        if arm == "gan":
            plant_synthetic(cfg, data)
        torch.manual_seed(0)
        model = build_regressor(cfg)
        training = make_training_data(cfg, data, torch.device("cpu"))
        trainer = AstTrainer(cfg, model, training.batches.global_steps, make_accelerator(cfg))
        trainer.model.train()
        step = next(iter(training.batches.epoch(1)))
        real, extra = trainer.step_losses(step)
        params = [p for p in trainer.model.parameters() if p.requires_grad]
        gradients[arm] = torch.autograd.grad(real, params)
        steps[arm] = (step, extra)
    for arm in ("gan", "control"):
        assert all(torch.equal(a, b) for a, b in zip(gradients["real"], gradients[arm])), arm
        step, extra = steps[arm]
        assert step.n_extra == round(0.5 * len(step.labels)) and extra is not None
        assert step.extra_weight == pytest.approx(step.n_extra / len(step.labels))
    assert steps["real"][1] is None
    # dropout is on: the same step under another seed gives other gradients, so the equality above is not trivial
    step = steps["real"][0]
    step.seed += 1
    torch.manual_seed(0)
    cfg = arm_config(demo_root_small, feature_cache_dir, tmp_path / "other", "real")
    trainer = AstTrainer(cfg, build_regressor(cfg), 1, make_accelerator(cfg))
    trainer.model.train()
    other = torch.autograd.grad(trainer.step_losses(step)[0], [p for p in trainer.model.parameters()])
    assert not all(torch.equal(a, b) for a, b in zip(gradients["real"], other))


@pytest.mark.slow
def test_a_gan_arm_without_extra_items_ends_with_the_real_only_weights(demo_root_small, feature_cache_dir,
                                                                       prepared_tiny, tmp_path):
    """With dropout 0.1, a gan arm whose ratio rounds to 0 extra items per step trains exactly as the
    real-only arm: its randomness comes from the steps, not from what else the arm set up."""
    _, data = prepared_tiny
    weights = {}
    for arm, ratio in (("real", 0.0), ("gan", 0.01)):
        cfg = arm_config(demo_root_small, feature_cache_dir, tmp_path / arm, arm, synthetic_ratio=ratio, epochs=2)
        if arm == "gan":
            plant_synthetic(cfg, data)
        result = train_ast(cfg, progress=False)
        weights[arm] = torch.load(result.best_path, weights_only=True)["model"]
    assert weights["real"].keys() == weights["gan"].keys()
    assert all(torch.equal(weights["real"][k], weights["gan"][k]) for k in weights["real"])
