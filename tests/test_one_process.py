"""Stages share one Python process safely (a notebook, a test session): no process-wide state leaks."""

from __future__ import annotations

import pytest
import torch

from astgan.config import config_to_yaml
from astgan.regressor.accelerator import MAX_BATCH_GROWTH, device_batch

from helpers import invoke


def _config_file(cfg, tmp_path, **overrides):
    cfg = cfg.with_overrides(f"run.dir={tmp_path / 'run'}", *[f"{k}={v}" for k, v in overrides.items()])
    path = tmp_path / "c.yaml"
    path.write_text(config_to_yaml(cfg))
    return path


def test_train_ast_runs_after_other_code_set_up_accelerate_differently(prepared_tiny, tmp_path):
    """Other code (a notebook cell, a library) left accelerate's state on bf16: train-ast still runs."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)  # a clean slate, as in a new process
    GradientState._reset_state()
    Accelerator(cpu=True, mixed_precision="bf16")
    config = _config_file(prepared_tiny[0], tmp_path, **{"ast.synthetic_ratio": 0})
    result = invoke("train-ast", "-c", str(config))
    assert result.exit_code == 0, result.output
    assert AcceleratorState().mixed_precision == "no"  # the stage's own setting won


def test_stages_run_one_after_another_in_one_process(prepared_tiny, tmp_path):
    config = str(_config_file(prepared_tiny[0], tmp_path, **{"ast.synthetic_ratio": 0.5}))
    for command in (["train-gan"], ["synthesize"], ["train-ast"], ["evaluate"],
                    ["train-ast", "--set", "ast.synthetic_ratio=0", "--set", f"run.dir={tmp_path / 'real'}"]):
        result = invoke(command[0], "-c", config, *command[1:])
        assert result.exit_code == 0, (command, result.output)
    predicted = invoke("predict", str(tmp_path / "run"), str(prepared_tiny[1].songs["path"][0]))
    assert predicted.exit_code == 0, predicted.output


@pytest.mark.cuda
def test_devices_and_precisions_mix_in_one_process(prepared_tiny, tmp_path):
    """CUDA bf16, then the CPU, then CUDA fp32: each stage sets accelerate up for itself."""
    for i, (device, precision) in enumerate([("cuda", "bf16"), ("cpu", "fp32"), ("cuda", "fp32")]):
        config = _config_file(prepared_tiny[0], tmp_path / str(i), **{
            "ast.synthetic_ratio": 0, "run.device": device, "run.precision": precision})
        for command in ("train-ast", "evaluate", "train-gan"):
            result = invoke(command, "-c", str(config))
            assert result.exit_code == 0, (device, precision, command, result.output)


def test_cpu_batches_stay_as_configured_and_cuda_batches_grow_with_a_scaled_lr(prepared_tiny):
    cfg = prepared_tiny[0]
    assert device_batch(cfg, torch.device("cpu")) is cfg
    grown = device_batch(cfg, torch.device("cuda"))  # only the config is computed: no GPU needed
    factor = grown.ast.batch_size / cfg.ast.batch_size
    assert factor == MAX_BATCH_GROWTH  # the tiny model's steps are far below the patch budget
    assert grown.ast.lr == pytest.approx(cfg.ast.lr * factor**0.5)
    fixed = device_batch(cfg.with_overrides("ast.cuda_batch_size=64"), torch.device("cuda"))
    assert fixed.ast.batch_size == 64 and fixed.ast.lr == pytest.approx(cfg.ast.lr * 2)
    base = cfg.with_overrides("features.n_mels=128", "features.segment_frames=1024", "ast.frequency_stride=10",
                              "ast.time_stride=10", "ast.batch_size=16")
    assert device_batch(base, torch.device("cuda")).ast.batch_size == 64  # AST-base: 1,212 patches a segment
