"""Fixtures the grading tests share."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from grading_support import copy_reference, submission
from session_support import ASSIGNMENT, SLOW, session_processes


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder other users may read, as an instructor's class folder often is (tmp_path is
    not): what a sandbox user must or must not see is tested in it."""
    folder = Path(tempfile.mkdtemp(prefix="sleepbench-class-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The session's TMPDIR: open for traversal, since sandbox users get their runs there."""
    folder = Path(tempfile.mkdtemp(prefix="sleepbench-faults-"))
    folder.chmod(0o711)
    yield folder
    for proc in session_processes(folder):
        # Only reached when a test failed to see its session cleaned up; do not leave it.
        proc.kill()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def slow_course(tmp_path: Path) -> Path:
    """Two quick submissions and one whose script waits far past any test's patience."""
    copy_reference(tmp_path / "subs" / "good", "ex1_serial.py")
    copy_reference(tmp_path / "subs" / "other", "ex1_serial.py")
    # Silent: once its grader is gone, output would end it with a broken pipe.
    submission(tmp_path / "subs" / "victim", {SLOW: """\
        import threading
        threading.Event().wait(120)
    """})
    (tmp_path / "course.toml").write_text(ASSIGNMENT)
    return tmp_path
