"""The study's verdicts: hierarchical intervals per budget, the declared primary family under Holm, and the
refusals that keep an arm's training data clean (an external judge that saw held-out songs, a stale ablation)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from astgan.config import Config
from astgan.errors import AstganError, CheckpointError, ConfigError
from astgan.study.base import read_by, reuse_from_base
from astgan.study.plan import plan, result_path, unit_dir
from astgan.study.results import ArmResult, GanModelResult, write_unit_result
from astgan.study.runner import start_study
from astgan.study.statistics import compare_arms, fold_arrays
from astgan.synthetic.judge import check_judge_songs, judge_training_songs

ARMS = ("real", "gan", "control")


def study_predictions(folds: int = 4, songs: int = 20, seeds: int = 3, seed_sd: float = 0.0,
                      gan_gain: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A predictions.csv of one budget: each arm's model per fold and seed is the labels plus noise; ``seed_sd``
    moves each model's whole quality with its seed, ``gan_gain`` makes the GAN arm's models that much less noisy."""
    rng = np.random.default_rng(seed)
    rows = []
    for fold in range(1, folds + 1):
        true = rng.uniform(2, 8, size=(songs, 2))
        heard = true + rng.normal(0, 0.8, size=true.shape)  # a song difficulty every model shares
        for arm in (*ARMS, "ridge"):
            for s in range(1 if arm == "ridge" else seeds):
                noise = max(0.05, 0.8 + rng.normal(0, seed_sd) - (gan_gain if arm == "gan" else 0.0))
                pred = heard + rng.normal(0, noise, size=true.shape)
                rows += [[fold, 0.5, arm, s, f"{fold}-{i}", *t, *p] for i, (t, p) in enumerate(zip(true, pred))]
    return pd.DataFrame(rows, columns=["fold", "budget", "arm", "seed", "song_id", "valence_true", "arousal_true",
                                       "valence_pred", "arousal_pred"])


def test_the_primary_family_alone_is_corrected_and_both_estimators_have_intervals():
    summary = compare_arms(study_predictions(gan_gain=0.5), n_boot=2000, confidence=0.95, seed=0)
    entry = summary["0.5"]
    assert entry["family"] == 2 and entry["n_folds"] == 4 and entry["seeds"] == 3 and entry["n_songs"] == 80
    for name in ("gan - real", "gan - control"):
        mean = entry["comparisons"][name]["mean_ccc"]
        assert mean["primary"] and mean["p"] <= mean["p_holm"] and mean["low"] <= mean["difference"] <= mean["high"]
        assert mean["shown_holm"] and mean["low"] > 0  # a GAN arm that is truly better is shown after Holm
        assert mean["mc_error"] < 0.1 * (mean["high"] - mean["low"])
        pooled = entry["pooled"][name]["mean_ccc"]
        assert pooled["low"] <= pooled["difference"] <= pooled["high"] and pooled["difference"] != mean["difference"]
        assert entry["fold_t"][name]["mean_ccc"][0] < entry["fold_t"][name]["mean_ccc"][1]
    for name in ("control - real", "real - ridge"):  # exploratory: no Holm
        assert "p_holm" not in entry["comparisons"][name]["mean_ccc"]
        assert not entry["comparisons"][name]["mean_ccc"]["primary"]
    arm = entry["arms"]["real"]
    assert arm["mean_ccc"]["low"] <= arm["mean_ccc"]["ccc"] <= arm["mean_ccc"]["high"] and "pooled" in arm
    assert entry["arms"]["ridge"]["seeds"] == 1 and arm["seeds"] == 3
    json.dumps(summary)  # study.json can hold it


def test_seeds_that_move_the_models_widen_the_verdict_interval_but_not_the_song_only_one():
    wide = compare_arms(study_predictions(seed_sd=0.25, seed=3), n_boot=2000, confidence=0.95, seed=0)["0.5"]
    hierarchical, songs = wide["comparisons"]["gan - real"]["mean_ccc"], wide["song_only"]["gan - real"]["mean_ccc"]
    assert hierarchical["high"] - hierarchical["low"] > 1.2 * (songs["high"] - songs["low"])
    assert hierarchical["difference"] == pytest.approx(songs["difference"])  # one estimate, two intervals


def test_a_declared_primary_family_of_one_is_corrected_alone():
    summary = compare_arms(study_predictions(), n_boot=500, confidence=0.95, seed=0, primary=("gan - real",))
    comparisons = summary["0.5"]["comparisons"]
    assert summary["0.5"]["family"] == 1 and comparisons["gan - real"]["mean_ccc"]["p_holm"] == pytest.approx(
        comparisons["gan - real"]["mean_ccc"]["p"])
    assert "p_holm" not in comparisons["gan - control"]["mean_ccc"]


def test_arms_with_different_seed_counts_are_refused():
    frame = study_predictions(seeds=2)
    frame = frame[~((frame["arm"] == "control") & (frame["seed"] == 1))]
    with pytest.raises(ValueError, match="different numbers of training seeds"):
        fold_arrays(frame)


