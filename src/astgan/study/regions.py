"""Where on the valence-arousal plane does an arm help? The study's comparisons, by how rare a song's label is.

DEAM's extremes are rare, and a conditional GAN is meant to fill them in: if it helps anywhere, it
should help most on songs whose labels lie far from the centre of the plane. So the study's songs
are ranked by the Mahalanobis distance of their (valence, arousal) label from the mean label of all
songs, and cut into terciles: ``centre``, ``middle``, ``edge``. Mahalanobis, not a distance per
dimension, because valence and arousal are correlated (DEAM: r about 0.57, the demo's likewise):
the label cloud is a tilted ellipse, and a song high on both lies along it, where songs are common,
while one high on valence and low on arousal lies off it, where they are rare.

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
of the labels, averaged over valence and arousal) is reported beside the groups, and every
comparison is made a second time **at equal spread**: B's predictions are stretched (or shrunk)
about their own mean, per dimension and training seed, to A's spread, and A is compared with that.
The stretch reads no label, only the two arms' predictions on the same songs. What is left of an
edge gain at equal spread is what A knows about rare labels that B does not; what vanishes was
less shrinkage, which a one-number recalibration would also buy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astgan.evaluation.bootstrap import bootstrap_indices, percentile_interval
from astgan.metrics import fmt, fmt_interval, markdown_table

REGIONS = ("centre", "middle", "edge")
GROUPS = ("all", *REGIONS)
CONTRAST = "edge - centre"
COMPARED = (("gan", "real"), ("control", "real"), ("gan", "control"))
TRUE_COLUMNS = ["valence_true", "arousal_true"]
PRED_COLUMNS = ["valence_pred", "arousal_pred"]


def label_distance(true: np.ndarray) -> np.ndarray:
    """(N,) Mahalanobis distance of each (N, 2) label from the mean label: in standard deviations along
    the axes of the labels' own covariance, so the same for any rescaling, shift or shear of the plane."""
    centred = np.asarray(true, np.float64) - np.mean(true, axis=0)
    # the pseudo-inverse: a direction without spread (all songs on a line) adds nothing to the distance
    precision = np.linalg.pinv(np.cov(centred, rowvar=False, bias=True))
    return np.sqrt(np.maximum(np.einsum("ni,ij,nj->n", centred, precision, centred), 0.0))


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


def spread_matched(pred: np.ndarray, target_std: np.ndarray) -> np.ndarray:
    """(N, 2) predictions stretched about their own mean so that each column's std is ``target_std`` (2,)."""
    std = pred.std(axis=0)
    scale = np.divide(target_std, std, out=np.ones_like(std), where=std > 0)  # constant predictions stay put
    return pred.mean(axis=0) + (pred - pred.mean(axis=0)) * scale


def matched_song_errors(part: pd.DataFrame, target: pd.DataFrame, songs: pd.Index) -> np.ndarray:
    """(N,) error per song of arm ``part`` (rows of predictions.csv) after each of its seeds is stretched to
    the spread of arm ``target`` (its per-dimension prediction std, averaged over its seeds), averaged over seeds."""
    target_std = np.mean([one[PRED_COLUMNS].to_numpy().std(axis=0) for _, one in target.groupby("seed")], axis=0)
    errors = []
    for _, one in part.groupby("seed"):
        one = one.set_index("song_id").loc[songs]
        pred = spread_matched(one[PRED_COLUMNS].to_numpy(np.float64), target_std)
        errors.append(np.abs(pred - one[TRUE_COLUMNS].to_numpy()).mean(axis=1))
    return np.mean(errors, axis=0)


