"""Does a better GAN help more? The study's GANs, their quality reports and their arms' effects.

Every cell of a study trains its own GAN per training seed, and every GAN has its quality report
(:mod:`astgan.synthetic.quality`). If the GAN arm's gain comes from what the synthetic segments carry,
a GAN that scores better there should give its arm more of a gain over the real-only arm of the same
fold, budget and seed. This module puts the two side by side, one row per GAN (``gans.csv``), and
measures how they go together with a Spearman correlation **within budget**: the values are ranked
within each real-data budget and the ranks centred there before they are pooled, because a smaller
budget gives both a worse GAN and (often) a larger gain, and that alone would make any quality
measure look related to the gain. The interval resamples GANs within each budget.

The effect of one GAN is the difference of two song-level CCCs on one fold's TEST songs (a few
dozen songs), so it is noisy: a correlation near 0 here says "not visible on this many GANs", not
"unrelated". Seven measures are read at once, so about one in twenty intervals would exclude 0 by
chance alone. Reports written before the classifier two-sample test (0.4) have no ``c2st`` measure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from astgan.data.labels import DIMENSIONS
from astgan.evaluation.bootstrap import percentile_interval
from astgan.metrics import fmt, fmt_interval, markdown_table
from astgan.study.plan import Unit
from astgan.study.results import UnitResult

EFFECT = "gan_minus_real"  # the GAN arm's mean CCC minus the real-only arm's, same fold, budget and seed


def _mean_ccc(fidelity: dict) -> float | None:
    values = [fidelity.get(dim, {}).get("ccc") for dim in DIMENSIONS]
    return None if any(v is None for v in values) else float(np.mean(values))


def _log_distance(ratio: float | None) -> float | None:
    """|log(ratio)|: how far a synthetic/real ratio is from 1, the same for half and for double."""
    return None if ratio is None or ratio <= 0 else float(abs(np.log(ratio)))


# name -> (what it is, the sign a better GAN should give, how to read it from quality.json)
MEASURES = {
    "fidelity_judge": ("label fidelity: the judge's CCC on the synthetic set", +1,
                       lambda q: _mean_ccc(q["label_fidelity"]["judge"]["synthetic"])),
    "fidelity_ridge": ("label fidelity: the ridge probe's CCC on the synthetic set", +1,
                       lambda q: _mean_ccc(q["label_fidelity"]["ridge"]["synthetic"])),
    "frechet_band": ("Frechet ratio, band statistics (synthetic / real floor)", -1,
                     lambda q: q["realism"]["band"]["ratio"]),
    "frechet_judge": ("Frechet ratio, judge features (synthetic / real floor)", -1,
                      lambda q: q["realism"]["judge"]["ratio"]),
    "diversity": ("diversity: distance of the synthetic / real ratio from 1 (abs. log)", -1,
                  lambda q: _log_distance(q["diversity"]["ratio"])),
    "texture": ("frame-to-frame change: distance of the synthetic / real ratio from 1 (abs. log)", -1,
                lambda q: _log_distance(q["texture"]["ratio"])),
    "c2st": ("classifier two-sample test: mean accuracy telling synthetic from real (0.5: cannot)", -1,
             lambda q: _mean_accuracy(q["c2st"]["synthetic"])),
}


def _mean_accuracy(result: dict) -> float:
    """The mean of a C2ST result's accuracies: every feature set's linear and boosted, and the CNN's."""
    values = [v for value in result.values() for v in (value.values() if isinstance(value, dict) else [value])]
    return float(np.mean(values))


def quality_measures(quality: dict) -> dict[str, float | None]:
    """Each of :data:`MEASURES` read from one ``quality.json``; None where the report lacks it (an older one)."""
    values = {}
    for name, (_, _, read) in MEASURES.items():
        try:
            value = read(quality)
        except (KeyError, TypeError):
            value = None
        values[name] = None if value is None else float(value)
    return values


def gan_table(results: dict[Unit, UnitResult], table: pd.DataFrame) -> pd.DataFrame:
    """``gans.csv``: one row per trained GAN: fold (1-based), budget, seed, its quality measures, and
    its arm's mean CCC minus the real-only arm's on the same fold's TEST songs (from ``study.csv``).

    ``results``: unit -> result (the gan-model units carry ``quality``); ``table``: ``study.csv``.
    Empty when no GAN result carries a quality report.
    """
    ccc = table.set_index(["fold", "budget", "arm", "seed"])["mean_ccc"]
    rows = []
    for unit, result in results.items():
        if unit.kind != "gan-model" or not result.quality:
            continue
        key = (unit.cell.fold + 1, unit.cell.budget)
        if (*key, "gan", unit.seed) not in ccc.index or (*key, "real", unit.seed) not in ccc.index:
            continue
        effect = ccc[(*key, "gan", unit.seed)] - ccc[(*key, "real", unit.seed)]
        rows.append({"fold": key[0], "budget": key[1], "seed": unit.seed, **quality_measures(result.quality),
                     EFFECT: float(effect)})
    columns = ["fold", "budget", "seed", *MEASURES, EFFECT]
    return pd.DataFrame(rows, columns=columns).sort_values(["budget", "fold", "seed"]).reset_index(drop=True)


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    """(..., n) ranks along the last axis (ties averaged), centred to mean 0."""
    ranks = rankdata(values, axis=-1)
    return ranks - ranks.mean(axis=-1, keepdims=True)


def within_budget_spearman(x: np.ndarray, y: np.ndarray, budget: np.ndarray, n_boot: int = 0,
                           seed: int = 0) -> tuple[float, np.ndarray]:
    """Spearman correlation of ``x`` and ``y`` (N,) with ranks taken and centred within each budget.

    Returns the correlation and (n_boot,) correlations over resamples drawn with replacement within
    each budget. Budgets with fewer than 3 rows are left out.
    """
    rng = np.random.default_rng(seed)
    point_x, point_y, boot_x, boot_y = [], [], [], []
    for b in np.unique(budget):
        rows = np.flatnonzero(budget == b)
        if len(rows) < 3:
            continue
        point_x.append(_centred_ranks(x[rows]))
        point_y.append(_centred_ranks(y[rows]))
        draws = rows[rng.integers(0, len(rows), size=(n_boot, len(rows)))]
        boot_x.append(_centred_ranks(x[draws]))
        boot_y.append(_centred_ranks(y[draws]))

    def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        denominator = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, (a * b).sum(axis=-1) / denominator, np.nan)

    if not point_x:
        return float("nan"), np.full(n_boot, np.nan)
    point = float(correlation(np.concatenate(point_x), np.concatenate(point_y)))
    samples = correlation(np.concatenate(boot_x, axis=-1), np.concatenate(boot_y, axis=-1)) if n_boot else np.empty(0)
    return point, samples


def quality_vs_effect(gans: pd.DataFrame, n_boot: int, confidence: float, seed: int) -> dict:
    """Per measure: the within-budget Spearman correlation with the GAN arm's effect, its interval and
    whether it is shown, plus the sign a better GAN should give. ``{"n_gans", "measures": {name: {...}}}``;
    empty measures when fewer than 3 GANs per budget have the measure."""
    out = {"n_gans": int(len(gans)), "measures": {}}
    for name, (label, sign, _) in MEASURES.items():
        rows = gans[[name, EFFECT, "budget"]].dropna()
        if len(rows) < 3:
            continue
        rho, samples = within_budget_spearman(rows[name].to_numpy(float), rows[EFFECT].to_numpy(float),
                                              rows["budget"].to_numpy(float), n_boot, seed)
        if np.isnan(rho):
            continue
        samples = samples[~np.isnan(samples)]
        low, high = percentile_interval(samples, confidence) if len(samples) else (float("nan"), float("nan"))
        out["measures"][name] = {"label": label, "better_gan_sign": sign, "rho": rho, "low": low, "high": high,
                                 "shown": bool(low > 0 or high < 0), "n": int(len(rows))}
    return out


def quality_markdown(result: dict, confidence: float) -> list[str]:
    """The study.md section; nothing when no GAN carried a quality report."""
    if not result["measures"]:
        return []
    rows = [[entry["label"], "higher" if entry["better_gan_sign"] > 0 else "lower",
             f"{fmt(entry['rho'], signed=True)} {fmt_interval([entry['low'], entry['high']], signed=True)}"
             + (" *" if entry["shown"] else ""), str(entry["n"])]
            for entry in result["measures"].values()]
    return [
        "## Does a better GAN help more?",
        "",
        f"Each of the {result['n_gans']} GANs of this study (one per fold, budget and seed) beside its arm's gain: "
        "the GAN arm's mean CCC minus the real-only arm's on the same fold's TEST songs. Spearman correlation "
        f"with ranks taken within each budget (a smaller budget makes both the GAN and the gain differ), "
        f"{confidence:.0%} interval over GANs resampled within budget; * where it excludes 0. If the gain comes "
        "from what the synthetic set carries, a better GAN should give it the sign in the second column. One "
        "GAN's gain is a difference of two CCCs on a few dozen songs: near 0 means not visible on this many GANs.",
        "",
        markdown_table(["quality measure (synthetic/quality.json)", "a better GAN has it", "correlation with the gain",
                        "GANs"], rows),
        "",
        "Per GAN: gans.csv; the figure: study_quality.png.",
        "",
    ]
