"""Running a pattern: execute it, calibrated, and wrap what it did in a :class:`~.run.Run`
that can measure itself again."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from .bounds import auto_tolerance
from .calibrate import Calibration, forget, measured, shape_overhead
from .lesson import DEFAULT_DURATIONS, default_start_method
from .patterns import RawRun, check_arguments, execute
from .run import Run
from .sink import Sink

__all__ = ["Executor", "run_pattern"]


class Executor(Protocol):
    """Runs a pattern's tasks, recording into ``sink``: :func:`~.patterns.execute`'s shape."""

    def __call__(self, pattern: str, durations: Sequence[float], unit: float, sink: Sink, *,
                 workers: int | None, start_method: str) -> RawRun: ...

# How many calibrated start-ups a run's processes may take to start, on average, before the
# calibration is measured afresh for the next run.
_STALE = 4.0


def run_pattern(
    pattern: str,
    durations: Sequence[float] | None,
    *,
    unit: float,
    sink: Sink,
    workers: int | None = None,
    start_method: str | None = None,
    tolerance: float | None = None,
    xdist_workers: int = 1,
    fresh_calibration: bool = False,
    executor: Executor | None = None,
) -> Run:
    """Execute ``pattern`` and wrap what it did in a :class:`Run`.

    Its bounds come from this process's calibration and from the measured overhead of a run of
    the same shape; ``fresh_calibration`` measures both again first (the repeat after a late
    wall does, so that a change of load since the first measurement counts). A run whose
    processes became ready far later than the calibration says leaves it to be measured
    again before the next run: the load has changed since.
    """
    durs = tuple(DEFAULT_DURATIONS.get(pattern, ()) if durations is None else durations)
    method = start_method or default_start_method()
    check_arguments(pattern, durs, unit=unit, workers=workers, start_method=method)
    calibration = measured(method, fresh=fresh_calibration)
    overhead = shape_overhead(pattern, len(durs), workers, method, fresh=fresh_calibration)
    tol = auto_tolerance(calibration, unit) if tolerance is None else tolerance

    def again(at: float, fresh: bool) -> Run:
        return run_pattern(pattern, durs, unit=at, sink=sink, workers=workers,
                           start_method=method,
                           tolerance=tolerance if tolerance is not None or at != unit else tol,
                           xdist_workers=xdist_workers, fresh_calibration=fresh,
                           executor=executor)

    raw = (executor or execute)(pattern, durs, unit, sink, workers=workers, start_method=method)
    starts = {pid: s for pid, s in sink.readiness().items() if pid != os.getpid()}
    if _stale(calibration, starts, raw.processes_started):
        forget(method)
    return Run(
        pattern=pattern,
        durations=durs,
        unit=unit,
        start_method=method,
        wall=raw.wall,
        origin=raw.origin,
        intervals=tuple(raw.intervals),
        delivered=tuple(raw.delivered),
        requested_workers=raw.requested_workers,
        calibration=calibration,
        tolerance=tol,
        main_pid=os.getpid(),
        xdist_workers=xdist_workers,
        processes_started=raw.processes_started,
        exitcodes=raw.exitcodes,
        overhead=overhead,
        starts=starts,
        held_back=raw.held_back,
        vouched=executor is None,
        again=again,
    )


def _stale(calibration: Calibration, starts: Mapping[int, tuple[float | None, float]],
           started: int) -> bool:
    """Whether the processes took far longer to start than the calibration says, one with
    another: the machine is busier (or quieter) than when it was measured."""
    spent = [ready - born for born, ready in starts.values() if born is not None]
    if not spent or not started:
        return False
    # Birth is known to a clock tick (10 ms on Linux), so only a gap well past it counts; a
    # calibrated start-up is a loop's cost per process, and one process's own start takes
    # about twice that on two cores, so only twice that again says the load has changed.
    return sum(spent) / len(spent) > _STALE * max(calibration.startup, 0.01)
