"""``autograder run-gradescope``: grade the one submission of a Gradescope autograder.

The grading is an ordinary grading run, ``python -m pytest -p sleepbench``, in a subprocess,
with Gradescope's results as its report and ``--sleepbench-exit-zero``. Whatever happens,
``results/results.json`` is there afterwards: the grader's own, or, when grading could not
start or finish (a broken assignment, a submission of several folders, a grader that died),
one that scores 0 and tells the student why, since Gradescope shows nothing useful without it.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..core.i18n import _, use
from ..grading.assignment import AssignmentError, load
from ..grading.grade import discover
from ..report.files import write_atomic
from .gradescope import ASSIGNMENT

__all__ = ["run_gradescope"]

#: Lines of the grader's output a fallback results.json shows, for the instructor's report.
_TAIL = 30


def run_gradescope(root: Path) -> int:
    started = time.monotonic()
    source, submission = root / "source", root / "submission"
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    # One left by an earlier run must not pass for this one's.
    results.unlink(missing_ok=True)
    assignment = source / ASSIGNMENT
    try:
        course = load(assignment)
    except AssignmentError as error:
        return _fallback(results, started, "The autograder's assignment file is broken, so "
                         f"nothing was graded; please tell your instructor. ({error})")
    # What the student reads from here on is in the assignment's language, as the grading is.
    if course.lang is not None:
        use(course.lang)
    if not submission.is_dir():
        return _fallback(results, started, _("There is no submission at {path}.").format(
            path=submission))
    found = discover(submission, course)
    if len(found) != 1:
        globs = ", ".join(e.file for e in course.exercises)
        folders = ", ".join(name for name, _folder in found)
        return _fallback(results, started, _(
            "Your submission holds the folders {folders} and no exercise file beside them, so "
            "there is no telling which one to grade. Submit the exercise files ({globs}) at the "
            "top of your submission, or in a single folder.").format(folders=folders,
                                                                      globs=globs))
    code, tail = _grade(submission, assignment, results, cwd=source)
    if _valid(results):
        return code
    return _fallback(results, started, _(
        "The grader stopped (exit status {code}) before it wrote the results, so this "
        "submission was not graded; please tell your instructor. Its last lines:").format(
        code=code) + "\n" + "\n".join(tail))


def _grade(submission: Path, assignment: Path, results: Path, *, cwd: Path
           ) -> tuple[int, list[str]]:
    """Run the grader, its output passed through to the autograder's log; its exit status
    and last lines."""
    command = [
        sys.executable, "-m", "pytest", "-p", "sleepbench", "-p", "no:cacheprovider",
        # Nothing read from any folder: no ini file, no conftest.
        "-c", os.devnull, "--noconftest", f"--rootdir={cwd}",
        f"--sleepbench-grade={submission}", f"--sleepbench-assignment={assignment}",
        f"--sleepbench-gradescope={results}", "--sleepbench-exit-zero",
    ]
    # The grading run is configured by its command line alone, not by the environment of
    # whoever started this one.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST",
                                "PYTEST_CURRENT"))}
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL)
    with subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as grader:
        assert grader.stdout is not None
        for line in grader.stdout:
            sys.stdout.write(line)
            tail.append(line.rstrip("\n"))
    sys.stdout.flush()
    return grader.returncode, list(tail)


def _valid(results: Path) -> bool:
    try:
        doc = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("tests"), list)


def _fallback(results: Path, started: float, output: str) -> int:
    print(f"sleepbench: {output}", file=sys.stderr)
    write_atomic(results, json.dumps({
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 3),
        "output": output,
        "tests": [],
    }, indent=2) + "\n")
    return 1
