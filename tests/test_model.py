"""The schedule model, which is pure arithmetic: properties hold for every input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_sleepbench.core.model import list_schedule, peak_concurrency

durations = st.lists(st.integers(0, 50).map(float), min_size=1, max_size=12)
workers = st.integers(1, 16)


@given(durations, workers)
def test_makespan_lies_between_the_longest_task_and_the_sum(ds: list[float], w: int) -> None:
    makespan = list_schedule(ds, w).makespan
    assert max(ds) <= makespan <= sum(ds)


@given(durations)
def test_one_worker_takes_the_sum(ds: list[float]) -> None:
    assert list_schedule(ds, 1).makespan == pytest.approx(sum(ds))


@given(durations, st.integers(0, 5))
def test_a_worker_per_task_takes_the_longest(ds: list[float], spare: int) -> None:
    assert list_schedule(ds, len(ds) + spare).makespan == max(ds)


@given(durations, workers)
def test_more_workers_never_take_longer(ds: list[float], w: int) -> None:
    assert list_schedule(ds, w + 1).makespan <= list_schedule(ds, w).makespan


@given(durations, workers, st.floats(0, 5))
def test_the_order_of_finish_times_is_always_allowed(ds: list[float], w: int, tol: float) -> None:
    schedule = list_schedule(ds, w)
    assert schedule.allows(schedule.completion_order(), tol)


@given(durations, workers, st.floats(0, 5), st.data())
def test_an_order_is_allowed_exactly_when_no_pair_is_inverted_beyond_tolerance(
    ds: list[float], w: int, tol: float, data: st.DataObject
) -> None:
    schedule = list_schedule(ds, w)
    order = data.draw(st.permutations(range(len(ds))))
    inverted = any(
        schedule.finishes[a] > schedule.finishes[b] + tol
        for k, a in enumerate(order)
        for b in order[k + 1 :]
    )
    assert schedule.allows(order, tol) is not inverted


@given(durations, workers, st.floats(0, 5), st.data())
def test_every_order_the_groups_show_is_allowed(
    ds: list[float], w: int, tol: float, data: st.DataObject
) -> None:
    schedule = list_schedule(ds, w)
    groups = schedule.order_groups(tol)
    assert sorted(t for g in groups for t in g) == list(range(len(ds)))
    shuffled = [t for g in groups for t in data.draw(st.permutations(g))]
    assert schedule.allows(shuffled, tol)


@given(durations, workers)
def test_tasks_go_in_submission_order_to_the_first_free_worker(ds: list[float], w: int) -> None:
    schedule = list_schedule(ds, w)
    free = [0.0] * w
    for task, worker in enumerate(schedule.assignment):
        assert schedule.starts[task] == min(free), "a task starts as soon as any worker is free"
        assert free[worker] == min(free), "and goes to a worker that is free then"
        free[worker] = schedule.finishes[task]
    assert list(schedule.starts) == sorted(schedule.starts)


def test_two_workers_turn_as_completed_into_4_5_then_2_and_3_then_1() -> None:
    secs = [5.0, 4.0, 3.0, 2.0, 1.0]
    schedule = list_schedule(secs, 2)
    names = [f"{s:g}" for s in secs]
    assert schedule.makespan == 8
    assert schedule.describe_order(0.0, names) == "4, 5, {3, 2}, 1"
    assert schedule.allows([1, 0, 3, 2, 4], 0.0)  # 4, 5, 2, 3, 1
    assert not schedule.allows([4, 3, 2, 1, 0], 0.5)  # fastest first needs five workers
    assert list_schedule(secs, 5).describe_order(0.0, names) == "1, 2, 3, 4, 5"


def test_finishes_within_tolerance_may_swap_and_others_may_not() -> None:
    schedule = list_schedule([1.0, 1.2, 3.0], 3)
    assert schedule.allows([1, 0, 2], 0.25)
    assert not schedule.allows([1, 0, 2], 0.1)
    assert not schedule.allows([0, 1], 1.0), "an order must name every task once"


def test_late_workers_take_tasks_later() -> None:
    schedule = list_schedule([1.0, 1.0], 2, release=[0.0, 0.5])
    assert schedule.starts == (0.0, 0.5)
    assert schedule.peak == 2
    assert list_schedule([1.0, 1.0], 2, release=[0.0, 1.5]).assignment == (0, 0)


def test_peak_concurrency_does_not_count_touching_spans() -> None:
    assert peak_concurrency([(0, 1), (1, 2), (2, 3)]) == 1
    assert peak_concurrency([(0, 1), (0.5, 2), (0.9, 3)]) == 3
    assert peak_concurrency([]) == 0


@pytest.mark.parametrize("bad", [0, -1])
def test_a_schedule_needs_a_worker(bad: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list_schedule([1.0], bad)
