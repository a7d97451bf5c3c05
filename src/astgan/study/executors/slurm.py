"""The SLURM executor: a study's units as SLURM jobs, submitted through submitit as job arrays.

Each task (a unit, or a GAN and its arm: :mod:`~astgan.study.executors.tasks`) is one array task
asking for ``study.slurm``'s GPUs, CPUs, memory and time. The jobs read and write the study's folder,
so it must be on a filesystem the nodes share with the machine that submits; the job files and logs
go to ``<study>/slurm/<job id>/``. The submitter polls: a unit is done when its result file appears
(read from the shared folder, as the local executor's units write it); a job that ended without
finishing its units is looked up in ``sacct``:

- it returned an astgan error (bad config, missing input): the study fails at once with its message;
- it died (killed, node failure, preemption, time limit, out of memory, an exception outside astgan):
  the units it did not finish are submitted again, up to ``study.retries`` times per run of
  ``astgan study``, and resume from their ``last.pt``.

Jobs are submitted with ``--no-requeue``: SLURM's own requeue after a node failure would run a unit a
second time beside the resubmitted one. Every submitted unit records its job
(:class:`~astgan.study.executors.tasks.JobRecord`); ``--resume`` waits for the recorded jobs that
are still queued or running instead of submitting them again, and ``wait=False`` (``--no-wait``)
returns as soon as everything is submitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astgan.config.sections import SlurmConfig, StudyConfig
from astgan.errors import AstganError
from astgan.study.executors.tasks import JobRecord, Task, group_tasks, read_record, run_task, write_record
from astgan.study.plan import Unit, result_path
from astgan.study.results import UnitResult, read_unit_result

log = logging.getLogger(__name__)

Finished = Callable[[Unit, UnitResult], None]
Status = Callable[[dict[str, int]], None]  # called with {"done", "running", "pending", "failed"} when they change
UNFINISHED = {"READY", "PENDING", "RUNNING", "UNKNOWN", "REQUEUED", "COMPLETING", "PREEMPTED", "CONFIGURING",
              "RESIZING", "SUSPENDED"}
POLL_S = 1.0  # how often result files are looked for
SACCT_MAX_S = 60.0  # the longest wait between two sacct calls (a dead job is noticed at most this late)
SBATCH_TRIES, SBATCH_PAUSE_S = 4, 10.0  # sbatch again when the controller was too busy to answer
TRANSIENT = ("timed out", "unable to contact", "try again", "temporarily", "connection refused")
GRACE_S = 30.0  # how long a task whose units are all done may take to end before it is no longer watched


@dataclass
class Running:
    """A task whose job is queued or running, and what this run of the study has seen of it."""

    task: Task
    job: Any  # submitit.SlurmJob
    attempt: int
    retried: int = 0  # resubmissions in this run of astgan study
    reported: set[Unit] = field(default_factory=set)  # units already passed to ``finished``
    all_done_at: float | None = None

    @property
    def left(self) -> list[Unit]:
        return [u for u in self.task if u not in self.reported]


def run_slurm(study_dir: Path, todo: list[Unit], configs: dict[Unit, dict], settings: StudyConfig,
              finished: Finished, status: Status, echo: Callable[[str], None], wait: bool = True) -> bool:
    """Run ``todo`` as SLURM jobs, calling ``finished(unit, result)`` as each unit is done.

    ``configs``: each unit's config as a plain dict; ``echo``: where what is submitted is said. Units
    with a recorded job still queued or running are waited for, not submitted again. Returns True
    once every unit is done; with ``wait=False``, False right after submitting.
    """
    submitit = _submitit()
    executor = make_executor(submitit, study_dir, settings.slurm, settings.threads)
    tasks = group_tasks(todo)
    running, new = [], []
    for task, (job, record) in zip(tasks, live_jobs(study_dir, [t[0] for t in tasks]), strict=True):
        if job is not None and {u.kind for u in task} <= set(record.units):  # that job runs this task's units
            running.append(Running(task, job, record.attempt))
        else:
            new.append((task, record.attempt + 1 if record else 1))
    if running:
        ids = ", ".join(sorted({r.job.job_id.split("_")[0] for r in running}))
        echo(f"slurm: {len(running)} task(s) submitted before are still queued or running (jobs {ids}): waiting "
             "for them")
    running += submit(executor, study_dir, configs, new, echo)
    if not wait:
        return False
    _watch(executor, study_dir, configs, running, settings.retries, finished, status, echo)
    return True


def make_executor(submitit: Any, study_dir: Path, slurm: SlurmConfig, threads: int) -> Any:
    """A ``submitit.SlurmExecutor`` asking, per task, for what ``study.slurm`` says."""
    folder = (study_dir / "slurm").resolve() / "%j"
    try:
        executor = submitit.SlurmExecutor(folder=folder, python=slurm.python)
    except RuntimeError as err:  # no srun on PATH
        raise AstganError(f"study.executor=slurm: {err}; run astgan study on a machine that submits SLURM jobs "
                          "(a login node), or use study.executor=local") from err
    extra: dict[str, Any] = {"no_requeue": True}
    for key in ("partition", "account", "qos", "constraint", "mem"):
        if getattr(slurm, key) is not None:
            extra[key] = getattr(slurm, key)
    parameters: dict[str, Any] = {"time": slurm.time, "cpus_per_task": slurm.cpus_per_unit or threads,
                                  "job_name": "astgan-study", "additional_parameters": extra}
    if slurm.gpus_per_unit:
        parameters["gpus_per_node"] = slurm.gpus_per_unit
    if slurm.array_parallelism:
        parameters["array_parallelism"] = slurm.array_parallelism
    if slurm.setup:
        parameters["setup"] = list(slurm.setup)
    executor.update_parameters(**parameters)
    return executor


def submit(executor: Any, study_dir: Path, configs: dict[Unit, dict], tasks: list[tuple[Task, int]],
           echo: Callable[[str], None]) -> list[Running]:
    """Submit ``(task, attempt)`` pairs as one job array; records each unit's job. Returns them running."""
    if not tasks:
        return []
    from submitit.core.utils import FailedJobError

    payloads = [[(configs[unit], unit.kind) for unit in task] for task, _ in tasks]
    for attempt in range(SBATCH_TRIES):
        try:
            jobs = executor.map_array(run_task, payloads)
            break
        except FailedJobError as err:
            message = str(err).strip()
            if attempt + 1 < SBATCH_TRIES and any(t in message.lower() for t in TRANSIENT):  # a busy controller
                log.warning(f"sbatch failed ({message}); trying again in {SBATCH_PAUSE_S:.0f} s")
                time.sleep(SBATCH_PAUSE_S)
                continue
            # refused: an unknown partition or account, more GPUs or memory than a node has
            raise AstganError(f"SLURM refused the study's jobs (check study.slurm): {message}") from err
    now = time.time()
    for (task, attempt), job in zip(tasks, jobs, strict=True):
        record = JobRecord(job.job_id, attempt, str(executor.folder), [u.kind for u in task], now)
        for unit in task:
            write_record(study_dir, unit, record)
    echo(f"slurm: submitted {len(jobs)} task(s) as job array {jobs[0].job_id.split('_')[0]} (files and logs: "
         f"{Path(executor.folder).parent})")
    return [Running(task, job, attempt) for (task, attempt), job in zip(tasks, jobs, strict=True)]


