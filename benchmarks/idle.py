"""Idle cost: a suite of trivial tests with the plugin loaded but unused, against it turned off.

Runs alternate between the two so that drifting load on the machine hits both alike; the
medians are compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_sleepbench.core.clock import now

from .table import Row, verdict

__all__ = ["measure"]

TARGET = 3.0
_PER_FILE = 100


def measure(tests: int, repeat: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="sleepbench-idle-") as folder:
        base = Path(folder)
        (base / "pytest.ini").write_text("[pytest]\n")
        for f in range(0, tests, _PER_FILE):
            body = "".join(f"def test_{k}():\n    assert {k} == {k}\n\n\n"
                           for k in range(f, min(f + _PER_FILE, tests)))
            (base / f"test_idle_{f // _PER_FILE:03d}.py").write_text(body)
        loaded: list[float] = []
        off: list[float] = []
        for _ in range(repeat):
            loaded.append(_session(base, [], tests, plugin=True))
            off.append(_session(base, ["-p", "no:sleepbench"], tests, plugin=False))
    on_median, off_median = statistics.median(loaded), statistics.median(off)
    slower = 100 * (on_median / off_median - 1)
    # The target is the issue's: 2,000 tests, a median of several sessions. A smaller run is
    # a smoke test whose percentage is mostly start-up noise, so it is not judged.
    judged = tests >= 2000 and repeat >= 3
    return [Row("idle cost", f"{tests} trivial tests, plugin loaded vs -p no:sleepbench",
                f"{slower:+.1f}% ({on_median:.2f} s vs {off_median:.2f} s, median of {repeat})",
                f"<= +{TARGET:g}%" if judged else "",
                verdict(slower <= TARGET) if judged else "",
                data={"loaded": loaded, "off": off, "slower_percent": slower, "tests": tests})]


def _session(base: Path, extra: list[str], tests: int, *, plugin: bool) -> float:
    # The plugin is on by autoload; the default verbosity shows the header, as a user sees it.
    begin = now()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *extra],
                          cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = now() - begin
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise RuntimeError(f"the idle suite did not pass:\n{done.stdout[-2000:]}")
    # The header line proves which side of the comparison this session was on.
    if ("sleepbench: unit" in done.stdout) != plugin:
        side = "on" if plugin else "off"
        raise RuntimeError(f"expected the plugin {side}:\n{done.stdout[:2000]}")
    return elapsed
