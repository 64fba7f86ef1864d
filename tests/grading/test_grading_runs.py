"""Single exercises graded directly: start methods, the model's order, time bounds, the
assignment file's errors."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import (
    FAST,
    checks_of,
    copy_reference,
    fast_assignment,
    message_of,
    needs_root,
    run_processes,
    statuses,
    submission,
)

from pytest_sleepbench.grading import procs
from pytest_sleepbench.grading.assignment import AssignmentError, load, parse
from pytest_sleepbench.grading.checks import Check
from pytest_sleepbench.grading.grade import discover, grade_exercise, score
from pytest_sleepbench.grading.sandbox import Limits, run_script


@needs_root
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_as_completed_follows_the_schedule_under_every_start_method(
    tmp_path: Path, method: str
) -> None:
    assignment = fast_assignment(f'start_method = "{method}"')
    ex = next(e for e in assignment.exercises if e.id == "ex3_2")
    folder = copy_reference(tmp_path / "ref", "ex3_2_as_completed.py")
    entry = grade_exercise(folder, ex, assignment)
    assert entry["status"] == "pass", [c for c in checks_of(entry) if c["status"] == "fail"]
    # The script's ProcessPoolExecutor() takes the CPUs it may run on from Python 3.13,
    # all of the machine's before; five tasks keep no more than five busy.
    workers = min((getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1, 5)
    assert entry["workers"] == workers
    intervals = entry["intervals"]
    assert isinstance(intervals, list) and len(intervals) == 5
    assert {i["pid"] for i in intervals} and all(i["end"] > i["start"] for i in intervals)
    assert not run_processes()


@needs_root
def test_a_script_that_waits_without_sleeping_misses_the_upper_bound(tmp_path: Path) -> None:
    assignment = fast_assignment()
    ex = next(e for e in assignment.exercises if e.id == "ex1")
    folder = submission(tmp_path / "slow", {"ex1_serial.py": """\
        import select, time
        time.sleep(1)
        time.sleep(2)
        select.select([], [], [], 0.5)  # half a second the model knows nothing about
    """})
    entry = grade_exercise(folder, ex, assignment)
    seen = statuses(entry)
    assert seen["overlap"] == "pass" and seen["uses_processes"] == "pass"
    assert seen["timing"] == "fail"
    message = message_of(entry, "timing")
    assert "took more time than the schedule allows" in message
    assert "the first attempt took" in message
    assert entry["score"] == pytest.approx(10 * (1 - 0.2))  # timing costs a fifth


def test_a_learner_folder_is_one_submission_and_a_class_folder_many(tmp_path: Path) -> None:
    assignment = fast_assignment()
    learner = copy_reference(tmp_path / "mine", "ex1_serial.py")
    assert discover(learner, assignment) == [("mine", learner)]
    copy_reference(tmp_path / "class" / "bob", "ex1_serial.py")
    copy_reference(tmp_path / "class" / "amy", "ex3_3_map.py")
    (tmp_path / "class" / ".hidden").mkdir()
    assert [name for name, _ in discover(tmp_path / "class", assignment)] == ["amy", "bob"]


def test_a_failed_check_costs_its_weight_of_the_points() -> None:
    checks = [Check("runs", "pass"), Check("api", "fail"), Check("order", "skip"),
              Check("timing", "pass")]
    assert score(checks, 9) == pytest.approx(9 * (1 - 0.2))
    assert score([Check("runs", "fail"), Check("api", "skip")], 9) == 0
    assert score(checks, 9, slept=False) == 0


def test_the_built_in_assignment_is_the_lesson() -> None:
    default = load(None)
    assert [(e.id, e.pattern) for e in default.exercises] == [
        ("ex1", "serial"), ("ex2", "processes"), ("ex2_1", "process_loop"),
        ("ex3_1", "submit"), ("ex3_2", "as_completed"), ("ex3_3", "map")]
    assert default.exercises[4].durations == (5, 4, 3, 2, 1)
    assert default.memory == 1 << 30


#: One valid exercise, lines 2 to 6 after a one-line preamble.
_EXERCISE = "[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unit = 1\nspeed = 2\n", "a.toml:2: unknown key 'speed'; top-level keys are"),
        ("unit = 1\n", "a.toml:1: no exercises"),
        ("unit = 1\nstart_method = 'vfork'\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\n"
         "points=1\n", "a.toml:2: start_method must be one of fork, "),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"
         "[[exercise]]\nid='a'\npattern='map'\nfile='b.py'\npoints=1\n",
         "a.toml:8: exercise id 'a' is used twice"),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='../a.py'\npoints=1\n",
         "a.toml:5: file must be a glob relative to the submission folder"),
        ("unit = 1\n[[exercise]]\nid='a'\npattern='map'\nfile='a.py'\npoints=1\n"
         "durations=[1, -2]\n", "a.toml:7: durations must be a non-empty list"),
        # Not a number at all would reach the gradebook as "0/nan" and the timers as inf.
        (f"unit = nan\n{_EXERCISE}", "a.toml:1: unit must be a positive number, got nan"),
        (f"unit = 1\n{_EXERCISE.replace('points=1', 'points=nan')}",
         "a.toml:6: points must be a number of at least 0, got nan"),
        (f"unit = 1\ntimeout = inf\n{_EXERCISE}",
         "a.toml:2: timeout must be a positive number of at most 86400, got inf"),
        (f"unit = 1\n{_EXERCISE}timeout = 1e12\n",
         "a.toml:7: timeout must be a positive number of at most 86400"),
        (f"unit = 1e300\n{_EXERCISE}", "a.toml:1: exercise 'a' would sleep 1.5e+301 s in all"),
        (f"unit = 1\n{_EXERCISE}durations = [1e300, 1e300]\n",
         "a.toml:7: exercise 'a' would sleep 2e+300 s in all, more than a day"),
        # Limits that would kill or flood every script, correct or not.
        (f"unit = 1\nmemory_mb = 0.5\n{_EXERCISE}",
         "a.toml:2: memory_mb must be a whole number from 64 to 1073741824, got 0.5; it caps"),
        (f"unit = 1\nmemory_mb = 16\n{_EXERCISE}",
         "a.toml:2: memory_mb must be a whole number from 64"),
        (f"unit = 1\noutput_kb = 0.5\n{_EXERCISE}",
         "a.toml:2: output_kb must be a whole number of at least 64, got 0.5"),
        (f"unit = 1\nprocesses = 4\n{_EXERCISE}",
         "a.toml:2: processes must be a whole number from 32 to 4194304, got 4"),
        (f"unit = 1\nprocesses = 100000000000000000000\n{_EXERCISE}",
         "a.toml:2: processes must be a whole number from 32"),
        (f"unit = 1\n{_EXERCISE.replace('a.py', '*.txt')}",
         "a.toml:5: file '*.txt' can never match a script, as the grader takes only `.py` files; "
         "end the glob in `.py`"),
        (f"unit = 1\n{_EXERCISE.replace('a.py', '*.py[cd]')}",
         "a.toml:5: file '*.py[cd]' can never match a script"),
        (f"unit = 1\n{_EXERCISE}durations = [1, 0]\n",
         "a.toml:7: durations must be a non-empty list of positive numbers (not bools), got "
         "[1, 0]"),
        # Syntax errors carry their line in the prefix, like every other mistake.
        ("unit = 1\n[[exercise]]\nid='a'\npattern=map\n",
         'a.toml:4: not valid TOML: Invalid value (column 9); strings need quotes'),
        ("unit = 0.02\n[[exercise]\n", "a.toml:2: not valid TOML: Expected ']]' at the end "
         "of an array declaration (column 11); close the header as [[exercise]]"),
        ("unit = 1\nx = [1,\n2,\n",
         "a.toml:3: not valid TOML: Invalid value (at the end of the file); finish the last"),
        (f"unit = 1\n{_EXERCISE}id = 'b'\n",
         "a.toml:7: not valid TOML: Cannot overwrite a value (column 9); a key may appear once"),
        (f"unit = 1\n{_EXERCISE.replace('[[exercise]]', '[exercise]')}",
         "a.toml:2: [exercise] is a single table, not a list of exercises; write [[exercise]]"),
        # A quoted key sits on its own line, not on its table's header.
        (f"""unit = 1\n{_EXERCISE.replace("pattern='map'", '"pattern" = "mapp"')}""",
         "a.toml:4: unknown pattern 'mapp'"),
    ],
)
def test_assignment_mistakes_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(AssignmentError) as error:
        parse(text, "a.toml")
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize(
    ("glob", "matches"),
    [("*.py", True), ("ex1*", True), ("ex1.p?", True), ("**/*.py", True), ("*.py*", True),
     ("*.txt", False), ("*.PY", False), (".py", False), ("[!.]py", False), ("ex1/", False)],
)
def test_a_file_glob_must_be_able_to_name_a_script(glob: str, matches: bool) -> None:
    # A name such as ".py" has no suffix to Path, so the grader would not take it either.
    text = f"unit = 1\n{_EXERCISE.replace('a.py', glob)}"
    if matches:
        assert parse(text, "a.toml").exercises[0].file == glob
    else:
        with pytest.raises(AssignmentError, match=r"^a\.toml:5: file .* can never match"):
            parse(text, "a.toml")


def test_a_missing_assignment_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(AssignmentError, match=r"nope\.toml: cannot read the assignment file"):
        load(tmp_path / "nope.toml")


def test_an_assignment_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes(b"unit = 1\n# caf\xe9\n")
    with pytest.raises(AssignmentError, match=r"latin\.toml:2: not UTF-8 text \(byte 0xe9\); "
                                              r"save the assignment file as UTF-8"):
        load(tmp_path / "latin.toml")


@needs_root
def test_durations_come_from_the_assignment(tmp_path: Path) -> None:
    assignment = fast_assignment()
    ex = dataclasses.replace(next(e for e in assignment.exercises if e.id == "ex1"),
                             durations=(1.0, 1.0), sleeps="exact")
    folder = copy_reference(tmp_path / "ref", "ex1_serial.py")  # sleeps 1 then 2
    entry = grade_exercise(folder, ex, assignment)
    assert entry["status"] == "fail"
    assert statuses(entry)["timing"] == "fail"
    message = message_of(entry, "timing")
    assert "expected: sleeps of 1, 1 tutorial second(s)" in message
    assert "observed: sleeps of 1, 2" in message


def test_the_report_keeps_each_exercise_s_own_time_limit() -> None:
    text = FAST.format(extra="timeout = 7").replace(
        'id = "ex2"\n', 'id = "ex2"\ntimeout = 3\n')
    listed = parse(text, "course.toml").to_dict()
    exercises = listed["exercises"]
    assert isinstance(exercises, list)
    limits = {e["id"]: e["timeout"] for e in exercises}
    assert listed["timeout"] == 7 and limits["ex2"] == 3 and limits["ex1"] is None


@needs_root
def test_the_main_guard_verdict_does_not_rest_on_the_shorter_sleeps_of_its_first_try(
    tmp_path: Path,
) -> None:
    # Guarded, but the children are daemons that the main process outlives by sleeping rather
    # than joining them: at the full unit they start in time, at a tenth of it they may not.
    assignment = fast_assignment()
    ex = next(e for e in assignment.exercises if e.id == "ex2")
    folder = submission(tmp_path / "daemons", {"ex2_processes.py": """\
        import multiprocessing, time

        def nap(seconds):
            time.sleep(seconds)

        if __name__ == "__main__":
            for _ in range(2):
                multiprocessing.Process(target=nap, args=(1,), daemon=True).start()
            time.sleep(15)
    """})
    entry = grade_exercise(folder, ex, assignment)
    assert statuses(entry)["main_guard"] == "pass", message_of(entry, "main_guard")
    assert not run_processes()


@pytest.mark.parametrize("cpus", [2, 8, 64])
def test_the_default_process_cap_leaves_room_for_a_pool_on_any_machine(
        monkeypatch: pytest.MonkeyPatch, cpus: int) -> None:
    # ProcessPoolExecutor() starts os.cpu_count() workers, each with threads of its own; the
    # built-in assignment must not pin a cap that only fits a small machine.
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    cap = load(None).processes
    assert cap >= 64 and cap > 3 * cpus


# Pins itself to one core and works there for 0.2 s of its own CPU time. With HOG "child" or
# "zombie" it first forks a busy child onto the same core, then kills it and reaps it (or
# leaves it unreaped a while); with "thread" a thread of its own is as busy there, outside
# the GIL, and ends a while before the run (a while in select, which no unit scales). Each
# prints the CPU time its busy neighbour had. NICE is what it adds to its niceness.
_PINNED = """\
import hashlib, os, select, threading, time
os.sched_setaffinity(0, {CORE})
os.nice(NICE)
mode, data, done, used = "HOG", b"x" * 2**24, threading.Event(), []
def busy():
    while not done.is_set():
        hashlib.sha256(data).digest()
    used.append(time.thread_time())
