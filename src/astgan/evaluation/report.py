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


def songs_phrase(report: dict) -> str:
    """What a report evaluated, plainly: "12 TEST songs", or "all 40 songs of PMEmo (data/PMEmo)"."""
    on = report.get("evaluated_on") or {}
    n = report["n_test_songs"]
    if on.get("songs") != "all":
        return f"{n} TEST songs"
    return f"all {n} songs of {on['title']} ({on['root']})"


def scale_phrase(report: dict) -> str:
    """The scale of a report's RMSE, MAE and predictions: "DEAM's 1..9 scale" (also for reports
    written before other datasets existed)."""
    on = report.get("evaluated_on") or {"title": "DEAM", "label_scale": [1.0, 9.0]}
    lo, hi = on["label_scale"]
    return f"{on['title']}'s {lo:g}..{hi:g} scale"


def overlap_sentence(report: dict) -> str:
    """For an evaluation on another dataset, how many of its audio files the run trained or validated
    on (the same file; a copy elsewhere is not recognised)."""
    on = report.get("evaluated_on") or {}
    if on.get("songs") != "all":
        return ""
    shared = on.get("in_training_run", 0)
    if not shared:
        return " None of their audio files is one the run trained or validated on."
    return f" {shared} of their audio files are ones the run trained or validated on: those numbers are not a test."


def report_markdown(report: dict) -> str:
    """``eval/report.md``: song-level table (model vs baselines), model vs ridge, segment level."""
    ints = report["intervals"]
    ckpt = report["checkpoint"]
    on_other = (report.get("evaluated_on") or {}).get("songs") == "all"
    baselines = "Baselines fitted on the run's TRAIN songs; normalisation from the model's checkpoint."
    lines = [
        f"# Evaluation of {report['run']}" + (f" on {report['evaluated_on']['title']}" if on_other else ""),
        "",
        f"{songs_phrase(report)} ({report['n_test_segments']} segments); model {ckpt['path']} "
        f"(epoch {ckpt['epoch']}). RMSE and MAE on {scale_phrase(report)}. CCC intervals: {ints['confidence']:.0%} "
        f"{ints['method']} ({ints['n_boot']} resamples)." + (f"{overlap_sentence(report)} {baselines}" if on_other
                                                             else ""),
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
        f"positions of each {'song' if on_other else 'TEST song'}). Per-song predictions: predictions.csv.",
        "",
    ]
    return "\n".join(lines)
