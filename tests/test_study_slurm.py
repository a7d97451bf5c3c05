"""`astgan study --executor slurm` against a real SLURM (``scripts/slurm/start.sh`` starts one on this
machine; skipped without one): the same numbers as the local executor, a killed job resubmitted,
--no-wait then --resume, a study finished here that SLURM started, an astgan error not retried.

Each study is the quick one on 2 folds and 1 budget (10 units, 8 SLURM tasks, 1 CPU each). Waits
poll states with generous limits: the machine may be loaded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from astgan.config import load_config
from astgan.errors import AstganError
from astgan.study.executors.slurm import run_slurm
from astgan.study.executors.tasks import RECORD_FILE, read_record
from astgan.study.plan import Cell, Unit, unit_config
from slurm_helpers import slurm_cluster, wait_until  # noqa: F401 (slurm_cluster: a fixture)

from helpers import invoke

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]

SRC = Path(__file__).resolve().parents[1] / "src"
SLURM = ["--set", "study.slurm.cpus_per_unit=1", "--set", "study.slurm.time=15", "--set", "study.slurm.mem=1500M"]


def study_args(run_dir: Path, data_root: Path, cache_dir: Path, *extra: str) -> list[str]:
    return ["study", "--quick", "--set", f"data.root={data_root}", "--set", f"run.dir={run_dir}",
            "--set", f"features.cache_dir={cache_dir}", "--set", "study.folds=2", "--set", "study.budgets=[1.0]",
            "--set", "run.device=auto", *SLURM, *extra]


def records(study_dir: Path) -> dict[str, dict]:
    """Every unit's job record: {"fold1/budget100/gan:gan-model": record, ...}."""
    found = {}
    for path in study_dir.rglob(RECORD_FILE):
        for kind, record in json.loads(path.read_text()).items():
            found[f"{path.parent.relative_to(study_dir)}:{kind}"] = record
    return found


def predictions(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "study" / "predictions.csv")


def study_table(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "study" / "study.csv").drop(columns="seconds")  # all but the timing


def queued(job_ids: set[str]) -> set[str]:
    """Which of the array jobs ``job_ids`` still have tasks queued or running (squeue)."""
    out = subprocess.run(["squeue", "-h", "-o", "%F"], capture_output=True, text=True, check=True).stdout
    return job_ids & set(out.split())


@pytest.fixture(autouse=True)
def idle_cluster_after():
    """Each test leaves the node idle: a study returns once its units' results are written, while their
    jobs may still be ending (a second or two), and the next test (here or in another module) expects
    every CPU free."""
    yield
    wait_until(lambda: not subprocess.run(["squeue", "-h", "-n", "astgan-study"], capture_output=True,
                                          text=True).stdout.strip(), 120, "the study's jobs to leave the queue")


@pytest.fixture(scope="module")
def local_study(demo_root_small, feature_cache_dir, tmp_path_factory) -> Path:
    """The same study by the local executor: what every SLURM run must reproduce."""
    run_dir = tmp_path_factory.mktemp("local") / "run"
    result = invoke(*study_args(run_dir, demo_root_small, feature_cache_dir, "--executor", "local", "--jobs", "2"))
    assert result.exit_code == 0, result.output
    return run_dir


def job_pids(job_id: str) -> list[int]:
    """The Python processes of array task ``job_id`` ("<array>_<index>"): what SLURM's srun started."""
    array, index = job_id.split("_")
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if (b"submitit.core._submit" in cmdline and f"SLURM_ARRAY_JOB_ID={array}".encode() in environ
                and f"SLURM_ARRAY_TASK_ID={index}".encode() in environ):
            pids.append(int(proc.name))
    return pids


def test_slurm_gives_the_local_numbers_with_a_unit_killed_mid_training(local_study, demo_root_small,
                                                                      feature_cache_dir, tmp_path):
    run_dir = tmp_path / "run"
    study_dir = run_dir / "study"
    command = [sys.executable, "-m", "astgan", *study_args(run_dir, demo_root_small, feature_cache_dir),
               "--executor", "slurm", "--set", "study.slurm.gpus_per_unit=1"]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    study = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        gan_folder = study_dir / "fold1" / "budget100" / "gan"
        # the GAN's first checkpoint: its task is mid-training
        wait_until(lambda: (gan_folder / "gan" / "last.pt").exists() or study.poll() is not None, 240,
                   "the first GAN's first checkpoint")
        job_id = json.loads((gan_folder / RECORD_FILE).read_text())["gan-model"]["job_id"]
        pids = job_pids(job_id)
        assert pids, f"no process of job {job_id} found"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        output, _ = study.communicate(timeout=400)
    finally:
        if study.poll() is None:
            study.kill()
    assert study.returncode == 0, output
    assert f"SLURM job {job_id} ended FAILED; submitting it again (attempt 2)" in output
    killed = {k: r for k, r in records(study_dir).items() if k.startswith("fold1/budget100/gan:")}
    assert {r["attempt"] for r in killed.values()} == {2} and all(r["job_id"] != job_id for r in killed.values())

    pd.testing.assert_frame_equal(predictions(run_dir), predictions(local_study))
    pd.testing.assert_frame_equal(study_table(run_dir), study_table(local_study))

    # one GPU each: tasks that ran at the same time saw different devices
    ran = [r["ran"] for r in records(study_dir).values()]
    assert {r["cuda_visible_devices"] for r in ran} == {"0", "1"}
    overlapping = [(a, b) for a in ran for b in ran if a["slurm_job_id"] < b["slurm_job_id"]
                   and max(a["started"], b["started"]) < min(a["ended"], b["ended"])]
    assert overlapping, "no two tasks ran at the same time"
    assert all(a["cuda_visible_devices"] != b["cuda_visible_devices"] for a, b in overlapping)


