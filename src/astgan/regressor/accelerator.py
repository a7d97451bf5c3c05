"""Where a training step of the AST runs: the batch size per device, and accelerate's Accelerator.

The CPU trains with ``ast.batch_size``; a CUDA device gets a larger batch when the model is small
enough for one step to leave the GPU idle (:func:`device_batch`). accelerate holds one state per
process, which :func:`release_other_accelerate_state` replaces when a stage asks for another device
or precision than the last one did (a notebook that runs several stages, or a test session).
"""

from __future__ import annotations

import logging
import math
import os

import torch

from astgan.config import Config
from astgan.runtime import resolve_device, resolve_precision

log = logging.getLogger(__name__)

MAX_PATCHES_PER_STEP = 80_000  # auto CUDA batch: patches (tokens) per step it grows up to
MAX_BATCH_GROWTH = 8


def device_batch(cfg: Config, device: torch.device) -> Config:
    """``cfg`` with the batch size and learning rate of the device it trains on.

    On the CPU nothing changes. On CUDA the batch is ``ast.cuda_batch_size`` or, when that is
    null, ``ast.batch_size`` doubled while a step stays under ``MAX_PATCHES_PER_STEP`` patches
    (at most ``MAX_BATCH_GROWTH`` times); the learning rate is scaled by sqrt(new / old batch).
    """
    if device.type != "cuda":
        return cfg
    ast = cfg.ast
    batch = ast.cuda_batch_size
    if batch is None:
        patches = _patches_per_segment(cfg)
        batch = ast.batch_size
        while batch * 2 * patches <= MAX_PATCHES_PER_STEP and batch * 2 <= ast.batch_size * MAX_BATCH_GROWTH:
            batch *= 2
    if batch == ast.batch_size:
        return cfg
    lr = ast.lr * math.sqrt(batch / ast.batch_size)
    log.info(f"on {device}: {batch} segments per step (ast.batch_size={ast.batch_size} is the CPU's), "
             f"learning rate {ast.lr:g} -> {lr:.3g} (square-root scaling)")
    return cfg.with_overrides(f"ast.batch_size={batch}", f"ast.lr={lr!r}")


def _patches_per_segment(cfg: Config) -> int:
    """Patch tokens the AST makes of one segment (as ``ASTEmbeddings.get_shape`` counts them)."""
    ast, features = cfg.ast, cfg.features
    freq = (features.n_mels - ast.patch_size) // ast.frequency_stride + 1
    time = (features.segment_frames - ast.patch_size) // ast.time_stride + 1
    return freq * time


def make_accelerator(cfg: Config):
    """Accelerator for ``run.device`` and ``run.precision`` (``accelerate launch`` adds processes)."""
    from accelerate import Accelerator

    device = resolve_device(cfg.run.device)
    precision = resolve_precision(cfg.run.precision, device)
    single_process = int(os.environ.get("WORLD_SIZE", "1")) == 1  # accelerate launch picks each process's GPU
    if device.type == "cuda" and device.index is not None and single_process:
        torch.cuda.set_device(device.index)
    mixed = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]
    release_other_accelerate_state(device, mixed, single_process)
    return Accelerator(cpu=device.type == "cpu", mixed_precision=mixed)


def release_other_accelerate_state(device: torch.device, mixed_precision: str, single_process: bool) -> None:
    """Forget accelerate's process-wide state when it was set up for another device or precision.

    accelerate keeps one state per process and refuses a second ``Accelerator`` with other
    settings, so in a notebook (or a test session) a CUDA run followed by a CPU run, or a bf16 run
    followed by fp32, would fail. Stages own their settings, so the stale state is dropped
    (accelerate has no public call for this; ``_reset_state`` is what its own tests use). Under
    ``accelerate launch`` the launcher's process state is kept: only the precision is reset.
    """
    from accelerate.state import AcceleratorState, GradientState, PartialState

    state = AcceleratorState._shared_state
    if not state:
        return
    same_device = getattr(state.get("device"), "type", None) == device.type
    if same_device and state.get("_mixed_precision") == mixed_precision:
        return
    AcceleratorState._reset_state(reset_partial_state=single_process and not same_device)
    GradientState._reset_state()
    if not single_process and not same_device:
        log.warning(f"accelerate was set up for {PartialState().device}; run.device={device} is ignored under "
                    "accelerate launch")
