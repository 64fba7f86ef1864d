"""How strongly a run is isolated, and the command that isolates it.

The tool is util-linux ``unshare``, part of every Debian (and every other Linux distribution's
base system), maintained upstream with the kernel interfaces it wraps; see docs/GRADING.md for
why it was chosen over bubblewrap and nsjail. One ``unshare`` makes the namespaces, and a few
lines of ``sh`` as the run's init set up the mounts and drop to the run's user with
``setpriv`` (also util-linux) before the script's interpreter starts, so a run costs a few
small execs, never a second interpreter.

Levels, strongest first (``level()`` says which this machine allows):

* ``namespaces`` (root): pid, mount, network, IPC and UTS namespaces, and a user id never used
  before in this grader, with no capabilities.
* ``user-namespace`` (not root, where the kernel allows unprivileged user namespaces): the same
  namespaces, inside a user namespace of the grader's own user.
* ``uid`` (root, namespaces refused): a user id of its own per run, nothing else.
* ``none``: the grader's own user; its processes are found by descent and a mark.
"""

from __future__ import annotations

import functools
import os
import secrets
import select
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["DESCRIPTIONS", "NAMESPACED", "command", "fresh_uid", "issued_uids", "level",
           "private_temp"]

DESCRIPTIONS = {
    "namespaces": "own pid, mount, network, IPC and UTS namespaces, private /tmp, /var/tmp and "
                  "/dev/shm, no network, a fresh user id per run",
    "user-namespace": "own user, pid, mount, network, IPC and UTS namespaces, private /tmp, "
                      "/var/tmp and /dev/shm, no network (not root: the grader's own user id)",
    "uid": "a fresh user id per run only (namespaces unavailable: shared /tmp, network open)",
    "none": "the grader's own user, no namespaces (not root and no user namespaces): weak "
            "isolation, a script could signal the grader",
}
NAMESPACED = ("namespaces", "user-namespace")
#: Where a namespaced run finds its private temporary folder.
private_temp = "/tmp"

_FLAGS = ("--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc", "--net",
          "--mount-proc", "--propagation", "private")
# The run's init: mounts (one `mount` for all, from a table the grader wrote), then the script
# as the run's user, then its exit status to the grader, then nothing until the grader ends the
# namespace (and every process in it) by ending this. The run's folder is bound back at its own
# path from the init's working directory (/proc/self/cwd, uncanonicalized, since its path is
# covered by then), so every path the grader gave the run means the same inside.
_INIT = r"""
b=$1 u=$2; shift 2
exec 3>&0 0</dev/null
cd "$b" && mount -c -a -T "$b/fstab" && cp -a "$b/copy/." "$b/work/" || exit 125
cd "$b/work" || exit 125
setpriv ${u:+--reuid=$u --regid=$u --clear-groups} --bounding-set=-all --inh-caps=-all \
  --no-new-privs -- "$@" 3>&-
echo $? >&3
exec 3>&- 0</dev/null >/dev/null 2>&1
exec sleep infinity
"""
# /tmp last: the run's folder, bound back after, may lie under it.
_COVERED = ("/dev/shm", "/var/tmp", "/run/lock", "/tmp")
_issued: set[int] = set()
# Well above the ranges distributions hand out (users, systemd's dynamic users, subuids).
_UID_FLOOR = 1 << 28
_UID_CEILING = 1 << 31


def fresh_uid() -> int:
    """A user id for one run (root only), never given out before by this grader process and
    drawn at random from a range no account uses, so concurrent graders do not meet either."""
    while True:
        uid = _UID_FLOOR + secrets.randbelow(_UID_CEILING - _UID_FLOOR)
        if uid not in _issued:
            _issued.add(uid)
            return uid


def issued_uids() -> frozenset[int]:
    return frozenset(_issued)


