"""PyTorch datasets of fixed-length log-mel segments.

Segments are read from the feature cache on demand (memory-mapped), so a full DEAM run never holds
the whole dataset in memory; the operating system's page cache keeps repeated epochs fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from astgan.config import FeaturesConfig
from astgan.data.deam import labels_of
from astgan.features import Normalization, cut_segment, segment_starts
from astgan.prepare import PreparedData


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

    @classmethod
    def from_split(cls, data: PreparedData, split: str, cfg: FeaturesConfig) -> "SegmentDataset":
        songs, entries = data.subset(split)
        return cls(songs, entries, cfg, data.normalization)

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
        features = np.load(self.entries[self.song_index[index]], mmap_mode="r")
        piece = cut_segment(features, int(self.starts[index]), self.segment_frames)
        return self.normalization.apply(piece).astype(np.float32)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.from_numpy(self.segment(index))
        label = torch.from_numpy(self.song_labels[self.song_index[index]].copy())
        return spec, label

    def stack(self, indices: np.ndarray | None = None) -> np.ndarray:
        """(N, n_mels, segment_frames) float32 array of the given segments (all by default)."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices)
        if len(indices) == 0:
            return np.zeros((0, self.n_mels, self.segment_frames), dtype=np.float32)
        return np.stack([self.segment(int(i)) for i in indices])
