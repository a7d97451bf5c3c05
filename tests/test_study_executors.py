"""Where a study's units run, without a cluster: the executor settings, the SLURM tasks and job records,
and the local pool's GPUs (the tests against a real SLURM: test_study_slurm.py)."""

from __future__ import annotations

import os
import time

import pytest

from astgan.config import load_config
from astgan.errors import ConfigError
from astgan.study.base import config_differences
from astgan.study.executors.local import visible_gpus, worker_pool
from astgan.study.executors.tasks import JobRecord, group_tasks, read_record, record_path, write_record
from astgan.study.plan import Cell, Unit, plan


def test_slurm_settings_are_set_key_by_key_and_checked():
    cfg = load_config("demo", ["study.executor=slurm", "study.slurm.partition=gpu", "study.slurm.mem=16G",
                               'study.slurm.setup=["module load cuda/12.4", "source ~/venv/bin/activate"]'])
    slurm = cfg.study.slurm
    assert cfg.study.executor == "slurm" and slurm.partition == "gpu" and slurm.mem == "16G"
    assert slurm.setup == ("module load cuda/12.4", "source ~/venv/bin/activate")
    assert slurm.gpus_per_unit == 1 and slurm.time == 120  # untouched keys keep their defaults
    again = cfg.with_overrides("study.slurm.account=lab42")  # one key changes, the others stay
    assert again.study.slurm.partition == "gpu" and again.study.slurm.account == "lab42"
    for bad, message in (("study.slurm.partion=gpu", "Did you mean 'partition'"),
                         ("study.slurm.mem=lots", "like 16G"),
                         ("study.slurm.gpus_per_unit=-1", ">= 0"),
                         ("study.retries=-1", ">= 0"),
                         ("study.executor=ray", "local, slurm")):
        with pytest.raises(ConfigError, match=message):
            load_config("demo", [bad])


def test_a_variant_changing_only_where_units_run_differs_in_nothing():
    base = load_config("demo")
    variant = base.with_overrides("study.executor=slurm", "study.retries=5", "study.slurm.partition=a100",
                                  "study.slurm.gpus_per_unit=2", "study.jobs=4")
    assert config_differences(base, variant) == {}
    assert config_differences(base, variant.with_overrides("study.threads=2")) == {"study.threads": (1, 2)}


def test_a_gan_and_its_arm_form_one_task_and_every_other_unit_its_own():
    cfg = load_config("demo", ["study.folds=2", "study.budgets=[1.0]"])
    units = plan(cfg)
    tasks = group_tasks(units)
    flat = [u for task in tasks for u in task]
    assert len(flat) == len(units) and set(flat) == set(units)  # every unit once
    chained = [task for task in tasks if len(task) > 1]
    assert [[u.kind for u in task] for task in chained] == [["gan-model", "gan"]] * 2
    assert all(task[0].cell == task[1].cell for task in chained)
    # with its GAN done, the gan arm runs alone
    arm = Unit(Cell(0, 1.0), "gan")
    assert group_tasks([u for u in units if u != arm.after]).count((arm,)) == 1


def test_a_job_record_reads_back_as_written_beside_the_other_kinds_of_its_folder(tmp_path):
    real, ridge = Unit(Cell(1, 0.5), "real"), Unit(Cell(1, 0.5), "ridge")  # both work in .../real
    assert read_record(tmp_path, real) is None
    first = JobRecord("41_3", 1, str(tmp_path / "slurm" / "%j"), ["real"], 1.5e9)
    second = JobRecord("42", 2, str(tmp_path / "slurm" / "%j"), ["ridge"], 1.6e9, {"host": "n1"}, "FAILED")
    write_record(tmp_path, real, first)
    write_record(tmp_path, ridge, second)
    assert record_path(tmp_path, real) == record_path(tmp_path, ridge)
    assert read_record(tmp_path, real) == first and read_record(tmp_path, ridge) == second


def worker_sees() -> tuple[int, str | None]:
    """In a pool worker: its pid and the CUDA_VISIBLE_DEVICES it got (slow enough that every worker gets work)."""
    time.sleep(0.5)
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


def test_each_pool_worker_sees_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    gpus = visible_gpus("auto")
    assert gpus == ["0", "1"] and visible_gpus("cuda:1") == [] and visible_gpus("cpu") == []
    with worker_pool(2, 1, gpus) as pool:
        seen = dict(future.result() for future in [pool.submit(worker_sees) for _ in range(6)])
    assert len(seen) == 2, f"expected both workers to run units: {seen}"
    assert sorted(seen.values()) == ["0", "1"]


def test_one_visible_gpu_is_left_as_it_is(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert visible_gpus("auto") == []
