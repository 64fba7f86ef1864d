"""Checks after a test's call: a marked pattern's own bounds, the wall marker, and the records
of the runs a test made, carried on its report.

Registered only in sessions that collected a test using sleepbench, so the hooks of every other
test's call cost nothing.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..core.bench import Bench
from ..core.bounds import Bounds, auto_tolerance, wall_bounds
from ..core.calibrate import available_cores, measured
from ..core.clock import now
from ..core.model import list_schedule
from ..core.records import CheckRecord, RunRecord
from ..core.run import Run
from ..core.verdict import SleepbenchAssertion, SleepbenchInconclusive, message
from . import markers
from .keys import INCONCLUSIVE_ATTR, RECORDS_ATTR
from .settings import resolve, xdist_workers

__all__ = ["CallChecks"]



@dataclass
class _WallVerdict:
    """The wall marker's verdict on a test, kept for its report."""

    expected: str
    walls: list[float]
    model: float | None
    status: str = "pass"
    text: str = ""


_WALL = pytest.StashKey[_WallVerdict]()
# A reason taken from a failure outside sleepbench is cut to this many lines for the reports.
_REASON_LINES = 12

_REPEATABLE = (
    "keep a test with sleepbench_wall repeatable: when only the upper bound fails, its call "
    "runs once more with the same fixtures"
)


@dataclass(frozen=True)
class _Setup:
    """What a test's bench held when its call began, which a repeat of the call keeps while
    it forgets what the first call added."""

    checks: tuple[tuple[int, int], ...] = ()
    """For each run made at setup, how many verdicts and assertions to replay it held."""
    probe_bytes: int = 0
    probe_checks: int = 0

    @classmethod
    def of(cls, bench: object) -> _Setup:
        if not isinstance(bench, Bench):
            return cls()
        timeline = bench.timeline
        return cls(tuple((len(run.checks), len(run.asked)) for run in bench.runs),
                   os.path.getsize(timeline.sink.path), len(timeline.checks))

    def restore(self, bench: object) -> None:
        if not isinstance(bench, Bench):
            return
        for run, (checks, asked) in zip(bench.runs, self.checks, strict=False):
            del run.checks[checks:], run.asked[asked:]
        del bench.runs[len(self.checks):]
        timeline = bench.timeline
        # The sink only ever grows, so cutting it back to its length at the start of the call
        # forgets exactly the intervals the call recorded.
        os.truncate(timeline.sink.path, self.probe_bytes)
        del timeline.checks[self.probe_checks:]


class CallChecks:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        # Parsed before the call, so that a bad marker stops the test before its body runs;
        # this is also the first moment a marker applied by a fixture at setup is seen.
        pattern, wall = _markers(item)
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        setup = _Setup.of(funcargs.get("sleepbench")) if wall is not None else _Setup()
        start = now()
        result = yield
        elapsed = now() - start
        _check_run(funcargs, pattern)
        if wall is not None:
            self._check_wall(item, wall, elapsed, setup, pattern)
        return result

    def _check_wall(
        self, item: pytest.Item, mark: markers.WallMarker, elapsed: float, setup: _Setup,
        pattern: markers.PatternMarker | None,
    ) -> None:
        bounds, what = self._wall_bounds(mark)
        expected = f"{what}: between {bounds.lower:.3f}s and {bounds.upper:.3f}s"
        model = None if mark.serial is None and mark.parallel is None else bounds.ideal
        walls = [elapsed]
        verdict = item.stash[_WALL] = _WallVerdict(expected, walls, model)
        if elapsed > bounds.upper:
            # Only the upper bound failed, which a moment of load can do: the noise policy
            # measures once more (the same fixtures, a second call), its bounds from a
            # calibration made afresh under the load of the moment, and reports both.
            bounds, what = self._wall_bounds(mark, fresh=True)
            expected = verdict.expected = (
                f"{what}: between {bounds.lower:.3f}s and {bounds.upper:.3f}s")
            walls.append(_repeat(item, setup, pattern, expected, elapsed))
        if bounds.holds(walls[-1]):
            self._shown_parallel(item, mark, bounds, walls)
            return
        too = "less" if walls[-1] < bounds.lower else "more"
        text = message(
            f"sleepbench_wall: the test's call phase took {too} time than allowed",
            expected,
            " then ".join(f"{w:.3f}s" for w in walls),
            _picture(getattr(item, "funcargs", {}).get("sleepbench")),
        )
        verdict.status, verdict.text = "fail", text
        pytest.fail(text, pytrace=False)

    def _shown_parallel(self, item: pytest.Item, mark: markers.WallMarker, bounds: Bounds,
                        walls: list[float]) -> None:
        """A parallel claim whose margins, on this machine now, also admit the tasks done one
        after another shows nothing: inconclusive, never a silent pass."""
        serial = sum(mark.parallel or ())
        if mark.parallel is None or bounds.ideal >= serial or walls[-1] < serial:
            return
        verdict = item.stash[_WALL]
        parts = (
            "sleepbench_wall: the call took as long as its tasks one after another, within "
            "margins this machine's load has made too wide to tell",
            verdict.expected, " then ".join(f"{w:.3f}s" for w in walls),
            f"  the tasks one after another take {serial:.3f}s, and the upper bound is "
            f"{bounds.upper:.3f}s; on a quieter machine, or with longer tasks, it shows")
        verdict.status, verdict.text = "inconclusive", message(*parts)
        raise SleepbenchInconclusive(*parts)

    def _wall_bounds(self, mark: markers.WallMarker, *, fresh: bool = False
                     ) -> tuple[Bounds, str]:
        if mark.serial is None and mark.parallel is None:
            lower = mark.at_least or 0.0
            upper = float("inf") if mark.at_most is None else mark.at_most
            return Bounds(lower, lower, upper), "the marker's bounds"
        settings = resolve(self.config)
        calibration = measured(settings.start_method, fresh=fresh)
        durations = mark.serial if mark.serial is not None else mark.parallel
        assert durations is not None
        tolerance = settings.tolerance or auto_tolerance(calibration, min(durations or [1.0]))
        if mark.serial is not None:
            schedule = list_schedule(durations, 1)
            lower, starts, pool, what = sum(durations), 0, False, "serial"
        else:
            workers = mark.workers or available_cores()
            schedule = list_schedule(durations, workers)
            # No N-wide run beats its longest task, nor its work spread evenly over N; the
            # second only when N was named, since code may rightly be wider than the cores.
            spread = sum(durations) / mark.workers if mark.workers else 0.0
            lower, starts, pool = max(max(durations, default=0.0), spread), workers, True
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
        if call.excinfo is not None and call.excinfo.errisinstance(SleepbenchInconclusive):
            setattr(report, INCONCLUSIVE_ATTR, True)
        if call.when != "call":
            return report
        bench = getattr(item, "funcargs", {}).get("sleepbench")
        records: list[RunRecord] = []
        if isinstance(bench, Bench):
            records = [run.to_record() for run in bench.runs]
            if bench.probed:
                records.append(bench.timeline.to_record())
        wall = item.stash.get(_WALL, None)
        if wall is not None:
            records.append(_wall_record(wall))
        if report.failed and call.excinfo is not None and not any(
                c.get("status") == "fail" for r in records for c in _checks(r)):
            # Failed outside sleepbench (the test's own assert, an error): each record says
            # so, or its report would show only passed checks on a failed test.
            reason = "\n".join(call.excinfo.exconly().splitlines()[:_REASON_LINES])
            for record in records:
                record["checks"] = [*_checks(record), {
                    "name": "test", "status": "fail",
                    "message": f"the test failed outside sleepbench's checks:\n{reason}"}]
        if records:
            setattr(report, RECORDS_ATTR, records)
        return report


