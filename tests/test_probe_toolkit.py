"""The probe toolkit: limits a timeline asserts (at most, exactly, a rate, an order), probes
shaped by their arguments, and recording wrappers around real functions.

The rules are tested exactly on intervals written down by hand; a few real limiters, caps and
queues, each beside its broken twin, show them on real threads, coroutines and processes.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import json
import multiprocessing
import pickle
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sleepbench.core import limits
from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.bounds import auto_tolerance
from pytest_sleepbench.core.calibrate import measured
from pytest_sleepbench.core.judge import Kind
from pytest_sleepbench.core.picture import render
from pytest_sleepbench.core.sink import Interval, Sink
from pytest_sleepbench.core.timeline import Timeline
from pytest_sleepbench.core.verdict import SleepbenchAssertion, SleepbenchInconclusive

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
    return Timeline(sink, main_pid=1, tolerance=TOL)


# -- at most, exactly -------------------------------------------------------------------------

def test_calls_that_overlap_by_the_tolerance_only_touch() -> None:
    touching = [iv(0, U), iv(U - TOL, 2 * U)]
    assert limits.at_most(touching, 1, TOL).kind is Kind.PASS
    overlapping = [iv(0, U), iv(U - 2 * TOL, 2 * U)]
    verdict = limits.at_most(overlapping, 1, TOL)
    assert verdict.kind is Kind.FAIL
    assert verdict.observed.startswith("2 calls open at once")


def test_a_crowd_is_named_by_the_calls_open_at_its_busiest_instant() -> None:
    calls = [iv(0, U, "a"), iv(U / 2, 2 * U, "b"), iv(U, 3 * U, "c"), iv(U + U / 4, 3 * U, "d")]
    assert limits.certain_peak(calls, TOL) == 3
    assert limits.at_most(calls, 3, TOL).kind is Kind.PASS
    verdict = limits.at_most(calls, 2, TOL)
    assert verdict.kind is Kind.FAIL
    assert verdict.observed == "3 calls open at once, started: b (at 31 ms), c (at 62 ms), " \
                               "d (at 78 ms)"


def test_calls_no_longer_than_the_tolerance_cannot_show_a_cap() -> None:
    short = [iv(0, TOL / 2), iv(0, TOL / 2), iv(0, TOL / 2)]
    verdict = limits.at_most(short, 2, TOL)
    assert verdict.kind is Kind.UNSHOWN
    assert "the shortest call lasted 3.9 ms" in verdict.observed
    # One short call only touching a long one is no excess to explain.
    assert limits.at_most([iv(0, U), iv(U - TOL / 2, U + TOL / 2)], 1, TOL).kind is Kind.PASS


def test_exactly_n_fails_above_and_below(tmp_path: Path) -> None:
    timeline = timeline_of(tmp_path, iv(0, 2 * U, "a"), iv(0, 2 * U, "b"), iv(U, 3 * U, "c"))
    timeline.assert_peak(3)
    with pytest.raises(SleepbenchAssertion, match="more than 2 of the recorded calls") as above:
        timeline.assert_peak(2)
    assert above.value.expected.startswith("peak concurrency exactly 2")
    with pytest.raises(SleepbenchAssertion, match="did not run 4 at a time") as below:
        timeline.assert_peak(4)
    assert below.value.expected == "peak concurrency exactly 4"
    assert [c["status"] for c in timeline.checks] == ["pass", "fail", "fail"]


def test_an_overlap_within_the_tolerance_counts_either_way(tmp_path: Path) -> None:
    timeline = timeline_of(tmp_path, iv(0, U), iv(U - TOL / 2, 2 * U))
    timeline.assert_peak(1)
    timeline.assert_peak(2)
    timeline.assert_at_most(1)


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (True, TypeError), (1.5, TypeError)])
def test_a_cap_is_a_whole_number(tmp_path: Path, n: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="n must be"):
        timeline_of(tmp_path, iv(0, U)).assert_at_most(n)  # type: ignore[arg-type]


def test_a_cap_on_nothing_recorded_fails(tmp_path: Path) -> None:
    with pytest.raises(SleepbenchAssertion, match="nothing was recorded"):
        timeline_of(tmp_path).assert_at_most(1)
    with pytest.raises(SleepbenchAssertion, match="did not run 2 at a time"):
        timeline_of(tmp_path).assert_parallel(2)


# -- rate -------------------------------------------------------------------------------------

def test_a_start_may_seem_early_by_the_tolerance() -> None:
    period = 4 * U
    on_time = [iv(0, U), iv(U / 4, U), iv(period - TOL, period)]
    assert limits.rate(on_time, 2, period, TOL).kind is Kind.PASS
    early = [iv(0, U), iv(U / 4, U), iv(period - 2 * TOL, period)]
    verdict = limits.rate(early, 2, period, TOL)
    assert verdict.kind is Kind.FAIL
    assert verdict.title == "more than 2 call(s) started within 0.250s"
    assert verdict.observed.startswith("3 calls started within 234 ms")


def test_the_window_slides_rather_than_resetting_on_the_clock() -> None:
    # Two starts in [0, 0.25) and two in [0.25, 0.5): a fixed window sees no excess; the
    # three in the 60 ms around 0.25 are one too many in a window that slides.
    starts = [0.20, 0.24, 0.26, 0.30]
    verdict = limits.rate([iv(s, s + 0.01, f"c{s}") for s in starts], 2, 0.25, TOL)
    assert verdict.kind is Kind.FAIL
    assert "4 calls started within 100 ms" in verdict.observed


def test_a_limiter_letting_twice_through_fails_on_the_worst_window(tmp_path: Path) -> None:
    # Bursts of four, a period apart: twice the two a period allowed.
    timeline = timeline_of(tmp_path, *(iv(k // 4 * 2 * U, k // 4 * 2 * U + TOL, str(k))
                                       for k in range(8)))
    with pytest.raises(SleepbenchAssertion) as failed:
        timeline.assert_rate(2, 2 * U)
    assert str(failed.value).startswith(
        "sleepbench: more than 2 call(s) started within 0.125s\n"
        "  expected: at most 2 call(s) started in any 0.125s (a start may seem 7.8 ms early)\n"
        "  observed: 4 calls started within 0 ms: 0 (at 0 ms), 1 (at 0 ms), 2 (at 0 ms), "
        "3 (at 0 ms)\n\n")
    assert timeline.checks[-1]["name"] == "rate"
    timeline.assert_rate(4, 2 * U)


def test_a_period_within_the_tolerance_cannot_show_a_rate(tmp_path: Path) -> None:
    with pytest.raises(SleepbenchInconclusive, match="no longer than the tolerance"):
        timeline_of(tmp_path, iv(0, U)).assert_rate(1, TOL)


@pytest.mark.parametrize("period", [0, -1.0, float("nan"), float("inf")])
def test_a_period_is_positive_and_finite(period: float) -> None:
    with pytest.raises(ValueError, match="period must be"):
        limits.rate([iv(0, U)], 1, period, TOL)


# -- order ------------------------------------------------------------------------------------

def test_starts_within_the_tolerance_may_swap() -> None:
    tie = [iv(TOL, U, "a"), iv(0, U, "b")]
    assert limits.order(tie, ["a", "b"], "start", TOL).kind is Kind.PASS
    swapped = [iv(2 * TOL, U, "a"), iv(0, U, "b")]
    verdict = limits.order(swapped, ["a", "b"], "start", TOL)
    assert verdict.kind is Kind.FAIL
    assert verdict.observed == "b, a (a started 0.016s after b, which was listed after it)"


def test_ties_do_not_chain_into_a_swap() -> None:
    # Each neighbour within the tolerance of the next, but c began two tolerances before a.
    chain = [iv(2 * TOL, U, "a"), iv(TOL, U, "b"), iv(0, U, "c")]
    verdict = limits.order(chain, ["a", "b", "c"], "start", TOL)
    assert verdict.kind is Kind.FAIL
    assert "a started 0.016s after c" in verdict.observed


def test_order_by_end_reads_the_ends(tmp_path: Path) -> None:
    timeline = timeline_of(tmp_path, iv(0, 3 * U, "slow"), iv(U, 2 * U, "fast"),
                           iv(U, 2 * U, "other"))
    timeline.assert_order(["slow", "fast"])
    timeline.assert_order(["fast", "slow"], by="end")
    with pytest.raises(SleepbenchAssertion, match="the calls did not end in the order given"):
        timeline.assert_order(["slow", "fast"], by="end")


def test_each_named_call_must_have_run_once(tmp_path: Path) -> None:
    timeline = timeline_of(tmp_path, iv(0, U, "a"), iv(U, 2 * U, "b"), iv(2 * U, 3 * U, "b"))
    with pytest.raises(SleepbenchAssertion) as failed:
        timeline.assert_order(["a", "b", "c"])
    assert failed.value.observed == "2 calls labelled b; no calls labelled c"


@pytest.mark.parametrize(("labels", "by", "error", "says"), [
    (["a"], "middle", ValueError, "by must be"),
    ("ab", "start", ValueError, "non-empty sequence"),
    ([], "start", ValueError, "non-empty sequence"),
    (["a", "a"], "start", ValueError, "listed once"),
    ([1], "start", TypeError, "labels are strings"),
])
def test_an_order_names_each_call_once(labels: object, by: str, error: type[Exception],
                                       says: str) -> None:
    with pytest.raises(error, match=says):
        limits.order([iv(0, U, "a")], labels, by, TOL)  # type: ignore[arg-type]


# -- tolerance and lanes ----------------------------------------------------------------------

def test_a_bench_judges_limits_with_its_calibrated_tolerance() -> None:
    with Bench(unit=0.02) as bench:
        assert bench.timeline.tolerance == auto_tolerance(measured(bench.start_method), 0.02)
    with Bench(tolerance=0.007) as bench:
        assert bench.timeline.tolerance == 0.007


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


# -- probes shaped by their arguments ---------------------------------------------------------

def _length(seconds: float, *_: object, **__: object) -> float:
    return seconds


def _doubled(seconds: float, *_: object, **__: object) -> float:
    return 2 * seconds


def _named(seconds: float, name: str = "") -> str:
    return f"{name}:{seconds:g}"


def test_a_probe_sleeps_returns_and_is_labelled_by_its_arguments(sleepbench: Bench) -> None:
    probe = sleepbench.probe(_length, returns=_doubled, label=_named)
    assert probe(0.02, name="x") == 0.04
    assert probe(0.01) == 0.02
    first, second = sleepbench.timeline.intervals
    assert (first.label, first.seconds, second.label, second.seconds) == ("x:0.02", 0.02,
                                                                          ":0.01", 0.01)
    assert first.elapsed >= 0.02 and second.elapsed >= 0.01


def test_plain_values_are_returned_and_labels_default_to_the_arguments(sleepbench: Bench
                                                                        ) -> None:
    assert sleepbench.probe(0.0)(1, "two") is None
    assert sleepbench.probe(0.0, returns=[1], label="fetch")(3) == [1]
    assert [i.label for i in sleepbench.timeline.intervals] == ["1, 'two'", "fetch"]


def test_what_a_function_says_to_sleep_is_checked_at_each_call(sleepbench: Bench) -> None:
    probe = sleepbench.probe(_length)
    with pytest.raises(ValueError, match="finite, non-negative"):
        probe(-1.0)
    with pytest.raises(TypeError, match="number of seconds"):
        probe("soon")
    assert sleepbench.timeline.intervals == []


def test_probes_of_module_functions_cross_a_spawn_boundary(sleepbench: Bench) -> None:
    probe = sleepbench.probe(_length, returns=_doubled, label=_named)
    assert pickle.loads(pickle.dumps(probe)) == probe
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        assert list(pool.map(probe, [0.03, 0.02], ["a", "b"])) == [0.06, 0.04]
    timeline = sleepbench.timeline
    assert sorted(i.label for i in timeline.intervals) == ["a:0.03", "b:0.02"]
    assert len(timeline.processes) == 2


def test_an_async_probe_takes_the_same_shapes(sleepbench: Bench) -> None:
    probe = sleepbench.aprobe(_length, returns=_doubled, label=_named)

    async def main() -> list[object]:
        return list(await asyncio.gather(probe(0.03, "slow"), probe(0.01, "fast")))

    assert asyncio.run(main()) == [0.06, 0.02]
    timeline = sleepbench.timeline
    timeline.assert_order(["fast:0.01", "slow:0.03"], by="end")
    timeline.assert_peak(2)


# -- wrapping real functions ------------------------------------------------------------------

def _slow_square(x: int, delay: float = 0.02) -> int:
    """Squares slowly."""
    time.sleep(delay)
    return x * x


def test_a_wrapped_function_returns_its_result_and_records_each_call(sleepbench: Bench
                                                                     ) -> None:
    square = sleepbench.wrap(_slow_square)
    assert (square.__name__, square.__doc__) == ("_slow_square", "Squares slowly.")
    assert getattr(square, "__wrapped__", None) is _slow_square
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert list(pool.map(square, [1, 2, 3])) == [1, 4, 9]
    timeline = sleepbench.timeline
    assert sorted(i.label for i in timeline.intervals) == ["1", "2", "3"]
    assert all(i.elapsed >= 0.02 and i.seconds == i.elapsed for i in timeline.intervals)
    timeline.assert_peak(3)


def test_a_call_that_raises_is_still_recorded(sleepbench: Bench) -> None:
    def fails(delay: float) -> None:
        time.sleep(delay)
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        sleepbench.wrap(fails, label="fails")(0.02)
    (interval,) = sleepbench.timeline.intervals
    assert (interval.label, interval.elapsed >= 0.02) == ("fails", True)


def test_a_coroutine_function_gives_a_coroutine_function(sleepbench: Bench) -> None:
    async def fetch(key: str, delay: float) -> str:
        await asyncio.sleep(delay)
        if key == "bad":
            raise LookupError(key)
        return key.upper()

    wrapped = sleepbench.wrap(fetch, label=lambda key, delay: key)
    assert inspect.iscoroutinefunction(wrapped)

    async def main() -> list[object]:
        return list(await asyncio.gather(wrapped("a", 0.03), wrapped("bad", 0.02),
                                         return_exceptions=True))

    got = asyncio.run(main())
    assert got[0] == "A" and isinstance(got[1], LookupError)
    timeline = sleepbench.timeline
    assert {i.label: i.elapsed >= 0.02 for i in timeline.intervals} == {"a": True, "bad": True}
    timeline.assert_order(["bad", "a"], by="end")
    timeline.assert_parallel(2)


def test_a_wrapped_function_called_in_a_forked_child_stamps_its_readiness(
    sleepbench: Bench,
) -> None:
    square = sleepbench.wrap(_slow_square)
    child = multiprocessing.get_context("fork").Process(target=square, args=(3,))
    child.start()
    child.join()
    (interval,) = sleepbench.timeline.intervals
    assert interval.pid == child.pid and child.pid in sleepbench.timeline.sink.readiness()


# -- real caps, limiters and queues beside their broken twins ---------------------------------
# Run for real and judged with the bench's calibrated tolerance: each correct one passes and
# each twin fails, on a quiet machine and on one kept busy (docs/REPORTS.md has the numbers).

CALL = 0.04  # longer than any tolerance, which is at most a quarter of the unit
PERIOD = 0.1


def capped(bench: Bench, broken: bool) -> Timeline:
    call = bench.probe(CALL)
    shared = threading.BoundedSemaphore(2)

    def job(k: int) -> None:
        # The twin makes its semaphore afresh for each call: nothing shared, nothing capped.
        with threading.BoundedSemaphore(2) if broken else shared:
            call(k)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(job, range(6)))
    return bench.timeline


def pooled(bench: Bench, broken: bool) -> Timeline:
    with concurrent.futures.ThreadPoolExecutor(4 if broken else 2) as pool:
        list(pool.map(bench.probe(CALL), range(6)))
    return bench.timeline


class SlidingLimiter:
    """At most ``calls`` admissions in any ``period``: a log of the last period's."""

    def __init__(self, calls: int, period: float) -> None:
        self.calls, self.period = calls, period
        self._lock = threading.Lock()
        self._log: collections.deque[float] = collections.deque()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._log and now - self._log[0] >= self.period:
                    self._log.popleft()
                if len(self._log) < self.calls:
                    self._log.append(now)
                    return
                wait = self._log[0] + self.period - now
            time.sleep(wait)


