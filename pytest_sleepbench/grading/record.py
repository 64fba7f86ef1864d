"""What the start-up hook recorded in one run: sleeps, constructs used, results received.

Records arrive through the grader's :class:`~.channel.Channel`, each with the sending process
named by the kernel and its arrival stamped by the grader. Parsing is strict: a record that is
not one the hook writes (not a JSON object of short scalars, a number that is not finite, a
field too long) is kept out and named, since only a script that wrote its own records sends
one, and such a run is not graded on them (see :mod:`.corroborate`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.sink import Interval
from .channel import Message

__all__ = ["Claim", "Recording", "read_recording"]

_LAUNCHES = (".submit", ".map", "Process.start", "Thread.start")
_MAX_TEXT = 200
_MAX_INT = 1 << 62
_SAID = 3
"""How many bad records a reason quotes; the rest are counted."""


@dataclass(frozen=True)
class Claim:
    """One record as it arrived: what it says, which process sent it, and when."""

    kind: str
    fields: dict[str, object]
    sender: int
    """The sending process, from the kernel (the grader's pid namespace); 0 when unknown."""
    uid: int
    at: float


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
    pools: list[int] = field(default_factory=list)
    """The size (``max_workers``) of each process pool the main process made."""
    pool_workers: list[int] = field(default_factory=list)
    """The pid of each worker process those pools started, as the main process numbers them
    (its own pid namespace's); the grader believes only those it saw send records itself."""
    selves: dict[int, int] = field(default_factory=dict)
    """Which process (the grader's pid) sent a child's readiness, by the pid it gave itself
    there: what a worker named by the main process is, even if it ended too soon for the
    grader to read how it numbers itself."""
    ready: dict[int, tuple[float | None, float]] = field(default_factory=dict)
    """Each child process's (born, ready), by pid: when it could first run, the end of its
    start-up; its birth is not taken from the script's word, so it is always ``None``."""
    started: float | None = None
    """When the main process reached the hook, before any line of the script: the first
    record of the run, which the script cannot have sent itself."""
    main: int = 0
    """The process that sent that first record, by the kernel's word."""
    claims: list[Claim] = field(default_factory=list)
    forged: tuple[str, ...] = ()
    """Why the records cannot be believed; empty when they can."""


class _NotFinite(ValueError):
    pass


def _reject(constant: str) -> float:
    raise _NotFinite(f"{constant}: a number that is not finite")


def _problem(fields: object) -> str | None:
    if not isinstance(fields, dict):
        return "not a JSON object"
    for key, value in fields.items():
        if len(key) > _MAX_TEXT:
            return "a field name too long"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key}: a number that is not finite"
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
            return f"{key}: a number out of range"
        if isinstance(value, str) and len(value) > _MAX_TEXT:
            return f"{key}: {len(value)} characters, more than the hook ever writes"
        if not (value is None or isinstance(value, bool | int | float | str)):
            return f"{key}: not a number or a short text"
    return None


def _parse(messages: Sequence[Message]) -> tuple[list[Claim], list[str]]:
    claims: list[Claim] = []
    bad: list[str] = []
    for message in messages:
        try:
            fields = json.loads(message.data, parse_constant=_reject)
            problem = _problem(fields)
        except _NotFinite as error:
            problem = str(error)
        except (ValueError, RecursionError) as error:
            problem = f"not JSON ({str(error)[:60]})"
        if problem is None and not isinstance(fields.get("kind"), str):
            problem = "no kind"
        if problem is not None:
            bad.append(problem)
            continue
        claims.append(Claim(str(fields.pop("kind")), fields, message.pid, message.uid,
                            message.at))
    if not bad:
        return claims, []
    said = "; ".join(bad[:_SAID]) + (f"; and {len(bad) - _SAID} more" if len(bad) > _SAID
                                     else "")
    return claims, [f"{len(bad)} record(s) the hook never writes: {said}"]


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stamp(value: object) -> float | None:
    return float(value) if isinstance(value, float | int) and not isinstance(value, bool) else None


def read_recording(messages: Sequence[Message], problems: Sequence[str] = ()) -> Recording:
    """The run's records, each attributed to the process the kernel says sent it."""
    claims, bad = _parse(messages)
    rec = Recording(claims=claims, forged=(*problems, *bad))
    if claims and claims[0].kind == "start":
        rec.main = claims[0].sender
        rec.started = _stamp(claims[0].fields.get("t"))
    intervals = []
    for claim in claims:
        item, at, sender = claim.fields, _stamp(claim.fields.get("t")), claim.sender
        if claim.kind == "sleep":
            try:
                interval = Interval.from_dict(item)
            except (KeyError, TypeError, ValueError):
                continue
            intervals.append(interval if not sender else _as(interval, sender))
        elif claim.kind == "ready" and at is not None:
            # A birth the script reported could only excuse it, so none is taken: the judge
            # then counts a child's start-up from its readiness alone.
            rec.ready.setdefault(sender or int(str(item.get("pid", 0))), (None, at))
            if sender and _whole(item.get("pid")):
                rec.selves.setdefault(int(str(item["pid"])), sender)
        elif sender != rec.main:
            continue  # only the main process reports events; corroborate names the others
        elif claim.kind == "api":
            name = str(item.get("name"))
            rec.api.append(name)
            if at is not None and name.endswith(_LAUNCHES):
                rec.launches.append(at)
        elif claim.kind == "method":
            rec.methods.append(str(item.get("name")))
        elif claim.kind == "pool" and _whole(item.get("workers")):
            rec.pools.append(int(str(item["workers"])))
        elif claim.kind == "worker" and _whole(item.get("pid")):
            rec.pool_workers.append(int(str(item["pid"])))
        elif claim.kind == "result" and isinstance(item.get("task"), int):
            rec.delivered.append(int(str(item["task"])))
            if at is not None:
                rec.waits.append(at)
        elif claim.kind == "joined" and at is not None:
            rec.waits.append(at)
    rec.intervals = sorted(intervals, key=lambda i: (i.start, i.end))
    return rec


def _as(interval: Interval, pid: int) -> Interval:
    """The interval of the process that really sent it: pids are the grader's, not the
    script's (which a pid namespace numbers apart, and a script can say anything about)."""
    return Interval(interval.task, interval.seconds, pid, interval.start, interval.end,
                    interval.tid, interval.ppid, interval.label)
