"""Running a trained regressor: load ``ast/best.pt``, predict segments, average them per song.

Shared by ``astgan evaluate`` (TEST songs from the cache) and ``astgan predict`` (new audio files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from astgan.artifacts import load_checkpoint
from astgan.config import Config
from astgan.data.features import Normalization
from astgan.errors import CheckpointError
from astgan.runtime import autocast_dtype, resolve_precision


@dataclass
class TrainedRegressor:
    """A regressor rebuilt from its checkpoint, with what it needs to read new inputs."""

    model: torch.nn.Module  # ASTRegressor, in eval mode on ``device``
    config: Config  # the config it was trained with
    normalization: Normalization  # applied to log-mels before the model sees them
    epoch: int
    path: Path
    device: torch.device


def load_trained(path: str | Path, device: torch.device) -> TrainedRegressor:
    """Load ``ast/best.pt`` (weights_only) and move the model to ``device``.

    A missing file raises MissingArtifactError naming `astgan train-ast`.
    """
    from astgan.regressor.model import regressor_and_config

    path = Path(path)
    ckpt = load_checkpoint(path, produced_by="train-ast")
    model, config = regressor_and_config(ckpt, str(path))
    try:
        normalization = Normalization.from_dict(ckpt.get("normalization"), f"{path}: 'normalization' entry")
    except ValueError as err:
        raise CheckpointError(f"{err}; train the model again with `astgan train-ast`") from None
    return TrainedRegressor(model.to(device).eval(), config, normalization, int(ckpt.get("epoch", -1)), path, device)


def predict_segments(trained: TrainedRegressor, segments: Dataset | np.ndarray, batch_size: int,
                     precision: str = "auto", progress: bool = False, desc: str = "predict") -> np.ndarray:
    """Model outputs for every segment, in order.

    ``segments``: a dataset whose items are ``spec`` or ``(spec, ...)`` with spec (n_mels, frames)
    normalised, or an (N, n_mels, frames) array. Returns (N, 2) float64 on the -1..1 scale.
    """
    from tqdm import tqdm

    from astgan.regressor.model import to_label_range

    if isinstance(segments, np.ndarray):
        segments = TensorDataset(torch.from_numpy(np.ascontiguousarray(segments, dtype=np.float32)))
    device = trained.device
    dtype = autocast_dtype(resolve_precision(precision, device))
    loader = DataLoader(segments, batch_size=batch_size, shuffle=False)
    outputs = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        for batch in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
            specs = batch[0] if isinstance(batch, (list, tuple)) else batch
            outputs.append(to_label_range(trained.model(specs.to(device)).float()).detach().cpu().numpy())
    if not outputs:
        return np.zeros((0, 2), dtype=np.float64)
    return np.concatenate(outputs).astype(np.float64)
