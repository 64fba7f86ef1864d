"""The plugin seen from a user's test suite, through real pytest runs."""

from __future__ import annotations

import json
import os
import textwrap
import time
import types

import psutil
import pytest

pytest_plugins = ["pytester"]

ISSUE_EXAMPLE = """
import pytest

def test_map_keeps_input_order(sleepbench):
    run = sleepbench.run("map", [5, 4, 3, 2, 1], workers=5)
    run.assert_input_order()
    run.assert_parallel()

@pytest.mark.sleepbench("as_completed")
def test_completion_order(sleepbench_run):
    sleepbench_run.assert_completion_order()

def test_my_code_really_overlaps(sleepbench):
    from concurrent.futures import ThreadPoolExecutor
    fetch = sleepbench.probe(0.05)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, range(4)))
    sleepbench.timeline.assert_parallel(4)
"""


def _makespan(durations: tuple[int, ...], workers: int) -> int:
    """When the last task ends if each goes, in order, to the first worker free."""
    free = [0] * workers
    for d in durations:
        free[free.index(min(free))] += d
    return max(free)


def test_the_examples_of_the_readme_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISSUE_EXAMPLE)
    result = pytester.runpytest("--sleepbench-unit=0.02", "--strict-markers", "-W", "error")
    outcomes = result.parseoutcomes()
    # A machine too loaded to show a claim of the package's own patterns says so; it never
    # fails the examples.
    unshown = outcomes.get("inconclusive", 0)
    assert (outcomes.get("passed", 0) + unshown, outcomes.get("failed", 0)) == (3, 0), outcomes
    verdict = "*" if unshown else "pass         passed "
    # The as_completed test leaves the pool at its default size, a worker a CPU; W counts the
    # processes that ran its five tasks.
    workers = min((getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1, 5)
    result.stdout.fnmatch_lines([
        "sleepbench: unit 0.02s, start method *, tolerance auto",
        "collected 3 items",
        "sleepbench calibration: * (start * ms, pool * ms, jitter * ms), tolerance * ms",
        "*sleepbench runs*",
        f"map *5 *0.100s *s  {verdict} *::test_map_keeps_input_order*",
        f"as_completed *{workers} *{_makespan((5, 4, 3, 2, 1), workers) * 0.02:.3f}s *s  "
        f"{verdict} *::test_completion_order*",
        "probe *4 *- *s  pass         passed  *::test_my_code_really_overlaps*",
    ])


def test_a_failed_assertion_shows_expected_observed_and_a_timeline(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        def test_serial_is_not_parallel(sleepbench):
            sleepbench.run("serial", [1, 1]).assert_parallel()
    """)
    result = pytester.runpytest("--sleepbench-unit=0.02")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*sleepbench: all tasks ran in one process",
        "*expected: tasks spread over at least 2 processes",
        "*observed: 1 process ran them all",
        # One after the other; a moment the machine took between them may show as a gap.
        "*main [[]*[]] |1=*]*1=*]*",
        "*expected makespan 0.040s",
    ])
    # The traceback points at the user's line, not into the plugin.
    assert "core/run.py" not in result.stdout.str()
    assert "core/verdict.py" not in result.stdout.str()


def test_the_marker_checks_the_patterns_promises_after_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest

        # A task lost after the run: the first check, whatever the machine's load, fails.
        @pytest.mark.sleepbench("map", [3, 2, 1], workers=3)
        def test_checked(sleepbench_run):
            sleepbench_run.intervals = sleepbench_run.intervals[1:]

        @pytest.mark.sleepbench("map", [3, 2, 1], workers=3, check=False)
        def test_unchecked(sleepbench_run):
            sleepbench_run.intervals = sleepbench_run.intervals[1:]

        @pytest.mark.sleepbench("serial", [1], check=False)
        def test_runs_without_naming_the_fixture(sleepbench):
            assert [r.pattern for r in sleepbench.runs] == ["serial"]
    """)
    result = pytester.runpytest("--sleepbench-unit=0.02")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_checked*",
                                 "sleepbench: not every task ran to its end once"])


