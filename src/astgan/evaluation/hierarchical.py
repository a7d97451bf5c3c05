"""Intervals that count every source of variance a comparison of training procedures samples.

A study (or the demo) does not compare two trained models; it compares two ways of training one.
Its numbers move with three things it drew at random: which songs were tested, which training seed
each model (and the GAN each seed trains) got, and, in a cross-validation, which songs each fold's
models were trained on. A bootstrap over test songs alone treats the models as fixed and misses the
seed-to-seed spread, which on the demo was about three times the song bootstrap's standard error.

The bootstrap here is hierarchical, in the shape the study was drawn:

- **folds are strata**: every song is tested in exactly one fold, by that fold's models, so songs
  are resampled within their fold (a fold keeps its size) and each fold keeps its own models;
- **songs within folds**: each resample draws every fold's TEST songs again with replacement; both
  arms are scored on the same draw (paired), so song difficulty cancels out of a difference;
- **seeds within cells**: each resample also draws, per fold, the fold's training seeds with
  replacement, the same seeds for both arms (the arms of one seed share initial weights and
  batches). Two corrections make the seed part neither too small nor counted twice. A mean of S
  drawn seeds understates the seeds' variance by (S - 1) / S (a third with three seeds). And part
  of what moves a model's CCC from seed to seed is which songs it gets wrong, which the song
  resampling already counts. So the drawn seed mean is moved from the mean of all seeds by a scale
  (:func:`seed_scale`) that makes it add exactly the seed variance the songs do not explain,
  estimated from the resamples themselves and pooled over folds. The scale is linear, so it is
  exact for the per-fold estimator below; the pooled one draws seeds without it (conservative).

Two estimators of an arm's song-level CCC, each with its interval:

- **per-fold** (the verdicts use this one): the CCC of each fold's TEST songs, averaged over the
  fold's seeds, then over folds. Each CCC is computed on one model's predictions, so offsets
  between the folds' models do not enter it, and the resampling above is exact for it.
- **pooled**: the CCC over all songs of all folds at once (seed k of every fold pooled together,
  then averaged over k), as published cross-validation results usually are. Between-fold offsets
  of different models enter its variance terms. Its interval draws seeds without the scale and so
  counts the song-by-seed part twice: conservative (about 0.98 coverage in the calibration test).

What the folds' training sets add (a fold whose TRAIN songs happen to favour one arm) is not
resampled: with five folds a bootstrap over folds is coarse and would count the songs and seeds a
second time. :func:`fold_t_interval` gives the check that counts it: a t interval
over the folds' own differences.

Resampling uses song counts (a multinomial draw per fold) and CCC's sufficient statistics, so 10,000
resamples of a 120-song, 3-seed study take well under a second. Arrays: ``true`` (n_f, 2) per fold,
predictions (S, n_f, 2) per fold and arm, on any one scale (CCC does not depend on it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from astgan.evaluation.bootstrap import percentile_interval, two_sided_p
from astgan.metrics import DIMENSIONS

SUMMARIES = DIMENSIONS + ("mean_ccc",)  # the values every estimate reports on
MC_BATCHES = 20  # the resamples are cut into this many batches to estimate the Monte-Carlo error of a bound
EPS = 1e-12


@dataclass(frozen=True)
class Draws:
    """One hierarchical bootstrap: per fold, (B, n_f) song counts and (B, S) drawn seed indices."""

    counts: tuple[np.ndarray, ...]
    seeds: tuple[np.ndarray, ...]
    n_seeds: int

    @property
    def n_boot(self) -> int:
        return len(self.counts[0])


def hierarchical_draws(fold_sizes: list[int], n_seeds: int, n_boot: int, seed: int,
                       resample_seeds: bool = True) -> Draws:
    """Draw ``n_boot`` resamples: songs with replacement within each fold, and (unless
    ``resample_seeds`` is false: the song-only bootstrap) each fold's seeds with replacement."""
    if min(fold_sizes) < 2:
        raise ValueError(f"a bootstrap over songs needs at least 2 songs per fold, got {min(fold_sizes)}")
    rng = np.random.default_rng(seed)
    counts, seeds = [], []
    for n in fold_sizes:
        counts.append(rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64))
        if resample_seeds and n_seeds > 1:
            seeds.append(rng.integers(0, n_seeds, size=(n_boot, n_seeds)))
        else:
            seeds.append(np.broadcast_to(np.arange(n_seeds), (n_boot, n_seeds)))
    return Draws(tuple(counts), tuple(seeds), n_seeds)


def identity_draws(fold_sizes: list[int], n_seeds: int) -> Draws:
    """The data as observed: every song once, every seed once (the point estimates)."""
    return Draws(tuple(np.ones((1, n)) for n in fold_sizes),
                 tuple(np.arange(n_seeds)[None, :] for _ in fold_sizes), n_seeds)


# ----------------------------------------------------------------------------- CCC from counts


