"""The plugin object: checks after the call, report records, the header and the summary."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from ..core.bench import Bench
from ..core.bounds import Bounds, auto_tolerance, wall_bounds
from ..core.calibrate import cached as calibration_for
from ..core.clock import now
from ..core.model import list_schedule
from ..core.run import Run
from ..core.verdict import SleepbenchAssertion, message
from . import markers
from .keys import RUNS_KEY, RunRecord
from .settings import resolve

__all__ = ["SessionPlugin", "xdist_workers"]

# The attribute that carries a test's run records on its report; pytest-xdist serializes extra
# report attributes, so the records reach the controller with the report.
REPORT_ATTR = "sleepbench_records"


def xdist_workers() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


class SessionPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[RUNS_KEY] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # A test marked with a pattern gets its run even if it never names the fixture; done
        # once at collection so that unmarked tests pay nothing per test.
        for item in items:
            if (
                isinstance(item, pytest.Function)
                and item.get_closest_marker("sleepbench") is not None
                and "sleepbench_run" not in item.fixturenames
            ):
                item.fixturenames.append("sleepbench_run")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        wall = item.get_closest_marker("sleepbench_wall")
        start = now()
        result = yield
        elapsed = now() - start
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        run = funcargs.get("sleepbench_run")
        if isinstance(run, Run) and item.get_closest_marker("sleepbench") is not None:
            mark = markers.pattern_marker(item.get_closest_marker("sleepbench"))  # type: ignore[arg-type]
            if mark.check:
                try:
                    run.check()
                except SleepbenchAssertion as error:
                    pytest.fail(str(error), pytrace=False)
        if wall is not None:
            self._check_wall(item, markers.wall_marker(wall), elapsed, funcargs.get("sleepbench"))
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
            workers = mark.workers or os.cpu_count() or 1
            schedule = list_schedule(durations, workers)
            lower, starts, pool = max(durations, default=0.0), workers, True
            what = f"parallel over {workers} worker(s)"
        chain = max((schedule.assignment.count(w) for w in range(schedule.workers)), default=0)
        bounds = wall_bounds(lower=lower, ideal=schedule.makespan, calibration=calibration,
                             process_starts=starts, pool=pool, chain=chain,
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
            if bench.timeline.intervals:
                records.append(bench.timeline.to_record())
            setattr(report, REPORT_ATTR, records)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for record in getattr(report, REPORT_ATTR, None) or []:
            self.config.stash[RUNS_KEY].append(
                {**record, "nodeid": report.nodeid, "outcome": report.outcome,
                 "title": f"{report.nodeid} ({record['pattern']})"}
            )

    def pytest_report_header(self, config: pytest.Config) -> str:
        settings = resolve(config)
        calibration = calibration_for(settings.start_method)
        tolerance = (
            f"{settings.tolerance * 1000:.1f} ms" if settings.tolerance is not None
            else f"auto ({auto_tolerance(calibration, settings.unit) * 1000:.1f} ms)"
        )
        return (
            f"sleepbench: unit {settings.unit:g}s, start method {calibration.describe()}, "
            f"tolerance {tolerance}"
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        records = self.config.stash[RUNS_KEY]
        if not records:
            return
        tr = terminalreporter
        tr.section("sleepbench runs")
        longest = max(len(str(r["nodeid"])) for r in records)
        width = max(20, min(longest, tr._tw.fullwidth - 48))
        tr.write_line(f"{'test':<{width}} {'pattern':<13} {'W':>3} {'model':>8} "
                      f"{'measured':>9}  verdict")
        for r in records:
            node = str(r["nodeid"])
            node = node if len(node) <= width else "..." + node[-(width - 3):]
            expected = r.get("expected_wall")
            model = "-" if expected is None else f"{float(str(expected)):.3f}s"
            earlier = "".join(f" (first {float(w):.3f}s)" for w in r.get("earlier_walls") or [])  # type: ignore[attr-defined]
            tr.write_line(
                f"{node:<{width}} {r['pattern']!s:<13} {r['workers']!s:>3} {model:>8} "
                f"{float(str(r['wall'])):>8.3f}s  {r['outcome']}{earlier}"
            )


@pytest.fixture
def sleepbench(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[Bench, None, None]:
    """Run patterns, make probes and read their timeline; see the README."""
    settings = resolve(request.config)
    # Under pytest's base temporary folder, so a session killed before teardown (a timeout's
    # thread method exits at once) leaves its sinks where pytest's own rotation removes them.
    with Bench(unit=settings.unit, start_method=settings.start_method,
               tolerance=settings.tolerance, xdist_workers=xdist_workers(),
               root=tmp_path_factory.getbasetemp()) as bench:
        yield bench


@pytest.fixture
def sleepbench_run(request: pytest.FixtureRequest, sleepbench: Bench) -> Run:
    """The run of the pattern named by the test's ``@pytest.mark.sleepbench``."""
    marker = request.node.get_closest_marker("sleepbench")
    if marker is None:
        raise pytest.UsageError(
            "the sleepbench_run fixture needs @pytest.mark.sleepbench(pattern) on the test"
        )
    mark = markers.pattern_marker(marker)
    settings = resolve(request.config, {"unit": mark.unit, "start_method": mark.start_method})
    return sleepbench.run(mark.pattern, mark.durations, workers=mark.workers,
                          start_method=settings.start_method, unit=settings.unit)

