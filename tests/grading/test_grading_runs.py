"""Single exercises graded directly: start methods, the model's order, time bounds, the
assignment file's errors."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from grading_support import ROOT, copy_reference, fast_assignment, run_processes, submission

from pytest_sleepbench.grading.assignment import AssignmentError, load, parse
from pytest_sleepbench.grading.checks import Check
from pytest_sleepbench.grading.grade import discover, grade_exercise, score

pytestmark = pytest.mark.skipif(not ROOT, reason="the sandbox isolates runs by user id as root")


def _statuses(entry: dict[str, object]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in _checks(entry)}


def _checks(entry: dict[str, object]) -> list[dict[str, str]]:
    checks = entry["checks"]
    assert isinstance(checks, list)
    return checks


def _message(entry: dict[str, object], name: str) -> str:
    return next(c["message"] for c in _checks(entry) if c["name"] == name)


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_as_completed_follows_the_schedule_under_every_start_method(
    tmp_path: Path, method: str
) -> None:
    assignment = fast_assignment(f'start_method = "{method}"')
    ex = next(e for e in assignment.exercises if e.id == "ex3_2")
    folder = copy_reference(tmp_path / "ref", "ex3_2_as_completed.py")
    entry = grade_exercise(folder, ex, assignment)
    assert entry["status"] == "pass", entry["checks"]
    workers = min(os.cpu_count() or 1, 5)
    assert entry["workers"] == workers
    intervals = entry["intervals"]
    assert isinstance(intervals, list) and len(intervals) == 5
    assert {i["pid"] for i in intervals} and all(i["end"] > i["start"] for i in intervals)
    assert not run_processes()


def test_a_script_that_waits_without_sleeping_misses_the_upper_bound(tmp_path: Path) -> None:
    assignment = fast_assignment()
    ex = next(e for e in assignment.exercises if e.id == "ex1")
    folder = submission(tmp_path / "slow", {"ex1_serial.py": """\
        import select, time
        time.sleep(1)
        time.sleep(2)
        select.select([], [], [], 0.5)  # half a second the model knows nothing about
    """})
    entry = grade_exercise(folder, ex, assignment)
    statuses = _statuses(entry)
    assert statuses["overlap"] == "pass" and statuses["uses_processes"] == "pass"
    assert statuses["timing"] == "fail"
    message = _message(entry, "timing")
    assert "took more time than the schedule allows" in message
    assert "the first attempt took" in message
    assert entry["score"] == pytest.approx(round(10 * 5 / 6, 2))  # 5 of 6 judged checks


def test_a_learner_folder_is_one_submission_and_a_class_folder_many(tmp_path: Path) -> None:
    assignment = fast_assignment()
    learner = copy_reference(tmp_path / "mine", "ex1_serial.py")
    assert discover(learner, assignment) == [("mine", learner)]
    copy_reference(tmp_path / "class" / "bob", "ex1_serial.py")
    copy_reference(tmp_path / "class" / "amy", "ex3_3_map.py")
    (tmp_path / "class" / ".hidden").mkdir()
    assert [name for name, _ in discover(tmp_path / "class", assignment)] == ["amy", "bob"]


def test_scores_share_points_over_judged_checks() -> None:
    checks = [Check("runs", "pass"), Check("api", "fail"), Check("order", "skip"),
              Check("timing", "pass")]
    assert score(checks, 9) == 6
    assert score([Check("runs", "fail"), Check("api", "skip")], 9) == 0
    assert score(checks, 9, slept=False) == 0


def test_the_built_in_assignment_is_the_lesson() -> None:
    default = load(None)
    assert [(e.id, e.pattern) for e in default.exercises] == [
        ("ex1", "serial"), ("ex2", "processes"), ("ex2_1", "process_loop"),
        ("ex3_1", "submit"), ("ex3_2", "as_completed"), ("ex3_3", "map")]
    assert default.exercises[4].durations == (5, 4, 3, 2, 1)
    assert default.memory == 1 << 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unit = 1\nspeed = 2\n", "a.toml:2: unknown key 'speed'; top-level keys are"),
        ("unit = 1\n", "a.toml:1: no exercises"),
        ("unit = 1\nstart_method = 'vfork'\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\n"
         "points=1\n", "a.toml:2: start_method 'vfork' is not available here"),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"
         "[[exercise]]\nid='a'\npattern='map'\nfile='b.py'\npoints=1\n",
         "a.toml:8: exercise id 'a' is used twice"),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='../a.py'\npoints=1\n",
         "a.toml:5: file must be a glob relative to the submission folder"),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"
         "durations=[1, -2]\n", "a.toml:7: durations must be a non-empty list"),
    ],
)
def test_assignment_mistakes_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(AssignmentError) as error:
        parse(text, "a.toml")
    assert str(error.value).startswith(expected)


def test_a_missing_assignment_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(AssignmentError, match=r"nope\.toml: cannot read the assignment file"):
        load(tmp_path / "nope.toml")


def test_durations_come_from_the_assignment(tmp_path: Path) -> None:
    assignment = fast_assignment()
    ex = dataclasses.replace(next(e for e in assignment.exercises if e.id == "ex1"),
                             durations=(1.0, 1.0))
    folder = copy_reference(tmp_path / "ref", "ex1_serial.py")  # sleeps 1 then 2
    entry = grade_exercise(folder, ex, assignment)
    assert entry["status"] == "fail"
    assert _statuses(entry)["timing"] == "fail"
    message = _message(entry, "timing")
    assert "expected: sleeps of 1, 1 tutorial second(s)" in message
    assert "observed: sleeps of 1, 2" in message


def test_the_main_guard_verdict_does_not_rest_on_the_shorter_sleeps_of_its_first_try(
    tmp_path: Path,
) -> None:
    # Guarded, but the children are daemons that the main process outlives by sleeping rather
    # than joining them: at the full unit they start in time, at a tenth of it they may not.
    assignment = fast_assignment()
    ex = next(e for e in assignment.exercises if e.id == "ex2")
    folder = submission(tmp_path / "daemons", {"ex2_processes.py": """\
        import multiprocessing, time

        def nap(seconds):
            time.sleep(seconds)

        if __name__ == "__main__":
            for _ in range(2):
                multiprocessing.Process(target=nap, args=(1,), daemon=True).start()
            time.sleep(15)
    """})
    entry = grade_exercise(folder, ex, assignment)
    assert _statuses(entry)["main_guard"] == "pass", _message(entry, "main_guard")
    assert not run_processes()
