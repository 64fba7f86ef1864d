"""Grade one exercise of one submission: find the file, run it twice, judge, score.

The second run makes every child import the script afresh, so the main-guard check sees what
``spawn`` (Windows, macOS) would do; it is skipped when ``spawn`` is the configured method
or the exercise starts no processes.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.bounds import auto_tolerance
from ..core.calibrate import Calibration, measured
from ..core.i18n import N_, _
from ..core.lesson import START_METHODS
from ..core.model import list_schedule
from .ahead import Ahead, Planned, RunKey
from .assignment import Assignment, Exercise
from .checks import Check, Observed, judge, late, late_only, survives_spawn, with_earlier
from .observed import Owed
from .outcome import Limits
from .owed import owed
from .policy import DEFAULT_WEIGHTS, points_left, sleep_budget
from .sandbox import REIMPORT, run_script

__all__ = ["NOT_GRADED", "Plan", "discover", "empty_script_cost", "find_file", "grade_exercise",
           "not_graded", "plan", "score", "start_ahead", "time_limit"]

# Files other than exercise scripts in a folder do not make it a submission by themselves.
_SCRIPT_SUFFIX = ".py"

_STARTUP: dict[str, float] = {}

#: The main-guard run's unit, as a fraction of the assignment's.
GUARD_UNIT = 0.1

#: What the ``runs`` message of an exercise whose grading never finished starts with, after
#: ``runs: ``, in the language of the report (see :func:`not_graded`).
NOT_GRADED = N_("not graded:")


def discover(folder: Path, assignment: Assignment) -> list[tuple[str, Path]]:
    """Submissions in ``folder``: its subfolders, or the folder itself if it holds exercises
    directly (a learner's own folder) or has no subfolder to grade.

    Only a match outside every subfolder makes the folder one submission, so an exercise glob
    that reaches into folders (``**/ex1_serial*.py``) still grades a class folder by student.
    """
    itself = [(folder.resolve().name or "submission", folder)]
    for exercise in assignment.exercises:
        found = find_file(folder, exercise)
        if found is not None and "/" not in found:
            return itself
    children = sorted(
        (child.name, child) for child in folder.iterdir()
        if child.is_dir() and not child.is_symlink() and not child.name.startswith((".", "_"))
    )
    return children or itself


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


def _near_misses(submission: Path, most: int = 5) -> str:
    """The scripts the submission does hold, so a misnamed file is plain to see."""
    try:
        found = sorted(p.relative_to(submission).as_posix() for p in submission.rglob("*.py")
                       if p.is_file() and not p.is_symlink())
    except OSError:
        return ""
    if not found:
        return _(" (it holds no .py file)")
    more = _(" and {count} more").format(count=len(found) - most) if len(found) > most else ""
    return _(" (its .py files: {files}{more})").format(files=", ".join(found[:most]), more=more)


def start_method(assignment: Assignment) -> str:
    return assignment.start_method or multiprocessing.get_start_method()


def _calibration(seen: Observed, default: str, *, fresh: bool = False) -> Calibration:
    """The calibration of the start method the script really used (it may choose its own,
    as ``get_context("spawn")`` does); of the costliest, if it used several."""
    used = set(seen.outcome.recording.methods) & set(START_METHODS) or {default}
    found = [measured(m, fresh=fresh) for m in sorted(used)]
    return max(found, key=lambda c: c.startup)


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


def score(checks: Sequence[Check], points: float,
          weights: Mapping[str, float] = DEFAULT_WEIGHTS, *, slept: bool = True) -> float:
    """The points less what each failed check costs (its weight, a share of the points); a
    skipped check costs nothing, but a script that does not run, or runs without sleeping a
    single task (none of the exercise's work), scores nothing at all."""
    judged = [c for c in checks if c.status != "skip"]
    if not judged or not slept or any(c.name == "runs" and c.status == "fail" for c in checks):
        return 0.0
    failed = [c.name for c in judged if c.status == "fail"]
    return round(points * points_left(failed, weights), 2)


def _relative(intervals_of: Observed) -> list[dict[str, float | int]]:
    origin = intervals_of.origin
    return [
        {"pid": i.pid, "start": round(i.start - origin, 6), "end": round(i.end - origin, 6),
         "seconds": i.seconds}
        for i in intervals_of.tasks
    ]


def _blank(exercise: Exercise) -> dict[str, object]:
    return {
        "id": exercise.id, "pattern": exercise.pattern, "file": None, "status": "missing",
        "score": 0.0, "max_score": exercise.points, "wall": None, "workers": 0,
        "checks": [], "intervals": [],
    }


def not_graded(submission: Path | None, exercise: Exercise, why: str) -> dict[str, object]:
    """The entry of an exercise whose grading never finished (the process grading it died).

    It fails and scores 0 like a script that did not run, but with ``wall`` null and the reason
    in its one ``runs`` check, so a reader can tell it apart and grade it again.
    """
    entry = _blank(exercise)
    entry.update({
        "file": find_file(submission, exercise) if submission is not None else None,
        "status": "fail",
        "checks": [{"name": "runs", "status": "fail",
                    "message": f"runs: {_(NOT_GRADED)} {why}"}],
    })
    return entry


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
                owner: str = "local") -> Ahead:
    """The runs of ``exercises`` of one submission, started side by side (see
    :mod:`.ahead`), with this machine calibrated first, while it is still quiet."""
    plans = [p for e in exercises if (p := plan(submission, e, assignment, owner)) is not None]
    measured(start_method(assignment))
    ahead = Ahead(submission, python=assignment.python, owner=owner,
                  pace=empty_script_cost(assignment.python, assignment.unit, owner))
    ahead.start([run for p in plans for run in p.ahead()])
    return ahead


def grade_exercise(
    submission: Path, exercise: Exercise, assignment: Assignment, *, xdist_workers: int = 1,
    owner: str = "local", ahead: Ahead | None = None,
) -> dict[str, object]:
    """The exercise's entry of the JSON report (schema 1), with its checks judged.

    ``owner`` tags the sandbox runs (see :func:`sandbox.sweep`); runs that ``ahead`` started
    already are taken from it rather than run again.
    """
    entry = _blank(exercise)
    planned = plan(submission, exercise, assignment, owner)
    if planned is None:
        entry["checks"] = [{
            "name": "runs", "status": "fail",
            "message": "runs: " + _("no file matching {file!r} in the submission").format(
                file=exercise.file) + _near_misses(submission),
        }]
        return entry
    method = start_method(assignment)
    baseline, limit = planned.baseline, planned.limit

    def run(forced: str | None, unit: float = assignment.unit) -> Observed:
        outcome = ahead.take(planned.key(forced, unit)) if ahead is not None else None
        if outcome is None:
            outcome = run_script(submission, planned.script, unit=unit, limits=planned.limits,
                                 start_method=forced, python=assignment.python, owner=owner)
        return Observed.of(exercise.pattern, exercise.durations, unit, outcome,
                           sleeps=exercise.sleeps, owed=planned.parallel)

    observed = run(assignment.start_method)
    guard = None
    if planned.guarded and observed.outcome.returncode == 0:
        # main_guard judges whether the script survives spawn with every task sleep recorded,
        # not a time, so a first try sleeps less. Code whose children must start before its
        # own sleeps run out (daemons outlived by a sleep) can fail that try for the shorter
        # sleeps alone, so a failure is judged at the full unit, as a pass needs no retry.
        guard = run(REIMPORT, planned.guard[2])
        if not survives_spawn(observed, guard):
            guard = run(REIMPORT)
    elif ahead is not None and planned.guarded:
        ahead.drop(planned.guard)  # not needed: the graded run failed

    def verdicts(seen: Observed) -> list[Check]:
        calibration = _calibration(seen, method)
        return judge(seen, guard, calibration=calibration,
                     tolerance=auto_tolerance(calibration, assignment.unit), baseline=baseline,
                     limit=limit, xdist_workers=xdist_workers)

    checks = verdicts(observed)
    if late(checks):
        # The noise policy: the machine is calibrated afresh and the script runs once more.
        # When lateness was all that failed, every check is judged on that measurement, which
        # the entry then reports; a failed structural check stands as the first run showed it,
        # and only the late verdicts are taken from the second. Timing names the first wall.
        first, alone = observed, late_only(checks)
        _calibration(observed, method, fresh=True)
        again = run(assignment.start_method)
        second = with_earlier(verdicts(again), first.wall)
        if alone:
            checks, observed = second, again
        else:
            redone = {c.name: c for c in second}
            checks = [redone[c.name] if c.late else c for c in checks]
    failed = any(c.status == "fail" for c in checks)
    entry.update({
        "file": planned.script,
        "status": "fail" if failed else "pass",
        "score": score(checks, exercise.points, exercise.weights, slept=bool(observed.tasks)),
        "wall": round(observed.wall, 6),
        "workers": observed.workers,
        "checks": [c.to_dict() for c in checks],
        "intervals": _relative(observed),
    })
    return entry

