"""Plain records read back: a run's, a probe timeline's or a graded exercise's record (JSON
fields) as intervals, bar names and its text picture, forgiving of fields that are missing or
malformed, since a record may come from an older report or from student code."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..core.picture import render
from ..core.sink import Interval

__all__ = ["Record", "by_lane", "number", "record_intervals", "record_main_pid",
           "record_names", "record_picture"]

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
