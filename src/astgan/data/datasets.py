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
from torch.utils.data import Dataset

from astgan.config import FeaturesConfig
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
