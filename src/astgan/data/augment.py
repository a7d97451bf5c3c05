"""SpecAugment: masking bands of frequency and stretches of time in training spectrograms."""

from __future__ import annotations

import torch


class SpecAugment:
    """SpecAugment for one (n_mels, frames) spectrogram: one frequency and one time mask.

    torchaudio's FrequencyMasking and TimeMasking draw a width in [0, max) and a start at random
    (torch's RNG), and fill the band with 0: the mean in the normalised space. A width of 0
    disables that mask.
    """

    def __init__(self, freq_mask: int, time_mask: int):
        from torchaudio.transforms import FrequencyMasking, TimeMasking

        self.freq_mask = FrequencyMasking(freq_mask) if freq_mask > 0 else None
        self.time_mask = TimeMasking(time_mask) if time_mask > 0 else None

    def __call__(self, spec: torch.Tensor) -> torch.Tensor:
        """(n_mels, frames) -> (n_mels, frames), masked (a new tensor)."""
        if self.freq_mask is not None:
            spec = self.freq_mask(spec)
        if self.time_mask is not None:
            spec = self.time_mask(spec)
        return spec
