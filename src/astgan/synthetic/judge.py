"""The judge: an AST that has seen real TRAIN segments only, whose pooled embedding is a learned
feature space for the Frechet distance (as FID and FAD use a trained network's features).

Two sources, by ``synth.judge``:

- unset (the default): a small AST trained here, in memory, on the real TRAIN segments with a
  fixed seeded recipe (:data:`JUDGE_RECIPE`, MSE on the labels, a few seconds on the demo). It is
  cached in ``<run>/synthetic/judge.pt`` under a key of the TRAIN songs, the features, the
  normalisation and the recipe, so every ``synthesize`` of a run reuses it;
- a path to an ``ast/best.pt`` trained on real data only (``ast.synthetic_ratio = 0``), e.g. a
  study cell's real-only regressor. A regressor that saw synthetic data is refused: it would judge
  the generator with features shaped by the generator's own output. With ``synth.filter > 1`` the
  judge also chooses which segments the GAN arm trains on, so one that trained on songs outside
  this run's TRAIN (say another fold's, which are this fold's TEST songs) is refused too; its
  training songs are read from the run folder it was trained in (``<run>/songs.csv`` beside
  ``<run>/ast/best.pt``, :func:`judge_training_songs`).

Neither ever sees a synthetic segment or the GAN, so the distance is not circular.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from astgan.artifacts import load_checkpoint, save_checkpoint
from astgan.config import Config
from astgan.data.datasets import SegmentDataset
from astgan.data.features import Normalization
from astgan.errors import CheckpointError
from astgan.metrics import ccc
from astgan.regressor.inference import load_trained
from astgan.regressor.model import build_regressor

log = logging.getLogger(__name__)

# The small AST of configs/demo.yaml, trained briefly: enough for an embedding that separates what
# the labels and the music's structure separate, cheap enough to train inside `synthesize`.
JUDGE_RECIPE = {
    "hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128,
    "patch_size": 16, "frequency_stride": 16, "time_stride": 16,
    "epochs": 4, "batch_size": 64, "lr": 1e-3, "weight_decay": 0.01, "max_segments": 2048, "seed": 0,
}
JUDGE_VERSION = 1  # bump when the training code changes what a cached judge would be


@dataclass
class Judge:
    """A real-only AST and where it came from.

    ``model``: ASTRegressor in eval mode on ``device``; ``normalization``: the log-mel
    normalisation it reads; ``source``: "trained here" or the checkpoint path; ``val``: its own
    score on real VAL songs' segments ({"valence": ccc, "arousal": ccc}) when known.
    """

    model: torch.nn.Module
    normalization: Normalization
    device: torch.device
    source: str
    val: dict | None = None

    @torch.no_grad()
    def embed(self, specs: np.ndarray, run_normalization: Normalization, batch_size: int = 128) -> np.ndarray:
        """(N, n_mels, frames) in the run's normalised space -> (N, hidden) pooled embedding."""
        return self._run(self.model.embed, specs, run_normalization, batch_size)

    @torch.no_grad()
    def predict(self, specs: np.ndarray, run_normalization: Normalization, batch_size: int = 128) -> np.ndarray:
        """(N, n_mels, frames) in the run's normalised space -> (N, 2) predicted labels on -1..1."""
        return np.clip(self._run(self.model, specs, run_normalization, batch_size), -1.0, 1.0)

    def _run(self, function, specs: np.ndarray, run_normalization: Normalization, batch_size: int) -> np.ndarray:
        specs = np.asarray(specs, dtype=np.float32)
        if run_normalization.to_dict() != self.normalization.to_dict():  # the judge reads its own normalisation
            specs = self.normalization.apply(run_normalization.invert(specs)).astype(np.float32)
        outputs = [function(torch.from_numpy(specs[start:start + batch_size]).to(self.device)).float().cpu().numpy()
                   for start in range(0, len(specs), batch_size)]
        return np.concatenate(outputs)


