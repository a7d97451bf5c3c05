"""The SLURM cluster and submitit behave as the study's SLURM executor relies on.

Run against a real cluster (``scripts/slurm/start.sh`` starts one on this machine); skipped without
one. Each test submits one or two jobs of a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_helpers import slurm_cluster, slurm_executor, wait_until  # noqa: F401 (slurm_cluster: a fixture)

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]


# --- what the jobs run (pickled by reference: the job imports this module) ----------------------

def visible_devices_while_sleeping(seconds: float) -> tuple[str | None, float, float]:
    """CUDA_VISIBLE_DEVICES as the job sees it, and when the job started and ended (epoch s)."""
    start = time.time()
    time.sleep(seconds)
    return os.environ.get("CUDA_VISIBLE_DEVICES"), start, time.time()


def visible_devices_after_meeting(folder: str, task: int) -> tuple[str | None, bool]:
    """CUDA_VISIBLE_DEVICES as the task sees it, and whether the other task was running too.

    Each task marks its start in ``folder`` and waits (up to 120 s) for the other's mark while it is
    still running, so that the check does not hang on how fast a loaded machine starts Python."""
    Path(folder, f"started{task}").write_text("")
    other = Path(folder, f"started{1 - task}")
    deadline = time.time() + 120
    while not other.exists() and time.time() < deadline:
        time.sleep(0.2)
    met = other.exists()
    time.sleep(1.0)  # the other task may still be waiting for this one's mark
    return os.environ.get("CUDA_VISIBLE_DEVICES"), met


def sleep_after_writing_pid(pid_file: str) -> str:
    """Writes the job's Python pid to ``pid_file`` and sleeps far longer than any test waits."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(300)
    return "not killed"


def fail_with_message(message: str) -> None:
    raise ValueError(message)


def finish_time() -> float:
    return time.time()


# --- the tests ----------------------------------------------------------------------------------

def test_two_concurrent_array_tasks_asking_one_gpu_each_see_different_devices(tmp_path):
    executor = slurm_executor(tmp_path / "%j", gpus_per_node=1, array_parallelism=2)
    (tmp_path / "meet").mkdir()
    jobs = executor.map_array(visible_devices_after_meeting, [str(tmp_path / "meet")] * 2, [0, 1])
    (first, met1), (second, met2) = (job.result() for job in jobs)
    assert met1 and met2, "the two tasks did not run at the same time"
    assert sorted([first, second]) == ["0", "1"]


def test_a_job_killed_with_sigkill_is_seen_as_died_not_as_an_error(tmp_path, monkeypatch):
    import submitit
    from submitit.core.utils import FailedJobError, UncompletedJobError

    pid_file = tmp_path / "pid"
    job = slurm_executor(tmp_path / "%j").submit(sleep_after_writing_pid, str(pid_file))
    wait_until(lambda: pid_file.exists() and pid_file.read_text(), 60, "the job to start")
    os.kill(int(pid_file.read_text()), signal.SIGKILL)

    # done() asks sacct on a growing interval (up to 10 minutes); force_check asks every time
    wait_until(lambda: job.done(force_check=True), 30, "submitit to see the killed job end")
    assert job.state == "FAILED"
    assert not job.paths.result_pickle.exists()
    # exception() waits for a result file that a killed job never writes (15 s by default)
    monkeypatch.setattr(submitit.SlurmJob, "_results_timeout_s", 1)
    error = job.exception()
    assert isinstance(error, UncompletedJobError)
    assert not isinstance(error, FailedJobError)  # FailedJobError, its subclass, is an error in the function
    assert "Killed" in str(error)  # srun's line in the job's stderr, which the message quotes


def test_an_exception_in_the_job_comes_back_as_its_traceback(tmp_path):
    from submitit.core.utils import FailedJobError

    job = slurm_executor(tmp_path / "%j").submit(fail_with_message, "field x must be positive")
    error = job.exception()
    assert isinstance(error, FailedJobError)
    assert "ValueError: field x must be positive" in str(error)
    with pytest.raises(FailedJobError, match="field x must be positive"):
        job.result()


def test_a_later_process_collects_a_job_from_its_id(tmp_path):
    job = slurm_executor(tmp_path / "%j").submit(finish_time)
    collect = (f"import submitit; job = submitit.SlurmJob(folder={str(tmp_path / '%j')!r}, job_id={job.job_id!r});"
               " print(job.result())")
    out = subprocess.run([sys.executable, "-c", collect], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == job.result()


def test_a_job_with_an_afterok_dependency_starts_after_its_parent_succeeded(tmp_path):
    parent = slurm_executor(tmp_path / "%j").submit(visible_devices_while_sleeping, 2.0)
    child = slurm_executor(tmp_path / "%j", additional_parameters={"dependency": f"afterok:{parent.job_id}"}).submit(
        finish_time)
    _, _, parent_end = parent.result()
    assert child.result() > parent_end
