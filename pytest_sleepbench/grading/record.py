"""What the start-up hook recorded in one run: sleeps, constructs used, results received."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.sink import Interval

__all__ = ["Recording", "read_recording"]

# A run may write its own lines into the record files; past this many they are not read.
_MAX_LINES = 20_000
_LAUNCHES = (".submit", ".map", "Process.start", "Thread.start")


@dataclass
class Recording:
    intervals: list[Interval] = field(default_factory=list)
    api: list[str] = field(default_factory=list)
    """Constructs the main process used, in order (``ProcessPoolExecutor.submit``, ...)."""
    delivered: list[int] = field(default_factory=list)
    """Submission indices of pool tasks, in the order the main process received results."""
    launches: list[float] = field(default_factory=list)
    """When the main process started a process or thread, or submitted or mapped pool work."""
    waits: list[float] = field(default_factory=list)
    """When the main process got a task's end back: a ``join`` or a result returned."""
    methods: list[str] = field(default_factory=list)
    """The start method of each process the script started and each pool it made."""
    ready: dict[int, tuple[float | None, float]] = field(default_factory=dict)
    """Each child process's (born, ready), by pid: when it was created and when it could
    first run, the end of its start-up."""
    started: float | None = None
    """When the main process reached the hook, before any line of the script: the first such
    record, which the script cannot have written itself."""


def _lines(path: Path) -> list[dict[str, object]]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(8 << 20)
    except OSError:
        return []
    out = []
    for line in raw.splitlines()[:_MAX_LINES]:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def read_recording(folder: Path) -> Recording:
    rec = Recording()
    intervals = []
    for item in _lines(folder / "intervals.jsonl"):
        try:
            intervals.append(Interval.from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue
    rec.intervals = sorted(intervals, key=lambda i: (i.start, i.end))
    for event in _lines(folder / "events.jsonl"):
        kind = event.get("kind")
        stamp = event.get("t")
        at = float(stamp) if isinstance(stamp, float) else None
        if kind == "api":
            name = str(event.get("name"))
            rec.api.append(name)
            if at is not None and name.endswith(_LAUNCHES):
                rec.launches.append(at)
        elif kind == "method":
            rec.methods.append(str(event.get("name")))
        elif kind == "result" and isinstance(event.get("task"), int):
            rec.delivered.append(int(str(event["task"])))
            if at is not None:
                rec.waits.append(at)
        elif kind == "joined" and at is not None:
            rec.waits.append(at)
        elif kind == "ready" and at is not None and isinstance(event.get("pid"), int):
            born = event.get("born")
            rec.ready.setdefault(int(str(event["pid"])),
                                 (float(born) if isinstance(born, float) else None, at))
        elif kind == "start" and isinstance(event.get("t"), float) and rec.started is None:
            rec.started = float(str(event["t"]))
    return rec