def judge_key(cfg: Config, train: SegmentDataset, normalization: Normalization) -> str:
    """What a trained judge depends on: TRAIN songs, feature settings, normalisation, the recipe."""
    features = cfg.features
    payload = {
        "songs": sorted(map(str, train.songs["song_id"])),
        "features": [features.sample_rate, features.n_mels, features.frame_length_ms, features.frame_shift_ms,
                     features.segment_frames, features.segment_hop, features.max_segments_per_song],
        "normalization": normalization.to_dict(), "recipe": JUDGE_RECIPE, "version": JUDGE_VERSION,
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def judge_config(cfg: Config) -> Config:
    """The run's config with the judge's small fresh AST in its ``ast`` section."""
    recipe = JUDGE_RECIPE
    keys = ("hidden_size", "num_layers", "num_heads", "intermediate_size", "patch_size", "frequency_stride",
            "time_stride")
    return cfg.with_overrides("ast.pretrained=null", "ast.dropout=0", *(f"ast.{k}={recipe[k]}" for k in keys))


def train_judge(cfg: Config, specs: np.ndarray, labels: np.ndarray, device: torch.device) -> torch.nn.Module:
    """Fit the small AST of :data:`JUDGE_RECIPE` to (N, 2) ``labels`` of (N, n_mels, frames) ``specs``.

    Seeded and self-contained: the global RNG state is restored afterwards, so the rest of
    ``synthesize`` draws the same numbers whether or not a judge was trained.
    """
    recipe = JUDGE_RECIPE
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(recipe["seed"])
        model = build_regressor(judge_config(cfg)).to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
        order = torch.Generator().manual_seed(recipe["seed"])
        x = torch.from_numpy(np.ascontiguousarray(specs, dtype=np.float32)).to(device)
        y = torch.from_numpy(np.asarray(labels, dtype=np.float32)).to(device)
        batch = min(recipe["batch_size"], len(x))
        for _ in range(recipe["epochs"]):
            for picks in torch.randperm(len(x), generator=order).split(batch):
                picks = picks.to(device)
                loss = torch.nn.functional.mse_loss(model(x[picks]), y[picks])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return model.eval()


def _judge_set(train: SegmentDataset) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_segments`` TRAIN segments (a seeded subset) and their labels."""
    n = min(len(train), JUDGE_RECIPE["max_segments"])
    picks = np.sort(np.random.default_rng(JUDGE_RECIPE["seed"]).choice(len(train), n, replace=False))
    return train.stack(picks), train.labels[picks].astype(np.float32)


def _val_scores(judge: Judge, val: SegmentDataset) -> dict:
    """The judge's segment-level CCC on real VAL segments: how much it learned."""
    predicted, labels = judge.predict(val.stack(), val.normalization), val.labels
    return {name: float(ccc(predicted[:, d].astype(np.float64), labels[:, d].astype(np.float64)))
            for d, name in enumerate(("valence", "arousal"))}


def judge_training_songs(path: Path) -> set[str] | None:
    """The TRAIN songs an external judge (a regressor checkpoint ``<run>/ast/best.pt`` or its run folder)
    was trained on, as its run folder's ``songs.csv`` records them; None when there is none to read
    (a checkpoint copied out of its run folder, or an export)."""
    path = Path(path)
    run = path if path.is_dir() else path.parent.parent
    songs = run / "songs.csv"
    if not songs.is_file():
        return None
    table = pd.read_csv(songs, dtype={"song_id": str})
    if "split" not in table or "song_id" not in table:
        return None
    return set(table.loc[table["split"] == "train", "song_id"])


def check_judge_songs(path: Path, train_songs: set[str], where: str, unknown_ok: bool) -> None:
    """Refuse a judge (``synth.judge``) that trained on songs outside ``train_songs`` (the TRAIN songs of the
    run whose synthetic set it filters, ``where``), naming them; and, unless ``unknown_ok``, one whose
    training songs cannot be read."""
    seen = judge_training_songs(path)
    if seen is None:
        if unknown_ok:
            log.warning(f"synth.judge={path}: its training songs are unknown (no songs.csv in its run folder), so "
                        "nothing checks that it never saw this run's VAL or TEST songs")
            return
        raise CheckpointError(f"synth.judge={path}: its training songs are unknown (no songs.csv in its run folder "
                              f"{Path(path).parent.parent}), and with synth.filter > 1 it chooses the training data "
                              f"of {where}; use a real-only ast/best.pt still inside its run folder")
    outside = sorted(seen - set(train_songs))
    if outside:
        listed = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
        raise CheckpointError(f"synth.judge={path} was trained on {len(outside)} song(s) outside the TRAIN songs of "
                              f"{where}: {listed}. With synth.filter > 1 the judge chooses the GAN arm's training "
                              "segments, so those songs (held out there) would shape its training data; use a judge "
                              "trained on that TRAIN only, or unset synth.judge (a judge trained on it is made)")


def load_or_train_judge(cfg: Config, train: SegmentDataset, val: SegmentDataset, device: torch.device) -> Judge:
    """The judge of ``synth.judge`` (a real-only checkpoint), or the run's cached one, or a new one. An
    external judge that filters the synthetic set (``synth.filter > 1``) must have trained on this run's
    TRAIN songs only (:func:`check_judge_songs`)."""
    if cfg.synth.judge:
        if cfg.synth.filter > 1:
            check_judge_songs(Path(cfg.synth.judge), set(map(str, train.songs["song_id"])), f"the run {cfg.run_dir}",
                              unknown_ok=True)
        judge = load_external_judge(Path(cfg.synth.judge), cfg, device)
        judge.val = _val_scores(judge, val)
        return judge
    path = cfg.paths.synthetic_dir / "judge.pt"
    key = judge_key(cfg, train, train.normalization)
    if path.is_file():
        cached = load_checkpoint(path)
        if cached.get("key") == key:
            with torch.random.fork_rng(devices=[]):  # building draws initial weights: keep the global RNG
                model = build_regressor(judge_config(cfg))
            try:
                model.load_state_dict(cached["model"])
                return Judge(model.to(device).eval(), train.normalization, device, f"{path} (cached)",
                             cached.get("val"))
            except RuntimeError:  # written by another version of the regressor class: train it again
                log.info(f"{path} does not fit this version's AST; training the judge again")
    started = time.perf_counter()
    specs, labels = _judge_set(train)
    model = train_judge(cfg, specs, labels, device)
    judge = Judge(model, train.normalization, device, "trained on the run's TRAIN segments")
    judge.val = _val_scores(judge, val)
    log.info(f"judge: a small AST trained on {len(specs)} real TRAIN segments in "
             f"{time.perf_counter() - started:.1f}s; VAL segment CCC valence {judge.val['valence']:.2f}, "
             f"arousal {judge.val['arousal']:.2f}")
    save_checkpoint(path, {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                           "key": key, "val": judge.val})
    return judge


def load_external_judge(path: Path, cfg: Config, device: torch.device) -> Judge:
    """A regressor checkpoint as the judge; refused unless it was trained on real data only."""
    trained = load_trained(path, device)
    ratio = trained.config.ast.synthetic_ratio
    if ratio > 0:
        raise CheckpointError(f"synth.judge={path} was trained with ast.synthetic_ratio={ratio}: a judge must have "
                              "seen real data only (train one with --set ast.synthetic_ratio=0), or unset synth.judge")
    expected = (cfg.features.n_mels, cfg.features.segment_frames)
    if tuple(trained.model.input_shape) != expected:
        raise CheckpointError(f"synth.judge={path} reads {trained.model.input_shape[0]} x "
                              f"{trained.model.input_shape[1]} segments, this run has {expected[0]} x {expected[1]}")
    return Judge(trained.model, trained.normalization, device, str(path))
