"""A study run against a base study: ``astgan study --base RUN_DIR`` (an ablation of the GAN arm).

A variant repeats a finished study with a few settings changed (say ``synth.sampler``), and every
arm is then compared with the same arm of the base, song by song
(:mod:`astgan.study.compare`). Work the change cannot touch is taken from the base
instead of being done again:

- a unit whose config is the same in both studies, once the settings that unit never reads are
  set aside (below), is taken whole: its result file is copied, with ``reused_from`` naming the
  base unit's folder (its model stays there);
- a GAN whose training settings are the same (the studies differ only in ``synth``, ``ast`` or
  ``eval`` settings) is taken from the base, and only its synthetic set and quality report are
  made again; the files are hard links where the file system allows (every artifact is replaced,
  never rewritten in place, so the base's copy cannot change).

Settings a unit never reads: the arms real and control and the ridge baseline never read ``gan``
or ``synth``; the ridge reads no ``ast`` either; a few settings are read by named units only
(:data:`ONLY_READ_BY`: C-Mixup's by the control arm, ``eval.ridge_alpha`` by the ridge and the
quality report, ``synth.judge`` by the quality report, and by the GAN arm too when ``synth.filter > 1``
in either study: the judge then chooses the arm's synthetic set), so that an ablation of one of them
retrains only those; no unit reads how many seeds or budgets the study has (:data:`REPORT_KEYS`). Where the
work runs (:data:`RUNTIME_KEYS`) changes nothing it computes.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from astgan.config import Config, load_config
from astgan.errors import AstganError, MissingArtifactError
from astgan.study.plan import Unit, result_path, unit_config, unit_dir
from astgan.study.results import read_unit_result, write_unit_result

log = logging.getLogger(__name__)

RUNTIME_KEYS = frozenset({"run.dir", "run.num_workers", "features.num_workers", "features.cache_dir", "study.jobs",
                          "study.executor", "study.retries", "study.slurm"})
# settings that shape the plan or the report but not what any one unit computes
REPORT_KEYS = frozenset({"eval.bootstrap_samples", "eval.confidence", "study.seeds", "study.budgets",
                         "study.bootstrap_samples", "study.primary"})
AFTER_GAN_SECTIONS = ("synth", "ast", "eval")  # settings that do not change how a GAN is trained
# settings that only these kinds of unit read (every other eval.* setting is the report's)
ONLY_READ_BY = {
    "ast.mixup_alpha": {"control"},  # C-Mixup's blend and partner choice
    "ast.mixup_bandwidth": {"control"},
    "ast.synthetic_source": {"control", "gan"},  # the real arm and the ridge add no items
    "eval.ridge_alpha": {"ridge", "gan-model"},  # the ridge baseline, and the quality report's ridge probe
    "synth.judge": {"gan-model"},  # the quality report's feature space; with synth.filter > 1 also the gan arm's set
}
# settings that the gan arm reads too when the label-consistency filter is on (the judge picks its segments)
READ_BY_GAN_WHEN_FILTERED = frozenset({"synth.judge"})


def flat_config(cfg: Config) -> dict[str, Any]:
    """``{"section.key": value}`` of every setting."""
    return {f"{section}.{key}": value for section, body in cfg.to_dict().items() for key, value in body.items()}


def config_differences(base: Config, this: Config) -> dict[str, tuple[Any, Any]]:
    """``{"section.key": (base value, this value)}`` for every setting that differs, runtime ones aside."""
    a, b = flat_config(base), flat_config(this)
    return {key: (a.get(key), b.get(key)) for key in sorted(set(a) | set(b))
            if key not in RUNTIME_KEYS and a.get(key) != b.get(key)}


def read_by(kind: str, key: str, filtered: bool = False) -> bool:
    """Whether a unit of ``kind`` (gan-model, real, control, gan, ridge) reads setting ``key``; ``filtered``:
    whether ``synth.filter > 1`` (in either study compared), so that the judge chooses the synthetic set."""
    section = key.split(".")[0]
    if key in REPORT_KEYS:
        return False
    if filtered and kind == "gan" and key in READ_BY_GAN_WHEN_FILTERED:
        return True
    if key in ONLY_READ_BY:
        return kind in ONLY_READ_BY[key]
    if section == "eval":
        return False
    if kind in ("real", "control", "ridge") and section in ("gan", "synth"):
        return False
    return not (kind == "ridge" and section == "ast")


def load_base(base_dir: Path, cfg: Config) -> Config:
    """The base study's config, after checking that ``base_dir`` holds a finished study other than this one."""
    base_dir = Path(base_dir)
    if base_dir.resolve() == cfg.run_dir.resolve():
        raise AstganError(f"--base {base_dir} is this study's own run folder; a variant needs its own run.dir "
                          "(for example --set run.dir=runs/demo-variant)")
    config = base_dir / "config.yaml"
    if not config.is_file():
        raise MissingArtifactError(f"--base {base_dir}: no config.yaml there, so it is not a run folder; "
                                   "point --base at the run.dir of a study (astgan study -c ...)")
    if not (base_dir / "study" / "predictions.csv").is_file():
        raise MissingArtifactError(f"--base {base_dir}: its study is not finished (no study/predictions.csv); "
                                   f"finish it first: astgan study -c {config} --resume")
    # its run.dir is as written where it was run from, which may not be the working folder: go by base_dir
    return load_config(config).with_overrides(f"run.dir={base_dir}")


