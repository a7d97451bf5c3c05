"""Audio files: which extensions count as audio, and decoding any of them to a mono waveform.

Decoding uses soundfile (libsndfile, MP3 included) and falls back to librosa's other backends;
resampling uses soxr. torchaudio.load is not used: it needs torchcodec.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

# Searched for inside folders (DEAM's audio folder, predict's inputs); the first listed wins when
# one song id has several files. A file named directly is always tried.
AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au", ".m4a")


class AudioDecodeError(Exception):
    """An audio file could not be decoded (zero bytes, truncated, corrupt or not audio)."""


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode any format soundfile/librosa can read, mix to mono, resample.

    Returns a float32 waveform of shape (samples,) at ``sample_rate``, values in about -1..1.
    Raises :class:`AudioDecodeError` naming the file when it cannot be decoded.
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    try:
        audio, source_rate = sf.read(path, dtype="float32", always_2d=True)  # (samples, channels)
        audio = audio[:, 0] if audio.shape[1] == 1 else audio.mean(axis=1)
    except Exception as sf_error:  # formats libsndfile lacks: let librosa try its other backends
        try:
            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio, source_rate = librosa.load(path, sr=None, mono=True)
        except Exception:
            size = path.stat().st_size if path.exists() else 0
            raise AudioDecodeError(
                f"{path}: cannot decode audio ({size} bytes): empty, truncated, corrupt or not an audio "
                f"format libsndfile/librosa can read (decoder: {sf_error})"
            ) from None
    if audio.size == 0:
        raise AudioDecodeError(f"{path}: decoded to zero samples")
    if not np.isfinite(audio).all():
        raise AudioDecodeError(f"{path}: decoded audio holds NaN or infinite samples")
    if source_rate != sample_rate:
        audio = soxr.resample(audio, source_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(audio, dtype=np.float32)
