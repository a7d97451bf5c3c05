"""Running a study: plan it, take what is done (or what its base already computed), run the rest,
report each unit as it finishes, and write the study's outputs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.config import Config
from astgan.data.prepare import load_songs_with_features
from astgan.errors import AstganError
from astgan.metrics import regression_report
from astgan.study.base import check_same_test_songs, config_differences, load_base, reuse_from_base
from astgan.study.compare import write_vs_base
from astgan.study.executors.local import run_local, visible_gpus
from astgan.study.executors.slurm import live_jobs, run_slurm
from astgan.study.executors.tasks import record_path
from astgan.study.plan import ARMS, Unit, plan, result_path, unit_config, unit_dir, write_cell_splits
from astgan.study.report import StudyResult, write_study_outputs
from astgan.study.results import GanModelResult, UnitResult, read_unit_result
from astgan.synthetic.judge import check_judge_songs

log = logging.getLogger(__name__)


Echo = Callable[[str], None]  # where progress lines go; None: logged at INFO


@dataclass
class StudyRun:
    """A study planned and checked, ready to run: every unit, those still to do, and its base (``--base``)."""

    cfg: Config
    units: list[Unit]
    todo: list[Unit]
    base: Path | None = None  # the base study's run folder
    differences: dict = field(default_factory=dict)  # setting -> (base value, this value), with a base
    started: float = field(default_factory=time.perf_counter)


def run_study(cfg: Config, resume: bool = False, echo: Echo | None = None, base: Path | None = None) -> StudyResult:
    """Plan the study, run the units that are not done yet, and write the study's tables and report.

    ``base``: the run folder of a finished study this one is a variant of (see :mod:`astgan.study.base`).
    The three steps, for a caller that wants to do something around the units: :func:`start_study`,
    :func:`run_units`, :func:`finish_study`.
    """
    study = start_study(cfg, resume, echo, base)
    run_units(study, echo)
    return finish_study(study)


def start_study(cfg: Config, resume: bool = False, echo: Echo | None = None, base: Path | None = None) -> StudyRun:
    """Check the settings, plan the units, write every cell's split, take what the base already computed,
    and say what is to do. Fails before any training when the study cannot run."""
    echo = echo or log.info
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
    if not resume and any(record_path(study_dir, u).is_file() for u in units):
        raise AstganError(f"{study_dir} holds a study whose units were submitted to SLURM: collect them with "
                          "--resume (it waits for jobs still queued or running), or use a new run.dir")
    base_cfg = load_base(base, cfg) if base is not None else None
    songs, _ = load_songs_with_features(cfg)  # every song's features, once, before any cell needs them
    write_cell_splits(cfg, songs, sorted({u.cell for u in units}, key=lambda c: (c.budget, c.fold)))
    check_study_judge(cfg, units)
    differences = {}
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
    return StudyRun(cfg, units, todo, base, differences, started)


def run_units(study: StudyRun, echo: Echo | None = None, wait: bool = True) -> bool:
    """Run the units still to do, reporting each finished unit with an ETA; True once all are done.

    ``study.executor``: ``local`` runs ``study.jobs`` at a time on this machine; ``slurm`` submits them as
    SLURM jobs and waits for them, or with ``wait=False`` returns False right after submitting (a
    later ``--resume`` collects them).
    """
    cfg, study_dir = study.cfg, study.cfg.paths.study_dir
    jobs = cfg.study.jobs if cfg.study.executor == "local" else 1
    progress = Progress(len(study.units) - len(study.todo), len(study.units), study.todo, jobs, echo or log.info)
    configs = {u: unit_config(cfg, u).to_dict() for u in study.todo}
    if cfg.study.executor == "slurm":
        return run_slurm(study_dir, study.todo, configs, cfg.study, progress.finished, progress.status,
                         progress.echo, wait)
    if not wait:
        raise AstganError("--no-wait submits the units and returns: it needs --executor slurm")
    live = [(unit, record) for unit, (job, record) in zip(study.todo, live_jobs(study_dir, study.todo)) if job]
    if live:
        ids = ", ".join(sorted({record.job_id.split("_")[0] for _, record in live}))
        raise AstganError(f"{len(live)} unit(s) of {study_dir} still have SLURM jobs queued or running (jobs {ids}): "
                          "wait for them with --resume --executor slurm, or scancel them, before running the rest "
                          "here")
    run_local(study.todo, configs, cfg.study.jobs, cfg.study.threads, progress.finished,
              visible_gpus(cfg.run.device))
    return True


def finish_study(study: StudyRun) -> StudyResult:
    """Read every unit's result and write the study's outputs (and, with a base, the comparison with it)."""
    cfg, study_dir = study.cfg, study.cfg.paths.study_dir
    results = {u: read_unit_result(result_path(study_dir, u), u.kind) for u in study.units}
    outputs = write_study_outputs(cfg, results)
    vs_base = None
    if study.base is not None:
        vs_base, files = write_vs_base(study_dir, study.base, study.differences, cfg.study.bootstrap_samples,
                                       cfg.eval.confidence, cfg.study.seed)
        outputs.paths.vs_base_summary, outputs.paths.vs_base_report, outputs.paths.vs_base_figure = (
            files["summary"], files["report"], files["figure"])
    return StudyResult(outputs.summary, outputs.table, outputs.predictions, time.perf_counter() - study.started,
                       len(study.todo), outputs.paths, vs_base)


def check_study_judge(cfg: Config, units: list[Unit]) -> None:
    """Fail before any training when an external judge (``synth.judge``) filters the GAN arms' synthetic sets
    (``synth.filter > 1``) and trained on songs outside a cell's TRAIN, or on songs nobody recorded."""
    if not cfg.synth.judge or cfg.synth.filter <= 1:
        return
    for unit in units:
        if unit.kind != "gan-model":
            continue
        songs = pd.read_csv(unit_dir(cfg.paths.study_dir, unit) / "songs.csv", dtype={"song_id": str})
        check_judge_songs(Path(cfg.synth.judge), set(songs.loc[songs["split"] == "train", "song_id"]),
                          unit.describe(), unknown_ok=False)


