"""The six patterns of the lesson, written to record every task's interval.

Each task sleeps ``duration * unit`` real seconds, records where and when it ran in a
:class:`~pytest_sleepbench.core.sink.Sink`, and returns its duration in tutorial seconds, so the
order the main process receives results is the order of the durations it sees.
"""

from __future__ import annotations

import concurrent.futures

# Bound now, not on first use: ``concurrent.futures`` loads this lazily, and a class pickled
# to workers must be the one the module holds even if something re-imports it later (pytester
# runs in-process do, between runs).
import concurrent.futures.process
import math
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from .clock import now, sleep_for, watch_owner
from .lesson import (
    DEFAULT_DURATIONS,
    PATTERNS,
    POOL_PATTERNS,
    PROCESS_PATTERNS,
    default_start_method,
    durations_problem,
    durations_type_problem,
    start_method_problem,
)
from .sink import Interval, Sink

__all__ = [
    "Launches", "RawRun", "check_arguments", "execute", "process_task", "task", "worker_ready",
]



def task(index: int, duration: float, unit: float, sink: Sink, watch: int | None = None) -> int:
    """One task of a pattern: sleep, record the interval, return the task's index.

    The index, not the duration, travels back so that equal durations stay distinguishable
    when the order of delivery is judged. ``watch`` is the pid of the process running the
    pattern: a task in a child exits when that process is gone, so a run killed by a timeout
    leaves no process behind.
    """
    start, end = sleep_for(duration * unit, watch=watch)
    sink.record(index, duration * unit, start, end)
    return index


def process_task(index: int, duration: float, unit: float, sink: Sink,
                 watch: int | None = None) -> int:
    """A ``Process``'s target: its one task, and the moment the process could run, which
    for a process that runs one task is when its sleep began."""
    start, end = sleep_for(duration * unit, watch=watch)
    sink.mark_ready(start)
    sink.record(index, duration * unit, start, end)
    return index


def worker_ready(owner: int, sink: Sink) -> None:
    """A pool worker's initializer: stamp the end of its start-up, then watch its owner."""
    sink.mark_ready(now())
    watch_owner(owner)



@dataclass(frozen=True)
class RawRun:
    """What one execution of a pattern produced, before any judgement."""

    delivered: list[int]
    """Task indices in the order the main process received them (tasks ended, for
    ``serial`` and the ``Process`` patterns)."""
    origin: float
    wall: float
    intervals: list[Interval]
    requested_workers: int
    processes_started: int
    """Processes the run started, whether or not they got a task: an executor under ``fork``
    starts all its workers at once, and each costs start-up time."""
    exitcodes: tuple[int | None, ...] = ()
    """Exit codes of the ``Process`` patterns' children, in task order."""
    held_back: bool | None = None
    """Whether the main process launched a task only after it had waited for one: the
    evidence that decides whose fault a missing overlap is (``None``: nothing launched)."""


class Launches:
    """When the main process last launched a task and first waited for one."""

    def __init__(self) -> None:
        self.last: float | None = None
        self.first_wait: float | None = None

    def launched(self) -> None:
        self.last = now()

    def waited(self) -> None:
        if self.first_wait is None:
            self.first_wait = now()

    @property
    def held_back(self) -> bool | None:
        if self.last is None:
            return None
        return self.first_wait is not None and self.last > self.first_wait


