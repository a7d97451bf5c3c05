"""astgan's public Python API: the stages as functions, and a trained model that predicts files.

Everything here is reachable as ``astgan.<name>`` and is imported only when first used, so
``import astgan`` stays fast and does not import torch::

    import astgan

    cfg = astgan.load_config("demo", ["run.dir=runs/mine"])
    astgan.extract(cfg)                  # song table, split, cached log-mels
    astgan.train_gan(cfg)                # run/gan/
    astgan.synthesize(cfg)               # run/synthetic/
    astgan.train_ast(cfg)                # run/ast/best.pt
    report = astgan.evaluate(cfg)        # run/eval/report.json (an EvaluationReport)
    astgan.evaluate(cfg, on="pmemo")     # every song of another dataset: run/eval/on-pmemo/
    astgan.export("runs/mine", "models/mine")   # a Hugging Face model folder

    model = astgan.load_model("models/mine")    # or a run folder
    songs = model.predict(["a.mp3", "music/"])  # DataFrame: path, duration_s, n_segments, valence, arousal

Each stage takes a :class:`~astgan.config.Config`, or the name/path of a config plus
``section.key=value`` overrides, and (like the CLI) saves the resolved config into the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from astgan.config import Config
    from astgan.evaluation.evaluate import EvaluationReport

__all__ = ["Model", "evaluate", "export", "extract", "load_config", "load_model", "predict", "run_study",
           "synthesize", "train_ast", "train_gan"]


def load_config(name_or_path: str | Path | None = "demo", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """A checked experiment config: a YAML file, a packaged config's name (``demo``, ``deam``), or
    the defaults (None), with ``section.key=value`` overrides applied."""
    from astgan.config import load_config as _load

    return _load(name_or_path, overrides)


def _run_config(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...]) -> Config:
    """``cfg`` as a Config (overrides applied), saved into its run folder as the CLI does."""
    from astgan.config import Config, save_run_config

    config = cfg.with_overrides(*overrides) if isinstance(cfg, Config) else load_config(cfg, overrides)
    save_run_config(config)
    return config


def extract(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = (), progress: bool = True):
    """Song table, split and cached log-mel features of the run (``astgan extract``); returns PreparedData."""
    from astgan.data.prepare import prepare_data

    return prepare_data(_run_config(cfg, overrides), progress=progress)


def train_gan(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = (), resume: bool = False):
    """Train the conditional spectrogram GAN (``astgan train-gan``); writes ``<run>/gan/``."""
    from astgan.gan.train import train_gan as _train

    return _train(_run_config(cfg, overrides), resume=resume)


def synthesize(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Draw the synthetic set from the trained generator (``astgan synthesize``); returns its quality report."""
    from astgan.synthetic.synthesis import synthesize as _synthesize

    return _synthesize(_run_config(cfg, overrides))


def train_ast(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = (), resume: bool = False):
    """Train the AST regressor (``astgan train-ast``); writes ``<run>/ast/best.pt``. Returns its training result."""
    from astgan.regressor.train import train_ast as _train

    return _train(_run_config(cfg, overrides), resume=resume)


def evaluate(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = (),
             on: Config | str | Path | None = None) -> EvaluationReport:
    """Evaluate the run's model on its TEST songs beside two baselines (``astgan evaluate``).

    Returns ``eval/report.json`` as an EvaluationReport: ``report.song["valence"]["ccc"]`` and so on;
    ``report.to_dict()`` is the file's content. ``on``: another dataset's config (or its name or
    path): evaluate on every song of it instead (``astgan evaluate --on``), into ``eval/on-<name>/``.
    """
    run_cfg = _run_config(cfg, overrides)
    if on is None:
        from astgan.evaluation.evaluate import evaluate as _evaluate

        return _evaluate(run_cfg)
    from astgan.config import Config, load_config
    from astgan.evaluation.cross import evaluate_on, evaluation_name

    other = on if isinstance(on, Config) else load_config(on)
    name = evaluation_name(other.data.dataset if isinstance(on, Config) else on)
    return evaluate_on(run_cfg, other, name)


def run_study(cfg: Config | str | Path, overrides: list[str] | tuple[str, ...] = (), resume: bool = False,
              quick: bool = False, base: str | Path | None = None):
    """The cross-validated learning curve of real vs GAN vs C-Mixup (``astgan study``); writes ``<run>/study/``.

    Returns a StudyResult: ``.summary`` (study.json as a dict, with ``["regions"]``: where on the label
    plane each arm helps), ``.table`` (study.csv as a DataFrame), ``.predictions`` (predictions.csv),
    ``.paths`` (the files written: ``.report``, ``.figure``, ...), and with ``base`` (the run folder of
    a finished study this one is a variant of, as ``astgan study --base``) ``.vs_base`` (vs_base.json).
    ``quick`` is the small version the tests run.
    """
    # named run_study, not study: ``astgan.study`` is the package that holds it
    from astgan.study import QUICK_OVERRIDES
    from astgan.study import run_study as _run

    config = _run_config(cfg, (tuple(QUICK_OVERRIDES) if quick else ()) + tuple(overrides))
    return _run(config, resume=resume, echo=lambda line: None, base=Path(base) if base is not None else None)


