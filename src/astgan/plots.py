"""Figures, each written as a PNG beside the artifact it shows.

Functions take plain arrays and a path, so any stage can call them; matplotlib is imported lazily
with the non-interactive Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.runtime import save_figure

QUADRANTS = {  # name -> (valence, arousal) corner on the -1..1 scale
    "low V / high A": (-1.0, 1.0),
    "high V / high A": (1.0, 1.0),
    "low V / low A": (-1.0, -1.0),
    "high V / low A": (1.0, -1.0),
}
SPLIT_COLORS = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_deam(values: np.ndarray) -> np.ndarray:
    """-1..1 -> DEAM's 1..9 scale, for axis labels people recognise."""
    return np.asarray(values) * 4.0 + 5.0


def show_spectrogram(ax, spec: np.ndarray, title: str, vmin: float | None = None, vmax: float | None = None) -> None:
    """Draw one (n_mels, frames) spectrogram with low frequencies at the bottom."""
    ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_label_distribution(labels: np.ndarray, splits: np.ndarray, path: Path) -> Path:
    """V/A scatter of every song coloured by split, with marginal histograms. labels: (N, 2) on -1..1."""
    plt = _pyplot()
    fig = plt.figure(figsize=(7, 6))
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), hspace=0.05, wspace=0.05)
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    right = fig.add_subplot(grid[1, 1], sharey=ax)
    deam = to_deam(labels)
    for split, color in SPLIT_COLORS.items():
        mask = np.asarray(splits) == split
        ax.scatter(deam[mask, 0], deam[mask, 1], s=12, alpha=0.7, color=color, label=f"{split} ({mask.sum()})")
    bins = np.linspace(1, 9, 33)
    top.hist(deam[:, 0], bins=bins, color="grey")
    right.hist(deam[:, 1], bins=bins, color="grey", orientation="horizontal")
    ax.axhline(5, color="k", lw=0.5)
    ax.axvline(5, color="k", lw=0.5)
    ax.set_xlim(1, 9)
    ax.set_ylim(1, 9)
    ax.set_xlabel("valence (1..9)")
    ax.set_ylabel("arousal (1..9)")
    ax.legend(loc="lower right", fontsize=8)
    top.axis("off")
    right.axis("off")
    r = np.corrcoef(labels[:, 0], labels[:, 1])[0, 1] if len(labels) > 2 else float("nan")
    top.set_title(f"{len(labels)} songs, r(V, A) = {r:.2f}")
    return save_figure(fig, path)


def nearest_to_corners(labels: np.ndarray) -> dict[str, int]:
    """For each V/A quadrant, the index of the label closest to its corner. labels: (N, 2)."""
    return {
        name: int(np.argmin(np.square(labels - np.asarray(corner)).sum(axis=1)))
        for name, corner in QUADRANTS.items()
    }


def plot_quadrant_examples(specs: list[np.ndarray], labels: np.ndarray, titles: list[str], path: Path,
                           suptitle: str) -> Path:
    """A 2 x 2 grid of (n_mels, frames) spectrograms, one per V/A quadrant, on one colour scale."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 6))
    vmin = min(float(np.percentile(s, 1)) for s in specs)
    vmax = max(float(np.percentile(s, 99)) for s in specs)
    for ax, spec, label, title in zip(axes.ravel(), specs, labels, titles):
        v, a = to_deam(label)
        show_spectrogram(ax, spec, f"{title}: V {v:.1f}, A {a:.1f}", vmin, vmax)
    fig.suptitle(suptitle)
    return save_figure(fig, path)
