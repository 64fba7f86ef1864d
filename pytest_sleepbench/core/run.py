"""One run of a pattern and the assertions a user makes about it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import judge
from . import timeline as tl
from .bounds import Bounds, auto_tolerance, wall_bounds
from .calibrate import Calibration, forget, measured, shape_overhead
from .judge import STAGGER, Kind, Measurement, Verdict
from .lesson import DEFAULT_DURATIONS, POOL_PATTERNS, PROCESS_PATTERNS, default_start_method
from .model import Schedule, list_schedule
from .patterns import check_arguments, execute
from .picture import message_width, render
from .sink import Interval, Sink
from .verdict import settle

__all__ = ["Run", "run_pattern"]


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
    again: Callable[[float, bool], Run] | None = field(default=None, repr=False)
    """Runs the same pattern once more at a unit, with a fresh calibration or not."""
    checks: list[dict[str, str]] = field(default_factory=list)
    """Every assertion made on this run, in order, with its verdict."""
    asked: list[Callable[[Run], Verdict]] = field(default_factory=list, repr=False)
    """The rules judged so far, to judge again if the run is measured once more."""

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
            "intervals": [
                {**i.to_dict(), "start": i.start - self.origin, "end": i.end - self.origin}
                for i in self.intervals
            ],
        }

    def label(self, task: int) -> str:
        return f"{self.durations[task]:g}"

    # -- assertions: each settles one rule under one of the check names ---------------------

    def assert_serial(self) -> None:
        """No two tasks overlapped, and the wall time is the sum, within the bounds."""
        __tracebackhide__ = True
        self._claim(_serial)
        self.assert_timing()

    def assert_parallel(self) -> None:
        """Tasks ran in several processes, overlapped as the schedule over the workers asked
        for predicts, and the wall time is the makespan.

        When the processes became ready too late to overlap at this unit, the run is measured
        again at a larger one; if no unit within the budget shows it,
        :class:`SleepbenchInconclusive` is raised, never an assertion.
        """
        __tracebackhide__ = True
        if len(self.durations) < 2:
            raise ValueError("assert_parallel needs at least two tasks")
        self._claim(_parallel)
        self.assert_timing()

    def assert_overlap(self) -> None:
        """Tasks overlapped as the schedule over the workers the run really had predicts.

        Unlike :meth:`assert_parallel`, a pool whose second worker booted only after the first
        had done all the work passes: with one worker, the model expects no overlap.
        """
        __tracebackhide__ = True
        self._claim(_overlap)

    def assert_timing(self) -> None:
        """The wall time lies within the model's bounds (see the noise policy)."""
        __tracebackhide__ = True
        self._claim(_timing)

    def assert_complete(self) -> None:
        """Every task ran to its end, once, and every ``Process`` exited cleanly."""
        __tracebackhide__ = True
        self._claim(_complete)

    def assert_uses_processes(self) -> None:
        """``serial`` ran every task in the main process; the others none of them."""
        __tracebackhide__ = True
        self._claim(_uses_processes)

    def assert_input_order(self) -> None:
        """Results came back in the order the inputs were given (``map``'s promise)."""
        __tracebackhide__ = True
        self._claim(_input_order)

    def assert_completion_order(self) -> None:
        """Results came back in the order their tasks finished (``as_completed``'s promise),
        within the tolerance."""
        __tracebackhide__ = True
        self._claim(_completion_order)

    def assert_fastest_first(self) -> None:
        """Results came back shortest first, which needs a worker for every task."""
        __tracebackhide__ = True
        self._claim(_fastest_first)

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

    # -- the one retry step ------------------------------------------------------------------

    def _claim(self, rule: Rule) -> None:
        """Judge ``rule``; measure again where its verdict allows (a late wall once, with a
        fresh calibration; a property the machine could not show, at a larger unit); record
        the verdict and raise what it calls for."""
        __tracebackhide__ = True
        verdict = rule(self)
        while True:
            if verdict.kind is Kind.LATE and not self.retried_late and self.again:
                self.retried_late = True
                self._measure_again(self.unit, fresh=True)
            elif verdict.kind is Kind.UNSHOWN and (unit := self._larger_unit(verdict)):
                self._measure_again(unit, fresh=False)
            else:
                break
            verdict = rule(self)
        if verdict.kind is Kind.LATE and self.retried_late:
            # Late twice, calibrated afresh in between: the patterns are this package's own
            # code, so only the machine's load can have slowed them; that shows nothing.
            verdict = dataclasses.replace(verdict, kind=Kind.UNSHOWN, title=(
                f"{verdict.title}, twice: the machine was too busy to show the run's timing"))
        if verdict.kind is Kind.UNSHOWN and verdict.needs_unit:
            verdict = dataclasses.replace(verdict, observed=(
                f"{verdict.observed}; a unit of at least {verdict.needs_unit:.3g}s would show "
                f"it, past this run's budget of {_UNIT_BUDGET:g} times the unit asked for"))
        self.asked.append(rule)
        self._record(verdict)

    def _record(self, verdict: Verdict) -> None:
        __tracebackhide__ = True
        settle(self.checks, verdict, self.picture(), context=f"run: {self.describe()}")

    def _larger_unit(self, verdict: Verdict) -> float | None:
        """The next unit to try, doubling at least, within the budget; ``None`` past it."""
        if self.again is None or len(self.earlier_units) >= _SCALINGS:
            return None
        base = self.earlier_units[0] if self.earlier_units else self.unit
        unit = self.unit * 2
        while unit < (verdict.needs_unit or 0.0):
            unit *= 2
        return unit if unit <= base * _UNIT_BUDGET else None

    def _measure_again(self, unit: float, *, fresh: bool) -> None:
        """Adopt a new measurement of the same pattern and judge every earlier claim on it, so
        that all recorded verdicts describe one measurement."""
        __tracebackhide__ = True
        assert self.again is not None
        other = self.again(unit, fresh)
        if unit == self.unit:
            self.earlier_walls = (*self.earlier_walls, self.wall)
        else:
            self.earlier_units = (*self.earlier_units, self.unit)
        for name in _MEASURED:
            setattr(self, name, getattr(other, name))
        self.checks.clear()
        for rule in self.asked:
            verdict = rule(self)
            if verdict.kind is Kind.LATE:
                # Judged again only because another claim asked for this measurement: its
                # lateness earned no retry of its own, so it shows nothing either way.
                verdict = dataclasses.replace(verdict, kind=Kind.UNSHOWN, title=(
                    f"{verdict.title} on a measurement made for another claim"))
            self._record(verdict)

    # -- the measurement the judge reads ------------------------------------------------------

    def measurement(self, owed_workers: int) -> Measurement:
        """This run as the judge reads it, owing ``owed_workers`` workers."""
        return Measurement(
            durations=tuple(d * self.unit for d in self.durations),
            tasks=tuple(i for i in self.intervals if i.task is not None),
            owed_workers=owed_workers,
            tolerance=self.tolerance,
            stagger=STAGGER * self.calibration.startup,
            starts=self.starts,
            origin=self.origin,
            held_back=self.held_back,
            unit=self.unit,
            single_use=self.pattern in PROCESS_PATTERNS,
            vouched=self.vouched,
        )


