"""A grading session's own set-up: files pytest would read that someone else could have
written are refused before they run, and submission names are shown as data, never obeyed."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import ROOT, copy_reference, course

pytestmark = pytest.mark.skipif(not ROOT, reason="grading runs as root here")


def _grade(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT", "PYTEST_ADDOPTS"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "sleepbench", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize("planted", ["pytest.ini", "conftest.py"])
def test_a_conftest_planted_in_a_folder_every_user_may_write_never_runs(
        tmp_path: Path, planted: str) -> None:
    # The audit's way in: a shared folder above the one the grader is run from.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    marker = tmp_path / "owned"
    (shared / "conftest.py").write_text(f"open({str(marker)!r}, 'w').write('ran as root')\n")
    if planted == "pytest.ini":
        (shared / "pytest.ini").write_text("[pytest]\n")
    else:
        (shared / "class").mkdir()
        (shared / "class" / "pytest.ini").write_text("[pytest]\n")
        (shared / "class" / "pytest.ini").chmod(0o666)
    copy_reference(shared / "class" / "subs" / "alice", "ex1_serial.py")
    (shared / "class" / "course.toml").write_text(course("ex1"))
    done = _grade(shared / "class", "--sleepbench-grade=subs",
                  "--sleepbench-assignment=course.toml")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "another user could have written it" in done.stderr
    assert "--noconftest -c /dev/null" in done.stderr
    assert not marker.exists(), "the planted conftest ran"


def test_names_with_line_breaks_and_escape_codes_are_shown_escaped(tmp_path: Path) -> None:
    forged_row = "x\nalice                  10   60"
    names = [forged_row, "\x1b[2J\x1b[Hclear", "bob"]
    for name in names:
        (tmp_path / "subs" / name).mkdir(parents=True)
        (tmp_path / "subs" / name / "ex1_serial.py").write_text("print('nothing')\n")
    (tmp_path / "course.toml").write_text(course("ex1"))
    done = _grade(tmp_path, "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml",
                  "--sleepbench-json=grades.json", "--sleepbench-csv=grades.csv")
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    assert "\x1b" not in done.stdout
    book = done.stdout[done.stdout.index("sleepbench gradebook"):].splitlines()
    assert not [line for line in book if line.startswith("alice")]
    assert any(line.startswith("x\\nalice") for line in book)
    assert any(line.startswith("\\x1b[2J\\x1b[Hclear") for line in book)
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert sorted(r[0] for r in rows[1:]) == sorted(["bob", "x\\nalice                  10   60",
                                                     "\\x1b[2J\\x1b[Hclear"])
    doc = json.loads((tmp_path / "grades.json").read_text())
    assert sorted(s["name"] for s in doc["submissions"]) == sorted(names)
