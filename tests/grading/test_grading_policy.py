"""The grading policy without the sandbox: what each failed check costs, which sleeps count,
how many workers a parallel exercise owes, and the assignment keys that set them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import pytest
from grading_support import FAST

from pytest_sleepbench.core.calibrate import Calibration
from pytest_sleepbench.core.lesson import PATTERNS
from pytest_sleepbench.core.sink import Interval
from pytest_sleepbench.grading.assignment import AssignmentError, load, parse
from pytest_sleepbench.grading.checks import CHECKS, Check
from pytest_sleepbench.grading.grade import score
from pytest_sleepbench.grading.observed import Observed, Owed, per_task
from pytest_sleepbench.grading.outcome import Outcome
from pytest_sleepbench.grading.owed import default_pool, owed
from pytest_sleepbench.grading.plan import time_limit
from pytest_sleepbench.grading.policy import DEFAULT_SLEEPS, DEFAULT_WEIGHTS, floor
from pytest_sleepbench.grading.record import Recording
from pytest_sleepbench.grading.timed import order, overlap, timing

#: The checks that carry what each pattern teaches, failing alone.
LESSON = {"serial": ["uses_processes"], "processes": ["uses_processes", "overlap"],
          "process_loop": ["uses_processes", "overlap"], "submit": ["uses_processes", "overlap"],
          "as_completed": ["uses_processes", "overlap", "order"],
          "map": ["uses_processes", "overlap", "order"]}
#: The checks each pattern judges when nothing is skipped for the run's sake.
JUDGED = {p: [c for c in CHECKS if not (c == "order" and p not in ("map", "as_completed"))
              and not (c == "main_guard" and p == "serial")] for p in PATTERNS}


def _checks(pattern: str, failed: Sequence[str]) -> list[Check]:
    return [Check(name, "fail" if name in failed else "pass") for name in JUDGED[pattern]]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_missing_the_lesson_leaves_at_most_half_and_no_guard_three_quarters(
        pattern: str) -> None:
    for check in LESSON[pattern]:
        assert score(_checks(pattern, [check]), 10) <= 5, check
    if pattern != "serial":
        assert score(_checks(pattern, ["main_guard"]), 10) <= 7.5
    assert score(_checks(pattern, []), 10) == 10


def test_a_failed_check_costs_its_weight_and_a_skipped_one_nothing() -> None:
    threads = _checks("processes", ["api", "uses_processes"])
    assert score(threads, 10) == 3.0  # 10 * (1 - 0.2 - 0.5)
    skipped = [Check("overlap", "skip") if c.name == "overlap" else c
               for c in _checks("submit", ["timing"])]
    assert score(skipped, 10) == 8.0
    assert score(_checks("map", ["uses_processes", "overlap", "order"]), 10) == 0
    own = {**DEFAULT_WEIGHTS, "timing": 0.6}
    assert score(_checks("submit", ["timing"]), 10, own) == 4.0


def test_a_script_that_does_not_run_or_sleeps_nothing_scores_nothing() -> None:
    ran = _checks("serial", [])
    assert score(ran, 10, slept=False) == 0
    failed = [Check("runs", "fail"), *(Check(n, "skip") for n in CHECKS[1:])]
    assert score(failed, 10) == 0


def test_the_built_in_assignment_says_which_sleeps_count() -> None:
    default = load(None)
    assert {e.pattern: e.sleeps for e in default.exercises} == DEFAULT_SLEEPS
    assert DEFAULT_SLEEPS["as_completed"] == DEFAULT_SLEEPS["map"] == "exact"
    assert all(e.workers is None and e.weights == DEFAULT_WEIGHTS for e in default.exercises)
    listed = default.to_dict()["exercises"]
    assert isinstance(listed, list)
    assert listed[0]["sleeps"] == "any" and listed[0]["weights"] == DEFAULT_WEIGHTS


def test_weights_at_the_top_and_per_exercise_lay_over_the_defaults() -> None:
    text = FAST.format(extra="[weights]\ntiming = 0.3\ncleanup = 0\n").replace(
        'id = "ex3_3"\n', 'id = "ex3_3"\nweights = { order = 0.8 }\nsleeps = "any"\n'
        "workers = 3\n")
    exercises = {e.id: e for e in parse(text, "w.toml").exercises}
    assert exercises["ex1"].weights == {**DEFAULT_WEIGHTS, "timing": 0.3, "cleanup": 0.0}
    assert exercises["ex3_3"].weights == {**DEFAULT_WEIGHTS, "timing": 0.3, "cleanup": 0.0,
                                          "order": 0.8}
    assert (exercises["ex3_3"].sleeps, exercises["ex3_3"].workers) == ("any", 3)
    assert exercises["ex3_2"].sleeps == "exact"


_EXERCISE = "[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"unit = 1\n{_EXERCISE}sleeps = 'some'\n",
         "a.toml:7: sleeps must be \"exact\" or \"any\", got 'some'"),
        (f"unit = 1\n{_EXERCISE}sleeps = true\n", "a.toml:7: sleeps must be"),
        (f"unit = 1\n{_EXERCISE}workers = 0\n",
         "a.toml:7: workers must be a whole number of at least 1, got 0"),
        (f"unit = 1\n{_EXERCISE}workers = 1.5\n", "a.toml:7: workers must be a whole number"),
        (f"unit = 1\n{_EXERCISE}workers = true\n", "a.toml:7: workers must be a whole number"),
        (f"unit = 1\n{_EXERCISE.replace('map', 'serial')}workers = 2\n",
         "a.toml:7: workers does not apply to the serial pattern"),
        (f"unit = 1\n[weights]\noverlap = 0.5\nordr = 0.5\n{_EXERCISE}",
         "a.toml:4: unknown check 'ordr' in weights; weighted checks are main_guard, api"),
        (f"unit = 1\n{_EXERCISE}[weights]\ntiming = 1.5\n",
         "a.toml:8: the weight of timing must be a number from 0 to 1, got 1.5"),
        (f"unit = 1\nweights.order = nan\n{_EXERCISE}",
         "a.toml:2: the weight of order must be a number from 0 to 1, got nan"),
        (f"unit = 1\n[weights]\nruns = 0.5\n{_EXERCISE}",
         "a.toml:3: runs has no weight: a script that does not run scores 0"),
        (f"unit = 1\nweights = 0.5\n{_EXERCISE}",
         "a.toml:2: weights must be a table of check names and shares, got 0.5"),
        (f"unit = 1\n{_EXERCISE}weights = {{ overlap = -0.1 }}\n",
         "a.toml:7: the weight of overlap must be a number from 0 to 1, got -0.1"),
        (f"unit = 1\n{_EXERCISE}weights = {{ order = true }}\n",
         "a.toml:7: the weight of order must be a number from 0 to 1, got True"),
        (f"unit = 1\n{_EXERCISE}weights = [0.5]\n", "a.toml:7: weights must be a table"),
    ],
)
def test_policy_mistakes_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(AssignmentError) as error:
        parse(text, "a.toml")
    assert str(error.value).startswith(expected)


def test_what_a_script_slept_is_counted_by_task() -> None:
    # A pool task that sleeps twice is one task of both; other sleeps are tasks by themselves.
    tasks = [Interval(1, 0.01, 7, 0.0, 0.01), Interval(0, 0.03, 8, 0.0, 0.03),
             Interval(1, 0.02, 7, 0.01, 0.03)]
    assert per_task(tasks, 0.02) == (1.5, 1.5)
    assert floor((1, 2)) == 0.25 and floor((0.1, 2)) == 0.1


def test_a_script_that_picks_its_sleeps_has_room_for_them() -> None:
    assignment = parse(FAST.format(extra=""), "t.toml")
    ex = next(e for e in assignment.exercises if e.id == "ex2_1")
    exact = dataclasses.replace(ex, sleeps="exact")
    assert time_limit(ex, assignment, 0.05) - time_limit(exact, assignment, 0.05) == (
        pytest.approx(2 * 3 * 10 * assignment.unit))


def test_what_is_owed_comes_from_the_grader_not_the_script() -> None:
    assignment = parse(FAST.format(extra=""), "t.toml")
    by_id = {e.id: e for e in assignment.exercises}
    assert owed(by_id["ex1"], None).workers == 1
    assert owed(by_id["ex2_1"], None) == Owed(10, "the lesson starts a process a task, 10 at "
                                                  "once")
    pool = owed(by_id["ex3_2"], None)
    # What ProcessPoolExecutor() gets in this interpreter (3.13 counts the CPU affinity).
    count = getattr(os, "process_cpu_count", None) or os.cpu_count
    assert pool.workers == default_pool(None) == (count() or 1)
    assert pool.why == f"this machine gives a default pool {pool.workers}"
    assert owed(dataclasses.replace(by_id["ex3_2"], workers=3), None).why == (
        "the exercise owes 3 at once (`workers = 3` in the assignment)")


# Runs made by hand, on the clock of a machine that starts a process in 2 ms.
CAL = Calibration("fork", startup=0.002, launch=0.0005, pool=0.01, jitter=0.0001, cores=2)
TOL = 0.005
MAIN = 1
UNIT = 0.02
DEFAULT = Owed(2, "this machine gives a default pool 2")


def _pool_run(ready: dict[int, float], sleeps: Sequence[tuple[int, float]], *, size: int,
              named: Sequence[int], pattern: str = "submit", asked: Sequence[float] = (1, 1),
              sleeps_policy: str = "exact") -> Observed:
    """A pool run whose task ``k`` slept ``sleeps[k] = (pid, start)`` for its duration."""
    intervals = [Interval(k, d * UNIT, pid, start, start + d * UNIT)
                 for k, ((pid, start), d) in enumerate(zip(sleeps, asked, strict=True))]
    end = max(i.end for i in intervals)
    rec = Recording(intervals=intervals, api=["ProcessPoolExecutor", "ProcessPoolExecutor.submit"],
                    launches=[0.0005] * len(asked), waits=[end + 0.001], started=0.0, main=MAIN,
                    pools=[size], pool_workers=list(named),
                    ready={pid: (None, at) for pid, at in ready.items()})
    outcome = Outcome(returncode=0, wall=end + 0.01, origin=0.0, recording=rec, main_pid=MAIN)
    return Observed.of(pattern, asked, UNIT, outcome, sleeps=sleeps_policy, owed=DEFAULT)


def test_a_pool_of_one_worker_fails_overlap_however_its_tasks_ran() -> None:
    run = _pool_run({10: 0.001}, [(10, 0.002), (10, 0.022)], size=1, named=[10])
    check = overlap(run, CAL, TOL, 1)
    assert check.status == "fail"
    assert check.message.startswith(
        "overlap: your pool ran with 1 worker; this machine gives a default pool 2")
    # Naming a worker the grader never saw does not make the pool bigger.
    forged = _pool_run({10: 0.001}, [(10, 0.002), (10, 0.022)], size=2, named=[10, 99])
    assert "your pool ran with 1 worker" in overlap(forged, CAL, TOL, 1).message


def test_where_a_default_pool_has_one_worker_one_worker_is_all_that_is_owed() -> None:
    # Python 3.13 under `taskset -c 0`: ProcessPoolExecutor() starts one worker.
    run = _pool_run({10: 0.001}, [(10, 0.002), (10, 0.022)], size=1, named=[10])
    alone = dataclasses.replace(run, owed=Owed(1, "this machine gives a default pool 1"))
    assert overlap(alone, CAL, TOL, 1).status == "pass"


def test_a_default_pool_whose_second_worker_the_machine_started_late_is_not_blamed() -> None:
    # Worker 11 could first run after both tasks had been taken: the machine's doing.
    late = _pool_run({10: 0.001, 11: 0.030}, [(10, 0.002), (10, 0.022)], size=2,
                     named=[10, 11])
    check = overlap(late, CAL, TOL, 1)
    assert check.status == "skip", check.message
    assert "not judged" in check.message and "not held against the script" in check.message
    # Ready in time and idle all the same: the tasks were kept apart by the script.
    idle = _pool_run({10: 0.001, 11: 0.002}, [(10, 0.002), (10, 0.022)], size=2,
                     named=[10, 11])
    assert overlap(idle, CAL, TOL, 1).status == "fail"
    both = _pool_run({10: 0.001, 11: 0.002}, [(10, 0.002), (11, 0.003)], size=2,
                     named=[10, 11])
    assert overlap(both, CAL, TOL, 1).status == "pass"


def test_under_any_sleeps_too_short_to_overlap_fail_overlap_and_timing() -> None:
    tiny = _pool_run({10: 0.001, 11: 0.002}, [(10, 0.002), (11, 0.0021)], size=2,
                     named=[10, 11], asked=(0.001, 0.001), sleeps_policy="any")
    # Built as the script's own run would be: the exercise's durations are the lesson's.
    tiny = dataclasses.replace(tiny, asked=(1.0, 1.0))
    check = overlap(tiny, CAL, TOL, 1)
    assert check.status == "fail"
    assert "the tasks slept too little for their overlap to show" in check.message
    slow = timing(tiny, CAL, TOL, 0.01, 1)
    assert slow.status == "fail"
    assert "at least 2 task(s), of any duration from 0.25 tutorial second(s) up" in (
        slow.message)


def _waits(seconds: float) -> tuple[tuple[float, float, float], ...]:
    """The grader's looks at a main thread that waited ``seconds`` for a core, running none."""
    return ((0.0, 0.0, 0.0), (0.13, seconds, 0.0))


