"""Figures of the GAN's training, each written as a PNG beside its artifact (those of a synthetic set:
:mod:`astgan.synthetic.figures`).

All take plain numpy arrays: spectrograms (n_mels, frames) in the normalised log-mel space and
labels (N, 2) on -1..1 (axes show DEAM's 1..9 scale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.data.labels import to_deam_scale as to_deam
from astgan.plots import pyplot, save_figure, show_spectrogram

# The classic recipe's healthy ranges for the last epochs (BCE with label smoothing): shaded behind
# the curves. They describe BCE losses; under the hinge loss only the accuracy bands are drawn.
HEALTHY_BANDS = {
    "g_loss": (0.5, 2.0),
    "d_loss": (0.5, 1.5),
    "d_real_acc": (0.7, 0.9),
    "d_fake_acc": (0.5, 0.7),
}


def plot_gan_history(rows: list[dict], path: Path, loss: str = "bce") -> Path:
    """Losses and D accuracies by epoch (``rows``: metrics.csv rows), healthy bands shaded.

    ``loss``: "bce" or "hinge"; the loss bands are drawn for BCE only.
    """
    plt = pyplot()
    epochs = [row["epoch"] for row in rows]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, keys in ((loss_ax, ("g_loss", "d_loss")), (acc_ax, ("d_real_acc", "d_fake_acc"))):
        for key, color in zip(keys, ("tab:blue", "tab:orange")):
            ax.plot(epochs, [row[key] for row in rows], marker=".", color=color, label=key)
            if ax is acc_ax or loss == "bce":
                low, high = HEALTHY_BANDS[key]
                ax.axhspan(low, high, color=color, alpha=0.1)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    loss_ax.set_title(f"{loss} losses" + (" (shaded: the classic recipe's healthy bands)" if loss == "bce" else ""),
                      fontsize=9)
    acc_ax.set_title("discriminator accuracy (shaded: the classic recipe's healthy bands)", fontsize=9)
    acc_ax.set_ylim(-0.02, 1.02)
    return save_figure(fig, path)


def plot_condition_grid(real: np.ndarray, generated: np.ndarray, labels: np.ndarray, path: Path,
                        title: str, real_labels: np.ndarray | None = None) -> Path:
    """One row per condition: a real segment with a nearby label, then generated ones.

    ``real``: (R, n_mels, frames); ``generated``: (R, K, n_mels, frames); ``labels``: (R, 2) the
    requested conditions; ``real_labels``: (R, 2) the real segments' labels (default ``labels``).
    All panels share one colour scale.
    """
    plt = pyplot()
    real_labels = labels if real_labels is None else real_labels
    rows, per_row = generated.shape[:2]
    fig, axes = plt.subplots(rows, per_row + 1, figsize=(2.4 * (per_row + 1), 1.8 * rows), squeeze=False)
    vmin = float(np.percentile(real, 1))
    vmax = float(np.percentile(real, 99))
    for r in range(rows):
        v, a = to_deam(real_labels[r])
        show_spectrogram(axes[r, 0], real[r], f"real TRAIN  V {v:.1f} A {a:.1f}", vmin, vmax)
        v, a = to_deam(labels[r])
        for k in range(per_row):
            show_spectrogram(axes[r, k + 1], generated[r, k], f"generated  V {v:.1f} A {a:.1f}", vmin, vmax)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
