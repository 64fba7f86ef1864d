"""Records for the report tests: real runs of the patterns, and gradebooks of the grader's shape."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pytest_sleepbench.core.runner import run_pattern
from pytest_sleepbench.core.sink import Sink
from pytest_sleepbench.core.verdict import SleepbenchInconclusive

# Records are JSON documents; tests index into them freely.
Record = dict[str, Any]

HOSTILE = '<script>alert("pwned")</script> & "Ana"'


def real_record(pattern: str, tmp: Path, *, unit: float = 0.02) -> Record:
    """One real run of ``pattern``, as the session part stores it for the report."""
    sink = Sink.create(tmp / f"{pattern}.sink")
    run = run_pattern(pattern, None, unit=unit, sink=sink)
    try:
        run.check()
        outcome = "passed"
    except AssertionError:
        outcome = "failed"
    except SleepbenchInconclusive:
        # A machine too busy to show the run's timing: the page draws it as such.
        outcome = "inconclusive"
    nodeid = f"tests/test_lesson.py::test_{pattern}"
    return {**run.to_record(), "nodeid": nodeid, "outcome": outcome,
            "title": f"{nodeid} ({pattern})"}


def _exercise(k: int, pattern: str, passed: bool, pid: int) -> Record:
    # A two-process run of two 0.1 s tasks, or, for a failed one, the same tasks one after
    # the other in one process: the picture a grader sees when a student joins too early.
    if passed:
        intervals = [{"pid": pid, "start": 0.01, "end": 0.11, "seconds": 0.1},
                     {"pid": pid + 1, "start": 0.012, "end": 0.112, "seconds": 0.1}]
        wall = 0.115
    else:
        intervals = [{"pid": pid, "start": 0.01, "end": 0.11, "seconds": 0.1},
                     {"pid": pid, "start": 0.11, "end": 0.21, "seconds": 0.1}]
        wall = 0.215
    checks = [
        {"name": "runs", "status": "pass", "message": ""},
        {"name": "overlap", "status": "pass" if passed else "fail",
         "message": "" if passed else "expected: peak concurrency 2\nobserved: peak 1"},
        {"name": "cleanup", "status": "skip", "message": "not checked on this platform"},
    ]
    return {"id": f"ex{k + 1}", "pattern": pattern, "file": f"ex{k + 1}.py",
            "status": "pass" if passed else "fail", "score": 3 if passed else 1,
            "max_score": 3, "wall": wall, "workers": 2 if passed else 1,
            "checks": checks, "intervals": intervals}


def gradebook(students: int, *, hostile: bool = True) -> Record:
    """A grading document (schema 1) for ``students`` submissions of three exercises.

    Every seventh student fails the second exercise; every fifth did not hand in the third.
    The first student's name and one message are hostile markup.
    """
    submissions: list[Record] = []
    for s in range(students):
        exercises = [_exercise(0, "processes", True, 1000 + 10 * s),
                     _exercise(1, "submit", s % 7 != 3, 5000 + 10 * s)]
        if s % 5 == 4:
            exercises.append({"id": "ex3", "pattern": "map", "file": "ex3.py",
                              "status": "missing", "score": 0, "max_score": 3, "wall": None,
                              "workers": None, "checks": [], "intervals": []})
        else:
            exercises.append(_exercise(2, "map", True, 9000 + 10 * s))
        name = HOSTILE if hostile and s == 0 else f"student{s:02d}"
        if hostile and s == 0:
            exercises[0]["checks"] = [{"name": "api", "status": "fail",
                                       "message": "</pre><script>steal()</script>"}]
        score = sum(float(str(e["score"])) for e in exercises)
        submissions.append({"name": name, "score": score, "max_score": 9.0,
                            "exercises": exercises})
    assignment = {
        "title": "Lesson 1: processes",
        "unit": 0.1,
        "exercises": [{"id": f"ex{k + 1}", "pattern": p, "file": f"ex{k + 1}.py",
                       "points": 3, "durations": [1, 1]}
                      for k, p in enumerate(("processes", "submit", "map"))],
    }
    return {"schema": 1, "assignment": assignment, "submissions": submissions}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside ``<title>`` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles.append(data)

    def having(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [a for t, a in self.tags
                if t == tag and (cls is None or cls in a.get("class", "").split())]


def parse(markup: str) -> Elements:
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser
