"""Fixtures the grading tests share."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder other users may read, as an instructor's class folder often is (tmp_path is
    not): what a sandbox user must or must not see is tested in it."""
    folder = Path(tempfile.mkdtemp(prefix="sleepbench-class-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
