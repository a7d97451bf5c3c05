"""The extract stage: song table, features, splits and normalisation, ready for every later stage.

``prepare_data`` is idempotent and cheap once done: it re-reads the annotations, finds every song's
features in the cache (extracting only what is missing), reuses the run folder's split, and
returns everything the GAN, the regressor and the evaluation read.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from astgan.artifacts import read_json, write_json, write_text
from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.features import (
    AUDIOSET_MEAN,
    AUDIOSET_STD,
    FeatureCache,
    Normalization,
    cut_segment,
    extract_features,
    segment_starts,
    train_statistics,
)
from astgan.data.figures import plot_label_distribution, plot_quadrant_examples
from astgan.data.labels import labels_of, nearest_to_corners
from astgan.data.registry import load_song_table
from astgan.data.song_table import SONG_COLUMNS
from astgan.data.splits import SPLITS, assign_splits, check_disjoint, check_given_splits
from astgan.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """The song table with splits, each song's cache entry, and the normalisation to apply.

    ``songs`` columns: song_id (str), path, valence, arousal (-1..1), split; ``entries[i]`` is the
    cached (n_mels, frames) log-mel of ``songs.iloc[i]``.
    """

    songs: pd.DataFrame
    entries: list[Path]
    normalization: Normalization
    cache: FeatureCache

    def subset(self, split: str) -> tuple[pd.DataFrame, list[Path]]:
        """The songs of one split (index reset) and their cache entries."""
        mask = (self.songs["split"] == split).to_numpy()
        rows = np.flatnonzero(mask)
        return self.songs.iloc[rows].reset_index(drop=True), [self.entries[i] for i in rows]

    def labels(self, split: str) -> np.ndarray:
        """(N_songs, 2) labels of one split, on -1..1."""
        return labels_of(self.subset(split)[0])

    def segments(self, split: str, normalization: Normalization | None = None) -> SegmentDataset:
        """The real segments of one split, normalised with the run's statistics (or ``normalization``)."""
        songs, entries = self.subset(split)
        return SegmentDataset(songs, entries, self.cache.cfg, normalization or self.normalization)


