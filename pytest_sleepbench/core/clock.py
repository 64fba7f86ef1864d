"""The one clock every interval is stamped with, and a sleep that cannot be cut short.

Both are bound at import, the way pytest's own timing module binds its clock, so code under test
that patches ``time.perf_counter`` or ``time.sleep`` cannot fool a measurement. ``perf_counter``
reads a system-wide monotonic clock (CLOCK_MONOTONIC on Linux, mach_absolute_time on macOS,
QueryPerformanceCounter on Windows), so stamps taken in different processes of one machine are
comparable.
"""

from __future__ import annotations

import os
from time import perf_counter as now
from time import sleep as _os_sleep

__all__ = ["now", "sleep_for"]

# How long one slice of a sleep may last before checking that the parent is still alive.
_SLICE = 0.05


def sleep_for(seconds: float, *, orphan_exit: bool = False) -> tuple[float, float]:
    """Sleep at least ``seconds`` and return the (start, end) stamps of the sleep.

    The loop makes the lower bound physical even where a signal cuts ``sleep`` short. With
    ``orphan_exit`` a child whose parent died (a test killed by a timeout) exits instead of
    living on, so a hung run never leaves a process behind.
    """
    parent = os.getppid() if orphan_exit else 0
    start = now()
    deadline = start + seconds
    while True:
        left = deadline - now()
        if left <= 0:
            break
        _os_sleep(min(left, _SLICE) if orphan_exit else left)
        if orphan_exit and os.getppid() != parent:
            os._exit(3)
    return start, now()
