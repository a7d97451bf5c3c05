"""Figure helpers every stage shares: the Agg backend, the V/A plane's axes, a spectrogram panel, saving.

Each stage draws its own figures (``data.figures``, ``gan.figures``, ``synthetic.figures``,
``regressor.figures``, ``evaluation.figures``, ``study.figures``) with these helpers; figures are
written as PNGs beside the data they show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from astgan.artifacts import write_atomic

SPLIT_COLORS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green", "unused": "lightgrey"}


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def style_va_plane(ax, lo: float = 1.0, hi: float = 9.0) -> None:
    """Axes of the valence/arousal plane on a lo..hi scale (DEAM's 1..9), with the quadrant lines
    at its centre."""
    centre = (lo + hi) / 2
    ax.axhline(centre, color="k", lw=0.5)
    ax.axvline(centre, color="k", lw=0.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"valence ({lo:g}..{hi:g})")
    ax.set_ylabel(f"arousal ({lo:g}..{hi:g})")


def show_spectrogram(ax, spec: np.ndarray, title: str, vmin: float | None = None, vmax: float | None = None) -> None:
    """Draw one (n_mels, frames) spectrogram with low frequencies at the bottom."""
    ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
    finally:
        plt.close(fig)
