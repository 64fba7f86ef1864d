"""A run's terms and its result: the limits a script runs under, and what the grader saw of it
(exit, wall, output, records), which the checks judge."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .record import Recording

__all__ = ["Limits", "Outcome"]


@dataclass(frozen=True)
class Limits:
    wall: float
    """Seconds the main process may run before the whole run is killed."""
    memory: int = 1 << 30
    """Bytes of address space per process (RLIMIT_AS)."""
    processes: int = 64
    """Processes the run may have at once (RLIMIT_NPROC, exact when running as its own user)."""
    output: int = 1 << 20
    """Bytes of stdout plus stderr kept; more ends the run."""
    file_size: int = 64 << 20
    scratch: int = 32 << 20
    """Bytes each private temporary folder (/tmp, /var/tmp, /dev/shm) holds, when namespaced."""


@dataclass
class Outcome:
    returncode: int | None
    wall: float
    """Seconds from launching the interpreter to the main process's exit (or its kill)."""
    origin: float
    """The clock stamp at launch, so intervals can be placed on the run's own time axis."""
    timed_out: bool = False
    flooded: bool = False
    stdout: list[tuple[float, str]] = field(default_factory=list)
    """Lines of output with their arrival time, seconds after launch."""
    stderr: str = ""
    leftovers: list[str] = field(default_factory=list)
    """Processes of the run still alive a grace period after the main process ended."""
    recording: Recording = field(default_factory=Recording)
    main_pid: int = 0
    isolated: bool = False
    """Whether the run had a user id or a user namespace of its own."""
    sandbox: str = "none"
    """The isolation level in force (see :mod:`.isolation`)."""
    forged: tuple[str, ...] = ()
    """Why the run's records disagree with what the grader observed; empty if they agree."""
    samples: tuple[tuple[float, float, float], ...] = ()
    """The grader's looks at the main thread, every few milliseconds: (when, its wait for a
    core so far less what the run's own other threads and processes ran, what it ran)."""
    threads: dict[int, tuple[tuple[float, float, float, float], ...]] = field(
        default_factory=dict)
    """The grader's looks at the main process's other threads, at the same moments, by the
    id each thread has where the script runs (what its records carry): (when, its wait for
    a core so far, what it ran, what the rest of the run ran). A thread first seen after the
    first look starts with one from the look before, when it had done neither."""
    inner: dict[int, int] = field(default_factory=dict)
    """The pid each process that sent records has in the run's own pid namespace (what the
    script sees), by its pid in the grader's (what intervals and ``main_pid`` hold)."""

    @property
    def waited(self) -> float:
        """Seconds the main process waited for a core while it ran, as the grader read it:
        the machine's, not the script's, so the upper time bounds forgive it."""
        if not self.samples:
            return 0.0
        return max(0.0, self.samples[-1][1] - self.samples[0][1])

    def main_thread_between(self, begin: float, end: float) -> tuple[float, float]:
        """Seconds the main thread waited for a core (as in ``samples``) and ran, from
        ``begin`` to ``end``, read off the grader's looks.

        The wait is read straight between the two looks around each end, and nothing outside
        the span they cover. What it ran counts only between looks inside the span: the
        looks come every 10 ms, or later on a loaded machine, and the CPU time of one that
        straddles an end may have been spent outside the span (starting the first worker,
        say), where it would count against a script that did nothing but launch. A spin
        between two starts spans many looks, so it shows all the same.
        """
        if len(self.samples) < 2 or end <= begin:
            return 0.0, 0.0
        kept = _waited_at(self.samples, end) - _waited_at(self.samples, begin)
        inside = [ran for when, _, ran in self.samples if begin <= when <= end]
        ran = inside[-1] - inside[0] if len(inside) >= 2 else 0.0
        return max(0.0, kept), max(0.0, ran)

    def thread_between(self, tid: int, begin: float, end: float) -> tuple[float, float]:
        """Seconds thread ``tid`` of the main process waited for a core, less what the rest
        of the run ran meanwhile, and seconds it ran, from ``begin`` to ``end``.

        Read from the last look at or before ``begin`` to the first at or after ``end``: the
        kernel adds a wait to a thread's total only once the thread gets its core, so a
        thread kept from its first run until just before ``end`` shows its wait only at the
        look after."""
        looks = self.threads.get(tid, ())
        if len(looks) < 2 or end <= begin:
            return 0.0, 0.0
        first = next((s for s in reversed(looks) if s[0] <= begin), looks[0])
        last = next((s for s in looks if s[0] >= end), looks[-1])
        kept = (last[1] - first[1]) - (last[3] - first[3])
        return max(0.0, kept), max(0.0, last[2] - first[2])


def _waited_at(samples: tuple[tuple[float, float, float], ...], when: float) -> float:
    """The wait for a core so far at ``when``, straight between the looks around it."""
    when = min(max(when, samples[0][0]), samples[-1][0])
    for (t0, w0, _), (t1, w1, _) in itertools.pairwise(samples):
        if t0 <= when <= t1:
            share = (when - t0) / (t1 - t0) if t1 > t0 else 1.0
            return w0 + share * (w1 - w0)
    return samples[-1][1]
