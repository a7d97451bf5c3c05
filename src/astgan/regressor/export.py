"""``astgan export``: a trained run as a Hugging Face model folder that transformers loads alone.

The folder (``OUT_DIR``)::

    config.json                 ASTConfig: num_labels 2, id2label {0: valence, 1: arousal},
                                problem_type regression, architectures [ASTForAudioClassification]
    model.safetensors           the weights (save_pretrained)
    preprocessor_config.json    ASTFeatureExtractor: sampling_rate, num_mel_bins, max_length (the
                                segment length in frames), mean and std of the run's normalisation
    astgan.json                 what transformers has no field for: frame length/shift, segment
                                hop, the label scale, the training config, the evaluation
    README.md                   the model card: evaluation table with its baselines, data,
                                intended use, limits

``AutoModelForAudioClassification.from_pretrained(OUT_DIR)`` and
``AutoFeatureExtractor.from_pretrained(OUT_DIR)`` load it without astgan; ``astgan predict OUT_DIR``
and ``astgan.load_model(OUT_DIR)`` read it too (then songs are cut into segments and averaged
exactly as in ``astgan evaluate``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from astgan.artifacts import load_checkpoint, package_version, read_json, write_json, write_text
from astgan.config import Config, FeaturesConfig
from astgan.data.features import Normalization
from astgan.errors import AstganError, CheckpointError
from astgan.metrics import song_level_table
from astgan.paths import RunPaths

log = logging.getLogger(__name__)

EXPORT_META = "astgan.json"
EXPORT_FORMAT = 1  # bump when astgan.json changes in a way older readers cannot follow


@dataclass
class ExportResult:
    out_dir: Path
    files: list[Path]
    evaluated: bool  # whether the card holds the run's evaluation table


def export_model(source: str | Path, out_dir: str | Path, overwrite: bool = False) -> ExportResult:
    """Write ``source``'s regressor (a run folder, or its ``ast/best.pt``) to ``out_dir`` (see module doc).

    The folder is written beside ``out_dir`` and renamed into place, so a failed export leaves no
    half-written model. An existing non-empty ``out_dir`` is replaced only with ``overwrite``.
    """
    from astgan.regressor.model import is_legacy_checkpoint, legacy_message, regressor_and_config, to_hf_model

    best, run_paths = _checkpoint_of(Path(source))
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not overwrite:
        raise AstganError(f"{out_dir} exists and is not empty; choose a new folder or pass --overwrite")
    ckpt = load_checkpoint(best, produced_by="train-ast")
    if is_legacy_checkpoint(ckpt):
        raise CheckpointError(legacy_message(str(best)))
    model, cfg = regressor_and_config(ckpt, str(best))
    normalization = Normalization.from_dict(ckpt.get("normalization"), f"{best}: 'normalization' entry")
    report = read_json(run_paths.report) if run_paths is not None and run_paths.report.is_file() else None
    if report is None:
        log.warning(f"no evaluation found beside {best} (eval/report.json): the model card will say so; "
                    "run `astgan evaluate` first for a card with the test results")
    meta = export_metadata(cfg, normalization, ckpt, best, report)
    card = model_card(cfg, normalization, meta, report, _split_counts(run_paths))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        to_hf_model(model).save_pretrained(staging)  # config.json + model.safetensors
        feature_extractor(cfg.features, normalization).save_pretrained(staging)
        write_json(staging / EXPORT_META, meta)
        write_text(staging / "README.md", card)
        _publishable(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(p for p in out_dir.iterdir() if p.is_file())
    log.info(f"exported {best} to {out_dir}: {', '.join(p.name for p in files)}")
    return ExportResult(out_dir, files, report is not None)


def _publishable(folder: Path) -> None:
    """The usual modes (mkdtemp makes a private folder): a model folder is meant to be shared."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def _checkpoint_of(source: Path) -> tuple[Path, RunPaths | None]:
    """(``ast/best.pt``, its run folder's paths) of a run folder or of a checkpoint file."""
    if source.is_dir():
        paths = RunPaths(source)
        if not paths.best.is_file():
            raise AstganError(f"{paths.best} not found; run `astgan train-ast` first (export reads a run folder)")
        return paths.best, paths
    if source.parent.name == "ast":  # <run>/ast/best.pt or last.pt: the run folder is two levels up
        return source, RunPaths(source.parent.parent)
    return source, None


def feature_extractor(features: FeaturesConfig, normalization: Normalization):
    """The ``ASTFeatureExtractor`` holding astgan's feature settings and normalisation."""
    from transformers import ASTFeatureExtractor

    return ASTFeatureExtractor(
        sampling_rate=features.sample_rate,
        num_mel_bins=features.n_mels,
        max_length=features.segment_frames,
        do_normalize=True,
        mean=normalization.mean,
        std=normalization.std,
    )


