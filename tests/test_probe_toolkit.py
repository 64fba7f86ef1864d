"""The probe toolkit: what a timeline of calls from threads shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_sleepbench.core.picture import render
from pytest_sleepbench.core.sink import Interval, Sink
from pytest_sleepbench.core.timeline import Timeline
from pytest_sleepbench.core.verdict import SleepbenchAssertion

# Powers of two, so that "exactly a tolerance" is exact in floating point.
TOL = 1 / 128
U = 1 / 16


def iv(start: float, end: float, label: str = "", tid: int = 1) -> Interval:
    return Interval(task=None, seconds=end - start, pid=1, start=start, end=end, tid=tid,
                    label=label)


def timeline_of(tmp_path: Path, *intervals: Interval) -> Timeline:
    """A timeline whose sink holds ``intervals``, as calls in any process would write them."""
    sink = Sink.create(tmp_path / "probes.jsonl")
    Path(sink.path).write_text("".join(json.dumps(i.to_dict()) + "\n" for i in intervals))
    return Timeline(sink, main_pid=1)


# -- lanes -------------------------------------------------------------------------------------

def test_threads_get_rows_of_their_own(tmp_path: Path) -> None:
    # Two threads taking turns: packed by time they would share one row.
    turns = [iv(0, U, "a", tid=7), iv(U, 2 * U, "b", tid=8), iv(2 * U, 3 * U, "c", tid=7)]
    timeline = timeline_of(tmp_path, *turns)
    assert timeline.threads == [(1, 7), (1, 8)]
    rows = [line.split("|")[0].strip() for line in timeline.picture(60).splitlines()[:2]]
    assert rows == ["main.1 [1]", "main.2 [1]"]
    assert render(turns, width=60, main_pid=1).count("|") == 1, \
        "other pictures keep a row per process"
    with pytest.raises(SleepbenchAssertion, match="in 2 thread"):
        timeline.assert_parallel(2)
