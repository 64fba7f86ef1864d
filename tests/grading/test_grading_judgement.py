"""Real scripts graded in the sandbox against the policy: points that follow what each
exercise teaches."""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_support import EXAMPLES, grade_script, needs_root

pytestmark = needs_root


def _score(entry: dict[str, object]) -> float:
    value = entry["score"]
    assert isinstance(value, float | int)
    return float(value)


@pytest.mark.parametrize(("example", "most"), [
    ("threads", 5.0),              # processes are the lesson: at most half
    ("serial_in_disguise", 5.0),   # so is overlap
    ("no_main_guard", 7.5),        # the guard: at most three quarters
])
def test_points_follow_the_lesson(tmp_path: Path, example: str, most: float) -> None:
    source = (EXAMPLES / example / "ex2_processes.py").read_text()
    entry = grade_script(tmp_path / example, "ex2", source, 20)
    assert 0 < _score(entry) <= most, entry["checks"]
