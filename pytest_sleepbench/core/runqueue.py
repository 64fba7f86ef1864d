"""How long a thread waited for a core: Linux's run-queue delay (the second field of
``/proc/thread-self/schedstat``), the time the thread could have run but every core was busy.

A call that began late because its thread waited for a core was kept late by the machine, not
by the code; a thread blocked on a lock or a queue sleeps, which is no wait for a core. So a
probe called in a thread other than its process's main one stamps how long the thread waited
since its previous call ended (since it began, for its first), and the judge forgives that
much lateness and no more. Where the kernel does not say (no schedstat, another platform),
nothing is forgiven.
"""

from __future__ import annotations

import os
import threading

__all__ = ["call_began", "call_ended", "launcher_total"]

_PATH = "/proc/thread-self/schedstat"
_SETTLED: dict[int, float] = {}
"""Each thread's run-queue total when its last call ended, by native thread id."""


def _total(path: str = _PATH) -> float | None:
    try:
        with open(path, "rb") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def call_began() -> float:
    """Seconds this thread waited for a core since its previous call ended; 0 in a process's
    main thread, whose waits since the process began (a whole test session's) say nothing of
    this call."""
    if threading.current_thread() is threading.main_thread():
        return 0.0
    total = _total()
    if total is None:
        return 0.0
    return max(total - _SETTLED.get(threading.get_native_id(), 0.0), 0.0)


def call_ended() -> None:
    if threading.current_thread() is threading.main_thread():
        return
    total = _total()
    if total is not None:
        _SETTLED[threading.get_native_id()] = total


def launcher_total() -> float:
    """How long, in all, this process's main thread has waited for a core, read from a call in
    another thread (0 in the main thread, or where the kernel does not say). The threads'
    calls are launched from the main thread as a rule (an executor's submit, a thread's start):
    what it waited between two calls' starts, it could not spend launching the later one."""
    if threading.current_thread() is threading.main_thread():
        return 0.0
    return _total(f"/proc/self/task/{os.getpid()}/schedstat") or 0.0
