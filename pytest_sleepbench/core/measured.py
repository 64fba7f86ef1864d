"""What one run of a pattern measured, and what the model says it should have done: the
figures the claims are judged on, the judge's view of them, and the run's picture and record.
:class:`~.run.Run` adds the assertions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import timeline as tl
from .bounds import Bounds, wall_bounds
from .calibrate import Calibration
from .judge import STAGGER, Measurement
from .lesson import POOL_PATTERNS, PROCESS_PATTERNS
from .model import Schedule, list_schedule
from .picture import message_width, render
from .records import CheckRecord, RunRecord, interval_record
from .sink import Interval

__all__ = ["Measured"]


@dataclass(eq=False)
class Measured:
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
    starts: Mapping[int, tuple[float | None, float]] = field(default_factory=dict)
    """Each worker process's (born, ready), by pid: when it was created and when it could
    first run (a pool worker when its start-up ended, a ``Process`` when its task began).
    The gap is start-up the machine spent, which the judge never blames on the code."""
    held_back: bool | None = None
    """Whether the main process launched a task only after waiting for one (see
    :class:`~pytest_sleepbench.core.patterns.RawRun`)."""
    vouched: bool = False
    """Whether the run is of this package's own pattern code (``run_pattern``), which the
    judge then never blames for what it did not hold back."""
    earlier_walls: tuple[float, ...] = ()
    """Walls of earlier attempts that only missed the upper time bound (see the noise policy)."""
    earlier_units: tuple[float, ...] = ()
    """Units of earlier attempts too small for the machine to show a claim (see
    :meth:`assert_parallel`); ``unit`` is the one the verdicts describe."""
    retried_late: bool = False
    checks: list[CheckRecord] = field(default_factory=list)
    """Every assertion made on this run, in order, with its verdict."""

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

    @property
    def owed_workers(self) -> int:
        """Workers a claim of parallelism owes: the pool asked for, or one process a task."""
        return 1 if self.pattern == "serial" else max(self.requested_workers, 1)

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
        if self.earlier_units:
            walls += (f", unit scaled up from {self.earlier_units[0]:g}s for processes "
                      "that started too late to show it")
        return (
            f"{self.pattern} over {list(self.durations)} with {self.workers} worker(s) "
            f"({self.start_method}, unit {self.unit:g}s): wall {self.wall:.3f}s{walls}, "
            f"model {b.ideal:.3f}s, bounds {b.lower:.3f}s..{b.upper:.3f}s"
        )

    def to_record(self) -> RunRecord:
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
            "earlier_units": list(self.earlier_units),
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
            "intervals": [interval_record(i, self.origin) for i in self.intervals],
        }

    def label(self, task: int) -> str:
        return f"{self.durations[task]:g}"

    # -- the measurement the judge reads ------------------------------------------------------

    def measurement(self, owed_workers: int) -> Measurement:
        """This run as the judge reads it, owing ``owed_workers`` workers."""
        return Measurement(
            durations=tuple(d * self.unit for d in self.durations),
            tasks=tuple(i for i in self.intervals if i.task is not None),
            owed_workers=owed_workers,
            tolerance=self.tolerance,
            stagger=STAGGER * self.calibration.startup,
            launch=self.calibration.launch,
            starts=self.starts,
            origin=self.origin,
            held_back=self.held_back,
            unit=self.unit,
            single_use=self.pattern in PROCESS_PATTERNS,
            vouched=self.vouched,
        )