def check_arguments(
    pattern: str,
    durations: Sequence[float],
    *,
    unit: float,
    workers: int | None = None,
    start_method: str | None = None,
) -> None:
    """Raise ``ValueError`` naming what is wrong with a pattern's arguments, before running."""
    if pattern not in DEFAULT_DURATIONS:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    problem = durations_type_problem(durations)
    if problem is not None:
        raise TypeError(problem)
    problem = durations_problem(durations)
    if problem is not None:
        raise ValueError(problem)
    if not (math.isfinite(unit) and unit > 0):
        raise ValueError(f"unit must be a positive number of seconds, got {unit}")
    if workers is not None and pattern not in POOL_PATTERNS:
        raise ValueError(f"workers= applies to {', '.join(POOL_PATTERNS)}, not to {pattern!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise TypeError(f"workers must be a whole number, got {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if start_method is not None and (problem := start_method_problem(start_method)):
        raise ValueError(problem)


def execute(
    pattern: str,
    durations: Sequence[float],
    unit: float,
    sink: Sink,
    *,
    workers: int | None = None,
    start_method: str | None = None,
) -> RawRun:
    """Run ``pattern`` over ``durations`` and return what it did."""
    check_arguments(pattern, durations, unit=unit, workers=workers, start_method=start_method)
    sink.clear()
    ctx = multiprocessing.get_context(start_method or default_start_method())
    with warnings.catch_warnings():
        # Python 3.12+ warns when a threaded process forks (pytest-xdist and pytest-timeout
        # run threads). The children here only sleep and write one line, which that hazard
        # cannot reach, and under -W error the warning would stop the run.
        warnings.filterwarnings("ignore", ".*use of fork\\(\\) may lead to deadlocks",
                                DeprecationWarning)
        return _execute(pattern, durations, unit, sink, ctx, workers)


def _execute(
    pattern: str,
    durations: Sequence[float],
    unit: float,
    sink: Sink,
    ctx: BaseContext,
    workers: int | None,
) -> RawRun:
    begin = now()
    exitcodes: tuple[int | None, ...] = ()
    launches = Launches()
    if pattern == "serial":
        delivered = [task(i, d, unit, sink) for i, d in enumerate(durations)]
        requested = started = 0
    elif pattern in PROCESS_PATTERNS:
        exitcodes = _run_processes(ctx, durations, unit, sink, launches)
        delivered = []
        requested = started = len(durations)
    else:
        delivered, requested, started = _run_pool(pattern, ctx, durations, unit, sink, workers,
                                                  launches)
    wall = now() - begin
    intervals = sink.read()
    if pattern in PROCESS_PATTERNS:
        ended = sorted(intervals, key=lambda i: i.end)
        delivered = [i.task for i in ended if i.task is not None]
    return RawRun(
        delivered=delivered,
        origin=begin,
        wall=wall,
        intervals=intervals,
        requested_workers=requested,
        processes_started=started,
        exitcodes=exitcodes,
        held_back=launches.held_back,
    )


def _run_processes(
    ctx: BaseContext, durations: Sequence[float], unit: float, sink: Sink, launches: Launches
) -> tuple[int | None, ...]:
    started: list[BaseProcess] = []
    main = os.getpid()
    try:
        for i, d in enumerate(durations):
            p = ctx.Process(target=process_task, args=(i, d, unit, sink, main))  # type: ignore[attr-defined]
            p.start()
            launches.launched()
            started.append(p)
        for p in started:
            p.join()
            launches.waited()
        return tuple(p.exitcode for p in started)
    finally:
        _kill(started)


def _run_pool(
    pattern: str,
    ctx: BaseContext,
    durations: Sequence[float],
    unit: float,
    sink: Sink,
    workers: int | None,
    launches: Launches,
) -> tuple[list[int], int, int]:
    main = os.getpid()
    # Each worker watches this process from its start: an idle one waits on the call queue,
    # whose write end it holds itself, and would otherwise outlive a test cut off by a
    # thread-method timeout.
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=worker_ready, initargs=(main, sink))
    requested: int = executor._max_workers  # type: ignore[attr-defined]
    results: list[int] = []
    try:

        def submit(i: int, d: float) -> concurrent.futures.Future[int]:
            future = executor.submit(task, i, d, unit, sink, main)
            launches.launched()
            return future

        def received(result: int) -> int:
            launches.waited()
            return result

        if pattern == "submit":
            futures = [submit(i, d) for i, d in enumerate(durations)]
            results = [received(f.result()) for f in futures]
        elif pattern == "as_completed":
            futures = [submit(i, d) for i, d in enumerate(durations)]
            results = [received(f.result()) for f in concurrent.futures.as_completed(futures)]
        else:
            n = len(durations)
            args = (range(n), durations, [unit] * n, [sink] * n, [main] * n)
            mapped = executor.map(task, *args)  # submits every task before it returns
            launches.launched()
            results = [received(r) for r in mapped]
        started = len(executor._processes or {})
        executor.shutdown(wait=True)
    finally:
        # Reached with workers alive only when the run was interrupted (a timeout, Ctrl-C).
        processes = list((executor._processes or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        _kill(processes)
    return results, requested, started


def _kill(processes: Sequence[BaseProcess]) -> None:
    for p in processes:
        if p.is_alive():
            p.kill()
    for p in processes:
        p.join(timeout=5)
