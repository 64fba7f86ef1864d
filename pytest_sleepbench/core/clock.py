"""The one clock every interval is stamped with, and a sleep that cannot be cut short.

Both are bound at import, the way pytest's own timing module binds its clock, so code under test
that patches ``time.perf_counter`` or ``time.sleep`` cannot fool a measurement. ``perf_counter``
reads a system-wide monotonic clock (CLOCK_MONOTONIC on Linux, mach_absolute_time on macOS,
QueryPerformanceCounter on Windows), so stamps taken in different processes of one machine are
comparable.
"""

from __future__ import annotations

import os
import threading
import time
from time import perf_counter as now
from time import sleep as _os_sleep

__all__ = ["Stopped", "alive", "born", "now", "sleep_for", "watch_owner"]

_since_boot = getattr(time, "clock_gettime", None)
_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)

# How long one slice of a sleep may last before checking that the parent is still alive.
_SLICE = 0.05


class Stopped(Exception):
    """A sleep reached the time it was told to stop at (see :func:`sleep_for`)."""


def sleep_for(seconds: float, *, watch: int | None = None, until: float | None = None,
              start: float | None = None) -> tuple[float, float]:
    """Sleep at least ``seconds`` and return the (start, end) stamps of the sleep.

    The loop makes the lower bound physical even where a signal cuts ``sleep`` short. With
    ``watch``, the pid of the process that started the run, a child exits as soon as that
    process is gone (a test killed by a timeout) instead of living on. It watches that pid
    rather than its parent because a ``forkserver`` child's parent is the server, which outlives
    the run while any of its children holds the server's liveness pipe. With ``until``, a
    stamp of :func:`now`, it raises :class:`Stopped` once that time has come. With
    ``start``, a stamp of :func:`now` already taken, the sleep counts from it.
    """
    start = now() if start is None else start
    deadline = start + seconds
    sliced = watch is not None or until is not None
    while True:
        left = deadline - now()
        if left <= 0:
            break
        _os_sleep(min(left, _SLICE) if sliced else left)
        if watch is not None and not alive(watch):
            os._exit(3)
        if until is not None and now() >= until:
            raise Stopped(f"stopped {now() - start:.3f}s into a sleep of {seconds:g}s")
    return start, now()


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process: a dead one its parent has not reaped yet (an
    xdist worker killed by a thread-method timeout, whose controller waits on pipes the
    children still hold) answers ``kill(pid, 0)`` too, so its state is read where Linux
    shows it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: not ours to judge
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[-1].split()
    except OSError:
        return True
    return fields[:1] not in ([b"Z"], [b"X"])


def watch_owner(pid: int) -> None:
    """Exit this process once ``pid`` is gone, from a daemon thread: for a pool's worker,
    which waits on its call queue between tasks, where no sleep can notice."""
    def watch() -> None:
        while alive(pid):
            _os_sleep(_SLICE)
        os._exit(3)

    threading.Thread(target=watch, name="sleepbench-watch", daemon=True).start()


def born() -> float | None:
    """When this process was created, on the clock of :func:`now`, where the system says
    (Linux: ``/proc/self/stat`` counts it in clock ticks since boot, 10 ms apart); ``None``
    elsewhere. What lies between it and the process's first line is start-up the machine
    spent, which a judge must not blame on the code; so of the tick it was born in, the end
    is returned: the start-up measured from it is never more than what was really spent."""
    if _since_boot is None or _BOOTTIME is None:
        return None
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[-1].split()
        ticks = int(fields[19])  # field 22, starttime, counted from the state field (3)
        hz = os.sysconf("SC_CLK_TCK")
        stamp = now()
        return float(min(stamp - (_since_boot(_BOOTTIME) - (ticks + 1) / hz), stamp))
    except (OSError, ValueError, IndexError):
        return None
