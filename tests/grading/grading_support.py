"""Shared pieces of the grading tests: a fast assignment and a way to see a run's processes."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import psutil

from pytest_sleepbench.grading.assignment import Assignment, parse
from pytest_sleepbench.grading.sandbox import sandbox_uid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"

#: The built-in exercises at 20 ms per tutorial second, which keeps grading quick while the
#: tasks still last several times the machine's start-up noise.
FAST = textwrap.dedent("""\
    unit = 0.02
    {extra}
    [[exercise]]
    id = "ex1"
    pattern = "serial"
    file = "ex1_serial*.py"
    points = 10

    [[exercise]]
    id = "ex2"
    pattern = "processes"
    file = "ex2_processes*.py"
    points = 10

    [[exercise]]
    id = "ex2_1"
    pattern = "process_loop"
    file = "ex2_1_process_loop*.py"
    points = 10

    [[exercise]]
    id = "ex3_1"
    pattern = "submit"
    file = "ex3_1_submit*.py"
    points = 10

    [[exercise]]
    id = "ex3_2"
    pattern = "as_completed"
    file = "ex3_2_as_completed*.py"
    points = 10

    [[exercise]]
    id = "ex3_3"
    pattern = "map"
    file = "ex3_3_map*.py"
    points = 10
""")


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
    """Processes alive under the sandbox's user id (only meaningful when the grader is root)."""
    uid = sandbox_uid()
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        try:
            if uid is not None and proc.info["uids"].real == uid and (
                    proc.info["status"] != psutil.STATUS_ZOMBIE):
                found.append(proc)
        except psutil.Error:
            continue
    return found


ROOT = os.geteuid() == 0