def _announce_base(cfg: Config, base_cfg: Config, base: Path, echo: Echo) -> dict:
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


class Progress:
    """Cells done / total with an estimate of the time left, one line per finished unit.

    The estimate assumes a unit costs in proportion to its budget (the real data it trains on), at
    the average cost per budget share of the units of its kind that have finished so far.
    """

    def __init__(self, n_done: int, n_total: int, todo: list[Unit], jobs: int, echo: Echo):
        self.n_done, self.n_total, self.jobs, self.echo = n_done, n_total, jobs, echo
        self.remaining = list(todo)
        self.costs: dict[str, list[float]] = {}
        self.started = time.perf_counter()

    def status(self, counts: dict[str, int]) -> None:
        """A line of the units done, running, pending and of the jobs that died (the SLURM executor's)."""
        self.jobs = max(1, counts["running"])  # the estimate assumes as many at once as run now
        eta = f", about {_clock(self.eta())} left" if self.costs else ""
        self.echo(f"units: {self.n_done} done, {counts['running']} running, {counts['pending']} pending, "
                  f"{counts['failed']} died and were resubmitted{eta}")

    def finished(self, unit: Unit, result: UnitResult) -> None:
        self.n_done += 1
        self.remaining.remove(unit)
        self.costs.setdefault(unit.kind, []).append(result.seconds / unit.cell.budget)
        elapsed = time.perf_counter() - self.started
        self.echo(f"[{self.n_done:>3}/{self.n_total}] {unit.describe()}: {_outcome(result)} "
                  f"({result.seconds:.0f}s); elapsed {_clock(elapsed)}, about {_clock(self.eta())} left")

    def eta(self) -> float:
        every = [c for costs in self.costs.values() for c in costs]
        if not every:
            return 0.0
        per_kind = {kind: float(np.mean(costs)) for kind, costs in self.costs.items()}
        left = sum(per_kind.get(u.kind, float(np.mean(every))) * u.cell.budget for u in self.remaining)
        return left / self.jobs


def _outcome(result: UnitResult) -> str:
    """A unit's headline: the GAN's label fidelity, or an arm's song-level mean CCC on its TEST songs."""
    if isinstance(result, GanModelResult):
        return f"GAN trained for {result.gan_epochs} epochs, {result.n_synthetic} synthetic segments drawn"
    report = regression_report(np.asarray(result.pred), np.asarray(result.true))
    epoch = f", best epoch {result.best_epoch}" if result.best_epoch else ""
    return f"TEST mean CCC {report['mean_ccc']:.3f}{epoch}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
