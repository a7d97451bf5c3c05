"""The study's statistics: its predictions table, per-unit metrics, each arm's CCC and the paired
differences between arms with hierarchical bootstrap intervals, and Holm's correction over the
declared primary family.

Every number is computed from ``predictions.csv`` (rounded as written), so the files always agree.
Intervals come from :mod:`astgan.evaluation.hierarchical`: every resample draws each fold's TEST
songs again (within the fold) and each cell's training seeds again (each seed with the GAN it
trained and its own arms), both arms of a comparison on the same draw. Two estimators of an arm's
CCC are reported, each with its interval:

- **per fold** (the verdicts use this one): each fold's CCC on its own TEST songs, averaged over the
  fold's seeds, then over folds. Every CCC is computed on one model's predictions, so offsets between
  the folds' models do not enter its variance terms;
- **pooled**: the CCC over all songs of all folds at once (seed k of every fold joined), as
  cross-validation results are usually published; between-fold offsets enter it.

The song-only bootstrap (seeds kept fixed) is kept as a secondary column: it treats each seed's model
as fixed and is too narrow whenever models move with their seed. The primary family
(``study.primary`` at every budget, on mean CCC) is the only one Holm's correction runs over; every
other comparison is exploratory and uncorrected. An effect is called "shown" only when its interval
excludes zero; a primary verdict only when it still holds after Holm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.data.labels import DIMENSIONS, to_deam_scale, to_unit_scale
from astgan.evaluation.bootstrap import holm, percentile_interval
from astgan.evaluation.hierarchical import (
    SUMMARIES,
    Draws,
    bound_mc_error,
    effect,
    fold_t_interval,
    hierarchical_draws,
    paired_effects,
    per_fold_statistic,
    point,
    pooled_statistic,
)
from astgan.metrics import regression_report
from astgan.study.plan import ARM_ORDER, Unit
from astgan.study.results import UnitResult

COMPARISONS = (("gan", "real"), ("control", "real"), ("gan", "control"), ("real", "ridge"))
ESTIMATORS = ("per_fold", "pooled")
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


def fold_arrays(frame: pd.DataFrame) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]], list[int]]:
    """One budget of ``predictions.csv`` as the hierarchical bootstrap reads it: (true per fold (n_f, 2),
    {arm: per fold (S, n_f, 2)}, song counts per fold), on -1..1, songs sorted by id within each fold.

    Every arm but the ridge must hold the same seeds; the ridge (one fit per cell, no seed) is
    repeated for every seed, so that it pairs with any arm and its seed resampling adds nothing."""
    arms: dict[str, list[np.ndarray]] = {}
    true, sizes = [], []
    for fold, part in frame.groupby("fold", sort=True):
        per_arm = {arm: seed_arrays(rows) for arm, rows in part.groupby("arm")}
        songs, labels, _ = next(iter(per_arm.values()))
        if any(not ids.equals(songs) for ids, _, _ in per_arm.values()):
            raise ValueError(f"the arms of fold {fold} hold different songs")
        true.append(labels)
        sizes.append(len(songs))
        for arm, (_, _, pred) in per_arm.items():
            arms.setdefault(arm, []).append(pred)
    seeds = {arm: preds[0].shape[0] for arm, preds in arms.items() if arm != "ridge"}
    n_seeds = max(seeds.values(), default=1)
    if any(n != n_seeds for n in seeds.values()):
        raise ValueError(f"the arms hold different numbers of training seeds: {seeds}; finish the study "
                         "(astgan study ... --resume) before reading it")
    for arm, preds in arms.items():
        if preds[0].shape[0] != n_seeds:
            arms[arm] = [np.repeat(p[:1], n_seeds, axis=0) for p in preds]
    return true, arms, sizes


def arm_estimates(pred: list[np.ndarray], true: list[np.ndarray], draws: Draws, confidence: float) -> dict:
    """One arm's CCC per summary under both estimators: ``{dim: {"ccc", "low", "high", "mc_error"}}`` for
    the per-fold estimator, the same under ``"pooled"``."""
    values = {}
    for statistic in ESTIMATORS:
        samples = per_fold_statistic(pred, true, draws) if statistic == "per_fold" else pooled_statistic(
            pred, true, draws)
        estimate = point(statistic, pred, true)
        values[statistic] = {}
        for i, name in enumerate(SUMMARIES):
            low, high = percentile_interval(samples[:, i], confidence)
            values[statistic][name] = {"ccc": float(estimate[i]), "low": low, "high": high,
                                       "mc_error": bound_mc_error(samples[:, i], confidence)}
    return {**values["per_fold"], "pooled": values["pooled"]}


def compare_arms(predictions: pd.DataFrame, n_boot: int, confidence: float, seed: int,
                 primary: tuple[str, ...] = ("gan - real", "gan - control")) -> dict:
    """Per budget: each arm's CCC with its interval, and the paired differences between arms.

    Every interval is a hierarchical bootstrap (songs within folds, seeds within cells; ``n_boot``
    resamples, one draw per budget shared by every arm and comparison). Returns ``{budget: {"n_songs",
    "n_folds", "seeds", "arms": {arm: {dim: {"ccc", "low", "high", "mc_error"}, "pooled": {...},
    "seeds"}}, "comparisons": {name: {dim: effect}}, "pooled": {name: {dim: effect}}, "song_only": {name:
    {dim: effect}}, "fold_t": {name: {dim: [low, high]}}, "family"}}``: ``comparisons`` under the
    per-fold estimator (the verdicts), ``pooled`` under the pooled one, ``song_only`` the per-fold
    estimator with the seeds kept fixed (secondary), ``fold_t`` a t interval over the folds' own
    differences. Each effect: a, b, difference, low, high, p, p_a_better, mc_error (of the bounds),
    p_mc_error, shown; the primary ones (``primary`` on mean CCC) also ``primary``, ``p_holm`` and
    ``shown_holm``. Budgets as strings ("0.25"), comparisons named "gan - real" etc.
    """
    summary = {}
    for budget, frame in predictions.groupby("budget"):
        true, arms, sizes = fold_arrays(frame)
        n_seeds = next(iter(arms.values()))[0].shape[0]
        draws = hierarchical_draws(sizes, n_seeds, n_boot, seed)
        fixed_seeds = hierarchical_draws(sizes, n_seeds, n_boot, seed, resample_seeds=False)
        entry = {"n_songs": int(sum(sizes)), "n_folds": len(sizes), "seeds": n_seeds, "arms": {},
                 "comparisons": {}, "pooled": {}, "song_only": {}, "fold_t": {}}
        for arm, pred in arms.items():
            entry["arms"][arm] = arm_estimates(pred, true, draws, confidence)
            entry["arms"][arm]["seeds"] = 1 if arm == "ridge" else n_seeds
        for a, b in COMPARISONS:
            if a not in arms or b not in arms:
                continue
            name = f"{a} - {b}"
            for key, statistic, drawn in (("comparisons", "per_fold", draws), ("pooled", "pooled", draws),
                                          ("song_only", "per_fold", fixed_seeds)):
                effects = paired_effects(arms[a], arms[b], true, drawn, confidence, statistic)
                entry[key][name] = {dim: e.to_dict() for dim, e in effects.items()}
            entry["fold_t"][name] = fold_t_interval(arms[a], arms[b], true, confidence)
            entry["comparisons"][name]["mean_ccc"]["primary"] = name in primary
        summary[f"{budget:g}"] = entry
    mark_family(summary, 1.0 - confidence, primary)
    return summary


def mark_family(summary: dict, alpha: float, primary: tuple[str, ...]) -> None:
    """Holm's correction over the declared primary family only (``primary`` at every budget, mean CCC, per-fold
    estimator): adds ``p_holm`` and ``shown_holm`` to each of those entries, and ``family`` (how many) to the
    summary's budgets. Exploratory comparisons get neither: they are read uncorrected, as exploratory.
    """
    family = [entry["comparisons"][name]["mean_ccc"] for entry in summary.values()
              for name in primary if name in entry["comparisons"]]
    mark_holm(family, alpha)
    for entry in summary.values():
        entry["family"] = len(family)


def mark_holm(family: list[dict], alpha: float) -> None:
    """Add ``p_holm`` (Holm-adjusted ``p``) and ``shown_holm`` to each paired-bootstrap entry of a family."""
    for mean, adjusted in zip(family, holm([mean["p"] for mean in family])):
        mean["p_holm"], mean["shown_holm"] = adjusted, bool(mean["shown"] and adjusted < alpha)


def smallest_p(n_boot: int) -> float:
    """The smallest two-sided bootstrap p-value ``n_boot`` resamples can give: 2 / (n_boot + 1)."""
    return 2.0 / (n_boot + 1)


def holm_resolution_note(family: int, n_boot: int, confidence: float,
                         setting: str = "eval.bootstrap_samples") -> list[str]:
    """A warning when too few bootstrap resamples leave Holm's correction unable to show anything: the
    smallest bootstrap p-value is 2 / (n_boot + 1), and Holm multiplies it by the family's size."""
    alpha = 1.0 - confidence
    if family == 0 or smallest_p(n_boot) * family < alpha:
        return []
    needed = int(np.ceil(2.0 * family / alpha))
    return [f"Note: with {n_boot} bootstrap resamples no verdict can hold after Holm's correction over {family} "
            f"(the smallest p-value is 2 / {n_boot + 1}); set {setting} to {needed} or more.", ""]