class FixedWindowLimiter(SlidingLimiter):
    """The broken twin: counts admissions and starts a new count a period after the last
    one began, so calls late in one window and early in the next are twice the limit."""

    _opened = -float("inf")
    _count = 0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                if now - self._opened >= self.period:
                    self._opened, self._count = now, 0
                if self._count < self.calls:
                    self._count += 1
                    return
                wait = self._opened + self.period - now
            time.sleep(wait)


def rate_limited(bench: Bench, broken: bool) -> Timeline:
    limiter = (FixedWindowLimiter if broken else SlidingLimiter)(2, PERIOD)
    call = bench.probe(0.01)

    def job(k: int) -> None:
        limiter.acquire()
        call(k)

    # One request, a pause of half a period, then a burst: the burst's first two meet the
    # twin's new window.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(job, 0)]
        time.sleep(PERIOD / 2)
        futures += [pool.submit(job, k) for k in range(1, 6)]
        for future in futures:
            future.result()
    return bench.timeline


class Throttler:
    """At most ``calls`` entries in any ``period``, for the coroutines of one loop."""

    def __init__(self, calls: int, period: float) -> None:
        self.calls, self.period = calls, period
        self._entered: collections.deque[float] = collections.deque()

    def _forget(self, now: float) -> None:
        while self._entered and now - self._entered[0] >= self.period:
            self._entered.popleft()

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._forget(loop.time())
            if len(self._entered) < self.calls:
                self._entered.append(loop.time())
                return
            await asyncio.sleep(self._entered[0] + self.period - loop.time())

    async def __aexit__(self, *_: object) -> None:
        return None