def _resampled_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot,) means of ``values`` (N,) over song resamples drawn with replacement."""
    return values[bootstrap_indices(len(values), n_boot, seed)].mean(axis=1)


# Errors on the 1..9 scale: a difference this small is floating-point rounding (a stretch that gives
# back the other arm's own predictions), never an effect.
ROUNDING = 1e-9


def _effect(point: float, samples: np.ndarray, confidence: float) -> dict:
    low, high = percentile_interval(samples, confidence)
    return {"difference": float(point), "low": low, "high": high, "shown": bool(low > ROUNDING or high < -ROUNDING)}


def group_effects(reduction: np.ndarray, members: dict[str, np.ndarray], n_boot: int, confidence: float,
                  seed: int) -> dict:
    """Every group's mean of the per-song ``reduction`` (N,) with its interval, and the edge - centre contrast.

    Each group resamples its own songs, with the same draws for every comparison (paired across arms).
    """
    samples = {name: _resampled_means(reduction[mask], n_boot, seed + i)
               for i, (name, mask) in enumerate(members.items())}
    effects = {name: _effect(reduction[mask].mean(), samples[name], confidence) for name, mask in members.items()}
    effects[CONTRAST] = _effect(effects["edge"]["difference"] - effects["centre"]["difference"],
                                samples["edge"] - samples["centre"], confidence)
    return effects


def region_effects(predictions: pd.DataFrame, n_boot: int, confidence: float, seed: int,
                   compared: tuple[tuple[str, str], ...] = COMPARED) -> dict:
    """Per budget: the groups' sizes and distance cuts, and each comparison's error reduction per group.

    ``predictions``: ``predictions.csv`` (every song once per budget, arm and seed; a song's error is
    averaged over the seeds, and so is an arm's spread); ``compared``: the
    (A, B) arm pairs, reported as "A - B". Returns ``{budget:
    {"cuts", "n_songs": {group: n}, "mean_error": {arm: {group: value}}, "spread": {arm: value},
    "comparisons": {"gan - real": {group or "edge - centre": {"difference", "low", "high",
    "shown"}}}, "matched": {the same comparisons, B stretched to A's prediction spread}}}``, budgets as
    strings ("0.25"). Groups: all songs, and the terciles of :func:`label_distance`.
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
                 "comparisons": {}, "matched": {}}
        for a, b in compared:
            if a not in errors or b not in errors:
                continue
            entry["comparisons"][f"{a} - {b}"] = group_effects(errors[b] - errors[a], members, n_boot,
                                                                confidence, seed)
            matched = matched_song_errors(arms[b], arms[a], songs)
            entry["matched"][f"{a} - {b}"] = group_effects(matched - errors[a], members, n_boot, confidence, seed)
        summary[f"{budget:g}"] = entry
    return summary


def effect_cell(effect: dict) -> str:
    """A table cell for an effect: ``+0.012 [-0.020, +0.044]``, with `` *`` when it is shown."""
    interval = fmt_interval([effect["low"], effect["high"]], signed=True)
    return f"{fmt(effect['difference'], signed=True)} {interval}{' *' if effect['shown'] else ''}"


def regions_table(regions: dict, key: str = "comparisons") -> str:
    """Budget x comparison: the error reduction in every group and the edge - centre contrast
    (``key="matched"``: at equal spread)."""
    columns = [*GROUPS, CONTRAST]
    first = next(iter(regions.values()))
    headers = ["budget", "comparison", *[f"{name} ({first['n_songs'][name]} songs)" if name in first["n_songs"]
                                         else name for name in columns]]
    rows = [[f"{float(budget):.0%}", name, *[effect_cell(effects[column]) for column in columns]]
            for budget, entry in regions.items() for name, effects in entry.get(key, {}).items()]
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
        f"Songs ranked by the Mahalanobis distance of their (valence, arousal) label from the mean label (in "
        f"standard deviations along the label cloud's own axes: valence and arousal are correlated, and a song "
        f"off the cloud's diagonal is rarer than one as far out along it), cut into thirds: centre (under "
        f"{cuts[0]:.2f}), middle, edge (over {cuts[1]:.2f}). Each cell: how much the first arm lowers the mean "
        f"absolute error per song (valence and arousal, 1..9 scale) against the second, with a {confidence:.0%} "
        f"paired-bootstrap interval over the group's songs; * where it excludes 0. Positive = the first arm is "
        f"closer to the truth.",
        "",
        regions_table(regions),
        "",
        "A model that shrinks its predictions less towards the mean label gets closer to edge songs and "
        "further from centre ones without knowing the rare regions any better. The prediction spread "
        "(std of predictions / std of labels, mean of valence and arousal; 1 = no shrinkage) of each arm:",
        "",
        spread_table(regions),
        "",
        *matched_markdown(regions),
    ]


def matched_markdown(regions: dict) -> list[str]:
    """The comparisons again at equal spread (regions made by an older astgan have none: then nothing)."""
    if not any(entry.get("matched") for entry in regions.values()):
        return []
    return [
        "The same comparisons at equal spread: the second arm's predictions stretched about their mean (per "
        "dimension and seed, no label read) to the first arm's spread. What an arm still gains here it knows about "
        "those songs; what vanishes was less shrinkage, which a rescaling of the other arm's predictions also buys:",
        "",
        regions_table(regions, key="matched"),
        "",
    ]
