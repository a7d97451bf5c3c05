"""Figures of a synthetic set, written beside it: its conditions on the label plane, its mean spectrum.

(Real vs synthetic segments at the same labels is the GAN's own condition grid,
:func:`astgan.gan.figures.plot_condition_grid`.) Labels (N, 2) on -1..1; axes show DEAM's 1..9 scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.data.labels import to_deam_scale as to_deam
from astgan.plots import pyplot, save_figure, style_va_plane


def plot_label_plane(train_labels: np.ndarray, synthetic_labels: np.ndarray, path: Path, sampler: str) -> Path:
    """V/A plane: real TRAIN labels (one per segment) under the synthetic set's conditions."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    synthetic, real = to_deam(synthetic_labels), to_deam(train_labels)
    ax.scatter(synthetic[:, 0], synthetic[:, 1], s=5, alpha=0.35, color="tab:red",
               label=f"synthetic ({len(synthetic)}, sampler {sampler})")
    ax.scatter(real[:, 0], real[:, 1], s=9, alpha=0.6, color="tab:blue", label=f"real TRAIN segments ({len(real)})")
    style_va_plane(ax)
    ax.legend(loc="lower right", fontsize=8)
    return save_figure(fig, path)


def plot_mean_spectrum(real_band_stats: np.ndarray, synthetic_band_stats: np.ndarray, path: Path) -> Path:
    """Per-band mean and movement of real TRAIN vs synthetic segments.

    Inputs: (N, 2 n_mels) per-band statistics (means then stds over time, as
    :func:`astgan.data.descriptors.band_statistics` returns). Left: band means; right: each band's
    standard deviation over time. Lines are averages over segments, shades +-1 sd across segments.
    """
    plt = pyplot()
    fig, (mean_ax, std_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    sets = ((real_band_stats, "real TRAIN", "tab:blue"), (synthetic_band_stats, "synthetic", "tab:red"))
    for stats, name, color in sets:
        n_mels = stats.shape[1] // 2
        bands = np.arange(n_mels)
        for ax, values in ((mean_ax, stats[:, :n_mels]), (std_ax, stats[:, n_mels:])):
            centre, spread = values.mean(axis=0), values.std(axis=0)
            ax.plot(bands, centre, color=color, label=name)
            ax.fill_between(bands, centre - spread, centre + spread, color=color, alpha=0.15)
    mean_ax.set_title("band mean", fontsize=9)
    std_ax.set_title("band standard deviation over time", fontsize=9)
    for ax in (mean_ax, std_ax):
        ax.set_xlabel("mel band (low to high)")
        ax.legend(fontsize=8)
    return save_figure(fig, path)
