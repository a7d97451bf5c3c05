"""Figures of an evaluation: predicted vs true, the V/A plane, and paired-bootstrap differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from astgan.data.labels import DEAM_SCALE, DIMENSIONS, LabelScale
from astgan.plots import pyplot, save_figure, style_va_plane


def plot_predicted_vs_true(true: np.ndarray, pred: np.ndarray, report: dict, path: Path, title: str,
                           scale: LabelScale = DEAM_SCALE) -> Path:
    """Predicted vs true per dimension on the dataset's scale (DEAM's 1..9), with the identity line.

    ``true``, ``pred``: (N, 2) on -1..1; ``report``: their regression_report (for the captions).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for d, (ax, name) in enumerate(zip(axes, DIMENSIONS)):
        t, p = scale.from_unit(true[:, d]), scale.from_unit(pred[:, d])
        low, high = min(t.min(), p.min(), scale.lo), max(t.max(), p.max(), scale.hi)
        ax.plot([low, high], [low, high], color="k", lw=0.8, ls="--", label="identity")
        ax.scatter(t, p, s=22, alpha=0.8, color="tab:blue" if d == 0 else "tab:red")
        m = report[name]
        ax.set_title(f"{name}: CCC {m['ccc']:.3f}, r {m['pearson']:.3f}, RMSE {m['rmse']:.2f}", fontsize=9)
        ax.set_xlabel(f"true {name} ({scale})")
        ax.set_ylabel(f"predicted {name} ({scale})")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_va_plane(true: np.ndarray, pred: np.ndarray, path: Path, title: str, scale: LabelScale = DEAM_SCALE) -> Path:
    """Each song's true (circle) and predicted (cross) position in the V/A plane, linked by a line.

    ``true``, ``pred``: (N, 2) on -1..1, rows aligned by song.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    t, p = scale.from_unit(true), scale.from_unit(pred)
    for (tv, ta), (pv, pa) in zip(t, p):
        ax.plot([tv, pv], [ta, pa], color="grey", lw=0.7, alpha=0.7)
    ax.scatter(t[:, 0], t[:, 1], s=30, facecolors="none", edgecolors="tab:green", label="true")
    ax.scatter(p[:, 0], p[:, 1], s=30, marker="x", color="tab:purple", label="predicted")
    style_va_plane(ax, scale.lo, scale.hi)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_paired_differences(differences: dict[str, np.ndarray], summary: dict, path: Path, title: str) -> Path:
    """Histograms of paired-bootstrap CCC differences (A - B), one panel per dimension and the mean.

    ``differences``: name -> (n_boot,) resampled differences; ``summary``: name -> {"difference",
    "low", "high", "p_a_better"} (see :func:`astgan.evaluation.bootstrap.paired_difference`).
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
