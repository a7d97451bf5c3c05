"""Figures of a study: the learning curve and the paired differences, the thirds of the label plane,
GAN quality beside gain, and a study against its base. Each written as a PNG beside study.md."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.plots import pyplot, save_figure
from astgan.study.plan import ARM_NAMES
from astgan.study.quality import EFFECT
from astgan.study.regions import GROUPS

STUDY_COLORS = {"real": "tab:blue", "gan": "tab:red", "control": "tab:green", "ridge": "grey"}
# a comparison takes its first arm's colour, so a panel of differences reads like the curves beside it
COMPARISON_COLORS = {"gan - real": "tab:red", "control - real": "tab:green", "gan - control": "tab:purple"}


def plot_study(summary: dict, path: Path, confidence: float) -> Path:
    """The study at a glance: mean CCC per fold against the real-data budget, one line per arm with its
    interval band (left), and the paired differences between arms with their intervals (right); every
    interval from the hierarchical bootstrap (songs within folds, seeds within cells).

    ``summary``: :func:`astgan.study.statistics.compare_arms`'s result.
    """
    plt = pyplot()
    budgets = sorted(summary, key=float)
    x = np.array([float(b) * 100 for b in budgets])
    fig, (curve_ax, diff_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for arm, color in STUDY_COLORS.items():
        if any(arm not in summary[b]["arms"] for b in budgets):
            continue
        values = [summary[b]["arms"][arm]["mean_ccc"] for b in budgets]
        style = "--" if arm == "ridge" else "-"
        curve_ax.plot(x, [v["ccc"] for v in values], style, marker="o", color=color, label=ARM_NAMES[arm])
        curve_ax.fill_between(x, [v["low"] for v in values], [v["high"] for v in values], color=color, alpha=0.12)
    curve_ax.set_xlabel("real-data budget (% of each fold's TRAIN songs)")
    curve_ax.set_ylabel("song-level mean CCC (mean of the per-fold CCCs)")
    curve_ax.set_title(f"learning curve, {confidence:.0%} bands over songs and seeds", fontsize=9)
    curve_ax.set_xticks(x)
    curve_ax.legend(fontsize=8)
    compared = summary[budgets[0]]["comparisons"]
    names = [name for name in ("gan - real", "control - real", "gan - control") if name in compared]
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        values = [summary[b]["comparisons"][name]["mean_ccc"] for b in budgets]
        centre = np.arange(len(budgets)) + (i - (len(names) - 1) / 2) * width
        estimate = np.array([v["difference"] for v in values])
        errors = np.array([[v["difference"] - v["low"] for v in values], [v["high"] - v["difference"] for v in values]])
        diff_ax.errorbar(centre, estimate, yerr=errors, fmt="o", capsize=3, label=name, color=COMPARISON_COLORS[name])
    diff_ax.axhline(0.0, color="k", lw=0.8)
    diff_ax.set_xticks(np.arange(len(budgets)), [f"{float(b):.0%}" for b in budgets])
    diff_ax.set_xlabel("real-data budget")
    diff_ax.set_ylabel("difference in mean CCC")
    diff_ax.set_title("paired differences (songs and seeds resampled); gan - control, gan - real are primary",
                      fontsize=9)
    diff_ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_study_regions(regions: dict, path: Path, confidence: float) -> Path:
    """Where each arm helps: per budget (one panel each), the reduction of the mean absolute error per
    song in the centre, middle and edge thirds of the label plane, with paired-bootstrap intervals; open
    circles: the same comparisons at equal prediction spread (``regions[budget]["matched"]``, where present).

    ``regions``: :func:`astgan.study.regions.region_effects`'s result.
    """
    plt = pyplot()
    budgets = sorted(regions, key=float)
    fig, axes = plt.subplots(1, len(budgets), figsize=(4.2 * len(budgets), 3.8), sharey=True, squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        comparisons = regions[budget]["comparisons"]
        width = 0.8 / max(len(comparisons), 1)
        for i, (name, effects) in enumerate(comparisons.items()):
            values = [effects[group] for group in GROUPS]
            centre = np.arange(len(GROUPS)) + (i - (len(comparisons) - 1) / 2) * width
            estimate = np.array([v["difference"] for v in values])
            errors = np.array([estimate - [v["low"] for v in values], [v["high"] for v in values] - estimate])
            line = ax.errorbar(centre, estimate, yerr=errors, fmt="o", capsize=3, label=name,
                               color=COMPARISON_COLORS.get(name))
            matched = regions[budget].get("matched", {}).get(name)
            if matched:  # open marker: the same comparison at equal prediction spread
                ax.plot(centre, [matched[group]["difference"] for group in GROUPS], "o", mfc="none",
                        ms=9, color=line[0].get_color())
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(GROUPS)), [f"{g}\n({regions[budget]['n_songs'][g]})" for g in GROUPS])
        ax.set_title(f"{float(budget):.0%} of TRAIN", fontsize=9)
    axes[0][0].set_ylabel("lower mean |error| per song (1..9 scale)")
    if any(regions[budget].get("matched") for budget in budgets):
        axes[0][0].plot([], [], "o", mfc="none", ms=9, color="grey", label="open: at equal spread")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"where on the valence-arousal plane each arm helps ({confidence:.0%} intervals; "
                 "edge = the third of songs farthest from the mean label)", fontsize=9)
    return save_figure(fig, path)


def plot_study_quality(gans: pd.DataFrame, result: dict, path: Path) -> Path:
    """Does a better GAN help more? One panel per quality measure: each GAN's measure (x) against its arm's
    gain over real-only in mean CCC (y), coloured by budget, with the within-budget Spearman correlation.

    ``gans``: :func:`astgan.study.quality.gan_table`; ``result``: its ``quality_vs_effect``.
    """
    plt = pyplot()
    measures = list(result["measures"])
    columns = min(3, len(measures))
    rows = -(-len(measures) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.3 * rows), sharey=True, squeeze=False)
    budgets = sorted(gans["budget"].unique())
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(budgets)))
    for ax, name in zip(axes.flat, measures):
        entry = result["measures"][name]
        for budget, color in zip(budgets, colors):
            part = gans[gans["budget"] == budget]
            ax.scatter(part[name], part[EFFECT], s=18, color=color, label=f"{budget:.0%} of TRAIN")
        ax.axhline(0.0, color="k", lw=0.8)
        mark = " (shown)" if entry["shown"] else ""
        ax.set_title(f"rho {entry['rho']:+.2f} [{entry['low']:+.2f}, {entry['high']:+.2f}]{mark}", fontsize=8)
        ax.set_xlabel(textwrap.fill(entry["label"], 48), fontsize=7)
    for ax in axes.flat[len(measures):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("GAN arm - real only, mean CCC", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("does a better GAN help more? each point one GAN of the study (rho: Spearman within budget)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))  # the wrapped axis labels need the room between rows
    return save_figure(fig, path)


def plot_study_vs_base(summary: dict, path: Path, confidence: float, changed: str) -> Path:
    """A study against its base: per budget, each arm's mean-CCC change with its paired interval.

    ``summary``: :func:`astgan.study.compare.compare_studies`'s ``budgets``;
    ``changed``: the settings that differ, for the title.
    """
    plt = pyplot()
    budgets = sorted(summary, key=float)
    arms = list(dict.fromkeys(arm for b in budgets for arm in summary[b]))  # an arm may be left out at a budget
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    width = 0.8 / max(len(arms), 1)
    for i, arm in enumerate(arms):
        at = [j for j, b in enumerate(budgets) if arm in summary[b]]
        values = [summary[budgets[j]][arm]["mean_ccc"] for j in at]
        centre = np.array(at) + (i - (len(arms) - 1) / 2) * width
        estimate = np.array([v["difference"] for v in values])
        errors = np.array([estimate - [v["low"] for v in values], [v["high"] for v in values] - estimate])
        ax.errorbar(centre, estimate, yerr=errors, fmt="o", capsize=3, color=STUDY_COLORS.get(arm),
                    label=ARM_NAMES.get(arm, arm))
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(budgets)), [f"{float(b):.0%}" for b in budgets])
    ax.set_xlabel("real-data budget")
    ax.set_ylabel("mean CCC here minus the base's")
    changed = changed if len(changed) <= 60 else changed[:57] + "..."
    ax.set_title(f"against the base study (changed: {changed}); {confidence:.0%} paired intervals", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
