"""How many tasks a parallel exercise owes at once on this grader, whatever the script chose.

A script that makes its pool smaller than a default one (``max_workers=1``) has not done a
parallel exercise, so what is owed comes from the assignment or from the grader's machine,
never from the script's own choice.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ..core.i18n import _
from ..core.lesson import PROCESS_PATTERNS
from .assignment import Exercise
from .observed import Owed
from .sandbox import sandbox_python

__all__ = ["default_pool", "owed"]

_POOLS: dict[str, int] = {}

# The size ProcessPoolExecutor() gives itself, as CPython computes it: the CPUs this process
# may run on from 3.13 (os.process_cpu_count), all of the machine's before; at most 61 on
# Windows. Computed, not read from an executor, which would start a resource tracker. The
# same lines run here and, for another interpreter, in it.
_POOL_SIZE = """
import os, sys
n = (getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1
print(min(n, 61) if sys.platform == "win32" else n)
"""


def _pool_size_here() -> int:
    count = getattr(os, "process_cpu_count", None) or os.cpu_count
    n: int = count() or 1
    return min(n, 61) if sys.platform == "win32" else n


def default_pool(python: str | None) -> int:
    """Workers ``ProcessPoolExecutor()`` gets on this grader, in the interpreter that runs the
    scripts (its version decides whether a CPU affinity such as ``taskset -c 0`` counts)."""
    interpreter = sandbox_python(python)
    if interpreter not in _POOLS:
        found = 0
        if os.path.realpath(interpreter) != os.path.realpath(sys.executable):
            try:
                asked = subprocess.run([interpreter, "-I", "-c", _POOL_SIZE], cwd="/",
                                       capture_output=True, text=True, timeout=60, check=False)
                found = int(asked.stdout.strip() or 0)
            except (OSError, subprocess.SubprocessError, ValueError):
                found = 0
        _POOLS[interpreter] = found if found >= 1 else _pool_size_here()
    return _POOLS[interpreter]


def owed(exercise: Exercise, python: str | None) -> Owed:
    """How many tasks the exercise owes at once, and why: the assignment's ``workers``, or
    one process a task for the ``Process`` patterns, or what a default pool gets here. Never
    what the script chose, so a script cannot owe less by limiting itself."""
    if exercise.pattern == "serial":
        return Owed(1)
    if exercise.workers is not None:
        n = exercise.workers
        return Owed(n, _("the exercise owes {n} at once (`workers = {n}` in the assignment)"
                         ).format(n=n))
    if exercise.pattern in PROCESS_PATTERNS:
        n = len(exercise.durations)
        return Owed(n, _("the lesson starts a process a task, {n} at once").format(n=n))
    n = default_pool(python)
    return Owed(n, _("this machine gives a default pool {n}").format(n=n))