def test_time_the_main_process_waited_for_a_core_is_forgiven_and_no_more() -> None:
    run = _pool_run({10: 0.001, 11: 0.001}, [(10, 0.002), (11, 0.002)], size=2,
                    named=[10, 11])
    # Its exit came 0.1 s after the sleeps: slower than any margin of this machine allows...
    slow = dataclasses.replace(run, outcome=dataclasses.replace(run.outcome, wall=0.13))
    assert timing(slow, CAL, TOL, 0.01, 1).status == "fail"
    # ...unless the grader saw the main process wait that long for a core.
    starved = dataclasses.replace(
        slow, outcome=dataclasses.replace(slow.outcome, samples=_waits(0.1)))
    check = timing(starved, CAL, TOL, 0.01, 1)
    assert check.status == "pass", check.message
    short = dataclasses.replace(
        slow, outcome=dataclasses.replace(slow.outcome, samples=_waits(0.03)))
    message = timing(short, CAL, TOL, 0.01, 1).message
    assert "0.030s more, which the main process spent waiting for a core" in message


def _launched_late(samples: Sequence[tuple[float, float, float]]) -> Observed:
    """Two processes, the second's task begun 40 ms after the first's: later than this
    machine's start-up allows, unless the main process was kept from a core meanwhile."""
    run = _pool_run({10: 0.001, 11: 0.041}, [(10, 0.002), (11, 0.042)], size=2,
                    named=[10, 11], pattern="processes")
    outcome = dataclasses.replace(run.outcome, samples=tuple(samples))
    return dataclasses.replace(run, outcome=outcome)


