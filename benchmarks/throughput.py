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

from .table import Row, verdict

__all__ = ["REFERENCE", "measure"]

REFERENCE = Path(__file__).resolve().parent.parent / "examples" / "submissions" / "reference"
TARGET = 1.5


def measure(submissions: int, as_written: int) -> list[Row]:
    scripts = sorted(REFERENCE.glob("*.py")) if REFERENCE.is_dir() else []
    if not scripts:
        return [Row("grading", f"{submissions} correct submissions, -n auto",
                    f"pending: no reference solutions in {REFERENCE}", f"<= {TARGET:g} s each",
                    "")]
    with tempfile.TemporaryDirectory(prefix="sleepbench-class-") as folder:
        base = Path(folder)
        (base / "pytest.ini").write_text("[pytest]\n")
        for k in range(submissions):
            shutil.copytree(REFERENCE, base / "class" / f"s{k + 1:03d}")
        book = base / "gradebook.json"
        begin = now()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "sleepbench", "--sleepbench-grade=class",
             "-n", "auto", f"--sleepbench-json={book}", "-q", "-p", "no:cacheprovider"],
            cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        graded = now() - begin
        passing, total = _passing(book) if book.exists() else (0, 0)
    per = graded / submissions
    ok = per <= TARGET and passing == submissions
    rows = [Row("grading", f"{submissions} correct submissions, -n auto",
                f"{per:.2f} s each ({graded:.1f} s), {passing}/{submissions} full marks",
                f"<= {TARGET:g} s each, all pass", verdict(ok),
                data={"seconds": graded, "per_submission": per, "submissions": submissions,
                      "graded": total, "full_marks": passing, "exit_code": done.returncode})]
    if as_written > 0:
        written = _as_written(scripts, as_written)
        rows.append(Row("grading", f"same scripts as written, sequential ({as_written} run)",
                        f"{written:.2f} s each ({written / per:.1f}x the grader)",
                        data={"per_submission": written, "submissions_run": as_written}))
    return rows


def _passing(book: Path) -> tuple[int, int]:
    doc = json.loads(book.read_text())
    subs = [s for s in doc.get("submissions", []) if isinstance(s, dict)]
    full = sum(1 for s in subs if s.get("score") == s.get("max_score") and s.get("max_score"))
    return full, len(subs)


def _as_written(scripts: list[Path], copies: int) -> float:
    """Seconds per submission for its scripts run one after another, as a student would."""
    begin = now()
    for _ in range(copies):
        for script in scripts:
            subprocess.run([sys.executable, script.name], cwd=script.parent, check=True,
                           stdout=subprocess.DEVNULL)
    return (now() - begin) / copies
