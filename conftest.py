"""Every test in this repository must leave no process of its own behind."""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest

# Helpers that multiprocessing starts once and keeps for the life of the process.
_KEPT = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def _children() -> set[int]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
            if child.status() == psutil.STATUS_ZOMBIE or any(k in cmdline for k in _KEPT):
                continue
        except psutil.Error:
            continue
        found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    before = _children()
    yield
    left = _children() - before
    if left:
        # Give exiting children a moment to be reaped before calling it a leak.
        _, alive = psutil.wait_procs([psutil.Process(p) for p in left if psutil.pid_exists(p)],
                                        timeout=2)
        assert not alive, f"the test left processes alive: {[p.pid for p in alive]}"
