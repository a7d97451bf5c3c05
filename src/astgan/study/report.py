"""The study's report: the files it writes, study.md and its figures (the numbers: :mod:`astgan.study.statistics`).

Inputs are the units' results (song-level predictions of each fold's TEST songs). Outputs:

- ``predictions.csv``: fold, budget, arm, seed, song_id, true and predicted valence and arousal
  (1..9); every song once per budget, arm and training seed (each song is a TEST song in exactly
  one fold; the ridge baseline has seed 0 only);
- ``study.csv``: one row per fold x budget x arm x seed, song-level CCC, r, R², RMSE computed from
  ``predictions.csv`` itself (so the two always agree), the best epoch, steps and seconds;
- ``study.json``: the design (with the declared primary analysis), and per budget each arm's CCC
  (per fold and pooled) and the paired differences between arms (gan vs real, control vs real,
  gan vs control, real vs the ridge baseline) for valence, arousal and their mean, with
  hierarchical bootstrap intervals over songs within folds and seeds within cells
  (:mod:`astgan.study.statistics`), the song-only intervals, and Holm's correction over the primary
  family;
- ``study.md`` (the declared primary analysis first, before any number; the answer in brief, which
  states only primary verdicts: :mod:`astgan.study.answer`; the primary verdicts; each arm's CCCs;
  then the exploratory sections: every comparison per dimension, where on the label plane each arm
  helps: :mod:`astgan.study.regions`, and whether a better GAN helps more:
  :mod:`astgan.study.quality`), ``study.png``, ``study_regions.png``,
  ``study_quality.png`` with its data ``gans.csv`` (one row per GAN); ``study.json`` carries the
  regions and the quality correlations too.

An effect is called "shown" only when its interval excludes zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from astgan.artifacts import write_json, write_text
from astgan.config import Config
from astgan.data.labels import DIMENSIONS
from astgan.metrics import fmt, fmt_interval, markdown_table
from astgan.study.answer import answer_lines, brief_lines
from astgan.study.compare import verdict_lines as base_verdict_lines
from astgan.study.figures import plot_study, plot_study_quality, plot_study_regions
from astgan.study.plan import ARM_NAMES, ARM_ORDER, Unit
from astgan.study.quality import gan_table, quality_markdown, quality_vs_effect
from astgan.study.regions import effect_cell, region_effects, regions_markdown
from astgan.study.results import UnitResult
from astgan.study.statistics import (
    compare_arms,
    holm_resolution_note,
    smallest_p,
    study_predictions,
    study_table,
    verdict_word,
)


@dataclass
class StudyPaths:
    """The files a study wrote into ``<run>/study``; None where it wrote none."""

    predictions: Path  # predictions.csv
    table: Path  # study.csv
    summary: Path  # study.json
    report: Path  # study.md
    figure: Path  # study.png
    regions_figure: Path  # study_regions.png
    gans: Path | None = None  # gans.csv, when the GANs carry quality reports
    quality_figure: Path | None = None  # study_quality.png, likewise
    vs_base_summary: Path | None = None  # vs_base.json, with a base study
    vs_base_report: Path | None = None  # vs_base.md
    vs_base_figure: Path | None = None  # vs_base.png


@dataclass
class StudyOutputs:
    summary: dict  # study.json
    table: pd.DataFrame  # study.csv
    predictions: pd.DataFrame  # predictions.csv
    paths: StudyPaths


@dataclass
class StudyResult:
    """What a study computed and wrote, and how this call ran it. ``summary`` is study.json as
    written: ``design``, ``budgets`` (pooled CCCs, paired comparisons, verdicts), ``regions``,
    ``quality_vs_effect``."""

    summary: dict  # study.json
    table: pd.DataFrame  # study.csv
    predictions: pd.DataFrame  # predictions.csv
    seconds: float
    units_run: int  # units computed in this call (the others were already done)
    paths: StudyPaths
    vs_base: dict | None = None  # vs_base.json, with a base study


def effect_text(effect: dict) -> str:
    """``+0.012 [-0.020, +0.044]``: a difference and its interval."""
    return f"{fmt(effect['difference'], signed=True)} {fmt_interval([effect['low'], effect['high']], signed=True)}"


def verdict_line(budget: str, entry: dict, confidence: float, primary: tuple[str, ...]) -> str:
    """One line per budget: the primary comparisons' mean-CCC differences (per-fold estimator) and verdicts."""
    parts = []
    for name in primary:
        if name not in entry["comparisons"]:
            continue
        mean = entry["comparisons"][name]["mean_ccc"]
        parts.append(f"{name} {effect_text(mean)} ({verdict_word(mean)})")
    label = f"{float(budget):.0%} of TRAIN"
    return (f"- **{label}** ({entry['n_songs']} songs, mean CCC per fold, {confidence:.0%} interval over songs "
            "and seeds): " + "; ".join(parts))


