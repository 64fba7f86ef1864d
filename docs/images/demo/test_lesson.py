"""The demo suite behind the screenshots in docs/REPORTS.md."""

from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.mark.sleepbench("serial")
def test_serial(sleepbench_run):
    assert sleepbench_run.results == [1, 2]


@pytest.mark.sleepbench("process_loop", durations=[1] * 4)
def test_four_processes(sleepbench_run):
    assert sleepbench_run.workers == 4


@pytest.mark.sleepbench("as_completed", workers=2)
def test_as_completed(sleepbench_run):
    # Two workers: 4 and 5 start first, so 4 comes back first, not 1.
    assert sleepbench_run.results[0] == 4


def test_my_code_in_threads(sleepbench):
    fetch = sleepbench.probe(0.1)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(fetch, ["a.txt", "b.txt", "c.txt"]))
    sleepbench.timeline.assert_parallel(3)


@pytest.mark.sleepbench("as_completed", workers=2)
def test_fastest_first(sleepbench_run):
    # What the lesson claims, and what two workers cannot do: the report shows why.
    sleepbench_run.assert_fastest_first()