def export(run: str | Path, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write a run's model as a Hugging Face folder (``astgan export``); returns ``out_dir``.

    ``AutoModelForAudioClassification.from_pretrained(out_dir)`` loads it with transformers alone.
    """
    from astgan.regressor.export import export_model

    return export_model(run, out_dir, overwrite=overwrite).out_dir


def predict(model: str | Path, paths: list[str | Path], out: str | Path | None = None, **options):
    """``astgan predict`` as a function: writes the CSV, returns a PredictionResult.

    ``options``: timeline, resume, workers, batch_size, device, progress (see ``predict_files``).
    For a DataFrame without a CSV use ``load_model(model).predict(paths)``.
    """
    from astgan.regressor.predict import predict_files

    return predict_files(model, list(paths), out=out, **options)


def load_model(path: str | Path, device: str = "auto") -> Model:
    """A trained model: a run folder, a checkpoint (``ast/best.pt``) or an ``astgan export`` folder."""
    from astgan.regressor.inference import load_trained
    from astgan.runtime import resolve_device

    return Model(load_trained(path, resolve_device(device)))


class Model:
    """A trained valence/arousal regressor with the feature settings it was trained with."""

    def __init__(self, trained):
        self.trained = trained  # astgan.regressor.inference.TrainedRegressor

    def __repr__(self) -> str:
        n_mels, frames = self.trained.model.input_shape
        return f"astgan.Model({self.trained.path}, {n_mels} mel bins x {frames} frames, device {self.trained.device})"

    @property
    def config(self) -> Config:
        """The experiment config it was trained with (``config.features`` describes its inputs)."""
        return self.trained.config

    @property
    def torch_model(self):
        """The ``torch.nn.Module``: (B, n_mels, frames) normalised log-mels -> (B, 2) on -1..1."""
        return self.trained.model

    def predict(self, paths: list[str | Path] | str | Path, segments: bool = False, workers: int = 0,
                batch_size: int | None = None, progress: bool = False) -> pd.DataFrame:
        """Predict audio files (folders are searched recursively); valence and arousal on DEAM's 1..9 scale.

        Returns one row per file: ``path, duration_s, n_segments, valence, arousal`` (the mean of
        the file's segments, as in evaluation); with ``segments``, one row per segment instead:
        ``path, start_s, end_s, valence, arousal``. Files that cannot be decoded are left out,
        with a warning; ``df.attrs["failed"]`` maps each to the reason.
        """
        import logging

        import pandas as pd
        from tqdm import tqdm

        from astgan.data.labels import to_deam_scale
        from astgan.regressor.library import SegmentedFile, find_audio_files, segmented_files
        from astgan.regressor.predict import predict_stream

        files = find_audio_files([paths] if isinstance(paths, (str, Path)) else list(paths))
        trained = self.trained
        stream = predict_stream(
            trained, segmented_files(files, trained.config.features, trained.normalization, workers),
            batch_size or 2 * trained.config.ast.batch_size)
        rows, failed = [], {}
        for item in tqdm(stream, total=len(files), desc="predict", unit="file", disable=not progress):
            if isinstance(item, SegmentedFile):
                failed[item.path] = item.error
                logging.getLogger("astgan").warning(f"skipped {item.error}")
                continue
            if segments:
                deam = to_deam_scale(item.segments)
                rows += [[str(item.path), float(s), float(e), float(v), float(a)]
                         for s, e, (v, a) in zip(item.starts_s, item.ends_s, deam)]
            else:
                v, a = to_deam_scale(item.song)
                rows.append([str(item.path), item.duration_s, len(item.segments), float(v), float(a)])
        columns = (["path", "start_s", "end_s", "valence", "arousal"] if segments
                   else ["path", "duration_s", "n_segments", "valence", "arousal"])
        table = pd.DataFrame(rows, columns=columns)
        # decoding workers finish in any order: give the rows the order of the files
        order = {str(f): i for i, f in enumerate(files)}
        table = table.sort_values("path", key=lambda p: p.map(order), kind="stable").reset_index(drop=True)
        table.attrs["failed"] = failed
        return table
