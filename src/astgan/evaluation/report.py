"""Evaluation artifacts as text: the file names, and markdown tables a person reads (the CLI prints them)."""

from __future__ import annotations

from astgan.data.labels import DIMENSIONS

PREDICTION_COLUMNS = ["song_id", "valence_true", "arousal_true", "valence_pred", "arousal_pred"]

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


def paired_sentence(summary: dict, name_a: str, name_b: str, confidence: float) -> str:
    """One line on a paired bootstrap of mean CCC: the difference, its interval, the share of wins."""
    m = summary["mean_ccc"]
    return (f"{name_a} - {name_b}, mean CCC: {fmt(m['difference'], signed=True)} "
            f"({confidence:.0%} interval {fmt_interval([m['low'], m['high']], signed=True)}); "
            f"{name_a} ahead in {m['p_a_better']:.0%} of resamples")


def report_markdown(report: dict) -> str:
    """``eval/report.md``: song-level table (model vs baselines), model vs ridge, segment level."""
    ints = report["intervals"]
    ckpt = report["checkpoint"]
    lines = [
        f"# Evaluation of {report['run']}",
        "",
        f"{report['n_test_songs']} TEST songs ({report['n_test_segments']} segments); model {ckpt['path']} "
        f"(epoch {ckpt['epoch']}). RMSE and MAE on DEAM's 1..9 scale. CCC intervals: {ints['confidence']:.0%} "
        f"{ints['method']} ({ints['n_boot']} resamples).",
        "",
        "## Song level (each song's segment predictions averaged)",
        "",
        song_level_table(report),
        "",
        paired_sentence(report["model_vs_ridge"], "AST", "ridge", ints["confidence"]) + ".",
        "",
        "## Segment level",
        "",
        metrics_table({"model": report["segment"], **{k: report["baselines_segment"][k] for k in ("ridge", "mean")}}),
        "",
        "Figures: pred_vs_true.png (predicted vs true per dimension), va_plane.png (true and predicted "
        "positions of each TEST song). Per-song predictions: predictions.csv.",
        "",
    ]
    return "\n".join(lines)