def check_same_test_songs(cfg: Config, base: Config, units: list[Unit]) -> None:
    """Fail before any work when a cell both studies hold tests other songs (the comparison pairs songs)."""
    for cell in sorted({unit.cell for unit in units}, key=lambda c: (c.budget, c.fold)):
        ours, theirs = (unit_dir(c.paths.study_dir, Unit(cell, "real")) / "songs.csv" for c in (cfg, base))
        if not theirs.is_file():
            continue  # a budget the base does not have: nothing to compare there
        tests = [set(table.loc[table["split"] == "test", "song_id"]) for table in
                 (pd.read_csv(path, dtype={"song_id": str}) for path in (ours, theirs))]
        if tests[0] != tests[1]:
            raise AstganError(f"{theirs}: the base study tests other songs in {cell.describe()} "
                              f"({len(tests[1])} against {len(tests[0])}); a variant keeps its base's data.root, "
                              "study.folds and study.seed, so that both test the same songs")


@dataclass
class Reused:
    """What a variant took from its base: whole units, and GANs whose synthetic sets are drawn anew."""

    units: int = 0
    gans: int = 0


def reuse_from_base(cfg: Config, base: Config, units: list[Unit], done: set[Unit]) -> Reused:
    """Copy into this study every unit of ``units`` (not in ``done``) that the base has already computed
    the same way; for a GAN trained the same way, copy its ``gan/`` folder so that only the synthetic
    set is made again. Returns the counts."""
    reused = Reused()
    for unit in units:
        base_result = result_path(base.paths.study_dir, unit)
        if unit in done or not base_result.is_file():
            continue
        ours, theirs = unit_config(cfg, unit), unit_config(base, unit)
        differences = config_differences(theirs, ours)
        filtered = ours.synth.filter > 1 or theirs.synth.filter > 1
        relevant = [key for key in differences if read_by(unit.kind, key, filtered)]
        if not relevant:
            result = read_unit_result(base_result, unit.kind)
            result.reused_from = str(base_result.parent)
            write_unit_result(result_path(cfg.paths.study_dir, unit), result)
            reused.units += 1
        elif unit.kind == "gan-model" and all(key.split(".")[0] in AFTER_GAN_SECTIONS for key in relevant):
            target = unit_dir(cfg.paths.study_dir, unit) / "gan"
            if not target.exists():
                shutil.copytree(base_result.parent / "gan", target, copy_function=_link_or_copy)
            reused.gans += 1
    return reused


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)
