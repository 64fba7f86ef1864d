"""The two markers: what they accept, checked with messages that say how to fix them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard, TypeVar

import pytest

from ..core.lesson import PATTERNS, POOL_PATTERNS, durations_problem, start_method_problem

__all__ = ["LINES", "PatternMarker", "WallMarker", "or_fail", "pattern_marker", "wall_marker"]

LINES = [
    "sleepbench(pattern, durations=None, *, workers=None, start_method=None, unit=None, "
    "check=True): run one of the six patterns (serial, processes, process_loop, submit, "
    "as_completed, map) for the test, hand it over as the sleepbench_run fixture, and check the "
    "pattern's own bounds after the test unless check=False.",
    "sleepbench_wall(at_least=None, at_most=None, *, serial=None, parallel=None, workers=None): "
    "fail the test, after it has finished, if its call phase took less than at_least or more "
    "than at_most seconds; serial=[seconds...] expects their sum, parallel=[seconds...] their "
    "schedule over `workers` (default: the cores this process may use), with calibrated "
    "margins. When only the upper bound fails, the call runs once more and both measurements "
    "are reported; the second "
    "call's runs and probes replace the first's.",
]

_PATTERN_ARGS = ("pattern", "durations")
_PATTERN_KEYWORDS = ("workers", "start_method", "unit", "check")
_WALL_ARGS = ("at_least", "at_most")
_WALL_KEYWORDS = ("serial", "parallel", "workers")


@dataclass(frozen=True)
class PatternMarker:
    pattern: str
    durations: tuple[float, ...] | None
    workers: int | None
    start_method: str | None
    unit: float | None
    check: bool


@dataclass(frozen=True)
class WallMarker:
    at_least: float | None
    at_most: float | None
    serial: tuple[float, ...] | None
    parallel: tuple[float, ...] | None
    workers: int | None


_T = TypeVar("_T")


def or_fail(read: Callable[[pytest.Mark], _T], marker: pytest.Mark) -> _T:
    """``read(marker)``, or the test failed with the marker's problem as its whole message: a
    traceback, or the error chained to the failure, would only point into the plugin."""
    try:
        return read(marker)
    except pytest.UsageError as error:
        problem = str(error)
    pytest.fail(problem, pytrace=False)


def _bad(marker: pytest.Mark, why: str) -> pytest.UsageError:
    return pytest.UsageError(f"@pytest.mark.{marker.name}: {why}")


def _real(value: object) -> TypeGuard[int | float]:
    # bool is an int to Python, but True is no duration, bound or count.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _durations(marker: pytest.Mark, value: object, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    problem = durations_problem(value, name)
    if problem is not None:
        raise _bad(marker, problem)
    assert isinstance(value, Sequence)
    return tuple(float(v) for v in value)


def _seconds(marker: pytest.Mark, value: object, name: str) -> float | None:
    if value is None:
        return None
    if not (_real(value) and math.isfinite(value) and value > 0):
        raise _bad(marker, f"{name} must be a positive, finite number of seconds, got {value!r}")
    return float(value)


def _count(marker: pytest.Mark, value: object, name: str) -> int | None:
    if value is None:
        return None
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise _bad(marker, f"{name} must be a positive whole number, got {value!r}")
    return value


def _arguments(
    marker: pytest.Mark, positional: tuple[str, ...], keywords: tuple[str, ...]
) -> dict[str, object]:
    """The marker's arguments by name, whether given by position or by keyword."""
    if len(marker.args) > len(positional):
        raise _bad(marker, f"takes at most {len(positional)} positional arguments "
                           f"({', '.join(positional)}), got {len(marker.args)}; give "
                           f"{', '.join(keywords[:-1])} and {keywords[-1]} by keyword")
    extra = sorted(set(marker.kwargs) - {*positional, *keywords})
    if extra:
        raise _bad(marker, f"unknown argument(s) {', '.join(extra)}; "
                           f"it takes {', '.join(sorted({*positional, *keywords}))}")
    by_position = dict(zip(positional, marker.args, strict=False))
    twice = sorted(by_position.keys() & marker.kwargs.keys())
    if twice:
        raise _bad(marker, f"{twice[0]} is given both by position and by keyword; give it once")
    return {**by_position, **marker.kwargs}


def _start_method(marker: pytest.Mark, value: object) -> str | None:
    problem = None if value is None else start_method_problem(value, "start_method")
    if problem is not None:
        raise _bad(marker, problem)
    return None if value is None else str(value)


def _check(marker: pytest.Mark, value: object) -> bool:
    # Only a real bool: check="no" would otherwise be truthy and silently check.
    if not isinstance(value, bool):
        raise _bad(marker, f"check must be True or False, got {value!r}")
    return value


def pattern_marker(marker: pytest.Mark) -> PatternMarker:
    given = _arguments(marker, _PATTERN_ARGS, _PATTERN_KEYWORDS)
    pattern = given.get("pattern")
    if not isinstance(pattern, str) or pattern not in PATTERNS:
        raise _bad(marker, f"pattern must be one of {', '.join(PATTERNS)}, got {pattern!r}")
    workers = _count(marker, given.get("workers"), "workers")
    if workers is not None and pattern not in POOL_PATTERNS:
        raise _bad(marker, f"workers only goes with {', '.join(POOL_PATTERNS)}, "
                           f"not with {pattern!r}")
    return PatternMarker(
        pattern=pattern,
        durations=_durations(marker, given.get("durations"), "durations"),
        workers=workers,
        start_method=_start_method(marker, given.get("start_method")),
        unit=_seconds(marker, given.get("unit"), "unit"),
        check=_check(marker, given.get("check", True)),
    )


def wall_marker(marker: pytest.Mark) -> WallMarker:
    given = _arguments(marker, _WALL_ARGS, _WALL_KEYWORDS)
    parsed = WallMarker(
        at_least=_seconds(marker, given.get("at_least"), "at_least"),
        at_most=_seconds(marker, given.get("at_most"), "at_most"),
        serial=_durations(marker, given.get("serial"), "serial"),
        parallel=_durations(marker, given.get("parallel"), "parallel"),
        workers=_count(marker, given.get("workers"), "workers"),
    )
    kinds = [parsed.at_least is not None or parsed.at_most is not None,
             parsed.serial is not None, parsed.parallel is not None]
    if sum(kinds) != 1:
        raise _bad(marker, "give at_least and/or at_most, or serial=[...], or parallel=[...]")
    if parsed.workers is not None and parsed.parallel is None:
        raise _bad(marker, "workers only goes with parallel=[...]")
    if (parsed.at_least is not None and parsed.at_most is not None
            and parsed.at_least > parsed.at_most):
        raise _bad(marker, f"at_least {parsed.at_least} is more than at_most {parsed.at_most}")
    return parsed
