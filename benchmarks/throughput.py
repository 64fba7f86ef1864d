"""Grading throughput: a class of correct submissions graded under ``-n auto``.

Measured against the same scripts run as written (``python script.py``, one after another),
which sleep their real, unscaled seconds: that is the time a grader without the plugin waits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_sleepbench.core.clock import now

from .conditions import busy_loops
from .latency import assignment_at
from .table import Row, verdict

__all__ = ["REFERENCE", "measure"]

REFERENCE = Path(__file__).resolve().parent.parent / "examples" / "submissions" / "reference"
TARGET = 1.5


def measure(submissions: int, as_written: int, unit: float) -> list[Row]:
    scripts = sorted(REFERENCE.glob("*.py")) if REFERENCE.is_dir() else []
    if not scripts:
        return [Row("grading", f"{submissions} correct submissions, -n auto",
                    f"pending: no reference solutions in {REFERENCE}", f"<= {TARGET:g} s each",
                    "")]
    with tempfile.TemporaryDirectory(prefix="sleepbench-class-") as folder:
        book, graded, code = _grade(Path(folder), REFERENCE, submissions, ["-n", "auto"], unit)
        passing, total = _passing(book) if book.exists() else (0, 0)
        repeated = _repeated(book) if book.exists() else 0
    per = graded / submissions
    ok = per <= TARGET and passing == submissions
    rows = [Row("grading", f"{submissions} correct submissions, unit {unit:g}, -n auto",
                f"{per:.2f} s each ({graded:.1f} s), {passing}/{submissions} full marks, "
                f"{repeated}/{submissions * len(scripts)} timed twice",
                f"<= {TARGET:g} s each, all pass", verdict(ok),
                data={"seconds": graded, "per_submission": per, "submissions": submissions,
                      "graded": total, "full_marks": passing, "timed_twice": repeated,
                      "exit_code": code, "unit": unit})]
    rows.append(_disguised(max(submissions // 4, 1), unit))
    if as_written > 0:
        written = _as_written(scripts, as_written)
        rows.append(Row("grading", f"same scripts as written, sequential ({as_written} run)",
                        f"{written:.2f} s each ({written / per:.1f}x the grader)",
                        data={"per_submission": written, "submissions_run": as_written}))
    return rows


def _grade(base: Path, model: Path, copies: int, args: list[str], unit: float
           ) -> tuple[Path, float, int]:
    """Grade ``copies`` copies of the submission ``model`` at ``unit``: the gradebook,
    seconds, exit code."""
    (base / "pytest.ini").write_text("[pytest]\n")
    assignment_at(base, unit)
    for k in range(copies):
        shutil.copytree(model, base / "class" / f"s{k + 1:03d}")
    book = base / "gradebook.json"
    begin = now()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "sleepbench", "--sleepbench-grade=class",
         "--sleepbench-assignment=assignment.toml",
         f"--sleepbench-json={book}", "-q", "-p", "no:cacheprovider", *args],
        cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return book, now() - begin, done.returncode


def _disguised(copies: int, unit: float) -> Row:
    """The same serial runs in disguise graded alone, under -n auto and beside two busy
    loops: how often each of the two checks that can catch them does, so the ways of grading
    can be compared."""
    model = REFERENCE.parent / "serial_in_disguise"
    caught: dict[str, dict[str, int]] = {}
    for name, args, hogs in (("alone", [], 0), ("-n auto", ["-n", "auto"], 0),
                             ("2 busy loops", [], 2)):
        with tempfile.TemporaryDirectory(prefix="sleepbench-disguise-") as folder, \
                busy_loops(hogs):
            book, _, _ = _grade(Path(folder), model, copies, args, unit)
            fails = _failed_checks(book) if book.exists() else []
        caught[name] = {c: fails.count(c) for c in ("overlap", "timing")}
    exercises = 2 * copies  # the folder holds its ex2 and ex3_1
    value = "; ".join(
        f"{name}: overlap {c['overlap']}/{exercises}, timing {c['timing']}/{exercises}"
        for name, c in caught.items()
    )
    # Every one must lose its points in every condition; overlap, which judges structure, is
    # the check that owes it. Timing's count is shown beside it: under load, the time the
    # machine took from a script is forgiven, and a unit of two-task work may hide in it.
    ok = all(c["overlap"] == exercises for c in caught.values())
    return Row("grading", f"{copies} serial runs in disguise, checks that caught them", value,
               "every one, in every condition", verdict(ok),
               data={"exercises": exercises, **caught})


def _failed_checks(book: Path) -> list[str]:
    doc = json.loads(book.read_text())
    return [
        str(check.get("name")) for sub in doc.get("submissions", [])
        for ex in sub.get("exercises", []) if ex.get("status") != "missing"
        for check in ex.get("checks", []) if check.get("status") == "fail"
    ]


def _passing(book: Path) -> tuple[int, int]:
    doc = json.loads(book.read_text())
    subs = [s for s in doc.get("submissions", []) if isinstance(s, dict)]
    full = sum(1 for s in subs if s.get("score") == s.get("max_score") and s.get("max_score"))
    return full, len(subs)


def _repeated(book: Path) -> int:
    """Exercises whose timing passed only on its second attempt: how close correct runs came
    to the upper bound."""
    doc = json.loads(book.read_text())
    return sum(
        1 for sub in doc.get("submissions", []) for ex in sub.get("exercises", [])
        for check in ex.get("checks", [])
        if check.get("name") == "timing" and "second attempt" in str(check.get("message"))
    )


def _as_written(scripts: list[Path], copies: int) -> float:
    """Seconds per submission for its scripts run one after another, as a student would."""
    begin = now()
    for _ in range(copies):
        for script in scripts:
            subprocess.run([sys.executable, script.name], cwd=script.parent, check=True,
                           stdout=subprocess.DEVNULL)
    return (now() - begin) / copies
