"""The local executor: a study's units on this machine, in this process (``study.jobs=1``) or in a pool
of ``study.jobs`` worker processes of ``study.threads`` torch threads each."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from astgan.study.plan import Unit
from astgan.study.units import run_unit

Finished = Callable[[Unit, dict], None]  # called with each unit and its result, as each is done


def run_local(todo: list[Unit], configs: dict[Unit, dict], jobs: int, threads: int, finished: Finished) -> None:
    """Run ``todo`` (``jobs`` at a time), calling ``finished(unit, result)`` as each one is done.

    ``configs``: each unit's config as a plain dict (it crosses process boundaries).
    """
    if jobs == 1:
        for unit in todo:
            finished(unit, run_unit(configs[unit], unit.kind))
        return
    _run_in_pool(todo, configs, jobs, threads, finished)


def _run_in_pool(todo: list[Unit], configs: dict[Unit, dict], jobs: int, threads: int, finished: Finished) -> None:
    """Units in worker processes; a unit starts once the unit it needs has finished."""
    waiting = list(todo)
    running = {}
    # spawn, not fork: a forked child of a process that already ran torch's thread pool can hang
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(threads,)) as pool:
        try:
            while waiting or running:
                unfinished = set(waiting) | set(running.values())
                for unit in [u for u in waiting if u.after is None or u.after not in unfinished]:
                    if len(running) >= jobs:
                        break
                    waiting.remove(unit)
                    running[pool.submit(run_unit, configs[unit], unit.kind)] = unit
                if not running:  # guards against a plan whose units wait on each other: never spin
                    raise RuntimeError(f"no study unit can start: {[u.kind for u in waiting]} wait on unfinished units")
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(running.pop(future), future.result())
        except BaseException:
            for future in running:
                future.cancel()
            raise


def _start_worker(threads: int) -> None:
    """Start-up of a study worker process: its torch threads. (A spawned process starts with Python's
    default logging, which shows warnings only: the main process reports progress.)"""
    import torch

    torch.set_num_threads(threads)
