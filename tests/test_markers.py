"""The two markers: their arguments are checked before the test runs, and the wall marker's one
repeat stands on its own, through real pytest runs."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_a_bad_wall_marker_stops_each_test_before_its_body_runs(
    pytester: pytest.Pytester,
) -> None:
    # Two tests: the first is the one whose setup hooks the call checks in.
    pytester.makepyfile("""
        import pathlib, time, pytest

        @pytest.mark.sleepbench_wall(at_most=-1)
        def test_first():
            pathlib.Path("first-ran").touch()
            time.sleep(0.5)

        @pytest.mark.sleepbench_wall(serial=[0.1], workers=2)
        def test_second():
            pathlib.Path("second-ran").touch()
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    assert not (pytester.path / "first-ran").exists()
    assert not (pytester.path / "second-ran").exists()
    result.stdout.fnmatch_lines([
        "*@pytest.mark.sleepbench_wall: at_most must be a positive, finite number of seconds, "
        "got -1",
        "*@pytest.mark.sleepbench_wall: workers only goes with parallel=[[]...[]]*",
    ])


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        ('sleepbench("map", [1, 2], [3, 4])',
         "*@pytest.mark.sleepbench: takes at most 2 positional arguments (pattern, durations), "
         "got 3; give workers, start_method, unit and check by keyword*"),
        ('sleepbench("map", check="no")',
         "*@pytest.mark.sleepbench: check must be True or False, got 'no'"),
        ('sleepbench("map", durations=[True, 1])',
         "*@pytest.mark.sleepbench: durations must be a non-empty list of finite, non-negative "
         "numbers (not bools), got [[]True, 1[]]"),
        ('sleepbench("map", [])',
         "*@pytest.mark.sleepbench: durations must be a non-empty list*, got [[][]]"),
        ('sleepbench("map", [float("nan")])',
         "*@pytest.mark.sleepbench: durations must be a non-empty list of finite*"),
        ('sleepbench("map", pattern="submit")',
         "*@pytest.mark.sleepbench: pattern is given both by position and by keyword; "
         "give it once"),
        ('sleepbench("map", [1], durations=[2])',
         "*@pytest.mark.sleepbench: durations is given both by position and by keyword*"),
        ('sleepbench("map", start_method="bogus")',
         "*@pytest.mark.sleepbench: start_method must be one of *fork*, got 'bogus'"),
        ('sleepbench("map", unit=float("inf"))',
         "*@pytest.mark.sleepbench: unit must be a positive, finite number of seconds, got inf"),
        ('sleepbench("serial", workers=2)',
         "*@pytest.mark.sleepbench: workers only goes with submit, as_completed, map, "
         "not with 'serial'"),
        ("sleepbench()", "*@pytest.mark.sleepbench: pattern must be one of serial, *, got None"),
        ('sleepbench("map", worker=2)',
         "*@pytest.mark.sleepbench: unknown argument(s) worker; it takes check, durations, "
         "pattern, start_method, unit, workers"),
        ("sleepbench_wall(parallel=[])",
         "*@pytest.mark.sleepbench_wall: parallel must be a non-empty list*, got [[][]]"),
        ("sleepbench_wall(serial=[True])",
         "*@pytest.mark.sleepbench_wall: serial must be a non-empty list*(not bools)*"),
        ("sleepbench_wall(0.1, 0.2, 0.3)",
         "*@pytest.mark.sleepbench_wall: takes at most 2 positional arguments (at_least, "
         "at_most), got 3; give serial, parallel and workers by keyword*"),
        ("sleepbench_wall(0.1, at_least=0.2)",
         "*@pytest.mark.sleepbench_wall: at_least is given both by position and by keyword*"),
        ('sleepbench_wall(at_most=float("nan"))',
         "*@pytest.mark.sleepbench_wall: at_most must be a positive, finite number*, got nan"),
        ("sleepbench_wall(at_most=True)",
         "*@pytest.mark.sleepbench_wall: at_most must be a positive, finite number*, got True"),
        ("sleepbench_wall(parallel=[1], workers=True)",
         "*@pytest.mark.sleepbench_wall: workers must be a positive whole number, got True"),
        ("sleepbench_wall(at_most=1, within=2)",
         "*@pytest.mark.sleepbench_wall: unknown argument(s) within; it takes at_least, "
         "at_most, parallel, serial, workers"),
    ],
)
def test_a_bad_marker_argument_is_named_with_what_is_accepted_and_the_body_never_runs(
    pytester: pytest.Pytester, marker: str, error: str
) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{marker}
        def test_marked():
            raise RuntimeError("the body ran")
    """)
    result = pytester.runpytest("--sleepbench-unit=0.01")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([error])
    assert "the body ran" not in result.stdout.str()


def test_a_bad_marker_on_a_test_that_takes_its_run_errors_with_the_message_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.sleepbench("mapp", [1, 2])
        def test_marked(sleepbench_run):
            raise RuntimeError("the body ran")
    """)
    result = pytester.runpytest("--sleepbench-unit=0.01")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.sleepbench: pattern must be one of serial, *"
                                 ", got 'mapp'"])
    output = result.stdout.str()
    assert "the body ran" not in output
    assert "fixtures.py" not in output and "Traceback" not in output


