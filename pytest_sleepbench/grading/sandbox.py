"""Run one script the way the grader trusts nothing about it.

The script gets a private copy of its submission as working directory, a scrubbed environment,
its own session, caps on memory, processes, file size and output, and a wall-clock limit. When
the grader is root, it runs as a user id of its own (one per grader process, so concurrent
graders never share one): it can then neither signal the grader nor read other submissions,
``RLIMIT_NPROC`` caps exactly its own processes, and ``kill(-1)`` sent as that user reaches every
process it made, including those that called ``setsid`` or cleared their environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import py_compile
import re
import resource
import selectors
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..core.clock import now, sleep_for
from .record import Recording, read_recording

__all__ = ["REIMPORT", "Limits", "Outcome", "run_script", "sandbox_python", "sandbox_uid", "sweep"]

_HOOK = Path(__file__).with_name("_hook.py")

#: The ``start_method`` of the main-guard run: every child imports the script afresh, as under
#: spawn (a forkserver with nothing preloaded where there is one, which does that in a fork of
#: a clean server instead of a new interpreter per child; spawn elsewhere).
REIMPORT = "reimport"


@functools.cache
def _hook_bytecode() -> bytes:
    """The hook compiled once per grader. Every process of every run loads it, and compiling
    it was about half of what it cost each one (3 of 7 ms); an unchecked-hash ``.pyc`` needs
    no source mtime to match, and an interpreter of another version, whose cache file has
    another name, compiles the source as before."""
    with tempfile.TemporaryDirectory(prefix="sleepbench-hook-") as folder:
        target = os.path.join(folder, "hook.pyc")
        py_compile.compile(str(_HOOK), cfile=target, dfile="sitecustomize.py", doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with open(target, "rb") as handle:
            return handle.read()

# Processes of the run may still be on their way out when the main one exits (a forkserver, a
# resource tracker, pool workers told to stop); they get this long before they count as left.
_GRACE = 0.5
_STDERR_KEEP = 4000
_PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
_ADOPTING = False
_COPY_SKIP = shutil.ignore_patterns("__pycache__", ".git", "*.pyc")
# A run's folder is named after its owner (the grading session and worker that started it) and
# the grader's pid, so whoever outlives a dead grader can find the runs it left and their user.
_FOLDER = "sleepbench-grade-"
_OWNED = re.compile(r"sleepbench-grade-(?P<owner>[A-Za-z0-9.]+)-(?P<pid>[0-9]+)-")


@dataclass(frozen=True)
class Limits:
    wall: float
    """Seconds the main process may run before the whole run is killed."""
    memory: int = 1 << 30
    """Bytes of address space per process (RLIMIT_AS)."""
    processes: int = 64
    """Processes the run may have at once (RLIMIT_NPROC, exact when running as its own user)."""
    output: int = 1 << 20
    """Bytes of stdout plus stderr kept; more ends the run."""
    file_size: int = 64 << 20


@dataclass
class Outcome:
    returncode: int | None
    wall: float
    """Seconds from launching the interpreter to the main process's exit (or its kill)."""
    origin: float
    """The clock stamp at launch, so intervals can be placed on the run's own time axis."""
    timed_out: bool = False
    flooded: bool = False
    stdout: list[tuple[float, str]] = field(default_factory=list)
    """Lines of output with their arrival time, seconds after launch."""
    stderr: str = ""
    leftovers: list[str] = field(default_factory=list)
    """Processes of the run still alive a grace period after the main process ended."""
    recording: Recording = field(default_factory=Recording)
    main_pid: int = 0
    isolated: bool = False
    """Whether the run had a user id of its own."""


def sandbox_uid() -> int | None:
    """The user id runs get when the grader is root, unique among live grader processes."""
    if os.geteuid() != 0:
        return None
    return 200_000 + os.getpid()


_PYTHONS: dict[str, str] = {}