class HastyThrottler(Throttler):
    """The broken twin: does not look again after its sleep, so every coroutine that slept
    for the same free slot takes it."""

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        self._forget(loop.time())
        if len(self._entered) >= self.calls:
            await asyncio.sleep(self._entered[0] + self.period - loop.time())
        self._entered.append(loop.time())


def throttled(bench: Bench, broken: bool) -> Timeline:
    throttler = (HastyThrottler if broken else Throttler)(2, PERIOD)
    call = bench.aprobe(0.01)

    async def job(k: int) -> None:
        async with throttler:
            await call(k)

    async def main() -> None:
        await asyncio.gather(*(job(k) for k in range(6)))

    asyncio.run(main())
    return bench.timeline


class Jobs:
    """Jobs a worker thread takes one at a time, first in, first out."""

    def __init__(self) -> None:
        self._items: collections.deque[str] = collections.deque()
        self._ready = threading.Condition()

    def put(self, item: str) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def get(self) -> str:
        with self._ready:
            self._ready.wait_for(lambda: self._items)
            return self._take()

    def _take(self) -> str:
        return self._items.popleft()


class StackedJobs(Jobs):
    """The broken twin: takes the newest job first, as ``list.pop()`` does."""

    def _take(self) -> str:
        return self._items.pop()


