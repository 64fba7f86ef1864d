"""``--sleepbench-exit-zero``: a grading run that finished exits 0 whatever the scores, and
keeps a failing status for everything that is not a finished grading. Real pytest sessions."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from grading_support import BROKEN_GRADER, copy_reference, course, submission
from platform_support import CRASH
from session_support import find_victim, finish, start_session

FINISHED = ("sleepbench: exit status 0 (--sleepbench-exit-zero): grading finished; the scores "
            "above are the verdict")


@pytest.fixture
def subs(pytester: pytest.Pytester) -> Path:
    """alice's script crashes; bob's is right. Graded in name order when alone."""
    submission(pytester.path / "subs" / "alice", {"ex1_serial.py": CRASH})
    copy_reference(pytester.path / "subs" / "bob", "ex1_serial.py")
    (pytester.path / "course.toml").write_text(course("ex1"))
    return pytester.path / "subs"


def _grade(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml",
        "--sleepbench-json=out/grades.json", "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("how", ["unset", "option", "ini", "option-xdist"])
def test_a_finished_grading_exits_zero_whatever_the_scores(
    pytester: pytest.Pytester, subs: Path, how: str
) -> None:
    args = {"option": ("--sleepbench-exit-zero",),
            "option-xdist": ("--sleepbench-exit-zero", "-n", "2")}.get(how, ())
    if how == "ini":
        pytester.makeini("[pytest]\nsleepbench_exit_zero = true\n")
    result = _grade(pytester, *args)
    result.assert_outcomes(passed=1, failed=1)
    assert (pytester.path / "out" / "grades.json").is_file()
    if how == "unset":
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert "sleepbench: exit status" not in result.stdout.str()
        return
    assert result.ret == pytest.ExitCode.OK
    named = "sleepbench_exit_zero (ini)" if how == "ini" else "--sleepbench-exit-zero"
    result.stdout.fnmatch_lines([FINISHED.replace("--sleepbench-exit-zero", named)])
    result.stdout.fnmatch_lines(["alice * 0/10", "bob * 10/10"])


WRECK = """\
from pathlib import Path

def pytest_sessionstart(session):
    Path("out/grades.json").mkdir(parents=True)
"""



@pytest.mark.parametrize(
    ("conftest", "args", "status", "line"),
    [
        (WRECK, (), pytest.ExitCode.INTERNAL_ERROR,
         "sleepbench could not write the JSON report (--sleepbench-json) *"),
        (BROKEN_GRADER, (), pytest.ExitCode.TESTS_FAILED,
         "sleepbench: exit status 1 despite --sleepbench-exit-zero: 1 exercise(s) could not be "
         "graded; grade them again (pytest --lf) for a verdict"),
        ("", ("-x",), pytest.ExitCode.TESTS_FAILED,
         "sleepbench: exit status 1 despite --sleepbench-exit-zero: grading did not finish (the "
         "session stopped early (stopping after 1 failures)); grade them again *"),
        ("", ("--sleepbench-assignment=missing.toml",), pytest.ExitCode.USAGE_ERROR, ""),
    ],
    ids=["report-not-written", "not-graded", "stopped-early", "usage-error"],
)
def test_a_grading_that_did_not_finish_keeps_a_failing_status(
    pytester: pytest.Pytester, subs: Path, conftest: str, args: tuple[str, ...],
    status: pytest.ExitCode, line: str
) -> None:
    if conftest:
        pytester.makeconftest(conftest)
    result = _grade(pytester, "--sleepbench-exit-zero", *args)
    assert result.ret == status, result.stdout.str()
    if line:
        result.stdout.fnmatch_lines([line])
    assert FINISHED not in result.stdout.str()


def test_an_interrupted_grading_exits_two(slow_course: Path, scratch: Path) -> None:
    session = start_session(slow_course, scratch, "--sleepbench-exit-zero")
    find_victim(scratch, session)
    os.killpg(session.pid, signal.SIGINT)
    code, log = finish(session, slow_course)
    assert code == pytest.ExitCode.INTERRUPTED, log
    assert "sleepbench: exit status" not in log
    assert (slow_course / "out" / "grades.json").is_file()
