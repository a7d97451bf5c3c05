"""What one SLURM job of a study runs (a task: one unit, or a GAN and its arm), and the record each
submitted unit keeps of its job.

A task is a tuple of units run one after the other in one job. The gan arm trains on its GAN's
synthetic set, so a GAN and its arm that are both still to do form one task, GAN first, instead of
two jobs joined by a SLURM dependency: a dependency whose job fails leaves the dependent job pending
forever (``DependencyNeverSatisfied``), and a resubmitted GAN has a new job id that its arm's job
would not know; in one task, a retry simply runs again whatever of the two is not done.

The record, ``slurm_job.json`` in the unit's folder, maps each unit kind working in that folder (the
gan arm shares the GAN's folder, the ridge baseline the real arm's) to its last job: the job id, the
attempt, the submitit folder holding the job's files and logs, and once the job has run, where it
ran. A later ``astgan study --resume`` reads it to wait for a job still queued or running instead of
submitting the unit twice.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from astgan.artifacts import read_json, write_json
from astgan.errors import AstganError
from astgan.study.plan import Unit, unit_dir
from astgan.study.units import run_unit

RECORD_FILE = "slurm_job.json"

Task = tuple[Unit, ...]  # units run in this order in one job


def group_tasks(todo: list[Unit]) -> list[Task]:
    """The tasks that run ``todo``, in its order: a GAN whose gan arm is also to do runs with that arm."""
    waiting = set(todo)
    tasks: list[Task] = []
    for unit in todo:
        arm = Unit(unit.cell, "gan", unit.seed)
        if unit.kind == "gan-model" and arm in waiting:
            tasks.append((unit, arm))
        elif not (unit.kind == "gan" and unit.after in waiting):
            tasks.append((unit,))
    return tasks


def run_task(units: list[tuple[dict, str]]) -> dict:
    """In the SLURM job: run each ``(config dict, kind)`` in order; each writes its own result file.

    Returns where the task ran (host, ``CUDA_VISIBLE_DEVICES``, start and end, epoch seconds) and,
    when astgan itself failed (bad config, missing input), ``error``: its message. An astgan error is
    returned, not raised, so that the submitter can tell it from a job that died, which it retries.
    """
    ran = {"host": socket.gethostname(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
           "slurm_job_id": os.environ.get("SLURM_JOB_ID"), "started": time.time()}
    try:
        for config, kind in units:
            run_unit(config, kind)
    except AstganError as err:
        ran["error"] = f"{type(err).__name__}: {err}"
    ran["ended"] = time.time()
    return ran


@dataclass
class JobRecord:
    """A unit's last SLURM job (``slurm_job.json``)."""

    job_id: str  # array tasks: "<array id>_<index>"
    attempt: int  # 1 for the first submission, +1 for each resubmission
    folder: str  # the submitit folder of its files: submission script, logs, result pickle
    units: list[str]  # the kinds its task runs, in order (a GAN and its arm: ["gan-model", "gan"])
    submitted: float  # epoch seconds
    ran: dict = field(default_factory=dict)  # once it has run: host, cuda_visible_devices, started, ended
    state: str | None = None  # the last SLURM state seen (COMPLETED, FAILED, NODE_FAIL, ...)


def record_path(study_dir: Path, unit: Unit) -> Path:
    return unit_dir(study_dir, unit) / RECORD_FILE


def read_record(study_dir: Path, unit: Unit) -> JobRecord | None:
    """The unit's last job, or None when it was never submitted to SLURM."""
    path = record_path(study_dir, unit)
    if not path.is_file():
        return None
    raw = read_json(path).get(unit.kind)
    return JobRecord(**raw) if raw else None


def write_record(study_dir: Path, unit: Unit, record: JobRecord) -> None:
    """Store ``record`` as the unit's job, beside the records of the other kinds in its folder."""
    path = record_path(study_dir, unit)
    records = read_json(path) if path.is_file() else {}
    records[unit.kind] = asdict(record)
    write_json(path, records)
