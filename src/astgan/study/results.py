"""What a unit of a study writes into its folder when it is done (its result file marks it done).

Two kinds: an arm (or the ridge baseline) holds the song-level predictions of its fold's TEST songs;
a ``gan-model`` unit holds what its GAN trained and drew and the synthetic set's quality report. A
unit taken whole from a base study (``--base``) says where it came from in ``reused_from``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from astgan.artifacts import read_json, write_json


@dataclass
class ArmResult:
    """An arm's (or the ridge's) result: its predictions of the fold's TEST songs, labels on -1..1."""

    song_ids: list[str]
    true: list[list[float]]  # (N, 2) valence, arousal
    pred: list[list[float]]  # (N, 2) the best validation epoch's song-level predictions (segment means)
    best_epoch: int | None  # None for the ridge
    steps: int | None  # optimiser steps; None for the ridge
    n_train_songs: int
    seconds: float = 0.0
    reused_from: str | None = None  # the base study's unit folder, when taken whole from it

    def to_dict(self) -> dict:
        return _without_unset_origin(dataclasses.asdict(self))


@dataclass
class GanModelResult:
    """A ``gan-model`` unit's result: the GAN trained, its synthetic set drawn and judged."""

    gan_epochs: int
    n_synthetic: int
    quality: dict | None  # the synthetic set's quality.json (None in a result file written before it had one)
    seconds: float = 0.0
    reused_from: str | None = None

    def to_dict(self) -> dict:
        return _without_unset_origin(dataclasses.asdict(self))


UnitResult = ArmResult | GanModelResult


def _without_unset_origin(values: dict) -> dict:
    """The result file's keys: ``reused_from`` only when the unit was taken from a base study."""
    return values if values["reused_from"] is not None else {k: v for k, v in values.items() if k != "reused_from"}


def unit_result_from_dict(kind: str, raw: dict) -> UnitResult:
    """A result file's content as the result of a unit of ``kind`` (gan-model, an arm, or ridge)."""
    if kind == "gan-model":
        return GanModelResult(raw["gan_epochs"], raw["n_synthetic"], raw.get("quality"), raw.get("seconds", 0.0),
                              raw.get("reused_from"))
    return ArmResult(raw["song_ids"], raw["true"], raw["pred"], raw.get("best_epoch"), raw.get("steps"),
                     raw["n_train_songs"], raw.get("seconds", 0.0), raw.get("reused_from"))


def read_unit_result(path: Path, kind: str) -> UnitResult:
    return unit_result_from_dict(kind, read_json(path))


def write_unit_result(path: Path, result: UnitResult) -> Path:
    return write_json(path, result.to_dict())
