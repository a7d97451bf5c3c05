"""A study beside its base (``astgan study --base``): each arm against the same arm of the base, song by song.

Both studies must have tested the same songs in the same folds with the same labels, so that a
difference measures the changed settings and not the split; otherwise the comparison is refused.
Per budget both hold and per arm both hold: CCC(this) - CCC(base) for valence, arousal and their
mean under the per-fold estimator, with the study's hierarchical bootstrap (songs within folds,
seeds within cells: :func:`astgan.study.statistics.arm_against_arm`; each side the mean over its
training seeds, which may differ in number), and by third of the label plane the drop in mean
absolute error per song (:mod:`astgan.study.regions`, a bootstrap over songs). An ablation is
exploratory: it is not part of the study's primary family. Written into this study's folder as
``vs_base.json``, ``vs_base.md`` and ``vs_base.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from astgan.artifacts import write_json, write_text
from astgan.data.labels import DIMENSIONS
from astgan.errors import DataError
from astgan.evaluation.compare import LABEL_TOLERANCE
from astgan.metrics import fmt, fmt_interval, markdown_table
from astgan.study.figures import plot_study_vs_base
from astgan.study.plan import ARM_NAMES, ARM_ORDER
from astgan.study.regions import effect_cell, matched_markdown, region_effects, regions_table, spread_table
from astgan.study.statistics import (
    arm_against_arm,
    holm_resolution_note,
    mark_holm,
    seed_arrays,
    verdict_word,
    with_seed_column,
)

BASE_SUFFIX = " (base)"


def read_study_predictions(study_dir: Path) -> pd.DataFrame:
    """A study's ``predictions.csv`` (song ids as text; seed 0 throughout for a study written before seeds)."""
    return with_seed_column(pd.read_csv(Path(study_dir) / "predictions.csv", dtype={"song_id": str}))


def check_same_songs(this: pd.DataFrame, base: pd.DataFrame, budget: float, base_dir: Path) -> None:
    """Refuse a comparison whose studies tested other songs, in other folds, or with other labels."""
    keys = ["fold", "song_id"]
    a = this[this["budget"] == budget].drop_duplicates(keys).set_index(keys).sort_index()
    b = base[base["budget"] == budget].drop_duplicates(keys).set_index(keys).sort_index()
    if not a.index.equals(b.index):
        raise DataError(f"{base_dir}/predictions.csv: the base study tested other songs or folds at budget "
                        f"{budget:g} ({len(b)} songs against {len(a)}); a variant keeps data.root, study.folds, "
                        "study.val and study.seed of its base")
    labels = ["valence_true", "arousal_true"]
    if (a[labels] - b[labels]).abs().to_numpy().max() > LABEL_TOLERANCE:
        raise DataError(f"{base_dir}/predictions.csv: the base study's labels differ from this one's at budget "
                        f"{budget:g}; the studies read different annotations")


def compare_studies(this: pd.DataFrame, base: pd.DataFrame, base_dir: Path, n_boot: int, confidence: float,
                    seed: int) -> dict:
    """This study (a) minus its base (b), per budget and arm both hold: ``{"budgets": {budget: {arm: {dim:
    {"a", "b", "difference", "low", "high", "p_a_better", "shown"}}}}, "regions": ..., "identical":
    {budget: [arms whose predictions are the same in both, units taken whole from the base]}}``."""
    this, base = with_seed_column(this), with_seed_column(base)
    budgets = sorted(set(this["budget"]) & set(base["budget"]))
    if not budgets:
        raise DataError(f"{base_dir}: the base study has none of this study's budgets; nothing to compare")
    arms = [arm for arm in ARM_ORDER if arm in set(this["arm"]) and arm in set(base["arm"])]
    summary: dict[str, dict] = {}
    identical: dict[str, list[str]] = {}
    for budget in budgets:
        check_same_songs(this, base, budget, base_dir)
        entry = {}
        identical[f"{budget:g}"] = []
        for arm in arms:
            ours = this[(this["budget"] == budget) & (this["arm"] == arm)]
            theirs = base[(base["budget"] == budget) & (base["arm"] == arm)]
            _, _, pred_a = seed_arrays(ours)
            _, _, pred_b = seed_arrays(theirs)
            if pred_a.shape == pred_b.shape and np.array_equal(pred_a, pred_b):  # units taken whole from the base
                identical[f"{budget:g}"].append(arm)
            entry[arm] = arm_against_arm(ours, theirs, n_boot, confidence, seed)
        summary[f"{budget:g}"] = entry
    both = pd.concat([this[this["budget"].isin(budgets)],
                      base[base["budget"].isin(budgets)].assign(arm=lambda f: f["arm"] + BASE_SUFFIX)])
    regions = region_effects(both, n_boot, confidence, seed, tuple((arm, arm + BASE_SUFFIX) for arm in arms))
    # the family read together: every arm that was trained again, at every budget (identical arms are exactly 0)
    mark_holm([entry[arm]["mean_ccc"] for budget, entry in summary.items() for arm in entry
               if arm not in identical[budget]], 1.0 - confidence)
    return {"budgets": summary, "regions": regions, "identical": identical}


