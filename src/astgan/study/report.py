"""The study's report: the files it writes, study.md and its figures (the numbers: :mod:`astgan.study.statistics`).

Inputs are the units' results (song-level predictions of each fold's TEST songs). Outputs:

- ``predictions.csv``: fold, budget, arm, seed, song_id, true and predicted valence and arousal
  (1..9); every song once per budget, arm and training seed (each song is a TEST song in exactly
  one fold; the ridge baseline has seed 0 only);
- ``study.csv``: one row per fold x budget x arm x seed, song-level CCC, r, R², RMSE computed from
  ``predictions.csv`` itself (so the two always agree), the best epoch, steps and seconds;
- ``study.json``: per budget, each arm's CCC over all songs pooled over folds with a bootstrap
  interval, and paired bootstraps over the songs of gan vs real, control vs real, gan vs
  control (and real vs the ridge baseline), for valence, arousal and their mean; with several
  seeds every CCC is the mean of the seeds' CCCs, on every resample;
- ``study.md`` (the answer in brief: :mod:`astgan.study.answer`, the table, one verdict
  line per budget, where on the label plane each arm helps:
  :mod:`astgan.study.regions`, and whether a better GAN helps more:
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
from astgan.study.regions import region_effects, regions_markdown
from astgan.study.results import UnitResult
from astgan.study.statistics import (
    VERDICTS,
    compare_arms,
    holm_resolution_note,
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


def verdict_line(budget: str, entry: dict, confidence: float) -> str:
    """One line per budget: the GAN's effect on mean CCC against real-only and against C-Mixup."""
    parts = []
    for name in VERDICTS:
        if name not in entry["comparisons"]:
            continue
        mean = entry["comparisons"][name]["mean_ccc"]
        parts.append(f"{name} {fmt(mean['difference'], signed=True)} "
                     f"{fmt_interval([mean['low'], mean['high']], signed=True)} ({verdict_word(mean)})")
    label = f"{float(budget):.0%} of TRAIN"
    return f"- **{label}** ({entry['n_songs']} songs, mean CCC, {confidence:.0%} interval): " + "; ".join(parts)


def pooled_table(summary: dict, table: pd.DataFrame) -> str:
    """Budget x arm: pooled CCC per dimension and mean with intervals, the per-fold spread, best epochs."""
    headers = ["budget", "TRAIN songs/fold", "arm", "valence CCC", "arousal CCC", "mean CCC", "mean CCC per fold",
               "best epoch"]
    rows = []
    for budget, entry in summary.items():
        for arm in ARM_ORDER:
            if arm not in entry["arms"]:
                continue
            values = entry["arms"][arm]
            folds = table[(table["budget"] == float(budget)) & (table["arm"] == arm)]
            epochs = folds["best_epoch"].dropna()
            rows.append([f"{float(budget):.0%}", f"{folds['n_train_songs'].mean():.0f}", ARM_NAMES[arm],
                         *[f"{fmt(values[n]['ccc'])} {fmt_interval([values[n]['low'], values[n]['high']])}"
                           for n in (*DIMENSIONS, "mean_ccc")],
                         f"{folds['mean_ccc'].mean():.3f} ± {folds['mean_ccc'].std(ddof=0):.3f}",
                         f"{epochs.median():.0f}" if len(epochs) else ""])
    return markdown_table(headers, rows)


def verdict_lines(summary: dict, confidence: float) -> list[str]:
    return [verdict_line(budget, entry, confidence) for budget, entry in summary.items()]


def seeds_sentence(study) -> str:
    if study.seeds == 1:
        return (" One training seed per cell (study.seeds=1): the intervals cover which songs were tested, not how "
                "much a model depends on its seed, and one seed can mislead; `astgan study ... --resume --set "
                "study.seeds=3` adds two more seeds to this study.")
    return (f" {study.seeds} training seeds per cell: seed k trains its own GAN and its own three arms with "
            "run.seed + k, and every CCC is the mean of the seeds' CCCs, on every bootstrap resample.")