def test_sleeps_spread_by_a_main_process_kept_from_a_core_while_it_started_them_pass() -> None:
    late = timing(_launched_late([]), CAL, TOL, 0.01, 1)
    assert late.status == "fail"
    assert "the tasks' sleeps took more time than the schedule allows" in late.message
    # The grader saw the main thread wait 36 ms for a core between the two starts, having
    # run 1 ms: starting a process takes that, and the wait was the machine's.
    kept = [(0.0, 0.0, 0.010), (0.002, 0.0, 0.0105), (0.042, 0.036, 0.0115), (0.07, 0.036, 0.012)]
    check = timing(_launched_late(kept), CAL, TOL, 0.01, 1)
    assert check.status == "pass", check.message
    # Kept waiting 10 ms only, it is still late, and told what was allowed for.
    short = [(0.0, 0.0, 0.010), (0.002, 0.0, 0.0105), (0.042, 0.01, 0.0115), (0.07, 0.01, 0.012)]
    message = timing(_launched_late(short), CAL, TOL, 0.01, 1).message
    assert "; 0.010s of it the main process spent waiting for a core while it started them" in (
        message)


def test_sleeps_spread_by_a_main_process_that_worked_between_the_starts_still_fail() -> None:
    # The same wait, but the main thread ran 20 ms between the starts: a spin by the clock
    # on a busy machine waits for a core too, for as long as it holds its child back.
    spun = [(0.0, 0.0, 0.010), (0.002, 0.0, 0.0105), (0.042, 0.036, 0.0305), (0.07, 0.036, 0.031)]
    check = timing(_launched_late(spun), CAL, TOL, 0.01, 1)
    assert check.status == "fail"
    assert "the tasks' sleeps took more time than the schedule allows" in check.message
    # And a wait before the first start or after the last is no excuse for the gap.
    outside = [(0.0, 0.0, 0.010), (0.002, 0.036, 0.0105), (0.042, 0.036, 0.0115),
               (0.07, 0.072, 0.012)]
    assert timing(_launched_late(outside), CAL, TOL, 0.01, 1).status == "fail"


