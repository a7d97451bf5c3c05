"""A study run against a base study: which settings each unit reads, the checks on --base, the comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from astgan.config import Config, save_run_config
from astgan.errors import AstganError, DataError, MissingArtifactError
from astgan.study.base import config_differences, load_base, read_by
from astgan.study.compare import compare_studies, verdict_lines, vs_base_markdown


def test_differences_leave_out_where_the_work_runs():
    base = Config()
    this = base.with_overrides("run.dir=elsewhere", "study.jobs=7", "features.cache_dir=/tmp/c",
                               "synth.sampler=uniform", "gan.epochs=3")
    assert config_differences(base, this) == {"gan.epochs": (base.gan.epochs, 3),
                                              "synth.sampler": (base.synth.sampler, "uniform")}
    assert config_differences(base, base.with_overrides("run.dir=x")) == {}


@pytest.mark.parametrize("kind, key, reads", [
    ("real", "synth.sampler", False), ("control", "gan.epochs", False), ("ridge", "ast.lr", False),
    ("gan", "synth.sampler", True), ("gan-model", "synth.sampler", True), ("real", "ast.lr", True),
    ("ridge", "eval.ridge_alpha", True), ("real", "eval.ridge_alpha", False), ("gan", "eval.confidence", False),
    ("gan-model", "eval.ridge_alpha", True), ("control", "features.n_mels", True), ("ridge", "study.seed", True),
    ("gan", "eval.ridge_alpha", False), ("control", "ast.mixup_alpha", True), ("real", "ast.mixup_alpha", False),
    ("gan", "ast.mixup_bandwidth", False), ("gan-model", "ast.mixup_alpha", False), ("gan-model", "synth.judge", True),
    ("gan", "synth.judge", False), ("real", "ast.synthetic_source", False), ("gan", "ast.synthetic_source", True),
])
def test_which_unit_reads_which_setting(kind, key, reads):
    assert read_by(kind, key) is reads


def test_a_base_must_be_another_finished_study(tmp_path):
    cfg = Config().with_overrides(f"run.dir={tmp_path / 'variant'}")
    with pytest.raises(AstganError, match="own run folder"):
        load_base(tmp_path / "variant", cfg)
    with pytest.raises(MissingArtifactError, match="no config.yaml"):
        load_base(tmp_path / "nothing", cfg)
    base = Config().with_overrides(f"run.dir={tmp_path / 'base'}")
    save_run_config(base)
    with pytest.raises(MissingArtifactError, match=r"not finished.*astgan study -c .*config.yaml --resume"):
        load_base(tmp_path / "base", cfg)
    (tmp_path / "base" / "study").mkdir()
    (tmp_path / "base" / "study" / "predictions.csv").write_text("fold\n")
    assert load_base(tmp_path / "base", cfg).run_dir == tmp_path / "base"


def predictions(shift: dict[str, float], n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A predictions.csv of one budget: each arm predicts the truth plus noise plus ``shift[arm]``."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(2, 8, size=(n, 2))
    rows = []
    for arm, offset in shift.items():
        noisy = true + np.random.default_rng(1).normal(0, 0.6, size=true.shape) + offset
        rows += [[1 + i % 3, 0.5, arm, str(i), *t, *p] for i, (t, p) in enumerate(zip(true, noisy))]
    return pd.DataFrame(rows, columns=["fold", "budget", "arm", "song_id", "valence_true", "arousal_true",
                                       "valence_pred", "arousal_pred"])


def test_the_comparison_pairs_each_arm_with_its_base(tmp_path):
    base = predictions({"real": 0.0, "gan": 0.0})
    this = predictions({"real": 0.0, "gan": 0.0})
    this.loc[this["arm"] == "gan", ["valence_pred", "arousal_pred"]] = this.loc[
        this["arm"] == "gan", ["valence_true", "arousal_true"]].to_numpy()  # the variant's gan arm is exact
    result = compare_studies(this, base, tmp_path, n_boot=300, confidence=0.95, seed=0)
    real, gan = result["budgets"]["0.5"]["real"], result["budgets"]["0.5"]["gan"]
    assert real["mean_ccc"]["difference"] == 0 and not real["mean_ccc"]["shown"]  # the same units: exactly 0
    assert gan["mean_ccc"]["shown"] and gan["mean_ccc"]["low"] > 0
    assert result["regions"]["0.5"]["comparisons"]["gan - gan (base)"]["all"]["shown"]
    # an exact arm stays ahead at equal spread; the real arm, the same predictions, is left out of every table
    assert result["regions"]["0.5"]["matched"]["gan - gan (base)"]["all"]["shown"]
    text = vs_base_markdown(result, tmp_path, {"synth.sampler": ("balanced", "empirical")}, 0.95)
    assert "`synth.sampler`: 'balanced' in the base, 'empirical' here" in text and "real + GAN" in text
    assert "at equal spread" in text and "real - real (base)" not in text and text.count("gan - gan (base)") == 2
    # Holm's family: the arms trained again (here the GAN arm alone), so the exact arm stays shown after it
    assert gan["mean_ccc"]["shown_holm"] and gan["mean_ccc"]["p_holm"] == gan["mean_ccc"]["p"]
    assert "p_holm" not in real["mean_ccc"] and "after Holm" in text
    assert "no verdict can hold after Holm" not in text  # 300 resamples are enough for a family of 1
    few = vs_base_markdown(result, tmp_path, {}, 0.95, n_boot=300)
    assert "no verdict can hold" not in few
    lines = verdict_lines(result)  # what the CLI prints: the arms trained again
    assert len(lines) == 1 and "real + GAN" in lines[0] and "(shown, also after Holm)" in lines[0]
    same = compare_studies(base, base, tmp_path, n_boot=100, confidence=0.95, seed=0)
    assert verdict_lines(same) == ["- every arm was taken whole from the base: no difference to show"]


def test_a_comparison_over_other_songs_is_refused(tmp_path):
    base = predictions({"real": 0.0})
    this = predictions({"real": 0.0})
    this["fold"] = 1 + (this.index % 2)  # the same songs in other folds
    with pytest.raises(DataError, match="other songs or folds"):
        compare_studies(this, base, tmp_path, n_boot=100, confidence=0.95, seed=0)
    relabelled = predictions({"real": 0.0})
    relabelled["valence_true"] += 0.5
    with pytest.raises(DataError, match="labels differ"):
        compare_studies(relabelled, base, tmp_path, n_boot=100, confidence=0.95, seed=0)
