"""Evaluation artifacts as text: the predictions table's columns and ``eval/report.md`` (the CLI prints parts)."""

from __future__ import annotations

from astgan.metrics import fmt, fmt_interval, metrics_table, song_level_table

PREDICTION_COLUMNS = ["song_id", "valence_true", "arousal_true", "valence_pred", "arousal_pred"]


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