def test_marker_beats_command_line_beats_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsleepbench_unit = 0.03\nsleepbench_start_method = spawn\n")
    pytester.makepyfile("""
        import pytest

        def test_settings(sleepbench, pytestconfig):
            expected = float(pytestconfig.getoption("sleepbench_unit") or 0.03)
            assert (sleepbench.unit, sleepbench.start_method) == (expected, "spawn")

        # Only where the settings come from is tested: a 10 ms run's timing is not, which a
        # loaded machine may leave unshown (a sleep woken 10 ms late, twice).
        @pytest.mark.sleepbench("serial", [1], unit=0.01, start_method="fork", check=False)
        def test_marker(sleepbench_run):
            assert (sleepbench_run.unit, sleepbench_run.start_method) == (0.01, "fork")
    """)
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.runpytest("--sleepbench-unit=0.02").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("args", "ini", "error"),
    [
        (["--sleepbench-unit=fast"], "", "*unit must be a number, got 'fast'*"),
        (["--sleepbench-unit=0"], "", "*unit must be a positive, finite number*"),
        (["--sleepbench-start-method=thread"], "", "*start method must be one of*"),
        (["--sleepbench-tolerance=-1"], "", "*tolerance must be a positive, finite number*"),
        (["--sleepbench-tolerance=inf"], "", "*tolerance must be a positive, finite number*"),
        (["--sleepbench-unit=nan"], "", "*unit must be a positive, finite number*"),
        ([], "sleepbench_unit = soon", "*ini option sleepbench_unit: unit must be a number*"),
    ],
)
def test_bad_settings_stop_the_run_with_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, error: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        ('sleepbench("threads")', "*pattern must be one of serial, processes*"),
        ('sleepbench("map", workers=0)', "*workers must be a positive whole number*"),
        ('sleepbench("map", speed=2)', "*unknown argument(s) speed*"),
        ("sleepbench_wall(serial=[1], at_most=2)", "*give at_least and/or at_most, or serial*"),
    ],
)
def test_a_bad_marker_names_itself_and_the_fix(
    pytester: pytest.Pytester, marker: str, error: str
) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{marker}
        def test_marked(): pass
    """)
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines([error])


def test_the_wall_marker_lets_the_test_finish_and_reports_the_measurement(
    pytester: pytest.Pytester,
) -> None:
    # The inner run shares the machine with the outer xdist workers, whose count it keeps, so
    # its margins are those of the load it really runs under.
    pytester.makepyfile("""
        import time, pytest
        from concurrent.futures import ProcessPoolExecutor

        @pytest.mark.sleepbench_wall(serial=[0.05, 0.05])
        def test_serial():
            time.sleep(0.05); time.sleep(0.05)

        # Long enough that doing them one after the other exceeds the calibrated margin.
        @pytest.mark.sleepbench_wall(parallel=[0.5, 0.5], workers=2)
        def test_parallel():
            with ProcessPoolExecutor(2) as pool:
                list(pool.map(time.sleep, [0.5, 0.5]))

        @pytest.mark.sleepbench_wall(parallel=[0.5, 0.5], workers=2)
        def test_parallel_done_serially():
            time.sleep(0.5); time.sleep(0.5)

        @pytest.mark.sleepbench_wall(at_least=0.2)
        def test_too_quick():
            time.sleep(0.05)
    """)
    result = pytester.runpytest()
    outcomes = result.parseoutcomes()
    # Done serially, it fails; on a machine so loaded that its margins admit a serial run
    # too, it is inconclusive, never passed.
    unshown = outcomes.get("inconclusive", 0)
    assert (outcomes.get("passed"), outcomes.get("failed", 0) + unshown) == (2, 2), outcomes
    if unshown:
        result.stdout.fnmatch_lines(["*test_parallel_done_serially*",
                                     "*too wide to tell*"])
    else:
        result.stdout.fnmatch_lines([
            "*test_parallel_done_serially*",
            "*took more time than allowed",
            "*expected: parallel over 2 worker(s) over [[]0.5, 0.5[]] (model 0.500s): between*",
            "*observed: 1.*s then 1.*s",
        ])
    result.stdout.fnmatch_lines([
        "*test_too_quick*",
        "*took less time than allowed",
        "*observed: 0.*s",
    ])


def test_a_parallel_wall_whose_margins_admit_a_serial_run_is_inconclusive(
    pytester: pytest.Pytester
) -> None:
    # A tolerance of two seconds makes the upper bound far above the tasks one after another,
    # as a heavy load does to calibrated margins: a serial call then proves nothing.
    pytester.makepyfile("""
        import time, pytest
        from concurrent.futures import ThreadPoolExecutor

        @pytest.mark.sleepbench_wall(parallel=[0.2, 0.2], workers=2)
        def test_in_turn():
            time.sleep(0.2); time.sleep(0.2)

        @pytest.mark.sleepbench_wall(parallel=[0.2, 0.2], workers=2)
        def test_side_by_side():
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(time.sleep, [0.2, 0.2]))
    """)
    result = pytester.runpytest("--sleepbench-tolerance=2")
    assert result.parseoutcomes() == {"passed": 1, "inconclusive": 1}
    result.stdout.fnmatch_lines([
        "*test_in_turn*",
        "*sleepbench_wall: the call took as long as its tasks one after another*",
        "*the tasks one after another take 0.400s, and the upper bound is *",
    ])
    lines = result.stdout.str().splitlines()
    assert any(line.startswith("wall ") and "inconclusive" in line and "test_in_turn" in line
               for line in lines), lines


def test_a_wall_marker_with_workers_fails_code_wider_than_it_says(
    pytester: pytest.Pytester
) -> None:
    # Twenty tasks of 50 ms over three workers cannot take less than a third of a second; a
    # forgotten cap that runs all twenty at once takes one task's time.
    pytester.makepyfile("""
        import time, pytest
        from concurrent.futures import ThreadPoolExecutor

        @pytest.mark.sleepbench_wall(parallel=[0.05] * 20, workers=3)
        def test_capped():
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(time.sleep, [0.05] * 20))

        @pytest.mark.sleepbench_wall(parallel=[0.05] * 20, workers=3)
        def test_uncapped():
            with ThreadPoolExecutor(20) as pool:
                list(pool.map(time.sleep, [0.05] * 20))
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*test_uncapped*",
        "*took less time than allowed",
        "*expected: parallel over 3 worker(s) over * (model 0.350s): between 0.333s and *",
    ])


