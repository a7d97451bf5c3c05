"""The regressor's training steps: real segments with extra items on top, SpecAugment, C-Mixup.

The ablation rests on these properties: every arm sees the same real segments in the same order
with the same masks, takes the same number of steps, and only the added items differ; nothing
synthetic or masked reaches validation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from astgan.data.augment import CMixup, SpecAugment, band_mask, beta_sample, mix
from astgan.data.batches import ExtraItems, SegmentBank, TrainingBatches
from astgan.errors import DataError


@pytest.fixture(scope="module")
def real_bank(prepared_tiny) -> SegmentBank:
    return SegmentBank(prepared_tiny[1].segments("train"), torch.device("cpu"))


def fake_synthetic(n: int, n_mels: int, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic-looking segments (float16, as synthesize writes them) with labels off the real ones."""
    rng = np.random.default_rng(seed)
    specs = rng.normal(size=(n, n_mels, frames)).astype(np.float16)
    labels = np.stack([np.linspace(-0.99, 0.99, n), np.full(n, 0.777)], axis=1).astype(np.float32)
    return specs, labels


def arm(real_bank: SegmentBank, kind: str | None, ratio: float = 0.5, augment: SpecAugment | None = None,
        synthetic_count: int = 40) -> TrainingBatches:
    """The batches of one ablation arm: real only (kind None), real + synthetic, or real + C-Mixup."""
    extras = None
    if kind == "synthetic":
        specs, labels = fake_synthetic(synthetic_count, *real_bank.shape[1:])
        extras = ExtraItems("synthetic", SegmentBank((specs, labels), real_bank.device))
    elif kind == "cmixup":
        cmixup = CMixup(real_bank.labels.numpy(), bandwidth=0.2, alpha=2.0, song_index=real_bank.song_index)
        extras = ExtraItems("cmixup", real_bank, cmixup)
    return TrainingBatches(real_bank, batch_size=16, seed=3, augment=augment, extras=extras,
                           extra_ratio=ratio if kind else 0.0)


def test_every_arm_sees_the_same_real_items_with_the_same_masks(real_bank):
    augment = SpecAugment(freq_mask=8, time_mask=32)
    arms = {kind: list(arm(real_bank, kind, augment=augment).epoch(1)) for kind in (None, "synthetic", "cmixup")}
    steps = math.ceil(len(real_bank) / 16)
    assert all(len(batches) == steps for batches in arms.values())  # equal optimiser steps
    for k, step in enumerate(arms[None]):
        n = len(step.labels)
        assert n == min(16, len(real_bank) - 16 * k) and step.n_extra == 0
        for kind in ("synthetic", "cmixup"):
            other = arms[kind][k]
            assert other.n_extra == round(0.5 * n)  # extra items come on top, never instead
            assert torch.equal(other.specs, step.specs) and torch.equal(other.labels, step.labels)
            assert other.seed == step.seed  # the same dropout seed for the real items
            assert other.extra_weight == pytest.approx(other.n_extra / n)
    assert len({step.seed for step in arms[None]}) == steps  # a seed of its own per step
    seen = torch.cat([step.labels for step in arms[None]])
    assert len(seen) == len(real_bank)  # every real segment exactly once per epoch
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, real_bank.labels.tolist()))