def test_a_spin_between_the_starts_is_not_excused_by_start_ups_the_load_made_slow() -> None:
    # One core shared with a neighbour: a 40 ms spin by the clock runs 20 ms and waits 20.
    # Start-ups that the load stretched to 10 ms do not make those 20 ms of work a launch:
    # what the main thread runs per start is CPU time, and the load does not stretch that.
    loaded = dataclasses.replace(CAL, startup=0.01)
    spun = [(0.0, 0.0, 0.010), (0.002, 0.0, 0.0105), (0.042, 0.02, 0.0305), (0.07, 0.02, 0.031)]
    check = timing(_launched_late(spun), loaded, TOL, 0.01, 1)
    assert check.status == "fail"
    assert "the tasks' sleeps took more time than the schedule allows" in check.message
    # The same wait beside a main thread that ran 1 ms is the machine's, and forgiven.
    kept = [(0.0, 0.0, 0.010), (0.002, 0.0, 0.0105), (0.042, 0.02, 0.0115), (0.07, 0.02, 0.012)]
    assert timing(_launched_late(kept), loaded, TOL, 0.01, 1).status == "pass"


def _threads_back_to_back(samples: Sequence[tuple[float, float, float]]) -> Observed:
    """Two tasks one thread of the main process ran back to back, the second submitted just
    as the first ended: a thread pool hands it to the thread already free."""
    run = _pool_run({}, [(MAIN, 0.002), (MAIN, 0.002 + UNIT)], size=2, named=[])
    recording = dataclasses.replace(run.outcome.recording, pools=[],
                                    launches=[0.001, 0.002 + UNIT])
    outcome = dataclasses.replace(run.outcome, recording=recording, samples=tuple(samples))
    return dataclasses.replace(run, outcome=outcome)


