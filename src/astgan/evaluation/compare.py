"""Two evaluated runs side by side on the same TEST songs (typically GAN-augmented vs real-only).

Works from each run's ``eval/predictions.csv`` only, so any two evaluated runs can be compared
without their models. The runs must have been tested on exactly the same songs with the same
labels; otherwise the difference would measure the split, not the models, and the comparison is
refused.

``compare_runs`` returns (and writes to ``<run_a>/eval/compare.json``)::

    {"run_a": {"dir", "synthetic_ratio"}, "run_b": {...}, "n_test_songs", "n_boot", "confidence", "seed",
     "dimensions": {"valence" | "arousal" | "mean_ccc":
                    {"a", "b", "difference", "low", "high", "p_a_better"}}}

``pd.DataFrame(result["dimensions"]).T`` is the table; :func:`comparison_table` renders it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from astgan.artifacts import write_json, write_text
from astgan.data.labels import to_unit_scale
from astgan.errors import DataError, MissingArtifactError
from astgan.evaluation.bootstrap import paired_difference
from astgan.evaluation.figures import plot_paired_differences
from astgan.evaluation.report import PREDICTION_COLUMNS
from astgan.metrics import fmt, fmt_interval, markdown_table
from astgan.paths import RunPaths

log = logging.getLogger(__name__)

LABEL_TOLERANCE = 1e-3  # labels are written with 4 decimals on the 1..9 scale


def read_predictions(run_dir: str | Path) -> pd.DataFrame:
    """A run's ``eval/predictions.csv`` (song_id as str), checked for its columns."""
    paths = RunPaths(run_dir)
    path = paths.predictions
    if not path.is_file():
        config = paths.config
        raise MissingArtifactError(
            f"{path} not found; run `astgan evaluate -c {config if config.is_file() else '<its config>'}` first"
        )
    table = pd.read_csv(path, dtype={"song_id": str})
    missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; run `astgan evaluate` again for this run")
    if table["song_id"].duplicated().any():
        raise DataError(f"{path}: song ids repeat ({table['song_id'][table['song_id'].duplicated()].tolist()[:5]})")
    return table


def align_test_songs(a: pd.DataFrame, b: pd.DataFrame, name_a: str, name_b: str) -> pd.DataFrame:
    """B's rows in A's song order; refuses when the two runs were tested on different songs or labels."""
    ids_a, ids_b = set(a["song_id"]), set(b["song_id"])
    if ids_a != ids_b:
        only_a, only_b = sorted(ids_a - ids_b, key=_id_order), sorted(ids_b - ids_a, key=_id_order)
        raise DataError(
            f"cannot compare: the runs were tested on different songs ({name_a}: {len(ids_a)} TEST songs, "
            f"{name_b}: {len(ids_b)}, {len(ids_a & ids_b)} shared; only in {name_a}: {only_a[:5]}, only in "
            f"{name_b}: {only_b[:5]}). Give both runs the same split (same data, split.seed and split "
            f"fractions), e.g. by copying songs.csv into the second run folder before it trains."
        )
    b = b.set_index("song_id").loc[a["song_id"]].reset_index()
    for column in ("valence_true", "arousal_true"):
        gap = np.abs(a[column].to_numpy() - b[column].to_numpy())
        if (gap > LABEL_TOLERANCE).any():
            first = a["song_id"].iloc[int(np.argmax(gap))]
            raise DataError(f"cannot compare: the runs give song {first} different {column.split('_')[0]} "
                            f"labels ({name_a} vs {name_b}); they were evaluated on different annotations")
    return b


def _id_order(song_id: str) -> tuple:
    return (0, int(song_id), "") if song_id.isdigit() else (1, 0, song_id)


def _unit(table: pd.DataFrame, kind: str) -> np.ndarray:
    """(N, 2) valence/arousal columns ``*_true`` or ``*_pred`` back on the -1..1 scale."""
    return to_unit_scale(table[[f"valence_{kind}", f"arousal_{kind}"]].to_numpy())


def _describe_run(run_dir: Path) -> dict:
    """The run folder, its share of synthetic data (the ablation's knob) and its optimiser steps,
    when its config.yaml and ast/history.csv say (None otherwise)."""
    info: dict = {"dir": str(run_dir), "synthetic_ratio": None, "steps": None}
    try:
        saved = yaml.safe_load(RunPaths(run_dir).config.read_text()) or {}
        info["synthetic_ratio"] = saved.get("ast", {}).get("synthetic_ratio")
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    try:
        info["steps"] = int(pd.read_csv(RunPaths(run_dir).history)["step"].iloc[-1])
    except (OSError, KeyError, IndexError, ValueError, pd.errors.EmptyDataError):
        pass
    return info


def unequal_steps(runs: list[dict]) -> str | None:
    """A warning when the compared runs took different numbers of optimiser steps, else None."""
    steps = [run["steps"] for run in runs if run.get("steps") is not None]
    if len(set(steps)) <= 1:
        return None
    return (f"the runs took different numbers of optimiser steps ({', '.join(map(str, steps))}): early "
            "stopping ended them at different epochs, so the difference mixes data and training length; "
            "for an equal-steps comparison train both with ast.patience >= ast.epochs")


def compare_runs(run_a: str | Path, run_b: str | Path, n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0, write: bool = True) -> dict:
    """Paired bootstrap of CCC(A) - CCC(B) over the shared TEST songs (see the module doc).

    With ``write`` the result goes to ``<run_a>/eval/compare.json``, ``compare.md`` and
    ``compare.png``.
    """
    return compare_seeded_runs([run_a], [run_b], n_boot, confidence, seed, write)


