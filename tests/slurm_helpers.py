"""For the tests marked ``slurm``: whether a SLURM cluster answers, and submitit executors on it.

A test module that needs the cluster declares

    pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]

and imports the ``slurm_cluster`` fixture from here, which skips its tests, with the reason, where
``sinfo`` is missing, the cluster does not answer, no node is up or submitit is not installed.
``scripts/slurm/start.sh`` starts a one-node cluster on this machine (Debian, as root): this
machine's CPUs and memory, two fake GPUs as gres, accounting (``sacct``), everything on loopback.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

START_HINT = "start one with scripts/slurm/start.sh"
TESTS_DIR = Path(__file__).resolve().parent
UP_STATES = {"idle", "mixed", "allocated"}  # sinfo's %T of a node that takes jobs (a trailing * = not responding)


@functools.cache
def slurm_down_reason() -> str | None:
    """Why the SLURM tests cannot run here (a skip reason), or None when they can.

    Asks ``sinfo`` once per session: about 10 ms with a cluster, about 9 s when the controller is
    installed but stopped (sinfo retries before it gives up).
    """
    missing = [tool for tool in ("sinfo", "sbatch", "sacct") if shutil.which(tool) is None]
    if missing:
        return f"no SLURM: {', '.join(missing)} not found; {START_HINT}"
    try:
        sinfo = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return f"no SLURM: sinfo did not answer within 30 s; {START_HINT}"
    if sinfo.returncode != 0:
        return f"no SLURM: sinfo failed ({sinfo.stderr.strip() or sinfo.returncode}); {START_HINT}"
    states = sinfo.stdout.split()
    if not UP_STATES.intersection(states):
        return f"no SLURM: no node takes jobs (sinfo: {', '.join(states) or 'no nodes'}); {START_HINT}"
    # submitit learns that a job died only from sacct: a cluster without accounting hangs the tests
    sacct = subprocess.run(["sacct", "-n", "-X", "-o", "JobID"], capture_output=True, text=True, timeout=30)
    if sacct.returncode != 0:
        return f"no SLURM accounting: sacct failed ({sacct.stderr.strip()}); {START_HINT}"
    return None


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skips the test unless a SLURM cluster with accounting answers and submitit is installed."""
    reason = slurm_down_reason()
    if reason is not None:
        pytest.skip(reason)
    pytest.importorskip("submitit", reason="submitit is not installed: pip install -e '.[slurm]'")


def slurm_executor(folder: Path, **parameters):
    """A ``submitit.SlurmExecutor`` writing into ``folder`` (use ``.../%j`` for one folder a job).

    Jobs ask for 1 CPU, 1 GB and 5 minutes unless ``parameters`` say otherwise. The job's Python
    finds the test modules (functions defined in them are pickled by reference) through a setup line.
    """
    import submitit

    executor = submitit.SlurmExecutor(folder=folder)
    settings = {"time": 5, "cpus_per_task": 1, "mem": "1GB",
                "setup": [f"export PYTHONPATH={TESTS_DIR}${{PYTHONPATH:+:$PYTHONPATH}}"]}
    settings.update(parameters)
    executor.update_parameters(**settings)
    return executor


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Polls ``condition`` every 0.2 s; returns the seconds it took, or fails the test naming ``what``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - start
