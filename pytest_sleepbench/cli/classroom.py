"""``classroom``: a JSON report's points in the form GitHub Classroom's grading reporter reads.

The reporter (``classroom-resources/autograding-grading-reporter``) takes each runner's result
from an environment variable, base64-encoded JSON: ``max_score``, and ``tests`` whose
``score`` values it adds up as the points GitHub Classroom records. One test per exercise, so
partial credit and the reasons reach the student as they are in the gradebook.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ..core.i18n import _
from ..report.gradebook import graded, points_text
from ..report.merge import MergeError, read_report
from .errors import CliError

__all__ = ["points", "print_points"]


def print_points(path: Path) -> int:
    try:
        doc = read_report(path)
    except MergeError as error:
        raise CliError(str(error)) from None
    encoded = base64.b64encode(json.dumps(points(doc)).encode()).decode()
    # One line, as $GITHUB_OUTPUT takes it: base64 holds no line break.
    print(f"result={encoded}")
    return 0


def points(doc: dict[str, object]) -> dict[str, object]:
    subs = [s for s in doc["submissions"] if isinstance(s, dict)]  # type: ignore[attr-defined]
    tests: list[dict[str, object]] = []
    for sub in subs:
        # A student's repository is one submission; a folder of several names each test.
        prefix = f"{sub['name']}: " if len(subs) > 1 else ""
        for e in sub["exercises"]:
            status = ("pass" if e["status"] == "pass" else "fail" if graded(e) else "error")
            tests.append({
                "name": f"{prefix}{e['id']} ({e['pattern']})",
                "status": status,
                "score": e["score"],
                "message": _message(e),
                "test_code": _("sleepbench grades {file}").format(
                    file=e.get("file") or _("a missing file")),
                "filename": e.get("file") or "",
                "line_no": 0,
                "duration": round(1000 * float(e.get("wall") or 0.0)),
            })
    statuses = {t["status"] for t in tests}
    return {
        "version": 1,
        "status": next((s for s in ("error", "fail") if s in statuses), "pass"),
        "max_score": sum(float(s["max_score"]) for s in subs),
        "tests": tests,
    }


def _message(exercise: dict[str, object]) -> str:
    head = points_text(exercise["score"], exercise["max_score"])
    checks = exercise.get("checks")
    lost = [str(c.get("message", "")).rstrip() for c in checks if isinstance(c, dict)
            and c.get("status") == "fail"] if isinstance(checks, list) else []
    return "\n\n".join([head, *lost])
