"""Submit-to-start overhead of a trivial job on the running SLURM cluster: sbatch --wrap, and submitit.

    python scripts/slurm/overhead.py [--runs 5]

Each run submits one job that only records the time it started, waits for it, then pauses a second
so that the next one finds the node idle. Prints the seconds from submission to the job's start
(and, for submitit, to the result being back in the submitting process): the fixed cost a study
unit pays on SLURM before its own start-up. Needs a cluster (scripts/slurm/start.sh) and submitit.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def start_time() -> float:
    """What the submitit job runs: the time it started."""
    return time.time()


def sbatch_wrap(folder: Path, index: int) -> float:
    """Seconds from `sbatch --wrap` to the start of its shell."""
    out = folder / f"wrap{index}.out"
    submitted = time.time()
    subprocess.run(["sbatch", "--quiet", "--output", str(out), "--wrap", "date +%s.%N"], check=True)
    while not out.exists() or not out.read_text().strip():
        time.sleep(0.02)
    return float(out.read_text()) - submitted


def through_submitit(executor) -> tuple[float, float]:
    """Seconds from `executor.submit` to the job's start, and to its result being back here."""
    submitted = time.time()
    started = executor.submit(start_time).result()
    return started - submitted, time.time() - submitted


def summary(name: str, seconds: list[float]) -> str:
    runs = " ".join(f"{s:.2f}" for s in seconds)
    return f"{name:34s} median {statistics.median(seconds):5.2f} s   (runs: {runs})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import submitit

    with tempfile.TemporaryDirectory(prefix="slurm-overhead-") as tmp:
        folder = Path(tmp)
        wraps = []
        for index in range(args.runs):
            wraps.append(sbatch_wrap(folder, index))
            time.sleep(1)
        executor = submitit.SlurmExecutor(folder=folder / "submitit" / "%j")
        executor.update_parameters(time=5, cpus_per_task=1, mem="1GB")
        starts, results = [], []
        for _ in range(args.runs):
            start, result = through_submitit(executor)
            starts.append(start)
            results.append(result)
            time.sleep(1)
    print(summary("sbatch --wrap: submit -> start", wraps))
    print(summary("submitit: submit -> start", starts))
    print(summary("submitit: submit -> result back", results))


if __name__ == "__main__":
    main()