hog = os.fork() if mode in ("child", "zombie") else -1
if hog == 0:
    while True:
        pass
if mode == "thread":
    thread = threading.Thread(target=busy)
    thread.start()
begin = time.process_time() if mode != "thread" else time.thread_time()
while (time.process_time() if mode != "thread" else time.thread_time()) - begin < 0.2:
    pass
if mode == "thread":
    done.set()
    thread.join()
    print(used[0])
    select.select([], [], [], 0.1)
elif mode == "zombie":
    os.kill(hog, 9)
    while open(f"/proc/{hog}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.001)
    fields = open(f"/proc/{hog}/stat").read().rsplit(")", 1)[1].split()
    print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    select.select([], [], [], 0.1)
elif mode == "child":
    os.kill(hog, 9)
    os.waitpid(hog, 0)
    print(os.times().children_user + os.times().children_system)
"""


@needs_root
@pytest.mark.parametrize("nice", [0, 19])
def test_the_time_the_machine_kept_the_main_thread_from_a_core_is_counted(
    tmp_path: Path, nice: int
) -> None:
    core = min(os.sched_getaffinity(0))
    script = (_PINNED.replace("CORE", str(core)).replace("HOG", "none")
              .replace("NICE", str(nice)))
    folder = submission(tmp_path / "pinned", {"s.py": script})
    hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}})"
                            "\nprint('pinned', flush=True)\nwhile True: pass"],
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # Busy on that core before the run starts, not still starting up elsewhere.
        assert hog.stdout is not None and hog.stdout.readline() == "pinned\n"
        outcome = run_script(folder, "s.py", unit=0.02, limits=Limits(wall=60))
    finally:
        hog.kill()
        hog.wait()
        if hog.stdout is not None:
            hog.stdout.close()
    assert outcome.returncode == 0, outcome.stderr
    if nice:
        # It gave its share of the core away itself: its wait is its own doing.
        assert outcome.waited == 0.0 and not outcome.samples, outcome.waited
    else:
        # Sharing its core with a busy loop for 0.2 s of its own work, it waited about as
        # long: the kernel shares a core evenly between sessions (autogroups), and each of
        # the two is alone in its own. In the test's session, the loop would share one
        # weight with whatever else that session runs on the other core, and the script
        # would wait far less. The grader misses only the wait of the start-up before its
        # first look, which comes before the pin; half the share is left to spare for it.
        assert 0.1 < outcome.waited < outcome.wall, outcome.waited


def test_a_process_reaped_between_two_looks_gave_nothing_away() -> None:
    # The grader reads a main thread's wait for a core, then its priority. A main process
    # reaped between the two reads once counted as one that lowered its own priority, which
    # erased every look at its wait and forgave none of it: about one run in twenty of the
    # test above, the grader being slow to read on the loaded core.
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert procs.fair_share(ended.pid) is None
    assert procs.fair_share(os.getpid()) is True
    niced = subprocess.Popen(
        [sys.executable, "-c", "import os, time; os.nice(5); print(1, flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert niced.stdout is not None and niced.stdout.readline() == "1\n"
        assert procs.fair_share(niced.pid) is False
    finally:
        niced.kill()
        niced.wait()
        if niced.stdout is not None:
            niced.stdout.close()


@needs_root
@pytest.mark.parametrize("neighbour", ["child", "zombie", "thread"])
def test_a_main_thread_kept_waiting_by_its_own_run_is_not_excused(
    tmp_path: Path, neighbour: str
) -> None:
    # A busy child reaped, a busy child killed and left unreaped while the run goes on, a busy
    # thread that ended: each kept the main thread from its core, and none is the machine's.
    core = min(os.sched_getaffinity(0))
    script = _PINNED.replace("CORE", str(core)).replace("HOG", neighbour).replace("NICE", "0")
    folder = submission(tmp_path / "pinned", {"s.py": script})
    outcome = run_script(folder, "s.py", unit=0.02, limits=Limits(wall=60))
    assert outcome.returncode == 0, outcome.stderr
    hog_cpu = float(outcome.stdout[-1][1])
    assert hog_cpu > 0.05, hog_cpu
    # Its wall is its own 0.2 s of work, the busy neighbour's time on the core beside it, and
    # whatever else the machine ran there (another xdist worker, a busy loop): only the last
    # is excused. Ended threads and processes are known to the clock tick, hence its slack.
    # The zombie and thread cases wait 0.1 s after their neighbour's end, on no core.
    tick, after = 1 / os.sysconf("SC_CLK_TCK"), 0.1 if neighbour != "child" else 0.0
    assert outcome.waited + 0.2 + hog_cpu + after <= outcome.wall + tick, (
        outcome.waited, hog_cpu, outcome.wall)
