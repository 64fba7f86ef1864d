"""Writing reports: whole or not at all, and checked before any time is spent on them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["path_problem", "write_atomic"]


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: an interrupted write leaves the old file
    (or none), never half a report. The file gets the mode a plain ``open`` would give it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        # mkstemp makes the file private (0600); a report is meant to be read and uploaded.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it, so set it straight back
    os.umask(mask)
    return mask


def path_problem(path: Path, *, folder: bool) -> str | None:
    """Why a report cannot be written at ``path`` (a file, or with ``folder`` a folder of
    files), or None. Checked before grading, so that a wrong path costs no grading time."""
    if folder and path.exists() and not path.is_dir():
        return f"{path} is a file, where a folder of <submission>.json files is written"
    if not folder and path.is_dir():
        return f"{path} is a folder, where the report file is written"
    ancestor = next((p for p in path.parents if p.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        return f"{ancestor} is a file, so nothing can be written under it"
    if ancestor is not None and not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not writable"
    return None