def verdict_lines(summary: dict, confidence: float, primary: tuple[str, ...]) -> list[str]:
    return [verdict_line(budget, entry, confidence, primary) for budget, entry in summary.items()]


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"


def primary_table(summary: dict, primary: tuple[str, ...]) -> str:
    """Budget x primary comparison: the verdict's difference (per-fold mean) with its interval, the Monte-Carlo
    error of its bounds, p and Holm's p, the verdict; beside it the pooled difference, the song-only
    interval (secondary) and the t interval over folds."""
    headers = ["budget", "comparison", "per-fold mean CCC diff [interval]", "MC error of bounds", "p (± MC)",
               "p Holm", "verdict", "pooled CCC diff [interval]", "song-only interval (secondary)",
               "t over folds"]
    rows = []
    for budget, entry in summary.items():
        for name in primary:
            if name not in entry["comparisons"]:
                continue
            mean = entry["comparisons"][name]["mean_ccc"]
            pooled, songs = entry["pooled"][name]["mean_ccc"], entry["song_only"][name]["mean_ccc"]
            fold_t = (entry.get("fold_t") or {}).get(name)
            rows.append([f"{float(budget):.0%}", name, effect_text(mean), fmt(mean["mc_error"], 4),
                         f"{_p(mean['p'])} ± {_p(mean['p_mc_error'])}", _p(mean["p_holm"]), verdict_word(mean),
                         effect_text(pooled), fmt_interval([songs["low"], songs["high"]], signed=True),
                         fmt_interval(fold_t["mean_ccc"], signed=True) if fold_t else "-"])
    return markdown_table(headers, rows)


def arms_table(summary: dict, table: pd.DataFrame) -> str:
    """Budget x arm: mean CCC per fold and pooled, each with its interval, per-dimension CCC (per fold), best epochs."""
    headers = ["budget", "TRAIN songs/fold", "arm", "mean CCC per fold", "mean CCC pooled", "valence CCC per fold",
               "arousal CCC per fold", "best epoch"]
    rows = []
    for budget, entry in summary.items():
        for arm in ARM_ORDER:
            if arm not in entry["arms"]:
                continue
            values = entry["arms"][arm]
            folds = table[(table["budget"] == float(budget)) & (table["arm"] == arm)]
            epochs = folds["best_epoch"].dropna()
            cells = [values["mean_ccc"], values["pooled"]["mean_ccc"], *(values[d] for d in DIMENSIONS)]
            rows.append([f"{float(budget):.0%}", f"{folds['n_train_songs'].mean():.0f}", ARM_NAMES[arm],
                         *[f"{fmt(v['ccc'])} {fmt_interval([v['low'], v['high']])}" for v in cells],
                         f"{epochs.median():.0f}" if len(epochs) else ""])
    return markdown_table(headers, rows)


def exploratory_table(summary: dict, primary: tuple[str, ...]) -> str:
    """Every comparison per dimension and on mean CCC (per-fold estimator), uncorrected; the primary ones'
    mean CCC is in the primary table and is left out here."""
    headers = ["budget", "comparison", "valence CCC diff", "arousal CCC diff", "mean CCC diff", "pooled mean CCC diff"]
    rows = []
    for budget, entry in summary.items():
        for name, effects in entry["comparisons"].items():
            mean = "(primary, above)" if name in primary else effect_cell(effects["mean_ccc"])
            rows.append([f"{float(budget):.0%}", name, effect_cell(effects["valence"]), effect_cell(effects["arousal"]),
                         mean, effect_cell(entry["pooled"][name]["mean_ccc"])])
    return markdown_table(headers, rows)


def seeds_sentence(study) -> str:
    if study.seeds == 1:
        return (" One training seed per cell (study.seeds=1): the intervals cannot count how much a model depends "
                "on its seed, and one seed can mislead; `astgan study ... --resume --set study.seeds=3` adds two "
                "more seeds to this study.")
    return (f" {study.seeds} training seeds per cell: seed k trains its own GAN and its own three arms with "
            "run.seed + k; the arms of one seed share initial weights, batches and dropout masks.")


