"""What a run can reach, and what it leaves: its own namespaces hold everything it makes.

Each hostile script carries a token of its test, so whatever it leaves behind (a file, a shared
memory segment, a thread) is found by that token and never confused with another test's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from grading_support import EXAMPLES, ROOT, course, fast_assignment, run_processes, submission
from hostile_scripts import FAKE_PIDS, FAST_CLOCK, FORGED_MAP

from pytest_sleepbench.grading import isolation
from pytest_sleepbench.grading.grade import grade_exercise
from pytest_sleepbench.grading.sandbox import Limits, run_script

pytestmark = [
    pytest.mark.skipif(not ROOT, reason="the sandbox isolates runs by user id as root"),
    pytest.mark.skipif(isolation.level() not in isolation.NAMESPACED,
                       reason="needs namespaces (util-linux unshare)"),
]


@pytest.fixture
def token() -> str:
    return "sbx" + uuid.uuid4().hex[:10]


def _run(folder: Path, name: str, source: str, **limits: float) -> tuple[list[str], int | None]:
    submission(folder, {name: source})
    outcome = run_script(folder, name, unit=0.02, limits=Limits(wall=10, **limits))  # type: ignore[arg-type]
    return [line for _, line in outcome.stdout], outcome.returncode


def _threads_named(token: str) -> list[str]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/task/[0-9]*/comm"):
        try:
            if token[:15] in comm.read_text():
                found.append(str(comm))
        except OSError:
            continue
    return found


def test_a_process_whose_leader_thread_exits_does_not_survive_its_run(
        tmp_path: Path, token: str) -> None:
    # The leader thread ends (a zombie to /proc) while another thread lives on: it reads as
    # dead, and without a pid namespace it outlived its run.
    assignment = fast_assignment("timeout = 2")
    ex = next(e for e in assignment.exercises if e.id == "ex1")
    folder = submission(tmp_path / "zombie", {"ex1_serial.py": f"""\
        import ctypes, os, threading, time
        libc = ctypes.CDLL(None)
        time.sleep(1)
        time.sleep(2)
        if os.fork() == 0:
            def linger():
                libc.prctl(15, b"{token[:15]}", 0, 0, 0)
                threading.Event().wait(60)
            threading.Thread(target=linger).start()
            time.sleep(0.5)
            libc.pthread_exit(None)
        time.sleep(1)
    """})
    grade_exercise(folder, ex, assignment)
    assert not _threads_named(token)
    assert not run_processes()


def test_what_a_run_writes_to_shared_places_goes_with_it(tmp_path: Path, token: str) -> None:
    key = int(token[3:10], 16)
    lines, code = _run(tmp_path / "leaky", "leak.py", f"""\
        import ctypes, os, _multiprocessing
        libc = ctypes.CDLL(None, use_errno=True)
        segment = libc.shmget({key}, 1 << 20, 0o1000 | 0o600)  # IPC_CREAT, never removed
        _multiprocessing.SemLock(1, 1, 1, "/{token}", False)  # a named semaphore left
        wrote = {{}}
        for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
            try:
                with open(os.path.join(folder, "{token}"), "wb") as handle:
                    for _ in range(64):
                        handle.write(b"x" * (1 << 20))
                        wrote[folder] = wrote.get(folder, 0) + 1
            except OSError:
                pass
        print("shm", segment, "wrote", sorted(wrote.items()))
    """)
    assert code == 0, lines
    shm_line = lines[0]
    assert not shm_line.startswith("shm -1"), "the script could not even make its segment"
    # Each private folder is capped.
    for item in shm_line.split("wrote ")[1].strip("[]").split("), ("):
        assert int(item.strip("()").split(", ")[1]) < 64, shm_line
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        assert not list(Path(folder).glob(f"*{token}*")), folder
    assert f"{key:>10}" not in Path("/proc/sysvipc/shm").read_text()


def test_no_connection_leaves_the_sandbox(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        lines, code = _run(tmp_path / "net", "net.py", f"""\
            import socket
            for address in (("127.0.0.1", {port}), ("1.1.1.1", 53)):
                try:
                    socket.create_connection(address, timeout=1).close()
                    print("connected", address)
                except OSError as error:
                    print("refused", address, error.errno)
        """)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert code == 0
    assert [line.split()[0] for line in lines] == ["refused", "refused"], lines


def test_other_submissions_are_out_of_sight(open_folder: Path) -> None:
    submission(open_folder / "bob", {"secret.py": "ANSWER = 42\n"})
    lines, code = _run(open_folder / "mallory", "peek.py", f"""\
        import os
        for path in ({str(open_folder / "bob" / "secret.py")!r}, {str(open_folder)!r}):
            try:
                print("read", sorted(os.listdir(path)) if os.path.isdir(path)
                      else open(path).read().strip())
            except OSError as error:
                print("refused", error.errno)
    """)
    assert code == 0
    assert all(line.startswith("refused") or line == "read []" for line in lines), lines


def test_every_run_gets_a_user_id_of_its_own(tmp_path: Path) -> None:
    uids = {tuple(_run(tmp_path / "who", "who.py", "import os\nprint(os.getuid())\n")[0])
            for _ in range(3)}
    assert len(uids) == 3
    assert all(int(line) not in (0, os.getuid()) for (line,) in uids)


def test_the_report_says_which_isolation_was_in_force(tmp_path: Path) -> None:
    folder = submission(tmp_path / "any", {"x.py": "pass\n"})
    outcome = run_script(folder, "x.py", unit=0.02, limits=Limits(wall=10))
    assert outcome.sandbox == isolation.level() == "namespaces"
    assert outcome.isolated


def test_a_run_cannot_see_or_signal_the_grader(tmp_path: Path) -> None:
    lines, code = _run(tmp_path / "ps", "ps.py", textwrap.dedent(f"""\
        import os, signal
        print(len([p for p in os.listdir("/proc") if p.isdigit()]))
        try:
            os.kill({os.getpid()}, signal.SIGTERM)
            print("signalled")
        except OSError as error:
            print("refused", error.errno)
    """))
    assert code == 0
    assert int(lines[0]) < 5  # its init and itself, not the machine's processes
    assert lines[1].startswith("refused")


def test_a_hostile_class_graded_beside_honest_copies(tmp_path: Path, token: str) -> None:
    """The audit's attacks in one class, graded under xdist beside two honest copies."""
    key = int(token[3:10], 16)
    subs = tmp_path / "subs"
    for name in ("honest1", "honest2"):
        shutil.copytree(EXAMPLES / "reference", subs / name)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        submission(subs / "forger", {"ex3_3_map.py": FORGED_MAP})
        submission(subs / "faker", {"ex2_processes.py": FAKE_PIDS})
        submission(subs / "clock", {"ex2_processes.py": FAST_CLOCK})
        submission(subs / "leaker", {"ex1_serial.py": f"""\
            import ctypes, os, socket, time, _multiprocessing
            time.sleep(1)
            time.sleep(2)
            for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "..", "../.."):
                try:
                    open(os.path.join(folder, "{token}"), "w").write("planted")
                except OSError:
                    pass
            ctypes.CDLL(None).shmget({key}, 1 << 20, 0o1000 | 0o600)
            _multiprocessing.SemLock(1, 1, 1, "/{token}", False)
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1)
            except OSError:
                pass
        """})
        submission(subs / "zombie", {"ex1_serial.py": f"""\
            import ctypes, os, threading, time
            time.sleep(1)
            time.sleep(2)
            if os.fork() == 0:
                def linger():
                    ctypes.CDLL(None).prctl(15, b"{token[:15]}", 0, 0, 0)
                    threading.Event().wait(60)
                threading.Thread(target=linger).start()
                ctypes.CDLL(None).pthread_exit(None)
        """})
        # At the default unit: the honest copies are judged as a class would be, beside four
        # pytest processes on a machine that may have two cores.
        (tmp_path / "course.toml").write_text(
            course(extra="timeout = 5").replace("unit = 0.02", "unit = 0.05"))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT", "PYTEST_ADDOPTS"))}
        begin = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "sleepbench", "-p", "no:cacheprovider",
             "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml",
             "--sleepbench-json=grades.json", "--sleepbench-html=grades.html", "-n", "2"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
        took = time.monotonic() - begin
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    doc = json.loads((tmp_path / "grades.json").read_text())
    scores = {s["name"]: {e["id"]: e["score"] for e in s["exercises"]}
              for s in doc["submissions"]}
    assert [sum(scores[n].values()) for n in ("honest1", "honest2")] == [60, 60], done.stdout
    assert scores["forger"]["ex3_3"] == scores["faker"]["ex2"] == scores["clock"]["ex2"] == 0
    assert str(doc["sandbox"]).startswith("namespaces: ")
    assert "Sandbox: namespaces" in (tmp_path / "grades.html").read_text()
    # Nothing planted, left running or left in shared memory; no hang past the limits.
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", str(tmp_path), str(subs)):
        assert not list(Path(folder).glob(f"*{token}*")), folder
    assert f"{key:>10}" not in Path("/proc/sysvipc/shm").read_text()
    assert not _threads_named(token)
    assert took < 120


def test_what_a_run_writes_in_its_own_folder_is_capped(tmp_path: Path) -> None:
    # Its own folder was a copy on the grader's disk: files of the largest size allowed, one
    # after another, could fill that disk for everyone.
    lines, code = _run(tmp_path / "filler", "fill.py", """\
        written = 0
        try:
            for n in range(200):
                with open(f"fill-{n}", "wb") as handle:
                    handle.write(b"x" * (1 << 20))
                written += 1
        except OSError as error:
            print("stopped", error.errno)
        print("written", written)
    """)
    assert code == 0
    assert lines[0] == "stopped 28", lines  # ENOSPC
    assert int(lines[1].split()[1]) <= Limits(wall=1).scratch >> 20
