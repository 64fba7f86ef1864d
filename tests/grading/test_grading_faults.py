"""Faults in a real grading session: an xdist worker killed mid-exercise, and Ctrl-C.

Each test runs ``python -m pytest`` as a real subprocess with its own ``TMPDIR``, so every
process of that session (xdist workers inherit it; sandbox runs are marked with a path under
it) can be told apart from those of other tests running alongside.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from grading_support import copy_reference, submission

from pytest_sleepbench.grading.isolation import NAMESPACED, level
from pytest_sleepbench.grading.sandbox import sweep

pytest.importorskip("xdist")

# The script under test: a main process that never ends by itself within any test's patience.
SLOW = "ex1_serial_slow.py"
ASSIGNMENT = """\
unit = 0.02
[[exercise]]
id = "ex1"
pattern = "serial"
file = "ex1_serial*.py"
points = 10
timeout = 120
"""
PATIENCE = 60.0


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The session's TMPDIR: open for traversal, since sandbox users get their runs there."""
    folder = Path(tempfile.mkdtemp(prefix="sleepbench-faults-"))
    folder.chmod(0o711)
    yield folder
    for proc in _session_processes(folder):
        # Only reached when a test failed to see its session cleaned up; do not leave it.
        proc.kill()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    copy_reference(tmp_path / "subs" / "good", "ex1_serial.py")
    copy_reference(tmp_path / "subs" / "other", "ex1_serial.py")
    # Silent: once its grader is gone, output would end it with a broken pipe.
    submission(tmp_path / "subs" / "victim", {SLOW: """\
        import threading
        threading.Event().wait(120)
    """})
    (tmp_path / "course.toml").write_text(ASSIGNMENT)
    return tmp_path


def _session_processes(scratch: Path) -> list[psutil.Process]:
    """Live processes of the session using ``scratch``: its pytest processes by TMPDIR, its
    sandbox runs by their mark (a path under it)."""
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        marks = (env.get("TMPDIR", ""), env.get("SLEEPBENCH_GRADE_INTERVALS", ""))
        if any(m.startswith(str(scratch)) for m in marks):
            found.append(proc)
    return found


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _start(course: Path, scratch: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env["TMPDIR"] = str(scratch)
    with (course / "log.txt").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "--sleepbench-grade=subs",
             "--sleepbench-assignment=course.toml", "--sleepbench-json=out/grades.json",
             "--sleepbench-csv=out/grades.csv", "-p", "no:cacheprovider", *args],
            cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_interruptible,
        )