def sandbox_python(preferred: str | None = None) -> str:
    """An interpreter the sandbox user can run: the grader's own if it may, else a system one.

    A grader installed under a private home (pyenv in /root) is not executable by an
    unprivileged user, so the first ``python3`` on the standard path that is takes its place.
    """
    key = preferred or ""
    if key in _PYTHONS:
        return _PYTHONS[key]
    candidates = [preferred] if preferred else [sys.executable]
    if not preferred:
        for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
            candidates.append(os.path.join(folder, "python3"))
    uid = sandbox_uid()
    for candidate in candidates:
        assert candidate is not None
        if not os.path.exists(candidate):
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import concurrent.futures, multiprocessing"],
                preexec_fn=_drop(uid, None) if uid is not None else None,
                stdin=subprocess.DEVNULL, capture_output=True, cwd="/", timeout=60, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            _PYTHONS[key] = candidate
            return candidate
    raise RuntimeError(
        f"no Python interpreter the sandbox user can run among {candidates}; "
        "set `python` in the assignment file"
    )


def _drop(uid: int | None, limits: Limits | None) -> Callable[[], None]:
    def setup() -> None:
        os.setsid()
        if limits is not None:
            for kind, value in (
                (resource.RLIMIT_AS, limits.memory),
                (resource.RLIMIT_FSIZE, limits.file_size),
                (resource.RLIMIT_CORE, 0),
            ):
                resource.setrlimit(kind, (value, value))
            if uid is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return setup


def _environment(base: Path, hook: Path, unit: float, start_method: str | None) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(base / "work"),
        "TMPDIR": str(base / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(hook),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "SLEEPBENCH_GRADE_INTERVALS": _token(base),
        "SLEEPBENCH_GRADE_EVENTS": str(base / "rec" / "events.jsonl"),
        "SLEEPBENCH_GRADE_UNIT": repr(unit),
    }
    if start_method:
        env["SLEEPBENCH_GRADE_START_METHOD"] = start_method
    return env


def _folder_prefix(owner: str) -> str:
    """The name every run folder of ``owner`` started by this process begins with."""
    if not re.fullmatch(r"[A-Za-z0-9.]+", owner):
        raise ValueError(f"a run owner is letters, digits and dots, not {owner!r}")
    return f"{_FOLDER}{owner}-{os.getpid()}-"


def _token(base: Path) -> str:
    """The mark in the environment of a run's processes (a path inside its folder)."""
    return str(base / "rec" / "intervals.jsonl")


def _copy_skip(folder: str, names: list[str]) -> set[str]:
    """What the run's copy leaves out: caches, and special files (fifos, sockets, devices),
    which no exercise needs and which ``copytree`` cannot copy (it fails, or blocks opening a
    fifo). Symbolic links are copied as links, so they are kept whatever they point to."""
    skipped = set(_COPY_SKIP(folder, names))
    for name in names:
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            continue  # gone since it was listed: copytree reports it, as for any other
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def _prepare(base: Path, submission: Path, uid: int | None) -> None:
    shutil.copytree(submission, base / "work", symlinks=True, ignore=_copy_skip)
    (base / "hook").mkdir()
    shutil.copyfile(_HOOK, base / "hook" / "sitecustomize.py")
    (base / "hook" / "__pycache__").mkdir()
    cached = base / "hook" / "__pycache__" / f"sitecustomize.{sys.implementation.cache_tag}.pyc"
    cached.write_bytes(_hook_bytecode())
    for name in ("rec", "tmp"):
        (base / name).mkdir()
    if uid is not None:
        os.chmod(base, 0o711)
        os.chmod(base / "hook", 0o755)
        os.chmod(base / "hook" / "sitecustomize.py", 0o644)
        os.chmod(base / "hook" / "__pycache__", 0o755)
        os.chmod(cached, 0o644)
        for root, dirs, files in os.walk(base / "work"):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(root, name), uid, uid)
        for path in (base / "work", base / "rec", base / "tmp"):
            os.chown(path, uid, uid)
            # Runs of other graders (other user ids) must not read this one's copy.
            os.chmod(path, 0o700)


