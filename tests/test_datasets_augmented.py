"""The regressor's training pool: real + synthetic in the requested ratio, SpecAugment, the epoch sampler.

Synthetic and masked data must never reach validation.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from astgan.data.datasets import AugmentedSpectrogramDataset, EpochSampler, SegmentDataset, SpecAugment


@pytest.fixture(scope="module")
def real_train(prepared_tiny) -> SegmentDataset:
    cfg, data = prepared_tiny
    return data.segments("train")


def fake_synthetic(n: int, n_mels: int, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic-looking segments (float16, as synthesize writes them) with labels far off the real range."""
    rng = np.random.default_rng(seed)
    specs = rng.normal(size=(n, n_mels, frames)).astype(np.float16)
    labels = np.stack([np.linspace(-0.99, 0.99, n), np.full(n, 0.777)], axis=1).astype(np.float32)
    return specs, labels


@pytest.mark.parametrize("ratio", [0.0, 0.5, 1.0])
def test_pool_mixes_real_and_synthetic_in_the_requested_ratio(real_train, ratio):
    specs, labels = fake_synthetic(len(real_train) * 2, real_train.n_mels, real_train.segment_frames)
    pool = AugmentedSpectrogramDataset(real_train, specs, labels, ratio=ratio)
    assert pool.n_real == len(real_train)
    assert pool.n_synthetic == round(ratio * len(real_train))
    assert pool.is_synthetic.sum() == pool.n_synthetic and not pool.is_synthetic[: pool.n_real].any()
    assert pool.labels.shape == (len(pool), 2)
    if pool.n_synthetic:
        spec, label = pool[pool.n_real]  # first synthetic item: the array's own values, as float32
        row = pool.synthetic_index[0]
        assert spec.dtype == torch.float32 and torch.equal(spec, torch.from_numpy(specs[row].astype(np.float32)))
        assert torch.equal(label, torch.from_numpy(labels[row]))
        assert len(set(pool.synthetic_index.tolist())) == pool.n_synthetic  # a subset: no repeats needed


def test_too_few_synthetic_segments_are_repeated_evenly(real_train):
    specs, labels = fake_synthetic(7, real_train.n_mels, real_train.segment_frames)
    pool = AugmentedSpectrogramDataset(real_train, specs, labels, ratio=1.0)
    assert pool.n_synthetic == len(real_train)
    counts = np.bincount(pool.synthetic_index, minlength=7)
    assert counts.max() - counts.min() <= 1


def test_synthetic_shape_is_checked(real_train):
    specs, labels = fake_synthetic(10, real_train.n_mels + 1, real_train.segment_frames)
    with pytest.raises(ValueError, match=r"expected \(N, 32, 128\)"):
        AugmentedSpectrogramDataset(real_train, specs, labels, ratio=0.5)


def test_validation_never_gets_synthetic_items_or_masks(prepared_tiny):
    cfg, data = prepared_tiny
    val = data.segments("val")
    specs, labels = fake_synthetic(10, cfg.features.n_mels, cfg.features.segment_frames)
    with pytest.raises(ValueError, match="TRAIN segments only"):
        AugmentedSpectrogramDataset(val, specs, labels, ratio=1.0, augment=SpecAugment(8, 32))

    from astgan.regressor.train import make_datasets

    real_only = copy.deepcopy(cfg)
    real_only.ast.synthetic_ratio = 0.0
    pool, val = make_datasets(real_only, data)
    assert isinstance(val, SegmentDataset) and set(val.songs["split"]) == {"val"}
    assert all(torch.equal(val[i][0], val[i][0]) for i in range(0, len(val), 7))  # no random masks
    torch.manual_seed(0)
    assert any(not torch.equal(pool[i][0], pool[i][0]) for i in range(10))  # training items are masked


def test_spec_augment_masks_bands_with_zeros():
    torch.manual_seed(0)
    spec = torch.randn(32, 128) + 5.0  # no zeros before masking
    original = spec.clone()
    masked_rows = masked_columns = 0
    for _ in range(20):
        out = SpecAugment(freq_mask=8, time_mask=32)(spec)
        assert out.shape == spec.shape and torch.equal(spec, original)  # the input is left untouched
        zeros = out == 0
        masked_rows += int(zeros.all(dim=1).sum())
        masked_columns += int(zeros.all(dim=0).sum())
        assert int(zeros.all(dim=1).sum()) < 8 and int(zeros.all(dim=0).sum()) < 32
    assert masked_rows > 0 and masked_columns > 0
    assert torch.equal(SpecAugment(0, 0)(spec), spec)


def test_epoch_sampler_draws_real_count_from_the_pool(real_train):
    specs, labels = fake_synthetic(len(real_train), real_train.n_mels, real_train.segment_frames)
    pool = AugmentedSpectrogramDataset(real_train, specs, labels, ratio=1.0)
    sampler = EpochSampler(len(pool), pool.n_real, seed=3)
    shares = []
    for epoch in (1, 2, 3):
        sampler.set_epoch(epoch)
        drawn = list(sampler)
        assert len(drawn) == pool.n_real and len(set(drawn)) == len(drawn)  # without replacement
        shares.append(pool.is_synthetic[drawn].mean())
    assert 0.35 < np.mean(shares) < 0.65  # half of the pool is synthetic
    # the order depends only on (seed, epoch): what a resumed run needs
    sampler.set_epoch(2)
    epoch_two = list(sampler)
    fresh = EpochSampler(len(pool), pool.n_real, seed=3)
    fresh.set_epoch(2)
    assert list(fresh) == epoch_two
    fresh.set_epoch(3)
    assert list(fresh) != epoch_two

    # equal optimiser steps: a real-only and an augmented loader have the same length
    real_only = AugmentedSpectrogramDataset(real_train)
    loaders = [DataLoader(p, batch_size=16, sampler=EpochSampler(len(p), p.n_real)) for p in (real_only, pool)]
    assert len(loaders[0]) == len(loaders[1]) == -(-len(real_train) // 16)
