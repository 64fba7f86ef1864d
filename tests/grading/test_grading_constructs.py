"""Scripts written other ways than the reference: their own start method, other ways to read
results, other constructs, and when a run is measured a second time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from grading_support import (
    FAST,
    checks_of,
    course,
    fast_assignment,
    message_of,
    needs_root,
    run_processes,
    statuses,
    submission,
)

from pytest_sleepbench.grading.assignment import Assignment, Exercise, parse
from pytest_sleepbench.grading.checks import (
    Check,
    late,
    late_only,
    with_earlier,
)
from pytest_sleepbench.grading.grade import discover, grade_exercise
from pytest_sleepbench.grading.sandbox import REIMPORT, Limits, run_script

TASK = """\
    import time

    def task(seconds):
        print(f"sleeping {seconds}")
        time.sleep(seconds)
        return seconds
"""


def _exercise(assignment: Assignment, ident: str) -> Exercise:
    return next(e for e in assignment.exercises if e.id == ident)


@needs_root
def test_a_script_that_chooses_spawn_itself_is_judged_by_spawn_costs(tmp_path: Path) -> None:
    # The grader's own start method is fork; ten spawn starts cost far more than ten forks,
    # and correct code that asks for spawn must not lose points for it.
    assignment = fast_assignment('start_method = "fork"')
    folder = submission(tmp_path / "own", {"ex2_1_process_loop.py": TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=task, args=(1,)) for _ in range(10)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex2_1"), assignment)
    assert entry["status"] == "pass", [
        message_of(entry, name) for name, status in statuses(entry).items() if status == "fail"]
    assert not run_processes()


@needs_root
def test_as_completed_read_without_result_still_gives_the_order(tmp_path: Path) -> None:
    assignment = fast_assignment()
    folder = submission(tmp_path / "futures", {"ex3_2_as_completed.py": TASK + """\
    import concurrent.futures as cf

    if __name__ == "__main__":
        with cf.ProcessPoolExecutor() as ex:
            futures = [ex.submit(task, s) for s in (5, 4, 3, 2, 1)]
            for f in cf.as_completed(futures):
                print(f)  # the future itself, never its result
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex3_2"), assignment)
    assert statuses(entry)["order"] == "pass", entry["checks"]


