"""A real grading session as a subprocess, and how to find and judge what it leaves.

Each session runs ``python -m pytest`` with its own ``TMPDIR``, so every process of it (xdist
workers inherit it; sandbox runs are marked with a path under it) can be told apart from those
of other tests running alongside.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

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


def session_processes(scratch: Path) -> list[psutil.Process]:
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


def alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def start_session(course: Path, scratch: Path, *args: str) -> subprocess.Popen[bytes]:
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


def find_victim(scratch: Path, session: subprocess.Popen[bytes]) -> psutil.Process:
    """The slow script's main process, once it runs."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and session.poll() is None:
        for proc in session_processes(scratch):
            try:
                if SLOW in proc.cmdline():
                    return proc
            except psutil.Error:
                continue
        time.sleep(0.05)
    pytest.fail(f"the slow script never ran (pytest exit {session.poll()})")


def finish(session: subprocess.Popen[bytes], course: Path) -> tuple[int, str]:
    try:
        code = session.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        session.wait()
        pytest.fail("pytest did not end:\n" + (course / "log.txt").read_text())
    return code, (course / "log.txt").read_text()


def assert_nothing_left(scratch: Path, course: Path) -> None:
    # The controller sweeps after its workers are gone; give exiting processes a moment.
    deadline = time.monotonic() + 2
    while (left := session_processes(scratch)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, [" ".join(p.cmdline()) for p in left]
    assert not list(scratch.glob("sleepbench-grade-*")), "a run's folder was left"
    assert not list(scratch.glob("sleepbench-runs.*/*")), "a run's folder was left"
    out = course / "out"
    if out.exists():
        assert sorted(p.name for p in out.iterdir()) == ["grades.csv", "grades.json"]


def session_reports(course: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]]]:
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
