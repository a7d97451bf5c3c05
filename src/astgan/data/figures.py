"""Figures of the data: the label distribution by split and a real segment per V/A quadrant."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.data.labels import to_deam_scale
from astgan.plots import SPLIT_COLORS, pyplot, save_figure, show_spectrogram, style_va_plane


def plot_label_distribution(labels: np.ndarray, splits: np.ndarray, path: Path) -> Path:
    """V/A scatter of every song coloured by split, with marginal histograms. labels: (N, 2) on -1..1."""
    plt = pyplot()
    fig = plt.figure(figsize=(7, 6))
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), hspace=0.05, wspace=0.05)
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    right = fig.add_subplot(grid[1, 1], sharey=ax)
    deam = to_deam_scale(labels)
    for split, color in SPLIT_COLORS.items():
        mask = np.asarray(splits) == split
        ax.scatter(deam[mask, 0], deam[mask, 1], s=12, alpha=0.7, color=color, label=f"{split} ({mask.sum()})")
    bins = np.linspace(1, 9, 33)
    top.hist(deam[:, 0], bins=bins, color="grey")
    right.hist(deam[:, 1], bins=bins, color="grey", orientation="horizontal")
    style_va_plane(ax)
    ax.legend(loc="lower right", fontsize=8)
    top.axis("off")
    right.axis("off")
    r = np.corrcoef(labels[:, 0], labels[:, 1])[0, 1] if len(labels) > 2 else float("nan")
    top.set_title(f"{len(labels)} songs, r(V, A) = {r:.2f}")
    return save_figure(fig, path)


def plot_quadrant_examples(specs: list[np.ndarray], labels: np.ndarray, titles: list[str], path: Path,
                           suptitle: str) -> Path:
    """A 2 x 2 grid of (n_mels, frames) spectrograms, one per V/A quadrant, on one colour scale."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 6))
    vmin = min(float(np.percentile(s, 1)) for s in specs)
    vmax = max(float(np.percentile(s, 99)) for s in specs)
    for ax, spec, label, title in zip(axes.ravel(), specs, labels, titles):
        v, a = to_deam_scale(label)
        show_spectrogram(ax, spec, f"{title}: V {v:.1f}, A {a:.1f}", vmin, vmax)
    fig.suptitle(suptitle)
    return save_figure(fig, path)
