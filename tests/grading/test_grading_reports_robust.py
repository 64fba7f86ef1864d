"""Reports that hold up: a grader that fails, bad report paths, partial and collect-only runs,
an interrupted session, and pytest run from inside the graded folder.

Every test grades through a real pytest session (``pytester``), the way an instructor runs it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
import test_grading_faults as faults
from grading_support import EXAMPLES, copy_reference, submission

pytest.importorskip("xdist")

# Two of the built-in exercises at 20 ms per tutorial second: quick, and enough to tell a
# kept entry from a replaced one.
COURSE = """\
unit = 0.02
[[exercise]]
id = "ex1"
pattern = "serial"
file = "ex1_serial*.py"
points = 10

[[exercise]]
id = "ex2"
pattern = "processes"
file = "ex2_processes*.py"
points = 10
"""
REPORTS = ("--sleepbench-json=out/grades.json", "--sleepbench-csv=out/grades.csv",
           "--sleepbench-gradescope=out/gs")


@pytest.fixture
def subs(pytester: pytest.Pytester) -> Path:
    """alice does both exercises right; bob does ex1 right and ex2 with threads."""
    copy_reference(pytester.path / "subs" / "alice", "ex1_serial.py", "ex2_processes.py")
    bob = copy_reference(pytester.path / "subs" / "bob", "ex1_serial.py")
    (bob / "ex2_processes.py").write_bytes((EXAMPLES / "threads" / "ex2_processes.py").read_bytes())
    (pytester.path / "course.toml").write_text(COURSE)
    return pytester.path / "subs"


def _grade(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml",
        "-p", "no:cacheprovider", *args)


def _json(pytester: pytest.Pytester) -> dict[str, dict[str, dict[str, Any]]]:
    """The JSON report's entries by submission and exercise id."""
    doc = json.loads((pytester.path / "out" / "grades.json").read_text())
    assert doc["schema"] == 1
    return {s["name"]: {e["id"]: e for e in s["exercises"]} for s in doc["submissions"]}


def _csv(pytester: pytest.Pytester) -> dict[str, dict[str, str]]:
    text = (pytester.path / "out" / "grades.csv").read_text()
    return {r["submission"]: r for r in csv.DictReader(io.StringIO(text))}


def _gradescope(path: Path) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(path.read_text())
    return results


def _gradebook(result: pytest.RunResult) -> list[list[str]]:
    return [line.split() for line in result.outlines]


def test_special_files_in_a_submission_are_left_out_of_its_copy(
    pytester: pytest.Pytester, subs: Path
) -> None:
    os.mkfifo(subs / "bob" / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("subs/bob/sock")  # relative: a socket path is short (108 bytes at most)
        result = _grade(pytester, *REPORTS, "-k", "ex1")
    result.assert_outcomes(passed=2, deselected=2)
    assert _json(pytester)["bob"]["ex1"]["status"] == "pass"
    assert _csv(pytester)["bob"]["ex1"] == "10"
    assert _gradescope(pytester.path / "out" / "gs" / "bob.json")["score"] == 10


BROKEN = """\
import pytest_sleepbench._plugin.grading as grading

real = grading.grade_exercise

def broken(folder, *args, **kwargs):
    if folder.name == "bob":
        raise RuntimeError("the grader broke")
    return real(folder, *args, **kwargs)

grading.grade_exercise = broken
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_a_grader_that_fails_leaves_a_not_graded_entry_in_every_report(
    pytester: pytest.Pytester, subs: Path, workers: tuple[str, ...]
) -> None:
    # Outside the graded folder, as an instructor's own conftest would be.
    pytester.makeconftest(BROKEN)
    result = _grade(pytester, *REPORTS, "--junitxml=out/junit.xml", *workers)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*runs: not graded: the grader failed before it finished (RuntimeError: the grader "
        "broke); nothing was graded, so it scores 0. Grade it again (pytest --lf)*",
        "*RuntimeError: the grader broke",  # the traceback, for a bug report
    ])
    assert ["bob", "crashed", "crashed", "0/20"] in _gradebook(result)
    bob = _json(pytester)["bob"]
    for entry in bob.values():
        assert (entry["status"], entry["score"], entry["wall"]) == ("fail", 0.0, None)
        assert entry["checks"][0]["message"].startswith("runs: not graded: the grader failed")
    assert _csv(pytester)["bob"] == {"submission": "bob", "ex1": "0", "ex2": "0", "total": "0",
                                     "max_score": "20"}
    tests = _gradescope(pytester.path / "out" / "gs" / "bob.json")["tests"]
    assert [(t["number"], t["status"]) for t in tests] == [("ex1", "failed"), ("ex2", "failed")]
    assert _json(pytester)["alice"]["ex2"]["status"] == "pass"


# A plugin, not a conftest: a conftest's item hooks reach only items under its folder.
TIMEOUT = """\
import pytest

def pytest_itemcollected(item):
    # Ahead of the grader's own outer guard, which is far longer.
    if "victim" in item.nodeid:
        item.add_marker(pytest.mark.timeout(2), append=False)
"""


def test_pytest_timeout_stopping_an_exercise_leaves_a_not_graded_entry(
    pytester: pytest.Pytester,
) -> None:
    copy_reference(pytester.path / "subs" / "good", "ex1_serial.py")
    submission(pytester.path / "subs" / "victim", {faults.SLOW: """\
        import threading
        threading.Event().wait(120)
    """})
    (pytester.path / "course.toml").write_text(faults.ASSIGNMENT)
    pytester.makepyfile(short_timeout=TIMEOUT)
    result = _grade(pytester, "-p", "short_timeout", "--sleepbench-json=out/grades.json",
                    "--sleepbench-csv=out/grades.csv")
    result.assert_outcomes(passed=1, failed=1)
    [check] = _json(pytester)["victim"]["ex1"]["checks"]
    assert check["message"].startswith(
        "runs: not graded: grading was stopped before it finished (Timeout (>2.0s) from "
        "pytest-timeout); nothing was graded")
    assert _csv(pytester)["victim"]["max_score"] == "10"


LEARNER_CONFTEST = "open('tripwire', 'w').write('imported')\n"


@pytest.mark.parametrize("planted", ["pyproject.toml", "conftest.py"])
def test_pytest_run_inside_the_graded_folder_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    mine = copy_reference(pytester.path / "mine", "ex1_serial.py")
    if planted == "conftest.py":
        (mine / planted).write_text(LEARNER_CONFTEST)
    else:
        (mine / planted).write_text(textwrap.dedent("""\
            [tool.pytest.ini_options]
            addopts = "--sleepbench-csv=planted.csv"
        """))
    monkeypatch.chdir(mine)
    result = pytester.runpytest_subprocess("--sleepbench-grade=.", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        f"*--sleepbench-grade: pytest read */mine/{planted}, inside the graded folder */mine, "
        "before grading could start*Run it from outside the folder, for instance from its "
        "parent: cd * && pytest -p sleepbench --sleepbench-grade=mine*"])
    assert "sleepbench gradebook" not in result.stdout.str()
    assert not (mine / "planted.csv").exists()
    # From the parent, the same folder is graded, and nothing in it is read.
    monkeypatch.chdir(pytester.path)
    (mine / "tripwire").unlink(missing_ok=True)
    outside = pytester.runpytest_subprocess("--sleepbench-grade=mine", "-p", "no:cacheprovider",
                                            "-k", "ex1")
    outside.assert_outcomes(passed=1, deselected=5)
    assert not (mine / "tripwire").exists()
    assert not (pytester.path / "tripwire").exists()
