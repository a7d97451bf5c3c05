"""`astgan demo`: the whole chain on the embedded demo, with and without the GAN, in one table.

Two run folders share one split (the real-only run copies the augmented run's songs.csv) and one
seed, and train for the same number of optimiser steps, so the comparison measures the synthetic
data and nothing else:

    <run.dir>             extract -> train-gan -> synthesize -> train-ast (ast.synthetic_ratio) -> evaluate
    <run.dir>-real-only   train-ast (ast.synthetic_ratio = 0) -> evaluate
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from astgan.config import Config, config_to_yaml, load_config
from astgan.runtime import write_text

log = logging.getLogger("astgan")

# --quick: the same chain, small enough for the test suite (about a minute on 2 cores)
QUICK_OVERRIDES = (
    "gan.epochs=1", "synth.n=64", "ast.epochs=2", "eval.bootstrap_samples=200",
)
QUICK_SONGS = dict(n_songs=24, min_seconds=8.0, max_seconds=12.0)
FULL_SONGS = dict(n_songs=120, min_seconds=15.0, max_seconds=45.0)


@dataclass
class DemoResult:
    augmented: dict  # evaluate()'s report of the run with synthetic data
    real_only: dict  # ... and of the real-only run
    comparison: dict  # compare_runs(augmented, real_only)
    timings: list[tuple[str, float]] = field(default_factory=list)
    run_dirs: tuple[Path, Path] = (Path(), Path())


def real_only_config(cfg: Config) -> Config:
    """The ablation arm: same everything, no synthetic data, its own run folder."""
    raw = cfg.to_dict()
    raw["run"]["dir"] = f"{cfg.run.dir.rstrip('/')}-real-only"
    raw["ast"]["synthetic_ratio"] = 0.0
    return Config.from_dict(raw)


def share_split(source: Config, target: Config) -> None:
    """Give ``target``'s run folder ``source``'s split and normalisation (so both test the same songs)."""
    target.run_dir.mkdir(parents=True, exist_ok=True)
    for name in ("songs.csv", "normalization.json"):
        shutil.copy2(source.run_dir / name, target.run_dir / name)
    write_text(target.run_dir / "config.yaml", config_to_yaml(target))


def run_demo(config_path: Path, overrides: tuple[str, ...] = (), quick: bool = False,
             progress: bool = True, echo: Callable[[str], None] = print) -> DemoResult:
    """Write the demo data if needed, run both arms of the GAN ablation, compare them."""
    from astgan.compare import compare_runs
    from astgan.data.demo import is_written, write_demo_dataset
    from astgan.evaluate import evaluate
    from astgan.gan.train import train_gan
    from astgan.prepare import prepare_data, split_summary
    from astgan.synthesis import synthesize
    from astgan.train import train_ast

    cfg = load_config(config_path, (QUICK_OVERRIDES if quick else ()) + tuple(overrides))
    real_cfg = real_only_config(cfg)
    if cfg.ast.synthetic_ratio <= 0:
        log.warning("ast.synthetic_ratio is 0: both demo runs train on real data only")
    timings: list[tuple[str, float]] = []

    def stage(name: str, work: Callable[[], object]) -> object:
        echo(f"\n== {name}")
        started = time.perf_counter()
        result = work()
        timings.append((name, time.perf_counter() - started))
        echo(f"== {name}: {timings[-1][1]:.1f}s")
        return result

    root = Path(cfg.data.root)
    if not is_written(root):
        songs = QUICK_SONGS if quick else FULL_SONGS
        stage("demo data", lambda: write_demo_dataset(root, seed=0, progress=progress, **songs))
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    write_text(cfg.run_dir / "config.yaml", config_to_yaml(cfg))
    data = stage("extract", lambda: prepare_data(cfg, progress=progress))
    echo(split_summary(data, cfg))
    stage("train-gan", lambda: train_gan(cfg, progress=progress))
    stage("synthesize", lambda: synthesize(cfg, progress=progress))
    stage("train-ast (real + synthetic)", lambda: train_ast(cfg, progress=progress))
    augmented = stage("evaluate (real + synthetic)", lambda: evaluate(cfg, progress=progress))
    share_split(cfg, real_cfg)
    stage("train-ast (real only)", lambda: train_ast(real_cfg, progress=progress))
    real_only = stage("evaluate (real only)", lambda: evaluate(real_cfg, progress=progress))
    comparison = compare_runs(cfg.run_dir, real_cfg.run_dir, cfg.eval.bootstrap_samples, cfg.eval.confidence,
                              cfg.run.seed)
    return DemoResult(augmented, real_only, comparison, timings, (cfg.run_dir, real_cfg.run_dir))


def final_table(result: DemoResult) -> str:
    """Per dimension CCC / r / R² / RMSE for both runs and both baselines, song level."""
    from astgan.eval_report import fmt, markdown_table

    predictors = [
        ("AST, real + synthetic", result.augmented["song"]),
        ("AST, real only", result.real_only["song"]),
        ("ridge on band stats", result.augmented["baselines"]["ridge"]),
        ("TRAIN mean", result.augmented["baselines"]["mean"]),
    ]
    headers = ["predictor"] + [f"{d[0].upper()} {m}" for d in ("valence", "arousal") for m in ("CCC", "r", "R²", "RMSE")]
    rows = [[name] + [fmt(report[d][key]) for d in ("valence", "arousal") for key in ("ccc", "pearson", "r2", "rmse")]
            for name, report in predictors]
    return markdown_table(headers, rows)


def gan_effect_lines(comparison: dict) -> list[str]:
    """One line per dimension: the difference in song-level CCC and its bootstrap interval."""
    from astgan.eval_report import fmt, fmt_interval

    lines = [f"GAN effect (real + synthetic minus real only), song-level CCC on {comparison['n_test_songs']} "
             f"TEST songs, {comparison['confidence']:.0%} paired-bootstrap interval:"]
    for name, s in comparison["dimensions"].items():
        label = "mean CCC" if name == "mean_ccc" else name
        lines.append(f"  {label:<9} {fmt(s['difference'], signed=True)} "
                     f"{fmt_interval([s['low'], s['high']], signed=True)}  (ahead in {s['p_a_better']:.0%} of resamples)")
    mean = comparison["dimensions"]["mean_ccc"]
    verdict = ("the interval excludes 0" if mean["low"] > 0 or mean["high"] < 0
               else "the interval includes 0: on these songs the GAN's effect is not distinguishable from noise")
    lines.append(f"  -> {verdict}")
    return lines


def summary_text(result: DemoResult) -> str:
    """Everything the demo prints at the end."""
    aug_dir, real_dir = result.run_dirs
    steps = "equal optimiser steps, same split and seed"
    parts = [
        f"\nSong-level results on {result.augmented['n_test_songs']} TEST songs ({steps}; RMSE on DEAM's 1..9 scale):",
        final_table(result),
        "",
        *gan_effect_lines(result.comparison),
        "",
        "stage timings: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in result.timings)
        + f"; total {sum(s for _, s in result.timings):.0f}s",
        f"run folders: {aug_dir} (with the GAN) and {real_dir} (real only); figures are the PNGs beside "
        f"their data (e.g. {aug_dir}/gan/, {aug_dir}/synthetic/, {aug_dir}/eval/, {aug_dir}/eval/compare.md)",
    ]
    return "\n".join(parts)
