"""The judge's rules, exactly and instantly, on recorded intervals: no process, no clock.

Each test writes down what a run recorded (a ``lane`` is one process: its tasks, when it was
born and when it was ready) and asks the one judge that the core's runs and the grader share.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from pytest_sleepbench.core import judge
from pytest_sleepbench.core.judge import Kind, Measurement
from pytest_sleepbench.core.sink import Interval

TOL = 0.005


def recorded(
    lanes: Sequence[tuple[float | None, float, Sequence[tuple[float, float]]]],
    durations: Sequence[float],
    *,
    owed: int,
    stagger: float = 0.0,
) -> Measurement:
    """A measurement from lanes of (born, ready, [(start, end), ...]), tasks numbered in the
    order they appear."""
    tasks: list[Interval] = []
    starts: dict[int, tuple[float | None, float]] = {}
    for pid, (born, ready, spans) in enumerate(lanes, start=100):
        starts[pid] = (born, ready)
        for start, end in spans:
            tasks.append(Interval(task=len(tasks), seconds=end - start, pid=pid,
                                  start=start, end=end))
    return Measurement(durations=tuple(durations), tasks=tuple(tasks), owed_workers=owed,
                       tolerance=TOL, stagger=stagger, starts=starts, origin=0.0, unit=0.05)


def test_two_workers_that_overlap_pass() -> None:
    m = recorded([(0.0, 0.001, [(0.002, 0.052)]), (0.0, 0.002, [(0.003, 0.053)])],
                 [0.05, 0.05], owed=2)
    assert judge.parallel(m).kind is Kind.PASS


def test_a_worker_the_machine_started_too_late_is_not_the_codes_fault() -> None:
    # Both spawned at once; the second took 150 ms to start, so the first ran both tasks.
    m = recorded([(0.0, 0.140, [(0.140, 0.190), (0.191, 0.241)]), (0.001, 0.290, [])],
                 [0.05, 0.05], owed=2)
    verdict = judge.parallel(m)
    assert verdict.kind is Kind.UNSHOWN
    assert "ready too late" in verdict.title
    assert "150 ms after the first" in verdict.observed
    # A unit at which the shortest task outlasts that start-up twice over.
    assert verdict.needs_unit == pytest.approx(2 * (0.150 + TOL) / 1.0)


def test_a_worker_launched_after_a_task_ended_is_the_codes_fault() -> None:
    # A join before the next start: the second process is born after the first one's task
    # ended, and starts at once. Its stagger is owed from the run's start.
    m = recorded([(0.0, 0.001, [(0.002, 0.052)]), (0.053, 0.054, [(0.055, 0.105)])],
                 [0.05, 0.05], owed=2, stagger=0.009)
    verdict = judge.parallel(m)
    assert verdict.kind is Kind.FAIL
    assert verdict.title == "tasks did not overlap as the schedule predicts"
    assert verdict.observed.endswith("the tasks ran one after another")


def test_a_launch_load_delayed_before_any_task_ended_is_excused() -> None:
    # The parent was held up 30 ms between two starts, but no task had ended: nothing the
    # code could have waited for, so the late birth is not blamed on it.
    m = recorded([(0.0, 0.001, [(0.002, 0.042)]), (0.031, 0.045, [(0.046, 0.086)])],
                 [0.04, 0.04], owed=2, stagger=0.009)
    assert judge.overlap(m).kind is Kind.UNSHOWN


def test_without_readiness_a_missing_overlap_fails() -> None:
    m = Measurement(durations=(0.05, 0.05), owed_workers=2, tolerance=TOL, tasks=(
        Interval(0, 0.05, 1, 0.0, 0.05), Interval(1, 0.05, 2, 0.05, 0.10)))
    assert judge.overlap(m).kind is Kind.FAIL


def test_an_overlap_shorter_than_the_tolerance_is_not_owed() -> None:
    # Ready 47 ms after the first, the second worker would overlap a 50 ms task by 3 ms:
    # dispatch noise can undo that, so it is not owed.
    m = recorded([(0.0, 0.0, [(0.0, 0.05), (0.05, 0.10)]), (None, 0.047, [])],
                 [0.05, 0.05], owed=2, stagger=0.047)
    assert judge.overlap(m).kind is Kind.PASS


def test_one_worker_owes_no_overlap_and_cannot_be_parallel() -> None:
    m = recorded([(0.0, 0.0, [(0.0, 0.05), (0.05, 0.10)])], [0.05, 0.05], owed=1)
    assert judge.overlap(m).kind is Kind.PASS
    verdict = judge.parallel(m)
    assert (verdict.kind, verdict.title) == (Kind.FAIL, "all tasks ran in one process")


def test_serial_fails_on_any_overlap_but_not_on_touching_sleeps() -> None:
    touching = recorded([(0.0, 0.0, [(0.0, 0.05), (0.05, 0.10)])], [0.05, 0.05], owed=1)
    assert judge.serial(touching).kind is Kind.PASS
    crossing = recorded([(0.0, 0.0, [(0.0, 0.05)]), (0.0, 0.0, [(0.049, 0.10)])],
                        [0.05, 0.05], owed=1)
    assert judge.serial(crossing).observed == "peak concurrency 2"


def test_completion_order_allows_ties_within_the_tolerance() -> None:
    ends = {0: 0.500, 1: 0.400, 2: 0.703, 3: 0.700, 4: 0.800}
    label = str
    assert judge.completion_order(ends, [1, 0, 2, 3, 4], TOL, label).kind is Kind.PASS
    verdict = judge.completion_order(ends, [0, 1, 2, 3, 4], TOL, label)
    assert verdict.kind is Kind.FAIL
    assert "0 was received before 1, which finished 0.100s earlier" in verdict.observed


def test_input_order_names_what_came_back() -> None:
    verdict = judge.input_order([1, 0], 2, lambda t: "ab"[t])
    assert (verdict.kind, verdict.expected, verdict.observed) == (Kind.FAIL, "a, b", "b, a")


@pytest.mark.parametrize(("measured", "kind"), [
    (0.299, Kind.FAIL), (0.300, Kind.PASS), (0.400, Kind.PASS), (0.401, Kind.LATE)])
def test_wall_time_below_the_sleeps_fails_and_above_the_margin_is_late(
    measured: float, kind: Kind,
) -> None:
    verdict = judge.wall(measured, 0.3, 0.4, expected="", observed="")
    assert verdict.kind is kind
    # A late wall reads as a failure to whoever reads the report.
    assert verdict.status == ("pass" if kind is Kind.PASS else "fail")


def test_a_process_that_ran_its_task_takes_no_second_one() -> None:
    # Ten processes started one after another on a busy machine: the first is free again
    # before the fourth is even ready, but a Process runs its own task only. Recorded
    # (born, ready) in ms, each sleeping from its readiness.
    lanes = [(b / 1000, r / 1000, [(r / 1000, (r + slept) / 1000)]) for b, r, slept in (
        (6.7, 16.4, 63.8), (16.7, 20.2, 66.8), (16.7, 24.0, 83.0), (76.7, 75.2, 67.9),
        (76.7, 80.0, 75.1), (96.7, 100.5, 62.7), (96.7, 104.4, 74.8), (156.7, 172.7, 66.4),
        (156.7, 188.9, 74.1), (196.7, 192.5, 86.7))]
    processes = recorded(lanes, [0.05] * 10, owed=10, stagger=0.014)
    processes = dataclasses.replace(processes, tolerance=0.0125, held_back=False)
    assert processes.peak == 5
    assert judge.overlap(dataclasses.replace(processes, single_use=True)).kind is Kind.PASS
    # As a pool, the first worker would have owed a second task beside the others.
    assert judge.overlap(processes).kind is Kind.FAIL


def test_workers_ready_at_once_whose_tasks_took_turns_fail() -> None:
    # Both ready at the start, then one waited on a lock until the other's task was done:
    # the wait is the code's, whatever it did before sleeping.
    m = recorded([(0.0, 0.001, [(0.002, 0.202)]), (0.0, 0.002, [(0.203, 0.403)])],
                 [0.2, 0.2], owed=2, stagger=0.009)
    m = dataclasses.replace(m, held_back=False)
    assert judge.overlap(m).kind is Kind.FAIL


def _thread_pool(launches: Sequence[tuple[float, float, float]]) -> Measurement:
    """Two 20 ms tasks that one thread of the main process ran back to back, as a thread pool
    does when the second is submitted after the first has ended: threads stamp no readiness,
    so only the launches can tell whose doing that was. Each launch is (when, the main
    thread's wait for a core from the first task's start, what it ran meanwhile)."""
    tasks = (Interval(0, 0.02, 1, 0.095, 0.115), Interval(1, 0.02, 1, 0.115, 0.135))
    return Measurement(durations=(0.02, 0.02), tasks=tasks, owed_workers=2, tolerance=TOL,
                       stagger=0.004, held_back=False, launches=tuple(launches), unit=0.02)


def test_a_launch_the_machine_kept_from_a_core_past_the_first_task_is_not_the_codes() -> None:
    # Submitted at 94 ms and 115 ms; the main thread waited 19 ms for a core after the first
    # task began, running 1 ms: without the wait, the second was in time to overlap it.
    verdict = judge.overlap(_thread_pool([(0.094, 0.0, 0.0), (0.115, 0.019, 0.001)]))
    assert verdict.kind is Kind.UNSHOWN
    assert verdict.title == "the main process waited for a core while it launched the tasks"
    assert "after the main process had waited 19 ms for a core" in verdict.observed
    assert verdict.needs_unit == pytest.approx(2 * (0.019 + TOL) / 1.0)


@pytest.mark.parametrize("launches", [
    # The same wait, but the main thread also ran 15 ms, more than a launch takes: a spin by
    # the clock would have kept the launch that late on an idle machine too.
    [(0.094, 0.0, 0.0), (0.115, 0.019, 0.015)],
    # Waited for a core, but too briefly: without the wait it was still too late.
    [(0.094, 0.0, 0.0), (0.115, 0.004, 0.0)],
    # Both launched in time, and still one after the other: a lock, whatever the waits.
    [(0.090, 0.0, 0.0), (0.091, 0.001, 0.0)],
    # Another launch in time (a thread started for nothing) makes the two owed: the late
    # one then explains nothing.
    [(0.050, 0.0, 0.0), (0.094, 0.0, 0.0), (0.115, 0.019, 0.001)],
])
def test_a_launch_the_machine_does_not_explain_leaves_a_missing_overlap_failed(
    launches: list[tuple[float, float, float]],
) -> None:
    verdict = judge.overlap(_thread_pool(launches))
    assert verdict.kind is Kind.FAIL
    assert verdict.observed.endswith("the tasks ran one after another")


def test_what_a_launch_may_run_is_its_cpu_time_not_a_start_up_the_load_stretched() -> None:
    # Workers that took 12 ms each to start (a loaded machine) do not make 12 ms the main
    # thread ran beside its wait a launch: one launch costs it about a millisecond of CPU.
    spun = dataclasses.replace(_thread_pool([(0.094, 0.0, 0.0), (0.115, 0.019, 0.012)]),
                               stagger=0.012, launch=0.001)
    assert judge.overlap(spun).kind is Kind.FAIL
    cheap = dataclasses.replace(spun, launches=((0.094, 0.0, 0.0), (0.115, 0.019, 0.006)))
    assert judge.overlap(cheap).kind is Kind.UNSHOWN


def test_a_launch_delay_excuses_nothing_where_the_launches_were_not_watched() -> None:
    late = _thread_pool([(0.094, 0.0, 0.0), (0.115, 0.019, 0.001)])
    assert judge.overlap(dataclasses.replace(late, held_back=None)).kind is Kind.FAIL


def _threads_one_a_task(waited: float, *, held_back: bool | None = False) -> Measurement:
    """Two 20 ms tasks, each in a thread of its own that the main process started in time,
    the second's sleep begun 30 ms after the first's, once that one had ended; the second's
    thread had waited ``waited`` for a core before it (as an observer saw it)."""
    tasks = (Interval(0, 0.02, 1, 0.002, 0.022, tid=5),
             Interval(1, 0.02, 1, 0.032, 0.052, tid=6, waited=waited))
    return Measurement(durations=(0.02, 0.02), tasks=tasks, owed_workers=2, tolerance=TOL,
                       held_back=held_back, launches=((0.001, 0.0, 0.0), (0.0015, 0.0, 0.0)),
                       unit=0.02)


def test_a_task_whose_thread_waited_for_a_core_before_it_is_not_the_codes() -> None:
    verdict = judge.overlap(_threads_one_a_task(0.03))
    assert verdict.kind is Kind.UNSHOWN
    assert verdict.title == "a task's thread waited for a core before it"
    assert "had each task's thread had a core when it was ready, they would have " \
        "overlapped; one waited 30 ms" in verdict.observed
    assert verdict.needs_unit == pytest.approx(2 * (0.03 + TOL) / 1.0)


@pytest.mark.parametrize(("waited", "held_back"), [
    # Kept waiting, but too briefly: without the wait it was still too late.
    (0.012, False),
    # Started only after the code waited for the first task: the code's doing.
    (0.03, True),
    # Nobody watched the launches.
    (0.03, None),
])
def test_a_threads_wait_that_does_not_explain_the_missing_overlap_leaves_it_failed(
    waited: float, held_back: bool | None
) -> None:
    verdict = judge.overlap(_threads_one_a_task(waited, held_back=held_back))
    assert verdict.kind is Kind.FAIL
