"""Probes record into the test's timeline from threads, processes of every start method, and
coroutines."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import pickle
import threading
import time

import pytest

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.clock import now
from pytest_sleepbench.core.lesson import START_METHODS

SLEEP = 0.05


def test_threads_overlap(bench: Bench) -> None:
    probe = bench.probe(SLEEP)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(probe, range(4)))
    timeline = bench.timeline
    assert len(timeline.intervals) == 4
    assert len(timeline.processes) == 1
    assert all(i.elapsed >= SLEEP for i in timeline.intervals)
    timeline.assert_parallel(4)


@pytest.mark.parametrize("start_method", START_METHODS)
def test_processes_of_every_start_method_record_into_one_timeline(
    bench: Bench, start_method: str
) -> None:
    probe = bench.probe(0.5)  # long enough to overlap even while spawn boots interpreters
    ctx = multiprocessing.get_context(start_method)
    procs = [ctx.Process(target=probe, args=(k,)) for k in range(3)]  # type: ignore[attr-defined]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    timeline = bench.timeline
    assert sorted(i.label for i in timeline.intervals) == ["0", "1", "2"]
    assert len(timeline.processes) == 3
    timeline.assert_parallel(3)


def test_a_process_pool_can_map_a_probe(bench: Bench) -> None:
    probe = bench.probe(SLEEP)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        list(pool.map(probe, range(4)))
    assert len(bench.timeline.intervals) == 4
    bench.timeline.assert_parallel(2)


def test_coroutines_overlap_in_one_thread(bench: Bench) -> None:
    probe = bench.aprobe(SLEEP)

    async def main() -> None:
        await asyncio.gather(*(probe(k) for k in range(5)))

    asyncio.run(main())
    timeline = bench.timeline
    assert len({(i.pid, i.tid) for i in timeline.intervals}) == 1
    assert all(i.elapsed >= SLEEP for i in timeline.intervals)
    timeline.assert_parallel(5)
    assert timeline.picture().count("main") == 5, "each overlapping coroutine gets a row"


def test_a_probe_takes_any_arguments_and_pickles(bench: Bench) -> None:
    probe = bench.probe(0.0)
    probe(1, "two", three=3)
    assert pickle.loads(pickle.dumps(probe)) == probe
    assert bench.timeline.intervals[0].label == "1, 'two'"


def test_a_probe_cannot_sleep_backwards(bench: Bench) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        bench.probe(-1)


@pytest.mark.parametrize("func_only", [False, True])
def test_probes_in_threads_stop_when_pytest_timeout_fires(
        pytester: pytest.Pytester, func_only: bool) -> None:
    # The signal reaches the main thread only; the pool's threads would sleep their minute
    # out, and the executor wait for them, unless the probes stop at the test's limit.
    pytester.makepyfile(f"""
        import pytest
        from concurrent.futures import ThreadPoolExecutor

        @pytest.mark.timeout(1, method="signal", func_only={func_only})
        def test_hangs(sleepbench):
            probe = sleepbench.probe(60)
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(probe, range(2)))
    """)
    begin = time.monotonic()
    result = pytester.runpytest_subprocess(timeout=120)
    took = time.monotonic() - begin
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Timeout*"])
    # Sixty seconds of probes would have run on; their ending is what is asserted, with a
    # margin no start-up comes near.
    assert took < 30, result.stdout.str()


def test_a_probe_patched_where_spawn_children_cannot_see_it_says_why(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(helper="""
        def work(x):
            return x

        def job(x):
            return work(x)
    """)
    pytester.makepyfile("""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        import helper

        def test_patched(sleepbench, monkeypatch):
            monkeypatch.setattr(helper, "work", sleepbench.probe(0.01))
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(2, mp_context=spawn) as pool:
                list(pool.map(helper.job, range(2)))
            sleepbench.timeline.assert_parallel(2)
    """)
    result = pytester.runpytest_subprocess(timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*observed: no calls; if the code runs the probe in processes started with spawn or "
        "forkserver*imports the module afresh. Hand the probe to the code instead*",
    ])


def test_a_probe_timeline_counts_lanes_not_processes(bench: Bench) -> None:
    probe = bench.aprobe(0.05)

    async def gather() -> None:
        await asyncio.gather(*(probe(k) for k in range(20)))

    asyncio.run(gather())
    record = bench.timeline.to_record()
    # Twenty coroutines overlapping in one thread of one process: twenty lanes.
    assert record["workers"] == 20
    assert len(bench.timeline.processes) == 1


@pytest.mark.parametrize("made", ["probe", "wrap"])
def test_a_call_in_a_thread_begins_when_it_is_made_while_other_threads_want_the_gil(
    bench: Bench, made: str
) -> None:
    # Three threads spinning in Python want the GIL all the time. A call that stamped its
    # start after reading /proc (which lets the GIL go) waited a switch interval, 5 ms, to
    # take it back each time: a rate limiter that admitted a call in time seemed broken.
    call = bench.probe(0.001) if made == "probe" else bench.wrap(time.sleep)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    asked: list[float] = []

    def job() -> None:
        for _ in range(15):
            asked.append(now())
            call(0.001)

    spinners = [threading.Thread(target=spin) for _ in range(3)]
    for spinner in spinners:
        spinner.start()
    try:
        worker = threading.Thread(target=job)
        worker.start()
        worker.join()
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join()
    starts = sorted(i.start for i in bench.timeline.intervals)
    late = [start - at for start, at in zip(starts, asked, strict=True)]
    assert min(late) >= 0.0
    # On average: a busy machine may still preempt the thread between the two stamps now
    # and then, as it may between any two lines of code. Stamped after the reads, the
    # calls were about 10 ms late on average, half of them by a switch interval or more.
    assert sum(late) / len(late) < 0.002, late