def test_no_wait_then_resume_submits_nothing_twice(local_study, demo_root_small, feature_cache_dir, tmp_path):
    run_dir = tmp_path / "run"
    args = study_args(run_dir, demo_root_small, feature_cache_dir, "--executor", "slurm", "--set",
                      "study.slurm.gpus_per_unit=0")
    submitted = invoke(*args, "--no-wait")
    assert submitted.exit_code == 0, submitted.output
    assert "submitted 8 task(s) as job array" in submitted.output and "--resume" in submitted.output
    before = records(run_dir / "study")
    assert len(before) == 10 and {r["attempt"] for r in before.values()} == {1}
    assert not (run_dir / "study" / "predictions.csv").exists()

    again = invoke(*args, "--no-wait")  # without --resume: refused, nothing submitted
    assert again.exit_code == 1 and "--resume" in again.output

    collected = invoke(*args, "--resume")
    assert collected.exit_code == 0, collected.output
    assert "slurm: submitted" not in collected.output and "still queued or running" in collected.output
    after = records(run_dir / "study")
    assert {k: (r["job_id"], r["attempt"]) for k, r in after.items()} == \
        {k: (r["job_id"], r["attempt"]) for k, r in before.items()}
    jobs = [p.name for p in (run_dir / "study" / "slurm").iterdir() if p.is_dir() and "_" in p.name]  # <array>_<task>
    assert len(jobs) == 8, f"one folder per array task, no more: {jobs}"
    pd.testing.assert_frame_equal(predictions(run_dir), predictions(local_study))


def test_a_study_started_on_slurm_is_finished_here(local_study, demo_root_small, feature_cache_dir, tmp_path):
    run_dir = tmp_path / "run"
    args = study_args(run_dir, demo_root_small, feature_cache_dir, "--set", "study.slurm.gpus_per_unit=0")
    assert invoke(*args, "--executor", "slurm", "--no-wait").exit_code == 0
    study_dir = run_dir / "study"
    wait_until(lambda: len(list(study_dir.rglob("*result.json"))) >= 3, 240, "three units to finish on SLURM")

    job_ids = {r["job_id"].split("_")[0] for r in records(study_dir).values()}
    if queued(job_ids):  # units still queued or running on SLURM are not run here beside them
        refused = invoke(*args, "--resume", "--executor", "local")
        assert refused.exit_code == 1 and "scancel" in refused.output, refused.output
        subprocess.run(["scancel", *job_ids], check=True)
        wait_until(lambda: not queued(job_ids), 120, "the cancelled jobs to leave the queue")

    finished = invoke(*args, "--resume", "--executor", "local")
    assert finished.exit_code == 0, finished.output
    pd.testing.assert_frame_equal(predictions(run_dir), predictions(local_study))


def test_an_astgan_error_in_a_job_fails_at_once_without_a_retry(tmp_path):
    cfg = load_config("demo", [f"data.root={tmp_path / 'nowhere'}", f"run.dir={tmp_path / 'run'}",
                               "study.retries=2", "study.slurm.gpus_per_unit=0", "study.slurm.time=5"])
    unit = Unit(Cell(0, 1.0), "ridge")
    study_dir = cfg.paths.study_dir
    started = time.monotonic()
    with pytest.raises(AstganError, match="data.root .*nowhere' does not exist") as error:
        run_slurm(study_dir, [unit], {unit: unit_config(cfg, unit).to_dict()}, cfg.study, lambda *_: None,
                  lambda _: None, lambda _: None)
    assert "DataError" in str(error.value) and "slurm" in str(error.value)  # the error, and the job's log
    assert read_record(study_dir, unit).attempt == 1
    assert len([p for p in (study_dir / "slurm").iterdir() if p.is_dir()]) == 1  # one job: no resubmission
    assert time.monotonic() - started < 120