def primary_lines(summary: dict, cfg: Config) -> list[str]:
    """The declared primary analysis, before any number: what is compared, which variance the intervals count,
    the Holm family, and what the resamples can resolve."""
    study, confidence = cfg.study, cfg.eval.confidence
    budgets = sorted(float(b) for b in summary)
    family = next(iter(summary.values()))["family"]  # the primary comparisons at every budget (mark_family)
    alpha = 1.0 - confidence
    lines = [
        "## The primary analysis (declared in the config: study.primary)",
        "",
        f"- **Comparisons**: at each budget ({', '.join(f'{b:.0%}' for b in budgets)} of TRAIN), "
        f"{', '.join(f'`{name}`' for name in study.primary)} on mean CCC (valence and arousal averaged).",
        "- **Estimator**: the mean over folds of each fold's song-level CCC on its own TEST songs (averaged over "
        "the fold's training seeds). Each CCC is computed on one model's predictions, so offsets between the "
        "folds' models do not enter it; the pooled CCC (all songs of all folds at once) is reported beside it.",
        f"- **Intervals**: {confidence:.0%} percentile intervals of a hierarchical paired bootstrap "
        f"({study.bootstrap_samples} resamples) that counts two sources of variance: which TEST songs were "
        f"drawn (resampled within each fold) and which training seeds were drawn ({study.seeds} per cell, "
        "resampled within each cell, each seed with the GAN it trained and its own arms). Both arms of a "
        "comparison are scored on the same draw. What the folds' different training sets add is not resampled "
        "(a t interval over the folds' own differences is shown as a check).",
        f"- **Family**: Holm's correction over these {family} comparisons only, at the same {alpha:g}. The "
        f"smallest attainable p is 2 / ({study.bootstrap_samples} + 1) = {_p(smallest_p(study.bootstrap_samples))}; "
        f"Holm's strictest threshold is {alpha:g} / {family} = {_p(alpha / max(family, 1))}.",
        "- **Everything else** in this report (control - real, real - ridge, each dimension, the regions of the "
        "label plane, equal spread, GAN quality against gain, ablations against a base) is **exploratory**: "
        "uncorrected, and not a verdict.",
        "",
    ]
    return lines + holm_resolution_note(family, study.bootstrap_samples, confidence, "study.bootstrap_samples")


def exploratory(lines: list[str]) -> list[str]:
    """A section of study.md with "(exploratory)" on its headings."""
    return [f"{line} (exploratory, uncorrected)" if line.startswith("## ") else line for line in lines]


def study_markdown(summary: dict, table: pd.DataFrame, cfg: Config, regions: dict | None = None,
                   quality: dict | None = None) -> str:
    """``study.md``: the declared primary analysis first, the design, the answer in brief (primary verdicts
    only), the primary verdicts, each arm's CCCs, and the exploratory sections (every comparison per dimension,
    the regions, the GANs' quality against their arms' gains)."""
    study, confidence = cfg.study, cfg.eval.confidence
    lines = [
        "# Does the GAN help? A cross-validated learning curve",
        "",
        *primary_lines(summary, cfg),
        "## The design",
        "",
        f"{study.folds} folds over songs (every song is a TEST song once; {study.val:.0%} of each fold's other songs "
        f"are VAL), real-data budgets {', '.join(f'{b:.0%}' for b in sorted(study.budgets))} of each fold's TRAIN "
        f"songs. Per fold, budget and seed one GAN is trained on that budget's TRAIN songs, as long as a GAN on the "
        f"fold's whole TRAIN (gan.epochs passes over it); the AST arms differ only in the items added on top of each "
        f"real batch (ast.synthetic_ratio={cfg.ast.synthetic_ratio:g}): none, GAN segments, or C-Mixup blends of "
        f"real segments; same real segments, masks, initial weights, real-item gradient weight and "
        f"{cfg.ast.epochs} epochs of optimiser steps, each keeping its best validation epoch." + seeds_sentence(study),
        "",
        *answer_lines(summary, study.primary),
        "## Primary verdicts",
        "",
        "Mean CCC, per-fold estimator, intervals over songs within folds and seeds within cells; a verdict is "
        "shown only when its interval excludes 0 after Holm's correction over the primary family. MC error: the "
        "Monte-Carlo standard error of the interval's bounds and of p (from the resamples). The pooled "
        "difference, the song-only interval (seeds kept fixed: secondary, too narrow when models move with their "
        "seed) and the t interval over the folds' own differences are shown beside it, not used by the verdict.",
        "",
        primary_table(summary, study.primary),
        "",
        *verdict_lines(summary, confidence, study.primary),
        "",
        "## Per budget and arm",
        "",
        f"Song-level CCC of each arm: per fold (the verdicts' estimator) and pooled over all folds' songs, "
        f"{confidence:.0%} hierarchical bootstrap intervals (songs within folds, seeds within cells; "
        f"{study.bootstrap_samples} resamples).",
        "",
        arms_table(summary, table),
        "",
        *exploratory([
            "## Every comparison",
            "",
            f"Each comparison per dimension and on mean CCC (per-fold estimator, {confidence:.0%} hierarchical "
            "intervals, * where one excludes 0), with the pooled mean-CCC difference. Uncorrected: by chance alone "
            "about one true null in twenty has an interval that excludes 0.",
            "",
            exploratory_table(summary, study.primary),
            "",
        ]),
        *(exploratory(regions_markdown(regions, confidence)) if regions else []),
        *(exploratory(quality_markdown(quality, confidence)) if quality else []),
        "Per fold: study.csv; per song: predictions.csv; every cell is a run folder under this one.",
        "",
    ]
    return "\n".join(lines)