def _moments(counts: np.ndarray, pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Count-weighted sums of one fold: (B, S, 2 dims, 6) for n, sum x, sum y, sum xx, sum yy, sum xy.

    ``counts``: (B, n_f); ``pred``: (S, n_f, 2); ``true``: (n_f, 2)."""
    n = np.broadcast_to(counts.sum(axis=1)[:, None, None], (len(counts), len(pred), pred.shape[-1]))
    sx = np.einsum("bn,snd->bsd", counts, pred)
    sxx = np.einsum("bn,snd->bsd", counts, pred**2)
    sxy = np.einsum("bn,snd->bsd", counts, pred * true[None])
    sy = np.broadcast_to((counts @ true)[:, None, :], sx.shape)
    syy = np.broadcast_to((counts @ true**2)[:, None, :], sx.shape)
    return np.stack([n, sx, sy, sxx, syy, sxy], axis=-1)


def _ccc_from_moments(m: np.ndarray) -> np.ndarray:
    """CCC (population moments, as :func:`astgan.metrics.ccc`) from summed moments (..., 6)."""
    n = m[..., 0]
    mx, my = m[..., 1] / n, m[..., 2] / n
    vx, vy = m[..., 3] / n - mx**2, m[..., 4] / n - my**2
    cov = m[..., 5] / n - mx * my
    return 2.0 * cov / (vx + vy + (mx - my) ** 2 + EPS)


def _with_mean(values: np.ndarray) -> np.ndarray:
    """(..., 2) per dimension -> (..., 3): valence, arousal and their mean."""
    return np.concatenate([values, values.mean(axis=-1, keepdims=True)], axis=-1)


def _pick_seeds(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """values (B, S, ...) at the drawn seeds (B, S) -> (B, S, ...)."""
    return np.take_along_axis(values, seeds.reshape(seeds.shape + (1,) * (values.ndim - 2)), axis=1)


def fold_values(pred: np.ndarray, true: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B, S, 3) CCC of each seed's model on each resample of one fold's songs (valence, arousal, mean).

    ``pred``: (S, n_f, 2); ``true``: (n_f, 2); ``counts``: (B, n_f)."""
    return _with_mean(_ccc_from_moments(_moments(counts, np.asarray(pred, np.float64), np.asarray(true, np.float64))))


def seed_scale(folds: list[np.ndarray]) -> np.ndarray:
    """(3,) how far to move a resampled seed mean from the mean of all seeds, per summary, so that the
    seed resampling adds only the seed variance that the song resampling does not already count.

    ``folds``: per fold (B, S, 3), the songs resampled and every seed kept. A model's CCC moves from
    seed to seed for two reasons: the seed changes how good the model is (variance ``v``), and it
    changes which songs the model gets wrong (an interaction ``w`` with the songs). Resampling the
    songs already counts ``w`` (through the seed mean, as w / S), so only ``v / S`` is added. Per
    fold, ``w`` is the song-resampling variance of one seed minus that of the seed mean, times
    S / (S - 1), and ``v`` the seeds' variance minus ``w``; both are averaged over folds before
    ``v`` is cut at 0 (with three seeds a single fold's estimate is too noisy, and cutting it at 0
    fold by fold would widen every interval). The scale makes a mean of S drawn seeds vary by
    ``v / S``: sqrt(S / (S - 1) * v / spread)."""
    s = folds[0].shape[1]
    if s < 2:
        return np.zeros(folds[0].shape[-1])
    one_seed = np.mean([v.var(axis=0, ddof=1).mean(axis=0) for v in folds], axis=0)
    seed_mean = np.mean([v.mean(axis=1).var(axis=0, ddof=1) for v in folds], axis=0)
    spread = np.mean([v.mean(axis=0).var(axis=0, ddof=1) for v in folds], axis=0)  # across seeds
    interaction = np.maximum(one_seed - seed_mean, 0.0) * s / (s - 1)
    seed_variance = np.maximum(spread - interaction, 0.0)
    return np.sqrt(s / (s - 1) * seed_variance / np.maximum(spread, EPS))


def combine_seeds(values: np.ndarray, seeds: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(B, 3): the mean over all seeds, moved by ``scale`` (3,) times the drawn seeds' deviation from it.

    ``values``: (B, S, 3); ``seeds``: (B, S) drawn seed indices."""
    everyone = values.mean(axis=1)
    return everyone + scale * (_pick_seeds(values, seeds).mean(axis=1) - everyone)


def per_fold_statistic(pred: list[np.ndarray], true: list[np.ndarray], draws: Draws,
                       minus: list[np.ndarray] | None = None) -> np.ndarray:
    """The per-fold estimator on every resample: (B, 3) for valence, arousal, mean CCC.

    Per fold: the CCC of each seed's model on the resampled songs, averaged over the drawn seeds
    (:func:`combine_seeds`, with the scale of :func:`seed_scale`); then the mean over folds. With
    ``minus`` (another arm's predictions, paired seed by seed) the statistic is the difference,
    and the seed scale is that of the difference."""
    values = []
    for f, (t, counts) in enumerate(zip(true, draws.counts)):
        fold = fold_values(pred[f], t, counts)
        values.append(fold - fold_values(minus[f], t, counts) if minus is not None else fold)
    # the point estimate (one draw, every seed) needs no scale: it only moves drawn seeds
    scale = seed_scale(values) if draws.n_boot > 2 else np.zeros(values[0].shape[-1])
    return np.mean([combine_seeds(v, seeds, scale) for v, seeds in zip(values, draws.seeds)], axis=0)


def pooled_statistic(pred: list[np.ndarray], true: list[np.ndarray], draws: Draws) -> np.ndarray:
    """The pooled estimator on every resample: (B, 3). Pooled set k joins, over folds, the
    predictions of the k-th drawn seed of each fold; its CCC over all songs, averaged over k."""
    total = 0.0
    for p, t, counts, seeds in zip(pred, true, draws.counts, draws.seeds):
        total = total + _pick_seeds(_moments(counts, np.asarray(p, np.float64), np.asarray(t, np.float64)), seeds)
    return _with_mean(_ccc_from_moments(total).mean(axis=1))


# ----------------------------------------------------------------------------- intervals and verdicts


def bound_mc_error(samples: np.ndarray, confidence: float, batches: int = MC_BATCHES) -> float:
    """Monte-Carlo standard error of the interval's bounds (the larger of the two): the spread of
    each bound over ``batches`` disjoint batches of the resamples, divided by sqrt(batches)."""
    if len(samples) < 10 * batches:
        return float("nan")
    bounds = np.array([percentile_interval(part, confidence) for part in np.array_split(samples, batches)])
    return float(bounds.std(axis=0, ddof=1).max() / np.sqrt(batches))


@dataclass(frozen=True)
class Effect:
    """A - B on one summary (valence, arousal or mean CCC) with its interval.

    ``p``: two-sided bootstrap p-value; ``p_a_better``: share of resamples where A scores higher;
    ``mc_error``: Monte-Carlo standard error of the bounds; ``p_mc_error``: of ``p``."""

    a: float
    b: float
    difference: float
    low: float
    high: float
    p: float
    p_a_better: float
    mc_error: float
    p_mc_error: float

    @property
    def shown(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return {**asdict(self), "shown": self.shown}


def effect(point_a: float, point_b: float, samples: np.ndarray, confidence: float) -> Effect:
    """An :class:`Effect` from the point estimates and the resampled differences (n_boot,)."""
    low, high = percentile_interval(samples, confidence)
    p = two_sided_p(samples)
    return Effect(a=float(point_a), b=float(point_b), difference=float(point_a - point_b), low=low, high=high, p=p,
                  p_a_better=float(np.mean(samples > 0)), mc_error=bound_mc_error(samples, confidence),
                  p_mc_error=float(np.sqrt(p * (1.0 - p) / len(samples))))


def estimate(statistic: str, pred: list[np.ndarray], true: list[np.ndarray], draws: Draws) -> np.ndarray:
    """(B, 3) resampled values of one arm under ``statistic`` ("per_fold" or "pooled")."""
    if statistic == "per_fold":
        return per_fold_statistic(pred, true, draws)
    return pooled_statistic(pred, true, draws)


def point(statistic: str, pred: list[np.ndarray], true: list[np.ndarray]) -> np.ndarray:
    """(3,) the estimate on the data as observed."""
    return estimate(statistic, pred, true, identity_draws([len(t) for t in true], len(pred[0])))[0]


def paired_effects(pred_a: list[np.ndarray], pred_b: list[np.ndarray], true: list[np.ndarray], draws: Draws,
                   confidence: float, statistic: str = "per_fold") -> dict[str, Effect]:
    """A - B per summary under one estimator, both arms scored on the same resampled songs and seeds.

    ``pred_a``, ``pred_b``: per fold (S, n_f, 2), seed k of A paired with seed k of B; ``true``:
    per fold (n_f, 2)."""
    if statistic == "per_fold":
        samples = per_fold_statistic(pred_a, true, draws, minus=pred_b)
    else:
        samples = pooled_statistic(pred_a, true, draws) - pooled_statistic(pred_b, true, draws)
    a, b = point(statistic, pred_a, true), point(statistic, pred_b, true)
    return {name: effect(a[i], b[i], samples[:, i], confidence) for i, name in enumerate(SUMMARIES)}


def fold_t_interval(pred_a: list[np.ndarray], pred_b: list[np.ndarray], true: list[np.ndarray],
                    confidence: float) -> dict[str, list[float]] | None:
    """The check over folds: each fold's seed-averaged CCC difference, and a t interval
    of their mean (K - 1 degrees of freedom). It counts what the folds' different training sets add
    on top of songs and seeds, treating the folds as independent. None with fewer than 3 folds."""
    from scipy import stats

    if len(true) < 3:
        return None
    folds = np.array([point("per_fold", [a], [t]) - point("per_fold", [b], [t])
                      for a, b, t in zip(pred_a, pred_b, true)])  # (K, 3)
    k = len(folds)
    half = stats.t.ppf(0.5 + confidence / 2.0, k - 1) * folds.std(axis=0, ddof=1) / np.sqrt(k)
    centre = folds.mean(axis=0)
    return {name: [float(centre[i] - half[i]), float(centre[i] + half[i])] for i, name in enumerate(SUMMARIES)}