Rule = Callable[[Run], Verdict]

# What a new measurement replaces; the rest (pattern, durations, settings) stays the run's.
_MEASURED = ("unit", "wall", "origin", "intervals", "delivered", "exitcodes",
             "processes_started", "overhead", "calibration", "starts", "tolerance",
             "held_back")
# A property the machine could not show is tried at larger units, up to this many times the
# unit asked for and this many times in all, before it is called inconclusive.
_UNIT_BUDGET = 16.0
_SCALINGS = 3
# How many calibrated start-ups a run's processes may take to start, on average, before the
# calibration is measured afresh for the next run.
_STALE = 4.0


def _serial(run: Run) -> Verdict:
    return judge.serial(run.measurement(1))


def _parallel(run: Run) -> Verdict:
    return judge.parallel(run.measurement(run.owed_workers))


def _overlap(run: Run) -> Verdict:
    if run.pattern == "serial" or run.workers == 1:
        return judge.serial(run.measurement(1))
    return judge.overlap(run.measurement(run.workers))


def _timing(run: Run) -> Verdict:
    b = run.bounds
    if run.wall < b.lower:
        expected = f"at least {b.lower:.3f}s"
    else:
        expected = (f"at most {b.upper:.3f}s (model {b.ideal:.3f}s plus calibrated start-up "
                    "and jitter)")
    return judge.wall(run.wall, b.lower, b.upper, expected=expected,
                      observed=f"{run.wall:.3f}s")


def _complete(run: Run) -> Verdict:
    n = len(run.durations)
    tasks = sorted(i.task for i in run.intervals if i.task is not None)
    if tasks != list(range(n)):
        missing = sorted(set(range(n)) - set(tasks))
        return Verdict("runs", Kind.FAIL, "not every task ran to its end once",
                       f"tasks {list(range(n))} each recorded once",
                       f"recorded {tasks}" + (f", missing {missing}" if missing else ""))
    bad = [(k, code) for k, code in enumerate(run.exitcodes) if code != 0]
    if bad:
        return Verdict("runs", Kind.FAIL, "a process did not exit cleanly", "every exit code 0",
                       ", ".join(f"task {k} exited with {code}" for k, code in bad))
    return judge.passed("runs")


def _uses_processes(run: Run) -> Verdict:
    in_main = [i for i in run.intervals if i.pid == run.main_pid]
    if run.pattern == "serial" and len(in_main) < len(run.intervals):
        return Verdict("uses_processes", Kind.FAIL, "serial tasks ran outside the main process",
                       "every task in the main process",
                       f"{len(run.intervals) - len(in_main)} task(s) in other processes")
    if run.pattern != "serial" and in_main:
        return Verdict("uses_processes", Kind.FAIL, "tasks ran in the main process",
                       "every task in a child process",
                       f"{len(in_main)} task(s) in the main process")
    return judge.passed("uses_processes")


def _input_order(run: Run) -> Verdict:
    return judge.input_order(run.delivered, len(run.durations), run.label)


def _completion_order(run: Run) -> Verdict:
    model = (f"the model, with {run.workers} worker(s): "
             + run.schedule.describe_order(run.tolerance, list(run.names().values())))
    return judge.completion_order(run.finishes(), run.delivered, run.tolerance, run.label,
                                  model)


def _fastest_first(run: Run) -> Verdict:
    n = len(run.durations)
    names = list(run.names().values())
    # Judged on the workers asked for: one that a busy machine started too late to take a
    # task is the judge's to weigh from readiness, not a reason to fail.
    if run.owed_workers < n:
        fastest = sorted(range(n), key=lambda i: (run.durations[i], i))
        return Verdict(
            "order", Kind.FAIL, "fastest-first cannot hold with fewer workers than tasks",
            f"{n} workers for {n} tasks, results in order {', '.join(map(run.label, fastest))}",
            f"{run.owed_workers} worker(s); the model expects "
            f"{run.schedule.describe_order(run.tolerance, names)}")
    return judge.fastest_first(run.measurement(n), run.delivered, run.label)


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
                           xdist_workers=xdist_workers, fresh_calibration=fresh)

    raw = execute(pattern, durs, unit, sink, workers=workers, start_method=method)
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
        vouched=True,
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
