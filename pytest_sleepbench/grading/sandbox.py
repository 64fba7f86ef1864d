"""Run one script the way the grader trusts nothing about it.

The script gets a private copy of its submission as working directory, a scrubbed environment,
its own session, caps on memory, processes, file size and output, and a wall-clock limit, in
the strongest isolation the machine allows (see :mod:`.isolation`): as root, its own pid,
mount, network, IPC and UTS namespaces and a user id no run had before. Its records reach the
grader through a channel the grader owns (:mod:`.channel`) and are checked against what the
grader saw (:mod:`.corroborate`).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from . import isolation, procs
from .channel import Channel
from .corroborate import Observation, corroborate
from .folder import environment, prepare, token
from .outcome import Limits, Outcome
from .pump import Pump
from .record import read_recording
from .runs import new_folder, record, sweep

__all__ = ["REIMPORT", "Limits", "Outcome", "run_script", "sandbox_python", "sweep"]

#: The ``start_method`` of the main-guard run: every child imports the script afresh, as under
#: spawn (a forkserver with nothing preloaded where there is one, which does that in a fork of
#: a clean server instead of a new interpreter per child; spawn elsewhere).
REIMPORT = "reimport"


# Processes of the run may still be on their way out when the main one exits (a forkserver, a
# resource tracker, pool workers told to stop); they get this long before they count as left.
_GRACE = 0.5


_PYTHONS: dict[str, str] = {}


def sandbox_python(preferred: str | None = None) -> str:
    """An interpreter the sandbox user can run: the grader's own if it may, else a system one.

    A grader installed under a private home (pyenv in /root) is not executable by an
    unprivileged user, and one under /tmp is out of a namespaced run's sight, so the first
    ``python3`` on the standard path that serves takes its place.
    """
    key = preferred or ""
    if key in _PYTHONS:
        return _PYTHONS[key]
    candidates = [preferred] if preferred else [sys.executable]
    if not preferred:
        for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
            candidates.append(os.path.join(folder, "python3"))
    uid = isolation.fresh_uid() if os.geteuid() == 0 else None
    hidden = isolation.level() in isolation.NAMESPACED
    for candidate in candidates:
        assert candidate is not None
        if not os.path.exists(candidate) or (hidden and isolation.reaches_covered(candidate)):
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


def _drop(uid: int | None, limits: Limits | None, *, namespaced: bool = False,
          idle: bool = False) -> Callable[[], None]:
    def setup() -> None:
        os.setsid()
        if idle:
            # Inherited by every process of the run; leaving the class takes a privilege the
            # run does not have.
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        if namespaced:
            procs.die_with_parent()
        if limits is not None:
            for kind, value in (
                (resource.RLIMIT_AS, limits.memory),
                (resource.RLIMIT_FSIZE, limits.file_size),
                (resource.RLIMIT_CORE, 0),
                # No way out of the idle scheduling class, nor to a higher priority.
                (resource.RLIMIT_NICE, 0),
            ):
                resource.setrlimit(kind, (value, value))
            if uid is not None:
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if uid is not None and not namespaced:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return setup


def run_script(
    submission: Path,
    script: str,
    *,
    unit: float,
    limits: Limits,
    start_method: str | None = None,
    python: str | None = None,
    owner: str = "local",
    idle: bool = False,
    launched: Callable[[procs.RunProcs], None] | None = None,
) -> Outcome:
    """Run ``script`` (a path relative to ``submission``) and return everything observed.

    ``owner`` tags the run (letters, digits, dots) so that :func:`sweep` can end it should
    this process die before it does. ``idle`` runs it in the idle scheduling class (it then
    gets only CPU nothing else wants); ``launched`` is handed its processes once the first
    one exists.
    """
    level = isolation.level()
    namespaced = level in isolation.NAMESPACED
    uid = isolation.fresh_uid() if os.geteuid() == 0 else None
    if uid is not None and not namespaced:
        procs.adopt_orphans()
    interpreter = sandbox_python(python)
    base = new_folder(owner)
    channel = Channel(base / "chan", uid)
    run: procs.RunProcs | None = None
    settled = False
    try:
        size = prepare(base, submission, uid, namespaced=namespaced)
        channel.open()
        env = environment(base, unit, start_method, namespaced)
        argv = [interpreter, "-u", "-B", "-s", script]
        pump = Pump(channel, limits, namespaced)
        run = procs.RunProcs(namespaced, uid, -1, token(base), kill_as=interpreter)
        outcome, settled = _supervise(base, submission, argv, env, run, limits, pump, size,
                                      idle=idle, launched=launched)
        outcome.sandbox = level
        return outcome
    finally:
        # However the run stopped (an interrupt at any point included), none of it outlives
        # its folder; a run seen to have nothing left alive needs no second look.
        if run is not None and not settled:
            run.kill()
        channel.close()
        shutil.rmtree(base, ignore_errors=True)


def _launch(base: Path, submission: Path, argv: list[str], env: dict[str, str],
            run: procs.RunProcs, limits: Limits, status: int | None, work: int, idle: bool
            ) -> subprocess.Popen[bytes]:
    if run.namespaced:
        assert status is not None
        argv = isolation.command(argv, base=base, uid=run.uid, scratch=limits.scratch,
                                 hide=submission.resolve().parent, work=work)
    return subprocess.Popen(
        argv, cwd=base / "work", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL if status is None else status, close_fds=True,
        preexec_fn=_drop(run.uid, limits, namespaced=run.namespaced, idle=idle),
    )


def _supervise(
    base: Path, submission: Path, argv: list[str], env: dict[str, str], run: procs.RunProcs,
    limits: Limits, pump: Pump, work: int, *, idle: bool = False,
    launched: Callable[[procs.RunProcs], None] | None = None,
) -> tuple[Outcome, bool]:
    """The run's outcome, and whether it was seen to end with none of its processes alive."""
    status_read, status_write = os.pipe() if run.namespaced else (None, None)
    try:
        origin = pump.start()
        proc = _launch(base, submission, argv, env, run, limits, status_write, work, idle)
    finally:
        if status_write is not None:
            os.close(status_write)
    run.root_pid = proc.pid
    run.known.add(proc.pid)
    if launched is not None:
        launched(run)
    record(base, run)
    if status_read is None:
        waiter = threading.Thread(target=lambda: pump.ended(proc.wait()), daemon=True)
        waiter.start()
    outcome = Outcome(returncode=None, wall=0.0, origin=origin, main_pid=proc.pid,
                      isolated=run.uid is not None or run.namespaced)
    try:
        pump.run(proc, outcome, status_read, run)
    finally:
        if pump.exit is None:
            outcome.timed_out = not outcome.flooded
            run.kill()
        outcome.wall = (pump.exit if pump.exit is not None else pump.now()) - origin
        outcome.returncode = pump.code
        lingered = True
        if not outcome.timed_out and not outcome.flooded:
            outcome.leftovers = run.linger(_GRACE)
            # None of the run alive means none can start again: no process is left to fork.
            lingered = bool(outcome.leftovers)
        if lingered or run.namespaced:
            run.kill()
        if run.namespaced:
            proc.wait()
        run.reap(proc.pid)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        if status_read is not None:
            os.close(status_read)
    pump.channel.close()
    outcome.recording = read_recording(pump.channel.messages, pump.channel.problems)
    if outcome.recording.main:
        outcome.main_pid = outcome.recording.main
    observation = Observation(launch=origin, exit=pump.exit, uid=run.uid, inner=pump.inner,
                              births=pump.births)
    outcome.forged = tuple(corroborate(outcome.recording, observation))
    outcome.inner = dict(pump.inner)
    outcome.samples = tuple(pump.samples)
    outcome.threads = pump.threads()
    outcome.recording.forged = outcome.forged
    # Tracebacks name the private copy the script ran in; a student knows the file by its
    # path in the submission.
    outcome.stderr = outcome.stderr.replace(f"{base / 'work'}{os.sep}", "")
    return outcome, not lingered or run.namespaced

