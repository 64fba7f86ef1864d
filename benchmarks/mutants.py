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
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from pytest_sleepbench.core.bounds import auto_tolerance
from pytest_sleepbench.core.calibrate import cached as calibration_for
from pytest_sleepbench.core.clock import now
from pytest_sleepbench.core.patterns import DEFAULT_DURATIONS, PROCESS_PATTERNS, task
from pytest_sleepbench.core.run import Run
from pytest_sleepbench.core.sink import Sink

__all__ = ["run_mutant"]


def run_mutant(
    pattern: str,
    sink: Sink,
    *,
    unit: float,
    start_method: str,
    xdist_workers: int = 1,
) -> Run:
    """Run the mutant of ``pattern`` over its default durations and wrap it in a ``Run``.

    The ``Run`` gets the same second chance the plugin's runs get (``again``), so a mutant is
    treated exactly as a correct run would be.
    """
    durations = DEFAULT_DURATIONS[pattern]
    calibration = calibration_for(start_method)
    ctx = multiprocessing.get_context(start_method)
    sink.clear()
    with warnings.catch_warnings():
        # As in core.patterns: a threaded parent (an xdist worker) warns on fork, harmlessly.
        warnings.filterwarnings("ignore", ".*use of fork\\(\\) may lead to deadlocks",
                                DeprecationWarning)
        begin = now()
        delivered, requested = _execute(pattern, durations, unit, sink, ctx)
        wall = now() - begin
    intervals = sink.read()
    if pattern in PROCESS_PATTERNS or pattern == "serial":
        delivered = [i.task for i in sorted(intervals, key=lambda i: i.end) if i.task is not None]

    def again() -> Run:
        return run_mutant(pattern, sink, unit=unit, start_method=start_method,
                          xdist_workers=xdist_workers)

    return Run(
        pattern=pattern,
        durations=tuple(durations),
        unit=unit,
        start_method=start_method,
        wall=wall,
        origin=begin,
        intervals=tuple(intervals),
        delivered=tuple(delivered),
        requested_workers=requested,
        calibration=calibration,
        tolerance=auto_tolerance(calibration, unit),
        main_pid=os.getpid(),
        xdist_workers=xdist_workers,
        again=again,
    )


def _execute(
    pattern: str, durations: Sequence[float], unit: float, sink: Sink, ctx: BaseContext
) -> tuple[list[int], int]:
    if pattern == "serial":
        # The opposite mutant: what should run in the main process, one after the other,
        # runs in child processes at the same time.
        _processes(ctx, durations, unit, sink, one_by_one=False)
        return [], len(durations)
    if pattern in PROCESS_PATTERNS:
        _processes(ctx, durations, unit, sink, one_by_one=True)
        return [], len(durations)
    return _pool_one_by_one(ctx, durations, unit, sink), os.cpu_count() or 1


def _processes(
    ctx: BaseContext, durations: Sequence[float], unit: float, sink: Sink, *, one_by_one: bool
) -> None:
    started: list[BaseProcess] = []
    try:
        for i, d in enumerate(durations):
            p = ctx.Process(target=task, args=(i, d, unit, sink))  # type: ignore[attr-defined]
            p.start()
            started.append(p)
            if one_by_one:
                p.join()
        for p in started:
            p.join()
    finally:
        for p in started:
            if p.is_alive():
                p.kill()
                p.join()


def _pool_one_by_one(
    ctx: BaseContext, durations: Sequence[float], unit: float, sink: Sink
) -> list[int]:
    # The pool is as large as the real pattern's (the default size), but each result is
    # awaited before the next task is submitted: one worker busy at a time.
    with concurrent.futures.ProcessPoolExecutor(mp_context=ctx) as pool:
        return [pool.submit(task, i, d, unit, sink).result() for i, d in enumerate(durations)]
