"""Running a trained regressor: load it, predict segments, average them per song.

Shared by ``astgan evaluate`` (TEST songs from the cache) and ``astgan predict`` (new audio files).
A model is read from a run folder, a checkpoint file (``ast/best.pt``) or a folder written by
``astgan export``; all three give the same :class:`TrainedRegressor`.
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
from astgan.errors import CheckpointError, MissingArtifactError
from astgan.paths import RunPaths
from astgan.regressor.export import is_export_folder, load_export
from astgan.runtime import autocast, autocast_dtype, resolve_precision


@dataclass
class TrainedRegressor:
    """A regressor rebuilt from its checkpoint or export, with what it needs to read new inputs."""

    model: torch.nn.Module  # ASTRegressor (or LegacyASTRegressor), in eval mode on ``device``
    config: Config  # the config it was trained with
    normalization: Normalization  # applied to log-mels before the model sees them
    epoch: int
    path: Path  # the checkpoint file or the export folder
    device: torch.device


def load_trained(path: str | Path, device: torch.device) -> TrainedRegressor:
    """Load a model and move it to ``device``.

    ``path``: a checkpoint file (``ast/best.pt``, read with weights_only), a run folder (its
    ``ast/best.pt``) or an ``astgan export`` folder. A run folder without a model raises
    MissingArtifactError naming `astgan train-ast`.
    """
    from astgan.regressor.model import regressor_and_config  # transformers: imported when a model is loaded

    path = Path(path)
    if is_export_folder(path):
        exported = load_export(path)
        return TrainedRegressor(exported.model.to(device).eval(), exported.config, exported.normalization,
                                exported.epoch, path, device)
    if path.is_dir():
        best = RunPaths(path).best
        if not best.is_file():
            raise MissingArtifactError(f"{path} is neither a run folder with a trained model ({best} not found; run "
                                       "`astgan train-ast` first) nor a folder written by `astgan export`")
        path = best
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
    with torch.inference_mode(), autocast(device, dtype):
        for batch in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
            specs = batch[0] if isinstance(batch, (list, tuple)) else batch
            outputs.append(to_label_range(trained.model(specs.to(device)).float()).detach().cpu().numpy())
    if not outputs:
        return np.zeros((0, 2), dtype=np.float64)
    return np.concatenate(outputs).astype(np.float64)
