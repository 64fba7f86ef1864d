"""The assignment file: which exercises to grade, where to find them, what they are worth.

A mistake in the file stops the run with a message that names the file, the line and the fix;
TOML syntax errors keep the line and column ``tomllib`` reports.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.lesson import DEFAULT_DURATIONS, PATTERNS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["DEFAULT", "Assignment", "AssignmentError", "Exercise", "load", "parse"]

DEFAULT = Path(__file__).with_name("default.toml")

_TOP = {"unit", "start_method", "timeout", "memory_mb", "processes", "output_kb", "python",
        "exercise"}
_EXERCISE = {"id", "pattern", "file", "points", "durations", "timeout"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class AssignmentError(Exception):
    """A usage error in an assignment file; ``str()`` names the file and line."""


@dataclass(frozen=True)
class Exercise:
    id: str
    pattern: str
    file: str
    """A glob relative to the submission folder."""
    points: float
    durations: tuple[float, ...]
    timeout: float | None = None


@dataclass(frozen=True)
class Assignment:
    path: str
    unit: float
    exercises: tuple[Exercise, ...]
    start_method: str | None = None
    timeout: float | None = None
    memory: int = 1 << 30
    processes: int = 64
    output: int = 1 << 20
    python: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "unit": self.unit,
            "start_method": self.start_method,
            "timeout": self.timeout,
            "memory_mb": self.memory >> 20,
            "processes": self.processes,
            "output_kb": self.output >> 10,
            "exercises": [
                {"id": e.id, "pattern": e.pattern, "file": e.file, "points": e.points,
                 "durations": list(e.durations)}
                for e in self.exercises
            ],
        }


class _Lines:
    """Finds the line a key sits on, since ``tomllib`` keeps no positions for values."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [n for n, line in enumerate(self.lines, 1)
                        if re.match(r"^\s*\[\[\s*exercise\s*\]\]", line)]

    def of(self, key: str, table: int | None = None) -> int:
        first, last = 1, (self.headers[0] - 1 if self.headers else len(self.lines))
        if table is not None:
            first = self.headers[table] if table < len(self.headers) else 1
            last = self.headers[table + 1] - 1 if table + 1 < len(self.headers) else len(
                self.lines)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for n in range(first, last + 1):
            if pattern.match(self.lines[n - 1]):
                return n
        return first


def load(path: str | Path | None) -> Assignment:
    """Read an assignment file, or the built-in default when ``path`` is ``None``."""
    source = Path(path) if path is not None else DEFAULT
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise AssignmentError(
            f"{source}: cannot read the assignment file ({error.strerror or error}); "
            "check the path given to --sleepbench-assignment"
        ) from None
    return parse(text, str(source))


def parse(text: str, name: str = "<assignment>") -> Assignment:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AssignmentError(f"{name}: not valid TOML: {error}") from None
    lines = _Lines(text)

    def bad(why: str, key: str, table: int | None = None, fix: str = "") -> AssignmentError:
        where = lines.of(key, table)
        return AssignmentError(f"{name}:{where}: {why}" + (f"; {fix}" if fix else ""))

    extra = sorted(set(data) - _TOP)
    if extra:
        raise bad(f"unknown key {extra[0]!r}", extra[0],
                  fix=f"top-level keys are {', '.join(sorted(_TOP - {'exercise'}))}")
    unit = _positive(data, "unit", bad, None, required=True)
    method = data.get("start_method")
    if method is not None and method not in multiprocessing.get_all_start_methods():
        raise bad(f"start_method {method!r} is not available here", "start_method",
                  fix=f"use one of {', '.join(multiprocessing.get_all_start_methods())}")
    tables = data.get("exercise")
    if not isinstance(tables, list) or not tables:
        raise AssignmentError(f"{name}:1: no exercises; add at least one [[exercise]] table "
                              "with id, pattern, file and points")
    exercises = [_exercise(t, k, bad) for k, t in enumerate(tables)]
    seen: set[str] = set()
    for k, ex in enumerate(exercises):
        if ex.id in seen:
            raise bad(f"exercise id {ex.id!r} is used twice", "id", k, fix="ids must be unique")
        seen.add(ex.id)
    python = data.get("python")
    if python is not None and not isinstance(python, str):
        raise bad("python must be a string (a path to an interpreter)", "python")
    return Assignment(
        path=name,
        unit=unit,
        exercises=tuple(exercises),
        start_method=method,
        timeout=_positive(data, "timeout", bad, None) if "timeout" in data else None,
        memory=int(_positive(data, "memory_mb", bad, None, default=1024)) << 20,
        processes=int(_positive(data, "processes", bad, None, default=64, whole=True)),
        output=int(_positive(data, "output_kb", bad, None, default=1024)) << 10,
        python=python,
    )


def _positive(
    table: Mapping[str, object], key: str, bad: object, index: int | None, *,
    required: bool = False, default: float | None = None, whole: bool = False,
) -> float:
    assert callable(bad)
    value = table.get(key)
    if value is None:
        if required:
            raise bad(f"missing key {key!r}", key, index,
                      fix=f"add `{key} = <number>`")
        return 0.0 if default is None else default
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        what = "a positive whole number" if whole else "a positive number"
        raise bad(f"{key} must be {what}, got {value!r}", key, index)
    return float(value)


def _exercise(table: object, k: int, bad: object) -> Exercise:
    assert callable(bad)
    if not isinstance(table, dict):
        raise bad("exercise must be a table", "exercise", k, fix="write it as [[exercise]]")
    extra = sorted(set(table) - _EXERCISE)
    if extra:
        raise bad(f"unknown key {extra[0]!r} in exercise {k + 1}", extra[0], k,
                  fix=f"exercise keys are {', '.join(sorted(_EXERCISE))}")
    for key in ("id", "pattern", "file", "points"):
        if key not in table:
            raise bad(f"exercise {k + 1} has no {key!r}", key, k,
                      fix=f"add `{key} = ...` to this [[exercise]] table")
    ident, pattern, file = table["id"], table["pattern"], table["file"]
    if not isinstance(ident, str) or not _ID.match(ident):
        raise bad(f"id must be a name of letters, digits, '_', '.' or '-', got {ident!r}",
                  "id", k)
    if pattern not in PATTERNS:
        raise bad(f"unknown pattern {pattern!r}", "pattern", k,
                  fix=f"use one of {', '.join(PATTERNS)}")
    if not isinstance(file, str) or not file or file.startswith("/") or ".." in Path(
            file).parts:
        raise bad(f"file must be a glob relative to the submission folder, got {file!r}",
                  "file", k)
    points = table["points"]
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0:
        raise bad(f"points must be a number of at least 0, got {points!r}", "points", k)
    durations = table.get("durations", DEFAULT_DURATIONS[str(pattern)])
    if (not isinstance(durations, list | tuple) or not durations or not all(
            isinstance(d, int | float) and not isinstance(d, bool) and d >= 0
            for d in durations)):
        raise bad(f"durations must be a non-empty list of numbers of at least 0, "
                  f"got {durations!r}", "durations", k)
    timeout = table.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(
            timeout, int | float) or timeout <= 0):
        raise bad(f"timeout must be a positive number, got {timeout!r}", "timeout", k)
    return Exercise(
        id=ident, pattern=str(pattern), file=file, points=float(points),
        durations=tuple(float(d) for d in durations),
        timeout=None if timeout is None else float(timeout),
    )