def test_the_primary_family_is_checked_in_the_config():
    with pytest.raises(ConfigError, match="study.primary"):
        Config().with_overrides("study.primary=[gan - ridge]")
    assert Config().study.primary == ("gan - real", "gan - control") and Config().study.bootstrap_samples == 10000


# ----------------------------------------------------------------------------- an external judge


def judge_run(tmp_path, name: str, train: list[str]):
    """A judge's run folder: songs.csv recording its TRAIN songs; returns the path of its ast/best.pt."""
    run = tmp_path / name
    (run / "ast").mkdir(parents=True)
    pd.DataFrame({"song_id": train, "split": "train"}).to_csv(run / "songs.csv", index=False)
    return run / "ast" / "best.pt"


def test_a_judge_that_trained_outside_the_run_train_is_refused_naming_the_songs(tmp_path):
    path = judge_run(tmp_path, "judge", ["3", "4", "9"])
    assert judge_training_songs(path) == {"3", "4", "9"} == judge_training_songs(path.parent.parent)
    check_judge_songs(path, {"3", "4", "9", "10"}, "fold 1", unknown_ok=False)  # inside TRAIN: accepted
    with pytest.raises(CheckpointError, match=r"2 song\(s\) outside the TRAIN songs of fold 1: 4, 9"):
        check_judge_songs(path, {"3", "10"}, "fold 1", unknown_ok=False)
    copied = tmp_path / "elsewhere.pt"
    assert judge_training_songs(copied) is None
    with pytest.raises(CheckpointError, match="training songs are unknown"):
        check_judge_songs(copied, {"3"}, "fold 1", unknown_ok=False)
    check_judge_songs(copied, {"3"}, "a run", unknown_ok=True)  # outside a study: a warning only


def test_a_study_refuses_a_filtering_judge_that_saw_a_cells_held_out_songs(prepared_tiny, tmp_path):
    cfg, data = prepared_tiny
    every_song = list(data.songs["song_id"].astype(str))
    judge = judge_run(tmp_path, "judge", every_song)  # trained on every song: each fold's TEST songs too
    study = cfg.with_overrides(f"run.dir={tmp_path / 'study'}", "study.folds=3", "study.budgets=[1.0]",
                               "ast.synthetic_ratio=0.5", f"synth.judge={judge}", "synth.filter=3")
    with pytest.raises(AstganError, match=r"outside the TRAIN songs of fold 1, 100% of TRAIN, gan-model"):
        start_study(study)
    assert not list((tmp_path / "study").glob("study/*/*/gan/gan"))  # refused before any training
    unknown = study.with_overrides(f"synth.judge={tmp_path / 'nowhere' / 'best.pt'}")
    with pytest.raises(AstganError, match="training songs are unknown"):
        start_study(unknown, resume=True)
    start_study(study.with_overrides("synth.filter=1"), resume=True)  # the judge only scores the quality report


# ----------------------------------------------------------------------------- a judge ablation


def finished_base(tmp_path, *settings: str) -> Config:
    """A base study whose every unit has a result file (and every GAN a gan/ folder), without training."""
    base = Config().with_overrides(f"run.dir={tmp_path / 'base'}", "study.folds=2", "study.budgets=[1.0]",
                                   *settings)
    for unit in plan(base):
        if unit.kind == "gan-model":
            (unit_dir(base.paths.study_dir, unit) / "gan").mkdir(parents=True, exist_ok=True)
            (unit_dir(base.paths.study_dir, unit) / "gan" / "generator.pt").write_bytes(b"weights")
            result = GanModelResult(1, 64, None)
        else:
            result = ArmResult(["1"], [[0.0, 0.0]], [[0.1, 0.1]], 1, 10, 5)
        write_unit_result(result_path(base.paths.study_dir, unit), result)
    return base


@pytest.mark.parametrize("filter_, gan_arms_reused", [(3.0, False), (1.0, True)])
def test_a_judge_ablation_with_the_filter_on_retrains_the_gan_arms(tmp_path, filter_, gan_arms_reused):
    base = finished_base(tmp_path, f"synth.filter={filter_}", "synth.judge=runs/a/ast/best.pt")
    variant = base.with_overrides(f"run.dir={tmp_path / 'variant'}", "synth.judge=runs/b/ast/best.pt")
    reused = reuse_from_base(variant, base, plan(variant), set())
    done = {u.kind for u in plan(variant) if result_path(variant.paths.study_dir, u).is_file()}
    assert done == ({"real", "control", "ridge", "gan"} if gan_arms_reused else {"real", "control", "ridge"})
    assert reused.gans == 2  # the GANs themselves trained the same way: only their sets are drawn again
    assert read_by("gan", "synth.judge", filtered=True) and not read_by("gan", "synth.judge")
    assert not read_by("real", "synth.judge", filtered=True)