def test_the_order_depends_only_on_seed_and_epoch(real_bank):
    batches = arm(real_bank, "synthetic")
    first = [step.labels for step in batches.epoch(2)]
    again = [step.labels for step in arm(real_bank, "synthetic").epoch(2)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # what a resumed run needs
    other = [step.labels for step in batches.epoch(3)]
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_synthetic_extras_are_used_evenly_and_keep_their_labels(real_bank):
    batches = arm(real_bank, "synthetic", ratio=1.0, synthetic_count=40)
    extra_labels = torch.cat([step.extra_labels for step in batches.epoch(1)])
    _, synthetic_labels = fake_synthetic(40, *real_bank.shape[1:])
    rows = [int(np.argmin(np.abs(synthetic_labels[:, 0] - v))) for v in extra_labels[:, 0].numpy()]
    counts = np.bincount(rows, minlength=40)
    assert counts.max() - counts.min() <= 1  # permutations one after another: even use
    np.testing.assert_allclose(extra_labels[:, 1].numpy(), 0.777, rtol=1e-6)


def test_cmixup_items_blend_real_segments_of_similar_labels(real_bank):
    cmixup = CMixup(real_bank.labels.numpy(), bandwidth=0.1, alpha=2.0, song_index=real_bank.song_index)
    generator = torch.Generator().manual_seed(0)
    anchors = torch.arange(len(real_bank))
    partners, lambdas = cmixup.partners(anchors, generator)
    songs = torch.as_tensor(real_bank.song_index)
    assert not (songs[anchors] == songs[partners]).any()  # never mixed with its own song
    near = (real_bank.labels[anchors] - real_bank.labels[partners]).norm(dim=1).mean()
    random_pairs = (real_bank.labels[anchors] - real_bank.labels[torch.randperm(len(anchors))]).norm(dim=1).mean()
    assert near < 0.6 * random_pairs  # partners are chosen by label distance
    assert ((lambdas > 0) & (lambdas < 1)).all() and abs(float(lambdas.mean()) - 0.5) < 0.1
    specs, labels = mix(real_bank.get(anchors[:4]), real_bank.labels[:4], real_bank.get(partners[:4]),
                        real_bank.labels[partners[:4]], lambdas[:4])
    lam = lambdas[:4, None]
    assert torch.allclose(labels, lam * real_bank.labels[:4] + (1 - lam) * real_bank.labels[partners[:4]])
    assert specs.shape == (4, *real_bank.shape[1:])


def test_cmixup_never_pairs_an_anchor_with_itself_or_its_song_even_where_the_kernel_underflows():
    # two songs of two segments each, far apart for a bandwidth of 0.02: exp(-d^2 / 2h^2) is 0 in
    # floating point for every pair of songs, and the old fallback made every row uniform (plain mixup)
    labels = np.array([[0.0, 0.0], [0.0, 0.0], [0.9, 0.9], [0.9, 0.9]])
    cmixup = CMixup(labels, bandwidth=0.02, alpha=2.0, song_index=np.array([0, 0, 1, 1]))
    weights = cmixup.partner_weights
    assert torch.equal(weights[:2, :2], torch.zeros(2, 2)) and torch.equal(weights[2:, 2:], torch.zeros(2, 2))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(4))
    # the nearest other song wins by its distance, not uniformly
    nearest = CMixup(np.array([[0.0, 0.0], [0.5, 0.5], [0.9, 0.9]]), 0.02, 2.0, np.array([0, 1, 2])).partner_weights
    assert nearest[0, 1] > 0.99 and nearest[2, 1] > 0.99
    partners, _ = cmixup.partners(torch.arange(4).repeat(50), torch.Generator().manual_seed(0))
    assert (torch.as_tensor([0, 0, 1, 1])[partners] != torch.as_tensor([0, 0, 1, 1]).repeat(50)).all()


def test_cmixup_refuses_a_set_of_one_song():
    with pytest.raises(DataError, match="at least two songs"):
        CMixup(np.zeros((3, 2)), 0.2, 2.0, song_index=np.zeros(3, dtype=int))


def test_beta_draws_are_seeded():
    draw = beta_sample(2.0, 1000, torch.Generator().manual_seed(5))
    assert torch.equal(draw, beta_sample(2.0, 1000, torch.Generator().manual_seed(5)))
    assert abs(float(draw.mean()) - 0.5) < 0.03 and abs(float(draw.var()) - 0.05) < 0.01  # Beta(2, 2): var 1/20


def test_spec_augment_masks_one_band_each_way_with_zeros():
    specs = torch.randn(64, 32, 128) + 5.0  # no zeros before masking
    original = specs.clone()
    out = SpecAugment(freq_mask=8, time_mask=32)(specs, torch.Generator().manual_seed(0))
    assert out.shape == specs.shape and torch.equal(specs, original)  # the input is left untouched
    zeros = out == 0
    rows, columns = zeros.all(dim=2).sum(dim=1), zeros.all(dim=1).sum(dim=1)  # (64,) each
    assert (rows < 8).all() and (columns < 32).all() and rows.sum() > 0 and columns.sum() > 0
    assert torch.equal(SpecAugment(0, 0)(specs, torch.Generator()), specs)
    same = SpecAugment(8, 32)(specs, torch.Generator().manual_seed(0))
    assert torch.equal(same, out)  # the generator decides everything


def test_band_masks_are_contiguous_and_fit():
    bands = band_mask(500, 20, 30, torch.Generator().manual_seed(1), torch.device("cpu"))  # wider than the axis
    widths = bands.sum(dim=1)
    assert widths.max() <= 20 and widths.min() == 0
    for row in bands[widths > 0]:
        on = torch.nonzero(row).squeeze(1)
        assert on[-1] - on[0] + 1 == len(on)  # one contiguous band


def test_a_bank_reads_the_same_values_resident_or_from_the_cache(prepared_tiny):
    segments = prepared_tiny[1].segments("train")
    resident = SegmentBank(segments, torch.device("cpu"))
    streamed = SegmentBank(segments, torch.device("cpu"), max_bytes=0)
    assert resident.resident and not streamed.resident
    index = torch.tensor([3, 0, len(segments) - 1])
    assert torch.equal(resident.get(index), streamed.get(index))
    assert torch.equal(resident.get(index), torch.from_numpy(segments.stack(index.numpy())))


def test_processes_share_an_epoch_and_take_equal_steps(real_bank):
    single = [step.labels for step in arm(real_bank, None).epoch(1)]
    parts = [TrainingBatches(real_bank, 16, 3, rank=r, world=2) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == math.ceil(len(single) / 2)
    shards = [[step.labels for step in part.epoch(1)] for part in parts]
    interleaved = [batch for pair in zip(*shards) for batch in pair][: len(single)]
    assert all(torch.equal(a, b) for a, b in zip(interleaved, single))
