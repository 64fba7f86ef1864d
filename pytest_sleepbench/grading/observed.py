"""A graded run seen through the model, and the verdict of one check on it.

:class:`Observed` is one run's tasks, strands, schedule and picture, and the judge's
:class:`~..core.judge.Measurement` of it; :class:`Check` is one check's pass, fail (with its
explanation) or skip.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..core import timeline as tl
from ..core.bounds import share
from ..core.calibrate import Calibration
from ..core.i18n import _
from ..core.judge import STAGGER, Kind, Measurement, Verdict, launching
from ..core.lesson import POOL_PATTERNS, PROCESS_PATTERNS
from ..core.model import Schedule, list_schedule
from ..core.picture import render
from ..core.sink import Interval
from ..core.verdict import message
from .outcome import Outcome

__all__ = ["Check", "Observed", "Owed", "allowance", "per_task", "stderr_end", "tail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    """``pass``, ``fail`` or ``skip``."""
    message: str = ""
    late: bool = False
    """Only the upper time bound failed, which a moment of load can explain."""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class Owed:
    """What a parallel exercise owes at once, and why, in the words a failure uses."""

    workers: int = 1
    why: str = ""


@dataclass(frozen=True)
class Observed:
    """One run seen through the model: its tasks, strands, schedule and picture."""

    pattern: str
    durations: tuple[float, ...]
    """The model's tasks, in tutorial seconds: the exercise's, or under ``sleeps = "any"``
    what the script's tasks slept (when it ran at least as many)."""
    unit: float
    outcome: Outcome
    tasks: tuple[Interval, ...]
    """Sleeps longer than zero, each with a task index (submission index for pool tasks,
    otherwise the order they started in)."""
    asked: tuple[float, ...] = ()
    """The exercise's own durations."""
    sleeps: str = "exact"
    owed: Owed = Owed()

    @classmethod
    def of(cls, pattern: str, durations: Sequence[float], unit: float, outcome: Outcome,
           *, sleeps: str = "exact", owed: Owed | None = None) -> Observed:
        slept = [i for i in outcome.recording.intervals if i.seconds > 0]
        tagged = pattern in POOL_PATTERNS and all(i.task is not None for i in slept)
        tasks = tuple(i if tagged else dataclasses.replace(i, task=k)
                      for k, i in enumerate(slept))
        model = tuple(durations)
        if sleeps == "any" and len(per_task(tasks, unit)) >= len(durations):
            # Fewer tasks than the exercise's keep its durations: the model then owes what
            # the exercise owes, and the checks count what is missing.
            model = per_task(tasks, unit)
        return cls(pattern, model, unit, outcome, tasks, tuple(durations), sleeps,
                   owed or Owed(1 if pattern == "serial" else len(durations)))

    @property
    def capacity(self) -> int | None:
        """Processes the script gave its tasks to run at once, where the grader can tell:
        the workers its process pools started, or the processes it started itself, only as
        many as the grader saw (a worker started late still counts: its lateness is the
        machine's); ``None`` where neither was used."""
        rec = self.outcome.recording
        seen = {i.pid for i in self.tasks} | set(rec.ready)
        seen.discard(self.outcome.main_pid)
        if rec.pools:
            return len(set(self.pool_workers) | ({i.pid for i in self.tasks} & seen))
        starts = rec.api.count("Process.start")
        return min(starts, len(seen)) if starts else None

    @property
    def pool_workers(self) -> list[int]:
        """The pool workers the main process named, by the grader's pids, that the grader
        itself saw send records: a name alone proves nothing."""
        rec = self.outcome.recording
        outer = {**rec.selves, **{inner: pid for pid, inner in self.outcome.inner.items()}}
        ready = rec.ready
        found = []
        for named in rec.pool_workers:
            pid = outer.get(named, named)
            if pid in ready and pid != self.outcome.main_pid:
                found.append(pid)
        return found

    @property
    def origin(self) -> float:
        started = self.outcome.recording.started
        return self.outcome.origin if started is None else started

    @property
    def wall(self) -> float:
        """Seconds from the main interpreter reaching the hook (before any of the script ran)
        to its exit; interpreter start-up, which no schedule accounts for, is left out."""
        return self.outcome.origin + self.outcome.wall - self.origin

    @property
    def strands(self) -> int:
        """Distinct (process, thread) pairs that slept: the workers the run really had."""
        return len({(i.pid, i.tid) for i in self.tasks})

    @property
    def workers(self) -> int:
        return len(tl.processes(self.tasks))

    @property
    def schedule(self) -> Schedule:
        workers = 1 if self.pattern == "serial" else max(self.strands, 1)
        return list_schedule([d * self.unit for d in self.durations], workers)

    def picture(self) -> str:
        if not self.tasks:
            return _("(no time.sleep call was recorded)")
        names = {i.task: i.label for i in self.tasks if i.task is not None}
        return render(self.tasks, main_pid=self.outcome.main_pid, origin=self.origin,
                      expected=self.schedule.makespan, names=names)

    def fail(self, name: str, title: str, expected: str, observed: str) -> Check:
        return Check(name, "fail", message(f"{name}: {title}", expected, observed,
                                           self.picture()))

    def judged(self, verdict: Verdict) -> Check:
        """The check of the judge's ``verdict``: a property the machine could not show is
        not held against the script, and says so."""
        if verdict.kind is Kind.PASS:
            return Check(verdict.check, "pass")
        if verdict.kind is Kind.UNSHOWN:
            return Check(verdict.check, "skip", message(
                _("{check}: not judged: {title}").format(check=verdict.check,
                                                         title=verdict.title),
                verdict.expected,
                _("{observed}; this machine could not show it at unit {unit:g}s, so it is not "
                  "held against the script").format(observed=verdict.observed, unit=self.unit),
                self.picture()))
        checked = self.fail(verdict.check, verdict.title, verdict.expected, verdict.observed)
        return dataclasses.replace(checked, late=verdict.kind is Kind.LATE)

    def measurement(self, calibration: Calibration, tolerance: float, xdist_workers: int
                    ) -> Measurement:
        """The run as the judge reads it: owing the strands that slept, each worker allowed
        its calibrated stagger, widened when pytest-xdist workers outnumber the cores."""
        # Pool workers that never slept count too: one the machine started too late to take
        # a task is the machine's fault, one that was ready and idle is not.
        pids = ({i.pid for i in self.tasks} | set(self.pool_workers)) - {self.outcome.main_pid}
        rec = self.outcome.recording
        ready = rec.ready
        first_wait = min(rec.waits, default=float("inf"))
        measured = Measurement(
            durations=tuple(d * self.unit for d in self.durations),
            tasks=self.tasks,
            owed_workers=1 if self.pattern == "serial" else max(self.owed.workers,
                                                                self.strands, 1),
            tolerance=tolerance,
            stagger=allowance(self, calibration, xdist_workers),
            launch=calibration.launch,
            starts={pid: ready[pid] for pid in pids if pid in ready},
            origin=self.origin,
            held_back=any(t > first_wait for t in rec.launches) if rec.launches else None,
            launches=self.launches_kept(),
            single_use=self.pattern in PROCESS_PATTERNS,
            unit=self.unit,
        )
        return dataclasses.replace(measured, tasks=self.queued(launching(measured, 1)))

    def queued(self, budget: float) -> tuple[Interval, ...]:
        """The tasks, each carrying as ``waited`` how long the grader saw its thread wait for
        a core from the first task's start to its own, less what the rest of the run ran
        meanwhile: a thread of the main process waits for its first core alone, the main
        thread asleep until it runs. None where the thread ran more than ``budget`` (what
        one launch takes) meanwhile: one that works before its task waits on a busy machine
        by its own choice. What the script says of its waits is never taken."""
        first = min((i.start for i in self.tasks), default=0.0)
        out = []
        for i in self.tasks:
            kept = 0.0
            if i.pid == self.outcome.main_pid and i.start > first:
                kept, ran = self.outcome.thread_between(i.tid, first, i.start)
                kept = kept if ran <= budget else 0.0
            out.append(dataclasses.replace(i, waited=kept, launcher=0.0))
        return tuple(out)

    def launches_kept(self) -> tuple[tuple[float, float, float], ...]:
        """Each launch, with what the main thread waited for a core and ran from the first
        task's start to it, as the grader's own looks at it saw (never what the script says
        of itself)."""
        first = min((i.start for i in self.tasks), default=0.0)
        return tuple((at, *self.outcome.main_thread_between(first, at))
                     for at in sorted(self.outcome.recording.launches))


def per_task(tasks: Sequence[Interval], unit: float) -> tuple[float, ...]:
    """What each task slept, in tutorial seconds, by task index: a pool task that sleeps
    twice is one task of both sleeps, as its worker runs them one after the other."""
    total: dict[int, float] = {}
    for k, i in enumerate(tasks):
        index = k if i.task is None else i.task
        total[index] = total.get(index, 0.0) + i.seconds / unit
    # Rounded: a tutorial second scaled to the unit and back is not always the same float.
    return tuple(round(total[k], 9) for k in sorted(total))


def allowance(o: Observed, calibration: Calibration, xdist_workers: int) -> float:
    if o.pattern in (*PROCESS_PATTERNS, *POOL_PATTERNS):
        return STAGGER * calibration.startup * share(xdist_workers, calibration.cores)
    return 0.0


def tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n    ".join(kept) if kept else _("(nothing on stderr)")


def stderr_end(outcome: Outcome) -> str:
    """The end of stderr, where there is any, as a message's last lines."""
    if not outcome.stderr.strip():
        return ""
    said = _("stderr ends with:")
    return f"\n  {said}\n    {tail(outcome.stderr)}"