def study_markdown(summary: dict, table: pd.DataFrame, cfg: Config, regions: dict | None = None,
                   quality: dict | None = None) -> str:
    """``study.md``: the design in a paragraph, the answer in brief, the pooled table, the verdicts, and
    (given) the regions and the GANs' quality against their arms' gains."""
    study, confidence = cfg.study, cfg.eval.confidence
    family = next(iter(summary.values())).get("family", 0)  # verdicts read together (mark_family)
    lines = [
        "# Does the GAN help? A cross-validated learning curve",
        "",
        f"{study.folds} folds over songs (every song is a TEST song once; {study.val:.0%} of each fold's other songs "
        f"are VAL), real-data budgets {', '.join(f'{b:.0%}' for b in sorted(study.budgets))} of each fold's TRAIN "
        f"songs. Per fold and budget one GAN is trained on that budget's TRAIN songs; the AST arms differ only in "
        f"the items added on top of each real batch (ast.synthetic_ratio={cfg.ast.synthetic_ratio:g}): none, GAN "
        f"segments, or C-Mixup blends of real segments; same real segments, masks, initial weights and "
        f"{cfg.ast.epochs} epochs of optimiser steps, each keeping its best validation epoch." + seeds_sentence(study),
        "",
        *answer_lines(summary, regions, quality),
        "## Per budget and arm",
        "",
        f"Song-level CCC over all songs pooled across folds, {confidence:.0%} bootstrap intervals over songs "
        f"({cfg.eval.bootstrap_samples} resamples); the per-fold column is the mean ± sd over folds"
        + (" and seeds." if study.seeds > 1 else "."),
        "",
        pooled_table(summary, table),
        "",
        "## Verdict per budget",
        "",
        "An effect is shown only when its paired-bootstrap interval excludes 0. These verdicts are read together "
        f"({family} of them), so each shown one also says whether it "
        "survives Holm's correction over all of them (bootstrap p-values, the same 1 - confidence for the "
        "whole family): by chance alone about one true null in twenty is shown at 95%.",
        "",
        *verdict_lines(summary, confidence),
        "",
        *holm_resolution_note(family, cfg.eval.bootstrap_samples, confidence),
        *(regions_markdown(regions, confidence) if regions else []),
        *(quality_markdown(quality, confidence) if quality else []),
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
    summary = compare_arms(predictions, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.study.seed)
    regions = region_effects(predictions, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.study.seed)
    gans = gan_table(results, table)
    quality = quality_vs_effect(gans, cfg.eval.bootstrap_samples, cfg.eval.confidence, cfg.study.seed)
    document = {"design": {"folds": cfg.study.folds, "budgets": list(cfg.study.budgets), "val": cfg.study.val,
                           "seed": cfg.study.seed, "synthetic_ratio": cfg.ast.synthetic_ratio,
                           "ast_epochs": cfg.ast.epochs, "gan_epochs": cfg.gan.epochs, "synth_n": cfg.synth.n,
                           "confidence": cfg.eval.confidence, "bootstrap_samples": cfg.eval.bootstrap_samples},
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
    """What ``astgan study`` prints when it is done: the pooled table, the verdicts, the answer in brief,
    where the files are, and (with a base study) each arm trained again against the base."""
    summary, confidence = result.summary, cfg.eval.confidence
    paths = result.paths
    lines = [
        f"\nsong-level CCC pooled over {cfg.study.folds} folds, {confidence:.0%} intervals:",
        pooled_table(summary["budgets"], result.table),
        "\nverdict (an effect is shown only when its interval excludes 0):",
        *verdict_lines(summary["budgets"], confidence),
        "\nin brief:",
        *brief_lines(summary["budgets"], summary.get("regions"), summary.get("quality_vs_effect")),
        f"\nstudy: {cfg.paths.study_dir} ({result.units_run} units run, {result.seconds / 60:.1f} min); "
        f"report {paths.report}, figures {paths.figure} and {paths.regions_figure.name} (where on the "
        "label plane each arm helps)"
        + (f", {paths.quality_figure.name} (does a better GAN help more?)" if paths.quality_figure else ""),
    ]
    if result.vs_base is not None:
        lines += [f"\nagainst the base study {base} (this minus base, mean CCC, {confidence:.0%} interval):",
                  *base_verdict_lines(result.vs_base),
                  f"every arm and the thirds of the label plane: {paths.vs_base_report}"]
    return lines
