"""pytest-sleepbench: check concurrency by timing.

The names here are the stable API for use outside pytest; inside a test, the ``sleepbench``
fixture hands out the same objects. Importing this package never imports pytest, so a child
process started with ``spawn`` pays only for the core; and each name is imported on first use,
so a pytest session that loads the plugin without using it does not pay for the core either.

PYTEST_DONT_REWRITE: the package raises its own explained assertions, and pytest must not warn
that it was imported before it could be rewritten (the plugin is loaded before any conftest).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.bench import Bench
    from .core.calibrate import Calibration
    from .core.lesson import DEFAULT_DURATIONS, PATTERNS, START_METHODS
    from .core.model import Schedule, list_schedule
    from .core.probe import AsyncProbe, Probe
    from .core.run import Run
    from .core.runner import run_pattern
    from .core.sink import Interval, Sink
    from .core.timeline import Timeline
    from .core.verdict import SleepbenchAssertion, SleepbenchInconclusive

_HOMES = {
    "DEFAULT_DURATIONS": "lesson",
    "PATTERNS": "lesson",
    "START_METHODS": "lesson",
    "AsyncProbe": "probe",
    "Bench": "bench",
    "Calibration": "calibrate",
    "Interval": "sink",
    "Probe": "probe",
    "Run": "run",
    "Schedule": "model",
    "Sink": "sink",
    "SleepbenchAssertion": "verdict",
    "SleepbenchInconclusive": "verdict",
    "Timeline": "timeline",
    "list_schedule": "model",
    "run_pattern": "runner",
}

__all__ = [
    "DEFAULT_DURATIONS",
    "PATTERNS",
    "START_METHODS",
    "AsyncProbe",
    "Bench",
    "Calibration",
    "Interval",
    "Probe",
    "Run",
    "Schedule",
    "Sink",
    "SleepbenchAssertion",
    "SleepbenchInconclusive",
    "Timeline",
    "list_schedule",
    "run_pattern",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not cached here: the module in sys.modules stays the one source, even where a test
    # harness drops and re-imports modules between in-process pytest runs.
    return getattr(importlib.import_module(f".core.{home}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
