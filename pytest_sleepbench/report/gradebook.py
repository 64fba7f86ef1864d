"""The gradebook in the formats platforms take: JSON (schema 1), Gradescope, CSV, a text table.

Every file is written through :func:`.files.write_atomic`, so a platform that picks files up
never reads half a report. The formats stay in one module, a little over 300 lines, because
they are one document read four ways: a change to an entry's fields must be seen in all of
them at once.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from ..core.i18n import N_, _, every, ngettext
from ..grading.assignment import Assignment
from ..grading.grade import NOT_GRADED
from .files import write_atomic

__all__ = [
    "STOPPED",
    "combine",
    "document",
    "earlier_entries",
    "gradebook_text",
    "graded",
    "gradescope",
    "package_version",
    "points_text",
    "shown",
    "stopped",
    "to_csv",
    "write_gradescope",
]

Entry = Mapping[str, object]

#: How the reason of an exercise the session never reached ends (see grading's not-graded
#: entries): the gradebook marks it ``stopped``, apart from one whose grader crashed. Marked
#: for translation: it is part of a message, and translated where one is made.
STOPPED = N_("before this exercise was graded")

#: What an exercise's entry holds at least, for every report to be written from it.
ENTRY_KEYS = frozenset({"id", "pattern", "status", "score", "max_score", "wall", "checks"})


def document(assignment: Assignment, entries: Iterable[tuple[str, Entry]],
             sandbox: str | None = None, shard: str | None = None) -> dict[str, object]:
    """The schema-1 JSON document from (submission name, exercise entry) pairs, with the
    isolation the scripts ran under (``sandbox``: its level and what it gives) when known, and
    the shard (``"K/N"``) graded, when only one was.

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
    doc: dict[str, object] = {"schema": 1, "version": package_version(),
                              "assignment": assignment.to_dict()}
    if sandbox is not None:
        doc["sandbox"] = sandbox
    if shard is not None:
        doc["shard"] = shard
    doc["submissions"] = submissions
    return doc


@functools.cache
def package_version() -> str:
    """The version of pytest-sleepbench that grades, recorded in the JSON report so that
    reports of different graders are never merged as one."""
    try:
        return metadata.version("pytest-sleepbench")
    except metadata.PackageNotFoundError:
        return "unknown"  # run from a source tree that was never installed


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


# Characters that move the cursor, end a line, or change what follows (controls, format
# characters such as bidirectional overrides, line and paragraph separators).
_UNSHOWN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def shown(name: str) -> str:
    """A submission's name as a terminal or a spreadsheet shows it: every character that is
    not plain text written as its Python escape, and a backslash doubled, so two names never
    show alike and no name can draw a row of its own or clear the screen. Reports meant for
    programs (JSON, Gradescope) keep the name exact."""
    return "".join(
        "\\\\" if c == "\\" else repr(c)[1:-1] if unicodedata.category(c) in _UNSHOWN else c
        for c in name)


def gradebook_text(doc: Mapping[str, object]) -> list[str]:
    """A table of submission x exercise scores with totals; ``-`` where not graded."""
    ids = _ids(doc)
    subs = _subs(doc)
    heading, total_heading = _("submission"), _("total")
    width = max([len(heading), *(len(shown(str(s["name"]))) for s in subs)])
    cols = [max(6, len(i)) for i in ids]
    lines = [f"{heading:<{width}} " + " ".join(f"{i:>{c}}" for i, c in zip(ids, cols,
             strict=True)) + f" {total_heading:>13}"]
    for sub in subs:
        got = {str(e["id"]): e for e in _exercises(sub)}
        cells = []
        for i, c in zip(ids, cols, strict=True):
            e = got.get(i)
            text = "-" if e is None else _cell(e)
            cells.append(f"{text:>{c}}")
        total = f"{_num(sub['score']):g}/{_num(sub['max_score']):g}"
        lines.append(f"{shown(str(sub['name'])):<{width}} " + " ".join(cells) + f" {total:>13}")
    return lines


def stopped(exercise: Mapping[str, object]) -> bool:
    """Whether the entry is of an exercise the session ended before it was graded."""
    checks = exercise.get("checks")
    first = checks[0] if isinstance(checks, list) and checks else None
    message = str(first.get("message", "")) if isinstance(first, dict) else ""
    # Whatever language wrote the report: an earlier run's may have been in another.
    return (exercise.get("wall") is None
            and any(message.startswith(f"runs: {said}") for said in every(NOT_GRADED))
            and any(message.endswith(said) for said in every(STOPPED)))


