"""`astgan study`: folds, budgets, arms that differ in one thing, pooled statistics, resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from astgan.data.labels import to_unit_scale
from astgan.data.splits import assign_folds, budget_split, fold_split
from astgan.metrics import regression_report
from astgan.study.plan import ARMS, Cell, Unit, plan, unit_config, unit_dir
from astgan.study.results import ArmResult, GanModelResult, read_unit_result, write_unit_result

from helpers import invoke, tiny_config


def test_a_unit_result_reads_its_file_and_writes_it_back_as_it_was(tmp_path):
    arm = {"song_ids": ["2", "5"], "true": [[0.1, -0.2], [0.3, 0.4]], "pred": [[0.0, 0.1], [0.2, 0.25]],
           "best_epoch": None, "steps": None, "n_train_songs": 7, "seconds": 0.25}
    gan = {"gan_epochs": 1, "n_synthetic": 64, "quality": {"n_synthetic": 64}, "seconds": 2.5,
           "reused_from": "runs/base/study/fold1/budget050/gan"}
    for kind, raw, kind_of_result in (("ridge", arm, ArmResult), ("gan-model", gan, GanModelResult)):
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(raw))
        result = read_unit_result(path, kind)
        assert isinstance(result, kind_of_result) and result.seconds == raw["seconds"]
        assert result.to_dict() == raw and list(result.to_dict()) == list(raw)  # the same keys, in order
        again = write_unit_result(tmp_path / f"{kind}-again.json", result)
        assert json.loads(again.read_text()) == raw
    assert "reused_from" not in read_unit_result(tmp_path / "ridge.json", "ridge").to_dict()  # only when reused


def test_folds_hold_every_song_out_once_and_budgets_are_nested(prepared_tiny):
    _, data = prepared_tiny
    songs = data.songs.drop(columns="split")
    folds = assign_folds(songs, 3, seed=0)
    assert sorted(np.bincount(folds)) == [8, 8, 8]  # 24 songs, 3 folds
    for fold in range(3):
        table = fold_split(songs, folds, fold, val_share=0.2, seed=0)
        assert set(table.loc[table["split"] == "test", "song_id"]) == set(songs["song_id"][folds == fold])
        kept = {b: set(budget_split(table, b, seed=1).query("split == 'train'")["song_id"]) for b in (0.25, 0.5, 1.0)}
        assert kept[0.25] < kept[0.5] < kept[1.0] == set(table.query("split == 'train'")["song_id"])
        assert len(kept[0.5]) == int(np.ceil(0.5 * len(kept[1.0])))
        smaller = budget_split(table, 0.25, seed=1)
        assert set(smaller.query("split == 'val'")["song_id"]) == set(table.query("split == 'val'")["song_id"])
        assert (smaller["split"] == "unused").sum() == len(kept[1.0]) - len(kept[0.25])


def test_arms_differ_only_in_the_added_items(prepared_tiny, tmp_path):
    cfg = prepared_tiny[0].with_overrides(f"run.dir={tmp_path}", "ast.synthetic_ratio=0.5", "ast.epochs=4")
    cell = Cell(0, 0.5)
    configs = {kind: unit_config(cfg, Unit(cell, kind)).to_dict() for kind in ARMS}
    differing = {}
    for kind, raw in configs.items():
        for section, body in raw.items():
            for key, value in body.items():
                if value != configs["real"][section][key]:
                    differing.setdefault(kind, set()).add(f"{section}.{key}")
    assert differing["gan"] == {"run.dir", "ast.synthetic_ratio"}  # real has ratio 0; same source setting
    assert differing["control"] == {"run.dir", "ast.synthetic_ratio", "ast.synthetic_source"}
    assert all(raw["ast"]["patience"] == 4 for raw in configs.values())  # no early stopping: equal steps
    assert len(plan(cfg)) == cfg.study.folds * len(cfg.study.budgets) * 5


def test_each_seed_trains_its_own_gan_and_arms_and_the_ridge_runs_once(tmp_path):
    from astgan.config import Config

    cfg = Config().with_overrides(f"run.dir={tmp_path}", "study.folds=3", "study.budgets=[0.5, 1.0]",
                                  "study.seeds=2", "run.seed=10")
    units = plan(cfg)
    assert len(units) == 3 * 2 * 5 + 3 * 2 * 4  # seed 1 has no ridge
    assert {u.seed for u in units if u.kind == "ridge"} == {0}
    for unit in units:
        if unit.kind == "gan":
            assert unit.after == Unit(unit.cell, "gan-model", unit.seed) and unit.after in units
    again = Unit(Cell(0, 0.5), "real", 1)
    assert unit_config(cfg, again).run.seed == 11 and unit_config(cfg, Unit(Cell(0, 0.5), "real")).run.seed == 10
    assert unit_dir(cfg.paths.study_dir, again).name == "real-seed1"
    assert unit_dir(cfg.paths.study_dir, Unit(Cell(0, 0.5), "gan")).name == "gan"  # seed 0: as before seeds


@pytest.fixture(scope="module")
def quick_study(demo_root_small, feature_cache_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("study") / "run"
    result = invoke("study", "--quick", "--set", f"data.root={demo_root_small}", "--set", f"run.dir={run}",
                    "--set", f"features.cache_dir={feature_cache_dir}", "--set", "run.device=cpu")
    assert result.exit_code == 0, result.output
    return run / "study", result.output


@pytest.mark.slow
def test_quick_study_writes_every_output(quick_study):
    study, output = quick_study
    for name in ("study.csv", "predictions.csv", "study.json", "study.md", "study.png", "study_regions.png"):
        assert (study / name).stat().st_size > 0, name
    assert "## Where it helps" in (study / "study.md").read_text() and "study_regions.png" in output
    assert "## In brief" in (study / "study.md").read_text() and "in brief:\n- real + GAN vs real only" in output
    assert "verdict" in output and "gan - real" in output and "about" in output  # progress with an ETA
    summary = json.loads((study / "study.json").read_text())
    assert set(summary["budgets"]) == {"0.5", "1"}
    for entry in summary["budgets"].values():
        assert set(entry["comparisons"]) == {"gan - real", "control - real", "gan - control", "real - ridge"}
        for comparison in entry["comparisons"].values():
            mean = comparison["mean_ccc"]
            assert mean["low"] <= mean["difference"] <= mean["high"]
            assert mean["shown"] == (mean["low"] > 0 or mean["high"] < 0)
        assert entry["family"] == 4  # the declared primary family: 2 comparisons at 2 budgets, under Holm
        for name in ("gan - real", "gan - control"):
            mean = entry["comparisons"][name]["mean_ccc"]
            assert mean["p"] <= mean["p_holm"] <= 1 and (not mean["shown_holm"] or mean["shown"])
            assert entry["pooled"][name]["mean_ccc"]["low"] <= entry["pooled"][name]["mean_ccc"]["high"]
            assert name in entry["song_only"]
        for name in ("control - real", "real - ridge"):  # exploratory: never corrected, never a verdict
            assert "p_holm" not in entry["comparisons"][name]["mean_ccc"]
    text = (study / "study.md").read_text()
    # the declared primary analysis comes first, before any number, naming what its intervals resample
    head = text.split("## The design")[0]
    assert "## The primary analysis" in head and "songs" in head and "seeds" in head and "Holm" in head
    assert not any(ch.isdigit() for ch in text.split("## The primary analysis")[0])
    assert "(exploratory, uncorrected)" in text and "song-only interval (secondary)" in text
    assert json.loads((study / "study.json").read_text())["design"]["bootstrap_samples"] == 1000
    for entry in summary["regions"].values():  # every song in exactly one third of the label plane
        assert entry["n_songs"]["all"] == 24 == sum(entry["n_songs"][g] for g in ("centre", "middle", "edge"))
        assert set(entry["comparisons"]) == {"gan - real", "control - real", "gan - control"}
        assert set(entry["matched"]) == set(entry["comparisons"])
    # one row per GAN (3 folds x 2 budgets), its gain read off study.csv, and the correlations section
    gans, table = pd.read_csv(study / "gans.csv"), pd.read_csv(study / "study.csv")
    assert len(gans) == 6 and summary["quality_vs_effect"]["n_gans"] == 6
    ccc = table.set_index(["fold", "budget", "arm", "seed"])["mean_ccc"]
    for row in gans.itertuples():
        gain = ccc[(row.fold, row.budget, "gan", row.seed)] - ccc[(row.fold, row.budget, "real", row.seed)]
        assert row.gan_minus_real == pytest.approx(gain, abs=1e-5)
    assert gans["fidelity_judge"].notna().all() and gans["frechet_band"].gt(0).all()
    assert "## Does a better GAN help more?" in (study / "study.md").read_text()
    assert (study / "study_quality.png").stat().st_size > 10_000 and "study_quality.png" in output


@pytest.mark.slow
def test_every_song_once_per_budget_and_arm_and_the_table_matches_the_predictions(quick_study, demo_root_small):
    study, _ = quick_study
    predictions = pd.read_csv(study / "predictions.csv", dtype={"song_id": str})
    table = pd.read_csv(study / "study.csv")
    n_songs = 24
    for (budget, arm), frame in predictions.groupby(["budget", "arm"]):
        assert len(frame) == n_songs and frame["song_id"].nunique() == n_songs, (budget, arm)
    assert set(predictions["arm"]) == {"real", "gan", "control", "ridge"}
    for row in table.itertuples():
        frame = predictions[(predictions["fold"] == row.fold) & (predictions["budget"] == row.budget)
                            & (predictions["arm"] == row.arm)]
        true = to_unit_scale(frame[["valence_true", "arousal_true"]].to_numpy())
        pred = to_unit_scale(frame[["valence_pred", "arousal_pred"]].to_numpy())
        report = regression_report(pred, true)
        assert row.valence_ccc == pytest.approx(report["valence"]["ccc"], abs=1e-6)
        assert row.arousal_ccc == pytest.approx(report["arousal"]["ccc"], abs=1e-6)
        assert row.mean_ccc == pytest.approx(report["mean_ccc"], abs=1e-6)
    arms = table[table["arm"] != "ridge"]
    assert arms.groupby(["fold", "budget"])["steps"].nunique().eq(1).all()  # equal optimiser steps per cell
    assert arms["best_epoch"].between(1, 2).all()


@pytest.mark.slow
def test_resume_recomputes_only_the_missing_units(quick_study, tmp_path):
    study, _ = quick_study
    run = tmp_path / "run"
    shutil.copytree(study.parent, run)
    config = run / "config.yaml"
    gone = run / "study" / "fold2" / "budget100" / "control" / "study_result.json"
    before = json.loads(gone.read_text())
    gone.unlink()
    args = ["study", "--quick", "-c", str(config), "--set", f"run.dir={run}"]
    refused = invoke(*args)
    assert refused.exit_code == 1 and "--resume" in refused.output
    resumed = invoke(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "29 already done" in resumed.output and "1 units run" in resumed.output
    after = json.loads(gone.read_text())
    assert after["pred"] == before["pred"]  # its checkpoints were kept: training is not redone differently
    old = pd.read_csv(study / "predictions.csv")
    pd.testing.assert_frame_equal(pd.read_csv(run / "study" / "predictions.csv"), old)


@pytest.mark.slow
def test_a_variant_reuses_what_its_change_cannot_touch_and_compares_every_arm(quick_study, tmp_path):
    study, _ = quick_study
    base = study.parent
    generators = sorted(study.glob("fold*/budget*/gan/gan/generator.pt"))
    before = {path: path.read_bytes() for path in generators}
    variant = tmp_path / "variant"
    args = ["study", "--quick", "-c", str(base / "config.yaml"), "--set", f"run.dir={variant}",
            "--set", "synth.sampler=uniform", "--base", str(base)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "synth.sampler 'balanced' -> 'uniform'" in result.output
    assert "18 units reused whole, 6 trained GANs reused" in result.output  # real, control, ridge x 6 cells
    assert "12 units run" in result.output and "against the base study" in result.output
    assert {path: path.read_bytes() for path in generators} == before  # the base's files are untouched
    for path in generators:  # the same GAN drew the variant's synthetic set
        mine = variant / path.relative_to(base)
        a, b = (torch.load(p, weights_only=True)["generator"] for p in (path, mine))
        assert all(torch.equal(a[k], b[k]) for k in a)
    compared = json.loads((variant / "study" / "vs_base.json").read_text())
    assert compared["differences"] == {"synth.sampler": ["balanced", "uniform"]}
    assert all(arms == ["real", "control", "ridge"] for arms in compared["identical"].values())
    for entry in compared["budgets"].values():
        assert entry["real"]["mean_ccc"]["difference"] == 0 and entry["control"]["mean_ccc"]["difference"] == 0
    assert any(entry["gan"]["mean_ccc"]["difference"] != 0 for entry in compared["budgets"].values())
    for name in ("vs_base.md", "vs_base.png", "study.md"):
        assert (variant / "study" / name).stat().st_size > 0


@pytest.mark.slow
def test_a_c_mixup_ablation_retrains_the_control_arm_alone(quick_study, tmp_path):
    study, _ = quick_study
    base = study.parent
    variant = tmp_path / "variant"
    args = ["study", "--quick", "-c", str(base / "config.yaml"), "--set", f"run.dir={variant}",
            "--set", "ast.mixup_alpha=0.5", "--base", str(base)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    # GAN models, real, gan and ridge units of 6 cells taken whole; the 6 control arms trained again
    assert "24 units reused whole, 0 trained GANs reused" in result.output and "6 units run" in result.output
    against = result.output.split("against the base study")[1]
    assert "real + C-Mixup" in against and "real + GAN" not in against  # the lines name the arms trained again
    compared = json.loads((variant / "study" / "vs_base.json").read_text())
    assert all(arms == ["real", "gan", "ridge"] for arms in compared["identical"].values())
    assert not list(variant.glob("study/fold*/budget*/gan/synthetic/synthetic.npz"))  # nothing redrawn


def resume_a_copy(quick_study, tmp_path, *settings: str):
    """(the copy's run folder, the CLI result) of ``astgan study --resume`` with ``settings`` on a copy of
    the quick study."""
    study, _ = quick_study
    run = tmp_path / "run"
    shutil.copytree(study.parent, run)
    args = ["study", "--quick", "-c", str(run / "config.yaml"), "--set", f"run.dir={run}", "--resume"]
    result = invoke(*args, *[arg for setting in settings for arg in ("--set", setting)])
    assert result.exit_code == 0, result.output
    return run, result


@pytest.mark.slow
def test_resume_with_a_scarcer_budget_trains_only_its_cells(quick_study, tmp_path):
    study, _ = quick_study
    run, result = resume_a_copy(quick_study, tmp_path, "study.budgets=[0.25, 0.5, 1.0]")
    assert "30 already done" in result.output and "15 units run" in result.output
    predictions = pd.read_csv(run / "study" / "predictions.csv", dtype={"song_id": str})
    old = pd.read_csv(study / "predictions.csv", dtype={"song_id": str})
    kept = predictions[predictions["budget"] != 0.25].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, old)  # budgets are nested prefixes: the other cells are as they were
    assert set(json.loads((run / "study" / "study.json").read_text())["budgets"]) == {"0.25", "0.5", "1"}


@pytest.mark.slow
def test_resume_with_more_seeds_adds_them_and_averages_each_arm_over_its_seeds(quick_study, tmp_path):
    study, _ = quick_study
    run, result = resume_a_copy(quick_study, tmp_path, "study.seeds=2", "study.budgets=[1.0]")
    assert "15 already done" in result.output and "12 units run" in result.output and "(seed 1)" in result.output
    assert (run / "study" / "fold1" / "budget100" / "gan-seed1" / "gan" / "generator.pt").is_file()
    predictions = pd.read_csv(run / "study" / "predictions.csv", dtype={"song_id": str})
    seeds = predictions.groupby("arm")["seed"].unique().map(sorted).to_dict()
    assert seeds == {"real": [0, 1], "gan": [0, 1], "control": [0, 1], "ridge": [0]}
    assert (predictions.groupby(["arm", "seed"]).size() == 24).all()
    old = pd.read_csv(study / "predictions.csv", dtype={"song_id": str})  # seed 0 is the study it extended
    kept = predictions[predictions["seed"] == 0].drop(columns="seed").reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, old[old["budget"] == 1.0].drop(columns="seed").reset_index(drop=True))
    summary = json.loads((run / "study" / "study.json").read_text())["budgets"]["1"]
    assert summary["arms"]["real"]["seeds"] == 2 and summary["arms"]["ridge"]["seeds"] == 1
    real = predictions[predictions["arm"] == "real"]
    per_seed = []
    for _, part in real.groupby("seed"):
        true, pred = (to_unit_scale(part.sort_values("song_id")[c].to_numpy())
                      for c in (["valence_true", "arousal_true"], ["valence_pred", "arousal_pred"]))
        per_seed.append(regression_report(pred, true)["mean_ccc"])
    assert summary["arms"]["real"]["pooled"]["mean_ccc"]["ccc"] == pytest.approx(np.mean(per_seed), abs=1e-9)
    assert "2 training seeds per cell" in (run / "study" / "study.md").read_text()


@pytest.mark.slow
def test_a_variant_that_tests_other_songs_is_refused_before_any_work(quick_study, tmp_path):
    base = quick_study[0].parent
    args = ["study", "--quick", "-c", str(base / "config.yaml"), "--set", f"run.dir={tmp_path / 'v'}",
            "--set", "study.seed=7", "--base", str(base)]
    result = invoke(*args)
    assert result.exit_code == 1 and "tests other songs" in result.output and "study.seed" in result.output
    assert not list((tmp_path / "v" / "study").rglob("*result.json"))  # nothing was trained


@pytest.mark.slow
def test_numbers_do_not_depend_on_how_many_units_run_at_once(demo_root_small, feature_cache_dir, tmp_path):
    outputs = []
    for jobs in (1, 2):
        cfg_args = ["study", "--quick", "--jobs", str(jobs), "--set", f"data.root={demo_root_small}",
                    "--set", f"run.dir={tmp_path / f'jobs{jobs}'}", "--set", f"features.cache_dir={feature_cache_dir}",
                    "--set", "study.folds=2", "--set", "study.budgets=[1.0]", "--set", "run.device=cpu"]
        result = invoke(*cfg_args)
        assert result.exit_code == 0, result.output
        outputs.append(pd.read_csv(tmp_path / f"jobs{jobs}" / "study" / "predictions.csv"))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_the_study_needs_extra_items(prepared_tiny, tmp_path):
    cfg = tiny_config(prepared_tiny[0].data.root, tmp_path / "run", prepared_tiny[0].features.cache_dir,
                      ast={"synthetic_ratio": 0.0})
    from astgan.errors import AstganError
    from astgan.study import run_study

    with pytest.raises(AstganError, match="synthetic_ratio > 0"):
        run_study(cfg, echo=lambda _: None)
