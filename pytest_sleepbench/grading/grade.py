"""Grade one exercise of one submission: find the file, run it twice, judge, score.

The second run makes every child import the script afresh, so the main-guard check sees what
``spawn`` (Windows, macOS) would do; it is skipped when ``spawn`` is the configured method
or the exercise starts no processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core.bounds import auto_tolerance
from ..core.calibrate import Calibration, measured
from ..core.i18n import N_, _
from ..core.lesson import START_METHODS
from .ahead import Ahead
from .assignment import Assignment, Exercise
from .checks import Check, Observed, judge, late, late_only, survives_spawn, with_earlier
from .plan import find_file, plan, start_method
from .policy import DEFAULT_WEIGHTS, points_left
from .sandbox import REIMPORT, run_script

__all__ = ["NOT_GRADED", "discover", "grade_exercise", "not_graded", "score"]

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


def _calibration(seen: Observed, default: str, *, fresh: bool = False) -> Calibration:
    """The calibration of the start method the script really used (it may choose its own,
    as ``get_context("spawn")`` does); of the costliest, if it used several."""
    used = set(seen.outcome.recording.methods) & set(START_METHODS) or {default}
    found = [measured(m, fresh=fresh) for m in sorted(used)]
    return max(found, key=lambda c: c.startup)


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
            # Only a second run that ran is a measurement: one that crashed, timed out or was
            # forged skips its checks, and a skip would erase the first run's failure.
            ran = all(c.status == "pass" for c in second if c.name == "runs")
            redone = {c.name: c for c in second if c.status in ("pass", "fail")}
            checks = [redone.get(c.name, c) if c.late and ran else c for c in checks]
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

