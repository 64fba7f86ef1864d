"""What grading one exercise runs, before any of it is judged: the exercise's file, its time
limit and margins, what it owes, and the runs it starts with, which :mod:`.ahead` may start
side by side with a submission's other exercises before their items ask for them.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.calibrate import measured
from ..core.model import list_schedule
from .ahead import Ahead, Planned, RunKey
from .assignment import Assignment, Exercise
from .observed import Observed, Owed
from .outcome import Limits
from .owed import owed
from .policy import sleep_budget
from .sandbox import REIMPORT, run_script

__all__ = ["GUARD_UNIT", "Plan", "empty_script_cost", "find_file", "plan", "start_ahead",
           "start_method", "time_limit"]

# Files other than exercise scripts in a folder do not make it a submission by themselves.
_SCRIPT_SUFFIX = ".py"

_STARTUP: dict[str, float] = {}

#: The main-guard run's unit, as a fraction of the assignment's.
GUARD_UNIT = 0.1


def find_file(submission: Path, exercise: Exercise) -> str | None:
    """The exercise's file, relative to the submission; the first match in name order."""
    matches = sorted(
        p for p in submission.glob(exercise.file)
        if p.is_file() and not p.is_symlink() and p.suffix == _SCRIPT_SUFFIX
    )
    return matches[0].relative_to(submission).as_posix() if matches else None


def empty_script_cost(python: str | None, unit: float, owner: str = "local") -> float:
    """Seconds a script that only imports what the lesson's scripts import takes from the
    hook to its exit in the sandbox (median of 3): the hook patches ``multiprocessing`` and
    ``concurrent.futures`` as the script imports them, after its wall time has started.

    Measured, like every other margin, so an upper time bound never rests on a guess. The
    median, not the worst, since one run slowed by a neighbour (another xdist worker starting
    up) would otherwise widen every bound of the session by twice that moment.
    """
    key = f"{python}"
    if key not in _STARTUP:
        with tempfile.TemporaryDirectory(prefix="sleepbench-empty-") as empty:
            Path(empty, "empty.py").write_text("import concurrent.futures.process\n")
            walls = []
            for _ in range(3):
                outcome = run_script(Path(empty), "empty.py", unit=unit, python=python,
                                     limits=Limits(wall=60), owner=owner)
                walls.append(Observed.of("serial", (), unit, outcome).wall)
        _STARTUP[key] = statistics.median(walls)
    return _STARTUP[key]


def start_method(assignment: Assignment) -> str:
    return assignment.start_method or multiprocessing.get_start_method()


def time_limit(exercise: Exercise, assignment: Assignment, baseline: float) -> float:
    """The wall-clock limit of one script: configured, or twice the serial time plus margins.

    Twice the serial time is beyond any schedule of correct code; four times ``baseline`` a
    task (the measured cost of a script that imports the lesson's modules, from the hook to
    its exit; a spawn child's whole start-up measured about two and a half of those) and a
    second of slack keep tiny units from cutting correct code off. The limit takes no
    calibration of spawn, which most runs never use.
    """
    configured = exercise.timeout or assignment.timeout
    if configured:
        return configured
    work = sleep_budget(exercise.durations, exercise.sleeps) * assignment.unit
    return 2 * work + len(exercise.durations) * 4 * baseline + 4 * baseline + 1.0


@dataclass(frozen=True)
class Plan:
    """How one exercise of one submission runs: its script, its limits, what it owes, and the
    runs its grading starts with (which :class:`.ahead.Ahead` may start before it asks)."""

    exercise: Exercise
    assignment: Assignment
    script: str
    baseline: float
    limit: float
    parallel: Owed

    @property
    def limits(self) -> Limits:
        a = self.assignment
        return Limits(wall=self.limit, memory=a.memory, processes=a.processes, output=a.output)

    @property
    def guarded(self) -> bool:
        """Whether a main-guard run follows the graded one: not for a script that starts no
        processes, nor where every child re-imports the script anyway (spawn)."""
        return self.exercise.pattern != "serial" and start_method(self.assignment) != "spawn"

    def key(self, forced: str | None, unit: float) -> RunKey:
        return (self.exercise.id, forced, unit)

    @property
    def graded(self) -> RunKey:
        return self.key(self.assignment.start_method, self.assignment.unit)

    @property
    def guard(self) -> RunKey:
        return self.key(REIMPORT, self.assignment.unit * GUARD_UNIT)

    def ahead(self) -> list[Planned]:
        """The runs grading starts with: the graded run, timed, and the main-guard run."""
        e = self.exercise
        sleeps = [d * self.assignment.unit for d in e.durations]
        length = list_schedule(sleeps, max(self.parallel.workers, 1)).makespan
        runs = [Planned(self.graded, self.script, self.limits, timed=True, length=length)]
        if self.guarded:
            runs.append(Planned(self.guard, self.script, self.limits, timed=False))
        return runs


def plan(submission: Path, exercise: Exercise, assignment: Assignment, owner: str = "local"
         ) -> Plan | None:
    """The exercise's plan, or None when the submission holds no file for it."""
    script = find_file(submission, exercise)
    if script is None:
        return None
    baseline = empty_script_cost(assignment.python, assignment.unit, owner)
    return Plan(exercise, assignment, script, baseline,
                time_limit(exercise, assignment, baseline), owed(exercise, assignment.python))


def start_ahead(submission: Path, exercises: Sequence[Exercise], assignment: Assignment,
                owner: str = "local", *, graders: int = 1) -> Ahead:
    """The runs of ``exercises`` of one submission, started side by side (see
    :mod:`.ahead`), with this machine calibrated first, while it is still quiet. ``graders``
    processes (xdist workers) share the cores."""
    plans = [p for e in exercises if (p := plan(submission, e, assignment, owner)) is not None]
    measured(start_method(assignment))
    ahead = Ahead(submission, python=assignment.python, owner=owner,
                  pace=empty_script_cost(assignment.python, assignment.unit, owner),
                  starting=len(os.sched_getaffinity(0)) // max(graders, 1))
    ahead.start([run for p in plans for run in p.ahead()])
    return ahead
