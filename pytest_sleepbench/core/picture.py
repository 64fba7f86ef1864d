"""Timelines as text: a row per process, a bar per task, a time axis, the expected makespan.

Plain ASCII, so a failure message reads the same in a terminal, a CI log and a JUnit file.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from .i18n import _
from .sink import Interval

__all__ = ["Lane", "lanes", "message_width", "render"]

# What a test runner puts before each line of an assertion's message (pytest: "E       ").
_MESSAGE_INDENT = 8


def message_width() -> int:
    """Columns for a picture inside a failure message: the terminal's (or ``COLUMNS``), less
    the runner's indent, so the lines fit where the message is printed."""
    return max(40, shutil.get_terminal_size((80 + _MESSAGE_INDENT, 24)).columns - _MESSAGE_INDENT)


@dataclass(frozen=True)
class Lane:
    """One row of a timeline: the intervals one process (or one thread of it) ran."""

    label: str
    pid: int
    intervals: tuple[Interval, ...]


def lanes(intervals: Sequence[Interval], main_pid: int | None = None, *,
          by_thread: bool = False) -> list[Lane]:
    """Rows for a picture: ``main`` first, then workers numbered by when they first ran.

    A process whose threads or coroutines overlap gets a row per concurrent strand, so every
    bar has a row of its own. ``by_thread`` gives each thread of a process its own rows
    first (``main.2`` is its second thread), so a pool's thread shows the calls it ran in
    turn; coroutines overlapping in one thread are still split into strands.
    """
    by_pid: dict[int, list[Interval]] = {}
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        by_pid.setdefault(interval.pid, []).append(interval)
    ordered = sorted(by_pid, key=lambda pid: (pid != main_pid, by_pid[pid][0].start))
    rows: list[Lane] = []
    number = 0
    for pid in ordered:
        if pid == main_pid:
            name = _("main")
        else:
            number += 1
            name = _("worker {number}").format(number=number)
        groups: dict[int, list[Interval]] = {}
        for interval in by_pid[pid]:
            groups.setdefault(interval.tid if by_thread else 0, []).append(interval)
        for t, group in enumerate(groups.values()):
            thread = f"{name}.{t + 1}" if len(groups) > 1 else name
            strands = _strands(group)
            for k, strand in enumerate(strands):
                suffix = f".{k + 1}" if len(strands) > 1 else ""
                rows.append(Lane(f"{thread}{suffix}", pid, tuple(strand)))
    return rows


def _strands(intervals: Sequence[Interval]) -> list[list[Interval]]:
    """The intervals (by start) packed into as few rows as keep them from overlapping."""
    strands: list[list[Interval]] = []
    for interval in intervals:
        for strand in strands:
            if strand[-1].end <= interval.start:
                strand.append(interval)
                break
        else:
            strands.append([interval])
    return strands


def _bar_text(interval: Interval, width: int, names: dict[int, str]) -> str:
    name = names.get(interval.task, "") if interval.task is not None else interval.label
    if width <= 1:
        return "#"
    body = (name + "=" * width)[: width - 1]
    return body + "]" if width > 2 else body[:1] + "]"


def render(
    intervals: Sequence[Interval],
    *,
    width: int = 80,
    main_pid: int | None = None,
    origin: float | None = None,
    expected: float | None = None,
    names: dict[int, str] | None = None,
    span: float | None = None,
    by_thread: bool = False,
) -> str:
    """Draw ``intervals`` in ``width`` columns.

    ``origin`` is the stamp at which the run began (the first interval's start if not given);
    ``expected`` is the model's makespan in seconds after ``origin``, drawn as a column of ``:``;
    ``names`` labels task indices inside their bars (durations, for the patterns);
    ``by_thread`` gives each thread its own rows (see :func:`lanes`).
    """
    if not intervals:
        return _("(no intervals were recorded)")
    rows = lanes(intervals, main_pid, by_thread=by_thread)
    t0 = min(i.start for i in intervals) if origin is None else origin
    finish = max(i.end for i in intervals) - t0
    total = max(finish, expected or 0.0, span or 0.0, 1e-9)
    heads = {id(r): f"{r.label} [{r.pid}]" for r in rows}
    label_width = min(max(len(h) for h in heads.values()) + 1, 28)
    # On a narrow terminal the bars matter more than the pids: give the labels what is left.
    label_width = max(6, min(label_width, width - 12))
    columns = max(width - label_width - 2, 10)

    def col(t: float) -> int:
        return min(columns - 1, max(0, round((t - t0) / total * (columns - 1))))

    marker = None if expected is None else col(t0 + expected)
    lines = []
    for row in rows:
        cells = [" "] * columns
        if marker is not None:
            cells[marker] = ":"
        taken = -1
        for interval in row.intervals:
            a, b = col(interval.start), col(interval.end)
            # Back-to-back tasks round to the same column: keep each bar's end visible.
            if a <= taken:
                a = min(taken + 1, columns - 1)
                b = max(a, b)
            taken = b
            text = _bar_text(interval, b - a + 1, names or {})
            for k, ch in enumerate(text):
                cells[a + k] = ch
        head = heads[id(row)][: label_width - 1]
        lines.append(f"{head:<{label_width}}|{''.join(cells)}")
    axis = ["-"] * columns
    ticks = 4
    scale = [" "] * columns
    taken_at: list[tuple[int, int]] = []
    # The ends of the scale first: a middle label that would touch one is left out, so a
    # narrow picture shows fewer numbers rather than numbers run together.
    for k in (0, ticks, *range(1, ticks)):
        c = round(k * (columns - 1) / ticks)
        axis[c] = "+"
        value = k * total / ticks
        text = f"{value * 1000:.0f}ms" if total < 1 else f"{value:.2f}s"
        # Right-align the last label under its tick so the scale never runs past ``width``.
        start = max(0, min(c, columns - len(text)))
        end = start + len(text)
        if any(start <= b and a <= end for a, b in taken_at):
            continue
        taken_at.append((start, end))
        scale[start:end] = text
    if marker is not None:
        axis[marker] = "^"
    lines.append(f"{'':<{label_width}} {''.join(axis)}")
    lines.append(f"{'':<{label_width}} {''.join(scale).rstrip()}")
    if expected is not None:
        legend = _("^ = expected makespan {expected:.3f}s").format(expected=expected)
        pad = label_width + 1 if label_width + 1 + len(legend) <= width else 0
        lines.append(" " * pad + legend)
    return "\n".join(lines)
