"""``astgan study``: does the GAN help, and when? A cross-validated learning curve with three arms.

The songs are cut into ``study.folds`` song-disjoint folds, so every song is a TEST song exactly
once. In each fold a share of the other songs is held out for VAL, and the rest (TRAIN) is cut
down to each real-data budget (``study.budgets``, nested subsets). Per fold and budget, a cell:

- a GAN is trained on that budget's TRAIN songs only, and draws the synthetic set;
- the AST is trained in three arms that differ in one thing only, the items added on top of each
  batch of real segments: ``real`` (none), ``gan`` (synthetic segments) and ``control`` (C-Mixup
  blends of real segments). The arms see the same real segments in the same order with the same
  masks, start from the same weights and take the same optimiser steps (early stopping off; each
  keeps its best validation epoch, which is reported);
- a ridge on band statistics, fitted on the same TRAIN songs, is the reference a learned model
  should beat.

Every unit of work writes its result into the cell's folder when it is done; ``--resume`` skips
finished units and continues interrupted ones from their last checkpoint. Cells run in
``study.jobs`` processes of ``study.threads`` torch threads each, so their numbers do not depend on
how many ran at once. With ``--base RUN_DIR`` the study is a variant of a finished one: what the
changed settings cannot touch is taken from the base, and every arm is compared with the base's
(:mod:`astgan.study.base`, :mod:`astgan.study.compare`). The statistics and the report
are :mod:`astgan.study.report`::

    <run.dir>/study/  study.csv  predictions.csv  study.json  study.md  study.png  study_regions.png
                      gans.csv  study_quality.png   (each GAN's quality beside its arm's gain)
                      vs_base.json  vs_base.md  vs_base.png   (with --base)
                      fold1/budget025/gan/      a run folder: the GAN, its synthetic set, the gan arm
                      fold1/budget025/real/     the real-only arm
                      fold1/budget025/control/  the C-Mixup arm
                      fold1/budget025/ridge.json
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.artifacts import read_json, write_json, write_text
from astgan.config import Config
from astgan.data.deam import SONG_COLUMNS
from astgan.data.prepare import load_songs_with_features, prepare_data
from astgan.data.splits import assign_folds, budget_split, fold_split
from astgan.errors import AstganError
from astgan.evaluation.evaluate import baseline_predictions
from astgan.gan.train import train_gan
from astgan.metrics import regression_report, song_means
from astgan.regressor.inference import load_trained, predict_segments
from astgan.regressor.train import train_ast
from astgan.runtime import resolve_device
from astgan.study.base import check_same_test_songs, config_differences, load_base, reuse_from_base
from astgan.study.compare import write_vs_base
from astgan.study.report import write_study_outputs
from astgan.synthetic.synthesis import synthesize

log = logging.getLogger(__name__)

ARMS = ("real", "gan", "control")  # the AST trained on: real only, real + GAN, real + C-Mixup
BASELINE = "ridge"
RESULT_FILE = "study_result.json"  # written into a unit's folder when the unit is done

# --quick: the same design, small enough for the test suite (about a minute on 2 cores)
QUICK_OVERRIDES = (
    "study.folds=3", "study.budgets=[0.5, 1.0]", "study.jobs=1", "gan.epochs=1", "synth.n=64",
    "ast.epochs=2", "eval.bootstrap_samples=200",
)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Cell:
    """One fold (0-based) at one real-data budget (a share of the fold's TRAIN songs)."""

    fold: int
    budget: float

    @property
    def name(self) -> str:
        return f"fold{self.fold + 1}/budget{round(self.budget * 100):03d}"

    def describe(self) -> str:
        return f"fold {self.fold + 1}, {self.budget:.0%} of TRAIN"


@dataclass(frozen=True)
class Unit:
    """One piece of work of a cell: ``gan-model`` (train the GAN, synthesize), an arm, or ``ridge``;
    ``seed``: which of the cell's training seeds (``study.seeds``) it belongs to."""

    cell: Cell
    kind: str
    seed: int = 0

    @property
    def after(self) -> Unit | None:
        """The unit that must finish first (the gan arm trains on its seed's synthetic set)."""
        return Unit(self.cell, "gan-model", self.seed) if self.kind == "gan" else None

    def describe(self) -> str:
        return f"{self.cell.describe()}, {self.kind}" + (f" (seed {self.seed})" if self.seed else "")


def unit_dir(study_dir: Path, unit: Unit) -> Path:
    """Where a unit works: the gan arm shares the GAN's run folder (like an ordinary run), the ridge
    baseline the real arm's. Seeds after the first get folders of their own (``gan-seed1``)."""
    folder = {"gan-model": "gan", "gan": "gan", "real": "real", "control": "control", BASELINE: "real"}[unit.kind]
    return study_dir / unit.cell.name / (f"{folder}-seed{unit.seed}" if unit.seed else folder)


def result_name(kind: str) -> str:
    """The file a unit writes into its folder when it is done (its presence marks the unit done)."""
    return {"gan-model": "gan_model_result.json", BASELINE: "ridge_result.json"}.get(kind, RESULT_FILE)


def result_path(study_dir: Path, unit: Unit) -> Path:
    return unit_dir(study_dir, unit) / result_name(unit.kind)


def unit_config(cfg: Config, unit: Unit) -> Config:
    """The config a unit runs with: its folder, the study's threads, equal steps, its arm's extras."""
    overrides = [
        f"run.dir={unit_dir(cfg.paths.study_dir, unit)}",
        f"run.seed={cfg.run.seed + unit.seed}",
        f"run.threads={cfg.study.threads}",
        f"ast.patience={cfg.ast.epochs}",  # no early stopping: every arm takes the same steps
    ]
    if unit.kind in ("real", BASELINE):
        overrides.append("ast.synthetic_ratio=0")
    elif unit.kind == "control":
        overrides.append("ast.synthetic_source=cmixup")
    else:
        overrides.append("ast.synthetic_source=gan")
    return cfg.with_overrides(*overrides)


def plan(cfg: Config) -> list[Unit]:
    """Every unit of the study, cheapest budget first (early results come sooner), then by seed.

    The ridge baseline has no training seed: one per cell."""
    units = []
    for seed in range(cfg.study.seeds):
        for budget in sorted(cfg.study.budgets):
            for fold in range(cfg.study.folds):
                cell = Cell(fold, budget)
                kinds = ("gan-model", "real", "control", BASELINE, "gan") if seed == 0 else ("gan-model", *ARMS)
                units += [Unit(cell, kind, seed) for kind in kinds]
    return units


def write_cell_splits(cfg: Config, songs: pd.DataFrame, cells: list[Cell]) -> None:
    """songs.csv of every arm folder: the fold's TEST songs, its VAL songs, the budget's TRAIN songs."""
    folds = assign_folds(songs, cfg.study.folds, cfg.study.seed)
    study = cfg.study
    for cell in cells:
        table = budget_split(fold_split(songs, folds, cell.fold, study.val, study.seed), cell.budget,
                             study.seed + 1000 * (cell.fold + 1))
        text = table[SONG_COLUMNS + ["split"]].to_csv(index=False, float_format="%.6g")
        for kind, seed in itertools.product(ARMS, range(cfg.study.seeds)):
            path = unit_dir(cfg.paths.study_dir, Unit(cell, kind, seed)) / "songs.csv"
            if path.exists() and path.read_text() != text:
                raise AstganError(f"{path} holds another split than this study makes (other songs, study.folds, "
                                  "study.val, study.budgets or study.seed); use a new run.dir")
            write_text(path, text)


# --------------------------------------------------------------------------- running one unit


def run_unit(config: dict, kind: str) -> dict:
    """Do one unit in this process and write its result file; returns the result.

    ``config`` is the unit's config as a plain dict (so that it crosses process boundaries).
    """
    cfg = Config.from_dict(config, source="study unit")
    started = time.perf_counter()
    if kind == "gan-model":
        result = _train_gan_model(cfg)
    elif kind == BASELINE:
        result = _ridge(cfg)
    else:
        result = _train_arm(cfg)
    result["seconds"] = time.perf_counter() - started
    write_json(cfg.run_dir / result_name(kind), result)
    return result


def _train_gan_model(cfg: Config) -> dict:
    paths = cfg.paths
    trained = train_gan(cfg, resume=paths.gan_last.exists(), progress=False)
    quality = synthesize(cfg, progress=False)
    return {"gan_epochs": len(trained.history), "n_synthetic": int(quality.get("n_synthetic", cfg.synth.n)),
            "quality": quality}


def _train_arm(cfg: Config) -> dict:
    trained = train_ast(cfg, resume=cfg.paths.ast_last.exists(), progress=False)
    song_ids, true, pred = _predict_test_songs(cfg)
    return {"song_ids": song_ids, "true": true.tolist(), "pred": pred.tolist(), "best_epoch": trained.best_epoch,
            "steps": trained.steps, "n_train_songs": _n_songs(cfg, "train")}


def _predict_test_songs(cfg: Config) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The best model's song-level predictions of the TEST songs: (ids, true (N, 2), pred (N, 2)), -1..1."""
    trained = load_trained(cfg.paths.best, resolve_device(cfg.run.device))
    test = prepare_data(cfg, progress=False).segments("test", trained.normalization)
    segments = predict_segments(trained, test, 4 * cfg.ast.batch_size, cfg.run.precision)
    return test.songs["song_id"].tolist(), test.song_labels, song_means(segments, test.song_index)


def _ridge(cfg: Config) -> dict:
    """The ridge baseline of the cell, fitted on the budget's TRAIN segments."""
    data = prepare_data(cfg, progress=False)
    train, test = data.segments("train"), data.segments("test")
    _, song_pred = baseline_predictions(train, test, data.labels("train"), cfg.eval.ridge_alpha)["ridge"]
    return {"song_ids": test.songs["song_id"].tolist(), "true": test.song_labels.tolist(), "pred": song_pred.tolist(),
            "best_epoch": None, "steps": None, "n_train_songs": _n_songs(cfg, "train")}


def _n_songs(cfg: Config, split: str) -> int:
    songs = pd.read_csv(cfg.paths.songs, dtype={"song_id": str})
    return int((songs["split"] == split).sum())


def _quiet_worker(threads: int) -> None:
    """Start-up of a study worker process: warnings only (the main process reports progress)."""
    import torch

    logging.getLogger("astgan").setLevel(logging.WARNING)
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- the study


@dataclass
class StudyResult:
    summary: dict  # study.json
    table: pd.DataFrame  # study.csv
    predictions: pd.DataFrame  # predictions.csv
    seconds: float
    units_run: int  # units computed in this call (the others were already done)
    paths: dict[str, Path] = field(default_factory=dict)
    vs_base: dict | None = None  # vs_base.json, with a base study


def run_study(cfg: Config, resume: bool = False, echo: Callable[[str], None] = print,
              base: Path | None = None) -> StudyResult:
    """Plan the study, run the units that are not done yet, and write the study's tables and report.

    ``base``: the run folder of a finished study this one is a variant of (see :mod:`astgan.study.base`).
    """
    if cfg.ast.synthetic_ratio <= 0:
        raise AstganError("the study adds extra items on top of each real batch: set ast.synthetic_ratio > 0 "
                          "(for example --set ast.synthetic_ratio=0.5)")
    started = time.perf_counter()
    study_dir = cfg.paths.study_dir
    units = plan(cfg)
    done = [u for u in units if result_path(study_dir, u).is_file()]
    if done and not resume:
        raise AstganError(f"{study_dir} already holds {len(done)} finished unit(s) of a study: continue it with "
                          "--resume, or use a new run.dir")
    base_cfg = load_base(base, cfg) if base is not None else None
    songs, _ = load_songs_with_features(cfg)  # every song's features, once, before any cell needs them
    write_cell_splits(cfg, songs, sorted({u.cell for u in units}, key=lambda c: (c.budget, c.fold)))
    if base_cfg is not None:
        differences = _announce_base(cfg, base_cfg, base, echo)
        check_same_test_songs(cfg, base_cfg, units)
        reused = reuse_from_base(cfg, base_cfg, units, set(done))
        echo(f"from the base: {reused.units} units reused whole, {reused.gans} trained GANs reused (their "
             "synthetic sets are drawn again)")
        done = [u for u in units if result_path(study_dir, u).is_file()]
    todo = [u for u in units if u not in done]
    seeds = f" x {cfg.study.seeds} seeds" if cfg.study.seeds > 1 else ""
    echo(f"study: {cfg.study.folds} folds x {len(cfg.study.budgets)} budgets x {len(ARMS)} arms{seeds} (+ a GAN per "
         f"cell and seed, the ridge baseline per cell): {len(units)} units, {len(done)} already done; "
         f"{cfg.study.jobs} at a time")
    _run_units(cfg, todo, len(done), len(units), echo)
    results = {u: read_json(result_path(study_dir, u)) for u in units}
    outputs = write_study_outputs(cfg, results)
    vs_base = None
    if base_cfg is not None:
        vs_base, paths = write_vs_base(study_dir, base, differences, cfg.eval.bootstrap_samples, cfg.eval.confidence,
                                       cfg.study.seed)
        outputs.paths.update({f"vs_base_{name}": path for name, path in paths.items()})
    return StudyResult(outputs.summary, outputs.table, outputs.predictions, time.perf_counter() - started,
                       len(todo), outputs.paths, vs_base)


def _announce_base(cfg: Config, base_cfg: Config, base: Path, echo: Callable[[str], None]) -> dict:
    """Say how this study differs from its base; returns the differing settings."""
    differences = config_differences(base_cfg, cfg)
    if not differences:
        log.warning(f"this study has the same settings as its base {base}: every unit is reused, every difference 0")
    elif len(differences) > 1:
        log.warning(f"this study differs from its base in {len(differences)} settings; the comparison measures "
                    "all of them together")
    changed = ", ".join(f"{key} {a!r} -> {b!r}" for key, (a, b) in differences.items()) or "nothing"
    echo(f"base study: {base} (changed: {changed})")
    return differences


def _run_units(cfg: Config, todo: list[Unit], n_done: int, n_total: int, echo: Callable[[str], None]) -> None:
    """Run ``todo`` (``cfg.study.jobs`` at a time), reporting each finished unit with an ETA."""
    progress = Progress(n_done, n_total, todo, cfg.study.jobs, echo)
    configs = {u: unit_config(cfg, u).to_dict() for u in todo}
    if cfg.study.jobs == 1:
        previous = logging.getLogger("astgan").level
        logging.getLogger("astgan").setLevel(logging.WARNING)
        try:
            for unit in todo:
                progress.finished(unit, run_unit(configs[unit], unit.kind))
        finally:
            logging.getLogger("astgan").setLevel(previous)
        return
    _run_in_pool(cfg, todo, configs, progress)


def _run_in_pool(cfg: Config, todo: list[Unit], configs: dict[Unit, dict], progress: Progress) -> None:
    """Units in worker processes; a unit starts once the unit it needs has finished."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    waiting = list(todo)
    running = {}
    # spawn, not fork: a forked child of a process that already ran torch's thread pool can hang
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cfg.study.jobs, mp_context=context, initializer=_quiet_worker,
                             initargs=(cfg.study.threads,)) as pool:
        try:
            while waiting or running:
                unfinished = set(waiting) | set(running.values())
                for unit in [u for u in waiting if u.after is None or u.after not in unfinished]:
                    if len(running) >= cfg.study.jobs:
                        break
                    waiting.remove(unit)
                    running[pool.submit(run_unit, configs[unit], unit.kind)] = unit
                if not running:  # guards against a plan whose units wait on each other: never spin
                    raise RuntimeError(f"no study unit can start: {[u.kind for u in waiting]} wait on unfinished units")
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    progress.finished(running.pop(future), future.result())
        except BaseException:
            for future in running:
                future.cancel()
            raise


class Progress:
    """Cells done / total with an estimate of the time left, one line per finished unit.

    The estimate assumes a unit costs in proportion to its budget (the real data it trains on), at
    the average cost per budget share of the units of its kind that have finished so far.
    """

    def __init__(self, n_done: int, n_total: int, todo: list[Unit], jobs: int, echo: Callable[[str], None]):
        self.n_done, self.n_total, self.jobs, self.echo = n_done, n_total, jobs, echo
        self.remaining = list(todo)
        self.costs: dict[str, list[float]] = {}
        self.started = time.perf_counter()

    def finished(self, unit: Unit, result: dict) -> None:
        self.n_done += 1
        self.remaining.remove(unit)
        self.costs.setdefault(unit.kind, []).append(result["seconds"] / unit.cell.budget)
        elapsed = time.perf_counter() - self.started
        self.echo(f"[{self.n_done:>3}/{self.n_total}] {unit.describe()}: {_outcome(result)} "
                  f"({result['seconds']:.0f}s); elapsed {_clock(elapsed)}, about {_clock(self.eta())} left")

    def eta(self) -> float:
        every = [c for costs in self.costs.values() for c in costs]
        if not every:
            return 0.0
        per_kind = {kind: float(np.mean(costs)) for kind, costs in self.costs.items()}
        left = sum(per_kind.get(u.kind, float(np.mean(every))) * u.cell.budget for u in self.remaining)
        return left / self.jobs


def _outcome(result: dict) -> str:
    """A unit's headline: the GAN's label fidelity, or an arm's song-level mean CCC on its TEST songs."""
    if "pred" not in result:
        return f"GAN trained for {result['gan_epochs']} epochs, {result['n_synthetic']} synthetic segments drawn"
    report = regression_report(np.asarray(result["pred"]), np.asarray(result["true"]))
    epoch = f", best epoch {result['best_epoch']}" if result.get("best_epoch") else ""
    return f"TEST mean CCC {report['mean_ccc']:.3f}{epoch}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