def export_metadata(cfg: Config, normalization: Normalization, ckpt: dict, best: Path, report: dict | None) -> dict:
    """``astgan.json``: plain data that lets astgan rebuild the run's inputs and outputs exactly."""
    f = cfg.features
    return {
        "format": EXPORT_FORMAT,
        "astgan_version": package_version(),
        "labels": {"names": ["valence", "arousal"], "scale": [-1.0, 1.0],
                   "to_deam_scale": "deam = 4 * x + 5 (DEAM's 1..9 self-assessment scale)"},
        "features": {"sample_rate": f.sample_rate, "n_mels": f.n_mels, "frame_length_ms": f.frame_length_ms,
                     "frame_shift_ms": f.frame_shift_ms, "window": "hanning", "kaldi_fbank": True,
                     "segment_frames": f.segment_frames, "segment_hop": f.segment_hop,
                     "max_segments_per_song": f.max_segments_per_song, "song_prediction": "mean of segments"},
        "normalization": normalization.to_dict(),
        "checkpoint": {"path": str(best), "epoch": int(ckpt.get("epoch", -1)), "val": ckpt.get("val", {})},
        "evaluation": _evaluation_summary(report),
        "config": cfg.to_dict(),
    }


def _evaluation_summary(report: dict | None) -> dict | None:
    if report is None:
        return None
    return {key: report[key] for key in ("song", "baselines", "intervals", "n_test_songs", "n_test_segments")
            if key in report}


@dataclass
class ExportedModel:
    """An export folder read back by astgan: the model (eval mode, CPU) and how to feed it."""

    model: object  # ASTRegressor
    config: Config  # the training config saved in astgan.json
    normalization: Normalization
    epoch: int
    meta: dict


def is_export_folder(path: str | Path) -> bool:
    """A folder written by ``astgan export`` (or by ``save_pretrained`` beside an astgan.json)."""
    path = Path(path)
    return path.is_dir() and (path / "config.json").is_file()


def load_export(folder: str | Path) -> ExportedModel:
    """Read an export folder: transformers' ``from_pretrained`` for the weights, astgan.json for the rest."""
    from transformers import ASTForAudioClassification

    from astgan.regressor.model import from_hf_model

    folder = Path(folder)
    meta_path = folder / EXPORT_META
    if not meta_path.is_file():
        raise CheckpointError(f"{folder} holds a Hugging Face model but no {EXPORT_META}: astgan needs the feature "
                              "settings it was trained with; export the run with `astgan export RUN OUT_DIR`")
    meta = read_json(meta_path)
    if int(meta.get("format", 0)) > EXPORT_FORMAT:
        raise CheckpointError(f"{meta_path}: export format {meta.get('format')} is newer than this astgan reads "
                              f"({EXPORT_FORMAT}); upgrade astgan")
    try:
        config = Config.from_dict(meta["config"], source=f"{meta_path} (saved config)")
        normalization = Normalization.from_dict(meta["normalization"], f"{meta_path}: 'normalization'")
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{meta_path}: damaged ({err}); export the run again") from None
    try:
        hf_model = ASTForAudioClassification.from_pretrained(folder)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{folder}: cannot load the model weights ({err}); export the run again") from None
    model = from_hf_model(hf_model).eval()
    expected = (config.features.n_mels, config.features.segment_frames)
    if model.input_shape != expected:
        raise CheckpointError(f"{folder}: config.json reads {model.input_shape} spectrograms but {EXPORT_META} "
                              f"says {expected}; export the run again")
    return ExportedModel(model, config, normalization, int(meta.get("checkpoint", {}).get("epoch", -1)), meta)


# --------------------------------------------------------------------------- the model card


def _split_counts(run_paths: RunPaths | None) -> dict[str, int] | None:
    if run_paths is None or not run_paths.songs.is_file():
        return None
    return pd.read_csv(run_paths.songs)["split"].value_counts().to_dict()


def _is_demo(cfg: Config) -> bool:
    from astgan.data.demo import MARKER

    return (Path(cfg.data.root) / MARKER).is_file() or Path(cfg.data.root).name == "demo"


def _data_description(cfg: Config) -> str:
    if _is_demo(cfg):
        return ("astgan's **embedded demo**: procedural music in DEAM's layout whose valence and arousal drive "
                "the sound (tempo, density, mode, roughness, ...). It was made to exercise the pipeline; a "
                "model trained on it has never heard real music and must not be used on real recordings.")
    return (f"the folder `{cfg.data.root}` in DEAM's layout (the MediaEval Database for Emotional Analysis in "
            "Music: 1,802 songs, 45 s excerpts and full songs, static valence/arousal ratings per song on 1..9).")


