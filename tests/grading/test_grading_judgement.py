"""Real scripts graded in the sandbox against the policy: parallelism owed by the grader, not
the script; sleeps the script may choose, and sleeps it may not; points that follow what each
exercise teaches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from grading_support import (
    EXAMPLES,
    checks_of,
    fast_assignment,
    grade_script,
    message_of,
    needs_root,
    run_processes,
    statuses,
    submission,
)

from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.owed import default_pool

pytestmark = needs_root

TASK = """\
    import time

    def task(seconds):
        time.sleep(seconds)
        return seconds
"""

#: A parallel pattern is owed what a default pool gets here; on one CPU (Python 3.13's
#: ProcessPoolExecutor counts the affinity) that is a single worker, which owes no overlap.
many_cpus = pytest.mark.skipif(default_pool(None) < 2,
                               reason="a default pool has one worker on this grader")


def _score(entry: dict[str, object]) -> float:
    value = entry["score"]
    assert isinstance(value, float | int)
    return float(value)


def _failed(entry: dict[str, object]) -> set[str]:
    return {name for name, status in statuses(entry).items() if status == "fail"}


@many_cpus
@pytest.mark.parametrize("ident", ["ex3_1", "ex3_2"])
def test_a_pool_limited_to_one_worker_fails_overlap_and_loses_half(
        tmp_path: Path, ident: str) -> None:
    source = TASK + """\
    import concurrent.futures as cf

    if __name__ == "__main__":
        with cf.ProcessPoolExecutor(max_workers=1) as pool:
            futures = [pool.submit(task, s) for s in SLEEPS]
            for done in cf.as_completed(futures):
                print(done.result())
    """.replace("SLEEPS", "(1, 1)" if ident == "ex3_1" else "(5, 4, 3, 2, 1)")
    entry = grade_script(tmp_path / "one", ident, source, 20)
    assert _failed(entry) == {"overlap"}, entry["checks"]
    message = message_of(entry, "overlap")
    assert message.startswith(
        "overlap: your pool ran with 1 worker; this machine gives a default pool "
        f"{default_pool(None)}"), message
    assert entry["score"] == 5.0


def test_an_assignment_can_owe_fewer_workers(tmp_path: Path) -> None:
    source = TASK + """\
    import concurrent.futures as cf

    if __name__ == "__main__":
        with cf.ProcessPoolExecutor(max_workers=1) as pool:
            one, two = pool.submit(task, 1), pool.submit(task, 1)
            print(one.result(), two.result())
    """
    entry = grade_script(tmp_path / "owed", "ex3_1", source, 20, workers=1)
    assert entry["status"] == "pass", [c for c in checks_of(entry) if c["status"] == "fail"]
    assert entry["score"] == 10


def test_one_process_for_both_tasks_fails_overlap_as_the_lesson_owes_two(
        tmp_path: Path) -> None:
    source = TASK + """\
    import multiprocessing as mp

    def both():
        task(1)
        task(1)

    if __name__ == "__main__":
        p = mp.Process(target=both)
        p.start()
        p.join()
    """
    entry = grade_script(tmp_path / "alone", "ex2", source, 20)
    assert "overlap" in _failed(entry)
    assert message_of(entry, "overlap").startswith(
        "overlap: your script ran its tasks in 1 process; the lesson starts a process a task, "
        "2 at once")
    assert _score(entry) <= 5


@pytest.mark.parametrize(("example", "most"), [
    ("threads", 5.0),              # processes are the lesson: at most half
    ("serial_in_disguise", 5.0),   # so is overlap
    ("no_main_guard", 7.5),        # the guard: at most three quarters
])
def test_points_follow_the_lesson(tmp_path: Path, example: str, most: float) -> None:
    source = (EXAMPLES / example / "ex2_processes.py").read_text()
    entry = grade_script(tmp_path / example, "ex2", source, 20)
    assert 0 < _score(entry) <= most, entry["checks"]


def test_ten_processes_of_their_own_length_pass_under_any(tmp_path: Path) -> None:
    # A popular public copy of exercise 2.1 sleeps 1.5 s in each process.
    source = TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        procs = [mp.Process(target=task, args=(1.5,)) for _ in range(10)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """
    entry = grade_script(tmp_path / "longer", "ex2_1", source, 20)
    assert entry["status"] == "pass", [message_of(entry, n) for n in _failed(entry)]
    assert entry["score"] == 10


