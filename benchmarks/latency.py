"""Feedback latency: one submission graded, from the pytest command to its exit.

That is what a student waits for on Gradescope, in CI, or checking their own work: each grades
one submission a session. Measured as a user's install runs it (pytest with the package's own
dependencies: xdist and timeout), and as this checkout's venv runs it, with whatever other
plugins it has (the test extra's hypothesis adds its own start-up to every session).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_sleepbench.core.clock import now

from .table import Row, verdict

__all__ = ["TARGET", "assignment_at", "measure"]

TARGET = 2.0
_DEFAULT = Path(__file__).resolve().parent.parent / "pytest_sleepbench" / "grading" / "default.toml"
# The plugins a user's install has: this package's own dependencies, nothing else.
_REQUIRED = ["-p", "sleepbench", "-p", "xdist.plugin", "-p", "pytest_timeout"]


def assignment_at(folder: Path, unit: float) -> Path:
    """The built-in assignment with its unit changed to ``unit``, written into ``folder``."""
    lines = [f"unit = {unit!r}" if line.startswith("unit =") else line
             for line in _DEFAULT.read_text().splitlines()]
    path = folder / "assignment.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(model: Path, unit: float, runs: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="sleepbench-latency-") as folder:
        base = Path(folder)
        (base / "pytest.ini").write_text("[pytest]\n")
        shutil.copytree(model, base / "mine")
        assignment_at(base, unit)
        ways = {
            "plugins of a user's install": (_REQUIRED, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}),
            "every plugin of this venv": (["-p", "sleepbench"], {}),
            "every plugin of this venv, -n 2": (["-p", "sleepbench", "-n", "2"], {}),
        }
        rows = []
        for k, (name, (args, env)) in enumerate(ways.items()):
            walls, passed = _time(base, args, env, runs)
            median = statistics.median(walls)
            ok = median <= TARGET and passed == runs
            rows.append(Row(
                "latency", f"one submission, unit {unit:g}, {name}",
                f"{median:.2f} s median of {runs} ({min(walls):.2f} to {max(walls):.2f}), "
                f"{passed}/{runs} full marks",
                f"<= {TARGET:g} s, all pass" if k == 0 else "", verdict(ok) if k == 0 else "",
                data={"walls": walls, "median": median, "full_marks": passed, "runs": runs,
                      "unit": unit, "args": args}))
    return rows


def _time(base: Path, args: list[str], extra: dict[str, str], runs: int
          ) -> tuple[list[float], int]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))} | extra
    walls, passed = [], 0
    for _ in range(runs):
        begin = now()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *args, "--sleepbench-grade=mine",
             "--sleepbench-assignment=assignment.toml", "-q", "-p", "no:cacheprovider"],
            cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        walls.append(now() - begin)
        passed += done.returncode == 0
    return walls, passed