def _evaluation_section(report: dict | None) -> list[str]:
    if report is None:
        return ["Not evaluated: the run folder had no `eval/report.json` when it was exported "
                "(`astgan evaluate` writes it). Do not use this model before you have measured it.", ""]
    ints = report.get("intervals", {})
    lines = [
        f"Song level on the run's **{report['n_test_songs']} TEST songs** (never seen in training or model "
        "selection; each song's segment predictions averaged). RMSE and MAE on DEAM's 1..9 scale. The CCC "
        f"intervals are {ints.get('confidence', 0.95):.0%} {ints.get('method', 'bootstrap')} "
        f"({ints.get('n_boot', '?')} resamples). Baselines: *ridge* is a ridge regression on per-band log-mel "
        "mean and standard deviation; *TRAIN mean* always predicts the mean TRAIN label.",
        "",
        song_level_table(report),
        "",
    ]
    if report["n_test_songs"] < 100:
        lines += [f"With {report['n_test_songs']} test songs the CCC moves by several hundredths between splits: "
                  "read the intervals, not the third decimal.", ""]
    return lines


def model_card(cfg: Config, normalization: Normalization, meta: dict, report: dict | None,
               split_counts: dict[str, int] | None) -> str:
    """The export's README.md (Hugging Face model card with YAML front matter)."""
    f, a = cfg.features, cfg.ast
    seconds = (f.frame_length_ms + (f.segment_frames - 1) * f.frame_shift_ms) / 1000.0
    hop_seconds = f.segment_hop * f.frame_shift_ms / 1000.0
    window_samples = round(f.sample_rate * f.frame_length_ms / 1000.0)
    segment_samples = window_samples + (f.segment_frames - 1) * round(f.sample_rate * f.frame_shift_ms / 1000.0)
    hop_samples = f.segment_hop * round(f.sample_rate * f.frame_shift_ms / 1000.0)
    splits = (", ".join(f"{split_counts.get(s, 0)} {s.upper()}" for s in ("train", "val", "test")) + " songs"
              if split_counts else "see `astgan.json` (`config`)")
    arch = meta["config"]["ast"]
    source = (f"encoder initialised from `{a.pretrained}`" if a.pretrained
              else "trained from scratch (no pretrained weights)")
    synthetic = (f"plus {a.synthetic_ratio:g} synthetic segments per real one drawn by astgan's conditional "
                 "spectrogram GAN (training only)" if a.synthetic_ratio > 0 else "real segments only (no GAN data)")
    labels = ("labels drawn by the demo generator (with annotation-like noise), scaled to -1..1" if _is_demo(cfg)
              else "labels: each song's static ratings averaged over its annotators, scaled to -1..1")
    frames_note = ("" if (f.frame_length_ms, f.frame_shift_ms) == (25.0, 10.0) else
                   f"\n- **This run used {f.frame_length_ms:g} ms frames every {f.frame_shift_ms:g} ms**, which "
                   "`ASTFeatureExtractor` cannot express (it always uses 25 / 10 ms): use astgan to predict.")
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: audio-classification",
        "tags:",
        "- music-emotion-recognition",
        "- valence",
        "- arousal",
        "- regression",
        "- audio-spectrogram-transformer",
        "- astgan",
        "---",
        "",
        "# Valence and arousal of music (Audio Spectrogram Transformer regressor)",
        "",
        "An `ASTForAudioClassification` with two regression outputs, **valence** (output 0) and **arousal** "
        f"(output 1), trained with astgan {meta['astgan_version']}. Outputs are on the -1..1 scale; "
        "DEAM's 1..9 rating is `4 * x + 5` "
        "(clip to -1..1 first). The model reads one segment of "
        f"{seconds:.2f} s; a song's prediction is the mean over its segments.",
        "",
        "## Evaluation",
        "",
        *_evaluation_section(report),
        "## Use it",
        "",
        "With astgan (decodes any format, resamples, cuts segments and averages them exactly as in training "
        "and evaluation):",
        "",
        "```bash",
        "astgan predict THIS_FOLDER music/ --out predictions.csv",
        "```",
        "",
        "```python",
        "import astgan",
        "songs = astgan.load_model('THIS_FOLDER').predict(['song.mp3', 'music/'])",
        "# one row per file: path, duration_s, n_segments, valence, arousal (1..9)",
        "```",
        "",
        "With transformers alone (mono audio at the extractor's sampling rate):",
        "",
        "```python",
        "import torch",
        "from transformers import AutoFeatureExtractor, AutoModelForAudioClassification",
        "",
        "extractor = AutoFeatureExtractor.from_pretrained('THIS_FOLDER')",
        "model = AutoModelForAudioClassification.from_pretrained('THIS_FOLDER').eval()",
        "# audio: a mono float32 numpy array at extractor.sampling_rate",
        f"segment, hop = {segment_samples}, {hop_samples}  # samples: {f.segment_frames} frames, "
        f"hop {f.segment_hop} frames",
        "starts = range(0, max(len(audio) - segment, 0) + 1, hop)",
        "windows = [audio[s:s + segment] for s in starts]",
        "inputs = extractor(windows, sampling_rate=extractor.sampling_rate, return_tensors='pt')",
        "with torch.no_grad():",
        "    logits = model(**inputs).logits  # (segments, 2) on -1..1",
        "valence, arousal = (logits.clamp(-1, 1).mean(0) * 4 + 5).tolist()  # DEAM's 1..9 scale",
        "```",
        "",
        "## Inputs",
        "",
        f"- Kaldi-compatible log-mel filterbank computed by astgan (matching torchaudio's `kaldi.fbank`): "
        f"{f.sample_rate} Hz mono, {f.n_mels} mel bins, "
        f"Hanning window of {f.frame_length_ms:g} ms every {f.frame_shift_ms:g} ms, no dither.",
        f"- Normalisation `(x - mean) / (2 * std)` with mean {normalization.mean:.4f}, std {normalization.std:.4f} "
        f"({'AudioSet statistics' if normalization.source == 'audioset' else 'computed on the TRAIN songs'}).",
        f"- Segments of {f.segment_frames} frames ({seconds:.2f} s) every {f.segment_hop} frames "
        f"({hop_seconds:.2f} s); "
        "astgan adds one segment aligned to the end of the song when the hop leaves a tail"
        + (f", and keeps at most {f.max_segments_per_song} evenly spaced segments" if f.max_segments_per_song else "")
        + ".",
        "- `preprocessor_config.json` (`ASTFeatureExtractor`) computes the same log-mel and normalisation for a "
        "segment. It differs from astgan in three ways: it keeps only the first "
        f"{f.segment_frames} frames of what it is given (cut the song into segments yourself, as above); it pads "
        "audio shorter than one segment with log-mel value 0 where astgan pads with the song's quietest value; "
        "and it needs mono audio already at its sampling rate (astgan decodes, mixes down and resamples with "
        "soxr). astgan also subtracts the waveform's mean before the filterbank; Kaldi removes each frame's DC "
        "offset anyway, so the features agree to float rounding." + frames_note,
        "- `astgan.json` holds the settings transformers has no field for, and the whole training config.",
        "",
        "## Training",
        "",
        f"- Data: {_data_description(cfg)}",
        f"- Split by song: {splits}; {labels}.",
        f"- Training set: {synthetic}; SpecAugment masks; early stopping on VAL song-level mean CCC "
        f"(best epoch {meta['checkpoint']['epoch']}).",
        f"- Model: AST, {source}; {arch['num_layers']} layers, hidden size {arch['hidden_size']}, "
        f"{arch['num_heads']} heads, patch {arch['patch_size']} with strides {arch['frequency_stride']} x "
        f"{arch['time_stride']}; loss {a.loss}, learning rate {a.lr:g}, batch size {a.batch_size}.",
        "",
        "## Intended use",
        "",
        "Research on music emotion recognition: estimating the perceived valence (unpleasant..pleasant) and "
        "arousal (calm..excited) of a whole piece of music, comparing methods on DEAM-style data, or as a "
        "baseline to fine-tune. Song-level estimates are the quantity it was selected and evaluated on.",
        "",
        "## Limits",
        "",
        "- It estimates the emotion a listener **perceives** in the music, averaged over a few annotators; not "
        "what any one listener feels. DEAM's ratings are noisy (annotators agree moderately, valence less than "
        "arousal), and that noise bounds any model's score.",
        "- Song level only: it was trained on one static rating per song and selected on song-level CCC. The "
        "per-segment values (`astgan predict --timeline`) are not per-second emotion annotations.",
        "- The training music is Western popular/instrumental music of DEAM's kind (or procedural demo music); "
        "other genres, speech, or non-musical audio give numbers without meaning.",
        "- Scores from a single split of a small test set are uncertain: compare models with the intervals, "
        "repeated splits or `astgan study`.",
        "- The weights carry the terms of their training data (`data.root` in `astgan.json`): check them "
        "before you redistribute the model.",
        "",
    ]
    return "\n".join(lines)