def graded(exercise: Mapping[str, object]) -> bool:
    """Whether the entry is a verdict: False for one whose grading never finished (its grader
    crashed, failed or was stopped, or the session ended before it)."""
    # Graded entries always have a wall; one whose grader died (grade.not_graded) has none.
    return not (exercise.get("status") == "fail" and exercise.get("wall") is None)


def _cell(exercise: Mapping[str, object]) -> str:
    if exercise["status"] == "missing":
        return _("missing")
    if stopped(exercise):
        return _("stopped")
    if not graded(exercise):
        return _("crashed")
    return f"{_num(exercise['score']):g}"


def points_text(score: object, max_score: object) -> str:
    """``7.5 of 10 point(s)``, in the reader's language (singular only for a maximum of 1)."""
    most = _num(max_score)
    return ngettext("{score:g} of {points:g} point(s)", "{score:g} of {points:g} point(s)",
                    1 if most == 1 else 2).format(score=_num(score), points=most)


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
        "output": ngettext("{passed} of {count} exercise(s) passed every check.",
                           "{passed} of {count} exercise(s) passed every check.",
                           len(tests)).format(passed=passed, count=len(tests)),
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
        writer.writerow([_inert(shown(str(sub["name"]))), *row, f"{_num(sub['score']):g}",
                         f"{_num(sub['max_score']):g}"])
    return buffer.getvalue()


def _inert(text: str) -> str:
    """A folder name as a spreadsheet shows it, never as a formula it would run
    (``=HYPERLINK(...)``): such a cell is quoted, as spreadsheets themselves do."""
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def write_gradescope(path: str | Path, doc: Mapping[str, object], execution_time: float,
                     *, folder: bool) -> list[Path]:
    """``results.json`` at ``path`` for one submission; with ``folder`` (several submissions),
    ``path`` is a folder with ``<submission>.json`` each (Gradescope grades one submission per
    run).

    The caller chooses from the submissions there are, not from those graded in this run, so
    that a run of some items writes where a run of all of them does.
    """
    subs = _subs(doc)
    target = Path(path)
    if not folder:
        if not subs:
            return []
        write_atomic(target, json.dumps(gradescope(subs[0], execution_time), indent=2) + "\n")
        return [target]
    written = []
    for sub in subs:
        out = target / f"{sub['name']}.json"
        # The session graded the whole class; each file tells the time of its own scripts.
        write_atomic(out, json.dumps(gradescope(sub, _ran(sub)), indent=2) + "\n")
        written.append(out)
    return written


def _ran(sub: Mapping[str, object]) -> float:
    """Seconds the submission's graded scripts ran, by their walls."""
    return sum(_num(e.get("wall")) for e in _exercises(sub))


def earlier_entries(path: Path, assignment: Assignment
                    ) -> tuple[list[tuple[str, dict[str, object]]] | None, str]:
    """The entries of the JSON report already at ``path``, if it can be merged with this run's
    (schema 1, made with the same assignment), with what was found; else None and why not.

    The assignment's path is left out of the comparison: the same exercises, unit and limits
    are the same grading, wherever the file lies or however it was named.
    """
    if not path.exists():
        return None, _("no earlier report at {path}").format(path=path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, _("the earlier report at {path} cannot be read as JSON ({error})").format(
            path=path, error=error)
    if not isinstance(doc, dict) or doc.get("schema") != 1:
        return None, _("the earlier report at {path} is not of schema 1").format(path=path)
    ours = json.loads(json.dumps(assignment.to_dict()))
    theirs = doc.get("assignment")
    if not isinstance(theirs, dict) or {**theirs, "path": None} != {**ours, "path": None}:
        return None, _("the earlier report at {path} was made with another assignment").format(
            path=path)
    # An entry is kept only whole enough for every report to be written from it.
    found = [(str(sub["name"]), e) for sub in _subs(doc) for e in _exercises(sub)
             if "name" in sub and e.keys() >= ENTRY_KEYS]
    return found, _("the earlier report at {path}").format(path=path)


def combine(*layers: Iterable[tuple[str, Entry]]) -> list[tuple[str, Entry]]:
    """One entry per (submission, exercise id): that of the last layer that has one."""
    chosen: dict[tuple[str, str], tuple[str, Entry]] = {}
    for layer in layers:
        for name, entry in layer:
            chosen[(name, str(entry["id"]))] = (name, entry)
    return list(chosen.values())
