"""The two markers: what they accept, checked with messages that say how to fix them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from ..core.lesson import PATTERNS

__all__ = ["LINES", "PatternMarker", "WallMarker", "pattern_marker", "wall_marker"]

LINES = [
    "sleepbench(pattern, durations=None, *, workers=None, start_method=None, unit=None, "
    "check=True): run one of the six patterns (serial, processes, process_loop, submit, "
    "as_completed, map) for the test, hand it over as the sleepbench_run fixture, and check the "
    "pattern's own bounds after the test unless check=False.",
    "sleepbench_wall(at_least=None, at_most=None, *, serial=None, parallel=None, workers=None): "
    "fail the test, after it has finished, if its call phase took less than at_least or more "
    "than at_most seconds; serial=[seconds...] expects their sum, parallel=[seconds...] their "
    "schedule over `workers` (default: CPU count), with calibrated margins. When only the upper "
    "bound fails, the call runs once more and both measurements are reported.",
]


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


def _bad(marker: pytest.Mark, why: str) -> pytest.UsageError:
    return pytest.UsageError(f"@pytest.mark.{marker.name}: {why}")


def _durations(marker: pytest.Mark, value: object, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(
        isinstance(v, int | float) and v >= 0 for v in value
    ):
        raise _bad(marker, f"{name} must be a list of non-negative numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _number(marker: pytest.Mark, value: object, name: str, *, whole: bool = False) -> float | None:
    kinds = (int,) if whole else (int, float)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        what = "a positive whole number" if whole else "a positive number"
        raise _bad(marker, f"{name} must be {what}, got {value!r}")
    return float(value)


def _unknown(marker: pytest.Mark, allowed: set[str]) -> None:
    extra = sorted(set(marker.kwargs) - allowed)
    if extra:
        raise _bad(marker, f"unknown argument(s) {', '.join(extra)}; "
                           f"it takes {', '.join(sorted(allowed))}")


def pattern_marker(marker: pytest.Mark) -> PatternMarker:
    _unknown(marker, {"pattern", "durations", "workers", "start_method", "unit", "check"})
    args = [*marker.args, None, None]
    pattern = marker.kwargs.get("pattern", args[0])
    if pattern not in PATTERNS:
        raise _bad(marker, f"pattern must be one of {', '.join(PATTERNS)}, got {pattern!r}")
    workers = _number(marker, marker.kwargs.get("workers"), "workers", whole=True)
    return PatternMarker(
        pattern=str(pattern),
        durations=_durations(marker, marker.kwargs.get("durations", args[1]), "durations"),
        workers=None if workers is None else int(workers),
        start_method=marker.kwargs.get("start_method"),
        unit=_number(marker, marker.kwargs.get("unit"), "unit"),
        check=bool(marker.kwargs.get("check", True)),
    )


def wall_marker(marker: pytest.Mark) -> WallMarker:
    _unknown(marker, {"at_least", "at_most", "serial", "parallel", "workers"})
    args = [*marker.args, None, None]
    parsed = WallMarker(
        at_least=_number(marker, marker.kwargs.get("at_least", args[0]), "at_least"),
        at_most=_number(marker, marker.kwargs.get("at_most", args[1]), "at_most"),
        serial=_durations(marker, marker.kwargs.get("serial"), "serial"),
        parallel=_durations(marker, marker.kwargs.get("parallel"), "parallel"),
        workers=None,
    )
    workers = _number(marker, marker.kwargs.get("workers"), "workers", whole=True)
    given = [x is not None for x in (parsed.at_least or parsed.at_most, parsed.serial,
                                     parsed.parallel)]
    if sum(given) != 1:
        raise _bad(marker, "give at_least and/or at_most, or serial=[...], or parallel=[...]")
    if workers is not None and parsed.parallel is None:
        raise _bad(marker, "workers only goes with parallel=[...]")
    if (parsed.at_least and parsed.at_most) and parsed.at_least > parsed.at_most:
        raise _bad(marker, f"at_least {parsed.at_least} is more than at_most {parsed.at_most}")
    return WallMarker(parsed.at_least, parsed.at_most, parsed.serial, parsed.parallel,
                      None if workers is None else int(workers))
