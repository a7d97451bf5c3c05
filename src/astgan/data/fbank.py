"""Kaldi-compatible log-mel filterbank in plain torch.

This is the filterbank of Kaldi's ``compute-fbank-feats`` with the options astgan uses (and the
Audio Spectrogram Transformer was pretrained on): frames cut with snip-edges, no dither, each frame's
DC offset removed, pre-emphasis 0.97, a window, the power spectrum of the frame zero-padded to a
power of two, triangular filters evenly spaced on Kaldi's mel scale ``1127 ln(1 + f / 700)``, and
the log of each filter's energy floored at float32's machine epsilon. No energy coefficient is
appended. It gives the same numbers as torchaudio's ``compliance.kaldi.fbank`` with those options
(the tests compare both), without needing torchaudio's compiled library, which must match the
installed torch exactly.
"""

from __future__ import annotations

import math

import torch

PREEMPHASIS = 0.97  # Kaldi's default
LOW_FREQ_HZ = 20.0  # Kaldi's default lowest filter edge; the highest is the Nyquist frequency
WINDOWS = ("hanning", "povey")


def fbank(
    waveform: torch.Tensor,
    sample_rate: int,
    n_mels: int,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
    window: str = "hanning",
) -> torch.Tensor:
    """Log-mel filterbank of one channel.

    ``waveform``: (samples,) float tensor at ``sample_rate``. Returns (frames, n_mels) in the
    waveform's dtype, with ``frames = 1 + (samples - frame_samples) // shift_samples``; a waveform
    shorter than one frame gives (0, n_mels) (Kaldi's snip-edges drops partial frames).
    """
    if waveform.ndim != 1:
        raise ValueError(f"fbank: expected a (samples,) waveform, got shape {tuple(waveform.shape)}")
    if window not in WINDOWS:
        raise ValueError(f"fbank: window {window!r} is not one of {WINDOWS}")
    # Kaldi truncates the frame length and shift to whole samples.
    frame_samples = int(sample_rate * frame_length_ms * 0.001)
    shift_samples = int(sample_rate * frame_shift_ms * 0.001)
    fft_size = 1 << (frame_samples - 1).bit_length()  # the next power of two: a fast FFT
    if waveform.shape[0] < frame_samples:
        return waveform.new_zeros((0, n_mels))

    frames = _frames(waveform, frame_samples, shift_samples)  # (frames, frame_samples)
    frames = frames - frames.mean(dim=1, keepdim=True)  # DC offset of each frame
    # Pre-emphasis y[i] = x[i] - 0.97 x[i-1], where the first sample is its own predecessor.
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - PREEMPHASIS * previous
    frames = frames * _window(window, frame_samples, waveform.dtype, waveform.device)[None, :]
    frames = torch.nn.functional.pad(frames, (0, fft_size - frame_samples))  # (frames, fft_size)
    power = torch.fft.rfft(frames).abs().pow(2.0)  # (frames, fft_size // 2 + 1)

    banks = mel_banks(n_mels, fft_size, sample_rate).to(dtype=waveform.dtype, device=waveform.device)
    energies = power @ banks.T  # (frames, n_mels)
    # The floor keeps silent frames finite: log(eps) = -15.94 instead of -inf.
    floor = torch.tensor(torch.finfo(torch.float32).eps, dtype=waveform.dtype, device=waveform.device)
    return torch.maximum(energies, floor).log()


def _frames(waveform: torch.Tensor, frame_samples: int, shift_samples: int) -> torch.Tensor:
    """(n_frames, frame_samples) view of the whole frames of a (samples,) waveform (snip-edges)."""
    n_frames = 1 + (waveform.shape[0] - frame_samples) // shift_samples
    waveform = waveform.contiguous()
    return waveform.as_strided((n_frames, frame_samples), (shift_samples * waveform.stride(0), waveform.stride(0)))


def _window(kind: str, length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(length,) Kaldi window: "hanning" is 0.5 - 0.5 cos(2 pi n / (length - 1)), symmetric;
    "povey" is that raised to the power 0.85 (Kaldi's default, which falls to zero at the edges)."""
    hann = torch.hann_window(length, periodic=False, dtype=dtype, device=device)
    return hann if kind == "hanning" else hann.pow(0.85)


def mel(hz: torch.Tensor) -> torch.Tensor:
    """Kaldi's (and HTK's) mel scale of frequencies in Hz, elementwise."""
    return 1127.0 * torch.log(1.0 + hz / 700.0)


def mel_banks(n_mels: int, fft_size: int, sample_rate: int) -> torch.Tensor:
    """(n_mels, fft_size // 2 + 1) float32 weights of Kaldi's triangular mel filters on the rfft bins.

    The filters' edges are n_mels + 2 points evenly spaced on the mel scale from 20 Hz to the
    Nyquist frequency; each filter rises linearly in mel from its left edge to its centre and falls
    to its right edge. The Nyquist bin gets weight 0, as in Kaldi, which uses fft_size // 2 bins.
    """
    mel_low = 1127.0 * math.log(1.0 + LOW_FREQ_HZ / 700.0)
    mel_high = 1127.0 * math.log(1.0 + (0.5 * sample_rate) / 700.0)
    step = (mel_high - mel_low) / (n_mels + 1)
    index = torch.arange(n_mels, dtype=torch.float32)[:, None]  # (n_mels, 1)
    left = mel_low + index * step
    centre = mel_low + (index + 1.0) * step
    right = mel_low + (index + 2.0) * step
    bin_mel = mel((sample_rate / fft_size) * torch.arange(fft_size // 2, dtype=torch.float32))[None, :]
    rising = (bin_mel - left) / (centre - left)
    falling = (right - bin_mel) / (right - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (n_mels, fft_size // 2)
    return torch.nn.functional.pad(weights, (0, 1))
