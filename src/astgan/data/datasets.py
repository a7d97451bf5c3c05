"""PyTorch datasets of fixed-length log-mel segments.

Segments are read from the feature cache on demand (memory-mapped), so a full DEAM run never holds
the whole dataset in memory; the operating system's page cache keeps repeated epochs fast.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from astgan.config import FeaturesConfig
from astgan.data.augment import SpecAugment
from astgan.data.features import Normalization, cut_segment, segment_starts
from astgan.data.labels import labels_of

# Open memory maps per dataset: each holds a file descriptor, and common limits are 256-1024.
MAX_OPEN_MAPS = 128


class SegmentDataset(Dataset):
    """Real segments of a set of songs, each labelled with its song's (valence, arousal).

    Item ``i`` is ``(spec, label)``: spec (n_mels, segment_frames) float32, normalised;
    label (2,) float32 on -1..1. ``song_index[i]`` is the row of the segment's song in ``songs``.
    """

    def __init__(self, songs: pd.DataFrame, entries: list[Path], cfg: FeaturesConfig, normalization: Normalization):
        if len(songs) != len(entries):
            raise ValueError(f"{len(songs)} songs but {len(entries)} feature entries")
        self.songs = songs.reset_index(drop=True)
        self.entries = [str(e) for e in entries]
        self._maps: OrderedDict[int, np.ndarray] = OrderedDict()  # song row -> memory map, see _song_features
        self.n_mels = cfg.n_mels
        self.segment_frames = cfg.segment_frames
        self.normalization = normalization
        self.song_labels = labels_of(self.songs)  # (n_songs, 2)
        song_index, starts = [], []
        for i, entry in enumerate(self.entries):
            n_frames = np.load(entry, mmap_mode="r").shape[1]
            song_starts = segment_starts(n_frames, cfg.segment_frames, cfg.segment_hop, cfg.max_segments_per_song)
            song_index.append(np.full(len(song_starts), i, dtype=np.int64))
            starts.append(song_starts)
        self.song_index = np.concatenate(song_index) if song_index else np.zeros(0, dtype=np.int64)
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def labels(self) -> np.ndarray:
        """(N_segments, 2) labels, on -1..1."""
        return self.song_labels[self.song_index]

    @property
    def song_ids(self) -> np.ndarray:
        """(N_segments,) song id of every segment."""
        return self.songs["song_id"].to_numpy()[self.song_index]

    def segment(self, index: int) -> np.ndarray:
        """Normalised (n_mels, segment_frames) float32 array of one segment."""
        features = self._song_features(int(self.song_index[index]))
        piece = cut_segment(features, int(self.starts[index]), self.segment_frames)
        return self.normalization.apply(piece).astype(np.float32)

    def _song_features(self, song: int) -> np.ndarray:
        """Memory-map of one song's cached features, kept open for the next items (re-parsing the
        .npy header on every item cost about 2/3 of the read time). Each map holds a file
        descriptor, so only the ``MAX_OPEN_MAPS`` most recently used stay open."""
        maps = self._maps
        if song in maps:
            maps.move_to_end(song)
        else:
            maps[song] = np.load(self.entries[song], mmap_mode="r")
            if len(maps) > MAX_OPEN_MAPS:
                maps.popitem(last=False)
        return maps[song]

    def __getstate__(self) -> dict:
        """Pickled for DataLoader workers without the maps: a memmap would pickle as a full copy."""
        return {**self.__dict__, "_maps": OrderedDict()}

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.from_numpy(self.segment(index))
        label = torch.from_numpy(self.song_labels[self.song_index[index]].copy())
        return spec, label

    def chunks(self, size: int = 256) -> Iterator[np.ndarray]:
        """Every segment in order, as (<= size, n_mels, segment_frames) float32 arrays: bounded
        memory when a whole split (full DEAM) would not fit."""
        for start in range(0, len(self), size):
            yield self.stack(np.arange(start, min(start + size, len(self))))

    def stack(self, indices: np.ndarray | None = None) -> np.ndarray:
        """(N, n_mels, segment_frames) float32 array of the given segments (all by default)."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices)
        if len(indices) == 0:
            return np.zeros((0, self.n_mels, self.segment_frames), dtype=np.float32)
        return np.stack([self.segment(int(i)) for i in indices])


# --------------------------------------------------------------------------- regressor training data


