"""Where runs keep their folders, and how a grader ends the runs another one left.

A run's folder lies in one root folder of this user in the temporary folder, and the root is
trusted only if this user owns it and nobody else may write it: then every name in it was made
by a grader, never by a script (which could create anything in a shared ``/tmp``). Each run
records who started it and how to end it (``run.json``, written by the grader); a sweep acts on
those records alone, and never on a name found elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import psutil

from .procs import RunProcs, describe

__all__ = ["new_folder", "record", "root", "sweep"]

_OWNED = re.compile(r"sleepbench-grade-(?P<owner>[A-Za-z0-9.]+)-(?P<pid>[0-9]+)-")
_RECORD = "run.json"


def root() -> Path | None:
    """The trusted root of run folders, made if missing; None if something else holds its
    name (then runs get folders of their own, which no sweep will find)."""
    path = Path(tempfile.gettempdir()) / f"sleepbench-runs.{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o711)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return path


def new_folder(owner: str) -> Path:
    """A fresh run folder of ``owner`` (letters, digits and dots) for this process."""
    if not re.fullmatch(r"[A-Za-z0-9.]+", owner):
        raise ValueError(f"a run owner is letters, digits and dots, not {owner!r}")
    where = root()
    return Path(tempfile.mkdtemp(prefix=f"sleepbench-grade-{owner}-{os.getpid()}-", dir=where))


def record(base: Path, procs: RunProcs) -> None:
    """What a sweep needs to end the run: the process the grader started, its birth (so a
    reused pid is never mistaken for it), and how the run's processes are found."""
    try:
        started = psutil.Process(procs.root_pid).create_time()
    except psutil.Error:
        started = 0.0
    data = {"pid": procs.root_pid, "created": started, "namespaced": procs.namespaced,
            "uid": procs.uid, "token": procs.token, "kill_as": procs.kill_as}
    (base / _RECORD).write_text(json.dumps(data))


def sweep(owner: str) -> list[str]:
    """End every run of ``owner`` or its parts (``a`` covers ``a.gw1``; ``a.gw1`` does not
    cover ``a.gw10``) that its grader left, and remove their folders.

    For runs whose grader died (a killed xdist worker) or was cut short. Returns what was
    killed, as "pid N: command" lines.
    """
    where = root()
    if where is None:
        return []
    killed: list[str] = []
    for base in sorted(where.iterdir()):
        found = _OWNED.match(base.name)
        if found is None or (found["owner"] != owner
                             and not found["owner"].startswith(owner + ".")):
            continue
        procs = _recorded(base)
        if procs is not None:
            alive = procs.members()
            killed += describe(alive)
            procs.kill()
        shutil.rmtree(base, ignore_errors=True)
    return killed


def _recorded(base: Path) -> RunProcs | None:
    try:
        data = json.loads((base / _RECORD).read_text())
        procs = RunProcs(namespaced=bool(data["namespaced"]),
                         uid=None if data["uid"] is None else int(data["uid"]),
                         root_pid=int(data["pid"]), token=str(data["token"]),
                         kill_as=data.get("kill_as"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        same = psutil.Process(procs.root_pid).create_time() == float(data["created"])
    except psutil.Error:
        same = False
    if not same:
        if procs.namespaced:
            return None  # its namespace went with it; the pid may be another process's now
        procs.root_pid = -1  # found by its user id or its mark alone
    return procs
