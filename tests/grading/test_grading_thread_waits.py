"""The grader's looks at the main process's other threads: how long each waited for a core,
read by the grader and not by the script, and what of it the run itself caused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from grading_support import needs_root, submission

from pytest_sleepbench.core.calibrate import Calibration
from pytest_sleepbench.core.sink import Interval
from pytest_sleepbench.grading.observed import Observed
from pytest_sleepbench.grading.outcome import Outcome
from pytest_sleepbench.grading.record import Recording
from pytest_sleepbench.grading.sandbox import Limits, run_script
from pytest_sleepbench.grading.timed import overlap, timing

# Pinned to one core, the main thread starts a thread that works there for 0.2 s of its own
# CPU time, prints its id and what its sibling ran meanwhile, and idles a while (so the
# grader looks at it once more). With SIBLING, the sibling is as busy beside it, outside the
# GIL. NICE is what the working thread adds to its own niceness (only its own: Linux keeps
# one per thread).
_WORKER = """\
import hashlib, os, select, threading, time
os.sched_setaffinity(0, {CORE})
done = threading.Event()
def work():
    os.setpriority(os.PRIO_PROCESS, 0, NICE)
    clock = time.pthread_getcpuclockid(side.ident) if SIBLING else time.CLOCK_THREAD_CPUTIME_ID
    begin, before = time.thread_time(), time.clock_gettime(clock)
    while time.thread_time() - begin < 0.2:
        pass
    beside = time.clock_gettime(clock) - before if SIBLING else 0.0
    print(threading.get_native_id(), beside, flush=True)
    select.select([], [], [], 0.1)
def sibling():
    data = b"x" * 2**22
    while not done.is_set():
        hashlib.sha256(data).digest()
side = threading.Thread(target=sibling)
if SIBLING:
    side.start()
# The grader's first look comes as the first record arrives, before this line; on a loaded
# machine the grader may get its core a few ms late. A thread born before that look is seen
# only from it on, so this one is born well after.
select.select([], [], [], 0.05)
worker = threading.Thread(target=work)
worker.start()
worker.join()
done.set()
if SIBLING:
    side.join()
"""


@contextmanager
def _busy_core(core: int) -> Iterator[None]:
    """A loop outside the run, busy on ``core`` from before the run starts: the machine's
    load, in a session (and so a scheduling group) of its own."""
    hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}})"
                            "\nprint('pinned', flush=True)\nwhile True: pass"],
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert hog.stdout is not None and hog.stdout.readline() == "pinned\n"
        yield
    finally:
        hog.kill()
        hog.wait()
        if hog.stdout is not None:
            hog.stdout.close()


def _run(tmp_path: Path, *, nice: int, sibling: bool, loaded: bool
         ) -> tuple[Outcome, int, float]:
    core = min(os.sched_getaffinity(0))
    script = (_WORKER.replace("CORE", str(core)).replace("NICE", str(nice))
              .replace("SIBLING", str(sibling)))
    folder = submission(tmp_path / "s", {"s.py": script})
    if loaded:
        with _busy_core(core):
            outcome = run_script(folder, "s.py", unit=0.02, limits=Limits(wall=60))
    else:
        outcome = run_script(folder, "s.py", unit=0.02, limits=Limits(wall=60))
    assert outcome.returncode == 0, outcome.stderr
    tid, beside = outcome.stdout[0][1].split()
    return outcome, int(tid), float(beside)


def _whole_run(outcome: Outcome, tid: int) -> tuple[float, float]:
    looks = outcome.threads[tid]
    return outcome.thread_between(tid, looks[0][0], looks[-1][0])


@needs_root
def test_a_thread_the_machine_kept_from_its_core_shows_its_wait(tmp_path: Path) -> None:
    outcome, tid, _ = _run(tmp_path, nice=0, sibling=False, loaded=True)
    kept, ran = _whole_run(outcome, tid)
    # Its 0.2 s of work on a core shared evenly with the loop took about as long again in
    # waits. What it ran is read to the nanosecond.
    assert 0.1 < kept < outcome.wall, kept
    assert 0.2 <= ran < 0.2 + 0.01, ran
    # And the main thread, asleep in join, waited for none of it.
    assert outcome.waited < 0.05, outcome.waited


@needs_root
def test_a_thread_kept_waiting_by_its_own_sibling_is_not_the_machines_doing(
    tmp_path: Path
) -> None:
    outcome, tid, beside = _run(tmp_path, nice=0, sibling=True, loaded=False)
    looks = outcome.threads[tid]
    waited = looks[-1][1] - looks[0][1]
    kept, _ = _whole_run(outcome, tid)
    # Sharing the core, it waited while its sibling ran; on a loaded machine the load adds
    # waits of its own, which stay forgiven. What the sibling ran while it worked does not.
    assert beside > 0.02 and waited > 0.02, (beside, waited)
    assert waited - kept >= min(waited, beside) - 1e-6, (waited, kept, beside)


@needs_root
@pytest.mark.parametrize("nice", [1, 19])
def test_a_thread_that_gave_its_share_away_is_not_watched(tmp_path: Path, nice: int) -> None:
    outcome, tid, _ = _run(tmp_path, nice=nice, sibling=False, loaded=True)
    assert tid not in outcome.threads
    assert outcome.thread_between(tid, 0.0, outcome.origin + outcome.wall) == (0.0, 0.0)


CAL = Calibration("fork", startup=0.002, launch=0.0005, pool=0.01, jitter=0.0001, cores=2)
TOL = 0.005
UNIT = 0.02
MAIN = 1
Look = tuple[float, float, float, float]


def _second_thread_late(threads: dict[int, tuple[Look, ...]], *, pid: int = MAIN,
                        start: float = 0.042, claimed: float = 0.0) -> Observed:
    """The lesson's ex2 in two threads (ids 5 and 6) of process ``pid``, the second's sleep
    begun at ``start``, 40 ms after the first's unless told: later than starting a thread
    takes, unless the machine kept it from a core. The grader's looks at the threads are
    ``threads``; ``claimed`` is the wait for a core the script's records say it had."""
    tasks = [Interval(None, UNIT, pid, 0.002, 0.002 + UNIT, tid=5),
             Interval(None, UNIT, pid, start, start + UNIT, tid=6, waited=claimed)]
    rec = Recording(intervals=tasks, api=["Thread.start", "Thread.start"],
                    launches=[0.001, 0.0015], waits=[start + UNIT], started=0.0, main=MAIN)
    outcome = Outcome(returncode=0, wall=start + UNIT + 0.01, origin=0.0, recording=rec,
                      main_pid=MAIN, threads=threads)
    return Observed.of("processes", (1, 1), UNIT, outcome)


