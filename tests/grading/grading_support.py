"""Shared pieces of the grading tests: a fast assignment and a way to see a run's processes."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import textwrap
from pathlib import Path

import psutil
import pytest

from pytest_sleepbench.grading.assignment import Assignment, parse
from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.isolation import issued_uids

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"

_EXERCISES = (("ex1", "serial", "ex1_serial*.py"), ("ex2", "processes", "ex2_processes*.py"),
              ("ex2_1", "process_loop", "ex2_1_process_loop*.py"),
              ("ex3_1", "submit", "ex3_1_submit*.py"),
              ("ex3_2", "as_completed", "ex3_2_as_completed*.py"),
              ("ex3_3", "map", "ex3_3_map*.py"))


def course(*ids: str, extra: str = "") -> str:
    """An assignment of the built-in exercises named (all of them when none is) at 20 ms per
    tutorial second, which keeps grading quick while the tasks still last several times the
    machine's start-up noise."""
    tables = [f'[[exercise]]\nid = "{ident}"\npattern = "{pattern}"\nfile = "{glob}"\n'
              "points = 10\n" for ident, pattern, glob in _EXERCISES if not ids or ident in ids]
    return f"unit = 0.02\n{extra}\n" + "\n".join(tables)


#: :func:`course` with every exercise, and ``{extra}`` for top-level lines.
FAST = course(extra="{extra}")


def fast_assignment(extra: str = "") -> Assignment:
    return parse(FAST.format(extra=extra), "fast.toml")


def exercise(assignment: Assignment, ident: str) -> object:
    return next(e for e in assignment.exercises if e.id == ident)


def submission(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def copy_reference(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(EXAMPLES / "reference" / name, folder / name)
    return folder


def run_processes() -> list[psutil.Process]:
    """Processes alive under a user id this process gave a run (only meaningful when the
    grader is root)."""
    uids = issued_uids()
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        try:
            if proc.info["uids"].real in uids and (
                    proc.info["status"] != psutil.STATUS_ZOMBIE):
                found.append(proc)
        except psutil.Error:
            continue
    return found


ROOT = os.geteuid() == 0
#: For a test that grades in the sandbox, which isolates each run by a user id of its own.
needs_root = pytest.mark.skipif(not ROOT, reason="the sandbox isolates runs by user id as root")


def grade_script(folder: Path, ident: str, source: str, limit: float, /, **extra: object
                 ) -> dict[str, object]:
    """Grade ``source`` as the file of exercise ``ident`` of the fast course with a time
    limit of ``limit`` seconds (``extra`` replacing the exercise's fields, its own
    ``timeout`` among them) and check that no process of its run outlived it."""
    assignment = fast_assignment(f"timeout = {limit}")
    ex = next(e for e in assignment.exercises if e.id == ident)
    ex = dataclasses.replace(ex, **extra)  # type: ignore[arg-type]
    entry = grade_exercise(submission(folder, {ex.file.replace("*", ""): source}), ex,
                           assignment)
    assert not run_processes(), "a process of the run outlived the grading"
    return entry


def statuses(entry: dict[str, object]) -> dict[str, str]:
    """Each check's status in a graded entry, by name."""
    return {c["name"]: c["status"] for c in checks_of(entry)}


def checks_of(entry: dict[str, object]) -> list[dict[str, str]]:
    checks = entry["checks"]
    assert isinstance(checks, list)
    return checks


def message_of(entry: dict[str, object], name: str) -> str:
    """The message of the check ``name`` in a graded entry."""
    return str(next(c["message"] for c in checks_of(entry) if c["name"] == name))


#: A conftest (outside the graded folder, as an instructor's own would be) whose grader breaks
#: on the submission named bob.
BROKEN_GRADER = """\
import pytest_sleepbench._plugin.grade_items as grading

real = grading.grade_exercise

def broken(folder, *args, **kwargs):
    if folder.name == "bob":
        raise RuntimeError("the grader broke")
    return real(folder, *args, **kwargs)

grading.grade_exercise = broken
"""


def order_shown(entry: dict[str, object], unit: float = 0.02) -> bool:
    """Whether the tasks of a graded ``as_completed`` run of durations 5, 4, 3, 2, 1 ended out
    of that submission order by more than twice the grader's tie window (a quarter of the
    unit), so a script that reads its results in submission order must be caught. A loaded
    machine can end them in that very order (a pool's second worker two task-lengths late);
    then nothing of that mistake shows, and the grader cannot be asked to see it."""
    intervals = entry["intervals"]
    assert isinstance(intervals, list) and len(intervals) == 5, intervals
    ends = [i["end"] for i in sorted(intervals, key=lambda i: -i["seconds"])]
    return any(a > b + unit / 2 for a, b in itertools.pairwise(ends))
