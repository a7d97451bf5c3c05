"""Figures of the regressor: training curves, and valence/arousal over time for predicted files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.data.labels import to_deam_scale
from astgan.plots import pyplot, save_figure


def plot_training_curves(history, path: Path, best_epoch: int | None = None) -> Path:
    """The regressor's training at a glance: losses, validation song-level CCC, learning rate.

    ``history``: a DataFrame with one row per epoch (``ast/history.csv``'s columns).
    """
    plt = pyplot()
    fig, (loss_ax, ccc_ax, lr_ax) = plt.subplots(1, 3, figsize=(13, 3.6))
    epochs = history["epoch"]
    loss_ax.plot(epochs, history["train_loss"], marker="o", ms=3, label="train (SpecAugment, mixed pool)")
    loss_ax.plot(epochs, history["val_loss"], marker="o", ms=3, label="validation")
    loss_ax.set_title("loss per segment", fontsize=9)
    loss_ax.legend(fontsize=7)
    for column, color, name in (("val_valence_ccc", "tab:blue", "valence"), ("val_arousal_ccc", "tab:red", "arousal"),
                                ("val_mean_ccc", "k", "mean")):
        ccc_ax.plot(epochs, history[column], marker="o", ms=3, color=color, label=name)
    ccc_ax.set_title("validation CCC (song level)", fontsize=9)
    ccc_ax.set_ylim(min(0.0, float(history[["val_valence_ccc", "val_arousal_ccc"]].min().min())), 1.0)
    if best_epoch:
        for ax in (loss_ax, ccc_ax):
            ax.axvline(best_epoch, color="grey", ls="--", lw=0.8)
        ccc_ax.text(best_epoch, 0.98, f" best: {best_epoch}", fontsize=7, color="grey", va="top")
    ccc_ax.legend(fontsize=7, loc="lower right")
    lr_ax.plot(epochs, history["lr"], marker="o", ms=3, color="tab:green")
    lr_ax.set_title("learning rate (end of epoch)", fontsize=9)
    for ax in (loss_ax, ccc_ax, lr_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    return save_figure(fig, path)


def plot_timelines(timelines: list[tuple[str, np.ndarray, np.ndarray]], path: Path, max_files: int = 8) -> Path:
    """Valence and arousal over time, one panel per file (the first ``max_files``).

    ``timelines``: (name, centres in seconds (n,), predictions (n, 2) on -1..1) per file.
    """
    plt = pyplot()
    shown = timelines[:max_files]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 2.2 * len(shown)), squeeze=False, constrained_layout=True)
    for ax, (name, centres, pred) in zip(axes[:, 0], shown):
        deam = to_deam_scale(pred)
        ax.plot(centres, deam[:, 0], marker="o", ms=3, color="tab:blue", label="valence")
        ax.plot(centres, deam[:, 1], marker="o", ms=3, color="tab:red", label="arousal")
        ax.axhline(5, color="k", lw=0.5)
        ax.set_ylim(1, 9)
        ax.set_ylabel("1..9")
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (s, segment centre)")
    if len(timelines) > max_files:
        fig.suptitle(f"first {max_files} of {len(timelines)} files", fontsize=9)
    return save_figure(fig, path)
