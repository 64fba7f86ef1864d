"""Scripts that write their own records: none of them earns a point, and the grader neither
hangs nor breaks on what they write.

Each attack goes for whatever the grader gives a run to record into: the record files named
in its environment (``SLEEPBENCH_GRADE_EVENTS``, ``SLEEPBENCH_GRADE_INTERVALS``) where there
are some, the channel (``SLEEPBENCH_GRADE_CHANNEL``) where there is one.
"""

from __future__ import annotations

import dataclasses
import textwrap
import threading
from pathlib import Path

import pytest
from grading_support import ROOT, fast_assignment, grade_script, submission
from hostile_scripts import FAKE_PIDS, FAST_CLOCK, FORGED_MAP, FORGER

from pytest_sleepbench.grading.checks import FORGED
from pytest_sleepbench.grading.corroborate import Observation, corroborate
from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.sandbox import Limits, run_script

pytestmark = pytest.mark.skipif(not ROOT, reason="the sandbox isolates runs by user id as root")

def _grade(tmp_path: Path, ident: str, source: str, **extra: object) -> dict[str, object]:
    return grade_script(tmp_path / "forger", ident, source, 3, **extra)


def _runs(entry: dict[str, object]) -> tuple[str, str]:
    checks = entry["checks"]
    assert isinstance(checks, list)
    runs = checks[0]
    return runs["status"], runs["message"]


def test_rewritten_records_with_a_forged_start_earn_nothing(tmp_path: Path) -> None:
    # A run of a few hundredths of a second that claims a map over two workers which took the
    # schedule's 8 units: a start stamp from before it was launched, intervals of processes
    # that never existed, the constructs and results the exercise asks for.
    entry = _grade(tmp_path, "ex3_3", FORGED_MAP)
    status, message = _runs(entry)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert FORGED in message


def test_threads_that_pass_for_processes_with_a_fake_getpid_earn_nothing(tmp_path: Path) -> None:
    entry = _grade(tmp_path, "ex2", FAKE_PIDS)
    status, message = _runs(entry)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert "names itself by another pid" in message


def test_fake_pids_are_caught_even_from_a_process_gone_before_the_grader_looked(
    tmp_path: Path
) -> None:
    folder = submission(tmp_path / "forger", {"ex2_processes.py": FAKE_PIDS})
    outcome = run_script(folder, "ex2_processes.py", unit=0.02, limits=Limits(wall=30))
    # As if the process had ended before the grader read the pid it had in its namespace.
    unseen = Observation(launch=outcome.origin, exit=outcome.origin + outcome.wall)
    reasons = corroborate(dataclasses.replace(outcome.recording, forged=()), unseen)
    assert any("names itself by another pid" in r for r in reasons), reasons


def test_a_hook_clock_patched_in_the_children_earns_nothing(tmp_path: Path) -> None:
    # Each child makes the hook's clock run twelve times fast, so "1 s" sleeps end early and
    # are stamped as if they had lasted.
    entry = _grade(tmp_path, "ex2", FAST_CLOCK, durations=(10.0, 10.0))
    status, message = _runs(entry)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert "stamped outside the run" in message


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_that_is_not_finite_is_a_forged_record(tmp_path: Path, value: str) -> None:
    entry = _grade(tmp_path, "ex1", FORGER + textwrap.dedent(f"""\
        time.sleep(1)
        time.sleep(2)
        pid = os.getpid()
        forge(['{{"kind": "sleep", "task": null, "seconds": {value}, "pid": ' + str(pid)
               + ', "start": 1, "end": {value}, "tid": ' + str(pid) + '}}'], truncate=False)
    """))
    status, message = _runs(entry)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert FORGED in message and "finite" in message


