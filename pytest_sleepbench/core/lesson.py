"""The lesson's names: its six patterns, their durations, and the start methods.

Kept apart from the patterns themselves so that what only needs the names (the plugin's option
and marker checks, the assignment reader) does not import ``concurrent.futures`` to get them.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Sequence

__all__ = [
    "DEFAULT_DURATIONS",
    "DEFAULT_UNIT",
    "PATTERNS",
    "POOL_PATTERNS",
    "PROCESS_PATTERNS",
    "START_METHODS",
    "default_start_method",
    "durations_problem",
    "durations_type_problem",
    "start_method_problem",
]

#: The lesson's durations for each pattern, in tutorial seconds.
DEFAULT_DURATIONS: dict[str, tuple[float, ...]] = {
    "serial": (1, 2),
    "processes": (1, 1),
    "process_loop": (1,) * 10,
    "submit": (1, 1),
    "as_completed": (5, 4, 3, 2, 1),
    "map": (5, 4, 3, 2, 1),
}
#: Real seconds one tutorial second lasts, unless a user says otherwise: long enough for the
#: start-ups of ``fork`` to stay well inside a task, short enough for a quick session.
DEFAULT_UNIT = 0.05
PATTERNS = tuple(DEFAULT_DURATIONS)
PROCESS_PATTERNS = ("processes", "process_loop")
POOL_PATTERNS = ("submit", "as_completed", "map")
START_METHODS = ("fork", "forkserver", "spawn")


def default_start_method() -> str:
    """The platform's start method, without fixing it for the rest of the process (which
    ``multiprocessing.get_start_method()`` would do, breaking a later ``set_start_method``)."""
    return multiprocessing.get_start_method(allow_none=True) or (
        multiprocessing.get_all_start_methods()[0]
    )


def durations_type_problem(value: object, name: str = "durations") -> str | None:
    """Why ``value`` is not a list of numbers at all, or ``None`` (a bool is an int to Python,
    but no duration)."""
    if (not isinstance(value, Sequence) or isinstance(value, str | bytes)
            or any(isinstance(d, bool) or not isinstance(d, int | float) for d in value)):
        return f"{name} must be a list of numbers of tutorial seconds (not bools), got {value!r}"
    return None


def durations_problem(value: object, name: str = "durations", *, positive: bool = False
                      ) -> str | None:
    """Why ``value`` is not a list of task durations in tutorial seconds, or ``None``: the one
    rule the patterns, the markers and the assignment file share. An empty list would make a
    schedule of nothing, which any run satisfies. With ``positive``, 0 is refused too (the
    grader never records a sleep of 0, so even correct code would fail)."""
    least = "positive" if positive else "finite, non-negative"
    why = f"{name} must be a non-empty list of {least} numbers (not bools), got {value!r}"
    if durations_type_problem(value, name) is not None or not value:
        return why
    assert isinstance(value, Sequence)
    if any(not math.isfinite(d) or d < 0 or (positive and d == 0) for d in value):
        return why
    return None


def start_method_problem(value: object, name: str = "start method") -> str | None:
    """Why ``value`` is not a start method this platform has, or ``None``."""
    methods = multiprocessing.get_all_start_methods()
    if value in methods:
        return None
    return f"{name} must be one of {', '.join(methods)}, got {value!r}"
