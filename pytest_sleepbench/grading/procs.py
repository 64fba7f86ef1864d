"""Finding and ending the processes of one run, at each isolation level.

Namespaced, a run's processes are its init's descendants (an orphan is handed to the init of
its pid namespace, whatever session it made), and ending the init ends every process in the
namespace, the kernel's guarantee, whatever their threads do. With only a user id of its own,
a run's processes are those of that user, and ``kill(-1)`` as that user reaches them all.
Without either, they are found by descent and by a mark in their environment.

It also says what the kernel knows of them (asleep or not, waits for a core, CPU used, the
scheduling class and niceness), and so runs to almost 400 lines: every read of ``/proc``
about a run's processes, and its format, stays in this one place.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field

import psutil

from ..core.clock import now

__all__ = ["RunProcs", "adopt_orphans", "birth", "can_prioritize", "describe", "fair_share",
           "inner_pid", "main_thread", "other_threads", "others_cpu", "prctl"]

_PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
_PR_SET_PDEATHSIG = 1
_ADOPTING = False
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
prctl = getattr(_LIBC, "prctl", None)
"""libc's prctl, looked up once: a preexec function must not load libraries after a fork."""


@dataclass
class RunProcs:
    """The processes of one run."""

    namespaced: bool
    uid: int | None
    root_pid: int
    """The process the grader started (``unshare`` when namespaced, else the main one)."""
    token: str
    known: set[int] = field(default_factory=set)
    kill_as: str | None = None
    """An interpreter to send ``kill(-1)`` as the run's user with."""

    def members(self) -> list[psutil.Process]:
        """The run's processes still alive, zombies aside."""
        found: list[psutil.Process] = []
        if self.namespaced:
            init = self._init()
            for pid in _tree(init) if init is not None else []:
                with contextlib.suppress(psutil.NoSuchProcess):  # ended since it was listed
                    found.append(psutil.Process(pid))
            return found
        for proc in psutil.process_iter(["pid", "uids", "status"]):
            try:
                if proc.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                if self.uid is not None:
                    if proc.info["uids"].real == self.uid:
                        found.append(proc)
                elif proc.pid in self.known or proc.pid == self.root_pid or (
                        proc.environ().get("SLEEPBENCH_GRADE_INTERVALS") == self.token):
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def prioritize(self) -> None:
        """Put every thread of the run in the normal scheduling class (it was started in the
        idle one). Threads and processes made later inherit it from those changed here."""
        if self.root_pid <= 0:
            return
        if self.namespaced:
            # The run's init too: it starts the script, which inherits its class.
            init = self._init()
            pids = [self.root_pid, *([init, *_tree(init)] if init is not None else [])]
        else:
            pids = [self.root_pid, *(p.pid for p in self.members())]
        for pid in pids:
            try:
                tasks = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except (OSError, ValueError):
                continue
            for tid in tasks:
                with contextlib.suppress(OSError):
                    os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))

    def asleep(self) -> bool:
        """Whether the script has started and every thread of its processes waits (none runs
        or is ready to run): its start-up is over, so another run can start beside it
        without the two competing for a core."""
        if self.namespaced:
            init = self._init()
            pids = _tree(init) if init is not None else []
        else:
            pids = [self.root_pid, *_tree(self.root_pid)] if self.root_pid > 0 else []
        return bool(pids) and all(_waiting(pid) for pid in pids)

    def any_alive(self) -> bool:
        """Whether a process of the namespaced run besides its init is alive (cheap)."""
        init = self._init()
        return init is not None and bool(_tree(init))

    def _init(self) -> int | None:
        children = _children(self.root_pid)
        return children[0] if children else None

    def watch(self) -> None:
        """Note the run's processes seen by descent, before they can be orphaned."""
        if not self.namespaced and self.uid is None:
            self.known.update(c.pid for c in _descendants(self.root_pid))

    def kill(self) -> None:
        if self.namespaced:
            # The init's death takes the namespace down with every process in it, and unshare
            # is reaped only once it has (it waits for the init, which waits for the rest);
            # killed itself, unshare would end at once and its init only after it.
            init = self._init()
            with contextlib.suppress(OSError):
                os.kill(self.root_pid if init is None else init, signal.SIGKILL)
            return
        for _ in range(50):
            alive = self.members()
            if not alive:
                break
            if self.uid is not None and self.kill_as is not None:
                _kill_as(self.uid, self.kill_as)
            for proc in alive:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    proc.kill()
            psutil.wait_procs(alive, timeout=0.2)

    def linger(self, grace: float) -> list[str]:
        deadline = now() + grace
        while True:
            alive = self.members()
            if not alive or now() > deadline:
                return describe(alive)
            time.sleep(0.02)

    def reap(self, keep: int) -> None:
        """Reap the dead processes of the run's user adopted here (see adopt_orphans), once
        none is alive; ``keep``, the main process, is left to its own ``Popen``."""
        if self.uid is None or self.namespaced:
            return
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error, ChildProcessError):
                if child.pid != keep and child.uids().real == self.uid and (
                        child.status() == psutil.STATUS_ZOMBIE):
                    os.waitpid(child.pid, os.WNOHANG)


