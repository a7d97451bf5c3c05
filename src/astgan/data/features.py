"""Log-mel features: extraction, the on-disk cache, segmenting and normalisation.

Convention: a spectrogram is a float array of shape (n_mels, frames) everywhere in astgan — in the
cache, in segments, in the GAN and in ``synthetic.npz``. Only the AST regressor transposes to its
own (frames, n_mels) input.

Features are Kaldi-compatible log-mel filterbanks (:mod:`astgan.data.fbank`, the same numbers as
torchaudio's ``kaldi.fbank``) computed exactly as the Audio Spectrogram Transformer was pretrained
on: 16 kHz mono, Hanning window of 25 ms, 10 ms hop, no dither, mean-subtracted waveform.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from astgan.artifacts import atomic_path, write_json
from astgan.config import FeaturesConfig
from astgan.data.audio import AudioDecodeError, load_audio

log = logging.getLogger(__name__)

# Bump when the extraction code changes in a way that changes the numbers in the cache.
FEATURE_VERSION = 1
CACHE_DTYPE = np.float16  # log-mel values lie in about -16..+16: float16 keeps 0.01 resolution

# -------------------------------------------------------------------------------- extraction


def log_mel(waveform: np.ndarray, cfg: FeaturesConfig) -> np.ndarray:
    """Kaldi log-mel filterbank of a mono waveform at ``cfg.sample_rate``.

    ``waveform``: (samples,) float. Returns (n_mels, frames) float32; a waveform shorter than one
    window is zero-padded to one frame.
    """
    import torch

    from astgan.data.fbank import fbank

    window = int(round(cfg.sample_rate * cfg.frame_length_ms / 1000.0))
    if waveform.shape[0] < window:
        waveform = np.pad(waveform, (0, window - waveform.shape[0]))
    signal = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32))
    signal = signal - signal.mean()
    mels = fbank(
        signal,
        cfg.sample_rate,
        cfg.n_mels,
        frame_length_ms=cfg.frame_length_ms,
        frame_shift_ms=cfg.frame_shift_ms,
        window="hanning",
    )  # (frames, n_mels)
    return mels.T.contiguous().numpy()


# -------------------------------------------------------------------------------- the cache


def _settings(cfg: FeaturesConfig) -> dict:
    """The feature settings that change the numbers in a cache entry."""
    return {
        "version": FEATURE_VERSION,
        "sample_rate": cfg.sample_rate,
        "n_mels": cfg.n_mels,
        "frame_length_ms": cfg.frame_length_ms,
        "frame_shift_ms": cfg.frame_shift_ms,
    }


def _short_hash(data: object) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class FeatureCache:
    """On-disk cache of log-mels, one ``.npy`` per audio file.

    Entries live in ``<cache_dir>/<settings hash>/`` so that other feature settings never read
    them, and are named by the audio file's identity (resolved path, size, mtime): a changed file
    gets a new entry. Entries are written atomically; one that fails to open or has the wrong shape
    counts as missing and is extracted again.
    """

    def __init__(self, cfg: FeaturesConfig):
        self.cfg = cfg
        self.settings = _settings(cfg)
        self.root = Path(cfg.cache_dir) / _short_hash(self.settings)

    def ensure_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        settings_file = self.root / "settings.json"
        if not settings_file.exists():
            write_json(settings_file, self.settings)

    def path_for(self, audio_path: str | Path) -> Path:
        audio_path = Path(audio_path).resolve()
        stat = audio_path.stat()
        identity = {"path": str(audio_path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        return self.root / f"{audio_path.stem}-{_short_hash(identity)}.npy"

    def load(self, audio_path: str | Path) -> np.ndarray | None:
        """Memory-mapped (n_mels, frames) entry for ``audio_path``, or None when missing or invalid."""
        try:
            return self.open(self.path_for(audio_path))
        except (OSError, ValueError):
            return None

    def open(self, entry: str | Path) -> np.ndarray:
        """Memory-map one entry and check it; raises ValueError when it is damaged."""
        array = np.load(entry, mmap_mode="r", allow_pickle=False)
        if array.ndim != 2 or array.shape[0] != self.cfg.n_mels or array.shape[1] < 1:
            raise ValueError(f"{entry}: cached features have shape {array.shape}, expected ({self.cfg.n_mels}, frames)")
        if array.dtype != CACHE_DTYPE:
            raise ValueError(f"{entry}: cached features have dtype {array.dtype}, expected {np.dtype(CACHE_DTYPE)}")
        return array

    def store(self, audio_path: str | Path, features: np.ndarray) -> Path:
        entry = self.path_for(audio_path)
        with atomic_path(entry) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, features.astype(CACHE_DTYPE), allow_pickle=False)
        return entry


def audio_log_mel(path: str | Path, cfg: FeaturesConfig) -> tuple[np.ndarray, float]:
    """Decode ``path`` and extract its log-mel: ((n_mels, frames) float32, duration in seconds).

    Raises :class:`AudioDecodeError` naming the file when it cannot be decoded or its log-mel is
    not finite.
    """
    waveform = load_audio(path, cfg.sample_rate)
    features = log_mel(waveform, cfg)
    if not np.isfinite(features).all():
        raise AudioDecodeError(f"{path}: log-mel holds NaN or infinite values")
    return features, waveform.shape[0] / cfg.sample_rate


def _extract_one(audio_path: str, cfg_dict: dict) -> tuple[str, str | None, str | None]:
    """Decode, extract and store one file. Returns (audio path, cache entry, error)."""
    cfg = FeaturesConfig(**cfg_dict)
    cache = FeatureCache(cfg)
    try:
        features, _ = audio_log_mel(audio_path, cfg)
        return audio_path, str(cache.store(audio_path, features)), None
    except AudioDecodeError as err:
        return audio_path, None, str(err)
    except OSError as err:
        return audio_path, None, f"{audio_path}: {err.strerror or err}"


@dataclass
class ExtractionResult:
    entries: dict[str, Path] = field(default_factory=dict)  # audio path -> cache entry
    failed: dict[str, str] = field(default_factory=dict)  # audio path -> reason
    n_cached: int = 0  # already in the cache
    n_extracted: int = 0  # computed in this call


def extract_features(audio_paths: list[str], cfg: FeaturesConfig, progress: bool = True) -> ExtractionResult:
    """Make sure every file has a valid cache entry; extract the missing ones in parallel.

    Files that cannot be decoded are reported in ``failed`` (with a warning), never raised.
    Completed entries survive an interruption: each one is renamed into place when whole.
    """
    from tqdm import tqdm

    cache = FeatureCache(cfg)
    cache.ensure_root()
    result = ExtractionResult()
    todo = []
    for path in audio_paths:
        if cache.load(path) is not None:
            result.entries[path] = cache.path_for(path)
            result.n_cached += 1
        else:
            todo.append(path)

    workers = min(cfg.num_workers, len(todo))
    if workers > 1:
        _import_extractors()  # forked workers inherit them instead of importing torch each
    bar = tqdm(total=len(todo), desc="extract log-mel", unit="song", disable=not progress or not todo)
    cfg_dict = asdict(cfg)
    if workers <= 1:
        outcomes = (_extract_one(path, cfg_dict) for path in todo)
        _collect(outcomes, result, bar)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_one_thread) as pool:
            futures = [pool.submit(_extract_one, path, cfg_dict) for path in todo]
            try:
                _collect((f.result() for f in as_completed(futures)), result, bar)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    bar.close()
    for reason in result.failed.values():
        log.warning(f"skipped (cannot extract features): {reason}")
    return result


def _collect(outcomes, result: ExtractionResult, bar) -> None:
    for audio_path, entry, error in outcomes:
        if error is None:
            result.entries[audio_path] = Path(entry)
            result.n_extracted += 1
        else:
            result.failed[audio_path] = error
        bar.update(1)


def _import_extractors() -> None:
    """Import the extraction stack once in this process: forked workers inherit it (torch alone
    takes about a second to import, which every worker would otherwise pay)."""
    import soundfile  # noqa: F401
    import soxr  # noqa: F401

    import astgan.data.fbank  # noqa: F401  (imports torch)


def _one_thread() -> None:
    """Pool worker start-up: the pool gives the parallelism, one torch thread each avoids oversubscription."""
    import torch

    torch.set_num_threads(1)


def _pool_context():
    """Fork is fast and safe here (workers only use the CPU); spawn where fork is unavailable."""
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


# -------------------------------------------------------------------------------- segments


def segment_starts(n_frames: int, segment_frames: int, hop: int, max_segments: int | None = None) -> np.ndarray:
    """Start frames of the fixed-length segments cut from a song of ``n_frames`` frames.

    Segments start every ``hop`` frames; one more segment is aligned to the end when the hop grid
    leaves a tail uncovered. A song shorter than one segment gives one segment at 0 (padded when
    read). ``max_segments`` keeps an evenly spaced subset.
    """
    if n_frames <= segment_frames:
        return np.zeros(1, dtype=np.int64)
    last = n_frames - segment_frames
    starts = np.arange(0, last + 1, hop, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    if max_segments is not None and len(starts) > max_segments:
        starts = starts[np.round(np.linspace(0, len(starts) - 1, max_segments)).astype(np.int64)]
    return starts


def cut_segment(features: np.ndarray, start: int, segment_frames: int) -> np.ndarray:
    """One (n_mels, segment_frames) float32 segment; a short song is padded with its quietest value."""
    piece = np.asarray(features[:, start:start + segment_frames], dtype=np.float32)
    missing = segment_frames - piece.shape[1]
    if missing > 0:
        piece = np.pad(piece, ((0, 0), (0, missing)), constant_values=float(np.min(features)))
    return piece


# -------------------------------------------------------------------------------- normalisation

AUDIOSET_MEAN = -4.2677393  # the statistics AST was pretrained with (its authors' AudioSet values)
AUDIOSET_STD = 4.5689974


@dataclass
class Normalization:
    """x -> (x - mean) / (2 std), AST's convention: most values land in -1..1."""

    mean: float
    std: float
    source: str  # "train" (computed on TRAIN songs) or "audioset"

    def apply(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / (2.0 * self.std)

    def invert(self, normalised: np.ndarray) -> np.ndarray:
        return normalised * (2.0 * self.std) + self.mean

    def to_dict(self) -> dict:
        """Plain data for normalization.json and checkpoints."""
        return {"mean": float(self.mean), "std": float(self.std), "source": self.source}

    @classmethod
    def from_dict(cls, data: dict, where: str = "normalisation") -> Normalization:
        """The inverse of :meth:`to_dict`; extra keys are ignored, missing ones are an error."""
        if not isinstance(data, dict) or not {"mean", "std"} <= set(data):
            raise ValueError(f"{where}: expected a mapping with 'mean' and 'std', got {data!r}")
        return cls(float(data["mean"]), float(data["std"]), str(data.get("source", "train")))


def train_statistics(entries: list[Path], cache: FeatureCache) -> tuple[float, float]:
    """Scalar mean and std over every value of the given cache entries (TRAIN songs only)."""
    total, total_sq, count = 0.0, 0.0, 0
    for entry in entries:
        values = np.asarray(cache.open(entry), dtype=np.float64)
        total += values.sum()
        total_sq += np.square(values).sum()
        count += values.size
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean * mean, 1e-12)))
    return float(mean), std
