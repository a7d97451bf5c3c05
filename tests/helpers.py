"""Helpers the tests import: tiny configs, and where the fixtures are.

Fixtures live in ``conftest.py``; plain functions and constants live here, so that tests import
them by name instead of from ``conftest``.
"""

from __future__ import annotations

from pathlib import Path

from astgan.config import Config

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(data_root: Path, run_dir: Path, cache_dir: Path, **sections) -> Config:
    """A CPU-sized config for tests: 32 mel bins, 128-frame segments, one-layer AST, small GAN.

    ``sections`` override whole keys, e.g. ``tiny_config(..., gan={"epochs": 2})``.
    """
    raw = {
        "data": {"root": str(data_root)},
        "features": {"n_mels": 32, "segment_frames": 128, "segment_hop": 64, "cache_dir": str(cache_dir), "num_workers": 1},
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
