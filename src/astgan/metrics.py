"""Regression metrics for valence and arousal, and the tables they are printed in.

A core module, so that both models, the synthetic set's quality report and the evaluation share one
definition. One concordance correlation coefficient (CCC) serves the metric and the training loss:
it is written with operations that numpy arrays and torch tensors share, with population variances
(divide by N), as in Lin (1989) and the emotion-recognition challenges that report it.
"""

from __future__ import annotations

import numpy as np

# The two label dimensions: column 0 and column 1 of every (N, 2) label array (astgan.data.labels
# holds the label space; the names live here, below it, because every report is keyed by them).
DIMENSIONS = ("valence", "arousal")
EPS = 1e-12


def ccc(pred, true):
    """Concordance correlation coefficient of two 1-D arrays or tensors (or along the last axis).

    2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), population moments. Works on numpy
    arrays and torch tensors alike (a tensor in gives a tensor out, differentiable).
    """
    pred_mean, true_mean = pred.mean(-1), true.mean(-1)
    pred_c, true_c = pred - pred_mean[..., None], true - true_mean[..., None]
    covariance = (pred_c * true_c).mean(-1)
    pred_var, true_var = (pred_c**2).mean(-1), (true_c**2).mean(-1)
    mean_gap = (pred_mean - true_mean) ** 2
    return 2.0 * covariance / (pred_var + true_var + mean_gap + EPS)


def pearson(pred: np.ndarray, true: np.ndarray) -> float:
    """Pearson r; 0 when either side is constant (no linear relation can be measured)."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.std() < EPS or true.std() < EPS:
        return 0.0
    return float(np.corrcoef(pred, true)[0, 1])


def r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    total = np.square(true - true.mean()).sum()
    return float(1.0 - np.square(true - pred).sum() / max(total, EPS))


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(pred, np.float64) - np.asarray(true, np.float64)))))


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64))))


def song_means(values: np.ndarray, songs: np.ndarray) -> np.ndarray:
    """Segment values averaged per song: what "song level" means everywhere in astgan.

    ``values``: (N_segments, D); ``songs``: (N_segments,) the song (id or row) of each segment.
    Returns (N_songs, D), songs in the order they first appear.
    """
    values = np.asarray(values, dtype=np.float64)
    _, first, inverse = np.unique(np.asarray(songs), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))  # unique keys come sorted; reorder by first appearance
    index = rank[inverse.ravel()]
    sums = np.zeros((len(first), values.shape[1]), dtype=np.float64)
    np.add.at(sums, index, values)
    return sums / np.bincount(index)[:, None]


def regression_report(pred: np.ndarray, true: np.ndarray, error_scale: float = 4.0) -> dict:
    """Per-dimension CCC, Pearson r, R², RMSE and MAE, plus the mean CCC.

    ``pred`` and ``true``: (N, 2) arrays on the -1..1 scale. RMSE and MAE are multiplied by
    ``error_scale`` (4 maps -1..1 back to DEAM's 1..9 scale) so they compare with published numbers.
    """
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2:
        raise ValueError(f"predictions have shape {pred.shape} and labels {true.shape}; expected both (N, 2)")
    report: dict = {}
    for d, name in enumerate(DIMENSIONS):
        p, t = pred[:, d], true[:, d]
        report[name] = {
            "ccc": float(ccc(p, t)),
            "pearson": pearson(p, t),
            "r2": r2(p, t),
            "rmse": rmse(p, t) * error_scale,
            "mae": mae(p, t) * error_scale,
        }
    report["mean_ccc"] = float(np.mean([report[name]["ccc"] for name in DIMENSIONS]))
    return report


# --------------------------------------------------------------------------- as text

PREDICTOR_NAMES = {"model": "AST", "ridge": "ridge (band stats)", "mean": "TRAIN mean"}


def fmt(value: float, digits: int = 3, signed: bool = False) -> str:
    """A number for a table; rounding first so that -1e-30 prints as 0.000, not -0.000."""
    value = round(float(value), digits) + 0.0
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def fmt_interval(interval: list[float], digits: int = 3, signed: bool = False) -> str:
    return f"[{fmt(interval[0], digits, signed)}, {fmt(interval[1], digits, signed)}]"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A markdown table with padded columns, readable as plain text too."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def metrics_table(reports: dict[str, dict], intervals: dict[str, dict] | None = None) -> str:
    """One row per predictor and dimension: CCC (with its interval when given), r, R², RMSE, MAE.

    ``reports``: predictor key -> regression_report; ``intervals``: predictor key -> ccc_intervals.
    """
    intervals = intervals or {}
    show_interval = bool(intervals)
    headers = ["predictor", "dimension", "CCC"] + (["CCC interval"] if show_interval else []) + \
              ["Pearson r", "R²", "RMSE", "MAE"]
    rows = []
    for key, report in reports.items():
        for dim in DIMENSIONS + ("mean",):
            name = PREDICTOR_NAMES.get(key, key)
            if dim == "mean":
                values = report["mean_ccc"], intervals.get(key, {}).get("mean_ccc")
                cells = [name, "mean", fmt(values[0])]
                if show_interval:
                    cells.append(fmt_interval(values[1]) if values[1] else "")
                rows.append(cells + ["", "", "", ""])
                continue
            m = report[dim]
            cells = [name, dim, fmt(m["ccc"])]
            if show_interval:
                cells.append(fmt_interval(intervals[key][dim]) if key in intervals else "")
            rows.append(cells + [fmt(m["pearson"]), fmt(m["r2"]), fmt(m["rmse"]), fmt(m["mae"])])
    return markdown_table(headers, rows)


def song_level_table(report: dict) -> str:
    """The headline: model and both baselines at song level, with the model's CCC intervals."""
    reports = {"model": report["song"], **{k: report["baselines"][k] for k in ("ridge", "mean")}}
    return metrics_table(reports, {k: v for k, v in report["intervals"].items() if k in reports})
