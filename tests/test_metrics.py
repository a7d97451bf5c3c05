"""The one CCC (population variance) and the regression report, against audmetric and by hand."""

from __future__ import annotations

import audmetric
import numpy as np
import pytest
import torch

from astgan.evaluation.baselines import mean_predictor
from astgan.metrics import ccc, regression_report


@pytest.mark.parametrize("seed", range(5))
def test_ccc_matches_audmetric_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    true = rng.normal(size=n)
    pred = 0.6 * true + rng.normal(scale=0.8, size=n) + rng.normal()  # correlated, offset, rescaled
    assert ccc(pred, true) == pytest.approx(audmetric.concordance_cc(true, pred), abs=1e-9)


def test_ccc_hand_computed_cases():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert ccc(x, x) == pytest.approx(1.0)
    # constant offset 1: var 2 each, cov 2 -> 4 / (2 + 2 + 1) = 0.8
    assert ccc(x + 1.0, x) == pytest.approx(0.8)
    # negated around the same mean: perfect anti-agreement
    assert ccc(6.0 - x, x) == pytest.approx(-1.0)
    # rescaled by 2 around the same mean: cov 4, vars 8 and 2 -> 8 / 10
    assert ccc(2.0 * (x - 3.0) + 3.0, x) == pytest.approx(0.8)
    # a constant prediction has no covariance with anything
    assert ccc(np.full(5, x.mean()), x) == pytest.approx(0.0)


def test_ccc_uses_population_variance():
    # two points: population variances 0.25 each, cov 0.25, means equal -> 0.5 / 0.5 = 1; with an
    # offset of 0.5 the sample-variance version would give 1 / (1 + 0.25) = 0.8, the population one
    # 0.5 / (0.5 + 0.25) = 2/3
    true = np.array([0.0, 1.0])
    assert ccc(true + 0.5, true) == pytest.approx(2.0 / 3.0)


def test_ccc_on_torch_is_differentiable_and_equal_to_numpy():
    rng = np.random.default_rng(0)
    pred_np, true_np = rng.normal(size=32), rng.normal(size=32)
    pred = torch.tensor(pred_np, requires_grad=True)
    value = ccc(pred, torch.tensor(true_np))
    assert isinstance(value, torch.Tensor)
    assert value.item() == pytest.approx(float(ccc(pred_np, true_np)), abs=1e-12)
    (1.0 - value).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_ccc_along_the_last_axis_matches_row_by_row():
    rng = np.random.default_rng(1)
    pred, true = rng.normal(size=(7, 40)), rng.normal(size=(7, 40))
    batched = ccc(pred, true)
    assert batched.shape == (7,)
    np.testing.assert_allclose(batched, [ccc(p, t) for p, t in zip(pred, true)], atol=1e-12)


def test_regression_report_mean_predictor_scores_zero_ccc():
    rng = np.random.default_rng(2)
    train = rng.uniform(-1, 1, size=(100, 2))
    test = rng.uniform(-1, 1, size=(30, 2))
    report = regression_report(mean_predictor(train, len(test)), test)
    assert report["valence"]["ccc"] == pytest.approx(0.0, abs=1e-12)
    assert report["arousal"]["ccc"] == pytest.approx(0.0, abs=1e-12)
    assert report["mean_ccc"] == pytest.approx(0.0, abs=1e-12)
    assert report["valence"]["pearson"] == 0.0  # a constant has no correlation
    assert report["valence"]["r2"] <= 0.0  # a constant other than the test mean explains nothing


def test_regression_report_errors_are_on_the_deam_scale():
    true = np.zeros((10, 2))
    pred = np.full((10, 2), 0.25)  # 0.25 on -1..1 is one point on 1..9
    report = regression_report(pred, true)
    assert report["valence"]["rmse"] == pytest.approx(1.0)
    assert report["arousal"]["mae"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        regression_report(pred[:, :1], true[:, :1])


def test_song_means_average_each_songs_segments_in_first_seen_order():
    from astgan.metrics import song_means

    values = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0], [7.0, 70.0]])
    np.testing.assert_allclose(song_means(values, np.array(["9", "2", "9", "2"])), [[3.0, 30.0], [5.0, 50.0]])
    np.testing.assert_allclose(song_means(values, np.array([0, 0, 0, 1])), [[3.0, 30.0], [7.0, 70.0]])
