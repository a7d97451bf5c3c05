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


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def to_deam(values: np.ndarray) -> np.ndarray:
    """-1..1 -> DEAM's 1..9 scale, for axis labels people recognise."""
    return np.asarray(values) * 4.0 + 5.0


def style_va_plane(ax) -> None:
    """Axes of the valence/arousal plane on DEAM's 1..9 scale, with the quadrant lines at 5."""
    ax.axhline(5, color="k", lw=0.5)
    ax.axvline(5, color="k", lw=0.5)
    ax.set_xlim(1, 9)
    ax.set_ylim(1, 9)
    ax.set_xlabel("valence (1..9)")
    ax.set_ylabel("arousal (1..9)")


def show_spectrogram(ax, spec: np.ndarray, title: str, vmin: float | None = None, vmax: float | None = None) -> None:
    """Draw one (n_mels, frames) spectrogram with low frequencies at the bottom."""
    ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_label_distribution(labels: np.ndarray, splits: np.ndarray, path: Path) -> Path:
    """V/A scatter of every song coloured by split, with marginal histograms. labels: (N, 2) on -1..1."""
    plt = pyplot()
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
    style_va_plane(ax)
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
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 6))
    vmin = min(float(np.percentile(s, 1)) for s in specs)
    vmax = max(float(np.percentile(s, 99)) for s in specs)
    for ax, spec, label, title in zip(axes.ravel(), specs, labels, titles):
        v, a = to_deam(label)
        show_spectrogram(ax, spec, f"{title}: V {v:.1f}, A {a:.1f}", vmin, vmax)
    fig.suptitle(suptitle)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- evaluation and prediction


def plot_predicted_vs_true(true: np.ndarray, pred: np.ndarray, report: dict, path: Path, title: str) -> Path:
    """Predicted vs true per dimension on the 1..9 scale, with the identity line.

    ``true``, ``pred``: (N, 2) on -1..1; ``report``: their regression_report (for the captions).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for d, (ax, name) in enumerate(zip(axes, ("valence", "arousal"))):
        t, p = to_deam(true[:, d]), to_deam(pred[:, d])
        low, high = min(t.min(), p.min(), 1.0), max(t.max(), p.max(), 9.0)
        ax.plot([low, high], [low, high], color="k", lw=0.8, ls="--", label="identity")
        ax.scatter(t, p, s=22, alpha=0.8, color="tab:blue" if d == 0 else "tab:red")
        m = report[name]
        ax.set_title(f"{name}: CCC {m['ccc']:.3f}, r {m['pearson']:.3f}, RMSE {m['rmse']:.2f}", fontsize=9)
        ax.set_xlabel(f"true {name} (1..9)")
        ax.set_ylabel(f"predicted {name} (1..9)")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_va_plane(true: np.ndarray, pred: np.ndarray, path: Path, title: str) -> Path:
    """Each song's true (circle) and predicted (cross) position in the V/A plane, linked by a line.

    ``true``, ``pred``: (N, 2) on -1..1, rows aligned by song.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    t, p = to_deam(true), to_deam(pred)
    for (tv, ta), (pv, pa) in zip(t, p):
        ax.plot([tv, pv], [ta, pa], color="grey", lw=0.7, alpha=0.7)
    ax.scatter(t[:, 0], t[:, 1], s=30, facecolors="none", edgecolors="tab:green", label="true")
    ax.scatter(p[:, 0], p[:, 1], s=30, marker="x", color="tab:purple", label="predicted")
    style_va_plane(ax)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_paired_differences(differences: dict[str, np.ndarray], summary: dict, path: Path, title: str) -> Path:
    """Histograms of paired-bootstrap CCC differences (A - B), one panel per dimension and the mean.

    ``differences``: name -> (n_boot,) resampled differences; ``summary``: name -> {"difference",
    "low", "high", "p_a_better"} (see :func:`astgan.bootstrap.paired_difference`).
    """
    plt = pyplot()
    names = list(differences)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        s = summary[name]
        ax.hist(differences[name], bins=40, color="tab:blue", alpha=0.75)
        ax.axvline(0.0, color="k", lw=1.0)
        ax.axvline(s["difference"], color="tab:red", lw=1.5, label=f"estimate {s['difference']:+.3f}")
        ax.axvspan(s["low"], s["high"], color="tab:red", alpha=0.12,
                   label=f"interval [{s['low']:+.3f}, {s['high']:+.3f}]")
        ax.set_title(f"{name.replace('_ccc', '')}: A ahead in {s['p_a_better']:.0%}", fontsize=9)
        ax.set_xlabel("CCC(A) - CCC(B)")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10, y=1.03)
    return save_figure(fig, path)


def plot_timelines(timelines: list[tuple[str, np.ndarray, np.ndarray]], path: Path, max_files: int = 8) -> Path:
    """Valence and arousal over time, one panel per file (the first ``max_files``).

    ``timelines``: (name, centres in seconds (n,), predictions (n, 2) on -1..1) per file.
    """
    plt = pyplot()
    shown = timelines[:max_files]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 2.2 * len(shown)), squeeze=False, constrained_layout=True)
    for ax, (name, centres, pred) in zip(axes[:, 0], shown):
        deam = to_deam(pred)
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
