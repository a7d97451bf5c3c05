"""The study's plan: its cells (fold x budget), the units of work in each, where each works and with what config.

Per fold and real-data budget, a cell; per cell and training seed (``study.seeds``), the units:
``gan-model`` (train the GAN on the budget's TRAIN songs, draw the synthetic set), the three arms
that differ only in the items added on top of each real batch (:data:`ARMS`), and once per cell the
ridge baseline (:data:`BASELINE`). Each unit works in a run folder of its own under
``<run.dir>/study/`` and marks itself done by its result file::

    fold1/budget025/gan/      a run folder: the GAN, its synthetic set, the gan arm
    fold1/budget025/real/     the real-only arm (and the ridge baseline's result)
    fold1/budget025/control/  the C-Mixup arm
    fold1/budget025/gan-seed1/ ...  seeds after the first
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from astgan.artifacts import write_text
from astgan.config import Config
from astgan.data.deam import SONG_COLUMNS
from astgan.data.splits import assign_folds, budget_split, fold_split
from astgan.errors import AstganError

ARMS = ("real", "gan", "control")  # the AST trained on: real only, real + GAN, real + C-Mixup
BASELINE = "ridge"
ARM_ORDER = (*ARMS, BASELINE)  # the order of every table and figure
ARM_NAMES = {"real": "real only", "gan": "real + GAN", "control": "real + C-Mixup", "ridge": "ridge (band stats)"}
RESULT_FILE = "study_result.json"  # written into a unit's folder when the unit is done

# --quick: the same design, small enough for the test suite (about a minute on 2 cores)
QUICK_OVERRIDES = (
    "study.folds=3", "study.budgets=[0.5, 1.0]", "study.jobs=1", "gan.epochs=1", "synth.n=64",
    "ast.epochs=2", "eval.bootstrap_samples=200",
    "study.bootstrap_samples=1000",
)


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
