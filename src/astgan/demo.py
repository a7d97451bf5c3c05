"""`astgan demo`: the whole chain on the embedded demo, with and without the GAN, in one table.

Both arms of the ablation share one split (every run folder copies the first one's songs.csv),
train for the same number of optimiser steps, and are repeated with several training seeds, so
the comparison measures the synthetic data, not the split or the luck of one initialisation:

    <run.dir>                   extract -> train-gan -> synthesize -> train-ast -> evaluate
    <run.dir>-real-only         train-ast (ast.synthetic_ratio = 0) -> evaluate
    <run.dir>-seed<k>           train-ast with run.seed + k on the same synthetic set -> evaluate
    <run.dir>-seed<k>-real-only ... and its real-only twin
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from astgan.config import Config, load_config, save_run_config
from astgan.data.labels import DIMENSIONS
from astgan.metrics import fmt, fmt_interval, markdown_table

if TYPE_CHECKING:  # evaluate imports torch: the demo imports its stages when it runs them
    from astgan.evaluation.evaluate import EvaluationReport

log = logging.getLogger(__name__)

# --quick: the same chain, small enough for the test suite (about a minute on 2 cores)
QUICK_OVERRIDES = (
    "gan.epochs=1", "synth.n=64", "ast.epochs=2", "eval.bootstrap_samples=200",
)
QUICK_SONGS = dict(n_songs=24, min_seconds=8.0, max_seconds=12.0)
FULL_SONGS = dict(n_songs=120, min_seconds=15.0, max_seconds=45.0)


@dataclass
class DemoResult:
    augmented: list[EvaluationReport]  # evaluate()'s report of each seed's run with synthetic data
    real_only: list[EvaluationReport]  # ... and of each seed's real-only run
    comparison: dict  # compare_seeded_runs(augmented runs, real-only runs)
    timings: list[tuple[str, float]] = field(default_factory=list)
    run_dirs: list[tuple[Path, Path]] = field(default_factory=list)  # (augmented, real only) per seed


def seed_config(cfg: Config, k: int) -> Config:
    """Training seed ``k`` of the augmented arm: run.seed + k, its own run folder (k = 0 is ``cfg``)."""
    if k == 0:
        return cfg
    return cfg.with_overrides(f"run.dir={cfg.run.dir.rstrip('/')}-seed{k}", f"run.seed={cfg.run.seed + k}")


def real_only_config(cfg: Config) -> Config:
    """The ablation arm: same everything, no synthetic data, its own run folder."""
    return cfg.with_overrides(f"run.dir={cfg.run.dir.rstrip('/')}-real-only", "ast.synthetic_ratio=0")


def share_split(source: Config, target: Config, synthetic: bool = False) -> None:
    """Give ``target``'s run folder ``source``'s split and normalisation (and synthetic set)."""
    target.run_dir.mkdir(parents=True, exist_ok=True)
    names = ["songs", "normalization"] + (["synthetic"] if synthetic else [])
    for name in names:
        destination = getattr(target.paths, name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(getattr(source.paths, name), destination)
    save_run_config(target)


def needs_demo_data(cfg: Config) -> bool:
    """True when ``data.root`` holds no dataset yet (the demo and the study then write the demo there)."""
    from astgan.data.demo import is_written

    return not is_written(cfg.data.root)


def write_demo_data(cfg: Config, quick: bool = False, progress: bool = True):
    """Write the embedded demo dataset into ``data.root``: 120 songs, or 24 short ones with ``quick``."""
    from astgan.data.demo import write_demo_dataset

    songs = QUICK_SONGS if quick else FULL_SONGS
    return write_demo_dataset(Path(cfg.data.root), seed=0, progress=progress, **songs)


def run_demo(config_path: str | Path, overrides: tuple[str, ...] = (), quick: bool = False, seeds: int = 2,
             progress: bool = True, echo: Callable[[str], None] | None = None) -> DemoResult:
    """Write the demo data if needed, run both arms of the GAN ablation with ``seeds`` seeds, compare.

    ``echo``: where the stage headings and the split summary go (None: logged at INFO).
    """
    from astgan.data.prepare import prepare_data, split_summary
    from astgan.evaluation.compare import compare_seeded_runs
    from astgan.evaluation.evaluate import evaluate
    from astgan.gan.train import train_gan
    from astgan.regressor.train import train_ast
    from astgan.synthetic.synthesis import synthesize

    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    echo = echo or log.info
    cfg = load_config(config_path, (QUICK_OVERRIDES if quick else ()) + tuple(overrides))
    # Equal optimiser steps in both arms: early stopping would end them at different epochs, so the
    # ablation trains every run for ast.epochs and keeps each run's best validation epoch.
    cfg = cfg.with_overrides(f"ast.patience={cfg.ast.epochs}")
    if cfg.ast.synthetic_ratio <= 0:
        log.warning("ast.synthetic_ratio is 0: both demo arms train on real data only")
    timings: list[tuple[str, float]] = []

    def stage(name: str, work: Callable[..., object], *args, **kwargs) -> object:
        echo(f"\n== {name}")
        started = time.perf_counter()
        result = work(*args, **kwargs)
        timings.append((name, time.perf_counter() - started))
        echo(f"== {name}: {timings[-1][1]:.1f}s")
        return result

    if needs_demo_data(cfg):
        stage("demo data", write_demo_data, cfg, quick, progress)
    save_run_config(cfg)
    data = stage("extract", prepare_data, cfg, progress=progress)
    echo(split_summary(data, cfg))
    stage("train-gan", train_gan, cfg, progress=progress)
    stage("synthesize", synthesize, cfg, progress=progress)

    augmented, real_only, run_dirs = [], [], []
    for k in range(seeds):
        aug_cfg = seed_config(cfg, k)
        real_cfg = real_only_config(aug_cfg)
        if k > 0:
            share_split(cfg, aug_cfg, synthetic=True)
        share_split(cfg, real_cfg)
        tag = f"seed {aug_cfg.run.seed}"
        stage(f"train-ast (real + synthetic, {tag})", train_ast, aug_cfg, progress=progress)
        augmented.append(stage(f"evaluate (real + synthetic, {tag})", evaluate, aug_cfg, progress=progress))
        stage(f"train-ast (real only, {tag})", train_ast, real_cfg, progress=progress)
        real_only.append(stage(f"evaluate (real only, {tag})", evaluate, real_cfg, progress=progress))
        run_dirs.append((aug_cfg.run_dir, real_cfg.run_dir))
    comparison = compare_seeded_runs([a for a, _ in run_dirs], [b for _, b in run_dirs], cfg.eval.bootstrap_samples,
                                     cfg.eval.confidence, cfg.run.seed)
    return DemoResult(augmented, real_only, comparison, timings, run_dirs)


def mean_report(reports: list[EvaluationReport]) -> dict:
    """Song-level metrics averaged over the seeds' reports (same keys as one report's ``song``)."""
    keys = ("ccc", "pearson", "r2", "rmse", "mae")
    mean = {d: {k: float(np.mean([r.song[d][k] for r in reports])) for k in keys} for d in DIMENSIONS}
    mean["mean_ccc"] = float(np.mean([r.song["mean_ccc"] for r in reports]))
    return mean


def final_table(result: DemoResult) -> str:
    """Per dimension CCC / r / R² / RMSE for both arms (mean over seeds) and both baselines, song level."""
    n = len(result.augmented)
    over = f" (mean of {n} seeds)" if n > 1 else ""
    baselines = result.augmented[0].baselines
    predictors = [
        (f"AST, real + synthetic{over}", mean_report(result.augmented)),
        (f"AST, real only{over}", mean_report(result.real_only)),
        ("ridge on band stats", baselines["ridge"]),
        ("TRAIN mean", baselines["mean"]),
    ]
    headers = ["predictor"] + [f"{d[0].upper()} {m}" for d in DIMENSIONS for m in ("CCC", "r", "R²", "RMSE")]
    rows = [[name] + [fmt(report[d][key]) for d in DIMENSIONS for key in ("ccc", "pearson", "r2", "rmse")]
            for name, report in predictors]
    return markdown_table(headers, rows)


def gan_effect_lines(comparison: dict) -> list[str]:
    """One line per dimension: the difference in song-level CCC and its bootstrap interval."""
    from astgan.evaluation.compare import per_seed_lines, verdict

    n_seeds = comparison.get("n_seeds", 1)
    seeds = f", CCC averaged over {n_seeds} training seeds per arm" if n_seeds > 1 else ""
    lines = [f"GAN effect (real + synthetic minus real only), song-level CCC on {comparison['n_test_songs']} "
             f"TEST songs{seeds}; {comparison['confidence']:.0%} paired-bootstrap interval over songs:"]
    for name, s in comparison["dimensions"].items():
        label = "mean CCC" if name == "mean_ccc" else name
        interval = fmt_interval([s["low"], s["high"]], signed=True)
        lines.append(f"  {label:<9} {fmt(s['difference'], signed=True)} {interval}  "
                     f"(ahead in {s['p_a_better']:.0%} of resamples)")
    lines += ["  " + line for line in per_seed_lines(comparison)]
    lines.append(f"  -> {verdict(comparison)}")
    return lines


def summary_text(result: DemoResult) -> str:
    """Everything the demo prints at the end."""
    aug_dir, real_dir = result.run_dirs[0]
    n_test = result.augmented[0].n_test_songs
    parts = [
        f"\nSong-level results on {n_test} TEST songs (equal optimiser steps, the same real batches, same split; "
        "RMSE on DEAM's 1..9 scale):",
        final_table(result),
        "",
        *gan_effect_lines(result.comparison),
        "",
        "stage timings: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in result.timings)
        + f"; total {sum(s for _, s in result.timings):.0f}s",
        f"run folders: {aug_dir} (with the GAN) and {real_dir} (real only)"
        + (f", plus {len(result.run_dirs) - 1} more seed(s) of each beside them" if len(result.run_dirs) > 1 else "")
        + f"; figures are the PNGs beside their data ({aug_dir}/gan/, {aug_dir}/synthetic/, {aug_dir}/eval/; "
        f"the comparison: {aug_dir}/eval/compare.md)",
        "",
        f"One split of {n_test} TEST songs cannot say whether the GAN helps. For that, run `astgan study`: "
        "every song tested once (5 folds), three real-data budgets, and a C-Mixup control arm.",
    ]
    return "\n".join(parts)
