"""The gradebook in the formats platforms take: JSON (schema 1), Gradescope, CSV, a text table.

Every file is written atomically (a temporary file in the same folder, then a rename), so a
platform that picks files up never reads half a report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from .assignment import Assignment

__all__ = ["document", "gradebook_text", "gradescope", "to_csv", "write_atomic", "write_gradescope"]

Entry = Mapping[str, object]


def document(assignment: Assignment, entries: Iterable[tuple[str, Entry]]) -> dict[str, object]:
    """The schema-1 JSON document from (submission name, exercise entry) pairs.

    Submissions are sorted by name and exercises kept in assignment order, whatever order the
    entries arrived in (xdist workers finish in any order).
    """
    order = {e.id: k for k, e in enumerate(assignment.exercises)}
    by_name: dict[str, list[Entry]] = {}
    for name, entry in entries:
        by_name.setdefault(name, []).append(entry)
    submissions = []
    for name in sorted(by_name):
        exercises = sorted(by_name[name], key=lambda e: order.get(str(e["id"]), len(order)))
        submissions.append({
            "name": name,
            "score": round(sum(_num(e["score"]) for e in exercises), 2),
            "max_score": round(sum(_num(e["max_score"]) for e in exercises), 2),
            "exercises": [dict(e) for e in exercises],
        })
    return {"schema": 1, "assignment": assignment.to_dict(), "submissions": submissions}


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _subs(doc: Mapping[str, object]) -> list[dict[str, object]]:
    subs = doc.get("submissions")
    return [s for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []


def _exercises(sub: Mapping[str, object]) -> list[dict[str, object]]:
    exs = sub.get("exercises")
    return [e for e in exs if isinstance(e, dict)] if isinstance(exs, list) else []


def _ids(doc: Mapping[str, object]) -> list[str]:
    assignment = doc.get("assignment")
    listed = assignment.get("exercises") if isinstance(assignment, dict) else None
    ids = [str(e["id"]) for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    graded = {str(e["id"]) for s in _subs(doc) for e in _exercises(s)}
    return [i for i in ids if i in graded]


def gradebook_text(doc: Mapping[str, object]) -> list[str]:
    """A table of submission x exercise scores with totals; ``-`` where not graded."""
    ids = _ids(doc)
    subs = _subs(doc)
    width = max([10, *(len(str(s["name"])) for s in subs)])
    cols = [max(6, len(i)) for i in ids]
    lines = [f"{'submission':<{width}} " + " ".join(f"{i:>{c}}" for i, c in zip(ids, cols,
             strict=True)) + f" {'total':>13}"]
    for sub in subs:
        got = {str(e["id"]): e for e in _exercises(sub)}
        cells = []
        for i, c in zip(ids, cols, strict=True):
            e = got.get(i)
            text = "-" if e is None else _cell(e)
            cells.append(f"{text:>{c}}")
        total = f"{_num(sub['score']):g}/{_num(sub['max_score']):g}"
        lines.append(f"{sub['name']!s:<{width}} " + " ".join(cells) + f" {total:>13}")
    return lines


def _cell(exercise: Mapping[str, object]) -> str:
    if exercise["status"] == "missing":
        return "missing"
    if exercise["status"] == "fail" and exercise.get("wall") is None:
        # Graded entries always have a wall; one whose grader died (grade.not_graded) has none.
        return "crashed"
    return f"{_num(exercise['score']):g}"


def _output(exercise: Mapping[str, object]) -> str:
    checks = exercise.get("checks")
    parts = []
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict):
            parts.append(f"{check['name']}: {check['status']}")
            if check.get("status") == "fail" and check.get("message"):
                parts.append(str(check["message"]).rstrip() + "\n")
    return "\n".join(parts)


def gradescope(sub: Mapping[str, object], execution_time: float) -> dict[str, object]:
    """One submission as Gradescope's ``results.json``: a test per exercise."""
    tests = []
    for e in _exercises(sub):
        tests.append({
            "name": f"{e['id']} ({e['pattern']})",
            "number": str(e["id"]),
            "score": _num(e["score"]),
            "max_score": _num(e["max_score"]),
            "status": "passed" if e["status"] == "pass" else "failed",
            "output": _output(e),
            "visibility": "visible",
        })
    passed = sum(t["status"] == "passed" for t in tests)
    return {
        "score": _num(sub["score"]),
        "execution_time": round(execution_time, 3),
        "output": f"{passed} of {len(tests)} exercise(s) passed every check.",
        "tests": tests,
    }


def to_csv(doc: Mapping[str, object]) -> str:
    """A row per submission, a column per exercise, then total and maximum."""
    ids = _ids(doc)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *ids, "total", "max_score"])
    for sub in _subs(doc):
        got = {str(e["id"]): e for e in _exercises(sub)}
        row = [f"{_num(got[i]['score']):g}" if i in got else "" for i in ids]
        writer.writerow([sub["name"], *row, f"{_num(sub['score']):g}",
                         f"{_num(sub['max_score']):g}"])
    return buffer.getvalue()


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: an interrupted write leaves the old file
    (or none), never half a report. The file gets the mode a plain ``open`` would give it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        # mkstemp makes the file private (0600); a report is meant to be read and uploaded.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it, so set it straight back
    os.umask(mask)
    return mask


def write_gradescope(path: str | Path, doc: Mapping[str, object], execution_time: float
                     ) -> list[Path]:
    """``results.json`` at ``path`` for one submission; for several, ``path`` is a folder
    with ``<submission>.json`` each (Gradescope grades one submission per run)."""
    subs = _subs(doc)
    target = Path(path)
    if len(subs) == 1:
        write_atomic(target, json.dumps(gradescope(subs[0], execution_time), indent=2) + "\n")
        return [target]
    written = []
    for sub in subs:
        out = target / f"{sub['name']}.json"
        write_atomic(out, json.dumps(gradescope(sub, execution_time), indent=2) + "\n")
        written.append(out)
    return written
