"""pytest-sleepbench: check concurrency by timing.

The names here are the stable API for use outside pytest; inside a test, the ``sleepbench``
fixture hands out the same objects. Importing this package never imports pytest, so a child
process started with ``spawn`` pays only for the core.

PYTEST_DONT_REWRITE: the package raises its own explained assertions, and pytest must not warn
that it was imported before it could be rewritten (the plugin is loaded before any conftest).
"""

from .core.calibrate import Calibration
from .core.model import Schedule, list_schedule
from .core.patterns import DEFAULT_DURATIONS, PATTERNS, START_METHODS
from .core.probe import AsyncProbe, Probe
from .core.run import Run, run_pattern
from .core.sink import Interval, Sink
from .core.timeline import Timeline
from .core.verdict import SleepbenchAssertion

__all__ = [
    "DEFAULT_DURATIONS",
    "PATTERNS",
    "START_METHODS",
    "AsyncProbe",
    "Calibration",
    "Interval",
    "Probe",
    "Run",
    "Schedule",
    "Sink",
    "SleepbenchAssertion",
    "Timeline",
    "list_schedule",
    "run_pattern",
]