def write_study_outputs(cfg: Config, results: dict[Unit, UnitResult]) -> StudyOutputs:
    """Write predictions.csv, study.csv, study.json, study.md, study.png, study_regions.png and (when
    the GANs carry quality reports) gans.csv and study_quality.png into ``<run>/study``."""
    out = cfg.paths.study_dir
    predictions = study_predictions(results)
    table = study_table(predictions, results)
    summary = compare_arms(predictions, cfg.study.bootstrap_samples, cfg.eval.confidence, cfg.study.seed,
                           cfg.study.primary)
    regions = region_effects(predictions, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.study.seed)
    gans = gan_table(results, table)
    quality = quality_vs_effect(gans, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.study.seed)
    document = {"design": {"folds": cfg.study.folds, "budgets": list(cfg.study.budgets), "val": cfg.study.val,
                           "seed": cfg.study.seed, "synthetic_ratio": cfg.ast.synthetic_ratio,
                           "ast_epochs": cfg.ast.epochs, "gan_epochs": cfg.gan.epochs, "synth_n": cfg.synth.n,
                           "confidence": cfg.eval.confidence, "bootstrap_samples": cfg.study.bootstrap_samples,
                           "region_bootstrap_samples": cfg.eval.bootstrap_samples, "seeds": cfg.study.seeds,
                           "primary": {"comparisons": list(cfg.study.primary), "summary": "mean_ccc",
                                       "estimator": "per_fold", "resampled": ["songs within folds",
                                                                              "seeds within cells"],
                                       "holm_family": next(iter(summary.values()))["family"]}},
                "budgets": summary, "regions": regions, "quality_vs_effect": quality}
    paths = StudyPaths(
        predictions=write_text(out / "predictions.csv", predictions.to_csv(index=False, float_format="%.4f")),
        table=write_text(out / "study.csv", table.to_csv(index=False, float_format="%.6g")),
        summary=write_json(out / "study.json", document),
        report=write_text(out / "study.md", study_markdown(summary, table, cfg, regions, quality)),
        figure=plot_study(summary, out / "study.png", cfg.eval.confidence),
        regions_figure=plot_study_regions(regions, out / "study_regions.png", cfg.eval.confidence),
    )
    if quality["measures"]:
        paths.gans = write_text(out / "gans.csv", gans.to_csv(index=False, float_format="%.6g"))
        paths.quality_figure = plot_study_quality(gans, quality, out / "study_quality.png")
    return StudyOutputs(document, table, predictions, paths)


def closing_lines(result: StudyResult, cfg: Config, base: Path | None = None) -> list[str]:
    """What ``astgan study`` prints when it is done: each arm's CCCs, the primary verdicts, the answer in brief
    (primary verdicts only), where the files are, and (with a base study) each arm trained again against the base."""
    summary, confidence = result.summary, cfg.eval.confidence
    paths = result.paths
    lines = [
        f"\nsong-level CCC over {cfg.study.folds} folds (per fold and pooled), {confidence:.0%} intervals over songs "
        "and seeds:",
        arms_table(summary["budgets"], result.table),
        "\nprimary verdicts (shown only when the interval excludes 0 after Holm's correction over the primary family):",
        *verdict_lines(summary["budgets"], confidence, cfg.study.primary),
        "\nin brief:",
        *brief_lines(summary["budgets"], cfg.study.primary),
        f"\nstudy: {cfg.paths.study_dir} ({result.units_run} units run, {result.seconds / 60:.1f} min); "
        f"report {paths.report} (exploratory sections after the primary ones), figures {paths.figure} and "
        f"{paths.regions_figure.name} (where on the label plane each arm helps)"
        + (f", {paths.quality_figure.name} (does a better GAN help more?)" if paths.quality_figure else ""),
    ]
    if result.vs_base is not None:
        lines += [f"\nexploratory: against the base study {base} (this minus base, mean CCC per fold, "
                  f"{confidence:.0%} interval over songs and seeds):",
                  *base_verdict_lines(result.vs_base),
                  f"every arm and the thirds of the label plane: {paths.vs_base_report}"]
    return lines
