"""Reports that hold up: a grader that fails, bad report paths, partial and collect-only runs,
an interrupted session, and pytest run from inside the graded folder.

Every test grades through a real pytest session (``pytester``), the way an instructor runs it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
from grading_support import BROKEN_GRADER, EXAMPLES, copy_reference, course, submission
from session_support import (
    ASSIGNMENT,
    SLOW,
    assert_nothing_left,
    find_victim,
    finish,
    start_session,
)

from pytest_sleepbench.report.gradebook import to_csv, write_gradescope

# Two of the built-in exercises: quick, and enough to tell a kept entry from a replaced one.
COURSE = course("ex1", "ex2")
REPORTS = ("--sleepbench-json=out/grades.json", "--sleepbench-csv=out/grades.csv",
           "--sleepbench-gradescope=out/gs")
INTERRUPTED = "runs: not graded: the session was interrupted before this exercise was graded"


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




@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_a_grader_that_fails_leaves_a_not_graded_entry_in_every_report(
    pytester: pytest.Pytester, subs: Path, workers: tuple[str, ...]
) -> None:
    # Outside the graded folder, as an instructor's own conftest would be.
    pytester.makeconftest(BROKEN_GRADER)
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
    submission(pytester.path / "subs" / "victim", {SLOW: """\
        import threading
        threading.Event().wait(120)
    """})
    (pytester.path / "course.toml").write_text(ASSIGNMENT)
    pytester.makepyfile(short_timeout=TIMEOUT)
    result = _grade(pytester, "-p", "short_timeout", "--sleepbench-json=out/grades.json",
                    "--sleepbench-csv=out/grades.csv")
    result.assert_outcomes(passed=1, failed=1)
    [check] = _json(pytester)["victim"]["ex1"]["checks"]
    assert check["message"].startswith(
        "runs: not graded: grading was stopped before it finished (Timeout (>2.0s) from "
        "pytest-timeout); nothing was graded")
    assert _csv(pytester)["victim"]["max_score"] == "10"


@pytest.mark.parametrize(
    ("args", "make", "error"),
    [
        (("--sleepbench-json=out",), "out/", "*--sleepbench-json: */out is a folder, where the "
         "report file is written; name a file"),
        (("--sleepbench-csv=out/grades.csv/x.csv",), "out/grades.csv",
         "*--sleepbench-csv: */out/grades.csv is a file, so nothing can be written under it"),
        (("--sleepbench-gradescope=out/gs",), "out/gs", "*--sleepbench-gradescope: */out/gs is "
         "a file, where a folder of <submission>.json files is written (one per submission, "
         "since several are graded); name a folder"),
        (("--sleepbench-gradescope=out/gs", "--sleepbench-grade=subs/alice"), "out/gs/",
         "*--sleepbench-gradescope: */out/gs is a folder, where the report file is written "
         "(Gradescope's results.json, since one submission is graded); name a file, for "
         "instance */out/gs/results.json"),
        (("--sleepbench-json=out/g", "--sleepbench-csv=out/g"), "",
         "*--sleepbench-csv: */out/g is also the path of --sleepbench-json; give each report "
         "its own"),
    ],
    ids=["json-folder", "under-a-file", "gradescope-file", "gradescope-folder", "same-path"],
)
def test_a_report_path_that_cannot_take_its_report_is_a_usage_error(
    pytester: pytest.Pytester, subs: Path, args: tuple[str, ...], make: str, error: str
) -> None:
    if make.endswith("/"):
        (pytester.path / make).mkdir(parents=True)
    elif make:
        (pytester.path / make).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / make).write_text("")
    result = _grade(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("first_all", [True, False], ids=["all-then-one", "one-then-all"])
def test_gradescope_is_a_folder_for_several_submissions_whatever_is_selected(
    pytester: pytest.Pytester, subs: Path, first_all: bool
) -> None:
    one = (("-k", "alice and ex1"), ["ex1"])
    every = ((), ["ex1", "ex2"])
    for selection, graded in [every, one] if first_all else [one, every]:
        result = _grade(pytester, "--sleepbench-gradescope=out/gs", *selection)
        assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
        alice = _gradescope(pytester.path / "out" / "gs" / "alice.json")
        assert [t["number"] for t in alice["tests"]] == graded
    assert sorted(p.name for p in (pytester.path / "out" / "gs").iterdir()) == [
        "alice.json", "bob.json"]


WRECK = """\
from pathlib import Path

