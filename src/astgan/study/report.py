"""The study's statistics and report: per-cell metrics, pooled paired bootstraps, verdicts, the figure.

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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.artifacts import write_json, write_text
from astgan.config import Config
from astgan.data.labels import DIMENSIONS, to_deam_scale, to_unit_scale
from astgan.evaluation.bootstrap import ccc_intervals, holm, paired_difference, resampled_ccc
from astgan.metrics import fmt, fmt_interval, markdown_table, regression_report
from astgan.study.answer import answer_lines
from astgan.study.quality import gan_table, quality_markdown, quality_vs_effect
from astgan.study.regions import region_effects, regions_markdown

ARM_ORDER = ("real", "gan", "control", "ridge")
ARM_NAMES = {"real": "real only", "gan": "real + GAN", "control": "real + C-Mixup", "ridge": "ridge (band stats)"}
COMPARISONS = (("gan", "real"), ("control", "real"), ("gan", "control"), ("real", "ridge"))
VERDICTS = ("gan - real", "control - real", "gan - control")  # the family the verdicts read together
VALUE_COLUMNS = ["valence_true", "arousal_true", "valence_pred", "arousal_pred"]
PREDICTION_COLUMNS = ["fold", "budget", "arm", "seed", "song_id", *VALUE_COLUMNS]
METRIC_KEYS = ("ccc", "pearson", "r2", "rmse")


@dataclass
class StudyOutputs:
    summary: dict
    table: pd.DataFrame
    predictions: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)


def study_predictions(results: dict) -> pd.DataFrame:
    """``predictions.csv``: one row per fold, budget, arm and TEST song, labels on DEAM's 1..9 scale.

    ``results``: unit -> the unit's result dict (units of kind gan-model carry no predictions).
    Values are rounded to 4 decimals, and every later number is computed from the rounded table.
    """
    rows = []
    for unit, result in results.items():
        if unit.kind not in ARM_ORDER:
            continue
        true, pred = to_deam_scale(np.asarray(result["true"])), to_deam_scale(np.asarray(result["pred"]))
        for song_id, t, p in zip(result["song_ids"], true, pred):
            rows.append([unit.cell.fold + 1, unit.cell.budget, unit.kind, unit.seed, str(song_id), *t, *p])
    table = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    for column in VALUE_COLUMNS:
        table[column] = table[column].round(4)
    table["arm"] = pd.Categorical(table["arm"], ARM_ORDER, ordered=True)  # sorts real, gan, control, ridge
    table = table.sort_values(["budget", "fold", "arm", "seed", "song_id"]).reset_index(drop=True)
    return table.assign(arm=table["arm"].astype(str))


def with_seed_column(predictions: pd.DataFrame) -> pd.DataFrame:
    """A ``predictions.csv`` of any release: one written before studies had seeds is seed 0 throughout."""
    return predictions if "seed" in predictions else predictions.assign(seed=0)


def seed_arrays(frame: pd.DataFrame) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """(song ids, true (N, 2), pred (n_seeds, N, 2)), on -1..1, of one budget and arm of ``predictions.csv``;
    songs sorted by id, the same songs for every seed."""
    seeds = [part.set_index("song_id").sort_index() for _, part in frame.groupby("seed")]
    songs = seeds[0].index
    true = to_unit_scale(seeds[0][["valence_true", "arousal_true"]].to_numpy())
    pred = np.stack([to_unit_scale(part.loc[songs, ["valence_pred", "arousal_pred"]].to_numpy()) for part in seeds])
    return songs, true, pred


def unit_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(true, pred), each (N, 2) on -1..1, of a slice of ``predictions.csv``."""
    return (to_unit_scale(frame[["valence_true", "arousal_true"]].to_numpy()),
            to_unit_scale(frame[["valence_pred", "arousal_pred"]].to_numpy()))


def study_table(predictions: pd.DataFrame, results: dict) -> pd.DataFrame:
    """``study.csv``: metrics of every fold x budget x arm, from ``predictions``, plus training facts."""
    facts = {(u.cell.fold + 1, u.cell.budget, u.kind, u.seed): r for u, r in results.items() if u.kind in ARM_ORDER}
    rows = []
    for (fold, budget, arm, seed), frame in predictions.groupby(["fold", "budget", "arm", "seed"], sort=False):
        true, pred = unit_arrays(frame)
        report = regression_report(pred, true)
        fact = facts[(fold, budget, arm, seed)]
        row = {"fold": fold, "budget": budget, "arm": arm, "seed": seed, "n_train_songs": fact["n_train_songs"],
               "n_test_songs": len(frame)}
        for dim in DIMENSIONS:
            row.update({f"{dim}_{key}": report[dim][key] for key in METRIC_KEYS})
        row["mean_ccc"] = report["mean_ccc"]
        row.update(best_epoch=fact.get("best_epoch"), steps=fact.get("steps"), seconds=round(fact["seconds"], 1))
        rows.append(row)
    return pd.DataFrame(rows)


def paired_shown(pred_a: np.ndarray, pred_b: np.ndarray, true: np.ndarray, n_boot: int, confidence: float,
                 seed: int) -> dict:
    """:func:`~astgan.evaluation.bootstrap.paired_difference`'s summary, each entry marked ``shown``
    when its interval excludes 0."""
    difference, _ = paired_difference(pred_a, pred_b, true, n_boot, confidence, seed)
    for values in difference.values():
        values["shown"] = bool(values["low"] > 0 or values["high"] < 0)
    return difference


