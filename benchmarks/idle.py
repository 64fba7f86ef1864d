"""Idle cost: a suite of trivial tests with the plugin loaded but unused, against it turned off.

Sessions run in pairs, one of each, the pair's order alternating (so neither side always goes
first, into a cache the other warmed); each pair gives a ratio, and the median ratio is the
figure, so drifting load on the machine, which moves both sessions of a pair alike, cancels.
The sessions' CPU time (user and system, from the kernel's accounting of the child) is
compared the same way, as the cost the plugin adds whatever else the machine is doing.
"""

from __future__ import annotations

import resource
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
        loaded: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for k in range(repeat):
            sides = [(loaded, [], True), (off, ["-p", "no:sleepbench"], False)]
            for into, extra, plugin in sides if k % 2 == 0 else sides[::-1]:
                into.append(_session(base, extra, tests, plugin=plugin))
    wall = statistics.median(a[0] / b[0] for a, b in zip(loaded, off, strict=True))
    cpu = statistics.median(a[1] / b[1] for a, b in zip(loaded, off, strict=True))
    slower = 100 * (wall - 1)
    on_median = statistics.median(w for w, _ in loaded)
    off_median = statistics.median(w for w, _ in off)
    # The target is the issue's: 2,000 tests, a median of several sessions. A smaller run is
    # a smoke test whose percentage is mostly start-up noise, so it is not judged.
    judged = tests >= 2000 and repeat >= 3
    return [Row("idle cost", f"{tests} trivial tests, plugin loaded vs -p no:sleepbench",
                f"{slower:+.1f}% wall, {100 * (cpu - 1):+.1f}% CPU (median of {repeat} "
                f"pairs; {on_median:.2f} s vs {off_median:.2f} s)",
                f"<= +{TARGET:g}%" if judged else "",
                verdict(slower <= TARGET) if judged else "",
                data={"loaded": [w for w, _ in loaded], "off": [w for w, _ in off],
                      "loaded_cpu": [c for _, c in loaded], "off_cpu": [c for _, c in off],
                      "slower_percent": slower, "cpu_percent": 100 * (cpu - 1),
                      "tests": tests})]


def _session(base: Path, extra: list[str], tests: int, *, plugin: bool) -> tuple[float, float]:
    """One session's wall and CPU seconds."""
    # The plugin is on by autoload; the default verbosity shows the header, as a user sees it.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = now()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *extra],
                          cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = now() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise RuntimeError(f"the idle suite did not pass:\n{done.stdout[-2000:]}")
    # The header line proves which side of the comparison this session was on.
    if ("sleepbench: unit" in done.stdout) != plugin:
        side = "on" if plugin else "off"
        raise RuntimeError(f"expected the plugin {side}:\n{done.stdout[:2000]}")
    return elapsed, cpu
