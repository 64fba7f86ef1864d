"""Serial mutants: the same tasks as a pattern, done one at a time (or, for ``serial``, at once).

A mutant is judged by the very ``Run.check()`` that judges the real pattern, so every mutant that
passes is a false verdict. Its tasks are the pattern's own (``core.patterns.task``), recording
into a ``Sink``, so the mutant differs from the pattern in nothing but its concurrency.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from pytest_sleepbench.core.clock import now
from pytest_sleepbench.core.lesson import PROCESS_PATTERNS
from pytest_sleepbench.core.patterns import Launches, RawRun, process_task, task, worker_ready
from pytest_sleepbench.core.run import Run
from pytest_sleepbench.core.runner import run_pattern
from pytest_sleepbench.core.sink import Sink

__all__ = ["run_mutant"]


def run_mutant(
    pattern: str,
    sink: Sink,
    *,
    unit: float,
    start_method: str,
    xdist_workers: int = 1,
    fresh_calibration: bool = False,
) -> Run:
    """Run the mutant of ``pattern`` over its default durations, as ``run_pattern`` runs the
    pattern itself: the same calibration, measured overhead of the pattern's shape, tolerance
    and second chance, so a mutant is treated exactly as a correct run would be (except that
    it is never vouched for, as a user's code is not)."""
    return run_pattern(pattern, None, unit=unit, sink=sink, start_method=start_method,
                       xdist_workers=xdist_workers, fresh_calibration=fresh_calibration,
                       executor=_mutant)


def _mutant(pattern: str, durations: Sequence[float], unit: float, sink: Sink, *,
            workers: int | None, start_method: str) -> RawRun:
    ctx = multiprocessing.get_context(start_method)
    sink.clear()
    with warnings.catch_warnings():
        # As in core.patterns: a threaded parent (an xdist worker) warns on fork, harmlessly.
        warnings.filterwarnings("ignore", ".*use of fork\\(\\) may lead to deadlocks",
                                DeprecationWarning)
        begin = now()
        done = _execute(pattern, durations, unit, sink, ctx)
        wall = now() - begin
    intervals = sink.read()
    delivered = done.delivered
    if pattern in PROCESS_PATTERNS or pattern == "serial":
        delivered = [i.task for i in sorted(intervals, key=lambda i: i.end) if i.task is not None]
    return RawRun(delivered=list(delivered), origin=begin, wall=wall, intervals=intervals,
                  requested_workers=done.requested, processes_started=done.started,
                  exitcodes=done.exitcodes, held_back=done.held_back)


@dataclass(frozen=True)
class _Done:
    delivered: list[int]
    requested: int
    started: int
    exitcodes: tuple[int | None, ...] = ()
    held_back: bool | None = None


def _execute(
    pattern: str, durations: Sequence[float], unit: float, sink: Sink, ctx: BaseContext
) -> _Done:
    n = len(durations)
    if pattern == "serial":
        # The opposite mutant: what should run in the main process, one after the other,
        # runs in child processes at the same time.
        launches = Launches()
        codes = _processes(ctx, durations, unit, sink, launches, one_by_one=False)
        return _Done([], n, n, codes, launches.held_back)
    if pattern in PROCESS_PATTERNS:
        launches = Launches()
        codes = _processes(ctx, durations, unit, sink, launches, one_by_one=True)
        return _Done([], n, n, codes, launches.held_back)
    return _pool_one_by_one(ctx, durations, unit, sink)


def _processes(
    ctx: BaseContext, durations: Sequence[float], unit: float, sink: Sink, launches: Launches,
    *, one_by_one: bool,
) -> tuple[int | None, ...]:
    started: list[BaseProcess] = []
    try:
        for i, d in enumerate(durations):
            # Stamped as the pattern's own processes are, so the judge has the same evidence.
            p = ctx.Process(target=process_task, args=(i, d, unit, sink))  # type: ignore[attr-defined]
            p.start()
            launches.launched()
            started.append(p)
            if one_by_one:
                p.join()
                launches.waited()
        for p in started:
            p.join()
            launches.waited()
        return tuple(p.exitcode for p in started)
    finally:
        for p in started:
            if p.is_alive():
                p.kill()
                p.join()


def _pool_one_by_one(
    ctx: BaseContext, durations: Sequence[float], unit: float, sink: Sink
) -> _Done:
    # The pool is as large as the real pattern's (the default size), but each result is
    # awaited before the next task is submitted: one worker busy at a time.
    with concurrent.futures.ProcessPoolExecutor(
            mp_context=ctx, initializer=worker_ready, initargs=(os.getpid(), sink)) as pool:
        requested: int = pool._max_workers  # type: ignore[attr-defined]
        launches = Launches()
        results = []
        for i, d in enumerate(durations):
            future = pool.submit(task, i, d, unit, sink)
            launches.launched()
            results.append(future.result())
            launches.waited()
        started = len(pool._processes or {})
    return _Done(results, requested, started, held_back=launches.held_back)