def test_the_arguments_the_readme_lists_are_accepted_by_position_or_keyword(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import multiprocessing, time, pytest

        METHOD = multiprocessing.get_all_start_methods()[0]

        @pytest.mark.sleepbench("submit", [1, 1], workers=2, start_method=METHOD, unit=0.01,
                                check=False)
        def test_by_position(sleepbench_run):
            assert (sleepbench_run.durations, sleepbench_run.unit) == ((1, 1), 0.01)

        @pytest.mark.sleepbench(pattern="serial", durations=(0, 1.5), check=False)
        def test_by_keyword(sleepbench_run):
            assert sleepbench_run.durations == (0, 1.5)

        @pytest.mark.sleepbench_wall(0.001, 5)
        def test_wall_by_position():
            time.sleep(0.01)

        @pytest.mark.sleepbench_wall(at_most=5)
        def test_wall_upper_only():
            pass
    """)
    pytester.runpytest("--sleepbench-unit=0.01").assert_outcomes(passed=4)


def test_the_repeat_sees_and_reports_only_its_own_runs_and_probes(
    pytester: pytest.Pytester,
) -> None:
    # Too slow on both attempts, so the test fails and the summary shows what was kept: the
    # marker's run (made at setup, once) and the repeat's run and probe.
    pytester.makepyfile("""
        import pytest

        @pytest.mark.sleepbench("serial", [1], check=False)
        @pytest.mark.sleepbench_wall(at_most=0.001)
        def test_slow(sleepbench, sleepbench_run):
            assert sleepbench_run.checks == []
            assert [run.pattern for run in sleepbench.runs] == ["serial"]
            assert sleepbench.timeline.intervals == []
            sleepbench.run("submit", [1, 1])
            sleepbench.probe(0.02)()
            sleepbench_run.assert_complete()
    """)
    result = pytester.runpytest("--sleepbench-unit=0.01", "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "sleepbench_wall: the test's call phase took more time than allowed",
        "  expected: the marker's bounds: between 0.000s and 0.001s",
        "  observed: *s then *s",
    ])
    summary = result.stdout.str().split("sleepbench runs")[1].split("short test summary")[0]
    rows = [line.split()[0] for line in summary.splitlines() if "::test_slow" in line]
    assert rows == ["serial", "submit", "probe", "wall"]


def test_a_repeat_that_raises_is_reported_with_the_first_wall(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import time, pytest

        @pytest.mark.sleepbench_wall(at_most=0.01)
        def test_not_repeatable(sleepbench):
            open("made-once", "x").close()
            sleepbench.probe(0.05)()
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "sleepbench_wall: the test's call phase took more time than allowed, and its repeat "
        "raised",
        "  expected: the marker's bounds: between 0.000s and 0.010s",
        "  observed: *s, then FileExistsError: *made-once* (test_*.py:5 in "
        "test_not_repeatable)",
        "*keep a test with sleepbench_wall repeatable*",
        "main *|*",
    ])


def test_a_repeat_within_the_bounds_passes_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import os, time, pytest

        @pytest.mark.sleepbench_wall(at_most=0.2)
        def test_slow_only_once(sleepbench):
            first = not os.path.exists("ran")
            open("ran", "a").close()
            sleepbench.probe(0.5 if first else 0.01)()
            assert len(sleepbench.timeline.intervals) == 1
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    summary = result.stdout.str().split("sleepbench runs")[1]
    assert [line.split()[0] for line in summary.splitlines() if "::test_" in line] == [
        "probe", "wall"]