def read_songs_csv(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"song_id": str, "path": str, "split": str, "group": str})
    missing = [c for c in SONG_COLUMNS + ["split"] if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; delete it to make the split again")
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise DataError(f"{path}: column 'split' holds {bad}; expected only {list(SPLITS)}")
    return table


def _reuse_splits(fresh: pd.DataFrame, saved_path: Path) -> pd.DataFrame:
    """Apply the split saved in the run folder to the freshly read table (same songs required)."""
    saved = read_songs_csv(saved_path)
    fresh_ids, saved_ids = set(fresh["song_id"]), set(saved["song_id"])
    if fresh_ids != saved_ids:
        added, removed = sorted(fresh_ids - saved_ids), sorted(saved_ids - fresh_ids)
        raise DataError(
            f"{saved_path} was made from a different set of songs ({len(saved_ids)} saved, "
            f"{len(fresh_ids)} now; new: {added[:5]}, gone: {removed[:5]}). "
            "Use a new run.dir, or delete songs.csv to split again."
        )
    split_of = dict(zip(saved["song_id"], saved["split"]))
    return fresh.assign(split=fresh["song_id"].map(split_of))


def _normalization(cfg: Config, train_entries: list[Path], cache: FeatureCache) -> Normalization:
    """AudioSet statistics for a pretrained AST, else statistics of the TRAIN songs (cached in the run)."""
    saved_path = cfg.paths.normalization
    mode = cfg.features.normalization
    if mode == "audioset" or (mode == "auto" and cfg.ast.pretrained):
        norm = Normalization(AUDIOSET_MEAN, AUDIOSET_STD, "audioset")
        write_json(saved_path, norm.to_dict())
        return norm
    key = hashlib.sha1("\n".join(sorted(str(e) for e in train_entries)).encode()).hexdigest()
    if saved_path.exists():
        saved = read_json(saved_path)
        if saved.get("source") == "train" and saved.get("key") == key:
            return Normalization.from_dict(saved, str(saved_path))
    mean, std = train_statistics(train_entries, cache)
    norm = Normalization(mean, std, "train")
    write_json(saved_path, {**norm.to_dict(), "songs": len(train_entries), "key": key})
    return norm


def load_songs_with_features(cfg: Config, progress: bool = True) -> tuple[pd.DataFrame, dict[str, Path]]:
    """The song table (songs whose audio decodes) and each song's cache entry (audio path -> entry).

    Extracts what the cache does not hold yet; songs that cannot be decoded are dropped with a
    warning naming them.
    """
    table, report = load_song_table(cfg.data)
    log.info(report.summary())
    started = time.perf_counter()
    result = extract_features(table["path"].tolist(), cfg.features, progress=progress)
    if result.failed:
        bad = table["path"].isin(list(result.failed))
        ids = table.loc[bad, "song_id"].tolist()
        log.warning(f"dropped {len(ids)} song(s), audio cannot be decoded: {', '.join(ids[:5])}"
                    + (", ..." if len(ids) > 5 else ""))
        table = table[~bad].reset_index(drop=True)
        if table.empty:
            raise DataError(f"no song under {cfg.data.root} could be decoded")
    log.info(
        f"features: {result.n_cached} cached, {result.n_extracted} extracted in "
        f"{time.perf_counter() - started:.1f}s (cache: {FeatureCache(cfg.features).root})"
    )
    return table, result.entries


def prepare_data(cfg: Config, progress: bool = True) -> PreparedData:
    """Load the song table, extract missing features, make or reuse the split, fit normalisation.

    The split saved in the run folder wins; else a split given with the data is used as given;
    else one is made (by song, or by whole groups when the data has them).
    """
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    table, entry_of = load_songs_with_features(cfg, progress)
    cache = FeatureCache(cfg.features)
    songs_path = cfg.paths.songs
    if songs_path.exists():
        table = _reuse_splits(table, songs_path)
    elif "split" in table.columns:  # given with the data (a manifest's split column)
        check_given_splits(table, str(cfg.data.root))
    else:
        table = assign_splits(table, cfg.split)
    check_disjoint(table)
    columns = SONG_COLUMNS + ["split"] + (["group"] if "group" in table.columns else [])
    write_text(songs_path, table[columns].to_csv(index=False, float_format="%.6g"))

    entries = [entry_of[p] for p in table["path"]]
    train_entries = [e for e, s in zip(entries, table["split"]) if s == "train"]
    normalization = _normalization(cfg, train_entries, cache)
    data = PreparedData(table, entries, normalization, cache)
    if not cfg.paths.songs_examples_figure.exists():
        write_data_figures(data, cfg)
    return data


def split_summary(data: PreparedData, cfg: Config) -> str:
    """Songs, segments and hours per split, as a small table."""
    features = cfg.features
    lines = [f"{'split':<6} {'songs':>6} {'segments':>9} {'minutes':>8}"]
    frames_per_minute = 60_000.0 / features.frame_shift_ms
    for split in SPLITS:
        _, entries = data.subset(split)
        if split == "unused" and not entries:
            continue
        frames = [data.cache.open(e).shape[1] for e in entries]
        n_segments = sum(
            len(segment_starts(f, features.segment_frames, features.segment_hop, features.max_segments_per_song))
            for f in frames
        )
        lines.append(f"{split:<6} {len(entries):>6} {n_segments:>9} {sum(frames) / frames_per_minute:>8.1f}")
    norm = data.normalization
    lines.append(f"normalisation: {norm.source} (mean {norm.mean:.3f}, std {norm.std:.3f})")
    return "\n".join(lines)


def write_data_figures(data: PreparedData, cfg: Config) -> list[Path]:
    """The real data at a glance: label distribution by split, and a TRAIN segment per V/A quadrant."""
    labels = labels_of(data.songs)
    paths = [plot_label_distribution(labels, data.songs["split"].to_numpy(), cfg.paths.songs_labels_figure)]
    train, entries = data.subset("train")
    train_labels = labels_of(train)
    picks = nearest_to_corners(train_labels)
    specs = []
    for index in picks.values():
        features = data.cache.open(entries[index])
        start = max(0, (features.shape[1] - cfg.features.segment_frames) // 2)  # the middle of the song
        specs.append(data.normalization.apply(cut_segment(features, start, cfg.features.segment_frames)))
    titles = [f"{name} (song {train['song_id'].iloc[i]})" for name, i in picks.items()]
    paths.append(plot_quadrant_examples(specs, train_labels[list(picks.values())], titles,
                                        cfg.paths.songs_examples_figure, "real TRAIN segments nearest each V/A corner"))
    return paths