def compare_seeded_runs(runs_a: list[str | Path], runs_b: list[str | Path], n_boot: int = 1000,
                        confidence: float = 0.95, seed: int = 0, write: bool = True) -> dict:
    """Like :func:`compare_runs`, for arms trained with several seeds each (``runs_a[k]`` pairs ``runs_b[k]``).

    Each resample of TEST songs scores every run; an arm's CCC is the mean over its seeds, so the
    interval reflects the songs while the seed-to-seed spread is averaged out (and shown per seed
    in ``per_seed``).
    """
    runs_a, runs_b = [Path(r) for r in runs_a], [Path(r) for r in runs_b]
    if not runs_a or len(runs_a) != len(runs_b):
        raise ValueError(f"need one B run per A run, got {len(runs_a)} and {len(runs_b)}")
    reference = read_predictions(runs_a[0])
    if len(reference) < 2:
        raise DataError(f"cannot compare on {len(reference)} TEST song(s); a bootstrap needs at least 2")
    aligned = {run: align_test_songs(reference, read_predictions(run), str(runs_a[0]), str(run))
               for run in runs_a[1:] + runs_b}
    aligned[runs_a[0]] = reference
    preds_a = np.stack([_unit(aligned[run], "pred") for run in runs_a])  # (n_seeds, n_songs, 2)
    preds_b = np.stack([_unit(aligned[run], "pred") for run in runs_b])
    true = _unit(reference, "true")
    boot = dict(n_boot=n_boot, confidence=confidence, seed=seed)
    summary, differences = paired_difference(preds_a, preds_b, true, **boot)
    per_seed = []
    for run_a, run_b, pred_a, pred_b in zip(runs_a, runs_b, preds_a, preds_b):
        single, _ = paired_difference(pred_a, pred_b, true, **boot)
        per_seed.append({"a": str(run_a), "b": str(run_b),
                         **{name: single[name]["difference"] for name in single}})
    described = [_describe_run(run) for run in runs_a + runs_b]
    warning = unequal_steps(described)
    if warning:
        log.warning(f"compare: {warning}")
    result = {
        "run_a": described[0],
        "run_b": described[len(runs_a)],
        "steps_warning": warning,
        "n_seeds": len(runs_a),
        "n_test_songs": len(reference),
        "n_boot": n_boot,
        "confidence": confidence,
        "seed": seed,
        "dimensions": summary,
        "per_seed": per_seed,
    }
    if write:
        out = RunPaths(runs_a[0]).eval_dir
        write_json(out / "compare.json", result)
        write_text(out / "compare.md", comparison_markdown(result))
        seeds = f", {len(runs_a)} seeds per arm" if len(runs_a) > 1 else ""
        plot_paired_differences(differences, summary, out / "compare.png",
                                f"paired bootstrap over {len(reference)} TEST songs{seeds}: "
                                f"A = {runs_a[0]}, B = {runs_b[0]}")
        log.info(f"comparison written to {out / 'compare.json'}")
    return result


def comparison_table(result: dict) -> str:
    """Song-level CCC of A and B, their difference, its interval and the share of resamples A wins."""
    conf = f"{result['confidence']:.0%} interval"
    rows = []
    for name, s in result["dimensions"].items():
        rows.append([name.replace("_ccc", ""), fmt(s["a"]), fmt(s["b"]), fmt(s["difference"], signed=True),
                     fmt_interval([s["low"], s["high"]], signed=True), f"{s['p_a_better']:.0%}"])
    return markdown_table(["CCC", "A", "B", "A - B", conf, "A ahead in"], rows)


def _run_line(key: str, info: dict) -> str:
    ratio = info.get("synthetic_ratio")
    return f"- {key}: {info['dir']}" + (f" (ast.synthetic_ratio={ratio})" if ratio is not None else "")


def verdict(result: dict) -> str:
    """Whether the mean-CCC interval excludes 0, in words."""
    mean = result["dimensions"]["mean_ccc"]
    if mean["low"] > 0 or mean["high"] < 0:
        return "the interval excludes 0"
    return "the interval includes 0: no difference is shown on these songs"


def per_seed_lines(result: dict) -> list[str]:
    """One line per training seed: that pair's CCC differences (empty for a single seed)."""
    if result.get("n_seeds", 1) < 2:
        return []
    return [f"- seed {k}: valence {fmt(p['valence'], signed=True)}, arousal {fmt(p['arousal'], signed=True)}, "
            f"mean {fmt(p['mean_ccc'], signed=True)} ({p['a']} vs {p['b']})"
            for k, p in enumerate(result["per_seed"])]


def comparison_markdown(result: dict) -> str:
    """``eval/compare.md``: which runs, the table, and how to read it."""
    mean = result["dimensions"]["mean_ccc"]
    n_seeds = result.get("n_seeds", 1)
    seeds = (f" Each arm was trained with {n_seeds} seeds; an arm's CCC is the mean over its seeds."
             if n_seeds > 1 else "")
    lines = [
        "# Comparison on the same TEST songs",
        "",
        _run_line("A", result["run_a"]),
        _run_line("B", result["run_b"]),
        "",
        f"Song-level CCC on {result['n_test_songs']} TEST songs; paired bootstrap over songs "
        f"({result['n_boot']} resamples, seed {result['seed']}).{seeds}",
        "",
        comparison_table(result),
        "",
        f"Mean CCC difference {fmt(mean['difference'], signed=True)}: {verdict(result)}.",
        "",
    ]
    if result.get("steps_warning"):
        lines += [f"Warning: {result['steps_warning']}.", ""]
    if n_seeds > 1:
        lines += ["Per seed (A - B, song-level CCC on all TEST songs):", "", *per_seed_lines(result), ""]
    return "\n".join(lines)
