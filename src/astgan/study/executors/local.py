"""The local executor: a study's units on this machine, in this process (``study.jobs=1``) or in a pool
of ``study.jobs`` worker processes of ``study.threads`` torch threads each. On a machine with several
GPUs each worker gets its own (round robin over the visible ones), instead of every worker
resolving ``run.device=auto`` to GPU 0."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from astgan.study.plan import Unit
from astgan.study.units import run_unit

Finished = Callable[[Unit, dict], None]  # called with each unit and its result, as each is done


def run_local(todo: list[Unit], configs: dict[Unit, dict], jobs: int, threads: int, finished: Finished,
              gpus: list[str] | None = None) -> None:
    """Run ``todo`` (``jobs`` at a time), calling ``finished(unit, result)`` as each one is done.

    ``configs``: each unit's config as a plain dict (it crosses process boundaries). ``gpus``: the
    GPUs (``CUDA_VISIBLE_DEVICES`` entries) the workers take in turn (:func:`visible_gpus`).
    """
    if jobs == 1:
        for unit in todo:
            finished(unit, run_unit(configs[unit], unit.kind))
        return
    _run_in_pool(todo, configs, jobs, threads, finished, gpus or [])


def visible_gpus(device: str) -> list[str]:
    """The GPUs the pool's workers share out: ``CUDA_VISIBLE_DEVICES``'s entries, or every GPU torch
    sees; none when ``run.device`` names a device itself (cpu, cuda:N) or there is one GPU or none."""
    if device not in ("auto", "cuda"):
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        gpus = [entry.strip() for entry in listed.split(",") if entry.strip()]
    else:
        import torch

        gpus = [str(i) for i in range(torch.cuda.device_count())]
    return gpus if len(gpus) > 1 else []


def worker_pool(jobs: int, threads: int, gpus: list[str]) -> ProcessPoolExecutor:
    """``jobs`` worker processes of ``threads`` torch threads; worker k sees only GPU ``gpus[k % len]``."""
    # spawn, not fork: a forked child of a process that already ran torch's thread pool can hang
    context = multiprocessing.get_context("spawn")
    turns = context.Queue()  # each worker takes the next GPU as it starts
    for k in range(jobs):
        turns.put(gpus[k % len(gpus)] if gpus else None)
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(threads, turns))


def _run_in_pool(todo: list[Unit], configs: dict[Unit, dict], jobs: int, threads: int, finished: Finished,
                 gpus: list[str]) -> None:
    """Units in worker processes; a unit starts once the unit it needs has finished."""
    waiting = list(todo)
    running = {}
    with worker_pool(jobs, threads, gpus) as pool:
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


def _start_worker(threads: int, turns) -> None:
    """Start-up of a study worker process: its GPU, its torch threads. (A spawned process starts with
    Python's default logging, which shows warnings only: the main process reports progress.)"""
    gpu = turns.get()
    if gpu is not None:  # before anything initialises CUDA, which reads it once
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    import torch

    torch.set_num_threads(threads)