def _members(uid: int | None, root_pid: int, token: str, known: set[int]) -> list[psutil.Process]:
    """The run's processes still alive: by user id when it has one, else by descent and mark."""
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["pid", "uids", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if uid is not None:
                if proc.info["uids"].real == uid:
                    found.append(proc)
            elif proc.pid in known or proc.pid == root_pid or (
                proc.environ().get("SLEEPBENCH_GRADE_INTERVALS") == token
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for proc in procs:
        try:
            cmd = " ".join(proc.cmdline())[:120]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            cmd = "?"
        out.append(f"pid {proc.pid}: {cmd}")
    return out


def _kill_all(uid: int | None, root_pid: int, token: str, known: set[int]) -> None:
    for _ in range(50):
        alive = _members(uid, root_pid, token, known)
        if not alive:
            break
        if uid is not None:
            _kill_as(uid)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.kill()
        psutil.wait_procs(alive, timeout=0.2)


def _adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux only).

    A run's processes that outlive their parents are otherwise reaped by init whenever it gets
    to them, and until then, dead or not, they count against ``RLIMIT_NPROC`` of the user id
    the next run of this grader gets. Adopted, they are reaped here as soon as they are killed.
    """
    global _ADOPTING
    if _ADOPTING or not sys.platform.startswith("linux"):
        return
    _ADOPTING = True
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap(uid: int, keep: int) -> None:
    """Reap the dead processes of ``uid`` adopted here, once none of them is alive (a process
    is handed to its reaper when its parent exits, so by then all are). ``keep``, the run's
    main process, is left to its own ``Popen``."""
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error, ChildProcessError):
            if child.pid != keep and child.uids().real == uid and (
                    child.status() == psutil.STATUS_ZOMBIE):
                os.waitpid(child.pid, os.WNOHANG)


def _kill_as(uid: int) -> None:
    # kill(-1) as the run's user signals every process that user owns, faster than a fork
    # storm can make new ones, and never the caller itself. A child interpreter does it, since
    # forking the grader (which may have threads) to change its user is not safe.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [sandbox_python(), "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
            user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", timeout=30,
            check=False,
        )


def run_script(
    submission: Path,
    script: str,
    *,
    unit: float,
    limits: Limits,
    start_method: str | None = None,
    python: str | None = None,
    owner: str = "local",
) -> Outcome:
    """Run ``script`` (a path relative to ``submission``) and return everything observed.

    ``owner`` tags the run (letters, digits, dots) so that :func:`sweep` can end it should
    this process die before it does.
    """
    uid = sandbox_uid()
    if uid is not None:
        _adopt_orphans()
    interpreter = sandbox_python(python)
    base = Path(tempfile.mkdtemp(prefix=_folder_prefix(owner)))
    token = _token(base)
    settled = False
    try:
        _prepare(base, submission, uid)
        env = _environment(base, base / "hook", unit, start_method)
        outcome, settled = _supervise(base, script, interpreter, env, uid, limits, token)
        return outcome
    finally:
        # However the run stopped (an interrupt at any point included), none of it outlives
        # its folder, which is how sweep() finds the runs of a grader that died; a run seen
        # to have nothing left alive needs no second look.
        if not settled:
            _kill_all(uid, -1, token, set())
        shutil.rmtree(base, ignore_errors=True)


def _supervise(
    base: Path, script: str, interpreter: str, env: dict[str, str], uid: int | None,
    limits: Limits, token: str,
) -> tuple[Outcome, bool]:
    """The run's outcome, and whether it was seen to end with none of its processes alive."""
    origin = now()
    proc = subprocess.Popen(
        [interpreter, "-u", "-B", "-s", script], cwd=base / "work", env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=_drop(uid, limits), close_fds=True,
    )
    ended: list[float] = []
    def wait() -> None:
        proc.wait()
        ended.append(now())

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    outcome = Outcome(returncode=None, wall=0.0, origin=origin, main_pid=proc.pid,
                      isolated=uid is not None)
    known = {proc.pid}
    try:
        _pump(proc, outcome, limits, origin, ended, known)
    finally:
        if not ended:
            outcome.timed_out = not outcome.flooded
            _kill_all(uid, proc.pid, token, known)
            waiter.join(timeout=5)
        outcome.wall = (ended[0] if ended else now()) - origin
        outcome.returncode = proc.returncode
        lingered = True
        if not outcome.timed_out and not outcome.flooded:
            outcome.leftovers = _linger(uid, proc.pid, token, known)
            # None of the run alive means none can start again: no process is left to fork.
            lingered = bool(outcome.leftovers)
        if lingered:
            _kill_all(uid, proc.pid, token, known)
        if uid is not None:
            _reap(uid, proc.pid)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    outcome.recording = read_recording(base / "rec")
    # Tracebacks name the private copy the script ran in; a student knows the file by its
    # path in the submission.
    outcome.stderr = outcome.stderr.replace(f"{base / 'work'}{os.sep}", "")
    return outcome, not lingered


def sweep(owner: str) -> list[str]:
    """Kill every process of the runs of ``owner`` or its parts (``a`` covers ``a.gw1``;
    ``a.gw1`` does not cover ``a.gw10``) and remove their folders.

    For runs whose grader died (a killed xdist worker) or was cut short: a run outlives its
    grader, since it has its own session and, as root, its own user.

    Returns what was killed, as "pid N: command" lines. As root a run's processes are found by
    its user id, taken from the grader pid in the folder's name; without root, by the mark in
    their environment (a process that cleared it escapes, as it does in :func:`run_script`).
    """
    root = Path(tempfile.gettempdir())
    killed: list[str] = []
    for base in sorted(root.glob(glob.escape(_FOLDER + owner) + "*")):
        found = _OWNED.match(base.name)
        if found is None or not base.is_dir():
            continue
        if found["owner"] != owner and not found["owner"].startswith(owner + "."):
            continue
        uid = 200_000 + int(found["pid"]) if os.geteuid() == 0 else None
        token = _token(base)
        killed += _describe(_members(uid, -1, token, set()))
        _kill_all(uid, -1, token, set())
        shutil.rmtree(base, ignore_errors=True)
    return killed


def _linger(uid: int | None, root_pid: int, token: str, known: set[int]) -> list[str]:
    deadline = now() + _GRACE
    while True:
        alive = _members(uid, root_pid, token, known)
        if not alive or now() > deadline:
            return _describe(alive)
        sleep_for(0.02)


def _pump(
    proc: subprocess.Popen[bytes], outcome: Outcome, limits: Limits, origin: float,
    ended: list[float], known: set[int],
) -> None:
    """Read output as it arrives until the main process ends, the limit passes, or it floods."""
    assert proc.stdout is not None and proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, "out")
    selector.register(proc.stderr, selectors.EVENT_READ, "err")
    deadline = origin + limits.wall
    total = 0
    partial = b""
    errors = bytearray()
    last_scan = 0.0
    try:
        while True:
            t = now()
            if ended and (not selector.get_map() or t - ended[0] > _GRACE):
                break
            if t > deadline or total > limits.output:
                outcome.flooded = total > limits.output
                break
            if sandbox_uid() is None and t - last_scan > 0.1:
                # Without a user id of its own, a run's processes are found by descent; look
                # often enough to see children before they are orphaned.
                last_scan = t
                known.update(c.pid for c in _children(proc.pid))
            for key, _ in selector.select(timeout=min(0.01, max(deadline - t, 0.0))):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                total += len(data)
                if key.data == "err":
                    errors += data[: max(0, limits.output - len(errors))]
                    continue
                stamp = now() - origin
                lines = (partial + data).split(b"\n")
                partial = lines.pop()
                outcome.stdout += [(stamp, line.decode(errors="replace")) for line in lines]
    finally:
        selector.close()
        if partial:
            outcome.stdout.append((now() - origin, partial.decode(errors="replace")))
        outcome.stderr = errors.decode(errors="replace")[-_STDERR_KEEP:]


def _children(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []
