"""Where on the valence-arousal plane does an arm help? The study's comparisons, by how rare a song's label is.

DEAM's extremes are rare, and a conditional GAN is meant to fill them in: if it helps anywhere, it
should help most on songs whose labels lie far from the centre of the plane. So the study's songs
are ranked by the distance of their (valence, arousal) label from the mean label of all songs, in
standard deviations of each dimension, and cut into terciles: ``centre``, ``middle``, ``edge``.

Within a group the effect of arm A over arm B is the mean reduction of the per-song absolute error
(the mean of valence's and arousal's, on DEAM's 1..9 scale): error(B) - error(A), positive when A
is closer to the truth. CCC is not used here: within a third of the plane the labels span a narrow
range, and a CCC there says more about that range than about the predictor. Intervals are
percentile bootstraps over the group's songs (paired: both arms are scored on the same resampled
songs); ``edge - centre`` resamples the two groups independently. As everywhere in astgan, an
effect is "shown" only when its interval excludes 0.

One reading these numbers cannot tell apart from "knows the rare regions better": a model whose
predictions spread wider (shrink less towards the mean label) gets closer to edge songs and
further from centre ones. So each arm's prediction spread (the std of its predictions over the std
of the labels, averaged over valence and arousal) is reported beside the groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.evaluation.bootstrap import bootstrap_indices, percentile_interval
from astgan.evaluation.report import fmt, fmt_interval, markdown_table

REGIONS = ("centre", "middle", "edge")
GROUPS = ("all", *REGIONS)
CONTRAST = "edge - centre"
COMPARED = (("gan", "real"), ("control", "real"), ("gan", "control"))
TRUE_COLUMNS = ["valence_true", "arousal_true"]
PRED_COLUMNS = ["valence_pred", "arousal_pred"]


def label_distance(true: np.ndarray) -> np.ndarray:
    """(N,) distance of each (N, 2) label from the mean label, in standard deviations per dimension."""
    true = np.asarray(true, np.float64)
    spread = true.std(axis=0)
    spread[spread == 0] = 1.0  # a dimension without spread adds nothing to the distance
    return np.sqrt((((true - true.mean(axis=0)) / spread) ** 2).sum(axis=1))


def terciles(distance: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """(N,) group of each song (0 centre, 1 middle, 2 edge) and the two distances that cut them."""
    cuts = np.quantile(distance, [1 / 3, 2 / 3])
    return np.digitize(distance, cuts, right=True), [float(c) for c in cuts]


def song_errors(frame: pd.DataFrame) -> np.ndarray:
    """(N,) mean absolute error over valence and arousal of each row of a ``predictions.csv`` slice (1..9)."""
    return np.abs(frame[PRED_COLUMNS].to_numpy() - frame[TRUE_COLUMNS].to_numpy()).mean(axis=1)


def prediction_spread(frame: pd.DataFrame) -> float:
    """std of the predictions over std of the labels, averaged over valence and arousal (1.0: no shrinkage)."""
    return float(np.mean(frame[PRED_COLUMNS].to_numpy().std(axis=0) / frame[TRUE_COLUMNS].to_numpy().std(axis=0)))


def _resampled_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot,) means of ``values`` (N,) over song resamples drawn with replacement."""
    return values[bootstrap_indices(len(values), n_boot, seed)].mean(axis=1)


def _effect(point: float, samples: np.ndarray, confidence: float) -> dict:
    low, high = percentile_interval(samples, confidence)
    return {"difference": float(point), "low": low, "high": high, "shown": bool(low > 0 or high < 0)}


def region_effects(predictions: pd.DataFrame, n_boot: int, confidence: float, seed: int,
                   compared: tuple[tuple[str, str], ...] = COMPARED) -> dict:
    """Per budget: the groups' sizes and distance cuts, and each comparison's error reduction per group.

    ``predictions``: ``predictions.csv`` (every song once per budget, arm and seed; a song's error is
    averaged over the seeds, and so is an arm's spread); ``compared``: the
    (A, B) arm pairs, reported as "A - B". Returns ``{budget:
    {"cuts", "n_songs": {group: n}, "mean_error": {arm: {group: value}}, "spread": {arm: value},
    "comparisons": {"gan - real": {group or "edge - centre": {"difference", "low", "high",
    "shown"}}}}}``, budgets as strings ("0.25"). Groups: all songs, and the terciles of
    :func:`label_distance`.
    """
    if "seed" not in predictions:  # a table of one seed
        predictions = predictions.assign(seed=0)
    summary = {}
    for budget, frame in predictions.groupby("budget"):
        arms = dict(list(frame.groupby("arm")))
        labels = frame.drop_duplicates("song_id").set_index("song_id").sort_index()[TRUE_COLUMNS]
        songs = labels.index
        # per song, the error averaged over the arm's training seeds (one row per seed and song)
        errors = {arm: part.assign(error=song_errors(part)).groupby("song_id")["error"].mean().loc[songs].to_numpy()
                  for arm, part in arms.items()}
        group, cuts = terciles(label_distance(labels.to_numpy()))
        members = {"all": np.ones(len(songs), bool), **{name: group == i for i, name in enumerate(REGIONS)}}
        entry = {"cuts": cuts, "n_songs": {name: int(mask.sum()) for name, mask in members.items()},
                 "mean_error": {arm: {name: float(values[mask].mean()) for name, mask in members.items()}
                                for arm, values in errors.items()},
                 "spread": {arm: float(np.mean([prediction_spread(one) for _, one in part.groupby("seed")]))
                            for arm, part in arms.items()},
                 "comparisons": {}}
        for a, b in compared:
            if a not in errors or b not in errors:
                continue
            reduction = errors[b] - errors[a]
            # each group resamples its own songs; the same draws serve every comparison (paired across arms)
            samples = {name: _resampled_means(reduction[mask], n_boot, seed + i)
                       for i, (name, mask) in enumerate(members.items())}
            effects = {name: _effect(reduction[mask].mean(), samples[name], confidence)
                       for name, mask in members.items()}
            effects[CONTRAST] = _effect(effects["edge"]["difference"] - effects["centre"]["difference"],
                                        samples["edge"] - samples["centre"], confidence)
            entry["comparisons"][f"{a} - {b}"] = effects
        summary[f"{budget:g}"] = entry
    return summary


def effect_cell(effect: dict) -> str:
    """A table cell for an effect: ``+0.012 [-0.020, +0.044]``, with `` *`` when it is shown."""
    interval = fmt_interval([effect["low"], effect["high"]], signed=True)
    return f"{fmt(effect['difference'], signed=True)} {interval}{' *' if effect['shown'] else ''}"


def regions_table(regions: dict) -> str:
    """Budget x comparison: the error reduction in every group and the edge - centre contrast."""
    columns = [*GROUPS, CONTRAST]
    first = next(iter(regions.values()))
    headers = ["budget", "comparison", *[f"{name} ({first['n_songs'][name]} songs)" if name in first["n_songs"]
                                         else name for name in columns]]
    rows = [[f"{float(budget):.0%}", name, *[effect_cell(effects[column]) for column in columns]]
            for budget, entry in regions.items() for name, effects in entry["comparisons"].items()]
    return markdown_table(headers, rows)


def spread_table(regions: dict) -> str:
    """Budget x arm: the prediction spread (std of predictions / std of labels)."""
    order = ("real", "gan", "control", "ridge")  # the study's arms first, each followed by its variants
    arms = sorted(next(iter(regions.values()))["spread"],
                  key=lambda arm: (order.index(arm.split()[0]) if arm.split()[0] in order else len(order), arm))
    rows = [[f"{float(budget):.0%}", *[f"{entry['spread'][arm]:.2f}" for arm in arms]]
            for budget, entry in regions.items()]
    return markdown_table(["budget", *arms], rows)


def regions_markdown(regions: dict, confidence: float) -> list[str]:
    """The study.md section: what the groups are, the table, how to read it, the prediction spreads."""
    cuts = next(iter(regions.values()))["cuts"]
    return [
        "## Where it helps: by how rare the song's label is",
        "",
        f"Songs ranked by the distance of their (valence, arousal) label from the mean label, in standard "
        f"deviations per dimension, cut into thirds: centre (under {cuts[0]:.2f}), middle, edge (over "
        f"{cuts[1]:.2f}). Each cell: how much the first arm lowers the mean absolute error per song "
        f"(valence and arousal, 1..9 scale) against the second, with a {confidence:.0%} paired-bootstrap "
        f"interval over the group's songs; * where it excludes 0. Positive = the first arm is closer to the truth.",
        "",
        regions_table(regions),
        "",
        "A model that shrinks its predictions less towards the mean label gets closer to edge songs and "
        "further from centre ones without knowing the rare regions any better; the prediction spread "
        "(std of predictions / std of labels, mean of valence and arousal; 1 = no shrinkage) tells the two apart:",
        "",
        spread_table(regions),
        "",
    ]
