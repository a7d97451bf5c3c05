"""Device choice, precision, seeding and RNG state: what decides where and how reproducibly work runs.

torch is imported inside the functions that need it, so that tools which only write files (the
demo generator and its worker processes) do not pay for importing it.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np

from astgan.errors import AstganError

if TYPE_CHECKING:
    import torch



def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; explicit names are checked."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AstganError(f"run.device is '{name}' but CUDA is not available here; use run.device=cpu or auto")
    return torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> str:
    """Map ``run.precision`` to ``fp32``, ``bf16`` or ``fp16`` for this device.

    ``auto`` is bf16 on CUDA cards that support it and fp32 elsewhere; reduced precision on the
    CPU is refused because it is slower there, not faster.
    """
    import torch

    if device.type != "cuda":
        if precision in ("bf16", "fp16"):
            raise AstganError(f"run.precision={precision} needs CUDA; on {device} use fp32 or auto")
        return "fp32"
    if precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return precision


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast dtype for a resolved precision, None for fp32."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def autocast(device, dtype):
    """``torch.autocast`` on ``device`` in ``dtype`` (from :func:`autocast_dtype`); a no-op for None (fp32)."""
    import torch

    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed Python, numpy and torch (CPU and CUDA); with ``threads``, also fix torch's CPU thread count.

    Training stages call this first, so that a seeded run gives the same numbers every time.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def rng_state() -> dict:
    """Python, numpy and torch RNG states as tensors and plain data (safe for weights_only)."""
    import torch

    py_version, py_state, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [np_kind, torch.from_numpy(np_keys.astype(np.int64)), np_pos, np_has_gauss, np_gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import torch

    py_version, py_state, py_gauss = state["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = state["numpy"]
    np.random.set_state((np_kind, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
