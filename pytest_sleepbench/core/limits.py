"""The limits a timeline's calls keep: how many ran at once, how many started in a window, and
in what order they started or ended.

Rules like the judge's: recorded intervals and a tolerance in, a :class:`Verdict` out, nothing
run or measured here, so each is tested exactly on intervals written down by hand. The
tolerance is the calibrated jitter of one scheduling event: any stamp may be that late. So two
calls that overlap by no more than it may only have touched, a start may seem that much early
against the one before it, and two starts or ends that close may have come in either order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from .judge import Kind, Verdict, passed
from .model import peak_concurrency
from .sink import Interval

__all__ = ["Edge", "at_most", "certain_peak", "order", "rate"]

Edge = Literal["start", "end"]

# Calls named in a message at most: a flooded window says how many, and shows the first few.
_SHOWN = 8


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


#: What an empty timeline's message adds: the usual reason a probe the code did call records
#: nothing is that the code never called this one.
EMPTY_HINT = (
    "no calls; if the code runs the probe in processes started with spawn or forkserver "
    "(the default outside Linux), a probe monkeypatched into a module is not there: each such "
    "child imports the module afresh. Hand the probe to the code instead (an argument, a "
    "pool's initializer or initargs), or use the fork start method")


def _nothing(check: str, expected: str) -> Verdict:
    return Verdict(check, Kind.FAIL, "nothing was recorded", expected, EMPTY_HINT)


def _at(intervals: Sequence[Interval], origin: float, edge: Edge = "start") -> str:
    shown = [f"{i.label or '(no label)'} (at {(getattr(i, edge) - origin) * 1000:.0f} ms)"
             for i in intervals[:_SHOWN]]
    more = len(intervals) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _crowd(intervals: Sequence[Interval], tolerance: float) -> list[Interval]:
    """The calls open together at the busiest instant, counting only overlaps longer than the
    tolerance."""
    # Ending each call a tolerance early drops exactly the overlaps no longer than it.
    events = sorted(
        [(i.start, 1, k) for k, i in enumerate(intervals) if i.end - tolerance > i.start]
        + [(i.end - tolerance, -1, k) for k, i in enumerate(intervals)
           if i.end - tolerance > i.start])
    now_open: set[int] = set()
    best: list[int] = []
    for _, delta, k in events:
        if delta < 0:
            now_open.discard(k)
            continue
        now_open.add(k)
        if len(now_open) > len(best):
            best = sorted(now_open)
    return [intervals[k] for k in best]


def certain_peak(intervals: Sequence[Interval], tolerance: float) -> int:
    """The most calls open at one instant, where calls overlapping by no more than the
    tolerance only touched."""
    return max(len(_crowd(intervals, tolerance)), 1 if intervals else 0)


def at_most(intervals: Sequence[Interval], n: int, tolerance: float) -> Verdict:
    """No more than ``n`` calls overlapped by more than the tolerance. Calls no longer than it
    can overlap by no more than it whatever happened: where only those put more than ``n``
    open at once, the claim cannot be shown (not passed)."""
    _count(n, "n")
    expected = (f"peak concurrency at most {n} (calls overlapping by {_ms(tolerance)} or less "
                "only touch)")
    if not intervals:
        return _nothing("overlap", expected)
    origin = min(i.start for i in intervals)
    crowd = _crowd(intervals, tolerance)
    if len(crowd) > n:
        return Verdict("overlap", Kind.FAIL, f"more than {n} of the recorded calls ran at a time",
                       expected, f"{len(crowd)} calls open at once, started: "
                       f"{_at(crowd, origin)}")
    strict = peak_concurrency([(i.start, i.end) for i in intervals])
    spans = [(i.start, i.end - tolerance if i.elapsed > tolerance else i.end)
             for i in intervals]
    if strict > n and peak_concurrency(spans) > n:
        shortest = min(i.elapsed for i in intervals)
        return Verdict(
            "overlap", Kind.UNSHOWN,
            f"calls as short as the tolerance cannot show whether more than {n} ran at a time",
            expected, f"peak concurrency {strict} counting every overlap, "
            f"{certain_peak(intervals, tolerance)} counting overlaps longer than "
            f"{_ms(tolerance)}; the shortest call lasted {_ms(shortest)}: calls longer than "
            f"{2 * tolerance:.3f}s would show it")
    return passed("overlap")


def rate(intervals: Sequence[Interval], calls: int, period: float, tolerance: float) -> Verdict:
    """No more than ``calls`` calls started in any window of ``period`` seconds."""
    _count(calls, "calls")
    if isinstance(period, bool) or not isinstance(period, int | float) or not (
            math.isfinite(period) and period > 0):
        raise ValueError(f"period must be a positive, finite number of seconds, got {period!r}")
    expected = (f"at most {calls} call(s) started in any {period:.3f}s (a start may seem "
                f"{_ms(tolerance)} early)")
    if not intervals:
        return _nothing("rate", expected)
    # A limiter admits a call and its start is stamped up to a tolerance later, so the k-th
    # start may be that late while the (k+calls)-th is not: only starts closer than
    # period - tolerance prove a limit broken.
    window = period - tolerance
    if window <= 0:
        return Verdict("rate", Kind.UNSHOWN,
                       "a period no longer than the tolerance cannot show a rate",
                       expected, f"the tolerance is {_ms(tolerance)}: periods longer than "
                       f"{2 * tolerance:.3f}s would show it")
    starts = sorted(intervals, key=lambda i: i.start)
    first, last, k = 0, 0, 0
    for j, interval in enumerate(starts):
        while interval.start - starts[k].start >= window:
            k += 1
        if j - k > last - first:
            first, last = k, j
    crowd = starts[first:last + 1]
    if len(crowd) <= calls:
        return passed("rate")
    return Verdict("rate", Kind.FAIL, f"more than {calls} call(s) started within {period:.3f}s",
                   expected, f"{len(crowd)} calls started within "
                   f"{(crowd[-1].start - crowd[0].start) * 1000:.0f} ms: "
                   f"{_at(crowd, starts[0].start)}")


def order(intervals: Sequence[Interval], labels: Sequence[str], by: Edge,
          tolerance: float) -> Verdict:
    """The calls labelled ``labels`` each ran once, and each started (or ended) no later than
    a tolerance after every call listed after it; calls with other labels are not judged."""
    if by not in ("start", "end"):
        raise ValueError(f"by must be 'start' or 'end', got {by!r}")
    wanted = list(labels)
    if isinstance(labels, str) or not wanted:
        raise ValueError(f"labels must be a non-empty sequence of labels, got {labels!r}")
    for label in wanted:
        if not isinstance(label, str):
            raise TypeError(f"labels are strings, as the calls recorded them; got {label!r}")
    if len(set(wanted)) < len(wanted):
        raise ValueError(f"each label can be listed once, got {', '.join(wanted)}")
    found: dict[str, list[Interval]] = {}
    for interval in intervals:
        if interval.label in wanted:
            found.setdefault(interval.label, []).append(interval)
    wrong = [f"{len(found.get(label, [])) or 'no'} calls labelled {label}" for label in wanted
             if len(found.get(label, [])) != 1]
    if wrong:
        return Verdict("order", Kind.FAIL, "the calls named were not each recorded once",
                       f"one call labelled each of: {', '.join(wanted)}", "; ".join(wrong))
    at = {label: getattr(found[label][0], by) for label in wanted}
    # Every pair, not only neighbours: ties chained a tolerance apart must not add up to a
    # swap of many tolerances.
    earliest_after = wanted[-1]
    late: tuple[str, str] | None = None
    for label in reversed(wanted[:-1]):
        if at[label] > at[earliest_after] + tolerance:
            late = (label, earliest_after)
        if at[label] < at[earliest_after]:
            earliest_after = label
    if late is None:
        return passed("order")
    label, before = late
    seen = sorted(wanted, key=at.__getitem__)
    return Verdict(
        "order", Kind.FAIL, f"the calls did not {by} in the order given",
        f"{', '.join(wanted)} ({by}s within {_ms(tolerance)} of each other may swap)",
        f"{', '.join(seen)} ({label} {by}ed {at[label] - at[before]:.3f}s after {before}, "
        "which was listed after it)")
