"""The synthetic set on disk (``<run>/synthetic/synthetic.npz``): its one writer and its one reader.

``specs``: (N, n_mels, frames) float16 in the normalised log-mel space; ``labels``: (N, 2) float32
(valence, arousal) on -1..1, the conditions each segment was drawn for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.artifacts import write_atomic
from astgan.errors import AstganError, DataError, MissingArtifactError


def write_synthetic(path: Path, specs: np.ndarray, labels: np.ndarray, n_mels: int, frames: int) -> Path:
    """Check shapes, then write ``specs`` as float16 and ``labels`` as float32 into one .npz atomically."""
    expected_specs, expected_labels = (len(labels), n_mels, frames), (len(labels), 2)
    if specs.shape != expected_specs or labels.shape != expected_labels:
        raise AstganError(
            f"synthetic set has specs {specs.shape} and labels {labels.shape}; expected {expected_specs} "
            f"and {expected_labels} (features.n_mels x features.segment_frames)"
        )

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: np.savez would append .npz to a bare name
            np.savez(handle, specs=specs.astype(np.float16), labels=labels.astype(np.float32))

    return write_atomic(path, writer)


def read_synthetic(path: Path, n_mels: int, frames: int, missing_hint: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Read and check a synthetic set: specs (N, n_mels, frames) (float16), labels (N, 2) float32.

    ``missing_hint`` is appended to the message when the file does not exist (what else to do).
    """
    if not path.is_file():
        raise MissingArtifactError(f"{path} not found; run `astgan synthesize` first{missing_hint}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("specs", "labels") if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {missing}; run `astgan synthesize` again")
            specs, labels = npz["specs"], npz["labels"]
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz ({err}); run `astgan synthesize` again") from None
    if specs.ndim != 3 or tuple(specs.shape[1:]) != (n_mels, frames):
        raise DataError(f"{path}: specs have shape {specs.shape}, expected (N, {n_mels}, {frames}) "
                        "(features.n_mels, features.segment_frames); run `astgan synthesize` again with this config")
    if labels.shape != (len(specs), 2):
        raise DataError(f"{path}: labels have shape {labels.shape}, expected ({len(specs)}, 2)")
    if not (np.isfinite(labels).all() and np.isfinite(specs).all()):
        raise DataError(f"{path}: holds NaN or infinite values; run `astgan synthesize` again")
    return specs, labels.astype(np.float32)
