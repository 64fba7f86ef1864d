"""A bench: the runs and probes of one test (or one script), and where they record.

This is what the ``sleepbench`` fixture hands a test, and it works the same outside pytest:

    with Bench(unit=0.02) as bench:
        bench.run("map", [5, 4, 3, 2, 1], workers=5).assert_input_order()
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .bounds import auto_tolerance
from .calibrate import measured
from .lesson import DEFAULT_UNIT, default_start_method
from .probe import AsyncProbe, Label, Probe, Seconds, checked_seconds, recording, stop_at
from .run import Run
from .runner import run_pattern
from .sink import Sink
from .timeline import Timeline

__all__ = ["Bench"]

F = TypeVar("F", bound=Callable[..., Any])


class Bench:
    def __init__(
        self,
        *,
        unit: float = DEFAULT_UNIT,
        start_method: str | None = None,
        tolerance: float | None = None,
        xdist_workers: int = 1,
        root: Path | None = None,
    ) -> None:
        """``root`` is where the bench's folder of sinks goes (the system's temporary folder if
        not given); :meth:`close` removes that folder."""
        self.root = root
        self.unit = unit
        self.start_method = start_method or default_start_method()
        self.tolerance = tolerance
        self.xdist_workers = xdist_workers
        self.runs: list[Run] = []
        self._dir: Path | None = None
        self._timeline: Timeline | None = None
        self._stop_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"<Bench unit={self.unit:g}s start_method={self.start_method} "
            f"runs={len(self.runs)}>"
        )

    def _sink(self, name: str) -> Sink:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="sleepbench-", dir=self.root))
        return Sink.create(self._dir / name)

    def run(
        self,
        pattern: str,
        durations: Sequence[float] | None = None,
        *,
        workers: int | None = None,
        start_method: str | None = None,
        unit: float | None = None,
    ) -> Run:
        """Run one of the six patterns and return what it did; see :class:`Run`."""
        run = run_pattern(
            pattern,
            durations,
            unit=self.unit if unit is None else unit,
            sink=self._sink(f"run-{len(self.runs)}.jsonl"),
            workers=workers,
            start_method=start_method or self.start_method,
            tolerance=self.tolerance,
            xdist_workers=self.xdist_workers,
        )
        self.runs.append(run)
        return run

    @property
    def probed(self) -> bool:
        """Whether any probe of this bench has recorded an interval."""
        return self._timeline is not None and bool(self._timeline.intervals)

    @property
    def timeline(self) -> Timeline:
        """Every interval the probes of this bench recorded, from any process or thread."""
        if self._timeline is None:
            self._timeline = Timeline(self._sink("probes.jsonl"),
                                      tolerance=self._probe_tolerance)
            if self._stop_at is not None:
                stop_at(self._timeline.sink, self._stop_at)
        return self._timeline

    def _probe_tolerance(self) -> float:
        """The bench's tolerance, or what a run at its unit and start method would get."""
        if self.tolerance is not None:
            return self.tolerance
        return auto_tolerance(measured(self.start_method), self.unit)

    def probe(self, seconds: Seconds, *, returns: object = None, label: Label = None
              ) -> Probe:
        """A picklable callable that takes any arguments, sleeps ``seconds``, and records.

        ``seconds``, ``returns`` and ``label`` may each be a function of the call's
        arguments: called with them, it gives what this call sleeps, returns (any other value
        is returned as it is), and is labelled (by default, the arguments' reprs)."""
        return Probe(_checked(seconds), self.timeline.sink, returns=returns, label=label)

    def aprobe(self, seconds: Seconds, *, returns: object = None, label: Label = None
               ) -> AsyncProbe:
        """The asyncio twin of :meth:`probe`."""
        return AsyncProbe(_checked(seconds), self.timeline.sink, returns=returns, label=label)

    def wrap(self, fn: F, *, label: Label = None) -> F:
        """``fn`` (a function or a coroutine function), recording each call's interval into
        :attr:`timeline` and returning its result; an exception still records the interval,
        then propagates. Labelled as probes are."""
        return recording(fn, self.timeline.sink, label)

    def stop_probes_at(self, when: float | None) -> None:
        """Make this bench's probes, called in threads of this process, stop sleeping at
        ``when`` (a stamp of :func:`~.clock.now`, such as a test's time limit) by raising
        :class:`~.clock.Stopped`, so an executor waiting on them lets the test end."""
        self._stop_at = when
        if self._timeline is not None:
            stop_at(self._timeline.sink, when)

    def close(self) -> None:
        if self._timeline is not None:
            stop_at(self._timeline.sink, None)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _checked(seconds: Seconds) -> Seconds:
    """A number is checked now; what a function gives, at each call."""
    return seconds if callable(seconds) else checked_seconds(seconds)
