"""Training batches of the regressor: the real TRAIN segments, with extra items added on top.

An epoch visits every real TRAIN segment once, in an order that depends only on (seed, epoch).
Each step takes ``batch_size`` real segments and, when ``extra_ratio > 0``, ``round(ratio * B)``
extra items on top of them: synthetic segments from the GAN, or C-Mixup blends of real ones.

This is what keeps an ablation honest. In every arm the real part of step k of epoch e is the
same: the same segments, in the same order, with the same SpecAugment masks (drawn from a
generator of its own, seeded by (seed, epoch, k)) and the same dropout seed. The arms differ only
in the extra items, which a step keeps apart from the real ones (:class:`Step`), and take the same
optimiser steps.

Segments live in one tensor on the training device when they fit (``resident_budget``): a step is
then an index lookup with no host work. Larger sets are read from the feature cache batch by
batch, with the same values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from astgan.data.augment import CMixup, SpecAugment, mix
from astgan.data.datasets import SegmentDataset

# Seeds of the generators behind one step: the real stream, the extra stream and the dropout seed
# never share one.
REAL_STREAM, EXTRA_STREAM, DROPOUT_STREAM = 1, 2, 3
CPU_RESIDENT_BYTES = 2 << 30  # on the CPU, sets up to 2 GiB (float32) are kept in memory
GPU_RESIDENT_SHARE = 0.4  # on a GPU, up to this share of the free memory


def resident_budget(device: torch.device) -> int:
    """How many bytes of segments to keep on ``device``: a share of free GPU memory, or a fixed CPU cap."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * GPU_RESIDENT_SHARE)
    return CPU_RESIDENT_BYTES


