"""Timelines as SVG: a row per process, a rectangle per recorded interval, the expected makespan.

Input is a plain record (``Run.to_record()``, a probe timeline's record, or a graded exercise),
so the same drawing serves test runs and gradebooks. Every string that reaches the markup is
escaped: labels and messages can come from student code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from html import escape

from ..core.i18n import _
from ..core.picture import lanes
from ..core.sink import Interval
from .records import Record, by_lane, number, record_intervals, record_main_pid, record_names

__all__ = ["timeline_svg"]

WIDTH = 760
LABEL = 128
RIGHT = 20
ROW = 22
BAR = 15
TOP = 18
AXIS = 34

# Colour by task, so the same task reads the same in every row; eight hues that stay apart in
# print and for the common colour-vision deficiencies.
PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bb5566", "#999933")


def _step(total: float) -> float:
    """A tick step of 1, 2 or 5 times a power of ten, giving four to ten ticks."""
    raw = total / 5
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def _seconds(value: float, total: float) -> str:
    return f"{value * 1000:.0f} ms" if total < 1 else f"{value:.2f} s"


def _anchor(at: float, width: int) -> str:
    """Keep a label near either edge inside the picture."""
    if at > width - 70:
        return "end"
    return "start" if at < LABEL + 40 else "middle"


def _f(x: float) -> str:
    return f"{x:.1f}"


def timeline_svg(record: Record, *, width: int = WIDTH) -> str:
    """An inline ``<svg>`` of the record's timeline (no XML namespace URL: HTML supplies it)."""
    intervals = record_intervals(record)
    if not intervals:
        return '<p class="empty">' + _words(_("No intervals were recorded.")) + "</p>"
    main_pid = record_main_pid(record)
    names = record_names(record)
    rows = lanes(intervals, main_pid, by_thread=by_lane(record))
    # A graded script's sleeps carry no task index (a Process task cannot say which it is),
    # so those name themselves by their place in the order the sleeps started.
    by_start = sorted(range(len(intervals)), key=lambda k: intervals[k].start)
    ordinal = {id(intervals[k]): (n, len(intervals)) for n, k in enumerate(by_start, 1)}
    expected = number(record.get("expected_wall"))
    wall = number(record.get("wall"))
    lower, upper = number(record.get("lower")), number(record.get("upper"))
    finish = max(i.end for i in intervals)
    total = max(finish, expected or 0.0, wall or 0.0, 1e-6)
    plot = width - LABEL - RIGHT
    height = TOP + ROW * len(rows) + AXIS

    def x(t: float) -> float:
        return LABEL + max(0.0, min(t, total)) / total * plot

    bottom = TOP + ROW * len(rows)
    label = _("timeline: {intervals} intervals in {rows} rows").format(
        intervals=len(intervals), rows=len(rows))
    out = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">'
    ]
    for n, row in enumerate(rows):
        y = TOP + n * ROW
        # The same row names as the text picture, so a failure message and the drawing agree.
        name = row.label
        out.append(f'<g class="row" data-pid="{row.pid}">')
        if n % 2:
            out.append(f'<rect class="stripe" x="0" y="{y}" width="{width}" height="{ROW}"/>')
        out.append(
            f'<text class="lane" x="4" y="{y + 15}">{escape(name)}'
            f'<tspan class="pid"> {row.pid}</tspan></text>'
        )
        for interval in row.intervals:
            out.append(_interval(interval, x, y + (ROW - BAR) / 2, names, ordinal))
        out.append("</g>")
    out.append(
        f'<line class="frame" x1="{LABEL}" y1="{bottom}" x2="{LABEL + plot}" y2="{bottom}"/>'
    )
    step = _step(total)
    k = 0
    while k * step <= total * (1 + 1e-9):
        t = k * step
        out.append(
            f'<line class="tick" x1="{_f(x(t))}" y1="{TOP}" x2="{_f(x(t))}" y2="{bottom + 4}"/>'
            f'<text class="tick" x="{_f(x(t))}" y="{bottom + 16}">{_seconds(t, total)}</text>'
        )
        k += 1
    if lower is not None and upper is not None and lower < total:
        top = min(upper, total)
        allowed = _words(_("allowed wall time {lower:.3f} s .. {upper:.3f} s").format(
            lower=lower, upper=upper))
        out.append(
            f'<rect class="bounds" x="{_f(x(lower))}" y="{bottom + 20}" '
            f'width="{_f(max(x(top) - x(lower), 1.0))}" height="6">'
            f"<title>{allowed}</title></rect>"
        )
    if wall is not None:
        measured = _words(_("measured wall time {wall:.3f} s").format(wall=wall))
        out.append(
            f'<line class="wall" x1="{_f(x(wall))}" y1="{TOP - 6}" x2="{_f(x(wall))}" '
            f'y2="{bottom}"><title>{measured}</title></line>'
        )
    if expected is not None:
        makespan = _words(_("expected makespan {expected:.3f} s").format(expected=expected))
        marked = _words(_("expected {expected:.3f} s").format(expected=expected))
        out.append(
            f'<line class="expected" x1="{_f(x(expected))}" y1="{TOP - 10}" '
            f'x2="{_f(x(expected))}" y2="{bottom + 26}">'
            f"<title>{makespan}</title></line>"
            f'<text class="expected" x="{_f(x(expected))}" y="{TOP - 8}" '
            f'text-anchor="{_anchor(x(expected), width)}">{marked}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _words(text: str) -> str:
    """The drawing's own words, in the reader's language, as markup text."""
    return escape(text, quote=False)


def _interval(
    interval: Interval, x: Callable[[float], float], y: float, names: Mapping[int, str],
    ordinal: Mapping[int, tuple[int, int]],
) -> str:
    left, right = x(interval.start), x(interval.end)
    task = interval.task
    if task is not None:
        who = _("task {task}").format(task=task)
        if task in names:
            who += _(" ({duration} tutorial s)").format(duration=names[task])
        colour = PALETTE[task % len(PALETTE)]
        inside = names.get(task, str(task))
    else:
        n, total = ordinal.get(id(interval), (0, 0))
        who = (_("probe {label}").format(label=interval.label) if interval.label
               else _("task {n} of {total} by start").format(n=n, total=total))
        colour = PALETTE[0]
        inside = interval.label
    tip = _("{who}: requested {seconds:.3f} s, start {start:.3f} s, end {end:.3f} s, pid "
            "{pid}").format(who=who, seconds=interval.seconds, start=interval.start,
                            end=interval.end, pid=interval.pid)
    width = max(right - left, 1.0)
    task_attr = "" if task is None else f' data-task="{task}"'
    parts = [
        f'<rect class="interval" x="{_f(left)}" y="{_f(y)}" width="{_f(width)}" '
        f'height="{BAR}" fill="{colour}" data-pid="{interval.pid}"{task_attr} '
        f'data-start="{interval.start:.6f}" data-end="{interval.end:.6f}">'
        f"<title>{escape(tip)}</title></rect>"
    ]
    # A name goes inside its bar only where it fits (about 6.5 px a character at 11 px).
    if inside and width >= 6.5 * len(inside) + 6:
        parts.append(
            f'<text class="bar" x="{_f(left + 3)}" y="{_f(y + BAR - 4)}">{escape(inside)}</text>'
        )
    return "".join(parts)
