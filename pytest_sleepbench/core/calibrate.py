"""What starting processes and sleeping cost on this machine, measured, never assumed.

Measured lazily, once per start method per process (so once per xdist worker), and cached for the
rest of the session: the default start method costs a few milliseconds with ``fork``, ``spawn``
a few hundred.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .clock import now, sleep_for
from .patterns import execute
from .sink import Sink

__all__ = [
    "Calibration", "available_cores", "calibrate", "forget", "measured", "shape_overhead",
]


def available_cores() -> int:
    """Cores this process may run on: a container or ``taskset`` can allow fewer than the
    machine has, which is what ``os.cpu_count()`` reports."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1

# Processes started per start-up measurement: enough to include the contention of booting
# several interpreters on few cores, few enough to stay cheap under spawn.
_STARTS = 4
_JITTER_SAMPLES = 20
_ROUNDS = 3


@dataclass(frozen=True)
class Calibration:
    """Measured costs for one start method, in seconds."""

    start_method: str
    startup: float
    """Cost of one process start when several are started in a loop and joined."""
    pool: float
    """Cost of a one-worker ``ProcessPoolExecutor`` running one empty task, start to shutdown."""
    jitter: float
    """Worst overshoot of a 1 ms sleep over a short burst of them."""
    cores: int
    launch: float = 0.0
    """CPU time the starting thread itself spends on one start (a ``fork``, or handing the
    child its interpreter): what a parent runs between two starts when it does nothing else.
    A wait for a core does not count in it, so load does not inflate it as it does ``startup``.
    Last, and 0 unless measured, so that a calibration built by hand keeps working."""

    def describe(self) -> str:
        return (
            f"{self.start_method} (start {self.startup * 1000:.1f} ms, "
            f"pool {self.pool * 1000:.1f} ms, jitter {self.jitter * 1000:.2f} ms)"
        )


def _noop() -> None:
    return None


def _startup(ctx: multiprocessing.context.BaseContext) -> tuple[float, float]:
    """Wall time per start, start to join, and the starting thread's CPU time per start."""
    begin = now()
    procs = [ctx.Process(target=_noop) for _ in range(_STARTS)]  # type: ignore[attr-defined]
    cpu = time.thread_time()
    for p in procs:
        p.start()
    launch = time.thread_time() - cpu
    for p in procs:
        p.join()
    return (now() - begin) / _STARTS, launch / _STARTS


def _pool(ctx: multiprocessing.context.BaseContext) -> float:
    begin = now()
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pool.submit(_noop).result()
    return now() - begin


def calibrate(start_method: str) -> Calibration:
    ctx = multiprocessing.get_context(start_method)
    # The first start of forkserver also starts its server; that is paid once per session,
    # not per run, so warm it up before timing.
    if start_method == "forkserver":
        warm = ctx.Process(target=_noop)  # type: ignore[attr-defined]
        warm.start()
        warm.join()
    # The median of a few rounds: one round that a neighbour slowed (another xdist worker
    # booting interpreters) would otherwise set every margin of the session; a run slowed
    # the same way gets the one repeat, with a fresh calibration, instead.
    starts = [_startup(ctx) for _ in range(_ROUNDS)]
    startup = statistics.median(wall for wall, _ in starts)
    launch = statistics.median(cpu for _, cpu in starts)
    pool_cost = statistics.median(_pool(ctx) for _ in range(_ROUNDS))

    overshoots = []
    for _ in range(_JITTER_SAMPLES):
        start, end = sleep_for(0.001)
        overshoots.append(end - start - 0.001)
    jitter = max(overshoots)
    return Calibration(
        start_method=start_method,
        startup=startup,
        launch=launch,
        pool=pool_cost,
        jitter=jitter,
        cores=available_cores(),
    )


_CACHE: dict[str, Calibration] = {}


def measured(start_method: str, *, fresh: bool = False) -> Calibration:
    """The calibration for ``start_method``, measured on first use in this process (or now,
    with ``fresh``, replacing what was kept)."""
    if fresh or start_method not in _CACHE:
        _CACHE[start_method] = calibrate(start_method)
    return _CACHE[start_method]


def forget(start_method: str) -> None:
    """Drop what was measured for ``start_method``: the load has changed since, so the next
    run measures afresh instead of trusting the session's first figures."""
    _CACHE.pop(start_method, None)
    for key in [k for k in _SHAPES if k[3] == start_method]:
        del _SHAPES[key]


_SHAPES: dict[tuple[str, int, int | None, str], float] = {}


def shape_overhead(
    pattern: str, tasks: int, workers: int | None, start_method: str, *, fresh: bool = False
) -> float:
    """What a run of this shape costs beyond its sleeps: the same pattern, the same number of
    tasks and workers, with every sleep zero long.

    This is the machinery the noise policy must allow for (starting, joining and shutting down
    processes, dispatching tasks), measured as the run will pay it, exits and all, rather than
    derived from a per-process figure: ten processes exiting on two cores cost more than ten
    times one. Measured once per shape per process, or again with ``fresh``.
    """
    key = (pattern, tasks, workers, start_method)
    if fresh or key not in _SHAPES:
        with tempfile.TemporaryDirectory(prefix="sleepbench-shape-") as folder:
            sink = Sink.create(Path(folder) / "shape.jsonl")
            raw = execute(pattern, [0.0] * tasks, 1.0, sink, workers=workers,
                          start_method=start_method)
        _SHAPES[key] = raw.wall
    return _SHAPES[key]
