"""The plugin object: checks after the call, report records, the header and the summary."""

from __future__ import annotations

import os
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
                # A new list: parametrized items of one function share the old one.
                item.fixturenames = [*item.fixturenames, "sleepbench_run"]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        wall = item.get_closest_marker("sleepbench_wall")
        start = now()
        result = yield
        elapsed = now() - start
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        run = funcargs.get("sleepbench_run")
        marker = item.get_closest_marker("sleepbench")
        if isinstance(run, Run) and marker is not None and markers.pattern_marker(marker).check:
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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for record in getattr(report, REPORT_ATTR, None) or []:
            self.config.stash[RUNS_KEY].append(
                {**record, "nodeid": report.nodeid, "outcome": report.outcome,
                 "title": f"{report.nodeid} ({record['pattern']})"}
            )

    def pytest_report_header(self, config: pytest.Config) -> str:
        settings = resolve(config)
        tolerance = "auto" if settings.tolerance is None else f"{settings.tolerance:g}s"
        return (
            f"sleepbench: unit {settings.unit:g}s, start method {settings.start_method}, "
            f"tolerance {tolerance}"
        )

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> str | None:
        # Calibrating starts processes (most of a second under spawn), so it happens only in
        # sessions that collected a test using sleepbench.
        if not any(_uses_sleepbench(item) for item in items):
            return None
        settings = resolve(self.config)
        calibration = calibration_for(settings.start_method)
        tolerance = settings.tolerance or auto_tolerance(calibration, settings.unit)
        return (
            f"sleepbench calibration: {calibration.describe()}, "
            f"tolerance {tolerance * 1000:.1f} ms"
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        records = self.config.stash[RUNS_KEY]
        if not records:
            return
        tr = terminalreporter
        tr.section("sleepbench runs")
        # The test id goes last, where a long one can run on without pushing the columns.
        tr.write_line(f"{'pattern':<13} {'W':>3} {'model':>8} {'measured':>9}  "
                      f"{'checks':<6} {'test':<7} id")
        for r in records:
            expected = r.get("expected_wall")
            model = "-" if expected is None else f"{float(str(expected)):.3f}s"
            earlier = r.get("earlier_walls")
            again = "".join(
                f" (first attempt {float(w):.3f}s)" for w in earlier
            ) if isinstance(earlier, list) else ""
            tr.write_line(
                f"{r['pattern']!s:<13} {r['workers']!s:>3} {model:>8} "
                f"{float(str(r['wall'])):>8.3f}s  {_verdict(r):<6} {r['outcome']!s:<7} "
                f"{r['nodeid']}{again}"
            )
        calibrations = sorted({str(r["calibration"]) for r in records if r.get("calibration")})
        for line in calibrations:
            tr.write_line(f"calibration: {line}")


def _verdict(record: RunRecord) -> str:
    """The run's own verdict, from its checks, apart from whether its test passed."""
    checks = record.get("checks")
    if not isinstance(checks, list) or not checks:
        return "-"
    return "fail" if any(c.get("status") == "fail" for c in checks) else "pass"


def _uses_sleepbench(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return (
        "sleepbench" in names
        or item.get_closest_marker("sleepbench") is not None
        or item.get_closest_marker("sleepbench_wall") is not None
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

