"""What the machine could not show is neither passed nor blamed on the code.

A claim whose processes became ready too late is measured again at larger units; when none
within the budget shows it, it is ``SleepbenchInconclusive``, which is not an assertion, and
pytest counts it apart.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.run import Run
from pytest_sleepbench.core.sink import Interval, Sink
from pytest_sleepbench.core.timeline import Timeline
from pytest_sleepbench.core.verdict import SleepbenchAssertion, SleepbenchInconclusive


def _started_late(bench: Bench, lag: float) -> Run:
    """A real two-task submit run whose second worker is recorded as ready ``lag`` seconds
    after the first had taken both tasks, and which cannot measure again."""
    # Tasks of 200 ms: far longer than any stagger the calibration allows, even under load.
    run = bench.run("submit", [1, 1], workers=2, unit=0.2)
    first = min(i.start for i in run.intervals)
    pids = sorted({*run.starts})
    starts = {pids[0]: (first - 0.001, first), 10**7: (first - 0.001, first + lag)}
    both = tuple(dataclasses.replace(i, pid=pids[0], start=first + k * 0.201,
                                     end=first + k * 0.201 + 0.2)
                 for k, i in enumerate(sorted(run.intervals, key=lambda i: i.task or 0)))
    return dataclasses.replace(run, intervals=both, starts=starts, again=None, checks=[],
                               asked=[])


def test_a_claim_the_machine_could_not_show_is_inconclusive_not_a_failure(bench: Bench) -> None:
    run = _started_late(bench, lag=0.5)
    with pytest.raises(SleepbenchInconclusive) as raised:
        run.assert_parallel()
    assert not isinstance(raised.value, AssertionError)
    assert "became ready too late" in raised.value.title
    assert "500 ms after the first" in raised.value.observed
    assert run.checks[-1]["status"] == "inconclusive"


def test_workers_ready_in_time_that_did_not_overlap_fail_code_not_vouched_for(
    bench: Bench,
) -> None:
    # The package's own patterns launch everything and leave dispatch to the executor, so a
    # shortfall they did not hold back is the machine's; other code's is its own.
    vouched = _started_late(bench, lag=0.001)
    with pytest.raises(SleepbenchInconclusive):
        vouched.assert_parallel()
    run = dataclasses.replace(_started_late(bench, lag=0.001), vouched=False)
    with pytest.raises(SleepbenchAssertion, match="did not overlap as the schedule predicts"):
        run.assert_parallel()


def test_a_unit_too_small_for_spawn_is_scaled_up_or_named_and_never_fails(bench: Bench) -> None:
    # Spawned workers take tens of milliseconds to start, many times a 2 ms task.
    run = bench.run("submit", [1, 1], start_method="spawn", unit=0.002)
    try:
        run.assert_parallel()
    except SleepbenchInconclusive as unshown:
        # Past the budget: the smallest unit that would show it is named instead.
        assert "a unit of at least" in unshown.observed
        assert run.checks[-1]["status"] == "inconclusive"
    else:
        # Shown, at the unit asked for or at a larger one, which the run then names.
        assert {c["status"] for c in run.checks} == {"pass"}
        if run.earlier_units:
            assert run.earlier_units[0] == 0.002 and run.unit > 0.002
            assert "unit scaled up from 0.002s" in run.describe()


def test_probes_in_spawned_processes_are_never_failed_for_slow_starts(bench: Bench) -> None:
    probe = bench.probe(0.005)  # far shorter than a spawn start-up
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=probe) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    try:
        bench.timeline.assert_parallel(2)
    except SleepbenchInconclusive as unshown:
        assert "to start the processes that made them" in unshown.title
        assert bench.timeline.checks[-1]["status"] == "inconclusive"


def test_pytest_counts_an_inconclusive_test_apart_and_the_session_fails(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        from pytest_sleepbench import SleepbenchInconclusive

        def test_unshown(sleepbench):
            raise SleepbenchInconclusive("sleepbench: not shown", "a", "b", "")

        def test_shown(sleepbench):
            pass
    """)
    result = pytester.runpytest("-p", "sleepbench")
    # Why, as pytest shows a failure's reason: an inconclusive test is not one of them.
    result.stdout.fnmatch_lines(["*sleepbench inconclusive*", "*test_unshown*",
                                 "*sleepbench: not shown", "*expected: a", "*observed: b",
                                 "*1 passed, 1 inconclusive*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_summary_and_the_html_say_inconclusive(pytester: pytest.Pytester) -> None:
    # A real run whose second worker is recorded as ready half a second late.
    pytester.makepyfile("""
        import dataclasses

        def test_unshown(sleepbench):
            run = sleepbench.run("submit", [1, 1], workers=2, start_method="fork")
            first = min(i.start for i in run.intervals)
            pid = min(run.starts)
            both = tuple(dataclasses.replace(i, pid=pid, start=first + k * 0.021,
                                             end=first + k * 0.021 + 0.02)
                         for k, i in enumerate(sorted(run.intervals, key=lambda i: i.task)))
            late = dataclasses.replace(
                run, intervals=both, again=None, checks=[], asked=[],
                starts={pid: (first - 0.001, first), 1: (first - 0.001, first + 0.5)})
            sleepbench.runs[0] = late
            late.assert_parallel()
    """)
    result = pytester.runpytest("-p", "sleepbench", "--sleepbench-unit=0.02",
                                "--sleepbench-html=report.html")
    result.stdout.fnmatch_lines(["*submit * inconclusive inconclusive *test_unshown*",
                                 "*1 inconclusive*"])
    page = (pytester.path / "report.html").read_text()
    assert '<span class="badge inconclusive">inconclusive</span>' in page


def _take_turns(probe: object, lock: object) -> None:
    with lock:  # type: ignore[attr-defined]
        probe()  # type: ignore[operator]


def test_probes_that_take_turns_fail(bench: Bench) -> None:
    # Calls far longer than a forked process's start-up, kept apart by a lock: the code's
    # doing, which no start-up excuses.
    probe = bench.probe(0.2)
    ctx = multiprocessing.get_context("fork")
    lock = ctx.Lock()
    procs = [ctx.Process(target=_take_turns, args=(probe, lock)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert len(bench.timeline.intervals) == 2
    with pytest.raises(SleepbenchAssertion, match="did not run 2 at a time"):
        bench.timeline.assert_parallel(2)


def _queued(tmp_path: Path, waited: float) -> Timeline:
    """Three 30 ms calls in three threads of one process, one after another: call ``k`` began
    ``k * waited`` seconds after its thread was ready to run."""
    calls = [Interval(None, 0.03, 1, 0.03 * k, 0.03 * (k + 1), tid=10 + k, waited=k * waited)
             for k in range(3)]
    sink = Sink.create(tmp_path / "probes.jsonl")
    Path(sink.path).write_text("".join(json.dumps(c.to_dict()) + "\n" for c in calls))
    return Timeline(sink, main_pid=0, tolerance=0.005)


def test_threads_that_waited_for_a_core_are_not_failed_for_taking_turns(tmp_path: Path) -> None:
    # Each later call's thread was runnable from the start but got no core: the machine's.
    with pytest.raises(SleepbenchInconclusive, match="waited up to 60 ms for a core"):
        _queued(tmp_path, 0.03).assert_parallel(3)


def test_threads_that_waited_on_the_code_still_fail(tmp_path: Path) -> None:
    # A lock or a queue: the threads slept, which is no wait for a core.
    with pytest.raises(SleepbenchAssertion, match="did not run 3 at a time"):
        _queued(tmp_path, 0.0).assert_parallel(3)
    # A wait far shorter than the calls' turn-taking explains none of it.
    with pytest.raises(SleepbenchAssertion, match="did not run 3 at a time"):
        _queued(tmp_path, 0.002).assert_parallel(3)


def test_calls_launched_late_by_a_main_thread_that_waited_for_a_core_are_not_failed(
        tmp_path: Path) -> None:
    # The threads had cores; the main thread, launching them, waited 30 ms before each.
    def launched(lost: float) -> Timeline:
        calls = [Interval(None, 0.03, 1, 0.03 * k, 0.03 * (k + 1), tid=10 + k,
                          launcher=1.0 + k * lost) for k in range(3)]
        sink = Sink.create(tmp_path / f"probes-{lost}.jsonl")
        Path(sink.path).write_text("".join(json.dumps(c.to_dict()) + "\n" for c in calls))
        return Timeline(sink, main_pid=0, tolerance=0.005)

    with pytest.raises(SleepbenchInconclusive, match="waited up to 60 ms for a core"):
        launched(0.03).assert_parallel(3)
    # A main thread that waited on the calls (a result, a join) slept: no excuse.
    with pytest.raises(SleepbenchAssertion, match="did not run 3 at a time"):
        launched(0.0).assert_parallel(3)


def test_a_probe_in_a_thread_stamps_its_wait_for_a_core_and_the_main_thread_none(
        bench: Bench) -> None:
    probe = bench.probe(0.01)
    probe()
    worker = threading.Thread(target=probe)
    worker.start()
    worker.join()
    main, other = sorted(bench.timeline.intervals, key=lambda i: i.start)
    assert main.waited == main.launcher == 0.0
    # The main thread's own total when the thread's call began: no more than it is now, and
    # not nothing once it has waited at all.
    with open(f"/proc/self/task/{os.getpid()}/schedstat") as stat:
        now_total = int(stat.read().split()[1]) / 1e9
    assert other.launcher <= now_total and (other.launcher > 0 or now_total == 0)
    # Linux says how long; the thread had to be scheduled at least once to run at all.
    assert 0.0 <= other.waited < 1.0
    assert other.tid != main.tid


def test_a_claim_judged_again_on_a_later_measurement_names_the_unit_it_needs(
    bench: Bench
) -> None:
    run = bench.run("submit", [1, 1], workers=2)
    first, second = sorted(run.intervals, key=lambda i: i.start)
    # Measured again for its late wall: one worker ran both tasks, and starting a second one
    # takes a whole second here, far more than the tasks last.
    one = dataclasses.replace(
        run, intervals=(first, dataclasses.replace(second, pid=first.pid, start=first.end,
                                                   end=first.end + second.seconds)),
        calibration=dataclasses.replace(run.calibration, startup=1.0), starts={})
    late = dataclasses.replace(run, wall=run.bounds.upper + 1.0, checks=[], asked=[],
                               again=lambda unit, fresh: one)
    with pytest.raises(SleepbenchInconclusive) as unshown:
        late.assert_parallel()
    assert "a unit of at least" in unshown.value.observed