def live_jobs(study_dir: Path, units: list[Unit]) -> list[tuple[Any, JobRecord | None]]:
    """For each unit: its recorded job if that job is still queued or running (else None), and its record."""
    records = [read_record(study_dir, unit) for unit in units]
    if not any(records):
        return [(None, record) for record in records]
    submitit = _submitit()
    jobs = [submitit.SlurmJob(r.folder, r.job_id) if r else None for r in records]
    submitit.SlurmJob.watcher.update()  # one sacct call for all of them
    return [(job if job is not None and not _ended(job) else None, record) for job, record in zip(jobs, records)]


def _watch(executor: Any, study_dir: Path, configs: dict[Unit, dict], running: list[Running], retries: int,
           finished: Finished, status: Status, echo: Callable[[str], None]) -> None:
    """Poll until every task has ended: report units as their result files appear, resubmit died jobs."""
    watcher = type(running[0].job).watcher if running else None
    last_sacct, last_submit, failed, shown = 0.0, time.time(), 0, None
    while running:
        for task in running:
            _collect(study_dir, task, finished)
        if time.time() - last_sacct > min(SACCT_MAX_S, max(2.0, (time.time() - last_submit) / 10)):
            watcher.update()
            last_sacct = time.time()
        resubmit = []
        for task in [t for t in running if _ended(t.job) or (t.all_done_at and time.time() - t.all_done_at > GRACE_S)]:
            running.remove(task)
            outcome = _record_end(study_dir, task)
            _collect(study_dir, task, finished)  # results written since the last look
            if not task.left:
                continue
            outcome.setdefault("died", "returned without the results of its units")
            if "error" in outcome:  # astgan's own error: the same again would fail the same way
                raise AstganError(f"{task.left[0].describe()}: {outcome['error']} (SLURM job {task.job.job_id}; "
                                  f"log: {task.job.paths.stderr}){_still_running(running)}")
            if task.retried >= retries:
                raise AstganError(f"{task.left[0].describe()}: its SLURM job {task.job.job_id} {outcome['died']}, "
                                  f"after {task.retried} resubmission(s) in this run (study.retries={retries}); "
                                  f"log: {task.job.paths.stderr}. Continue with astgan study --resume"
                                  f"{_still_running(running)}")
            failed += 1
            echo(f"{task.left[0].describe()}: SLURM job {task.job.job_id} {outcome['died']}; submitting it again "
                 f"(attempt {task.attempt + 1}), it resumes from its last checkpoint")
            resubmit.append(task)
        if resubmit:
            again = submit(executor, study_dir, configs, [(tuple(t.left), t.attempt + 1) for t in resubmit], echo)
            for new, old in zip(again, resubmit, strict=True):
                new.retried = old.retried + 1
            running += again
            last_submit = time.time()
        counts = _counts(running, failed)
        if counts != shown:
            status(counts)
            shown = counts
        if running:
            time.sleep(POLL_S)