def test_no_sleepbench_turns_the_plugin_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_it(sleepbench): pass")
    result = pytester.runpytest_subprocess("-p", "no:sleepbench")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'sleepbench' not found*"])
    assert "sleepbench: unit" not in result.stdout.str()


def test_dash_p_loads_it_when_autoload_is_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile("def test_uses_it(sleepbench): assert sleepbench.unit == 0.02")
    pytester.runpytest_subprocess("-p", "sleepbench", "--sleepbench-unit=0.02").assert_outcomes(
        passed=1
    )
    pytester.runpytest_subprocess().assert_outcomes(errors=1)


def test_runs_on_xdist_workers_reach_the_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("pattern", ["submit", "map", "processes", "serial"])
        def test_pattern(sleepbench, pattern):
            sleepbench.run(pattern, [1, 1]).check()
    """)
    result = pytester.runpytest_subprocess("-n", "2", "--sleepbench-unit=0.02")
    result.assert_outcomes(passed=4)
    lines = result.stdout.str().split("sleepbench runs")[1].splitlines()
    assert sorted(line.split()[0] for line in lines[2:6]) == [
        "map", "processes", "serial", "submit"
    ]


# An idle pool worker waits on its call queue, not in a sleep: as_completed over 0 and 1000
# leaves one. Under xdist a worker killed by a thread-method timeout stays a zombie while its
# children hold its pipes, so they must not take it for alive.
_CUT_OFF = [
    ("signal", "fork", "process_loop", ()), ("signal", "spawn", "process_loop", ()),
    ("thread", "fork", "process_loop", ()), ("thread", "spawn", "process_loop", ()),
    ("thread", "forkserver", "process_loop", ()),
    ("thread", "fork", "as_completed", ()), ("thread", "spawn", "as_completed", ()),
    ("thread", "forkserver", "as_completed", ()),
    ("thread", "fork", "processes", ("-n", "1")), ("thread", "fork", "as_completed", ("-n", "1")),
]


@pytest.mark.parametrize(("method", "start_method", "pattern", "extra"), _CUT_OFF)
def test_a_run_cut_off_by_pytest_timeout_leaves_no_process_behind(
    pytester: pytest.Pytester, method: str, start_method: str, pattern: str,
    extra: tuple[str, ...],
) -> None:
    pids = pytester.path / "pids.json"
    durations = {"process_loop": [1000] * 4, "processes": [1000, 1000],
                 "as_completed": [0, 1000]}[pattern]
    workers = ", workers=2" if pattern == "as_completed" else ""
    pytester.makepyfile(f"""
        import json, os, threading, time
        import psutil

        def test_hangs(sleepbench):
            def spy():
                # Every child seen until the cut: a busy machine starts them late, so no one
                # moment is sure to find them all.
                seen = set()
                while True:
                    seen |= {{p.pid for p in psutil.Process().children(recursive=True)}}
                    # Whole or not at all: the cut may come mid-write.
                    with open({str(pids)!r} + ".new", "w") as out:
                        out.write(json.dumps(sorted(seen)))
                    os.replace({str(pids)!r} + ".new", {str(pids)!r})
                    time.sleep(0.02)
            threading.Thread(target=spy, daemon=True).start()
            sleepbench.run({pattern!r}, {durations!r}{workers})
    """)
    result = pytester.runpytest_subprocess("--timeout=1.5", f"--timeout-method={method}",
                                           "--sleepbench-unit=1",
                                           f"--sleepbench-start-method={start_method}", *extra,
                                           timeout=60)
    assert result.ret != 0
    kids = json.loads(pids.read_text())
    assert len(kids) >= 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_running(k) for k in kids):
        time.sleep(0.05)
    assert not [k for k in kids if _running(k)]


def _running(pid: int) -> bool:
    # The dead children of a killed session go to an init that may be slow to reap them.
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def test_a_suite_may_still_choose_its_own_start_method(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import multiprocessing

        def test_sets_it():
            multiprocessing.set_start_method("spawn")
            assert multiprocessing.get_start_method() == "spawn"
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_a_marker_on_one_parametrized_case_runs_only_that_case(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest

        marked = pytest.param(1, marks=pytest.mark.sleepbench("serial", [1], check=False))

        @pytest.mark.parametrize("n", [marked, 2])
        def test_some_marked(request, n):
            assert ("sleepbench_run" in request.fixturenames) == (n == 1)
    """)
    pytester.runpytest("--sleepbench-unit=0.01").assert_outcomes(passed=2)