def _descendants(root: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(root).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _per_thread(pid: int, name: str) -> list[bytes] | None:
    """``/proc/<pid>/task/<tid>/<name>`` of every thread of ``pid`` (those that ended while
    read are left out), or None if ``pid`` is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    found = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/{name}", "rb") as handle:
                found.append(handle.read())
        except OSError:
            continue
    return found


def _state(stat: bytes) -> bytes:
    return (stat.rsplit(b")", 1)[-1].split() or [b"?"])[0]


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid``, from /proc, without a scan of every process."""
    found: list[int] = []
    for text in _per_thread(pid, "children") or []:
        with contextlib.suppress(ValueError):
            found += [int(c) for c in text.split()]
    return found


def _tree(root: int, *, zombies: bool = False) -> list[int]:
    """The descendants of ``root``: the live ones, and with ``zombies`` those that ended and
    wait to be reaped."""
    out: list[int] = []
    todo = _children(root)
    while todo:
        pid = todo.pop()
        todo += _children(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = _state(handle.read())
        except OSError:
            continue
        if zombies or state not in (b"Z", b"X"):
            out.append(pid)
    return out


_CAP_SYS_NICE = 23  # from <linux/capability.h>


def can_prioritize() -> bool:
    """Whether this process may move another user's process out of the idle scheduling class
    (CAP_SYS_NICE): without it, a run started idle could not be moved back."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_NICE & 1)
    except (OSError, ValueError, IndexError):
        return False
    return False


def _schedstat(path: str, field: int) -> int:
    try:
        with open(path, "rb") as handle:
            return int(handle.read().split()[field])
    except (OSError, ValueError, IndexError):
        return 0


def _cpu(pid: int) -> tuple[float, float] | None:
    """CPU seconds of ``pid``'s threads, those that ended included (utime + stime), and of the
    children it reaped (cutime + cstime), in clock ticks; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[-1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return ((int(fields[11]) + int(fields[12])) / tick,
                (int(fields[13]) + int(fields[14])) / tick)
    except (OSError, ValueError, IndexError):
        return None


def main_thread(pid: int) -> tuple[float, float] | None:
    """Seconds the main thread of ``pid`` has run, and waited for a core while it could have
    run (Linux's schedstat), or None where the kernel does not say."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as handle:
            ran, waited = handle.read().split()[:2]
        return int(ran) / 1e9, int(waited) / 1e9
    except (OSError, ValueError):
        return None


def other_threads(pid: int, tracked: Collection[int], keep: int
                  ) -> dict[int, tuple[float, float]]:
    """Seconds each thread of ``pid`` besides its main one has run and waited for a core
    (as :func:`main_thread` reads them), by thread id: those in ``tracked`` and new ones up
    to ``keep`` in all, so a script that starts thousands of threads gets no more of the
    grader's time than one with a few."""
    found: dict[int, tuple[float, float]] = {}
    room = keep - len(tracked)
    for task in _tasks(pid):
        try:
            tid = int(task)
            if tid == pid or (tid not in tracked and room <= 0):
                continue
            with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                ran, waited = handle.read().split()[:2]
            found[tid] = int(ran) / 1e9, int(waited) / 1e9
        except (OSError, ValueError):
            continue
        if tid not in tracked:
            room -= 1
    return found


def others_cpu(run: RunProcs, main: int) -> float:
    """CPU seconds the run has used so far besides the main thread of ``main``: its other
    threads and processes, those that ended included. Whatever kept the main thread from a
    core that this can explain was the run's own doing.

    A process that ended counts until its parent reaps it (as a zombie) and in that parent's
    reaped total after, so a busy child killed and left unreaped is not forgotten. Children
    are read before their parents: one reaped between the two reads is counted twice (less
    is forgiven), never missed."""
    top = run._init() if run.namespaced else run.root_pid
    tree = [] if top is None or top <= 0 else [*reversed(_tree(top, zombies=True)), top]
    total = 0.0
    for pid in dict.fromkeys([*tree, main]):
        cpu = _cpu(pid)
        if cpu is None:
            continue
        ticks, reaped = cpu
        if pid == top and run.namespaced and pid != main:
            # The grader's init: only the orphans it reaped were the run's.
            total += reaped
            continue
        own = _process_clock(pid)
        if own is None:
            # Live threads to the nanosecond, ended ones only in the process's clock ticks.
            own = max(ticks, sum(_schedstat(f"/proc/{pid}/task/{t}/schedstat", 0)
                                 for t in _tasks(pid)) / 1e9)
        if pid == main:
            own -= _schedstat(f"/proc/{main}/task/{main}/schedstat", 0) / 1e9
        total += own + reaped
    return total


def _process_clock(pid: int) -> float | None:
    """CPU seconds of every thread ``pid`` ever had, to the nanosecond: the kernel's clock of
    that process (``CPUCLOCK_SCHED``), None once it has ended or where it cannot be read."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)
    except (OSError, OverflowError):
        return None


def fair_share(pid: int) -> bool | None:
    """Whether the main thread of ``pid`` asks the scheduler for no less than a default
    process gets (nice 0 or less, the normal class): a process that gave its share away
    waits for a core on a busy machine by its own choice. None once the kernel no longer
    says: a process reaped since the last look gave nothing away."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[-1].split()
        return int(fields[16]) <= 0 and int(fields[38]) == os.SCHED_OTHER
    except OSError:
        return None
    except (ValueError, IndexError):
        return False


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def _waiting(pid: int) -> bool:
    """Whether every thread of ``pid`` sleeps, is stopped, or is gone."""
    return all(_state(text) in (b"S", b"T", b"t", b"Z", b"X")
               for text in _per_thread(pid, "stat") or [])


def describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        try:
            cmd = " ".join(proc.cmdline())[:120]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            cmd = "?"
        out.append(f"pid {proc.pid}: {cmd}")
    return out


def adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux only).

    Without namespaces, a run's processes that outlive their parents are otherwise reaped by
    init whenever it gets to them, and until then, dead or not, they count against
    ``RLIMIT_NPROC``. Adopted, they are reaped here as soon as they are killed.
    """
    global _ADOPTING
    if _ADOPTING or prctl is None:
        return
    _ADOPTING = True
    with contextlib.suppress(OSError, AttributeError):
        prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def die_with_parent() -> None:
    """In a preexec function: this child gets SIGKILL when the grader's thread that started
    it ends, so a killed grader leaves no run behind (namespaced, the run's init follows)."""
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _kill_as(uid: int, python: str) -> None:
    # kill(-1) as the run's user signals every process that user owns, faster than a fork
    # storm can make new ones, and never the caller itself. A child interpreter does it, since
    # forking the grader (which may have threads) to change its user is not safe.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [python, "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
            user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", timeout=30,
            check=False,
        )


def inner_pid(pid: int) -> int | None:
    """The pid ``pid`` has in its own pid namespace (itself when it has none of its own)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def birth(pid: int) -> float | None:
    """When ``pid`` was born, on the grader's clock (to the kernel's clock tick)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[-1].split()
        ticks = int(fields[19])
    except (OSError, ValueError, IndexError):
        return None
    # /proc counts from boot on the boot-time clock; the grader's clock is the monotonic one.
    offset = time.clock_gettime(time.CLOCK_BOOTTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)
    return ticks / os.sysconf("SC_CLK_TCK") - offset