def _verdict(threads: dict[int, tuple[Look, ...]], *, pid: int = MAIN) -> str:
    check = timing(_second_thread_late(threads, pid=pid), CAL, TOL, 0.01, 1)
    assert check.status == "pass" or "the tasks' sleeps took more time than the schedule " \
        "allows" in check.message, check.message
    return check.status


# Thread 6, born after the first look, kept from its first run for 36 ms while the rest of
# the run ran 1 ms, ran 0.2 ms itself: starting a thread takes that.
_KEPT = ((0.001, 0.0, 0.0, 0.010), (0.044, 0.036, 0.0002, 0.011), (0.07, 0.036, 0.0003, 0.011))


def test_a_thread_the_machine_kept_from_its_first_run_is_not_blamed_for_starting_late(
) -> None:
    assert _verdict({}) == "fail"
    check = timing(_second_thread_late({6: _KEPT}), CAL, TOL, 0.01, 1)
    assert check.status == "pass", check.message
    # Kept 10 ms only (9 once the rest of the run's 1 ms is taken off), it is still late,
    # and told what was allowed for.
    short = tuple((t, min(w, 0.01), ran, o) for t, w, ran, o in _KEPT)
    check = timing(_second_thread_late({6: short}), CAL, TOL, 0.01, 1)
    assert check.status == "fail"
    assert "; 0.009s of it a thread of the main process spent waiting for a core before its " \
        "task" in check.message


def test_a_thread_late_by_its_own_doing_or_by_its_runs_is_still_late() -> None:
    # It worked 20 ms before its sleep: on a busy machine it waits for a core by choice.
    worked = tuple((t, w, ran + (0.02 if t > 0.04 else 0.0), o) for t, w, ran, o in _KEPT)
    assert _verdict({6: worked}) == "fail"
    # The rest of the run ran 36 ms meanwhile (a sibling thread, a busy child): its doing.
    crowded = tuple((t, w, ran, o + (0.036 if t > 0.04 else 0.0)) for t, w, ran, o in _KEPT)
    assert _verdict({6: crowded}) == "fail"
    # The wait was another thread's, not the one that ran the late sleep.
    assert _verdict({5: _KEPT}) == "fail"
    # The late sleep was not in the main process: its threads are not the ones looked at.
    assert _verdict({6: _KEPT}, pid=MAIN + 1) == "fail"
    # A wait the thread had done before the first sleep began excuses nothing.
    before = ((0.0, 0.0, 0.0, 0.010), (0.001, 0.036, 0.0002, 0.011),
              (0.07, 0.036, 0.0003, 0.011))
    assert _verdict({6: before}) == "fail"


def test_a_thread_the_machine_kept_from_its_first_run_does_not_cost_the_overlap() -> None:
    # Its sleep began 30 ms after the first's, once that one had ended: no overlap at all.
    assert overlap(_second_thread_late({}, start=0.032), CAL, TOL, 1).status == "fail"
    # The grader saw it wait 30 ms for its first core: without that, they overlapped.
    kept = ((0.001, 0.0, 0.0, 0.010), (0.034, 0.030, 0.0002, 0.010),
            (0.07, 0.030, 0.0003, 0.010))
    check = overlap(_second_thread_late({6: kept}, start=0.032), CAL, TOL, 1)
    assert check.status == "skip", check.message
    assert "not judged: a task's thread waited for a core before it" in check.message
    # What the script's own records say it waited is never taken.
    forged = _second_thread_late({}, start=0.032, claimed=0.03)
    assert overlap(forged, CAL, TOL, 1).status == "fail"
    assert timing(forged, CAL, TOL, 0.01, 1).status == "fail"
