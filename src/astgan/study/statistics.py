"""The study's statistics: its predictions table, per-unit metrics, pooled CCCs with bootstrap intervals,
paired bootstraps between arms, and Holm's correction over the verdicts read together.

Every number is computed from ``predictions.csv`` (rounded as written), so the files always agree.
Pooled means over all songs of all folds (each song predicted by the model of the fold that held it
out); with several training seeds every CCC is the mean of the seeds' CCCs, on every resample. An
effect is called "shown" only when its interval excludes zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.data.labels import DIMENSIONS, to_deam_scale, to_unit_scale
from astgan.evaluation.bootstrap import ccc_intervals, holm, paired_difference, resampled_ccc
from astgan.metrics import regression_report
from astgan.study.plan import ARM_ORDER, Unit
from astgan.study.results import UnitResult

COMPARISONS = (("gan", "real"), ("control", "real"), ("gan", "control"), ("real", "ridge"))
VERDICTS = ("gan - real", "control - real", "gan - control")  # the family the verdicts read together
VALUE_COLUMNS = ["valence_true", "arousal_true", "valence_pred", "arousal_pred"]
PREDICTION_COLUMNS = ["fold", "budget", "arm", "seed", "song_id", *VALUE_COLUMNS]
METRIC_KEYS = ("ccc", "pearson", "r2", "rmse")


def study_predictions(results: dict[Unit, UnitResult]) -> pd.DataFrame:
    """``predictions.csv``: one row per fold, budget, arm and TEST song, labels on DEAM's 1..9 scale.

    ``results``: unit -> the unit's result (units of kind gan-model carry no predictions).
    Values are rounded to 4 decimals, and every later number is computed from the rounded table.
    """
    rows = []
    for unit, result in results.items():
        if unit.kind not in ARM_ORDER:
            continue
        true, pred = to_deam_scale(np.asarray(result.true)), to_deam_scale(np.asarray(result.pred))
        for song_id, t, p in zip(result.song_ids, true, pred):
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


def study_table(predictions: pd.DataFrame, results: dict[Unit, UnitResult]) -> pd.DataFrame:
    """``study.csv``: metrics of every fold x budget x arm, from ``predictions``, plus training facts."""
    facts = {(u.cell.fold + 1, u.cell.budget, u.kind, u.seed): r for u, r in results.items() if u.kind in ARM_ORDER}
    rows = []
    for (fold, budget, arm, seed), frame in predictions.groupby(["fold", "budget", "arm", "seed"], sort=False):
        true, pred = unit_arrays(frame)
        report = regression_report(pred, true)
        fact = facts[(fold, budget, arm, seed)]
        row = {"fold": fold, "budget": budget, "arm": arm, "seed": seed, "n_train_songs": fact.n_train_songs,
               "n_test_songs": len(frame)}
        for dim in DIMENSIONS:
            row.update({f"{dim}_{key}": report[dim][key] for key in METRIC_KEYS})
        row["mean_ccc"] = report["mean_ccc"]
        row.update(best_epoch=fact.best_epoch, steps=fact.steps, seconds=round(fact.seconds, 1))
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