def pytest_sessionstart(session):
    # After the paths were checked: the JSON report's path has become a folder since.
    Path("out/grades.json").mkdir(parents=True)
"""


def test_a_report_that_cannot_be_written_keeps_none_of_the_others_back(
    pytester: pytest.Pytester, subs: Path
) -> None:
    pytester.makeconftest(WRECK)
    result = _grade(pytester, *REPORTS, "-k", "ex1")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines([
        "sleepbench could not write the JSON report (--sleepbench-json) */out/grades.json: *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert _csv(pytester)["alice"]["ex1"] == "10"
    assert (pytester.path / "out" / "gs" / "bob.json").is_file()
    assert not [p for p in (pytester.path / "out").iterdir() if p.name.startswith(".")]


def test_collect_only_leaves_the_reports_as_they_were(
    pytester: pytest.Pytester, subs: Path
) -> None:
    _grade(pytester, *REPORTS, "-k", "ex1")
    files = sorted(p for p in (pytester.path / "out").rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    result = _grade(pytester, *REPORTS, "--co")
    assert result.ret == pytest.ExitCode.OK
    assert "sleepbench gradebook" not in result.stdout.str()
    assert {p: p.read_bytes() for p in files} == before


def test_a_partial_run_is_merged_into_the_earlier_reports(
    pytester: pytest.Pytester, subs: Path
) -> None:
    first = _grade(pytester, *REPORTS)
    first.assert_outcomes(passed=3, failed=1)
    before = _json(pytester)
    assert before["bob"]["ex2"]["status"] == "fail"
    # bob fixes ex2 and has it graded again, alone.
    copy_reference(subs / "bob", "ex2_processes.py")
    again = _grade(pytester, *REPORTS, "-k", "bob and ex2")
    again.assert_outcomes(passed=1, deselected=3)
    again.stdout.fnmatch_lines([
        "sleepbench: merged with the earlier report at */out/grades.json: 1 exercise(s) graded "
        "in this run, 3 kept from it"])
    after = _json(pytester)
    assert after["bob"]["ex2"]["status"] == "pass"
    assert after["bob"]["ex1"] == before["bob"]["ex1"]
    assert after["alice"] == before["alice"]
    assert ["bob", "10", "10", "20/20"] in _gradebook(again)
    assert ["alice", "10", "10", "20/20"] in _gradebook(again)
    assert _csv(pytester)["bob"]["total"] == "20"
    bob = _gradescope(pytester.path / "out" / "gs" / "bob.json")
    assert (bob["score"], [t["number"] for t in bob["tests"]]) == (20, ["ex1", "ex2"])
    assert _gradescope(pytester.path / "out" / "gs" / "alice.json")["score"] == 20


def test_a_report_of_another_assignment_is_replaced_not_merged(
    pytester: pytest.Pytester, subs: Path
) -> None:
    _grade(pytester, *REPORTS, "-k", "ex1")
    (pytester.path / "course.toml").write_text(COURSE.replace("points = 10", "points = 5", 1))
    result = _grade(pytester, *REPORTS, "-k", "alice and ex2")
    result.stdout.fnmatch_lines([
        "sleepbench warning: the reports hold only the 1 exercise(s) selected in this run, of 4 "
        "(the earlier report at */out/grades.json was made with another assignment, so there "
        "is nothing to merge them with)"])
    assert {name: sorted(entries) for name, entries in _json(pytester).items()} == {
        "alice": ["ex2"]}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_a_partial_run_without_a_json_report_warns_it_holds_only_the_selection(
    pytester: pytest.Pytester, subs: Path, workers: tuple[str, ...]
) -> None:
    result = _grade(pytester, "--sleepbench-csv=out/grades.csv", "-k", "ex1", *workers)
    assert result.parseoutcomes()["passed"] == 2
    result.stdout.fnmatch_lines([
        "sleepbench warning: the reports hold only the 2 exercise(s) selected in this run, of 4 "
        "(--sleepbench-json is not set, so there is nothing to merge them with)"])
    assert _csv(pytester)["bob"]["max_score"] == "10"
    whole = _grade(pytester, "--sleepbench-csv=out/grades.csv", *workers)
    assert "the reports hold only" not in whole.stdout.str()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_an_interrupted_session_marks_what_it_did_not_grade(
    slow_course: Path, scratch: Path, workers: tuple[str, ...]
) -> None:
    session = start_session(slow_course, scratch, *workers)
    find_victim(scratch, session)
    os.killpg(session.pid, signal.SIGINT)
    code, log = finish(session, slow_course)

    assert code == pytest.ExitCode.INTERRUPTED, log
    assert_nothing_left(scratch, slow_course)
    doc = json.loads((slow_course / "out" / "grades.json").read_text())
    subs = {s["name"]: s for s in doc["submissions"]}
    assert sorted(subs) == ["good", "other", "victim"], "every submission keeps its place"
    stopped = []
    for name, sub in subs.items():
        [entry] = sub["exercises"]
        assert sub["max_score"] == 10.0, sub
        if entry["status"] != "pass":
            assert (entry["score"], entry["wall"]) == (0.0, None), entry
            assert [c["message"] for c in entry["checks"]] == [INTERRUPTED], entry
            stopped.append(name)
    assert "victim" in stopped
    if not workers:
        # Alone, the submissions are graded in name order, so these finished before the victim.
        assert stopped == ["victim"]
    assert subs["victim"]["exercises"][0]["file"] == SLOW
    assert (f"sleepbench: the gradebook is incomplete: {len(stopped)} exercise(s) were not "
            "graded: the session was interrupted before them; they score 0") in log, log
    assert ["victim", "stopped", "0/10"] in [line.split() for line in log.splitlines()], log


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


def test_a_submission_named_like_a_formula_stays_text_in_the_csv() -> None:
    doc = {"schema": 1, "assignment": {"exercises": [{"id": "ex1"}]}, "submissions": [
        {"name": '=HYPERLINK("x")', "score": 1.0, "max_score": 1.0,
         "exercises": [{"id": "ex1", "score": 1.0}]},
        {"name": "alice", "score": 1.0, "max_score": 1.0,
         "exercises": [{"id": "ex1", "score": 1.0}]}]}
    rows = list(csv.reader(io.StringIO(to_csv(doc))))
    assert rows[1][0] == "'=HYPERLINK(\"x\")" and rows[2][0] == "alice"


def test_each_gradescope_file_of_a_class_tells_its_own_scripts_time(tmp_path: Path) -> None:
    def sub(name: str, walls: list[float | None]) -> dict[str, object]:
        return {"name": name, "score": 0.0, "max_score": 0.0, "exercises": [
            {"id": f"e{k}", "pattern": "map", "score": 0.0, "max_score": 1.0, "status": "fail",
             "wall": w, "checks": []} for k, w in enumerate(walls)]}

    doc = {"schema": 1, "submissions": [sub("alice", [0.5, 0.25]), sub("bob", [1.0, None])]}
    write_gradescope(tmp_path / "gs", doc, 60.0, folder=True)
    times = {n: json.loads((tmp_path / "gs" / f"{n}.json").read_text())["execution_time"]
             for n in ("alice", "bob")}
    assert times == {"alice": 0.75, "bob": 1.0}
    write_gradescope(tmp_path / "one.json", {"schema": 1, "submissions": [sub("alice", [0.5])]},
                     60.0, folder=False)
    assert json.loads((tmp_path / "one.json").read_text())["execution_time"] == 60.0
