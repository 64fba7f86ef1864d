"""Every test in this repository must leave no process of its own behind; and the fixture
the core and plugin tests share."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import psutil
import pytest
from hypothesis import settings

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.verdict import SleepbenchInconclusive

# The model's properties are pure arithmetic; a deadline would time the machine's load, not
# the code, and fail under it.
settings.register_profile("sleepbench", deadline=None)
settings.load_profile("sleepbench")

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


@pytest.fixture
def bench(sleepbench: Bench) -> Bench:
    """The plugin's own fixture (so margins widen as they should under pytest-xdist) at a unit
    of 20 ms, several times the machine's start-up and scheduling noise yet quick, and with
    fork unless a test names another start method."""
    sleepbench.unit = 0.02
    sleepbench.start_method = "fork"
    return sleepbench


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # This suite's own claims on a machine too loaded to show them (a CI box beside other
    # jobs) are skipped with the reason, neither passed nor failed: the plugin's users get
    # "inconclusive" and a failing session, which a build cannot tell from a broken one.
    try:
        return (yield)
    except SleepbenchInconclusive as error:
        pytest.skip(f"inconclusive on this machine now: {str(error).splitlines()[0]}")