def test_a_serial_run_of_the_user_s_own_intervals_passes_under_any(tmp_path: Path) -> None:
    entry = grade_script(tmp_path / "own", "ex1", TASK + "    task(0.5)\n    task(3)\n", 20)
    assert entry["status"] == "pass", [message_of(entry, n) for n in _failed(entry)]


def test_a_map_over_other_durations_fails_timing_under_exact(tmp_path: Path) -> None:
    source = TASK + """\
    import concurrent.futures as cf

    if __name__ == "__main__":
        with cf.ProcessPoolExecutor() as pool:
            print(list(pool.map(task, [1, 1, 1, 1, 1])))
    """
    entry = grade_script(tmp_path / "other", "ex3_3", source, 20)
    assert _failed(entry) == {"timing"}, entry["checks"]
    assert "expected: sleeps of 5, 4, 3, 2, 1 tutorial second(s)" in message_of(
        entry, "timing")
    assert entry["score"] == 8.0


def test_tiny_sleeps_under_any_pass_neither_timing_nor_overlap(tmp_path: Path) -> None:
    # Ten processes that each sleep a thousandth of a tutorial second: what they slept owes
    # no overlap the machine could show, so the model must not make that a pass.
    source = TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        procs = [mp.Process(target=task, args=(0.001,)) for _ in range(10)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """
    entry = grade_script(tmp_path / "tiny", "ex2_1", source, 20)
    assert {"timing", "overlap"} <= _failed(entry), entry["checks"]
    assert "too little for their overlap to show" in message_of(entry, "overlap")
    assert _score(entry) <= 3


def test_tiny_serial_sleeps_fail_timing(tmp_path: Path) -> None:
    entry = grade_script(tmp_path / "tiny", "ex1", TASK + "    task(0.001)\n    task(0.001)\n",
                         20)
    assert _failed(entry) == {"timing"}
    assert "of any duration from 0.25 tutorial second(s) up" in message_of(entry, "timing")


def test_fewer_tasks_than_the_exercise_fail_under_any(tmp_path: Path) -> None:
    source = TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        procs = [mp.Process(target=task, args=(1,)) for _ in range(5)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """
    entry = grade_script(tmp_path / "five", "ex2_1", source, 20)
    assert {"timing", "uses_processes", "api"} <= _failed(entry), entry["checks"]
    assert "at least 10 task(s)" in message_of(entry, "timing")
    assert _score(entry) <= 1


def test_processes_that_sleep_nothing_score_nothing(tmp_path: Path) -> None:
    source = TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        procs = [mp.Process(target=print, args=("no sleep",)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """
    entry = grade_script(tmp_path / "none", "ex2", source, 20)
    assert entry["score"] == 0
    assert "timing" in _failed(entry)


@many_cpus
def test_a_one_worker_pool_that_names_more_workers_still_fails_overlap(tmp_path: Path) -> None:
    # The pool's size and its workers are the main process's word: it claims a default pool,
    # naming a process of its own that took no task and one that does not exist. The decoy
    # was ready all along, so the judge owes the overlap it could have given; at 200 ms a
    # unit, as a loaded machine's start-ups (tens of ms) can leave shorter tasks nothing owed.
    source = TASK + """\
    import concurrent.futures as cf
    import multiprocessing as mp
    import sitecustomize as hook

    def idle(up, done):
        up.set()
        done.wait()

    if __name__ == "__main__":
        up, done = mp.Event(), mp.Event()
        decoy = mp.Process(target=idle, args=(up, done))
        decoy.start()
        up.wait()  # ready before the pool exists, so never too late to take a task
        hook._event("pool", workers=8)
        hook._event("worker", pid=decoy.pid)
        hook._event("worker", pid=999_999)
        with cf.ProcessPoolExecutor(max_workers=1) as pool:
            one, two = pool.submit(task, 1), pool.submit(task, 1)
            print(one.result(), two.result())
        done.set()
        decoy.join()
    """
    assignment = dataclasses.replace(fast_assignment("timeout = 20"), unit=0.2)
    ex = next(e for e in assignment.exercises if e.id == "ex3_1")
    entry = grade_exercise(submission(tmp_path / "claims", {"ex3_1_submit.py": source}), ex,
                           assignment)
    assert statuses(entry)["overlap"] == "fail", entry["checks"]
    assert _score(entry) <= 5
    assert not run_processes()