@needs_root
def test_map_with_a_chunksize_runs_as_the_script_asks(tmp_path: Path) -> None:
    assignment = fast_assignment()
    folder = submission(tmp_path / "chunks", {"ex3_3_map.py": TASK + """\
    import concurrent.futures as cf

    if __name__ == "__main__":
        with cf.ProcessPoolExecutor() as ex:
            print(list(ex.map(task, [5, 4, 3, 2, 1], chunksize=1)))
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex3_3"), assignment)
    assert entry["status"] == "pass", [c for c in checks_of(entry) if c["status"] == "fail"]


@needs_root
def test_multiprocessing_pool_is_named_not_called_nothing(tmp_path: Path) -> None:
    assignment = fast_assignment()
    folder = submission(tmp_path / "pool", {"ex3_3_map.py": TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        with mp.Pool() as pool:
            print(pool.map(task, [5, 4, 3, 2, 1]))
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex3_3"), assignment)
    seen = statuses(entry)
    assert seen["api"] == "fail"
    assert "multiprocessing.Pool" in message_of(entry, "api")
    assert seen["order"] == "skip"
    assert "multiprocessing.Pool" in message_of(entry, "order")
    assert seen["uses_processes"] == "pass" and seen["overlap"] == "pass"


@needs_root
def test_children_that_die_on_an_unguarded_script_fail_main_guard(tmp_path: Path) -> None:
    assignment = fast_assignment('start_method = "forkserver"')
    folder = submission(tmp_path / "unguarded", {"ex2_processes.py": TASK + """\
    import multiprocessing as mp

    p1 = mp.Process(target=task, args=(1,))
    p2 = mp.Process(target=task, args=(1,))
    p1.start()
    p2.start()
    p1.join()
    p2.join()
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex2"), assignment)
    assert statuses(entry)["main_guard"] == "fail"
    assert 'if __name__ == "__main__":' in message_of(entry, "main_guard")
    assert "stderr ends with" in message_of(entry, "overlap")
    assert entry["score"] == 0
    assert not run_processes()


@needs_root
def test_a_serial_run_in_disguise_keeps_its_overlap_verdict_if_measured_again(
    tmp_path: Path
) -> None:
    # Its overlap check fails on structure, so no second measurement can change that.
    # At the default unit: at 20 ms, one unit of two-task work is about what the spread's
    # margins add under load, so timing alone may not tell (overlap still does).
    assignment = dataclasses.replace(fast_assignment(), unit=0.05)
    folder = submission(tmp_path / "disguise", {"ex2_processes.py": TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        for _ in range(2):
            p = mp.Process(target=task, args=(1,))
            p.start()
            p.join()
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex2"), assignment)
    seen = statuses(entry)
    assert seen["overlap"] == "fail"
    assert "waited for a task before starting the next" in message_of(entry, "overlap")
    # Its sleeps spread over both units; on a quiet machine timing sees that too, but under
    # load the calibrated margins approach one unit of two-task work. A late timing verdict
    # is measured again before it counts, and says so.
    if seen["timing"] == "fail" and "took more time" in message_of(entry, "timing"):
        assert "first attempt" in message_of(entry, "timing")


def test_a_verdict_load_can_explain_earns_a_second_measurement() -> None:
    late_wall = Check("timing", "fail", "timing: the script took more time than the schedule "
                      "allows", late=True)
    late_order = Check("order", "fail", "order: tasks did not finish in an order the schedule "
                       "allows", late=True)
    early = Check("timing", "fail", "timing: the script took less time than the schedule allows")
    structural = Check("overlap", "fail", "overlap: ...")
    passed = [Check("runs", "pass"), Check("overlap", "pass"), Check("order", "skip")]
    assert late_only([*passed, late_wall]) and late([*passed, late_wall])
    assert late_only([*passed, late_wall, late_order])
    assert not late([*passed, early]) and not late_only([*passed, early])
    assert not late([*passed, Check("timing", "pass")])
    assert not late_only([*passed, Check("timing", "pass")])
    # Measured again, but the structural failure stands: only the late verdicts are redone.
    assert late([structural, late_wall]) and not late_only([structural, late_wall])
    assert not late_only([*passed, late_wall, Check("order", "fail", "order: ...")])


def test_a_second_measurement_names_the_first_wall() -> None:
    failed = Check("timing", "fail", "timing: late\n  expected: at most 0.1s\n  observed: 0.2s")
    again = with_earlier([Check("runs", "pass"), failed], 0.25)
    assert again[0] == Check("runs", "pass")
    assert "observed: (the first attempt took 0.250s and was measured again) 0.2s" in (
        again[1].message)
    passed = with_earlier([Check("timing", "pass")], 0.25)[0]
    assert passed.status == "pass" and "first attempt took 0.250s" in passed.message


def test_a_glob_into_folders_still_grades_a_class_by_student(tmp_path: Path) -> None:
    text = FAST.format(extra="").replace('"ex1_serial*.py"', '"**/ex1_serial*.py"')
    assignment = parse(text, "deep.toml")
    submission(tmp_path / "class" / "amy" / "src", {"ex1_serial.py": TASK})
    submission(tmp_path / "class" / "bob", {"ex1_serial.py": TASK})
    assert [name for name, _ in discover(tmp_path / "class", assignment)] == ["amy", "bob"]
    learner = submission(tmp_path / "mine", {"ex1_serial.py": TASK})
    assert discover(learner, assignment) == [("mine", learner)]


def test_a_folder_with_nothing_to_grade_is_one_submission_with_every_file_missing(
    tmp_path: Path,
) -> None:
    folder = submission(tmp_path / "misnamed", {"exercise1.py": TASK})
    assert discover(folder, fast_assignment()) == [("misnamed", folder)]



@needs_root
def test_a_misnamed_file_is_named_in_the_missing_verdict(tmp_path: Path) -> None:
    assignment = fast_assignment()
    folder = submission(tmp_path / "erin", {"Ex2_Processes.py": TASK})
    entry = grade_exercise(folder, _exercise(assignment, "ex2"), assignment)
    assert entry["status"] == "missing"
    message = message_of(entry, "runs")
    assert "no file matching 'ex2_processes*.py'" in message
    assert "Ex2_Processes.py" in message


@needs_root
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_every_child_process_stamps_when_it_could_first_run(tmp_path: Path, method: str) -> None:
    folder = submission(tmp_path / method, {"ex2_processes.py": TASK + f"""\
    import multiprocessing as mp

    if __name__ == "__main__":
        ctx = mp.get_context("{method}")
        procs = [ctx.Process(target=task, args=(1,)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """})
    outcome = run_script(folder, "ex2_processes.py", unit=0.02, limits=Limits(wall=20))
    rec = outcome.recording
    assert outcome.returncode == 0, outcome.stderr
    assert rec.started is not None and outcome.main_pid not in rec.ready
    slept = {i.pid: i.start for i in rec.intervals}
    assert len(slept) == 2
    for pid, start in slept.items():
        born, ready = rec.ready[pid]
        assert rec.started < ready < start
        assert born is None  # a birth the script reports is not believed


@needs_root
def test_processes_started_late_by_their_parent_fail_timing_not_overlap(tmp_path: Path) -> None:
    # The parent spins for four units between the starts, so the second child cannot run its
    # task beside the first. It waited for no task, and a parent the machine preempted looks
    # the same from outside: overlap does not blame it, and the lost time is timing's to judge.
    # At 50 ms a unit, the calibrated stagger stays well inside a task even under load.
    assignment = parse(course("ex2").replace("unit = 0.02", "unit = 0.05"), "ex2.toml")
    folder = submission(tmp_path / "busy", {"ex2_processes.py": TASK + """\
    import multiprocessing as mp

    if __name__ == "__main__":
        procs = [mp.Process(target=task, args=(1,)) for _ in range(2)]
        for p in procs:
            p.start()
            spin_until = time.perf_counter() + 0.2
            while time.perf_counter() < spin_until:
                pass
        for p in procs:
            p.join()
    """})
    entry = grade_exercise(folder, _exercise(assignment, "ex2"), assignment)
    seen = statuses(entry)
    assert seen["overlap"] != "fail", entry["checks"]
    assert seen["timing"] == "fail"
    assert "the tasks' sleeps took more time than the schedule allows" in message_of(
        entry, "timing")


@needs_root
def test_every_child_of_the_main_guard_run_imports_the_script_afresh(tmp_path: Path) -> None:
    folder = submission(tmp_path / "imports", {"ex2_processes.py": """\
    import multiprocessing as mp
    import os
    import sys
    import time

    # One write a line, and nothing else printed: the children share the pipe.
    sys.stdout.write(f"imported as {__name__} in {os.getpid()}\\n")

    if __name__ == "__main__":
        mp.set_start_method("fork", force=True)  # the run keeps its own method regardless
        procs = [mp.Process(target=time.sleep, args=(1,)) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    """})
    for method, children in ((None, 0), (REIMPORT, 3)):
        outcome = run_script(folder, "ex2_processes.py", unit=0.02, limits=Limits(wall=20),
                             start_method=method)
        assert outcome.returncode == 0, outcome.stderr
        lines = [text for _, text in outcome.stdout if text]
        again = {line.split()[-1] for line in lines if "__mp_main__" in line}
        # The script sees its pids in its own pid namespace, where it has one.
        slept = {str(outcome.inner.get(i.pid, i.pid)) for i in outcome.recording.intervals}
        assert len(lines) == 1 + children and len(again) == children, lines
        assert again == (slept if children else set())
