"""Where tasks in any process, thread or coroutine record their intervals.

A sink is a path to an append-only file of JSON lines. Each record is one ``os.write`` on a file
opened with ``O_APPEND``, which the kernel keeps whole for records this small, so processes of
every start method, threads and subprocesses can share one sink with no lock and no pipe. A sink
pickles as its path, which is what lets a probe cross a ``spawn`` boundary.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .clock import born

__all__ = ["Interval", "Sink"]

# (pid, sink) pairs whose readiness this process stamped; a forked child inherits the set, but
# not the pid, so it stamps its own.
_STAMPED: set[tuple[int, str]] = set()


@dataclass(frozen=True)
class Interval:
    """One recorded sleep: which task, how long it asked for, where and when it ran.

    ``seconds`` is the requested duration in real seconds; ``start`` and ``end`` are stamps of
    :func:`pytest_sleepbench.core.clock.now`. ``task`` is the task's index in submission order,
    or ``None`` for a probe, which has no order of its own.
    """

    task: int | None
    seconds: float
    pid: int
    start: float
    end: float
    tid: int = 0
    ppid: int = 0
    label: str = ""
    waited: float = 0.0
    """Seconds the call's thread waited for a core just before it (see :mod:`.runqueue`)."""
    launcher: float = 0.0
    """Seconds its process's main thread had waited for a core, in all, when the call began
    (0 for a call in the main thread; see :mod:`.runqueue`)."""

    @property
    def elapsed(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Interval:
        return cls(
            task=None if data.get("task") is None else int(str(data["task"])),
            seconds=float(str(data["seconds"])),
            pid=int(str(data["pid"])),
            start=float(str(data["start"])),
            end=float(str(data["end"])),
            tid=int(str(data.get("tid", 0))),
            ppid=int(str(data.get("ppid", 0))),
            label=str(data.get("label", "")),
            waited=float(str(data.get("waited", 0.0))),
            launcher=float(str(data.get("launcher", 0.0))),
        )


@dataclass(frozen=True)
class Sink:
    path: str

    @classmethod
    def create(cls, path: str | os.PathLike[str]) -> Sink:
        Path(path).touch()
        return cls(os.fspath(path))

    def record(
        self,
        task: int | None,
        seconds: float,
        start: float,
        end: float,
        label: str = "",
        waited: float = 0.0,
        launcher: float = 0.0,
    ) -> Interval:
        interval = Interval(
            task=task,
            seconds=seconds,
            pid=os.getpid(),
            start=start,
            end=end,
            tid=threading.get_native_id(),
            ppid=os.getppid(),
            label=label,
            waited=waited,
            launcher=launcher,
        )
        self._append(interval.to_dict())
        return interval

    def mark_ready(self, at: float) -> None:
        """Stamp, once per process, when it could first run (``at``) and when it was created:
        the gap is start-up the machine spent, which no code is blamed for."""
        key = (os.getpid(), self.path)
        if key not in _STAMPED:
            _STAMPED.add(key)
            self._append({"ready": at, "born": born(), "pid": os.getpid()})

    def _append(self, record: dict[str, object]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def _records(self) -> Iterator[dict[str, object]]:
        try:
            text = Path(self.path).read_text()
        except FileNotFoundError:
            return
        for line in text.splitlines():
            # A task killed mid-write leaves at most one torn last line; it is not a record.
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record

    def readiness(self) -> dict[int, tuple[float | None, float]]:
        """Each stamped process's (born, ready), by pid; the first stamp of a pid counts."""
        found: dict[int, tuple[float | None, float]] = {}
        for r in self._records():
            if "ready" in r:
                born = r.get("born")
                found.setdefault(int(str(r["pid"])), (
                    None if born is None else float(str(born)), float(str(r["ready"]))))
        return found

    def __iter__(self) -> Iterator[Interval]:
        for record in self._records():
            if "ready" not in record:
                yield Interval.from_dict(record)

    def read(self) -> list[Interval]:
        return sorted(self, key=lambda i: (i.start, i.end))

    def clear(self) -> None:
        Path(self.path).write_bytes(b"")