def _interruptible() -> None:
    # A shell runs a background job with SIGINT ignored, and an interpreter that starts with
    # it ignored never raises KeyboardInterrupt: the session must be able to hear Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _victim(scratch: Path, session: subprocess.Popen[bytes]) -> psutil.Process:
    """The slow script's main process, once it runs."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and session.poll() is None:
        for proc in _session_processes(scratch):
            try:
                if SLOW in proc.cmdline():
                    return proc
            except psutil.Error:
                continue
        time.sleep(0.05)
    pytest.fail(f"the slow script never ran (pytest exit {session.poll()})")


def _finish(session: subprocess.Popen[bytes], course: Path) -> tuple[int, str]:
    try:
        code = session.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        session.wait()
        pytest.fail("pytest did not end:\n" + (course / "log.txt").read_text())
    return code, (course / "log.txt").read_text()


def _assert_nothing_left(scratch: Path, course: Path) -> None:
    # The controller sweeps after its workers are gone; give exiting processes a moment.
    deadline = time.monotonic() + 2
    while (left := _session_processes(scratch)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, [" ".join(p.cmdline()) for p in left]
    assert not list(scratch.glob("sleepbench-grade-*")), "a run's folder was left"
    assert not list(scratch.glob("sleepbench-runs.*/*")), "a run's folder was left"
    out = course / "out"
    if out.exists():
        assert sorted(p.name for p in out.iterdir()) == ["grades.csv", "grades.json"]


def _reports(course: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
    """The JSON report's entries and the CSV's rows, by submission, both checked whole."""
    doc = json.loads((course / "out" / "grades.json").read_text())
    assert doc["schema"] == 1
    entries = {s["name"]: s["exercises"][0] for s in doc["submissions"]}
    rows = list(csv.DictReader(io.StringIO((course / "out" / "grades.csv").read_text())))
    assert [r["submission"] for r in rows] == sorted(entries)
    for row in rows:
        assert float(row["ex1"]) == entries[row["submission"]]["score"]
        assert row["max_score"] == "10"
    return entries, {r["submission"]: r for r in rows}


def test_a_killed_worker_fails_its_exercise_and_every_other_result_is_kept(
    course: Path, scratch: Path
) -> None:
    session = _start(course, scratch, "-n", "2", "--junitxml=junit.xml")
    victim = _victim(scratch, session)
    worker = victim.parent()
    assert worker is not None and worker.ppid() == session.pid, "not run by an xdist worker"
    worker.kill()
    code, log = _finish(session, course)

    assert code == pytest.ExitCode.TESTS_FAILED, log
    assert "1 failed, 2 passed" in log, log
    assert ("runs: not graded: the grader worker gw" in log
            and "running this exercise died (killed by signal 9, SIGKILL)" in log), log
    assert "FAILED sleepbench-grade/victim::ex1 - victim ex1 (serial): 0 of 10" in log, log
    gradebook = [line.split() for line in log.splitlines()]
    assert ["victim", "crashed", "0/10"] in gradebook, log
    entries, rows = _reports(course)
    crashed = entries["victim"]
    assert (crashed["status"], crashed["score"], crashed["wall"]) == ("fail", 0.0, None)
    assert crashed["file"] == SLOW
    [check] = crashed["checks"]
    assert check["name"] == "runs" and check["status"] == "fail"
    assert check["message"].startswith("runs: not graded: the grader worker gw")
    for name in ("good", "other"):
        assert entries[name]["status"] == "pass" and rows[name]["ex1"] == "10"
    junit = ET.parse(course / "junit.xml").getroot()
    [case] = [c for c in junit.iter("testcase") if c.get("classname") == "sleepbench-grade.victim"]
    failure = case.find("failure")
    assert failure is not None and "runs: not graded" in (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props == {"score": "0.0", "max_score": "10.0", "status": "fail"}, props
    _assert_nothing_left(scratch, course)


@pytest.mark.parametrize(
    ("workers", "to_group"),
    [((), True), (("-n", "2"), True), (("-n", "2"), False)],
    ids=["alone-ctrl-c", "xdist-ctrl-c", "xdist-sigint-to-pytest-only"],
)
def test_an_interrupted_run_leaves_no_process_and_only_whole_reports(
    course: Path, scratch: Path, workers: tuple[str, ...], to_group: bool
) -> None:
    session = _start(course, scratch, *workers)
    _victim(scratch, session)
    # A terminal's Ctrl-C reaches the whole foreground group (xdist workers included); a
    # SIGINT to pytest alone leaves the controller to stop its workers.
    if to_group:
        os.killpg(session.pid, signal.SIGINT)
    else:
        session.send_signal(signal.SIGINT)
    code, log = _finish(session, course)

    assert code == pytest.ExitCode.INTERRUPTED, log
    _assert_nothing_left(scratch, course)
    entries, rows = _reports(course)
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
    course: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = dict(os.environ, TMPDIR=str(scratch))
    graders = {
        owner: subprocess.Popen([sys.executable, "-c", DRIVER, str(course / "subs" / "victim"),
                                 SLOW, owner], env=env, start_new_session=True)
        for owner in ("run.gw1", "run.gw10")
    }
    scripts: dict[str, psutil.Process] = {}
    for owner, grader in graders.items():
        deadline = time.monotonic() + PATIENCE
        while owner not in scripts and time.monotonic() < deadline:
            for proc in _session_processes(scratch):
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
    time.sleep(0.2)
    assert [_alive(p) for p in scripts.values()] == [not namespaced] * 2

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    runs = scratch / f"sleepbench-runs.{os.geteuid()}"
    killed = sweep("run.gw1")
    if not namespaced:
        assert [line.split(":")[0] for line in killed] == [f"pid {scripts['run.gw1'].pid}"]
        assert not _alive(scripts["run.gw1"]) and _alive(scripts["run.gw10"])
    assert not list(runs.glob("sleepbench-grade-run.gw1-*"))
    assert len(list(runs.glob("sleepbench-grade-run.gw10-*"))) == 1
    sweep("run")
    assert not _session_processes(scratch)
    assert not list(runs.glob("sleepbench-grade-*"))