def command(argv: list[str], *, base: Path, uid: int | None, scratch: int, hide: Path | None,
            work: int = 0) -> list[str]:
    """``argv`` run namespaced, its init writing the main process's exit status to what it
    gets as stdin (dash's redirections take one-digit descriptors only; the script's stdin is
    /dev/null). Writes the run's mount table into ``base``: each shared temporary folder an
    empty tmpfs of ``scratch`` bytes, the run's ``work`` folder a tmpfs its init copies
    ``base/copy`` into, of ``work`` bytes more, and ``hide`` (the other submissions) covered
    by an empty folder, where nothing the run needs lies under it."""
    user = ["--user", "--map-root-user"] if os.geteuid() != 0 else []
    options = f"size={scratch},nr_inodes=4096,mode=1777,nosuid,nodev"
    table = [f"sleepbench {_escape(d)} tmpfs {options} 0 0" for d in _COVERED
             if os.path.isdir(d)]
    table.append(f"/proc/self/cwd {_escape(str(base))} none bind,X-mount.mkdir 0 0")
    # The run's own folder: its copy of the submission (``work`` bytes) and room to write.
    owner = "" if uid is None else f",uid={uid},gid={uid}"
    table.append(f"sleepbench {_escape(str(base / 'work'))} tmpfs size={work + scratch},"
                 f"nr_inodes=4096,mode=700{owner},nosuid,nodev 0 0")
    if hide is not None and hide.is_dir() and not reaches_covered(str(hide)) and _may_hide(
            hide, base, argv[0]):
        table.append(f"sleepbench {_escape(str(hide))} tmpfs ro,size=4k,mode=755 0 0")
    fstab = base / "fstab"
    fstab.write_text("\n".join(table) + "\n")
    fstab.chmod(0o600)
    return [_unshare() or "unshare", *user, *_FLAGS, "--", "/bin/sh", "-c", _INIT,
            "sleepbench-init", str(base), "" if uid is None else str(uid), *argv]


def _escape(path: str) -> str:
    """A path as a mount table field (spaces and the like octal-escaped, as fstab(5) says)."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def _may_hide(folder: Path, base: Path, interpreter: str) -> bool:
    folder = folder.resolve()
    needed = (base.resolve(), Path(interpreter).resolve(), Path(interpreter).parent)
    return folder != Path("/") and not any(p == folder or folder in p.parents
                                           for p in needed)


def reaches_covered(path: str) -> bool:
    """Whether ``path`` lies where a namespaced run sees an empty private folder instead."""
    resolved = Path(path).resolve()
    return any(resolved == Path(c) or Path(c) in resolved.parents for c in _COVERED)


def _unshare() -> str | None:
    for found in (shutil.which("unshare"), "/usr/bin/unshare", "/bin/unshare"):
        if found and os.access(found, os.X_OK) and shutil.which("setpriv"):
            return found
    return None


@functools.cache
def level() -> str:
    """The strongest isolation this machine gives a run, tried once per grader process."""
    if _unshare() is not None and _works():
        return "namespaces" if os.geteuid() == 0 else "user-namespace"
    return "uid" if os.geteuid() == 0 else "none"


def _works() -> bool:
    with tempfile.TemporaryDirectory(prefix="sleepbench-probe-") as folder:
        base = Path(folder)
        (base / "work").mkdir()
        (base / "copy").mkdir()
        uid = fresh_uid() if os.geteuid() == 0 else None
        if uid is not None:
            os.chmod(base, 0o711)
            os.chown(base / "copy", uid, uid)
        read, write = os.pipe()
        try:
            argv = command(["/bin/true"], base=base, uid=uid, scratch=1 << 20, hide=None)
            proc = subprocess.Popen(argv, stdin=write,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError:
            os.close(write)
            os.close(read)
            return False
        os.close(write)
        try:
            ready, _, _ = select.select([read], [], [], 10)
            return bool(ready) and os.read(read, 64).strip() == b"0"
        finally:
            os.close(read)
            proc.kill()
            proc.wait()
