"""What SLURM added to each task of a study run with `astgan study --executor slurm`.

    python scripts/slurm/study_overhead.py RUN_DIR/study

Reads every unit's job record (slurm_job.json) and asks sacct for its job's submit, start and end
times. Per task (a unit, or a GAN and its arm): the wait in the queue (submit to start: on a busy
node mostly waiting for a free CPU or GPU), the scheduling delay (for a task that waited: from the
end of the last task that ended before it started, which freed its CPU, to its start), the start-up
(the job's start to astgan's code running: the batch script, srun, Python and its imports) and the
wind-down (astgan's code done to the job's end). Prints each with its median over the tasks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from datetime import datetime
from pathlib import Path


def sacct_times(job_ids: list[str]) -> dict[str, tuple[float, float, float]]:
    """{job id: (submit, start, end)} in epoch seconds, for finished jobs and array tasks."""
    arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,Submit,Start,End", *[f"-j{a}" for a in arrays]],
                         capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        job_id, *stamps = line.split("|")
        if all(stamp[:1].isdigit() for stamp in stamps):
            times[job_id] = tuple(datetime.fromisoformat(stamp).timestamp() for stamp in stamps)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_dir", type=Path)
    study_dir = parser.parse_args().study_dir
    tasks = {}
    for path in study_dir.rglob("slurm_job.json"):
        for record in json.loads(path.read_text()).values():
            if record.get("ran"):
                tasks[record["job_id"]] = record["ran"]
    times = sacct_times(list(tasks))
    ends = sorted(end for _, _, end in times.values())
    rows = []
    for job_id, ran in sorted(tasks.items()):
        if job_id in times:
            submit, start, end = times[job_id]
            freed = max([e for e in ends if e <= start and e > submit], default=None)
            rows.append((job_id, start - submit, start - freed if freed else None, ran["started"] - start,
                         end - ran["ended"]))
    print(f"{len(rows)} tasks of {study_dir}")
    print("job       queue_s  sched_s  startup_s  winddown_s")
    for job_id, queue, sched, startup, winddown in rows:
        sched_text = f"{sched:7.1f}" if sched is not None else "      -"
        print(f"{job_id:<9} {queue:7.1f} {sched_text}  {startup:9.1f} {winddown:11.1f}")
    for name, column in (("queue", 1), ("scheduling delay", 2), ("start-up", 3), ("wind-down", 4)):
        values = [row[column] for row in rows if row[column] is not None]
        if values:
            print(f"median {name}: {statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f}, "
                  f"{len(values)} tasks)")


if __name__ == "__main__":
    main()
