"""The plugin's settings: each option has an ini twin, and one function resolves them.

Precedence is marker, then command line, then ini file, then the default; every value is
validated where it enters, and a bad one is a usage error that names where it came from. The
language has no marker, and in a grading run the assignment file's ``lang`` comes between the
command line and the ini file (see :func:`language`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ..core.i18n import DEFAULT_LANGUAGE, language_argument
from ..core.lesson import DEFAULT_UNIT, default_start_method, start_method_problem

__all__ = ["Settings", "add_options", "language", "marked", "resolve", "xdist_workers"]


UNIT_HELP = (
    "real seconds one tutorial second lasts when sleepbench runs a pattern "
    f"(default {DEFAULT_UNIT})"
)
START_METHOD_HELP = (
    "multiprocessing start method for patterns: fork, forkserver or spawn "
    "(default: the platform's)"
)
TOLERANCE_HELP = (
    "seconds within which two finishes count as a tie, also added per scheduling event to "
    "upper time bounds; 'auto' (default) derives it from the measured jitter"
)
LANG_HELP = (
    "language of what students read: check messages, hints, the gradebook and the reports "
    f"(e.g. pt_BR; default {DEFAULT_LANGUAGE}); above a grading assignment's `lang`"
)


_SETTINGS_KEY = pytest.StashKey["Settings"]()


def _positive_float(what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(
                f"{what} must be a positive, finite number, got {text!r}"
            )
        return value

    return parse


def _start_method(text: str) -> str:
    problem = start_method_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _tolerance(text: str) -> float | str:
    if text == "auto":
        return "auto"
    return _positive_float("tolerance")(text)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("sleepbench", "concurrency checks by timing")
    group.addoption("--sleepbench-unit", type=_positive_float("unit"), metavar="SECONDS",
                    help=UNIT_HELP)
    group.addoption("--sleepbench-start-method", type=_start_method, metavar="METHOD",
                    help=START_METHOD_HELP)
    group.addoption("--sleepbench-tolerance", type=_tolerance,
                    metavar="SECONDS|auto", help=TOLERANCE_HELP)
    group.addoption("--sleepbench-lang", type=language_argument, metavar="LANG", help=LANG_HELP)
    parser.addini("sleepbench_unit", UNIT_HELP)
    parser.addini("sleepbench_start_method", START_METHOD_HELP)
    parser.addini("sleepbench_tolerance", TOLERANCE_HELP)
    parser.addini("sleepbench_lang", LANG_HELP)


@dataclass(frozen=True)
class Settings:
    unit: float
    start_method: str
    tolerance: float | None
    """Seconds, or ``None`` to derive it from calibration."""
    lang: str = DEFAULT_LANGUAGE
    """The language of what a reader is told: the command line's, else the ini file's."""
    lang_given: bool = False
    """Whether the command line named the language, which an assignment's ``lang`` then
    does not replace."""


def _from_ini(config: pytest.Config, name: str, parse: Callable[[str], object]) -> object:
    raw = str(config.getini(name) or "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except argparse.ArgumentTypeError as err:
        raise pytest.UsageError(f"ini option {name}: {err}") from None


def resolve(config: pytest.Config) -> Settings:
    """The session's settings, command line over ini, resolved once (at configure, where a bad
    ini value stops the run before any test) and kept on the config."""
    found = config.stash.get(_SETTINGS_KEY, None)
    if found is not None:
        return found

    def pick(option: str, parse: Callable[[str], object], default: object) -> object:
        cli = config.getoption(option)
        if cli is not None:
            return cli
        from_ini = _from_ini(config, option, parse)
        return default if from_ini is None else from_ini

    unit = pick("sleepbench_unit", _positive_float("unit"), DEFAULT_UNIT)
    method = pick("sleepbench_start_method", _start_method, default_start_method())
    tolerance = pick("sleepbench_tolerance", _tolerance, "auto")
    lang = pick("sleepbench_lang", language_argument, DEFAULT_LANGUAGE)
    assert isinstance(unit, float | int) and isinstance(method, str) and isinstance(lang, str)
    assert tolerance == "auto" or isinstance(tolerance, float | int)
    found = Settings(float(unit), method, None if tolerance == "auto" else float(tolerance),
                     lang, config.getoption("sleepbench_lang") is not None)
    config.stash[_SETTINGS_KEY] = found
    return found


def language(settings: Settings, assigned: str | None) -> str:
    """The language of a grading run: the command line's, else the assignment file's
    (``assigned``), else the ini file's, else English."""
    return settings.lang if settings.lang_given or assigned is None else assigned


def marked(settings: Settings, unit: float | None, start_method: str | None) -> Settings:
    """``settings`` with what a marker names in their place."""
    return dataclasses.replace(settings, unit=settings.unit if unit is None else unit,
                               start_method=start_method or settings.start_method)


def xdist_workers() -> int:
    """How many pytest-xdist workers share the machine (1 without xdist)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
