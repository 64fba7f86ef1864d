"""A submission's exercises run side by side: timed runs one after another's launch, longest
first; main-guard runs in the idle scheduling class until grading waits for them; nothing
left running when the session stops early; a submission's items on one xdist worker."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from grading_support import (
    EXAMPLES,
    copy_reference,
    course,
    fast_assignment,
    message_of,
    needs_root,
    run_processes,
    statuses,
    submission,
)
from session_support import ASSIGNMENT, PATIENCE, assert_nothing_left, finish, start_session

from pytest_sleepbench.grading.ahead import Ahead, RunKey
from pytest_sleepbench.grading.assignment import parse
from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.outcome import Limits, Outcome
from pytest_sleepbench.grading.plan import plan, start_ahead
from pytest_sleepbench.grading.procs import RunProcs
from pytest_sleepbench.grading.sandbox import run_script


@needs_root
def test_the_exercises_of_a_submission_sleep_at_the_same_time(tmp_path: Path) -> None:
    # 50 ms a unit: the map sleeps 8 units, long after the others are launched.
    assignment = parse(course("ex1", "ex2", "ex3_3").replace("unit = 0.02", "unit = 0.05"))
    folder = copy_reference(tmp_path / "ref", "ex1_serial.py", "ex2_processes.py",
                            "ex3_3_map.py")
    ahead = start_ahead(folder, assignment.exercises, assignment)
    try:
        graded = [p for e in assignment.exercises if (p := plan(folder, e, assignment))]
        outcomes = {p.exercise.id: ahead.take(p.graded) for p in graded}
    finally:
        ahead.close()
    spans = {}
    for ident, o in outcomes.items():
        assert o is not None and o.returncode == 0, ident
        spans[ident] = (o.origin, max(i.end for i in o.recording.intervals))
    # Run one after the other, each would be launched after the one before it had ended.
    # (When its sleeps then begin is up to its start-up, which load stretches.)
    begun, last = spans.pop("ex3_3")
    assert all(launched < last and end > begun for launched, end in spans.values()), (
        begun, last, spans)
    assert not run_processes()


@needs_root
def test_timed_runs_start_longest_first_each_after_the_one_before_it(tmp_path: Path) -> None:
    assignment = fast_assignment()
    folder = copy_reference(tmp_path / "ref", "ex1_serial.py", "ex2_processes.py",
                            "ex3_2_as_completed.py")
    ahead = start_ahead(folder, assignment.exercises, assignment)
    try:
        graded = {p.exercise.id: p for e in assignment.exercises
                  if (p := plan(folder, e, assignment))}
        outcomes = {ident: ahead.take(p.graded) for ident, p in graded.items()}
    finally:
        ahead.close()
    admitted = [(key[0], at) for key, at in ahead.admitted if key[1] is None]
    # as_completed sleeps 8 units on two workers (5 on one), serial 3, processes 1.
    assert [ident for ident, _ in admitted] == ["ex3_2", "ex1", "ex2"]
    began = {ident: o.origin for ident, o in outcomes.items() if o is not None}
    for k, (ident, at) in enumerate(admitted):
        assert began[ident] >= at
        # This grader's share of the cores may start at once; each run after those waits
        # until enough of the earlier ones have begun and gone to sleep.
        earlier = sum(began[before] < at for before, _ in admitted[:k])
        assert earlier >= k - ahead.starting + 1, (ahead.starting, admitted, began)


@needs_root
@pytest.mark.parametrize(("idle", "policy"), [(True, os.SCHED_IDLE), (False, os.SCHED_OTHER)])
def test_a_run_started_idle_takes_only_cpu_nothing_else_wants(
    tmp_path: Path, idle: bool, policy: int
) -> None:
    folder = submission(tmp_path / "s", {"s.py": "print('hello')\n"})
    seen: list[int] = []

    def launched(run: RunProcs) -> None:
        seen.append(os.sched_getscheduler(run.root_pid))

    outcome = run_script(folder, "s.py", unit=0.02, limits=Limits(wall=60), idle=idle,
                         launched=launched)
    assert outcome.returncode == 0
    assert seen == [policy]


@needs_root
def test_grading_that_waits_for_an_idle_run_moves_it_to_the_normal_class(
    tmp_path: Path
) -> None:
    assignment = fast_assignment()
    ex2 = next(e for e in assignment.exercises if e.id == "ex2")
    # Waits in select, which no unit scales, far longer than grading waits before it acts.
    folder = submission(tmp_path / "s", {"ex2_processes.py": """\
        import os, select
        select.select([], [], [], 0.5)
        print("policy", os.sched_getscheduler(0))
    """})
    ahead = start_ahead(folder, [ex2], assignment)
    try:
        planned = plan(folder, ex2, assignment)
        assert planned is not None and planned.guarded
        guard = ahead.take(planned.guard)
        graded = ahead.take(planned.graded)
    finally:
        ahead.close()
    assert graded is not None and guard is not None
    assert [line for _, line in guard.stdout] == [f"policy {os.SCHED_OTHER}"]


@needs_root
def test_a_session_stopped_at_its_first_failure_ends_the_runs_it_started_ahead(
    tmp_path: Path, scratch: Path
) -> None:
    # ex1 is missing, so the session stops there, with ex2 already running and far from done.
    submission(tmp_path / "subs" / "ann", {"ex2_processes.py": """\
        import threading
        threading.Event().wait(120)
    """})
    (tmp_path / "course.toml").write_text(
        ASSIGNMENT + '[[exercise]]\nid = "ex2"\npattern = "processes"\n'
        'file = "ex2_processes*.py"\npoints = 10\ntimeout = 120\n')
    began = time.monotonic()
    code, log = finish(start_session(tmp_path, scratch, "-x"), tmp_path)
    assert code == 1, log
    assert "1 failed" in log
    assert time.monotonic() - began < PATIENCE / 2, log
    assert_nothing_left(scratch, tmp_path)


# Two exercises of 0.6 s of sleep each (3 units of 0.2 s), under two names.
_TWICE = "unit = 0.2\n" + "".join(
    f'[[exercise]]\nid = "{ident}"\npattern = "serial"\nfile = "ex1_serial*.py"\n'
    "points = 10\n" for ident in ("first", "second"))

# Notes, as each grading item's call begins, when its submission's runs were launched.
_WITNESS = """\
import json, pathlib
import pytest
from pytest_sleepbench.core.clock import now

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    ahead = getattr(item.parent, "_ahead", None)
    launched = {key[0]: at for key, at in (ahead.admitted if ahead else []) if key[1] is None}
    line = {"submission": item.parent.name, "item": item.name, "call": now(),
            "launched": launched.get(item.name)}
    with open(pathlib.Path(__file__).parent / "calls.jsonl", "a") as out:
        out.write(json.dumps(line) + "\\n")