def step_generator(seed: int, epoch: int, step: int, stream: int) -> torch.Generator:
    """A CPU generator for one stream of one step: depends on nothing but these four numbers."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 1_000_033 + step) * 7 + stream)


class SegmentBank:
    """Segments addressable in batches: (B,) indices -> (B, n_mels, frames) float32 on ``device``.

    ``dataset`` is a :class:`SegmentDataset` (real segments, read from the cache), or a pair of
    arrays (specs (N, n_mels, frames), labels (N, 2)) such as the synthetic set. ``labels`` is an
    (N, 2) float32 tensor on ``device``; ``song_index`` an (N,) array of each segment's song.
    """

    def __init__(self, dataset: SegmentDataset | tuple[np.ndarray, np.ndarray], device: torch.device,
                 max_bytes: int | None = None):
        self.device = device
        if isinstance(dataset, SegmentDataset):
            self.dataset: SegmentDataset | None = dataset
            labels, self.song_index = dataset.labels, dataset.song_index
            shape = (len(dataset), dataset.n_mels, dataset.segment_frames)
        else:
            specs, labels = dataset
            self.dataset = None
            self.song_index = np.arange(len(specs))
            shape = specs.shape
        self.labels = torch.as_tensor(np.asarray(labels, dtype=np.float32)).to(device)
        self.shape = tuple(int(s) for s in shape)
        budget = resident_budget(device) if max_bytes is None else max_bytes
        self.specs: torch.Tensor | None = None
        if self.dataset is None:  # arrays given: always resident (they are already in memory)
            self.specs = torch.as_tensor(np.asarray(specs, dtype=np.float32)).to(device)
        elif math.prod(self.shape) * 4 <= budget:
            self.specs = torch.from_numpy(self.dataset.stack()).to(device)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def resident(self) -> bool:
        return self.specs is not None

    def get(self, index: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) float32 on the device for (B,) indices (a CPU tensor)."""
        if self.specs is not None:
            return self.specs[index.to(self.device)]
        return torch.from_numpy(self.dataset.stack(index.numpy())).to(self.device, non_blocking=True)

    def batches(self, size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every segment in order, as ((<= size, n_mels, frames), (<= size, 2)) on the device."""
        for start in range(0, len(self), size):
            index = torch.arange(start, min(start + size, len(self)))
            yield self.get(index), self.labels[index.to(self.device)]


class ExtraItems:
    """The items added on top of each real batch: synthetic segments, or C-Mixup blends of real ones.

    ``kind`` is ``synthetic`` (``source`` holds the synthetic set) or ``cmixup`` (``source`` is the
    real TRAIN bank itself; ``cmixup`` the pair sampler).
    """

    def __init__(self, kind: str, source: SegmentBank, cmixup: CMixup | None = None):
        if kind not in ("synthetic", "cmixup"):
            raise ValueError(f"unknown kind of extra items '{kind}', expected synthetic or cmixup")
        if kind == "cmixup" and cmixup is None:
            raise ValueError("cmixup extra items need a CMixup pair sampler")
        self.kind, self.source, self.cmixup = kind, source, cmixup

    def draw(self, anchors: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, n_mels, frames) specs and (n, 2) labels for (n,) anchor indices into ``source``."""
        device = self.source.device
        specs, labels = self.source.get(anchors), self.source.labels[anchors.to(device)]
        if self.kind == "synthetic":
            return specs, labels
        partners, lambdas = self.cmixup.partners(anchors, generator)
        return mix(specs, labels, self.source.get(partners), self.source.labels[partners.to(device)], lambdas)


@dataclass
class Step:
    """One optimiser step's items on the device: B real segments and E extra items on top (E may be 0).

    ``specs`` (B, n_mels, frames), ``labels`` (B, 2); ``extra_specs`` (E, n_mels, frames),
    ``extra_labels`` (E, 2); ``seed``: the step's own seed for dropout and any other randomness of
    the forward pass, the same in every arm.
    """

    specs: torch.Tensor
    labels: torch.Tensor
    extra_specs: torch.Tensor
    extra_labels: torch.Tensor
    seed: int

    @property
    def n_extra(self) -> int:
        return len(self.extra_labels)

    @property
    def extra_weight(self) -> float:
        """E / B: the weight of the extra items' mean loss beside the real items' mean loss, so that every
        item counts 1 / B and the real items weigh as much as in an arm without extras."""
        return self.n_extra / len(self.labels)


class TrainingBatches:
    """The steps of each epoch (:class:`Step`: B real segments, E extra items on top) on the device.

    ``real``: the TRAIN bank; ``extras`` and ``extra_ratio``: what to add on top (E = round(ratio * B)
    for a batch of B real segments); ``augment``: SpecAugment for every item (real and extra).
    Under ``accelerate launch`` each of ``world`` processes takes every ``world``-th batch (``rank``
    first); all take the same number of steps.
    """

    def __init__(self, real: SegmentBank, batch_size: int, seed: int, augment: SpecAugment | None = None,
                 extras: ExtraItems | None = None, extra_ratio: float = 0.0, rank: int = 0, world: int = 1):
        self.real, self.batch_size, self.seed = real, batch_size, seed
        self.augment, self.extras = augment, extras if extra_ratio > 0 else None
        self.extra_ratio = extra_ratio
        self.rank, self.world = rank, world

    @property
    def global_steps(self) -> int:
        """Batches of real segments in an epoch: ceil(n_real / batch_size), set by the real data alone."""
        return math.ceil(len(self.real) / self.batch_size)

    def __len__(self) -> int:
        """Steps this process takes per epoch."""
        return math.ceil(self.global_steps / self.world)

    def n_extra(self, n_real: int) -> int:
        return int(round(self.extra_ratio * n_real)) if self.extras is not None else 0

    def epoch(self, epoch: int) -> Iterator[Step]:
        """The steps of one epoch (1-based), for this process."""
        order = torch.randperm(len(self.real), generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
        batches = list(order.split(self.batch_size))
        anchors = self._extra_anchors(epoch, [len(b) for b in batches])
        for k in range(self.rank, self.rank + len(self) * self.world, self.world):
            k %= len(batches)  # the last processes wrap around rather than take fewer steps
            yield self._step(epoch, k, batches[k], anchors[k])

    def _extra_anchors(self, epoch: int, sizes: list[int]) -> list[torch.Tensor]:
        """Per batch, the indices into the extra source: permutations of it, one after another,
        so that every extra item is used about equally often."""
        counts = [self.n_extra(n) for n in sizes]
        total = sum(counts)
        if total == 0:
            return [torch.zeros(0, dtype=torch.long) for _ in sizes]
        generator = step_generator(self.seed, epoch, -1, EXTRA_STREAM)
        n_source = len(self.extras.source)
        sequence = torch.cat([torch.randperm(n_source, generator=generator) for _ in range(-(-total // n_source))])
        return list(sequence[:total].split(counts))

    def _step(self, epoch: int, k: int, index: torch.Tensor, anchors: torch.Tensor) -> Step:
        specs, labels = self.real.get(index), self.real.labels[index.to(self.real.device)]
        if self.augment is not None:
            specs = self.augment(specs, step_generator(self.seed, epoch, k, REAL_STREAM))
        seed = int(torch.randint(0, 2**62, (1,), generator=step_generator(self.seed, epoch, k, DROPOUT_STREAM)))
        if len(anchors) == 0:
            return Step(specs, labels, specs[:0], labels[:0], seed)
        extra_generator = step_generator(self.seed, epoch, k, EXTRA_STREAM)
        extra_specs, extra_labels = self.extras.draw(anchors, extra_generator)
        if self.augment is not None:
            extra_specs = self.augment(extra_specs, extra_generator)
        return Step(specs, labels, extra_specs, extra_labels, seed)
