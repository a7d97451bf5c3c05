"""Helpers the tests import: tiny configs, copies of the session's run folders, the CLI in process.

Fixtures live in ``conftest.py``; plain functions and constants live here, so that tests import
them by name instead of from ``conftest``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import CliRunner, Result

from astgan.cli import main
from astgan.config import Config

if TYPE_CHECKING:
    import torch

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(data_root: Path, run_dir: Path, cache_dir: Path, **sections) -> Config:
    """A CPU-sized config for tests: 32 mel bins, 128-frame segments, one-layer AST, small GAN.

    ``sections`` override whole keys, e.g. ``tiny_config(..., gan={"epochs": 2})``.
    """
    raw = {
        "data": {"root": str(data_root)},
        "features": {"n_mels": 32, "segment_frames": 128, "segment_hop": 64, "cache_dir": str(cache_dir),
                     "num_workers": 1},
        "split": {"seed": 0},
        "gan": {"epochs": 1, "batch_size": 16, "latent_dim": 32, "channels": 16, "condition_dim": 8, "sample_every": 1},
        "synth": {"n": 32, "batch_size": 16},
        "ast": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                "frequency_stride": 16, "time_stride": 16, "epochs": 1, "batch_size": 16, "lr": 1e-3,
                "freq_mask": 4, "time_mask": 16},
        "eval": {"bootstrap_samples": 100},
        "run": {"dir": str(run_dir), "device": "cpu"},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return Config.from_dict(raw)


def copied_run(cfg: Config, folder: Path, **sections) -> Config:
    """``cfg`` on a copy of its run folder at ``folder/run`` (the session's fixtures stay untouched), with
    ``sections`` updating keys, e.g. ``copied_run(cfg, tmp_path, gan={"epochs": 2})``."""
    run = Path(folder) / "run"
    shutil.copytree(cfg.run_dir, run)
    raw = cfg.to_dict()
    raw["run"]["dir"] = str(run)
    for section, values in sections.items():
        raw[section].update(values)
    return Config.from_dict(raw)


def invoke(*args, code: int | None = None, catch_exceptions: bool = True) -> Result:
    """``astgan ARGS...`` run in this process by click's test runner (paths may be given as paths).

    With ``code``, asserts the exit status (the output is shown when it differs)."""
    result = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=catch_exceptions)
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def legacy_checkpoint(cfg: Config) -> tuple[dict, torch.nn.Module]:
    """An earlier astgan ``best.pt`` payload, built with its layout (an ``ASTModel`` named
    ``encoder`` and an ``nn.Linear`` named ``head`` on its pooled output), and that model."""
    import torch
    from torch import nn
    from transformers import ASTModel

    from astgan.regressor.model import ast_config_from, ast_config_to_dict

    torch.manual_seed(3)
    old = nn.Module()
    old.encoder = ASTModel(ast_config_from(cfg))
    old.head = nn.Linear(cfg.ast.hidden_size, 2)
    with torch.no_grad():
        old.encoder.embeddings.position_embeddings.normal_(std=0.02)
    payload = {
        "model": {k: v.detach().clone() for k, v in old.state_dict().items()},
        "config": cfg.to_dict(),
        "ast_config": ast_config_to_dict(old.encoder.config),
        "normalization": {"mean": -5.0, "std": 3.0, "source": "train"},
        "epoch": 4,
        "val": {"val_mean_ccc": 0.5},
    }
    assert {"encoder.embeddings.cls_token", "head.weight", "head.bias"} <= set(payload["model"])
    return payload, old.eval()
