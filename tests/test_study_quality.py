"""Does a better GAN help more? The study's GANs, their quality measures and their arms' gains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.study.figures import plot_study_quality
from astgan.study.plan import Cell, Unit
from astgan.study.quality import (
    EFFECT,
    MEASURES,
    gan_table,
    quality_markdown,
    quality_measures,
    quality_vs_effect,
    within_budget_spearman,
)
from astgan.study.results import GanModelResult


def quality_report(fidelity: float, frechet: float, diversity_ratio: float = 1.0) -> dict:
    """The parts of a synthetic/quality.json that the measures read."""
    synthetic = {"valence": {"ccc": fidelity}, "arousal": {"ccc": fidelity + 0.1}}
    return {"label_fidelity": {"judge": {"synthetic": synthetic}, "ridge": {"synthetic": synthetic}},
            "realism": {"band": {"ratio": frechet}, "judge": {"ratio": 2 * frechet}},
            "diversity": {"ratio": diversity_ratio}, "texture": {"ratio": 1.0},
            "c2st": {"synthetic": {"band": {"linear": 0.9, "boosted": 1.0}, "cnn": fidelity + 0.5}}}


def test_the_correlation_is_taken_within_budget():
    """Within each budget the gain rises with the measure, but the budget with the better GANs has the
    smaller gains: pooled over budgets the ranks disagree, within budget they agree exactly."""
    budget = np.repeat([0.25, 0.5, 1.0], 8)
    measure = np.tile(np.arange(8.0), 3) + 10 * np.repeat([0, 1, 2], 8)
    gain = np.tile(np.arange(8.0), 3) * 0.01 - np.repeat([0, 1, 2], 8)
    naive = pd.Series(measure).corr(pd.Series(gain), method="spearman")
    rho, samples = within_budget_spearman(measure, gain, budget, n_boot=200, seed=0)
    assert naive < -0.5 and rho == pytest.approx(1.0)
    assert samples.shape == (200,) and np.nanmin(samples) > 0.9
    rho, _ = within_budget_spearman(measure, -gain, budget)
    assert rho == pytest.approx(-1.0)


def test_an_unrelated_measure_is_not_shown_and_a_related_one_is():
    rng = np.random.default_rng(0)
    rows = []
    for budget in (0.25, 0.5, 1.0):
        for fold in range(15):
            fidelity = rng.uniform(0.3, 0.8)
            rows.append({"fold": fold + 1, "budget": budget, "seed": 0, **dict.fromkeys(MEASURES, np.nan),
                         "fidelity_judge": fidelity, "frechet_band": rng.uniform(0.8, 2.0),
                         EFFECT: 0.2 * fidelity + rng.normal(0, 0.01)})
    result = quality_vs_effect(pd.DataFrame(rows), n_boot=500, confidence=0.95, seed=0)
    assert set(result["measures"]) == {"fidelity_judge", "frechet_band"}  # the others have no values
    related, unrelated = result["measures"]["fidelity_judge"], result["measures"]["frechet_band"]
    assert related["shown"] and related["low"] > 0.5 and related["better_gan_sign"] == 1
    assert not unrelated["shown"] and unrelated["low"] < 0 < unrelated["high"]
    assert result == quality_vs_effect(pd.DataFrame(rows), n_boot=500, confidence=0.95, seed=0)  # seeded


def test_the_gan_table_pairs_each_gan_with_its_own_arms(tmp_path):
    results, rows = {}, []
    for fold in range(3):
        for budget in (0.5, 1.0):
            cell = Cell(fold, budget)
            quality = quality_report(0.3 + 0.1 * fold, 1.0 + budget, 0.5)
            results[Unit(cell, "gan-model")] = GanModelResult(gan_epochs=1, n_synthetic=64, quality=quality)
            for arm, ccc in (("real", 0.4), ("gan", 0.4 + 0.01 * fold), ("control", 0.9)):
                rows.append({"fold": fold + 1, "budget": budget, "arm": arm, "seed": 0, "mean_ccc": ccc})
    results[Unit(Cell(0, 0.5), "gan-model", seed=1)] = GanModelResult(1, 64, quality={})  # no report: left out
    gans = gan_table(results, pd.DataFrame(rows))
    assert len(gans) == 6 and list(gans["budget"]) == [0.5] * 3 + [1.0] * 3
    assert np.allclose(gans[EFFECT], [0.0, 0.01, 0.02] * 2)
    assert np.allclose(gans["fidelity_judge"], [0.35, 0.45, 0.55] * 2)  # the mean of valence and arousal
    assert np.allclose(gans["diversity"], np.log(2.0))  # half the real diversity is as far from 1 as double
    assert np.allclose(gans["frechet_judge"], 2 * gans["frechet_band"])
    assert np.allclose(gans["c2st"], [(0.9 + 1.0 + 0.8 + 0.1 * fold) / 3 for fold in range(3)] * 2)

    result = quality_vs_effect(gans, n_boot=100, confidence=0.9, seed=0)
    assert result["n_gans"] == 6 and result["measures"]["fidelity_judge"]["rho"] == pytest.approx(1.0)
    assert "frechet_band" not in result["measures"]  # constant within each budget: no correlation to report
    text = "\n".join(quality_markdown(result, 0.9))
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table}) == 1  # no cell breaks the table's columns
    assert "## Does a better GAN help more?" in text and "90% interval" in text
    path = plot_study_quality(gans, result, tmp_path / "study_quality.png")
    assert path.stat().st_size > 10_000


def test_an_older_quality_report_gives_what_it_has():
    values = quality_measures({"label_fidelity": {"judge": {"synthetic": {"valence": {"ccc": 0.5},
                                                                         "arousal": {"ccc": 0.7}}}}})
    assert values["fidelity_judge"] == pytest.approx(0.6)
    assert values["texture"] is None and values["frechet_band"] is None and values["c2st"] is None
    assert quality_markdown({"n_gans": 0, "measures": {}}, 0.95) == []