class AugmentedSpectrogramDataset(Dataset):
    """The regressor's training pool: real TRAIN segments, then synthetic ones, SpecAugment on all.

    ``ratio`` is synthetic segments per real one (0: real only, the ablation), so the pool holds
    ``n_real`` real items followed by ``round(ratio * n_real)`` synthetic ones. When the synthetic
    set is larger, a seeded random subset is used; when it is smaller, its segments are repeated
    (each as evenly as possible) so that the mix still holds the requested share.

    Item ``i`` is ``(spec, label)``: spec (n_mels, frames) float32 in the normalised space, label
    (2,) float32 on -1..1. ``synthetic_specs``: (N, n_mels, frames) (float16 is fine),
    ``synthetic_labels``: (N, 2). Only for TRAIN: validation and test read a plain
    :class:`SegmentDataset`, never synthetic items and never masks.
    """

    def __init__(self, real: SegmentDataset, synthetic_specs: np.ndarray | None = None,
                 synthetic_labels: np.ndarray | None = None, ratio: float = 0.0,
                 augment: SpecAugment | None = None, seed: int = 0):
        splits = set(real.songs["split"]) if "split" in real.songs else {"train"}
        if splits != {"train"}:
            raise ValueError(f"synthetic data and SpecAugment are for TRAIN segments only, got split(s) {sorted(splits)}")
        self.real = real
        self.augment = augment
        n_wanted = int(round(ratio * len(real))) if ratio > 0 else 0
        if n_wanted and (synthetic_specs is None or len(synthetic_specs) == 0):
            raise ValueError(f"ratio={ratio} asks for {n_wanted} synthetic segments but none were given")
        if n_wanted:
            expected = (real.n_mels, real.segment_frames)
            if synthetic_specs.ndim != 3 or tuple(synthetic_specs.shape[1:]) != expected:
                raise ValueError(f"synthetic specs have shape {synthetic_specs.shape}, expected (N, {expected[0]}, {expected[1]})")
            if synthetic_labels is None or np.shape(synthetic_labels) != (len(synthetic_specs), 2):
                raise ValueError(f"synthetic labels have shape {np.shape(synthetic_labels)}, expected ({len(synthetic_specs)}, 2)")
        self.synthetic_specs = synthetic_specs
        self.synthetic_labels = None if synthetic_labels is None else np.asarray(synthetic_labels, dtype=np.float32)
        self.synthetic_index = _draw_evenly(len(synthetic_specs) if n_wanted else 0, n_wanted, seed)

    @property
    def n_real(self) -> int:
        return len(self.real)

    @property
    def n_synthetic(self) -> int:
        return len(self.synthetic_index)

    def __len__(self) -> int:
        return self.n_real + self.n_synthetic

    @property
    def is_synthetic(self) -> np.ndarray:
        """(N,) bool: which items of the pool are synthetic."""
        return np.arange(len(self)) >= self.n_real

    @property
    def labels(self) -> np.ndarray:
        """(N, 2) labels of the whole pool, real first, on -1..1."""
        synthetic = self.synthetic_labels[self.synthetic_index] if self.n_synthetic else np.zeros((0, 2), np.float32)
        return np.concatenate([self.real.labels.astype(np.float32), synthetic])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if index < self.n_real:
            spec, label = self.real[index]
        else:
            row = self.synthetic_index[index - self.n_real]
            spec = torch.from_numpy(np.asarray(self.synthetic_specs[row], dtype=np.float32))
            label = torch.from_numpy(self.synthetic_labels[row].copy())
        if self.augment is not None:
            spec = self.augment(spec)
        return spec, label


def _draw_evenly(n_available: int, n_wanted: int, seed: int) -> np.ndarray:
    """``n_wanted`` indices into ``n_available`` items: a random subset, or each item repeated evenly."""
    rng = np.random.default_rng(seed)
    if n_wanted == 0:
        return np.zeros(0, dtype=np.int64)
    repeats = -(-n_wanted // n_available)  # ceil
    picks = np.concatenate([rng.permutation(n_available) for _ in range(repeats)])
    return picks[:n_wanted].astype(np.int64)


class EpochSampler(Sampler):
    """Draws a fixed number of pool items per epoch, without replacement, reshuffled every epoch.

    This is what keeps the GAN ablation honest: an epoch is ``samples_per_epoch`` items (the real
    TRAIN segment count) whatever the pool's size, so real-only and augmented runs take the same
    number of optimiser steps. The order depends only on (seed, epoch): call :meth:`set_epoch`
    before each epoch, and a resumed run draws what the uninterrupted one would have.
    """

    def __init__(self, pool_size: int, samples_per_epoch: int, seed: int = 0):
        if not 0 < samples_per_epoch <= pool_size:
            raise ValueError(f"samples_per_epoch must be in 1..{pool_size}, got {samples_per_epoch}")
        self.pool_size = pool_size
        self.samples_per_epoch = samples_per_epoch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.pool_size, generator=generator)[: self.samples_per_epoch].tolist())