@pytest.mark.parametrize("size", [3000, 100_000, 4 << 20])
def test_a_huge_construct_name_is_refused_not_carried(tmp_path: Path, size: int) -> None:
    entry = _grade(tmp_path, "ex3_1", FORGER + textwrap.dedent(f"""\
        import json
        forge([json.dumps({{"kind": "api", "t": time.perf_counter(),
                            "name": "ProcessPoolExecutor.submit" + "x" * {size}}})],
              truncate=False)
    """))
    status, message = _runs(entry)
    assert entry["score"] == 0.0
    # Too long to send at all is the same as not sent; anything that arrives is refused.
    assert status == "fail" or size > 1 << 20, message
    assert len(repr(entry)) < 20_000


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_record_files_swapped_for_a_fifo_or_a_link_do_not_hang_the_grader(
        tmp_path: Path, kind: str) -> None:
    source = textwrap.dedent(f"""\
        import os, time
        time.sleep(1)
        time.sleep(2)
        for var in ("SLEEPBENCH_GRADE_EVENTS", "SLEEPBENCH_GRADE_INTERVALS",
                    "SLEEPBENCH_GRADE_CHANNEL"):
            path = os.environ.get(var)
            if not path:
                continue
            try:
                os.unlink(path)
            except OSError:
                pass
            try:
                if "{kind}" == "fifo":
                    os.mkfifo(path)
                else:
                    # A link the grader would follow into a fifo of the script's own.
                    fifo = os.path.abspath(f"pipe-{{len(var)}}")
                    os.mkfifo(fifo)
                    os.symlink(fifo, path)
            except OSError:
                pass
    """)
    assignment = fast_assignment("timeout = 3")
    ex = next(e for e in assignment.exercises if e.id == "ex1")
    folder = submission(tmp_path / "swapper", {"ex1_serial.py": source})
    graded: list[dict[str, object]] = []
    worker = threading.Thread(target=lambda: graded.append(grade_exercise(folder, ex,
                                                                          assignment)),
                              daemon=True)
    worker.start()
    # Far below pytest-timeout's guard, well above two runs of a 3 s limit.
    worker.join(timeout=30)
    assert graded, "the grader hung on a record file the script replaced"
    assert graded[0]["score"] in (0.0, 10.0)


def test_a_script_that_polls_with_zero_sleeps_is_believed(tmp_path: Path) -> None:
    # time.sleep(0) is a yield, not a task: a busy loop of them sends no record at all.
    entry = _grade(tmp_path, "ex1", """\
        import time
        time.sleep(1)
        for _ in range(30_000):
            time.sleep(0)
        time.sleep(2)
    """, timeout=20.0)
    # Tens of thousands of calls, none of them a record; the loop's time is
    # the timing check's business.
    assert _runs(entry) == ("pass", "")


def _channel_attack(tmp_path: Path, body: str) -> tuple[dict[str, object], str, str]:
    entry = _grade(tmp_path, "ex1", FORGER + textwrap.dedent("""\
        import _socket
        time.sleep(1)
        time.sleep(2)
        def connection():
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            sock.connect(os.environ["SLEEPBENCH_GRADE_CHANNEL"])
            return sock
    """) + textwrap.dedent(body))
    status, message = _runs(entry)
    return entry, status, message


def test_a_record_spliced_from_two_processes_is_forged(tmp_path: Path) -> None:
    # The parent starts a record on its connection and a forked child finishes it there:
    # a sleep the child never slept, sent partly under the parent's name.
    entry, status, message = _channel_attack(tmp_path, """\
        sock = connection()
        sock.sendall(b'{"kind": "sleep", "task": null, "seconds": 0.02, "pid": ')
        if os.fork() == 0:
            sock.sendall(str(os.getpid()).encode() + b', "start": 1, "end": 2, "tid": 1}\\n')
            os._exit(0)
        os.wait()
    """)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert "two processes" in message


def test_a_record_cut_short_is_forged(tmp_path: Path) -> None:
    entry, status, message = _channel_attack(tmp_path, """\
        connection().sendall(b'{"kind": "sleep", "seconds": 0.02')
    """)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert "cut short" in message


def test_a_flood_of_connections_is_refused_not_held(tmp_path: Path) -> None:
    # Each connection the grader accepts is one of its descriptors: past its cap it closes
    # them, so the run cannot make it run out, and it names the flood.
    entry, status, message = _channel_attack(tmp_path, """\
        held = []
        for _ in range(600):
            try:
                held.append(connection())
            except OSError:
                break
        time.sleep(0.5)
    """)
    assert (status, entry["score"]) == ("fail", 0.0)
    assert "open connections" in message
