"""Feature extraction speed: astgan's cached, parallel extraction vs a naive librosa loop.

On the same audio files, side by side in one run:
  baseline  a serial loop of librosa.load(sr=16000) + librosa.feature.melspectrogram per file
  cold      astgan's extract_features into an empty cache (decode + resample + Kaldi fbank, N workers)
  warm      astgan's extract_features again (every entry read from the cache)

Usage: python scripts/bench_features.py [--root data/demo] [--songs 60] [--workers 2]

The last line printed is ``RESULT {json}`` (seconds of each run, songs, audio length) for scripts/bench.py.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def naive_librosa(paths: list[str], n_mels: int) -> float:
    import librosa

    started = time.perf_counter()
    for path in paths:
        audio, rate = librosa.load(path, sr=16000, mono=True)
        mel = librosa.feature.melspectrogram(y=audio, sr=rate, n_fft=400, hop_length=160, n_mels=n_mels)
        np.log(mel + 1e-6)
    return time.perf_counter() - started


def astgan_extract(paths: list[str], cache_dir: Path, n_mels: int, workers: int) -> tuple[float, int, int]:
    from astgan.config import FeaturesConfig
    from astgan.data.features import extract_features

    cfg = FeaturesConfig(n_mels=n_mels, cache_dir=str(cache_dir), num_workers=workers)
    started = time.perf_counter()
    result = extract_features(paths, cfg, progress=False)
    return time.perf_counter() - started, result.n_extracted, result.n_cached


def audio_seconds(paths: list[str]) -> float:
    import soundfile as sf

    return sum(sf.info(p).duration for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("data/demo"),
                        help="a DEAM-layout folder (written if missing)")
    parser.add_argument("--songs", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-mels", type=int, default=128)
    args = parser.parse_args()

    from astgan.data.deam import load_song_table
    from astgan.data.demo import write_demo_dataset

    if not (args.root / "DEAM_audio").is_dir():
        write_demo_dataset(args.root, n_songs=max(args.songs, 120), seed=0)
    table, _ = load_song_table(args.root, max_songs=args.songs)
    paths = table["path"].tolist()
    seconds = audio_seconds(paths)

    # Both warm up off the clock on one file: librosa compiles numba code on first use (~30 s in a
    # new environment), astgan imports torch (~1 s, which any astgan command pays anyway).
    naive_librosa(paths[:1], args.n_mels)
    with tempfile.TemporaryDirectory() as cache_dir:
        astgan_extract(paths[:1], Path(cache_dir), args.n_mels, 1)
    baseline = naive_librosa(paths, args.n_mels)
    with tempfile.TemporaryDirectory() as cache_dir:
        cold, n_extracted, _ = astgan_extract(paths, Path(cache_dir), args.n_mels, args.workers)
        warm, _, n_cached = astgan_extract(paths, Path(cache_dir), args.n_mels, args.workers)
    assert n_extracted == len(paths) and n_cached == len(paths)

    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores; "
          f"{len(paths)} songs, {seconds / 60:.1f} min of audio, {args.n_mels} mel bins")
    print(f"{'run':<34} {'seconds':>8} {'songs/s':>8} {'x real-time':>12} {'vs baseline':>12}")
    for name, wall in [("baseline: librosa loop (serial)", baseline),
                       (f"astgan cold cache ({args.workers} workers)", cold),
                       ("astgan warm cache", warm)]:
        print(f"{name:<34} {wall:>8.2f} {len(paths) / wall:>8.1f} {seconds / wall:>12.0f} {baseline / wall:>11.1f}x")
    print("RESULT " + json.dumps({"bench": "features", "songs": len(paths), "audio_seconds": seconds,
                                  "n_mels": args.n_mels, "workers": args.workers,
                                  "seconds": {"librosa": baseline, "cold": cold, "warm": warm}}))


if __name__ == "__main__":
    main()
