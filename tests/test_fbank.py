"""astgan's Kaldi-compatible filterbank (astgan.data.fbank): the same numbers as torchaudio's
``kaldi.fbank`` where torchaudio is installed (the ``reference`` extra), recorded values of a fixed
signal where it is not, and the edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from astgan.config import FeaturesConfig
from astgan.data.audio import load_audio
from astgan.data.fbank import fbank, mel_banks
from astgan.data.features import log_mel

TOLERANCE = 1e-4  # on log-mel values, which lie in about -16..+16


def fixed_signal(sample_rate: int = 16000, seconds: float = 0.6) -> np.ndarray:
    """(samples,) float32: two sines and noise from a 64-bit LCG, the same on every platform."""
    n = int(sample_rate * seconds)
    noise = np.empty(n, np.float64)
    state = 12345
    for i in range(n):
        state = (6364136223846793005 * state + 1442695040888963407) % 2**64
        noise[i] = (state >> 40) / 2**24 - 0.5
    t = np.arange(n) / sample_rate
    signal = 0.2 * noise + 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 3000.0 * t)
    return signal.astype(np.float32)


# torchaudio 2.9.1's kaldi.fbank of fixed_signal() less its mean (16 kHz, 64 mels, Hanning, 25/10 ms,
# no dither, htk_compat, no energy): 58 frames; these are frames 0, 17 and 57, every 8th mel bin.
RECORDED = {
    0: [-8.278804, -4.706409, -4.309681, -1.727583, 0.387687, 0.694854, 1.772176, 2.03629],
    17: [-6.990451, -3.272591, -3.270577, -1.999456, -0.517117, 1.295292, 1.939885, 2.859302],
    57: [-7.042532, -4.727619, -2.419698, -1.03671, 0.576457, -0.051647, 1.542557, 2.275539],
}


def test_recorded_values_of_a_fixed_signal():
    """Checks the numbers without torchaudio, so that an install without it still tests them."""
    signal = torch.from_numpy(fixed_signal())
    mels = fbank(signal - signal.mean(), 16000, 64)
    assert mels.shape == (58, 64) and mels.dtype == torch.float32
    for frame, values in RECORDED.items():
        np.testing.assert_allclose(mels[frame, ::8].numpy(), values, atol=TOLERANCE, rtol=0)


def music_like(sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """(samples, 2) float32: chords of sines with a tremolo, noise, and a silent stretch in the middle."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = 0.02 * rng.standard_normal(t.shape)
    for freq in rng.uniform(60.0, 0.45 * sample_rate, size=6):
        mono += 0.1 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 4) * t))
    quiet = slice(len(t) // 2, len(t) // 2 + sample_rate // 2)
    mono[quiet] = 0.0  # digital silence: exercises the log floor
    stereo = np.stack([mono, 0.8 * mono + 0.01 * rng.standard_normal(t.shape)], axis=1)
    return stereo.astype(np.float32)


@pytest.mark.parametrize("sample_rate,fmt", [(16000, "WAV"), (22050, "FLAC"), (44100, "WAV")])
@pytest.mark.parametrize("n_mels", [64, 128])
def test_matches_torchaudio_on_decoded_audio(tmp_path: Path, sample_rate: int, fmt: str, n_mels: int):
    """astgan's decode path (resampled to 16 kHz mono), then log_mel against torchaudio's kaldi.fbank."""
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    path = tmp_path / f"song.{fmt.lower()}"
    sf.write(path, music_like(sample_rate, 12.0, seed=sample_rate), sample_rate, format=fmt)
    cfg = FeaturesConfig(n_mels=n_mels)
    waveform = load_audio(path, cfg.sample_rate)

    ours = log_mel(waveform, cfg)  # (n_mels, frames)
    signal = torch.from_numpy(waveform)[None, :]
    reference = kaldi.fbank(
        signal - signal.mean(), sample_frequency=cfg.sample_rate, num_mel_bins=n_mels,
        frame_length=cfg.frame_length_ms, frame_shift=cfg.frame_shift_ms, window_type="hanning",
        htk_compat=True, use_energy=False, dither=0.0,
    ).T.numpy()
    assert ours.shape == reference.shape == (n_mels, 1198)
    assert np.abs(ours - reference).max() <= TOLERANCE
    assert ours.min() < -12  # the silent stretch was compared too, down near the log floor (-15.9)


@pytest.mark.parametrize("sample_rate,n_mels,window", [
    (22050, 80, "hanning"), (44100, 128, "povey"), (8000, 23, "povey"),
])
def test_matches_torchaudio_at_other_rates_and_windows(sample_rate: int, n_mels: int, window: str):
    kaldi = pytest.importorskip("torchaudio.compliance.kaldi")
    signal = torch.from_numpy(np.ascontiguousarray(music_like(sample_rate, 3.0, seed=1)[:, 0]))
    ours = fbank(signal, sample_rate, n_mels, window=window)
    reference = kaldi.fbank(
        signal[None, :], sample_frequency=sample_rate, num_mel_bins=n_mels, window_type=window,
        htk_compat=True, use_energy=False, dither=0.0,
    )
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max().item() <= TOLERANCE


def test_frame_count_follows_snip_edges():
    frame, shift = 400, 160  # 25 ms and 10 ms at 16 kHz
    for samples in (frame, frame + shift - 1, frame + shift, 16000):
        mels = fbank(torch.zeros(samples), 16000, 32)
        assert mels.shape == (1 + (samples - frame) // shift, 32), samples


def test_a_signal_shorter_than_one_frame_gives_no_frames():
    assert fbank(torch.ones(399), 16000, 32).shape == (0, 32)
    # log_mel, which the cache stores, pads such a clip to one frame instead: an entry is never empty
    assert log_mel(np.ones(399, np.float32), FeaturesConfig(n_mels=32)).shape == (32, 1)


def test_silence_is_floored_not_infinite():
    mels = fbank(torch.zeros(1600), 16000, 32)
    assert torch.all(mels == torch.log(torch.tensor(torch.finfo(torch.float32).eps)))


def test_mel_banks_are_triangles_on_the_mel_scale():
    banks = mel_banks(64, 512, 16000)  # (64, 257)
    assert banks.shape == (64, 257)
    assert banks[:, -1].abs().sum() == 0  # the Nyquist bin is left out, as in Kaldi
    assert torch.all(banks >= 0) and torch.all(banks.max(dim=1).values <= 1)
    peaks = banks.argmax(dim=1)
    assert torch.all(peaks[1:] >= peaks[:-1])  # centres rise with the band index


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\(samples,\) waveform"):
        fbank(torch.zeros(2, 1600), 16000, 32)
    with pytest.raises(ValueError, match="window 'hamming'"):
        fbank(torch.zeros(1600), 16000, 32, window="hamming")
