"""Plain records read back: a run's, a probe timeline's or a graded exercise's record (JSON
fields) as intervals, bar names and its text picture, forgiving of fields that are missing or
malformed, since a record may come from an older report or from student code."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..core.model import list_schedule
from ..core.picture import render
from ..core.sink import Interval

__all__ = ["Record", "by_lane", "number", "record_intervals", "record_main_pid",
           "record_names", "record_picture", "records", "with_model"]

Record = Mapping[str, object]


def number(value: object) -> float | None:
    """A finite float from a record field, or ``None`` when it is absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = float(value)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def record_intervals(record: Record) -> list[Interval]:
    """The record's intervals; entries that are not well-formed are skipped, not fatal."""
    raw = record.get("intervals")
    out: list[Interval] = []
    if not isinstance(raw, Sequence):
        return out
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        try:
            out.append(Interval.from_dict(dict(item)))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def record_names(record: Record) -> dict[int, str]:
    """Task index to its duration in tutorial seconds, the name a bar carries."""
    durations = record.get("durations")
    if not isinstance(durations, Sequence) or isinstance(durations, str):
        return {}
    names: dict[int, str] = {}
    for k, d in enumerate(durations):
        value = number(d)
        if value is not None:
            names[k] = f"{value:g}"
    return names


def record_main_pid(record: Record) -> int | None:
    """The record's main process, whose row is drawn apart."""
    pid = number(record.get("main_pid"))
    return None if pid is None else int(pid)


def record_picture(record: Record, width: int = 80) -> str:
    """The text timeline of a record, in ``width`` columns; times are relative to its start."""
    return render(
        record_intervals(record),
        width=width,
        main_pid=record_main_pid(record),
        origin=0.0,
        expected=number(record.get("expected_wall")),
        names=record_names(record),
        span=number(record.get("wall")),
        by_thread=by_lane(record),
    )


def by_lane(record: Record) -> bool:
    """Whether the record's rows are lanes (a row per thread and per overlapping coroutine),
    as for probe timelines, rather than a row per process, as for runs and graded scripts."""
    return record.get("pattern") == "probe"


def records(value: object) -> list[Record]:
    """The mappings in a record's list field; anything else in it is left out."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def with_model(exercise: Record, assignment: Record) -> Record:
    """A graded exercise with the model's makespan, if the grade does not carry one.

    The same model as the grader's: the assignment's durations in its unit (or, where the
    exercise takes ``sleeps = "any"`` and the script ran at least as many tasks, what its
    sleeps lasted, in the order they began), list-scheduled over the workers the script
    really used (one for ``serial``).
    """
    if exercise.get("expected_wall") is not None:
        return exercise
    unit = number(assignment.get("unit"))
    workers = number(exercise.get("workers"))
    spec = next((e for e in records(assignment.get("exercises"))
                 if str(e.get("id")) == str(exercise.get("id"))), None)
    durations = spec.get("durations") if spec is not None else None
    if (unit is None or workers is None or workers < 1 or isinstance(durations, str)
            or not isinstance(durations, Sequence)):
        return exercise
    seconds = [d * unit for d in (number(x) for x in durations) if d is not None and d >= 0]
    slept = [i.seconds for i in sorted(record_intervals(exercise), key=lambda i: i.start)]
    if spec is not None and spec.get("sleeps") == "any" and len(slept) >= len(seconds) > 0:
        seconds = slept
        durations = [round(s / unit, 9) for s in slept]
    if not seconds:
        return exercise
    width = 1 if exercise.get("pattern") == "serial" else int(workers)
    makespan = list_schedule(seconds, width).makespan
    return {**exercise, "expected_wall": makespan, "durations": list(durations), "unit": unit}