def changed_only(result: dict) -> dict:
    """``result`` without the arms whose predictions are the same as the base's (all of them, if every arm is)."""
    identical = result["identical"]
    if all(set(arms) >= set(result["budgets"][budget]) for budget, arms in identical.items()):
        return result
    budgets = {b: {arm: v for arm, v in entry.items() if arm not in identical[b]}
               for b, entry in result["budgets"].items()}
    regions = {}
    for b, entry in result["regions"].items():
        kept = {key: {name: v for name, v in entry.get(key, {}).items() if name.split(" - ")[0] not in identical[b]}
                for key in ("comparisons", "matched")}
        spread = {arm: v for arm, v in entry["spread"].items()
                  if not (arm.endswith(BASE_SUFFIX) and arm[:-len(BASE_SUFFIX)] in identical[b])}
        regions[b] = {**entry, **kept, "spread": spread}
    return {**result, "budgets": budgets, "regions": regions}


def comparison_rows(summary: dict) -> list[list[str]]:
    rows = []
    for budget, entry in summary.items():
        for arm, values in entry.items():
            mean = values["mean_ccc"]
            holm = "" if "p_holm" not in mean else ("shown" if mean["shown_holm"] else f"p {mean['p_holm']:.3f}")
            rows.append([f"{float(budget):.0%}", ARM_NAMES[arm], fmt(mean["a"]), fmt(mean["b"]),
                         *[effect_cell(values[name]) for name in (*DIMENSIONS, "mean_ccc")], holm])
    return rows


def differences_lines(differences: dict[str, tuple[Any, Any]]) -> list[str]:
    if not differences:
        return ["- none: the two studies have the same settings, so every unit was reused and every difference is 0"]
    return [f"- `{key}`: {base!r} in the base, {this!r} here" for key, (base, this) in differences.items()]


def identical_line(identical: dict[str, list[str]]) -> str:
    arms = sorted({arm for names in identical.values() for arm in names}, key=ARM_ORDER.index)
    if not arms:
        return "Every arm was trained again here."
    return (f"Taken whole from the base, with the same predictions as there, and so left out below: "
            f"{', '.join(ARM_NAMES[a] for a in arms)}.")


def vs_base_markdown(result: dict, base_dir: Path, differences: dict, confidence: float,
                     n_boot: int | None = None) -> str:
    shown = changed_only(result)
    family = sum("p_holm" in values["mean_ccc"] for entry in result["budgets"].values() for values in entry.values())
    headers = ["budget", "arm", "mean CCC here", "mean CCC base", "valence CCC diff", "arousal CCC diff",
               "mean CCC diff", "mean CCC diff after Holm"]
    lines = [
        "# This study against its base",
        "",
        f"Base: `{base_dir}`. Settings that differ (the ablation; the arms of each study are as in study.md):",
        "",
        *differences_lines(differences),
        "",
        f"Exploratory (an ablation is not part of the study's primary family). Each arm here minus the same arm "
        f"of the base, song-level CCC per fold (each fold's CCC on its TEST songs, averaged over seeds and "
        f"folds), with a {confidence:.0%} hierarchical bootstrap interval (songs within folds, seeds within "
        "cells); * where it excludes 0. The last column reads the mean-CCC differences of all the arms trained "
        "again, at all budgets, as one family of its own: Holm-adjusted bootstrap p-values, shown where still "
        "below the same 1 - confidence.",
        "",
        identical_line(result["identical"]),
        "",
        markdown_table(headers, comparison_rows(shown["budgets"])),
        "",
        *(holm_resolution_note(family, n_boot, confidence, "study.bootstrap_samples") if n_boot else []),
        "## By third of the label plane",
        "",
        "The drop in mean absolute error per song (1..9 scale) here against the base, by how far the song's label "
        "lies from the mean label (see study.md); positive = this study is closer to the truth.",
        "",
        regions_table(shown["regions"]),
        "",
        "Prediction spread (std of predictions / std of labels, 1 = no shrinkage towards the mean):",
        "",
        spread_table(shown["regions"]),
        "",
        *matched_markdown(shown["regions"]),
    ]
    return "\n".join(lines)


def verdict_lines(result: dict) -> list[str]:
    """One line per budget and arm trained again (the ablation's arms): its mean-CCC change against the base."""
    if all(set(arms) >= set(result["budgets"][budget]) for budget, arms in result["identical"].items()):
        return ["- every arm was taken whole from the base: no difference to show"]
    lines = []
    for budget, entry in changed_only(result)["budgets"].items():
        for arm, values in entry.items():
            mean = values["mean_ccc"]
            lines.append(f"- {float(budget):.0%} of TRAIN, {ARM_NAMES[arm]}: {fmt(mean['a'])} here vs "
                         f"{fmt(mean['b'])} base, {fmt(mean['difference'], signed=True)} "
                         f"{fmt_interval([mean['low'], mean['high']], signed=True)} ({verdict_word(mean)})")
    return lines


def write_vs_base(study_dir: Path, base_dir: Path, differences: dict, n_boot: int, confidence: float,
                  seed: int) -> tuple[dict, dict[str, Path]]:
    """Compare ``study_dir``'s predictions with ``base_dir``'s study; write vs_base.json, .md and .png."""
    base_study = Path(base_dir) / "study"
    result = compare_studies(read_study_predictions(study_dir), read_study_predictions(base_study), base_study,
                             n_boot, confidence, seed)
    document = {"base": str(base_dir), "differences": {k: list(v) for k, v in differences.items()},
                "confidence": confidence, "bootstrap_samples": n_boot, **result}
    paths = {
        "summary": write_json(study_dir / "vs_base.json", document),
        "report": write_text(study_dir / "vs_base.md",
                             vs_base_markdown(result, base_dir, differences, confidence, n_boot)),
        "figure": plot_study_vs_base(changed_only(result)["budgets"], study_dir / "vs_base.png", confidence,
                                     ", ".join(differences) or "no setting"),
    }
    return document, paths
