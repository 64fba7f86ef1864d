"""Checks after a test's call: a marked pattern's own bounds, the wall marker, and the records
of the runs a test made, carried on its report.

Registered only in sessions that collected a test using sleepbench, so the hooks of every other
test's call cost nothing.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from ..core.bench import Bench
from ..core.bounds import Bounds, auto_tolerance, wall_bounds
from ..core.calibrate import available_cores
from ..core.calibrate import cached as calibration_for
from ..core.clock import now
from ..core.model import list_schedule
from ..core.run import Run
from ..core.verdict import SleepbenchAssertion, message
from . import markers
from .keys import REPORT_ATTR, RunRecord
from .settings import resolve, xdist_workers

__all__ = ["CallChecks"]


class CallChecks:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        # Parsed before the call, so that a bad marker stops the test before its body runs;
        # this is also the first moment a marker applied by a fixture at setup is seen.
        pattern, wall = _markers(item)
        start = now()
        result = yield
        elapsed = now() - start
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        run = funcargs.get("sleepbench_run")
        if isinstance(run, Run) and pattern is not None and pattern.check:
            try:
                run.check()
            except SleepbenchAssertion as error:
                pytest.fail(str(error), pytrace=False)
        if wall is not None:
            self._check_wall(item, wall, elapsed, funcargs.get("sleepbench"))
        return result

    def _check_wall(
        self, item: pytest.Item, mark: markers.WallMarker, elapsed: float, bench: object
    ) -> None:
        bounds, what = self._wall_bounds(mark)
        walls = [elapsed]
        if elapsed > bounds.upper:
            # Only the upper bound failed, which a moment of load can do: the noise policy
            # measures once more (the same fixtures, a second call) and reports both.
            start = now()
            item.runtest()
            walls.append(now() - start)
        if bounds.holds(walls[-1]):
            return
        picture = bench.timeline.picture() if isinstance(bench, Bench) else ""
        too = "less" if walls[-1] < bounds.lower else "more"
        pytest.fail(
            message(
                f"sleepbench_wall: the test's call phase took {too} time than allowed",
                f"{what}: between {bounds.lower:.3f}s and {bounds.upper:.3f}s",
                " then ".join(f"{w:.3f}s" for w in walls),
                picture,
            ),
            pytrace=False,
        )

    def _wall_bounds(self, mark: markers.WallMarker) -> tuple[Bounds, str]:
        if mark.serial is None and mark.parallel is None:
            lower = mark.at_least or 0.0
            upper = float("inf") if mark.at_most is None else mark.at_most
            return Bounds(lower, lower, upper), "the marker's bounds"
        settings = resolve(self.config)
        calibration = calibration_for(settings.start_method)
        durations = mark.serial if mark.serial is not None else mark.parallel
        assert durations is not None
        tolerance = settings.tolerance or auto_tolerance(calibration, min(durations or [1.0]))
        if mark.serial is not None:
            schedule = list_schedule(durations, 1)
            lower, starts, pool, what = sum(durations), 0, False, "serial"
        else:
            workers = mark.workers or available_cores()
            schedule = list_schedule(durations, workers)
            lower, starts, pool = max(durations, default=0.0), workers, True
            what = f"parallel over {workers} worker(s)"
        bounds = wall_bounds(lower=lower, ideal=schedule.makespan, calibration=calibration,
                             process_starts=starts, pool=pool, chain=schedule.chain,
                             tolerance=tolerance, xdist_workers=xdist_workers())
        return bounds, f"{what} over {list(durations)} (model {schedule.makespan:.3f}s)"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        bench = getattr(item, "funcargs", {}).get("sleepbench")
        if call.when == "call" and isinstance(bench, Bench):
            records: list[RunRecord] = [run.to_record() for run in bench.runs]
            if bench.probed:
                records.append(bench.timeline.to_record())
            setattr(report, REPORT_ATTR, records)
        return report


def _markers(item: pytest.Item) -> tuple[markers.PatternMarker | None, markers.WallMarker | None]:
    pattern = item.get_closest_marker("sleepbench")
    wall = item.get_closest_marker("sleepbench_wall")
    try:
        return (None if pattern is None else markers.pattern_marker(pattern),
                None if wall is None else markers.wall_marker(wall))
    except pytest.UsageError as error:
        problem = str(error)
    # The message is the whole story: a traceback, or the error chained to the failure, would
    # only point into the plugin.
    pytest.fail(problem, pytrace=False)
