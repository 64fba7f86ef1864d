"""One run of a pattern and the assertions a user makes about it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import timeline as tl
from .bounds import Bounds, auto_tolerance, wall_bounds
from .calibrate import Calibration, shape_overhead
from .calibrate import cached as calibration_for
from .lesson import DEFAULT_DURATIONS, POOL_PATTERNS, default_start_method
from .model import Schedule, list_schedule
from .patterns import check_arguments, execute
from .picture import message_width, render
from .sink import Interval, Sink
from .verdict import LateWall, SleepbenchAssertion, fail, recorded

__all__ = ["Run", "run_pattern"]

# How many calibrated start-ups apart workers may become ready before overlap is not owed.
_STAGGER = 3.0


@dataclass(eq=False)
class Run:
    """What a pattern did, and what the model says it should have done.

    ``durations`` are in tutorial seconds; one lasts ``unit`` real seconds. ``workers`` is the
    number of processes that really ran tasks, which is what the model is built with.
    """

    pattern: str
    durations: tuple[float, ...]
    unit: float
    start_method: str
    wall: float
    origin: float
    intervals: tuple[Interval, ...]
    delivered: tuple[int, ...]
    requested_workers: int
    """Workers the code asked for (an executor's ``max_workers``; 0 for ``serial``)."""
    calibration: Calibration
    tolerance: float
    main_pid: int
    xdist_workers: int = 1
    processes_started: int = 0
    """Processes the run started, each paid for in start-up time, whether it ran a task or
    not: an executor under ``fork`` starts all of its ``max_workers`` at once."""
    exitcodes: tuple[int | None, ...] = ()
    """Exit codes of the ``Process`` patterns' children, in task order."""
    overhead: float | None = None
    """Measured cost of this run's machinery: the same pattern with zero-length sleeps (see
    the noise policy). ``None`` derives it from the calibration's per-process figures."""
    earlier_walls: tuple[float, ...] = ()
    """Walls of earlier attempts that only missed the upper time bound (see the noise policy)."""
    again: Callable[[], Run] | None = field(default=None, repr=False)
    """Runs the same pattern once more; used up by the first repeat."""
    checks: list[dict[str, str]] = field(default_factory=list)
    """Every assertion made on this run, in order, with its verdict."""
    asked: list[tuple[Callable[..., None], tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=list, repr=False
    )
    """The assertions that passed, to judge again if the run is measured once more."""

    # -- what was observed -------------------------------------------------------------------

    @property
    def results(self) -> list[float]:
        """Durations in the order the pattern delivered them."""
        return [self.durations[i] for i in self.delivered]

    @property
    def workers(self) -> int:
        return max(len(tl.processes(self.intervals)), 1)

    @property
    def peak(self) -> int:
        return tl.peak(self.intervals)

    def finishes(self) -> dict[int, float]:
        """Each task's end, in seconds after the run began."""
        return {i.task: i.end - self.origin for i in self.intervals if i.task is not None}

    # -- what the model expects --------------------------------------------------------------

    @property
    def schedule(self) -> Schedule:
        """The list schedule, in real seconds, over the workers the run really had."""
        workers = 1 if self.pattern == "serial" else self.workers
        return list_schedule([d * self.unit for d in self.durations], workers)

    @property
    def expected_wall(self) -> float:
        return self.schedule.makespan

    @property
    def bounds(self) -> Bounds:
        schedule = self.schedule
        return wall_bounds(
            lower=tl.chain_lower_bound(self.intervals),
            ideal=schedule.makespan,
            calibration=self.calibration,
            process_starts=self.processes_started,
            pool=self.pattern in POOL_PATTERNS,
            chain=schedule.chain,
            tolerance=self.tolerance,
            xdist_workers=self.xdist_workers,
            overhead=self.overhead,
        )

    def expected_peak(self) -> int:
        """Peak concurrency the model promises even if process starts are slow.

        Worker ``w`` is taken to be ready only after ``w`` calibrated start-ups, three times
        over, so under ``spawn`` with a small unit fewer tasks need to overlap: a unit too small
        for the start method cannot demand overlap that the machine could not deliver (the
        benchmark reports the smallest unit that can). The calibration is taken in the same
        process, so under pytest-xdist it already carries the other workers' load; widening
        the allowance again for them let serial runs pass.
        """
        if self.pattern == "serial":
            return 1
        release = [w * self._stagger() for w in range(self.workers)]
        durations = [d * self.unit for d in self.durations]
        return list_schedule(durations, self.workers, release).peak

    # -- pictures and messages ---------------------------------------------------------------

    def names(self) -> dict[int, str]:
        return {k: f"{d:g}" for k, d in enumerate(self.durations)}

    def picture(self, width: int | None = None) -> str:
        """The timeline as text, ``width`` columns wide (by default, as a failure message fits)."""
        return render(
            self.intervals,
            width=message_width() if width is None else width,
            main_pid=self.main_pid,
            origin=self.origin,
            expected=self.expected_wall,
            names=self.names(),
            span=self.wall,
        )

    def describe(self) -> str:
        b = self.bounds
        walls = "".join(f", earlier attempt {w:.3f}s" for w in self.earlier_walls)
        return (
            f"{self.pattern} over {list(self.durations)} with {self.workers} worker(s) "
            f"({self.start_method}, unit {self.unit:g}s): wall {self.wall:.3f}s{walls}, "
            f"model {b.ideal:.3f}s, bounds {b.lower:.3f}s..{b.upper:.3f}s"
        )

    def to_record(self) -> dict[str, object]:
        """A JSON-ready account of the run, for reports; times are seconds after it began."""
        b = self.bounds
        return {
            "pattern": self.pattern,
            "durations": list(self.durations),
            "unit": self.unit,
            "start_method": self.start_method,
            "workers": self.workers,
            "requested_workers": self.requested_workers,
            "wall": self.wall,
            "earlier_walls": list(self.earlier_walls),
            "expected_wall": b.ideal,
            "lower": b.lower,
            "upper": b.upper,
            "tolerance": self.tolerance,
            "calibration": self.calibration.describe(),
            "processes_started": self.processes_started,
            "overhead": self.overhead,
            "results": self.results,
            "checks": list(self.checks),
            "main_pid": self.main_pid,
            "intervals": [
                {**i.to_dict(), "start": i.start - self.origin, "end": i.end - self.origin}
                for i in self.intervals
            ],
        }

    def _fail(self, title: str, expected: str, observed: str,
              kind: type[SleepbenchAssertion] = SleepbenchAssertion) -> None:
        __tracebackhide__ = True
        fail(f"sleepbench: {title}", expected, f"{observed}\n  run: {self.describe()}",
             self.picture(), kind)

    def _labels(self, order: Sequence[int]) -> str:
        return ", ".join(f"{self.durations[i]:g}" for i in order)

    # -- assertions: each records a verdict under one of the brief's check names ---------------

    def assert_serial(self) -> None:
        """No two tasks overlapped, and the wall time is the sum, within the bounds."""
        __tracebackhide__ = True
        self._overlap_none()
        self.assert_timing()

    def assert_parallel(self) -> None:
        """Tasks ran in several processes, overlapped as the schedule predicts, and the wall
        time is the makespan."""
        __tracebackhide__ = True
        if len(self.durations) < 2:
            raise ValueError("assert_parallel needs at least two tasks")
        self._overlap_several()
        self.assert_timing()

    @recorded("overlap")
    def assert_overlap(self) -> None:
        """Tasks overlapped as the schedule over the workers the run really had predicts.

        Unlike :meth:`assert_parallel`, a pool whose second worker booted only after the first
        had done all the work passes: with one worker, the model expects no overlap.
        """
        __tracebackhide__ = True
        if self.pattern == "serial" or self.workers == 1:
            self._assert_no_overlap()
        else:
            self._assert_peak()

    @recorded("timing")
    def assert_timing(self) -> None:
        """The wall time lies within the model's bounds (see the noise policy)."""
        __tracebackhide__ = True
        b = self.bounds
        if self.wall < b.lower:
            self._fail("the run was faster than its sleeps allow",
                       f"at least {b.lower:.3f}s", f"{self.wall:.3f}s")
        if self.wall > b.upper:
            self._fail("the run took longer than the schedule allows",
                       f"at most {b.upper:.3f}s (model {b.ideal:.3f}s plus calibrated start-up"
                       f" and jitter)", f"{self.wall:.3f}s", kind=LateWall)

    @recorded("runs")
    def assert_complete(self) -> None:
        """Every task ran to its end, once, and every ``Process`` exited cleanly."""
        __tracebackhide__ = True
        tasks = sorted(i.task for i in self.intervals if i.task is not None)
        if tasks != list(range(len(self.durations))):
            missing = sorted(set(range(len(self.durations))) - set(tasks))
            self._fail("not every task ran to its end once",
                       f"tasks {list(range(len(self.durations)))} each recorded once",
                       f"recorded {tasks}" + (f", missing {missing}" if missing else ""))
        bad = [(k, code) for k, code in enumerate(self.exitcodes) if code != 0]
        if bad:
            self._fail("a process did not exit cleanly", "every exit code 0",
                       ", ".join(f"task {k} exited with {code}" for k, code in bad))

    @recorded("uses_processes")
    def assert_uses_processes(self) -> None:
        """``serial`` ran every task in the main process; the others none of them."""
        __tracebackhide__ = True
        in_main = [i for i in self.intervals if i.pid == self.main_pid]
        if self.pattern == "serial" and len(in_main) < len(self.intervals):
            self._fail("serial tasks ran outside the main process",
                       "every task in the main process",
                       f"{len(self.intervals) - len(in_main)} task(s) in other processes")
        if self.pattern != "serial" and in_main:
            self._fail("tasks ran in the main process", "every task in a child process",
                       f"{len(in_main)} task(s) in the main process")

    @recorded("order")
    def assert_input_order(self) -> None:
        """Results came back in the order the inputs were given (``map``'s promise)."""
        __tracebackhide__ = True
        want = list(range(len(self.durations)))
        if list(self.delivered) != want:
            self._fail("results were not delivered in input order",
                       self._labels(want), self._labels(self.delivered))

    @recorded("order")
    def assert_completion_order(self) -> None:
        """Results came back in the order their tasks finished (``as_completed``'s promise).

        Judged against the observed finishes, within the tolerance: which worker picks up which
        task is a race the executor does not promise, so the model's order is only shown.
        """
        __tracebackhide__ = True
        ends = self.finishes()
        order = list(self.delivered)
        late = [
            (a, b) for a, b in itertools.pairwise(order)
            if ends[a] > ends[b] + self.tolerance
        ]
        if late:
            a, b = late[0]
            self._fail(
                "results were not delivered in completion order",
                f"the order tasks finished: {self._labels(sorted(ends, key=ends.__getitem__))}"
                f" (the model, with {self.workers} worker(s): "
                f"{self.schedule.describe_order(self.tolerance, list(self.names().values()))})",
                f"{self._labels(order)} ({self.durations[a]:g} was delivered before "
                f"{self.durations[b]:g}, which finished {ends[a] - ends[b]:.3f}s earlier)",
            )

    @recorded("order")
    def assert_fastest_first(self) -> None:
        """Results came back shortest first, which needs a worker for every task."""
        __tracebackhide__ = True
        n = len(self.durations)
        if self.workers < n:
            self._fail(
                "fastest-first cannot hold with fewer workers than tasks",
                f"{n} workers for {n} tasks, results in order "
                f"{self._labels(sorted(range(n), key=lambda i: (self.durations[i], i)))}",
                f"{self.workers} worker(s); the model expects "
                f"{self.schedule.describe_order(self.tolerance, list(self.names().values()))}",
            )
        ideal = list_schedule([d * self.unit for d in self.durations], n)
        if not ideal.allows(self.delivered, self.tolerance):
            self._fail("results were not delivered fastest first",
                       ideal.describe_order(self.tolerance, list(self.names().values())),
                       self._labels(self.delivered))

    def check(self) -> None:
        """The pattern's own promises, as the checks of the same names: ``runs``,
        ``uses_processes``, ``overlap``, ``order`` for ``map`` (input order) and
        ``as_completed`` (completion order), then ``timing``: what the intervals settle is
        judged before the wall time."""
        __tracebackhide__ = True
        self.assert_complete()
        self.assert_uses_processes()
        self.assert_overlap()
        if self.pattern == "map":
            self.assert_input_order()
        elif self.pattern == "as_completed":
            self.assert_completion_order()
        self.assert_timing()

    # -- helpers -----------------------------------------------------------------------------

    @recorded("overlap")
    def _overlap_none(self) -> None:
        __tracebackhide__ = True
        self._assert_no_overlap()

    def _assert_no_overlap(self) -> None:
        __tracebackhide__ = True
        if self.peak > 1:
            self._fail("tasks overlapped in a run meant to be serial",
                       "peak concurrency 1", f"peak concurrency {self.peak}")

    @recorded("overlap")
    def _overlap_several(self) -> None:
        __tracebackhide__ = True
        if self.workers < 2:
            self._fail("all tasks ran in one process", "tasks spread over at least 2 processes",
                       f"{self.workers} process ran them all")
        self._assert_peak()

    def _assert_peak(self) -> None:
        __tracebackhide__ = True
        want = self.expected_peak()
        if self.peak < want:
            self._fail("tasks did not overlap as the schedule predicts",
                       f"peak concurrency {want} ({self.workers} workers, "
                       f"{len(self.durations)} tasks, workers ready "
                       f"{self._stagger() * 1000:.0f} ms apart at most)",
                       f"peak concurrency {self.peak}")

    def _stagger(self) -> float:
        return _STAGGER * self.calibration.startup

    def remeasure(self) -> bool:
        """Run the pattern once more, adopt that measurement, and judge again every assertion
        made so far, so that all recorded verdicts describe one measurement. Only once."""
        __tracebackhide__ = True
        if self.again is None:
            return False
        other, self.again = self.again(), None
        self.earlier_walls = (*self.earlier_walls, self.wall)
        self.wall, self.origin = other.wall, other.origin
        self.intervals, self.delivered = other.intervals, other.delivered
        self.exitcodes, self.processes_started = other.exitcodes, other.processes_started
        self.overhead, self.calibration = other.overhead, other.calibration
        asked, self.asked = self.asked, []
        self.checks.clear()
        for method, args, kwargs in asked:
            method(self, *args, **kwargs)
        return True


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
) -> Run:
    """Execute ``pattern`` and wrap what it did in a :class:`Run`.

    Its bounds come from this process's calibration and from the measured overhead of a run of
    the same shape; ``fresh_calibration`` measures both again first (the repeat after a late
    wall does, so that a change of load since the first measurement counts).
    """
    durs = tuple(DEFAULT_DURATIONS.get(pattern, ()) if durations is None else durations)
    method = start_method or default_start_method()
    check_arguments(pattern, durs, unit=unit, workers=workers, start_method=method)
    calibration = calibration_for(method, fresh=fresh_calibration)
    overhead = shape_overhead(pattern, len(durs), workers, method, fresh=fresh_calibration)
    tol = auto_tolerance(calibration, unit) if tolerance is None else tolerance

    def again() -> Run:
        return run_pattern(pattern, durs, unit=unit, sink=sink, workers=workers,
                           start_method=method, tolerance=tol, xdist_workers=xdist_workers,
                           fresh_calibration=True)

    raw = execute(pattern, durs, unit, sink, workers=workers, start_method=method)
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
        again=again,
    )
