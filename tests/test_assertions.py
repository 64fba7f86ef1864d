"""Assertions fail on runs that break their promise, and say why with a picture."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time

import pytest

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.bounds import share, wall_bounds
from pytest_sleepbench.core.calibrate import Calibration
from pytest_sleepbench.core.run import Run
from pytest_sleepbench.core.verdict import SleepbenchAssertion


def test_a_serial_run_in_disguise_is_not_parallel(bench: Bench) -> None:
    # Real intervals of tasks run one after another, presented as if a pool had run them.
    run = dataclasses.replace(bench.run("serial", [1, 1, 1]), pattern="map")
    with pytest.raises(SleepbenchAssertion) as failure:
        run.assert_parallel()
    assert "all tasks ran in one process" in str(failure.value)
    assert "main [" in failure.value.picture


def test_processes_joined_one_by_one_do_not_overlap(bench: Bench) -> None:
    probe = bench.probe(bench.unit)
    for _ in range(3):
        p = multiprocessing.get_context("fork").Process(target=probe)
        p.start()
        p.join()
    assert len(bench.timeline.processes) == 3
    with pytest.raises(SleepbenchAssertion, match="did not run 2 at a time"):
        bench.timeline.assert_parallel()
    bench.timeline.assert_serial()


def test_results_out_of_input_order_fail_with_expected_and_observed(bench: Bench) -> None:
    run = bench.run("map", [3, 2, 1], workers=3)
    run.assert_input_order()
    broken = dataclasses.replace(run, delivered=(2, 1, 0), checks=[])
    with pytest.raises(SleepbenchAssertion) as failure:
        broken.assert_input_order()
    assert failure.value.expected == "3, 2, 1"
    assert failure.value.observed.startswith("1, 2, 3")
    assert "expected makespan" in failure.value.picture
    assert broken.checks[-1]["status"] == "fail"


def test_results_read_in_submission_order_are_not_completion_order(bench: Bench) -> None:
    run = bench.run("as_completed", [5, 4, 3, 2, 1], workers=5)
    in_submission_order = dataclasses.replace(run, delivered=(0, 1, 2, 3, 4))
    with pytest.raises(SleepbenchAssertion, match="not received in completion order"):
        in_submission_order.assert_completion_order()


def test_an_overlapping_run_is_not_serial(bench: Bench) -> None:
    # Long enough that two forked processes overlap however busy the machine is.
    run = bench.run("processes", [1, 1], unit=0.2)
    with pytest.raises(SleepbenchAssertion, match="overlapped"):
        run.assert_serial()


def test_a_run_too_fast_for_its_sleeps_is_impossible(bench: Bench) -> None:
    run = bench.run("serial", [1, 2])
    faked = dataclasses.replace(run, wall=2 * run.unit, again=None)
    with pytest.raises(SleepbenchAssertion, match="took less time than its sleeps allow"):
        faked.assert_serial()


def test_only_a_late_wall_is_measured_again_and_both_walls_are_reported(bench: Bench) -> None:
    run = bench.run("serial", [1, 2])
    late = dataclasses.replace(run, wall=run.bounds.upper + 1.0, checks=[], asked=[])
    late.assert_serial()
    assert late.earlier_walls == (run.bounds.upper + 1.0,)
    assert "earlier attempt" in late.describe()
    # Every verdict kept describes the measurement adopted, each judged once on it.
    assert [(c["name"], c["status"]) for c in late.checks] == [("overlap", "pass"),
                                                               ("timing", "pass")]
    assert late.intervals != run.intervals
    stays_late = dataclasses.replace(run, wall=run.bounds.upper + 1.0, again=None)
    with pytest.raises(SleepbenchAssertion, match="took more time than the schedule allows"):
        stays_late.assert_serial()


def test_a_check_that_fails_on_the_new_measurement_keeps_its_own_name(bench: Bench) -> None:
    run = bench.run("serial", [1, 2])
    first, second = run.intervals
    overlapping = dataclasses.replace(
        run, intervals=(first, dataclasses.replace(second, start=first.start)))
    late = dataclasses.replace(run, wall=run.bounds.upper + 1.0, checks=[], asked=[],
                               again=lambda unit, fresh: overlapping)
    with pytest.raises(SleepbenchAssertion, match="overlapped"):
        late.assert_serial()
    # timing was not judged on the new measurement, so it has no verdict of its own.
    assert [(c["name"], c["status"]) for c in late.checks] == [("overlap", "fail")]


def test_check_judges_order_before_wall_time(bench: Bench) -> None:
    run = bench.run("map", [2, 1], workers=2)
    slow_and_swapped = dataclasses.replace(run, delivered=(1, 0), wall=run.bounds.upper + 1.0,
                                           checks=[], asked=[], again=None)
    with pytest.raises(SleepbenchAssertion, match="not received in input order"):
        slow_and_swapped.check()
    assert [c["name"] for c in slow_and_swapped.checks][-1] == "order"
    assert "timing" not in [c["name"] for c in slow_and_swapped.checks]


def _calibration(startup: float = 0.01, pool: float = 0.05, jitter: float = 0.001) -> Calibration:
    return Calibration("spawn", startup=startup, pool=pool, jitter=jitter, cores=2)


def test_the_upper_bound_follows_the_documented_formula() -> None:
    cal = _calibration()
    b = wall_bounds(lower=0.3, ideal=0.4, calibration=cal, process_starts=2, pool=True,
                    chain=3, tolerance=0.005)
    overhead = cal.pool + 1 * cal.startup
    assert b.upper == pytest.approx(0.4 + 2 * overhead + 0.005 * (3 + 2))
    assert (b.lower, b.ideal) == (0.3, 0.4)
    processes = wall_bounds(lower=0.0, ideal=0.1, calibration=cal, process_starts=10,
                            pool=False, chain=1, tolerance=0.005)
    assert processes.upper == pytest.approx(0.1 + 2 * 10 * cal.startup + 0.005 * 3)


def test_a_measured_overhead_replaces_the_per_process_estimate() -> None:
    cal = _calibration()
    b = wall_bounds(lower=0.0, ideal=0.1, calibration=cal, process_starts=10, pool=False,
                    chain=1, tolerance=0.005, overhead=0.04)
    assert b.upper == pytest.approx(0.1 + 2 * 0.04 + 0.005 * 3)


def test_runs_carry_the_measured_overhead_of_their_shape(bench: Bench) -> None:
    run = bench.run("process_loop", [1] * 4)
    assert run.overhead is not None and run.overhead > 0
    widen = share(run.xdist_workers, run.calibration.cores)
    assert run.bounds.upper == pytest.approx(
        run.expected_wall + widen * (2 * run.overhead + run.tolerance * 3)
    )


def test_xdist_workers_outnumbering_the_cores_widen_the_margin() -> None:
    assert share(1, 2) == 1.0
    assert share(2, 2) == 1.0
    assert share(3, 2) == 1.5
    assert share(4, 2) == 2.0
    alone = wall_bounds(lower=0, ideal=1, calibration=_calibration(), process_starts=2,
                        pool=True, chain=1, tolerance=0.01)
    shared = wall_bounds(lower=0, ideal=1, calibration=_calibration(), process_starts=2,
                         pool=True, chain=1, tolerance=0.01, xdist_workers=4)
    assert shared.upper - 1 == pytest.approx(2 * (alone.upper - 1))


def test_every_assertion_is_recorded_for_reports(bench: Bench) -> None:
    run: Run = bench.run("map", [2, 1], workers=2)
    run.assert_parallel()
    run.check()
    assert [c["name"] for c in run.checks] == [
        "overlap", "timing", "runs", "uses_processes", "overlap", "order", "timing"
    ]
    record = run.to_record()
    assert record["checks"] == run.checks
    assert len(record["intervals"]) == 2


def test_a_pool_that_really_had_one_worker_is_judged_as_serial(bench: Bench) -> None:
    run = bench.run("submit", [1, 1], workers=1)
    assert run.workers == 1
    run.check()
    with pytest.raises(SleepbenchAssertion, match="all tasks ran in one process"):
        run.assert_parallel()
    assert run.expected_wall == pytest.approx(2 * run.unit)


def test_serial_work_in_child_processes_breaks_the_serial_pattern(bench: Bench) -> None:
    disguised = dataclasses.replace(bench.run("processes", [1, 1]), pattern="serial")
    with pytest.raises(SleepbenchAssertion, match="serial tasks ran outside the main process"):
        disguised.check()


def test_a_pool_starting_more_workers_than_tasks_pays_for_each_start(bench: Bench) -> None:
    run = bench.run("submit", [1, 1], workers=8)
    assert run.processes_started == 8, "fork starts every worker of the pool at once"
    assert run.workers == 2
    run.check()


def test_a_task_that_never_finished_fails_runs(bench: Bench) -> None:
    run = bench.run("processes", [1, 1, 1])
    cut = dataclasses.replace(run, intervals=run.intervals[:2], checks=[], again=None)
    with pytest.raises(SleepbenchAssertion, match="not every task ran to its end once"):
        cut.check()
    killed = dataclasses.replace(run, exitcodes=(0, -9, 0), checks=[], again=None)
    with pytest.raises(SleepbenchAssertion, match="task 1 exited with -9"):
        killed.check()


def test_a_child_killed_mid_run_is_reported(bench: Bench) -> None:
    import threading

    import psutil

    before = {p.pid for p in psutil.Process().children()}  # a forkserver, a resource tracker
    runs: list[Run] = []
    worker = threading.Thread(target=lambda: runs.append(bench.run("processes", [50, 50])))
    worker.start()
    deadline = time.monotonic() + 10
    ours: list[psutil.Process] = []
    while len(ours) < 2 and time.monotonic() < deadline:
        # Only the run's own: a forkserver or resource tracker another test started since
        # is not one of them.
        ours = [p for p in psutil.Process().children() if p.pid not in before
                and "multiprocessing" not in " ".join(p.cmdline())]
        time.sleep(0.01)
    ours[0].kill()
    worker.join()
    with pytest.raises(SleepbenchAssertion, match="not every task ran to its end once"):
        runs[0].check()
    assert sorted(runs[0].exitcodes, key=str) == [-9, 0]


@pytest.mark.parametrize(
    ("durations", "error"),
    [([], "non-empty list"), ([1, -1], "non-negative"),
     ([float("inf")], "finite")],
)
def test_durations_are_checked_before_anything_runs(
    bench: Bench, durations: list[float], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        bench.run("map", durations)


@pytest.mark.parametrize(
    ("durations", "workers", "error", "says"),
    [("123", None, TypeError, "durations must be"), ([True, 1], None, TypeError, "numbers"),
     ([1, 1], 1.5, TypeError, "workers must be a whole number"),
     ([1, 1], True, TypeError, "workers must be a whole number"),
     ([1, -1], None, ValueError, "non-negative")],
)
def test_wrong_arguments_are_named_before_anything_runs(
    bench: Bench, durations: object, workers: object, error: type[Exception], says: str,
) -> None:
    with pytest.raises(error, match=says):
        bench.run("map", durations, workers=workers)  # type: ignore[arg-type]
    assert bench.runs == []


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), -1.0])
def test_a_probe_sleeps_a_finite_time(bench: Bench, seconds: float) -> None:
    with pytest.raises(ValueError, match="finite, non-negative"):
        bench.probe(seconds)


def test_the_bench_is_importable_from_the_package() -> None:
    import pytest_sleepbench

    assert pytest_sleepbench.Bench is Bench
