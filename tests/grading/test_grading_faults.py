"""Faults in a real grading session: an xdist worker killed mid-exercise, and Ctrl-C.

Each test runs ``python -m pytest`` as a real subprocess with its own ``TMPDIR``, so every
process of that session (xdist workers inherit it; sandbox runs are marked with a path under
it) can be told apart from those of other tests running alongside.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest
from session_support import (
    PATIENCE,
    SLOW,
    alive,
    assert_nothing_left,
    find_victim,
    finish,
    session_processes,
    session_reports,
    start_session,
)

from pytest_sleepbench.grading.isolation import NAMESPACED, level
from pytest_sleepbench.grading.sandbox import sweep


def test_a_killed_worker_fails_its_exercise_and_every_other_result_is_kept(
    slow_course: Path, scratch: Path
) -> None:
    session = start_session(slow_course, scratch, "-n", "2", "--junitxml=junit.xml")
    victim = find_victim(scratch, session)
    worker = victim.parent()
    assert worker is not None and worker.ppid() == session.pid, "not run by an xdist worker"
    worker.kill()
    code, log = finish(session, slow_course)

    assert code == pytest.ExitCode.TESTS_FAILED, log
    assert "1 failed, 2 passed" in log, log
    assert ("runs: not graded: the grader worker gw" in log
            and "running this exercise died (killed by signal 9, SIGKILL)" in log), log
    assert "FAILED sleepbench-grade/victim::ex1 - victim ex1 (serial): 0 of 10" in log, log
    gradebook = [line.split() for line in log.splitlines()]
    assert ["victim", "crashed", "0/10"] in gradebook, log
    entries, rows = session_reports(slow_course)
    crashed = entries["victim"]
    assert (crashed["status"], crashed["score"], crashed["wall"]) == ("fail", 0.0, None)
    assert crashed["file"] == SLOW
    [check] = crashed["checks"]
    assert check["name"] == "runs" and check["status"] == "fail"
    assert check["message"].startswith("runs: not graded: the grader worker gw")
    for name in ("good", "other"):
        assert entries[name]["status"] == "pass" and rows[name]["ex1"] == "10"
    junit = ET.parse(slow_course / "junit.xml").getroot()
    [case] = [c for c in junit.iter("testcase") if c.get("classname") == "sleepbench-grade.victim"]
    failure = case.find("failure")
    assert failure is not None and "runs: not graded" in (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props == {"score": "0.0", "max_score": "10.0", "status": "fail"}, props
    assert_nothing_left(scratch, slow_course)


@pytest.mark.parametrize(
    ("workers", "to_group"),
    [((), True), (("-n", "2"), True), (("-n", "2"), False)],
    ids=["alone-ctrl-c", "xdist-ctrl-c", "xdist-sigint-to-pytest-only"],
)
def test_an_interrupted_run_leaves_no_process_and_only_whole_reports(
    slow_course: Path, scratch: Path, workers: tuple[str, ...], to_group: bool
) -> None:
    session = start_session(slow_course, scratch, *workers)
    find_victim(scratch, session)
    # A terminal's Ctrl-C reaches the whole foreground group (xdist workers included); a
    # SIGINT to pytest alone leaves the controller to stop its workers.
    if to_group:
        os.killpg(session.pid, signal.SIGINT)
    else:
        session.send_signal(signal.SIGINT)
    code, log = finish(session, slow_course)

    assert code == pytest.ExitCode.INTERRUPTED, log
    assert_nothing_left(scratch, slow_course)
    entries, rows = session_reports(slow_course)
    # What the interruption stopped is in the reports as not graded, so totals keep the
    # assignment's maximum; nothing is passed off as a verdict.
    stopped = {name for name, e in entries.items() if e["wall"] is None}
    assert "victim" in stopped
    for name in stopped:
        entry = entries[name]
        assert entry["status"] == "fail" and entry["score"] == 0, entry
        assert "interrupted" in entry["checks"][0]["message"], entry
    for name in set(entries) - stopped:
        assert entries[name]["status"] == "pass" and rows[name]["ex1"] == "10", entries[name]
    if not workers:
        # Alone, the submissions are graded in name order, so these finished before the victim.
        assert sorted(set(entries) - stopped) == ["good", "other"]


DRIVER = """\
import sys
from pathlib import Path
from pytest_sleepbench.grading.sandbox import Limits, run_script
run_script(Path(sys.argv[1]), sys.argv[2], unit=0.02, limits=Limits(wall=120), owner=sys.argv[3])
"""


def test_sweep_ends_the_runs_of_a_dead_grader_and_only_those_of_its_owner(
    slow_course: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = dict(os.environ, TMPDIR=str(scratch))
    graders = {
        owner: subprocess.Popen([sys.executable, "-c", DRIVER, str(slow_course / "subs" / "victim"),
                                 SLOW, owner], env=env, start_new_session=True)
        for owner in ("run.gw1", "run.gw10")
    }
    scripts: dict[str, psutil.Process] = {}
    for owner, grader in graders.items():
        deadline = time.monotonic() + PATIENCE
        while owner not in scripts and time.monotonic() < deadline:
            for proc in session_processes(scratch):
                try:
                    if SLOW in proc.cmdline() and f"-{owner}-{grader.pid}-" in (
                            proc.environ().get("SLEEPBENCH_GRADE_INTERVALS", "")):
                        scripts[owner] = proc
                except psutil.Error:
                    continue
            time.sleep(0.05)
        assert owner in scripts, f"{owner}'s script never ran"
        grader.kill()
        grader.wait()
    # Namespaced, a run ends with its grader (its init gets the grader's death as a SIGKILL);
    # otherwise nothing but a sweep would end it.
    namespaced = level() in NAMESPACED
    if namespaced:
        # The death signal and the namespace's end take a moment, longer on a busy machine.
        deadline = time.monotonic() + PATIENCE
        while any(alive(p) for p in scripts.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
    else:
        time.sleep(0.2)
    assert [alive(p) for p in scripts.values()] == [not namespaced] * 2

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    runs = scratch / f"sleepbench-runs.{os.geteuid()}"
    killed = sweep("run.gw1")
    if not namespaced:
        assert [line.split(":")[0] for line in killed] == [f"pid {scripts['run.gw1'].pid}"]
        assert not alive(scripts["run.gw1"]) and alive(scripts["run.gw10"])
    assert not list(runs.glob("sleepbench-grade-run.gw1-*"))
    assert len(list(runs.glob("sleepbench-grade-run.gw10-*"))) == 1
    sweep("run")
    assert not session_processes(scratch)
    assert not list(runs.glob("sleepbench-grade-*"))
