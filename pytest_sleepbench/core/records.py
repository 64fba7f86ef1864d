"""The JSON boundary of a test's measurements: what a run, a probe timeline or a wall marker
hands the reports, typed once here instead of read back field by field with casts.

Reports read records from JSON they did not write too (an older report, a grader's), so the
drawing side stays forgiving (``report.records``); these types are what this package writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from .sink import Interval

__all__ = ["CheckRecord", "IntervalRecord", "RunRecord", "interval_record"]


class CheckRecord(TypedDict):
    """One assertion and its verdict: ``pass``, ``fail``, ``inconclusive`` (or ``skip``)."""

    name: str
    status: str
    message: str


class IntervalRecord(TypedDict, total=False):
    """An :class:`~.sink.Interval`, its times in seconds after the record's start."""

    task: int | None
    seconds: float
    pid: int
    start: float
    end: float
    tid: int
    ppid: int
    label: str
    waited: float
    launcher: float


class RunRecord(TypedDict, total=False):
    """A run's, a probe timeline's or a wall marker's account. ``pattern`` is the pattern, or
    ``probe`` or ``wall``; ``workers`` counts processes for a run, lanes for a timeline, and is
    ``-`` for a wall marker. The plugin adds ``nodeid``, ``outcome`` and ``title``."""

    pattern: str
    durations: list[float]
    unit: float
    start_method: str
    workers: int | str
    requested_workers: int
    peak: int
    wall: float
    earlier_walls: list[float]
    earlier_units: list[float]
    expected_wall: float | None
    lower: float
    upper: float
    tolerance: float
    calibration: str
    processes_started: int
    overhead: float | None
    results: list[float]
    checks: list[CheckRecord]
    main_pid: int | None
    intervals: list[IntervalRecord]
    nodeid: str
    outcome: str
    title: str


def interval_record(interval: Interval, origin: float) -> IntervalRecord:
    """``interval`` for a record whose times count from ``origin``."""
    return {"task": interval.task, "seconds": interval.seconds, "pid": interval.pid,
            "start": interval.start - origin, "end": interval.end - origin,
            "tid": interval.tid, "ppid": interval.ppid, "label": interval.label,
            "waited": interval.waited, "launcher": interval.launcher}
