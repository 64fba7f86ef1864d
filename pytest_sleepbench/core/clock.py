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


def sleep_for(seconds: float, *, watch: int | None = None) -> tuple[float, float]:
    """Sleep at least ``seconds`` and return the (start, end) stamps of the sleep.

    The loop makes the lower bound physical even where a signal cuts ``sleep`` short. With
    ``watch``, the pid of the process that started the run, a child exits as soon as that
    process is gone (a test killed by a timeout) instead of living on. It watches that pid
    rather than its parent because a ``forkserver`` child's parent is the server, which outlives
    the run while any of its children holds the server's liveness pipe.
    """
    start = now()
    deadline = start + seconds
    while True:
        left = deadline - now()
        if left <= 0:
            break
        _os_sleep(left if watch is None else min(left, _SLICE))
        if watch is not None and not _alive(watch):
            os._exit(3)
    return start, now()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: not ours to judge
        return True
    return True