def _wall_record(wall: _WallVerdict) -> RunRecord:
    """The wall marker's verdict as a record of its own, so the summary and the HTML show it
    beside the test's runs."""
    return {
        "pattern": "wall", "workers": "-", "wall": wall.walls[-1], "expected_wall": wall.model,
        "earlier_walls": wall.walls[:-1], "intervals": [],
        "checks": [{"name": "wall", "status": wall.status,
                    "message": wall.text or f"expected {wall.expected}"}],
    }


def _checks(record: RunRecord) -> list[CheckRecord]:
    return list(record.get("checks", []))


def _markers(item: pytest.Item) -> tuple[markers.PatternMarker | None, markers.WallMarker | None]:
    pattern = item.get_closest_marker("sleepbench")
    wall = item.get_closest_marker("sleepbench_wall")
    return (None if pattern is None else markers.or_fail(markers.pattern_marker, pattern),
            None if wall is None else markers.or_fail(markers.wall_marker, wall))


def _check_run(funcargs: dict[str, object], pattern: markers.PatternMarker | None) -> None:
    run = funcargs.get("sleepbench_run")
    if isinstance(run, Run) and pattern is not None and pattern.check:
        try:
            run.check()
        except SleepbenchAssertion as error:
            pytest.fail(str(error), pytrace=False)


def _repeat(
    item: pytest.Item, setup: _Setup, pattern: markers.PatternMarker | None, expected: str,
    first: float,
) -> float:
    """Call the test once more and return that call's wall. What the first call added to the
    bench is forgotten beforehand: two attempts merged would be judged and drawn as one."""
    funcargs: dict[str, object] = getattr(item, "funcargs", {})
    picture = _picture(funcargs.get("sleepbench"))
    setup.restore(funcargs.get("sleepbench"))
    start = now()
    error = _run_again(item)
    wall = now() - start
    if error is not None:
        # Whatever the second call raised, the first measurement is why it ran at all.
        text = message(
            "sleepbench_wall: the test's call phase took more time than allowed, "
            "and its repeat raised",
            expected,
            f"{first:.3f}s, then {_described(error, item.config.rootpath)}",
            f"  {_REPEATABLE}\n\n{picture}",
        )
        verdict = item.stash[_WALL]
        verdict.status, verdict.text = "fail", text
        pytest.fail(text, pytrace=False)
    _check_run(funcargs, pattern)
    return wall


def _run_again(item: pytest.Item) -> BaseException | None:
    # A skip, an exit or an interrupt still ends the test as it would have the first time.
    try:
        item.runtest()
    except (Exception, pytest.fail.Exception) as error:
        return error
    return None


def _picture(bench: object) -> str:
    return bench.timeline.picture() if isinstance(bench, Bench) else ""


def _described(error: BaseException, root: Path) -> str:
    """The error's type, the first line of its message, and where it was raised."""
    lines = str(error).splitlines()
    text = type(error).__name__ + (f": {lines[0]}" if lines else "")
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return text
    where = Path(frames[-1].filename)
    if where.is_relative_to(root):
        where = where.relative_to(root)
    return f"{text} ({where}:{frames[-1].lineno} in {frames[-1].name})"