def compare_arms(predictions: pd.DataFrame, n_boot: int, confidence: float, seed: int) -> dict:
    """Per budget: each arm's pooled CCC with its interval, and paired bootstraps between arms.

    Pooled means over all songs of all folds (each song predicted by the model of the fold that
    held it out); pairs are aligned by song id. Returns
    ``{budget: {"n_songs", "arms": {arm: {dim: {"ccc", "low", "high"}}}, "comparisons": {...}}}``
    with budgets as strings ("0.25"), comparisons named "gan - real" etc.
    """
    boot = dict(n_boot=n_boot, confidence=confidence, seed=seed)
    summary = {}
    for budget, frame in predictions.groupby("budget"):
        arrays = {arm: seed_arrays(part) for arm, part in frame.groupby("arm")}
        songs, true, _ = next(iter(arrays.values()))
        if any(not ids.equals(songs) for ids, _, _ in arrays.values()):
            raise ValueError(f"the arms at budget {budget:g} hold different songs")
        arrays = {arm: pred for arm, (_, _, pred) in arrays.items()}  # (n_seeds, N, 2) each
        entry = {"n_songs": len(songs), "arms": {}, "comparisons": {}}
        for arm, pred in arrays.items():
            point = resampled_ccc(pred, true, np.arange(len(true))[None, :])  # the mean of the seeds' CCCs
            interval = ccc_intervals(pred, true, **boot)
            entry["arms"][arm] = {name: {"ccc": float(point[name][0]), "low": interval[name][0],
                                         "high": interval[name][1]} for name in (*DIMENSIONS, "mean_ccc")}
            entry["arms"][arm]["seeds"] = len(pred)
        for a, b in COMPARISONS:
            if a in arrays and b in arrays:
                entry["comparisons"][f"{a} - {b}"] = paired_shown(arrays[a], arrays[b], true, **boot)
        summary[f"{budget:g}"] = entry
    mark_family(summary, 1.0 - confidence)
    return summary


def mark_family(summary: dict, alpha: float) -> None:
    """Holm's correction over every verdict of the study (:data:`VERDICTS` at every budget, mean CCC): adds
    ``p_holm`` and ``shown_holm`` to each of those entries, and ``family`` (how many) to the summary's budgets.

    A study reads several verdicts at once (3 budgets x 3 comparisons by default), and at 95% about one
    in twenty true nulls is "shown" by chance; the corrected mark keeps that chance for the whole family.
    """
    family = [entry["comparisons"][name]["mean_ccc"] for entry in summary.values()
              for name in VERDICTS if name in entry["comparisons"]]
    mark_holm(family, alpha)
    for entry in summary.values():
        entry["family"] = len(family)


def mark_holm(family: list[dict], alpha: float) -> None:
    """Add ``p_holm`` (Holm-adjusted ``p``) and ``shown_holm`` to each paired-bootstrap entry of a family."""
    for mean, adjusted in zip(family, holm([mean["p"] for mean in family])):
        mean["p_holm"], mean["shown_holm"] = adjusted, bool(mean["shown"] and adjusted < alpha)


def holm_resolution_note(family: int, n_boot: int, confidence: float) -> list[str]:
    """A warning when too few bootstrap resamples leave Holm's correction unable to show anything: the
    smallest bootstrap p-value is 2 / (n_boot + 1), and Holm multiplies it by the family's size."""
    alpha = 1.0 - confidence
    if family == 0 or 2.0 / (n_boot + 1) * family < alpha:
        return []
    needed = int(np.ceil(2.0 * family / alpha))
    return [f"Note: with {n_boot} bootstrap resamples no verdict can hold after Holm's correction over {family} "
            f"(the smallest p-value is 2 / {n_boot + 1}); set eval.bootstrap_samples to {needed} or more.", ""]


def verdict_word(mean: dict) -> str:
    """shown / not shown, and for a shown one whether it is still shown after Holm's correction."""
    if not mean["shown"]:
        return "not shown"
    if "shown_holm" not in mean:
        return "shown"
    return "shown, also after Holm" if mean["shown_holm"] else "shown, not after Holm"


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


def write_study_outputs(cfg: Config, results: dict) -> StudyOutputs:
    """Write predictions.csv, study.csv, study.json, study.md, study.png, study_regions.png and (when
    the GANs carry quality reports) gans.csv and study_quality.png into ``<run>/study``."""
    from astgan.evaluation.figures import plot_study, plot_study_quality, plot_study_regions

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
    paths = {
        "predictions": write_text(out / "predictions.csv", predictions.to_csv(index=False, float_format="%.4f")),
        "table": write_text(out / "study.csv", table.to_csv(index=False, float_format="%.6g")),
        "summary": write_json(out / "study.json", document),
        "report": write_text(out / "study.md", study_markdown(summary, table, cfg, regions, quality)),
        "figure": plot_study(summary, out / "study.png", cfg.eval.confidence),
        "regions_figure": plot_study_regions(regions, out / "study_regions.png", cfg.eval.confidence),
    }
    if quality["measures"]:
        paths["gans"] = write_text(out / "gans.csv", gans.to_csv(index=False, float_format="%.6g"))
        paths["quality_figure"] = plot_study_quality(gans, quality, out / "study_quality.png")
    return StudyOutputs(document, table, predictions, paths)