NAMES = ["a", "b", "c", "d", "e"]


def queued(bench: Bench, broken: bool) -> Timeline:
    jobs = (StackedJobs if broken else Jobs)()
    run = bench.probe(0.02, label=str)
    for name in NAMES:
        jobs.put(name)
    worker = threading.Thread(target=lambda: [run(jobs.get()) for _ in NAMES])
    worker.start()
    worker.join()
    return bench.timeline


SCENARIOS: dict[str, tuple[Callable[[Bench, bool], Timeline], Callable[[Timeline], None],
                           str]] = {
    "semaphore cap": (capped, lambda t: t.assert_at_most(2), "more than 2 of the recorded"),
    "pool width": (pooled, lambda t: t.assert_peak(2), "more than 2 of the recorded"),
    "rate limiter": (rate_limited, lambda t: t.assert_rate(2, PERIOD),
                     "more than 2 call(s) started within 0.100s"),
    "asyncio throttler": (throttled, lambda t: t.assert_rate(2, PERIOD),
                          "more than 2 call(s) started within 0.100s"),
    "fifo queue": (queued, lambda t: t.assert_order(NAMES), "did not start in the order given"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_real_correct_code_keeps_its_limit(sleepbench: Bench, scenario: str) -> None:
    make, claim, _ = SCENARIOS[scenario]
    claim(make(sleepbench, False))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_real_broken_twin_is_caught(sleepbench: Bench, scenario: str) -> None:
    make, claim, says = SCENARIOS[scenario]
    timeline = make(sleepbench, True)
    with pytest.raises(SleepbenchAssertion, match=re.escape(says)):
        claim(timeline)


def test_real_cap_and_queue_hold_by_end_and_exactly() -> None:
    with Bench() as bench:
        capped(bench, False).assert_peak(2)
    with Bench() as bench:
        queued(bench, False).assert_order(NAMES, by="end")
