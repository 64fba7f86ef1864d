"""The assignment file: which exercises to grade, where to find them, what they are worth.

A mistake in the file stops the run with a message that names the file, the line and the fix,
TOML syntax errors included (at the line and column ``tomllib`` reports).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from ..core.i18n import language_problem
from ..core.lesson import DEFAULT_DURATIONS, PATTERNS, durations_problem, start_method_problem
from .lines import Lines, syntax
from .policy import DEFAULT_WEIGHTS, sleeps_of, weights_of, workers_of
from .values import Bad, number

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["DEFAULT", "Assignment", "AssignmentError", "Exercise", "load", "parse"]

DEFAULT = Path(__file__).with_name("default.toml")

_TOP = {"unit", "start_method", "timeout", "memory_mb", "processes", "output_kb", "python",
        "lang", "weights", "exercise"}
_EXERCISE = {"id", "pattern", "file", "points", "durations", "sleeps", "workers", "weights",
             "timeout"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: One part of a glob's name, as fnmatch reads it: a class (``[...]``), ``*``, or a character.
_GLOB_PART = re.compile(r"\[!?\]?[^\]]*\]|.", re.DOTALL)

# Limits, each with the reason for its bounds, given in the error. The floors were measured with
# CPython 3.11 on Linux, running the lesson's reference scripts through the grader.
_DAY = 86400
_TIMEOUT_WHY = ("it is seconds per script run, at most a day (much more overflows "
                "pytest-timeout's timer)")
_MEMORY_MB = (64, 1 << 30)  # the ceiling keeps RLIMIT_AS in bytes within a signed 64-bit integer
_MEMORY_WHY = ("it caps each process's address space in MiB, and a Python interpreter needs "
               "16 MiB just to import multiprocessing and concurrent.futures, and a process "
               "pool about 40")
def default_processes() -> int:
    """The default process cap: 64, or more on a machine whose ``os.cpu_count()`` (what a
    ``ProcessPoolExecutor()`` starts, each worker with a thread or two of its own) would
    need it, so correct pool code is never cut off by the size of the grader's machine."""
    return max(64, 4 * (os.cpu_count() or 1) + 32)


_PROCESSES = (32, 1 << 22)  # the ceiling is Linux's largest pid_max
_PROCESSES_WHY = ("every process and thread of a run counts, and the lesson's loop of ten "
                  "processes already needs 13 under forkserver")
_OUTPUT_KB = 64
_OUTPUT_WHY = ("it is KiB of output kept per run, and the lesson's ten processes, run unguarded "
               "under spawn, print 30 KiB of tracebacks, which must fit to be reported")
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
    sleeps: str = "exact"
    """``exact``: the tasks sleep ``durations``; ``any``: the model is what they slept."""
    workers: int | None = None
    """Tasks owed at once; ``None``: what a default pool gets, or one process a task."""
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    """The share of ``points`` each failed check costs."""


@dataclass(frozen=True)
class Assignment:
    path: str
    unit: float
    exercises: tuple[Exercise, ...]
    start_method: str | None = None
    timeout: float | None = None
    memory: int = 1 << 30
    processes: int = field(default_factory=default_processes)
    output: int = 1 << 20
    python: str | None = None
    lang: str | None = None
    """The language students read their feedback in; ``None``: the session's. Not part of
    :meth:`to_dict`: it changes no grade, so reports in any language merge."""

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
                 "durations": list(e.durations), "sleeps": e.sleeps, "workers": e.workers,
                 "weights": dict(e.weights), "timeout": e.timeout}
                for e in self.exercises
            ],
        }


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
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        raise AssignmentError(
            f"{source}:{line}: not UTF-8 text (byte {error.object[error.start]:#04x}); "
            "save the assignment file as UTF-8"
        ) from None
    return parse(text, str(source))


def parse(text: str, name: str = "<assignment>") -> Assignment:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AssignmentError(syntax(str(error), text, name)) from None
    lines = Lines(text)

    def bad(why: str, key: str, table: int | None = None, fix: str = "") -> AssignmentError:
        where = lines.of(key, table)
        return AssignmentError(f"{name}:{where}: {why}" + (f"; {fix}" if fix else ""))

    extra = sorted(set(data) - _TOP)
    if extra:
        raise bad(f"unknown key {extra[0]!r}", extra[0],
                  fix=f"top-level keys are {', '.join(sorted(_TOP - {'exercise'}))}")
    unit = number(data, "unit", bad, required=True,
                   why="it is the real seconds one tutorial second lasts, e.g. `unit = 0.05`")
    method = data.get("start_method")
    if method is not None and (problem := start_method_problem(method, "start_method")):
        raise bad(problem, "start_method")
    tables = data.get("exercise")
    if isinstance(tables, dict):
        raise bad("[exercise] is a single table, not a list of exercises", "exercise",
                  fix="write [[exercise]], in double brackets, before each exercise")
    if not isinstance(tables, list) or not tables:
        raise AssignmentError(f"{name}:1: no exercises; add at least one [[exercise]] table "
                              "with id, pattern, file and points")
    weights = weights_of(data["weights"], bad) if "weights" in data else DEFAULT_WEIGHTS
    exercises = [_exercise(t, k, bad, weights) for k, t in enumerate(tables)]
    seen: set[str] = set()
    for k, ex in enumerate(exercises):
        if ex.id in seen:
            raise bad(f"exercise id {ex.id!r} is used twice", "id", k, fix="ids must be unique")
        seen.add(ex.id)
        # The derived time limits hold the whole sleep, and timers overflow not far past a day.
        total = sum(ex.durations) * unit
        if total > _DAY:
            key, index = ("durations", k) if "durations" in tables[k] else ("unit", None)
            raise bad(f"exercise {ex.id!r} would sleep {total:g} s in all, more than a day",
                      key, index, fix="lower unit or the durations")
    python = data.get("python")
    if python is not None and not isinstance(python, str):
        raise bad("python must be a string (a path to an interpreter)", "python")
    lang = data.get("lang")
    if lang is not None and (problem := language_problem(str(lang), "lang")):
        raise bad(problem, "lang", fix="it is the language of the students' feedback, e.g. "
                  '`lang = "pt_BR"`')
    return Assignment(
        path=name,
        unit=unit,
        exercises=tuple(exercises),
        start_method=method,
        timeout=number(data, "timeout", bad, most=_DAY, why=_TIMEOUT_WHY)
        if "timeout" in data else None,
        memory=int(number(data, "memory_mb", bad, default=1024, whole=True,
                           least=_MEMORY_MB[0], most=_MEMORY_MB[1], why=_MEMORY_WHY)) << 20,
        processes=int(number(data, "processes", bad, default=default_processes(), whole=True,
                              least=_PROCESSES[0], most=_PROCESSES[1], why=_PROCESSES_WHY)),
        output=int(number(data, "output_kb", bad, default=1024, whole=True,
                           least=_OUTPUT_KB, why=_OUTPUT_WHY)) << 10,
        python=python,
        lang=None if lang is None else str(lang),
    )


def _can_end_in_py(glob: str) -> bool:
    """Whether the glob's last part matches a name whose ``Path.suffix`` is ``.py`` (the grader
    takes no other file): one ending in ``.py`` after at least one character.

    The parts are matched backwards against ``.py``, each ``*`` taking any number of characters;
    whatever part is left over can then match the rest of the name.
    """
    parts = _GLOB_PART.findall(glob.rsplit("/", 1)[-1])[::-1]
    states = {0}
    for char in "yp.":
        reached: set[int] = set()
        for i in states:
            while i < len(parts) and parts[i] == "*":
                reached.add(i)  # the star takes this character
                i += 1  # or none at all
            if i < len(parts) and fnmatchcase(char, parts[i]):
                reached.add(i + 1)
        states = reached
    return any(i < len(parts) for i in states)


def _exercise(table: object, k: int, bad: Bad, weights: Mapping[str, float]) -> Exercise:
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
    if not _can_end_in_py(file):
        raise bad(f"file {file!r} can never match a script, as the grader takes only `.py` "
                  "files", "file", k, fix="end the glob in `.py`, e.g. `ex1_serial*.py`")
    points = number(table, "points", bad, k, least=0, why="e.g. `points = 10`")
    durations = table.get("durations", DEFAULT_DURATIONS[str(pattern)])
    problem = durations_problem(durations, positive=True)
    if problem is not None:
        raise bad(problem, "durations", k, fix="they are the tutorial seconds of the tasks, "
                  "and a sleep of 0 is never recorded, so even correct code would fail timing")
    positive = tuple(float(d) for d in durations)
    timeout = (number(table, "timeout", bad, k, most=_DAY, why=_TIMEOUT_WHY)
               if "timeout" in table else None)
    return Exercise(
        id=ident, pattern=str(pattern), file=file, points=points, durations=positive,
        timeout=timeout, sleeps=sleeps_of(table, k, str(pattern), bad),
        workers=workers_of(table, k, str(pattern), bad),
        weights=weights_of(table["weights"], bad, k, weights) if "weights" in table
        else dict(weights),
    )
