"""A run's folder: a private copy of the submission, the start-up hook, and the environment
that points the run at them.

The folder and everything in it but the work copy belong to the grader; the run may read its
hook and write its copy, nothing else.
"""

from __future__ import annotations

import functools
import os
import py_compile
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from . import isolation

__all__ = ["environment", "prepare", "token"]

_HOOK = Path(__file__).with_name("_hook.py")
_COPY_SKIP = shutil.ignore_patterns("__pycache__", ".git", "*.pyc")
_PAGE = 4096


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


def environment(base: Path, unit: float, start_method: str | None, namespaced: bool
                 ) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(base / "work"),
        "TMPDIR": isolation.private_temp if namespaced else str(base / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(base / "hook"),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        # The mark that finds a run's processes where nothing stronger does (no user id, no
        # namespace of its own).
        "SLEEPBENCH_GRADE_INTERVALS": token(base),
        "SLEEPBENCH_GRADE_CHANNEL": str(base / "chan"),
        "SLEEPBENCH_GRADE_UNIT": repr(unit),
    }
    if start_method:
        env["SLEEPBENCH_GRADE_START_METHOD"] = start_method
    return env


def token(base: Path) -> str:
    return str(base / "rec")


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


def prepare(base: Path, submission: Path, uid: int | None, *, namespaced: bool) -> int:
    """Make the run's folder; return the bytes its copy of the submission takes in memory.

    Namespaced, the copy is made at ``copy``, and the run's init copies it into ``work``, a
    tmpfs of that size plus the run's scratch allowance, so what a run writes in its own
    folder is capped in total like everything else it writes.
    """
    copy = base / ("copy" if namespaced else "work")
    shutil.copytree(submission, copy, symlinks=True, ignore=_copy_skip)
    if namespaced:
        (base / "work").mkdir()
    (base / "hook").mkdir()
    shutil.copyfile(_HOOK, base / "hook" / "sitecustomize.py")
    (base / "hook" / "__pycache__").mkdir()
    cached = base / "hook" / "__pycache__" / f"sitecustomize.{sys.implementation.cache_tag}.pyc"
    cached.write_bytes(_hook_bytecode())
    (base / "tmp").mkdir()
    # The run may read its hook and write its work folder, nothing else of its folder: the
    # folder and its records are the grader's.
    os.chmod(base, 0o711)
    for path in (base / "hook", base / "hook" / "__pycache__"):
        os.chmod(path, 0o755)
    for path in (base / "hook" / "sitecustomize.py", cached):
        os.chmod(path, 0o644)
    size = 0
    for root, dirs, files in os.walk(copy):
        for name in [*dirs, *files]:
            entry = os.path.join(root, name)
            # tmpfs keeps whole pages, one at least for each entry.
            size += _PAGE + -(-os.lstat(entry).st_size // _PAGE) * _PAGE
            if uid is not None:
                os.lchown(entry, uid, uid)
    if uid is not None:
        for path in (copy, base / "tmp"):
            os.chown(path, uid, uid)
            # Runs of other users must not read this one's copy.
            os.chmod(path, 0o700)
    return size
