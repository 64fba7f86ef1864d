"""A timeline of recorded intervals, and the structural checks that need no clock bound.

Overlap owed is judged with no slack: a serial chain's next task starts only after the previous
one recorded its end (a join or a result stands between them), so clock noise cannot fake
overlap. Limits (at most so many at once, a rate, an order) allow the calibrated tolerance,
since a correct limiter's calls can touch, or come that close, by noise alone (see
:mod:`.limits`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

from . import limits
from .judge import Kind, Verdict
from .model import peak_concurrency
from .picture import lanes, message_width, render
from .records import CheckRecord, RunRecord, interval_record
from .sink import Interval, Sink
from .verdict import settle

__all__ = ["Timeline", "chain_lower_bound", "peak", "processes", "threads"]


def peak(intervals: Sequence[Interval]) -> int:
    return peak_concurrency([(i.start, i.end) for i in intervals])


def processes(intervals: Sequence[Interval]) -> list[int]:
    """Pids that ran tasks, in the order they first started one."""
    seen: dict[int, None] = {}
    for interval in sorted(intervals, key=lambda i: i.start):
        seen.setdefault(interval.pid, None)
    return list(seen)


def threads(intervals: Sequence[Interval]) -> list[tuple[int, int]]:
    """(pid, thread id) pairs that ran tasks, in the order they first started one."""
    seen: dict[tuple[int, int], None] = {}
    for interval in sorted(intervals, key=lambda i: i.start):
        seen.setdefault((interval.pid, interval.tid), None)
    return list(seen)


def _auto_tolerance() -> float:
    """The tolerance a run at the default unit and start method gets."""
    from .bounds import auto_tolerance
    from .calibrate import measured
    from .lesson import DEFAULT_UNIT, default_start_method

    return auto_tolerance(measured(default_start_method()), DEFAULT_UNIT)


def chain_lower_bound(intervals: Sequence[Interval]) -> float:
    """The longest any one thread of control must have taken: the sum of what it slept.

    A physical lower bound on wall time, since one thread's sleeps cannot overlap.
    """
    per_thread: dict[tuple[int, int], float] = {}
    for i in intervals:
        per_thread[(i.pid, i.tid)] = per_thread.get((i.pid, i.tid), 0.0) + i.seconds
    return max(per_thread.values(), default=0.0)


class Timeline:
    """The intervals recorded into one sink: by probes in a test, or by a pattern's tasks."""

    def __init__(self, sink: Sink, main_pid: int | None = None,
                 tolerance: float | Callable[[], float] | None = None) -> None:
        """``tolerance`` is seconds, or what gives them when a limit is first judged (a bench
        calibrates then, not before); by default a run's at the default unit."""
        self.sink = sink
        self.main_pid = os.getpid() if main_pid is None else main_pid
        self.checks: list[CheckRecord] = []
        self._tolerance = tolerance

    @property
    def tolerance(self) -> float:
        """Seconds within which two stamps may come in either order, or calls only touch."""
        given = self._tolerance
        if given is None:
            return _auto_tolerance()
        return float(given() if callable(given) else given)

    @property
    def intervals(self) -> list[Interval]:
        return self.sink.read()

    @property
    def peak(self) -> int:
        return peak(self.intervals)

    @property
    def processes(self) -> list[int]:
        return processes(self.intervals)

    @property
    def threads(self) -> list[tuple[int, int]]:
        """(pid, thread id) of each thread that made calls: a lane of its own in pictures."""
        return threads(self.intervals)

    def clear(self) -> None:
        self.sink.clear()
        self.checks.clear()

    def to_record(self) -> RunRecord:
        """A JSON-ready account of the timeline; times are seconds after its first start."""
        intervals = self.intervals
        origin = min((i.start for i in intervals), default=0.0)
        return {
            "pattern": "probe",
            # Lanes: threads, and coroutines overlapping in one, where the calls ran.
            "workers": len(lanes(intervals, self.main_pid, by_thread=True)),
            "peak": peak(intervals),
            "wall": max((i.end for i in intervals), default=origin) - origin,
            "expected_wall": None,
            "main_pid": self.main_pid,
            "checks": list(self.checks),
            "intervals": [interval_record(i, origin) for i in intervals],
        }

    def picture(self, width: int | None = None, expected: float | None = None) -> str:
        return render(self.intervals, width=message_width() if width is None else width,
                      main_pid=self.main_pid, expected=expected, by_thread=True)

    def _described(self, intervals: Sequence[Interval]) -> str:
        if not intervals:
            return limits.EMPTY_HINT
        pids, lanes = len(processes(intervals)), len(threads(intervals))
        where = (f"{pids} process(es)" if lanes == pids
                 else f"{lanes} thread(s) of {pids} process(es)")
        return f"{len(intervals)} interval(s) in {where}, peak concurrency {peak(intervals)}"

    def _settle(self, verdict: Verdict, picture: str) -> None:
        __tracebackhide__ = True
        settle(self.checks, verdict, picture)

    def assert_serial(self) -> None:
        """No two recorded intervals overlapped."""
        __tracebackhide__ = True
        intervals = self.intervals
        if not intervals:
            verdict = Verdict("overlap", Kind.FAIL, "nothing was recorded",
                              "at least one interval", "none")
        elif peak(intervals) > 1:
            verdict = Verdict(
                "overlap", Kind.FAIL,
                "the recorded calls overlapped; they were meant to run one at a time",
                "peak concurrency 1 (no two intervals overlap)", self._described(intervals))
        else:
            verdict = Verdict("overlap", Kind.PASS)
        self._settle(verdict, self.picture() if intervals else "")

    def assert_parallel(self, n: int | None = None) -> None:
        """At some instant at least ``n`` recorded intervals were open (2 when not given).

        Where they were not, but would have been had every process that made calls been ready
        the moment it was created, the machine's start-up kept the calls apart, not the code:
        that is :class:`SleepbenchInconclusive`, naming the start-up and a probe length that
        would show it.
        """
        __tracebackhide__ = True
        want = 2 if n is None else n
        if want < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self._settle(self._parallel(self.intervals, want, f"peak concurrency at least {want}"),
                     self.picture())

    def assert_at_most(self, n: int) -> None:
        """At no instant were more than ``n`` recorded calls open; calls that overlap by no
        more than the tolerance only touched."""
        __tracebackhide__ = True
        self._limit(limits.at_most(self.intervals, n, self.tolerance))

    def assert_peak(self, n: int) -> None:
        """Exactly ``n`` recorded calls were open at the busiest instant: no more than ``n``
        as :meth:`assert_at_most` counts, at least ``n`` as :meth:`assert_parallel` does, so
        an overlap within the tolerance may count either way."""
        __tracebackhide__ = True
        intervals = self.intervals
        expected = f"peak concurrency exactly {n}"
        verdict = limits.at_most(intervals, n, self.tolerance)
        if verdict.kind is Kind.PASS:
            verdict = self._parallel(intervals, n, expected)
        else:
            verdict = dataclasses.replace(
                verdict, expected=verdict.expected.replace(f"at most {n}", f"exactly {n}"))
        self._limit(verdict)

    def assert_rate(self, calls: int, period: float) -> None:
        """No more than ``calls`` recorded calls started in any ``period`` seconds, a start
        allowed to seem the tolerance early."""
        __tracebackhide__ = True
        self._limit(limits.rate(self.intervals, calls, period, self.tolerance))

    def assert_order(self, labels: Sequence[str], by: limits.Edge = "start") -> None:
        """The calls labelled ``labels`` ran once each and started (``by="end"``: ended) in
        that order; ones within the tolerance of each other may swap."""
        __tracebackhide__ = True
        self._limit(limits.order(self.intervals, labels, by, self.tolerance))

    def _limit(self, verdict: Verdict) -> None:
        __tracebackhide__ = True
        self._settle(verdict, self.picture() if self.intervals else "")

    def _parallel(self, intervals: Sequence[Interval], want: int, expected: str) -> Verdict:
        if peak(intervals) >= want:
            return Verdict("overlap", Kind.PASS)
        title = f"the recorded calls did not run {want} at a time"
        observed = self._described(intervals)
        spent, slowest = self._excused(intervals)
        lost = _launcher_lost(intervals)
        queued = max((i.waited + lost.get(id(i), 0.0) for i in intervals), default=0.0)
        excuse = max([*spent.values(), queued], default=0.0)
        # Calls longer than twice the whole excuse would have overlapped whatever the machine
        # did: then the code kept them apart (a lock, one call at a time).
        shortest = min((i.end - i.start for i in intervals), default=0.0)
        if not (excuse and shortest <= 2 * excuse
                and peak(_as_if_ready(intervals, spent, lost)) >= want):
            return Verdict("overlap", Kind.FAIL, title, expected, observed)
        if queued > max(spent.values(), default=0.0):
            why = (f"the threads that made them waited up to {queued * 1000:.0f} ms for a "
                   "core (the machine was that busy)")
            had = "had each thread had a core when it was ready"
        else:
            why = f"the machine took up to {slowest * 1000:.0f} ms to start the processes " \
                  "that made them"
            had = "had each process been ready as soon as it was launched"
        return Verdict(
            "overlap", Kind.UNSHOWN, f"{title}, but {why}", expected,
            f"{observed}; {had}, they would have overlapped: calls longer than "
            f"{2 * excuse:.3f}s (or the fork start method) would show it")

    def _excused(self, intervals: Sequence[Interval]) -> tuple[dict[int, float], float]:
        """How much earlier each process's calls could have run had starting processes been
        free, by pid, and the slowest start-up.

        A process spends its start-up (born to ready) on the machine, and on a loaded machine
        about as long again before its first call gets a core: up to twice its start-up, until
        its first call began, is excused. One created before any call had ended was launched
        in the same burst as the first, so what its parent spent launching the others is the
        machine's too; one created after a call ended may have waited for it: the code's.
        """
        stamps = {pid: (born, ready) for pid, (born, ready) in self.sink.readiness().items()
                  if born is not None and pid != self.main_pid}
        if not stamps or not intervals:
            return {}, 0.0
        first_end = min(i.end for i in intervals)
        earliest = min(born for born, _ in stamps.values())
        first_call = {i.pid: i.start for i in sorted(intervals, key=lambda i: -i.start)}
        spent = {pid: max(ready - born, 0.0) for pid, (born, ready) in stamps.items()}
        excused = {
            pid: min(first_call.get(pid, ready) - born, 2 * spent[pid])
            + (born - earliest if born <= first_end else 0.0)
            for pid, (born, ready) in stamps.items()}
        return excused, max(spent.values())


def _launcher_lost(intervals: Sequence[Interval]) -> dict[int, float]:
    """For each call in a thread (by ``id``), how long its process's main thread, which
    launches such calls, waited for a core between the first such call's start and its own."""
    first: dict[int, float] = {}
    for i in intervals:
        if i.launcher > 0:
            first[i.pid] = min(first.get(i.pid, i.launcher), i.launcher)
    return {id(i): i.launcher - first[i.pid] for i in intervals if i.launcher > 0}


def _as_if_ready(intervals: Sequence[Interval], spent: dict[int, float],
                 lost: dict[int, float]) -> list[Interval]:
    """The intervals as they would have been with the machine free: each process's moved
    earlier by what the machine spent before it could run, each call in a thread by what its
    thread, and the main thread launching it, waited for a core."""
    def early(i: Interval) -> float:
        return spent.get(i.pid, 0.0) + i.waited + lost.get(id(i), 0.0)

    return [dataclasses.replace(i, start=i.start - early(i), end=i.end - early(i))
            for i in intervals]
