"""The lesson's names: its six patterns, their durations, and the start methods.

Kept apart from the patterns themselves so that what only needs the names (the plugin's option
and marker checks, the assignment reader) does not import ``concurrent.futures`` to get them.
"""

from __future__ import annotations

import multiprocessing

__all__ = [
    "DEFAULT_DURATIONS",
    "DEFAULT_UNIT",
    "PATTERNS",
    "POOL_PATTERNS",
    "PROCESS_PATTERNS",
    "START_METHODS",
    "default_start_method",
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
