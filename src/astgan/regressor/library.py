"""A music library as the model reads it: which audio files, which process takes each, and each one
decoded, turned into the training log-mel and cut into normalised segments (in worker processes).

The input side of ``astgan predict`` (:mod:`astgan.regressor.predict`) and of ``astgan.predict``: a
file that cannot be decoded comes back with ``error`` set instead of stopping the library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from astgan.config import FeaturesConfig
from astgan.data.audio import AUDIO_EXTENSIONS, AudioDecodeError
from astgan.data.features import Normalization, audio_log_mel, cut_segment, segment_starts
from astgan.errors import DataError

# --------------------------------------------------------------------------- files


def find_audio_files(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus every audio file below the named folders (sorted, no repeats)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(found))
    if not unique:
        shown = ", ".join(str(p) for p in paths)
        raise DataError(f"no audio files ({' '.join(AUDIO_EXTENSIONS)}) found in {shown}")
    return unique


def shard_files(files: list[Path], rank: int, world_size: int) -> list[Path]:
    """Process ``rank``'s share of ``files``: largest first to the least loaded share, by bytes.

    Every process computes the same assignment from the same list, so the shares never overlap
    and together hold every file. The share keeps the input order.
    """
    if world_size <= 1:
        return list(files)
    sizes = [f.stat().st_size if f.is_file() else 0 for f in files]
    loads = [0] * world_size
    owner = [0] * len(files)
    for index in sorted(range(len(files)), key=lambda i: (-sizes[i], i)):
        shard = min(range(world_size), key=lambda s: (loads[s], s))
        owner[index] = shard
        loads[shard] += sizes[index]
    return [f for f, o in zip(files, owner) if o == rank]


# --------------------------------------------------------------------------- one file


@dataclass
class SegmentedFile:
    """One decoded file, ready for the model: normalised segments and their times.

    ``specs``: (n, n_mels, segment_frames) float32; ``starts_s``/``ends_s``: (n,) seconds.
    ``error`` is set (and the arrays empty) when the file could not be decoded.
    """

    path: str
    duration_s: float = 0.0
    starts_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ends_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    specs: np.ndarray | None = None
    error: str | None = None


def segment_file(path: str | Path, features_cfg: FeaturesConfig, normalization: Normalization) -> SegmentedFile:
    """Decode, extract, segment and normalise one file. Raises AudioDecodeError (or OSError)."""
    features, duration = audio_log_mel(path, features_cfg)
    n_frames = features.shape[1]
    length = features_cfg.segment_frames
    starts = segment_starts(n_frames, length, features_cfg.segment_hop, features_cfg.max_segments_per_song)
    specs = np.stack([normalization.apply(cut_segment(features, int(s), length)) for s in starts]).astype(np.float32)
    # frame i covers [i * shift, i * shift + window] seconds; a padded segment ends with the audio
    shift, window = features_cfg.frame_shift_ms / 1000.0, features_cfg.frame_length_ms / 1000.0
    last_frames = np.minimum(starts + length, n_frames) - 1
    return SegmentedFile(
        path=str(path),
        duration_s=round(duration, 2),
        starts_s=np.round(starts * shift, 2),
        ends_s=np.round(np.minimum(last_frames * shift + window, duration), 2),
        specs=specs,
    )


def _segment_or_error(path: str, features: dict, normalization: dict) -> SegmentedFile:
    """:func:`segment_file` for a worker process: plain arguments in, errors returned, never raised."""
    try:
        return segment_file(path, FeaturesConfig(**features), Normalization.from_dict(normalization))
    except (AudioDecodeError, OSError) as err:
        reason = str(err) if path in str(err) else f"{path}: {err}"  # always name the file
        return SegmentedFile(path=path, error=reason)


def segmented_files(paths: Iterable[str | Path], features_cfg: FeaturesConfig, normalization: Normalization,
                    workers: int = 0) -> Iterator[SegmentedFile]:
    """:func:`segment_file` of every path, with errors as ``SegmentedFile.error``.

    ``workers`` = 0 decodes here, in order; otherwise ``workers`` processes decode while the
    caller runs the model, and files come back as they finish (at most ``2 * workers`` ahead).
    """
    args = (asdict(features_cfg), normalization.to_dict())
    paths = [str(p) for p in paths]
    if workers <= 0:
        for path in paths:
            yield _segment_or_error(path, *args)
        return
    from astgan.data.features import _import_extractors, _one_thread, _pool_context

    _import_extractors()  # forked workers inherit the imports instead of paying for them each
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(), initializer=_one_thread) as pool:
        queue = iter(paths)
        running = set()
        try:
            while True:
                for path in queue:
                    running.add(pool.submit(_segment_or_error, path, *args))
                    if len(running) >= 2 * workers:
                        break
                if not running:
                    return
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:  # the caller stopped early or failed: drop what has not started
            for future in running:
                future.cancel()
