"""The plugin object every session gets: the header, the calibration line, the table of runs.

It stays light, since every session with the plugin installed pays for it: what checks a test's
call is registered only once collection has found a test that uses sleepbench.
"""

from __future__ import annotations

import pytest

from ..core.records import RunRecord
from .keys import INCONCLUSIVE_ATTR, PROBE_LIMIT_KEY, RECORDS_ATTR, RUNS_KEY
from .settings import resolve

__all__ = ["SessionPlugin"]

MARKERS = frozenset({"sleepbench", "sleepbench_wall"})


class SessionPlugin:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.used = False
        """Whether collection found a test that uses sleepbench."""
        self.calls = False
        """Whether the call checks are registered."""
        config.stash[RUNS_KEY] = []
        self.unshown: list[tuple[str, str]] = []
        """Inconclusive tests and why: pytest shows failures' reasons, not these."""

    @pytest.hookimpl(tryfirst=True)  # before the terminal asks for the calibration line
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After every plugin's modifyitems (deselection and --lf included): only the tests that
        # will run count, and markers added by a conftest's late hook are seen.
        self.used = False
        for item in session.items:
            fixtures = getattr(item, "fixturenames", ())
            if "sleepbench" in item.keywords and isinstance(item, pytest.Function) and (
                    item.get_closest_marker("sleepbench") is not None
                    and "sleepbench_run" not in fixtures):
                # A marked test gets its run even if it never names the fixture. A new list:
                # parametrized items of one function share the old one.
                item.fixturenames = fixtures = [*fixtures, "sleepbench_run"]
            self.used = self.used or _uses_sleepbench(item, fixtures)

    @pytest.hookimpl(trylast=True)  # after the fixtures, which may apply a marker at run time
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.calls or not _uses_sleepbench(item, getattr(item, "fixturenames", ())):
            return
        # Registered on first need, so that tests of sessions that never use sleepbench do not
        # pass through its call hooks; it then serves this test's call and every later one.
        from .calls import CallChecks

        self.config.pluginmanager.register(CallChecks(self.config), "sleepbench-calls")
        self.calls = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings: object) -> None:
        # pytest-timeout's own hook: the test's probes in threads stop at its limit, which
        # they could not otherwise hear (see Bench.stop_probes_at). Returning nothing lets
        # pytest-timeout set its timer as ever.
        timeout = getattr(settings, "timeout", None)
        if not isinstance(timeout, int | float) or timeout <= 0:
            return
        from ..core.bench import Bench
        from ..core.clock import now

        when = now() + timeout
        item.stash[PROBE_LIMIT_KEY] = when
        bench = getattr(item, "funcargs", {}).get("sleepbench")
        if isinstance(bench, Bench):  # func_only: the timer starts with the call, after set-up
            bench.stop_probes_at(when)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = ("inconclusive" if getattr(report, INCONCLUSIVE_ATTR, False)
                   else report.outcome)
        if outcome == "inconclusive":
            self.unshown.append((report.nodeid, report.longreprtext))
        records: list[RunRecord] = getattr(report, RECORDS_ATTR, None) or []
        for record in records:
            entry = record.copy()
            entry["nodeid"], entry["outcome"] = report.nodeid, outcome
            entry["title"] = f"{report.nodeid} ({record.get('pattern')})"
            self.config.stash[RUNS_KEY].append(entry)

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config,
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        # Counted apart in the closing line ("1 inconclusive"); the session still fails, since
        # nothing was shown, but no one reads it as the code's failure.
        if report.when == "call" and getattr(report, INCONCLUSIVE_ATTR, False):
            return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
        return None

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
        if not self.used or self.config.option.collectonly:
            return None
        from ..core.bounds import auto_tolerance
        from ..core.calibrate import measured

        settings = resolve(self.config)
        calibration = measured(settings.start_method)
        tolerance = settings.tolerance or auto_tolerance(calibration, settings.unit)
        return (
            f"sleepbench calibration: {calibration.describe()}, "
            f"tolerance {tolerance * 1000:.1f} ms"
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.unshown:
            terminalreporter.section("sleepbench inconclusive", yellow=True)
            for nodeid, why in self.unshown:
                terminalreporter.write_sep("_", nodeid, yellow=True)
                for line in why.splitlines():
                    terminalreporter.write_line(line)
        records = self.config.stash[RUNS_KEY]
        if not records:
            return
        tr = terminalreporter
        tr.section("sleepbench runs")
        # The test id goes last, where a long one can run on without pushing the columns.
        tr.write_line(f"{'pattern':<13} {'W':>3} {'model':>8} {'measured':>9}  "
                      f"{'checks':<12} {'test':<7} id")
        for r in records:
            expected = r.get("expected_wall")
            model = "-" if expected is None else f"{expected:.3f}s"
            again = "".join(f" (first attempt {w:.3f}s)" for w in r.get("earlier_walls", []))
            units = r.get("earlier_units", [])
            if units:
                again += f" (unit scaled up from {units[0]:g}s)"
            tr.write_line(
                f"{r.get('pattern', '?'):<13} {r.get('workers', '-')!s:>3} {model:>8} "
                f"{r.get('wall', 0.0):>8.3f}s  {_verdict(r):<12} {r.get('outcome', '?'):<7} "
                f"{r.get('nodeid', '')}{again}"
            )
        calibrations = sorted({r["calibration"] for r in records if r.get("calibration")})
        for line in calibrations:
            tr.write_line(f"calibration: {line}")


def _verdict(record: RunRecord) -> str:
    """The run's own verdict, from its checks, apart from whether its test passed."""
    checks = record.get("checks", [])
    if not checks:
        return "-"
    # The test's own failure has its column; this one is the run's verdict.
    statuses = {c["status"] for c in checks if c["name"] != "test"}
    return next((s for s in ("fail", "inconclusive") if s in statuses), "pass")


def _uses_sleepbench(item: pytest.Item, fixtures: object) -> bool:
    # Keywords hold the item's and its parents' marker names; a lookup is cheaper than
    # walking the markers, and a rare false hit (a test named so) only costs that walk.
    keywords = item.keywords
    return (isinstance(fixtures, list | tuple) and "sleepbench" in fixtures) or any(
        name in keywords and item.get_closest_marker(name) is not None for name in MARKERS
    )