def test_a_submission_the_machine_kept_the_main_thread_from_making_in_time_is_not_judged(
) -> None:
    alone = overlap(_threads_back_to_back([]), CAL, TOL, 1)
    assert alone.status == "fail", alone.message
    assert "the tasks ran one after another" in alone.message
    # The grader saw the main thread wait for a core nearly all the time from the first
    # task's start to the second submission, running none of it.
    launch = 0.002 + UNIT
    kept = [(0.0, 0.0, 0.01), (launch, launch - 0.002, 0.01), (launch + 0.01, launch, 0.011)]
    check = overlap(_threads_back_to_back(kept), CAL, TOL, 1)
    assert check.status == "skip", check.message
    assert "the main process waited for a core while it launched the tasks" in check.message
    # The same wait seen before the first task began excuses nothing.
    early = [(0.0, 0.0, 0.01), (0.001, launch - 0.002, 0.01), (launch + 0.01, launch, 0.011)]
    assert overlap(_threads_back_to_back(early), CAL, TOL, 1).status == "fail"
    # Nor does one beside 11 ms the main thread ran itself, more than a launch takes.
    spun = [(0.0, 0.0, 0.0), (0.002, 0.0, 0.001), (launch, launch - 0.004, 0.012),
            (launch + 0.01, launch, 0.013)]
    assert overlap(_threads_back_to_back(spun), CAL, TOL, 1).status == "fail"
    # Run between two looks of which only the later one falls after the first task began,
    # those 11 ms may have gone into starting it: the grader cannot tell, and does not blame.
    straddled = [(0.0, 0.0, 0.001), (launch, launch - 0.002, 0.012),
                 (launch + 0.01, launch, 0.013)]
    assert overlap(_threads_back_to_back(straddled), CAL, TOL, 1).status == "skip"


def _as_completed(sleeps: Sequence[tuple[int, float, float]]) -> Observed:
    """The lesson's ``as_completed`` over two pool workers: task ``k`` (of 5, 4, 3, 2, 1
    units) slept ``sleeps[k] = (pid, start, end)``, and the results came back as they ended."""
    asked = (5, 4, 3, 2, 1)
    intervals = [Interval(k, d * UNIT, pid, start, end)
                 for k, ((pid, start, end), d) in enumerate(zip(sleeps, asked, strict=True))]
    rec = Recording(intervals=intervals,
                    api=["ProcessPoolExecutor", "ProcessPoolExecutor.submit", "as_completed"],
                    delivered=sorted(range(len(asked)), key=lambda k: sleeps[k][2]),
                    launches=[0.0005] * len(asked), waits=[0.2], started=0.0, main=MAIN,
                    pools=[2], pool_workers=[10, 11],
                    ready={10: (None, 0.001), 11: (None, 0.001)})
    outcome = Outcome(returncode=0, wall=0.2, origin=0.0, recording=rec, main_pid=MAIN)
    return Observed.of("as_completed", asked, UNIT, outcome, owed=DEFAULT)


def test_a_sleep_that_woke_late_may_turn_the_order_of_later_finishes() -> None:
    # Worker 10's 5 woke 25 ms late, so worker 11, done with the 4 and the 3, was not first
    # free: the 2 went to worker 10 after all, and the 1 finished before it. A late wake-up
    # is the machine's, and the order is the one the executor makes of it.
    overslept = [(10, 0.002, 0.127), (11, 0.002, 0.082), (11, 0.082, 0.142),
                 (10, 0.127, 0.167), (11, 0.142, 0.162)]
    check = order(_as_completed(overslept), TOL)
    assert check.status == "pass", check.message
    # The same finishes from a worker that slept the 5 on time and then sat idle for 25 ms
    # before taking the 2 (a task that waits before it sleeps): that delay is the code's.
    idled = [(10, 0.002, 0.102), *overslept[1:]]
    held = order(_as_completed(idled), TOL)
    assert held.status == "fail"
    assert "tasks did not finish in an order the schedule allows" in held.message