def _collect(study_dir: Path, task: Running, finished: Finished) -> None:
    """Report the task's units whose result files have appeared since the last look."""
    for unit in task.left:
        path = result_path(study_dir, unit)
        if path.is_file():
            task.reported.add(unit)
            finished(unit, read_unit_result(path, unit.kind))
    if not task.left and task.all_done_at is None:
        task.all_done_at = time.time()


def _ended(job: Any) -> bool:
    """Whether a job has ended: its result pickle is there, or sacct (as last asked) says so."""
    if job.paths.result_pickle.exists():
        return True
    return _state(job) not in UNFINISHED


def _record_end(study_dir: Path, task: Running) -> dict:
    """Store how the task's job ended in its units' records; returns ``{"error": ...}`` (astgan failed),
    ``{"died": how}`` (the job died or raised) or where it ran (it returned)."""
    from submitit.core.utils import FailedJobError, UncompletedJobError

    job, state = task.job, task.job.watcher.get_state(task.job.job_id, mode="cache")
    if job.paths.result_pickle.exists() or state.startswith("COMPLETED"):
        try:
            outcome = job.result()
            state = "COMPLETED"  # it returned (sacct may not know yet)
        except FailedJobError as err:  # an exception outside astgan's own errors, or a time limit
            outcome = {"died": f"raised {_last_line(str(err))}"}
        except UncompletedJobError:
            outcome = {"died": f"ended {state} without a result"}
    else:
        outcome = {"died": f"ended {state}"}
    for unit in task.task:
        record = read_record(study_dir, unit)
        if record is not None and record.job_id == job.job_id:
            record.state = state
            record.ran = {k: v for k, v in outcome.items() if k != "died"}
            write_record(study_dir, unit, record)
    return outcome


def _counts(running: list[Running], failed: int) -> dict[str, int]:
    """Units left in running jobs and in queued ones (as sacct last said), and jobs that died so far."""
    counts = {"running": 0, "pending": 0, "failed": failed}
    for task in running:
        counts["running" if _state(task.job) == "RUNNING" else "pending"] += len(task.left)
    return counts


def _state(job: Any) -> str:
    """The job's state as sacct last said (without asking again): PENDING, RUNNING, FAILED, ..., UNKNOWN."""
    return job.watcher.get_state(job.job_id, mode="cache").split()[0].upper()


def _still_running(running: list[Running]) -> str:
    if not running:
        return ""
    ids = ", ".join(sorted({t.job.job_id.split("_")[0] for t in running}))
    return (f". {len(running)} other task(s) are still queued or running (jobs {ids}): astgan study --resume "
            "collects them, scancel stops them")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not set(line.strip()) <= {"-"}]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (errors or lines or ["?"])[-1]


def _submitit() -> Any:
    try:
        import submitit
    except ImportError as err:
        raise AstganError("study.executor=slurm needs submitit: pip install 'astgan[slurm]'") from err
    return submitit