def test_the_summary_tells_a_runs_verdict_from_its_tests_outcome(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest

        def test_expects_the_failure(sleepbench):
            with pytest.raises(AssertionError):
                sleepbench.run("serial", [1, 1]).assert_parallel()
    """)
    result = pytester.runpytest("--sleepbench-unit=0.01")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["serial *fail         passed  *::test_expects_the_failure",
                                 "calibration: * (start*"])


def test_sessions_that_do_not_use_it_do_not_calibrate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest_subprocess("--sleepbench-start-method=spawn")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["sleepbench: unit 0.05s, start method spawn, tolerance auto"])
    assert "sleepbench calibration" not in result.stdout.str()


def test_collecting_only_does_not_calibrate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(sleepbench): pass")
    result = pytester.runpytest_subprocess("--co", "--sleepbench-start-method=spawn")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*test_uses*"])
    assert "sleepbench calibration" not in result.stdout.str()


def test_sessions_that_do_not_use_it_import_neither_core_grading_nor_reports(
    pytester: pytest.Pytester,
) -> None:
    # Every session in an environment with the package installed loads the plugin; what it
    # does not use must cost it no import.
    pytester.makepyfile("""
        import sys

        def test_plain():
            loaded = sorted(m for m in sys.modules if m.startswith("pytest_sleepbench."))
            assert "pytest_sleepbench.plugin" in loaded
            heavy = [m for m in loaded if m.startswith(("pytest_sleepbench.grading",
                     "pytest_sleepbench.report", "pytest_sleepbench._plugin.grad",
                     "pytest_sleepbench._plugin.html",
                     "pytest_sleepbench._plugin.calls", "pytest_sleepbench.core.run",
                     "pytest_sleepbench.core.calibrate", "pytest_sleepbench.core.patterns"))]
            assert heavy == [], heavy
            assert "concurrent.futures" not in sys.modules
    """)
    pytester.runpytest_subprocess("-p", "xdist").assert_outcomes(passed=1)


def test_the_public_names_are_there_when_first_asked_for() -> None:
    import importlib

    import pytest_sleepbench

    def home(name: str) -> types.ModuleType:
        # Through sys.modules: in-process pytest runs before this one may have dropped and
        # re-imported the core, leaving stale submodule attributes on its package.
        return importlib.import_module(f"pytest_sleepbench.core.{name}")

    assert pytest_sleepbench.Run is home("run").Run
    assert pytest_sleepbench.list_schedule is home("model").list_schedule
    assert home("lesson").PATTERNS == pytest_sleepbench.PATTERNS
    assert all(getattr(pytest_sleepbench, name) is not None for name in pytest_sleepbench.__all__)
    assert set(pytest_sleepbench.__all__) <= set(dir(pytest_sleepbench))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = pytest_sleepbench.nothing_here


@pytest.mark.parametrize("where", ["fixture", "conftest"])
def test_a_wall_marker_added_after_collection_is_still_checked(
    pytester: pytest.Pytester, where: str
) -> None:
    # No test names sleepbench when collection ends: the marker comes from an autouse fixture
    # while the test runs, or from the hook of a conftest that is loaded during collection and
    # so runs after the plugin's.
    if where == "fixture":
        pytester.makeconftest("""
            import pytest

            @pytest.fixture(autouse=True)
            def bounded(request):
                if request.node.name == "test_bounded":
                    request.applymarker(pytest.mark.sleepbench_wall(at_most=0.01))
        """)
    else:
        pytester.mkpydir("sub").joinpath("conftest.py").write_text(textwrap.dedent("""
            import pytest

            @pytest.hookimpl(trylast=True)
            def pytest_collection_modifyitems(items):
                for item in items:
                    if item.name == "test_bounded":
                        item.add_marker(pytest.mark.sleepbench_wall(at_most=0.01))
        """))
    pytester.path.joinpath("sub").mkdir(exist_ok=True)
    pytester.path.joinpath("sub", "test_late.py").write_text(textwrap.dedent("""
        import time

        def test_bounded():
            time.sleep(0.1)

        def test_free():
            time.sleep(0.1)
    """))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "sleepbench_wall: the test's call phase took more time than allowed",
        "  expected: the marker's bounds: between 0.000s and 0.010s",
        "  observed: 0.1*s then 0.1*s",
        "FAILED sub/test_late.py::test_bounded - *",
    ])


def test_rerunning_only_plain_tests_does_not_calibrate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_plain_fails():
            assert False

        def test_uses_it(sleepbench):
            pass
    """)
    first = pytester.runpytest_subprocess("--sleepbench-start-method=spawn")
    first.assert_outcomes(failed=1, passed=1)
    assert "sleepbench calibration" in first.stdout.str()
    again = pytester.runpytest_subprocess("--sleepbench-start-method=spawn", "--lf")
    again.assert_outcomes(failed=1)
    assert "sleepbench calibration" not in again.stdout.str()


def test_a_patched_clock_cannot_fool_the_measurement(pytester: pytest.Pytester) -> None:
    # The patch is in place before the test first asks for sleepbench, so only a clock bound
    # when the plugin loaded still reads real time.
    pytester.makeconftest("""
        import itertools, time
        import pytest

        @pytest.fixture(autouse=True)
        def jumping_clock(monkeypatch):
            ticks = itertools.count(step=100.0)
            for name in ("perf_counter", "monotonic", "time"):
                monkeypatch.setattr(time, name, lambda: next(ticks))
    """)
    pytester.makepyfile("""
        def test_probe_reads_real_time(request):
            bench = request.getfixturevalue("sleepbench")
            bench.probe(0.02)()
            (interval,) = bench.timeline.intervals
            assert 0.02 <= interval.end - interval.start < 1
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