"""


@needs_root
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_an_exercise_graded_after_another_was_already_running(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    for name in ("ann", "bob"):
        copy_reference(pytester.path / "subs" / name, "ex1_serial.py")
    (pytester.path / "course.toml").write_text(_TWICE)
    # A plugin, not a conftest: grading items live outside the rootdir's conftest scope.
    pytester.makepyfile(witness=_WITNESS)
    result = pytester.runpytest_subprocess(
        "-p", "witness", "-p", "sleepbench", "--sleepbench-grade=subs",
        "--sleepbench-assignment=course.toml", "-v", "-p", "no:cacheprovider", *xdist,
        timeout=120)
    result.assert_outcomes(passed=4)
    calls = [json.loads(line)
             for line in (pytester.path / "calls.jsonl").read_text().splitlines()]
    second = {c["submission"]: c for c in calls if c["item"] == "second"}
    assert sorted(second) == ["ann", "bob"], calls
    # The second exercise's run was launched before its item began: beside the first's.
    assert all(c["launched"] is not None and c["launched"] < c["call"]
               for c in second.values()), calls
    # Under xdist, whole submissions go to one worker each.
    workers: dict[str, set[str]] = {}
    for line in result.outlines:
        found = re.search(r"\[(gw\d+)\].*sleepbench-grade/(\w+)::", line)
        if found:
            workers.setdefault(found[2], set()).add(found[1])
    assert all(len(w) == 1 for w in workers.values()), workers
    assert sorted(workers) == (["ann", "bob"] if xdist else [])


class _Replay(Ahead):
    """Hands grading a recorded outcome for its first graded run, and nothing after it, so the
    retry runs the submission for real."""

    def __init__(self, key: RunKey, outcome: Outcome) -> None:
        super().__init__(Path("."), python=None, owner="local", pace=0.05)
        self.kept = {key: outcome}

    def take(self, key: RunKey) -> Outcome | None:
        return self.kept.pop(key, None)

    def drop(self, key: RunKey) -> None:
        self.kept.pop(key, None)


def _grade_after_a_late_threads_run(tmp_path: Path, again: str) -> dict[str, object]:
    """ex2 graded on ``again`` (the script its second measurement runs), its first
    measurement being the threads example held up after its sleeps for longer than any
    margin."""
    assignment = fast_assignment('start_method = "fork"')
    ex2 = next(e for e in assignment.exercises if e.id == "ex2")
    threads = (EXAMPLES / "threads" / "ex2_processes.py").read_text()
    slow = submission(tmp_path / "slow", {"ex2_processes.py": threads + (
        "    import select\n    select.select([], [], [], 0.5)\n")})
    planned = plan(slow, ex2, assignment)
    assert planned is not None
    first = run_script(slow, "ex2_processes.py", unit=assignment.unit, limits=planned.limits)
    folder = submission(tmp_path / "again", {"ex2_processes.py": again or threads})
    return grade_exercise(folder, ex2, assignment, ahead=_Replay(planned.graded, first))


@needs_root
def test_a_late_wrong_submission_is_measured_again_and_keeps_its_structural_verdict(
    tmp_path: Path
) -> None:
    entry = _grade_after_a_late_threads_run(tmp_path, "")
    seen = statuses(entry)
    assert seen["uses_processes"] == "fail" and seen["api"] == "fail"
    assert seen["timing"] == "pass", message_of(entry, "timing")
    assert "passed on a second attempt (the first attempt took" in message_of(entry, "timing")
    assert entry["score"] == pytest.approx(10 * (1 - 0.5 - 0.2))


@needs_root
def test_an_order_a_held_up_worker_turned_is_measured_again(tmp_path: Path) -> None:
    assignment = fast_assignment('start_method = "fork"')
    ex3_2 = next(e for e in assignment.exercises if e.id == "ex3_2")
    reference = (EXAMPLES / "reference" / "ex3_2_as_completed.py").read_text()
    # The lesson's code, with the worker that takes the 2 held up before it sleeps, as a
    # loaded machine can: the 1 then finishes first, and as_completed still yields them as
    # they finish.
    held = reference.replace("    time.sleep(seconds)",
                             "    if seconds == 2:\n        import select\n"
                             "        select.select([], [], [], 0.3)\n    time.sleep(seconds)")
    assert held != reference
    slow = submission(tmp_path / "slow", {"ex3_2_as_completed.py": held})
    quick = submission(tmp_path / "quick", {"ex3_2_as_completed.py": reference})
    planned = plan(slow, ex3_2, assignment)
    assert planned is not None
    first = run_script(slow, "ex3_2_as_completed.py", unit=assignment.unit,
                       limits=planned.limits, start_method="fork")
    alone = grade_exercise(slow, ex3_2, assignment)
    assert statuses(alone)["order"] == "fail"  # measured again, it is held up again
    entry = grade_exercise(quick, ex3_2, assignment, ahead=_Replay(planned.graded, first))
    assert statuses(entry)["order"] == "pass", message_of(entry, "order")
    assert entry["score"] == 10


@needs_root
def test_a_second_run_that_crashes_leaves_the_first_runs_late_failure_standing(
    tmp_path: Path
) -> None:
    # Measured again, it crashes before its first line: its checks are skipped, and a skip
    # must not wipe out the failure the first run earned.
    entry = _grade_after_a_late_threads_run(tmp_path, "raise SystemExit(3)\n")
    seen = statuses(entry)
    assert seen["runs"] == "pass" and seen["uses_processes"] == "fail"
    assert seen["timing"] == "fail", entry["checks"]
    assert "took more time than the schedule allows" in message_of(entry, "timing")