def verdict_word(mean: dict) -> str:
    """The verdict on one effect. A primary one (with ``shown_holm``) is shown only after Holm's correction;
    an exploratory one says that its interval is uncorrected."""
    if "shown_holm" in mean:
        if mean["shown_holm"]:
            return "shown, also after Holm"
        return "not shown after Holm (the uncorrected interval excludes 0)" if mean["shown"] else "not shown"
    return "interval excludes 0, uncorrected" if mean["shown"] else "not shown"


def arm_against_arm(this: pd.DataFrame, other: pd.DataFrame, n_boot: int, confidence: float, seed: int) -> dict:
    """One arm of two studies (``this`` minus ``other``: each one budget and arm of a ``predictions.csv``, the
    same songs in the same folds) under the per-fold estimator with hierarchical intervals: ``{dim: effect}``.

    With the same number of seeds, seed k of one is paired with seed k of the other (they share run.seed + k);
    otherwise each side's seeds are drawn on their own, on the same song draw."""
    true, this_arms, sizes = fold_arrays(this)
    _, other_arms, _ = fold_arrays(other)
    (a,), (b,) = this_arms.values(), other_arms.values()
    draws = hierarchical_draws(sizes, a[0].shape[0], n_boot, seed)
    if a[0].shape[0] == b[0].shape[0]:
        effects = paired_effects(a, b, true, draws, confidence)
    else:
        other_seeds = hierarchical_draws(sizes, b[0].shape[0], n_boot, seed + 1)
        samples = (per_fold_statistic(a, true, draws)
                   - per_fold_statistic(b, true, Draws(draws.counts, other_seeds.seeds, b[0].shape[0])))
        effects = {name: effect(pa, pb, samples[:, i], confidence) for i, (name, pa, pb) in
                   enumerate(zip(SUMMARIES, point("per_fold", a, true), point("per_fold", b, true)))}
    return {dim: e.to_dict() for dim, e in effects.items()}
