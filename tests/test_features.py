"""Audio decoding, Kaldi log-mels, the on-disk cache and segmenting, on real audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from astgan.config import FeaturesConfig
from astgan.data.audio import AudioDecodeError, load_audio
from astgan.data.features import FeatureCache, cut_segment, extract_features, log_mel, segment_starts


def tone(seconds: float, sample_rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


@pytest.mark.parametrize("sample_rate,channels,fmt", [
    (44100, 2, "MP3"), (48000, 1, "WAV"), (22050, 1, "MP3"), (16000, 2, "FLAC"), (32000, 1, "OGG"),
])
def test_any_rate_and_channel_count_becomes_16k_mono(tmp_path, sample_rate, channels, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, tone(2.0, sample_rate, channels=channels), sample_rate, format=fmt)
    audio = load_audio(path, 16000)
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert abs(len(audio) - 32000) < 16000 * 0.1  # MP3 adds encoder padding
    # the 440 Hz tone survives resampling: its FFT peak is at 440 Hz
    spectrum = np.abs(np.fft.rfft(audio[:16000]))
    assert abs(np.argmax(spectrum) - 440) <= 2


@pytest.mark.parametrize("content", [b"", b"not audio at all" * 100, b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 50])
def test_undecodable_files_raise_a_named_error(tmp_path, content):
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match="broken.mp3"):
        load_audio(path, 16000)


def test_log_mel_shape_and_band_of_a_tone():
    cfg = FeaturesConfig(n_mels=64)
    spec = log_mel(tone(1.0, 16000, freq=1000.0), cfg)
    assert spec.shape == (64, 98)  # (1 s - 25 ms) / 10 ms + 1 frames
    assert spec.dtype == np.float32
    peak_band = int(np.argmax(spec.mean(axis=1)))
    # Kaldi's 64 triangular bands have centres evenly spaced on the mel scale from 20 Hz to 8 kHz
    mel = lambda hz: 1127.0 * np.log(1.0 + hz / 700.0)  # noqa: E731
    expected = (mel(1000.0) - mel(20.0)) / ((mel(8000.0) - mel(20.0)) / 65) - 1
    assert abs(peak_band - expected) <= 1


def test_log_mel_of_a_clip_shorter_than_one_window():
    spec = log_mel(np.zeros(100, np.float32), FeaturesConfig(n_mels=32))
    assert spec.shape == (32, 1)


def test_segment_starts_cover_the_song():
    np.testing.assert_array_equal(segment_starts(100, 256, 128), [0])  # shorter: one padded segment
    np.testing.assert_array_equal(segment_starts(256, 256, 128), [0])
    np.testing.assert_array_equal(segment_starts(512, 256, 128), [0, 128, 256])
    np.testing.assert_array_equal(segment_starts(600, 256, 128), [0, 128, 256, 344])  # tail aligned to the end
    assert len(segment_starts(10_000, 256, 128, max_segments=5)) == 5


def test_short_song_is_padded_with_its_quietest_value():
    features = np.arange(32 * 10, dtype=np.float32).reshape(32, 10)
    piece = cut_segment(features, 0, 16)
    assert piece.shape == (32, 16)
    np.testing.assert_array_equal(piece[:, :10], features)
    assert (piece[:, 10:] == features.min()).all()


@pytest.fixture
def audio_files(tmp_path) -> list[str]:
    paths = []
    for i, rate in enumerate([44100, 22050, 48000]):
        path = tmp_path / f"{i}.wav"
        sf.write(path, tone(1.5, rate, freq=300 + 200 * i), rate)
        paths.append(str(path))
    return paths


def test_cache_is_reused_and_keyed_by_settings(tmp_path, audio_files):
    cfg = FeaturesConfig(n_mels=32, cache_dir=str(tmp_path / "cache"), num_workers=2)
    first = extract_features(audio_files, cfg, progress=False)
    assert (first.n_extracted, first.n_cached, first.failed) == (3, 0, {})
    second = extract_features(audio_files, cfg, progress=False)
    assert (second.n_extracted, second.n_cached) == (0, 3)
    assert second.entries == first.entries
    cached = FeatureCache(cfg).load(audio_files[0])
    np.testing.assert_allclose(cached, log_mel(load_audio(audio_files[0], 16000), cfg), atol=0.02)

    other = FeaturesConfig(n_mels=40, cache_dir=cfg.cache_dir, num_workers=1)
    third = extract_features(audio_files, other, progress=False)
    assert third.n_extracted == 3  # other settings never read the 32-band entries
    assert FeatureCache(other).load(audio_files[0]).shape[0] == 40
    assert not list(Path(cfg.cache_dir).rglob("*.tmp"))  # nothing half-written left behind


def test_changed_audio_file_is_extracted_again(tmp_path, audio_files):
    cfg = FeaturesConfig(n_mels=32, cache_dir=str(tmp_path / "cache"), num_workers=1)
    extract_features(audio_files, cfg, progress=False)
    sf.write(audio_files[0], tone(3.0, 16000), 16000)  # same path, new content
    again = extract_features(audio_files, cfg, progress=False)
    assert (again.n_extracted, again.n_cached) == (1, 2)
    assert FeatureCache(cfg).load(audio_files[0]).shape[1] > 250


def test_damaged_cache_entries_are_detected_and_replaced(tmp_path, audio_files):
    cfg = FeaturesConfig(n_mels=32, cache_dir=str(tmp_path / "cache"), num_workers=1)
    result = extract_features(audio_files, cfg, progress=False)
    truncated = result.entries[audio_files[0]]
    truncated.write_bytes(truncated.read_bytes()[:-100])
    wrong_shape = result.entries[audio_files[1]]
    np.save(wrong_shape, np.zeros((16, 50), np.float16))  # e.g. written by other settings
    cache = FeatureCache(cfg)
    assert cache.load(audio_files[0]) is None and cache.load(audio_files[1]) is None
    again = extract_features(audio_files, cfg, progress=False)
    assert (again.n_extracted, again.n_cached) == (2, 1)
    assert all(cache.load(p) is not None for p in audio_files)


def test_corrupt_file_is_skipped_with_a_warning(tmp_path, audio_files, caplog):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb" + b"garbage" * 200)
    cfg = FeaturesConfig(n_mels=32, cache_dir=str(tmp_path / "cache"), num_workers=2)
    with caplog.at_level("WARNING", logger="astgan"):
        result = extract_features(audio_files + [str(broken)], cfg, progress=False)
    assert set(result.entries) == set(audio_files)
    assert list(result.failed) == [str(broken)]
    assert any("broken.mp3" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
