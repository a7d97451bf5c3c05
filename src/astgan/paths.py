"""The run folder's layout: every path a stage reads or writes comes from :class:`RunPaths`.

Other tools and scripts read run folders, so this layout is a contract::

    <run.dir>/
      config.yaml  songs.csv  normalization.json  songs_labels.png  songs_examples.png
      gan/        metrics.csv  losses.png  samples.png  last.pt  generator.pt
      synthetic/  synthetic.npz  quality.json  quality.md  real_vs_synthetic.png  labels.png  mean_spectrum.png
      ast/        best.pt  last.pt  history.csv  curves.png
      eval/       report.json  report.md  predictions.csv  pred_vs_true.png  va_plane.png  compare.*
        on-<name>/  the same five files for every song of another dataset (evaluate --on)
      study/      study.csv  predictions.csv  study.json  study.md  study.png  study_regions.png  cells/
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalPaths:
    """The files of one evaluation: the run's TEST songs in ``eval/``, or every song of another
    dataset in ``eval/on-<name>/`` (``astgan evaluate --on``)."""

    root: Path

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions.csv"

    @property
    def pred_vs_true_figure(self) -> Path:
        return self.root / "pred_vs_true.png"

    @property
    def va_plane_figure(self) -> Path:
        return self.root / "va_plane.png"


@dataclass(frozen=True)
class RunPaths:
    """Paths inside one run folder (``root`` is ``run.dir``)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # --- the run itself (extract)
    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def songs(self) -> Path:
        return self.root / "songs.csv"

    @property
    def normalization(self) -> Path:
        return self.root / "normalization.json"

    @property
    def songs_labels_figure(self) -> Path:
        return self.root / "songs_labels.png"

    @property
    def songs_examples_figure(self) -> Path:
        return self.root / "songs_examples.png"

    # --- train-gan
    @property
    def gan_dir(self) -> Path:
        return self.root / "gan"

    @property
    def gan_metrics(self) -> Path:
        return self.gan_dir / "metrics.csv"

    @property
    def gan_losses_figure(self) -> Path:
        return self.gan_dir / "losses.png"

    @property
    def gan_samples_figure(self) -> Path:
        return self.gan_dir / "samples.png"

    def gan_epoch_samples_figure(self, epoch: int) -> Path:
        return self.gan_dir / f"samples_epoch_{epoch:03d}.png"

    @property
    def gan_last(self) -> Path:
        return self.gan_dir / "last.pt"

    @property
    def generator(self) -> Path:
        return self.gan_dir / "generator.pt"

    # --- synthesize
    @property
    def synthetic_dir(self) -> Path:
        return self.root / "synthetic"

    @property
    def synthetic(self) -> Path:
        return self.synthetic_dir / "synthetic.npz"

    @property
    def quality(self) -> Path:
        return self.synthetic_dir / "quality.json"

    @property
    def quality_md(self) -> Path:
        return self.synthetic_dir / "quality.md"

    # --- train-ast
    @property
    def ast_dir(self) -> Path:
        return self.root / "ast"

    @property
    def best(self) -> Path:
        return self.ast_dir / "best.pt"

    @property
    def ast_last(self) -> Path:
        return self.ast_dir / "last.pt"

    @property
    def history(self) -> Path:
        return self.ast_dir / "history.csv"

    @property
    def curves_figure(self) -> Path:
        return self.ast_dir / "curves.png"

    # --- evaluate
    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def evaluation(self) -> EvalPaths:
        return EvalPaths(self.eval_dir)

    def evaluation_on(self, name: str) -> EvalPaths:
        """``eval/on-<name>/``: the run's model on every song of another dataset."""
        return EvalPaths(self.eval_dir / f"on-{name}")

    @property
    def report(self) -> Path:
        return self.evaluation.report

    @property
    def report_md(self) -> Path:
        return self.evaluation.report_md

    @property
    def predictions(self) -> Path:
        return self.evaluation.predictions

    # --- predict (default output) and study
    @property
    def predict_csv(self) -> Path:
        return self.root / "predictions" / "predict.csv"

    @property
    def study_dir(self) -> Path:
        return self.root / "study"
