"""Hostile and broken submissions: each gets a clear verdict, the grader survives, and no
process of the run outlives it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from grading_support import ROOT, fast_assignment, grade_script, run_processes, submission
from session_support import PATIENCE

from pytest_sleepbench.grading.assignment import Exercise
from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.sandbox import Limits, run_script

pytestmark = pytest.mark.skipif(not ROOT, reason="the sandbox isolates runs by user id as root")


def _grade(tmp_path: Path, ident: str, source: str, **extra: object) -> dict[str, str]:
    entry = grade_script(tmp_path / "student", ident, source, 1.5, **extra)
    checks = entry["checks"]
    assert isinstance(checks, list)
    return {c["name"]: c["status"] for c in checks} | {"_messages": "\n".join(
        c["message"] for c in checks)}


def _name(ex: Exercise) -> str:
    return ex.file.replace("*", "")


def test_a_hang_is_killed_at_the_limit(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex2", """\
        import multiprocessing, time
        def nap(s):
            time.sleep(s)
            while True:
                pass
        if __name__ == "__main__":
            ps = [multiprocessing.Process(target=nap, args=(1,)) for _ in range(2)]
            [p.start() for p in ps]
            [p.join() for p in ps]
    """)
    assert verdict["runs"] == "fail"
    assert "did not finish in time" in verdict["_messages"]
    assert verdict["cleanup"] == "skip"


def test_an_output_flood_is_cut_off(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", """\
        while True:
            print("x" * 10000)
    """)
    assert verdict["runs"] == "fail"
    assert "more output than allowed" in verdict["_messages"]


def test_orphaned_and_setsid_children_fail_cleanup_and_die(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex2", """\
        import multiprocessing, os, subprocess, sys, time
        def nap(s):
            time.sleep(s)
        if __name__ == "__main__":
            ps = [multiprocessing.Process(target=nap, args=(1,)) for _ in range(2)]
            [p.start() for p in ps]
            [p.join() for p in ps]
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                time.sleep(600)
                os._exit(0)
    """)
    assert verdict["runs"] == "pass"
    assert verdict["cleanup"] == "fail"
    assert "still alive" in verdict["_messages"]


def test_a_fork_storm_meets_the_process_cap(tmp_path: Path) -> None:
    folder = submission(tmp_path / "storm", {"storm.py": """\
        import os, time
        made = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
                made += 1
        except OSError as error:
            print("stopped after", made, error)
            raise SystemExit(3)
    """})
    outcome = run_script(folder, "storm.py", unit=1.0, limits=Limits(wall=10, processes=32))
    assert outcome.returncode == 3
    made = int(next(line for _, line in outcome.stdout if "stopped" in line).split()[2])
    assert made < 32
    assert len(outcome.leftovers) >= made
    assert not run_processes()


def test_the_next_run_has_its_whole_process_cap_after_a_fork_storm(tmp_path: Path) -> None:
    # The storm's processes die orphaned; until something reaps them they still count against
    # the cap of the user id that every run of this grader process shares.
    folder = submission(tmp_path / "storm", {"storm.py": """\
        import os, time
        for _ in range(500):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                if os.fork() == 0:
                    time.sleep(600)
                os._exit(0)
        time.sleep(600)
    """, "after.py": """\
        import os
        children = [pid for pid in (os.fork() for _ in range(24)) if pid or os._exit(0)]
        for pid in children:
            os.waitpid(pid, 0)
        print("started", len(children))
    """})
    limits = Limits(wall=1, processes=32)
    storm = run_script(folder, "storm.py", unit=1.0, limits=limits)
    assert storm.timed_out
    # The next run gets the same process cap and all the time a busy machine may need.
    after = run_script(folder, "after.py", unit=1.0,
                       limits=dataclasses.replace(limits, wall=PATIENCE))
    assert after.returncode == 0, after.stderr
    assert [line for _, line in after.stdout] == ["started 24"]
    assert not run_processes()


def test_a_memory_hog_hits_the_cap(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", """\
        hog = bytearray(4 << 30)
    """)
    assert verdict["runs"] == "fail"
    assert "MemoryError" in verdict["_messages"]


def test_killing_the_parent_is_refused(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", """\
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
    """)
    assert verdict["runs"] == "fail"
    assert "PermissionError" in verdict["_messages"]


def test_fake_printed_timings_do_not_count(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", """\
        print("Sleeping 1 second(s)...")
        print("Done Sleeping...")
        print("Sleeping 2 second(s)...")
        print("Done Sleeping...")
        print("Finished in 3.0 second(s)")
    """)
    assert verdict["runs"] == "pass"
    assert verdict["uses_processes"] == "fail"
    assert verdict["overlap"] == "fail"
    assert verdict["timing"] == "fail"
    # Judged on the sleeps recorded, of which there were none, whatever its wall.
    assert "no sleep: time.sleep was not called, or was replaced" in verdict["_messages"]


def test_sleep_replaced_by_a_no_op_is_caught(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex3_3", """\
        import concurrent.futures, time
        time.sleep = lambda seconds: None
        def nap(s):
            time.sleep(s)
            return s
        if __name__ == "__main__":
            with concurrent.futures.ProcessPoolExecutor() as pool:
                print(list(pool.map(nap, [5, 4, 3, 2, 1])))
    """)
    assert verdict["api"] == "pass"
    assert verdict["order"] == "pass"
    assert verdict["overlap"] == "fail"
    # However long a pool takes to start on a busy machine, no sleep is no pass.
    assert verdict["timing"] == "fail"
    assert "no sleep: time.sleep was not called, or was replaced" in verdict["_messages"]
    assert "no time.sleep call was recorded" in verdict["_messages"]


@pytest.mark.parametrize("ident", ["ex1", "ex2", "ex3_3"])
def test_an_empty_script_earns_nothing(tmp_path: Path, ident: str) -> None:
    assignment = fast_assignment()
    ex = next(e for e in assignment.exercises if e.id == ident)
    folder = submission(tmp_path / "empty", {_name(ex): "pass\n"})
    entry = grade_exercise(folder, ex, assignment)
    assert (entry["status"], entry["score"]) == ("fail", 0.0)
    checks = entry["checks"]
    assert isinstance(checks, list)
    statuses = {c["name"]: c["status"] for c in checks}
    assert statuses["runs"] == "pass" and statuses["main_guard"] == "skip"
    assert statuses["timing"] == "fail"
    assert statuses["api"] == ("skip" if ident == "ex1" else "fail")
    assert not run_processes()


def test_a_syntax_error_fails_runs(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", "def broken(:\n    pass\n")
    assert verdict["runs"] == "fail"
    assert "SyntaxError" in verdict["_messages"]
    assert {verdict[name] for name in ("api", "timing", "cleanup")} == {"skip"}


def test_a_traceback_names_the_file_as_the_student_knows_it(tmp_path: Path) -> None:
    verdict = _grade(tmp_path, "ex1", "def task():\n    raise ValueError('oops')\ntask()\n")
    assert verdict["runs"] == "fail"
    assert 'File "ex1_serial.py", line 2, in task' in verdict["_messages"]
    assert "sleepbench-grade" not in verdict["_messages"]


def test_a_submission_cannot_touch_the_original_folder(tmp_path: Path) -> None:
    folder = submission(tmp_path / "vandal", {"vandal.py": """\
        import os
        for name in os.listdir("."):
            os.remove(name)
        open("planted.txt", "w").write("x")
    """})
    outcome = run_script(folder, "vandal.py", unit=1.0, limits=Limits(wall=10))
    assert outcome.returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["vandal.py"]
