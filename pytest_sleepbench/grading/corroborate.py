"""Whether a run's records agree with what the grader saw of it from outside.

The hook runs inside the student's interpreter, so every record is the script's word. The
grader's own observations bound it: when it launched the run and when the main process exited
(its clock), when each record arrived and which process sent it (the kernel's word, see
:mod:`.channel`), how each sender numbers itself and when it was born (``/proc``, read while it
lived). A record that contradicts them was not written by the hook as the script ran, and the
run is not graded on its records at all: one forged record makes every other one suspect.

The result is a list of reasons, empty when the records are believable.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .record import Claim, Recording

__all__ = ["Observation", "corroborate"]

# Stamps of one clock taken in causal order need no slack; this covers the rounding of
# printing and reading a float, and nothing a sleep could hide in.
_EPS = 0.001
# /proc gives a process's birth in clock ticks (1/100 s on Linux).
_TICK = 0.02
_SAID = 3
_STAMPS = {"sleep": ("start", "end"), "start": ("t",), "api": ("t",), "result": ("t",),
           "joined": ("t",), "method": ("t",), "pool": ("t",), "worker": ("t",),
           "ready": ("t",)}


@dataclass
class Observation:
    """What the grader saw of a run from outside it."""

    launch: float
    exit: float | None = None
    """When the main process was seen to end; None if it was killed still running."""
    uid: int | None = None
    """The run's own user, when it has one: no other may send."""
    inner: dict[int, int] = field(default_factory=dict)
    """Each sender's pid as it sees itself (its own pid namespace's numbering), by its pid in
    the grader's, where read while it lived."""
    births: dict[int, float] = field(default_factory=dict)
    """When each sender was born, on the grader's clock, where read while it lived."""


def corroborate(rec: Recording, seen: Observation) -> list[str]:
    reasons: list[str] = list(rec.forged)
    claims = rec.claims
    if claims and claims[0].kind != "start":
        reasons.append(f"the first record is a {claims[0].kind!r}, where the hook's first "
                       "record, sent before any line of the script ran, is its start")
    _once(reasons, "a record from a user other than the run's",
          [c for c in claims if seen.uid is not None and c.uid != seen.uid])
    _once(reasons, "an unknown kind of record", [c for c in claims if c.kind not in _STAMPS])
    _once(reasons, "a record stamped outside the run (before it was launched, or later than "
                   "it reached the grader)", [c for c in claims if not _in_time(c, seen)])
    _once(reasons, "an event that the main process did not send",
          [c for c in claims if c.kind not in ("sleep", "ready") and c.sender != rec.main])
    if rec.started is not None and seen.exit is not None and rec.started > seen.exit + _EPS:
        reasons.append("a start after the main process ended")
    _once(reasons, "a process that names itself by another pid than its own",
          [c for c in claims if not _own_pid(c, seen.inner)] + _several_names(claims))
    sleeps = [c for c in claims if c.kind == "sleep"]
    _once(reasons, "a sleep record without its start, end and length",
          [c for c in sleeps if not _whole(c)])
    sleeps = [c for c in sleeps if _whole(c)]
    _once(reasons, "a sleep that ended before its time was up",
          [c for c in sleeps if _end(c) - _start(c) < _num(c, "seconds") - _EPS])
    _once(reasons, "a sleep that began before its process was born",
          [c for c in sleeps if c.sender in seen.births
           and _start(c) < seen.births[c.sender] - _TICK])
    _once(reasons, "two sleeps at once in one thread", _overlapping(sleeps))
    _once(reasons, "a result received before its task's sleep ended", _early(rec, sleeps))
    return reasons


def _once(reasons: list[str], what: str, found: Sequence[Claim]) -> None:
    if found:
        reasons.append(f"{what}: {len(found)} record(s), e.g. {_show(found[0])}")


def _show(claim: Claim) -> str:
    shown = {"kind": claim.kind, **claim.fields}
    text = ", ".join(f"{k}={v!r}" for k, v in list(shown.items())[:6])
    return f"{{{text[:160]}}} from pid {claim.sender}"


def _num(claim: Claim, key: str) -> float:
    value = claim.fields.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _start(claim: Claim) -> float:
    return _num(claim, "start")


def _end(claim: Claim) -> float:
    return _num(claim, "end")


def _whole(claim: Claim) -> bool:
    return all(isinstance(claim.fields.get(k), int | float)
               and not isinstance(claim.fields.get(k), bool)
               for k in ("start", "end", "seconds", "pid"))


def _in_time(claim: Claim, seen: Observation) -> bool:
    for key in _STAMPS.get(claim.kind, ()):
        if key not in claim.fields:
            continue
        stamp = _num(claim, key)
        if not seen.launch - _EPS <= stamp <= claim.at + _EPS:
            return False
    return True


def _own_pid(claim: Claim, inner: Mapping[int, int]) -> bool:
    said = claim.fields.get("pid")
    if claim.kind not in ("sleep", "ready") or not isinstance(said, int):
        return True
    known = inner.get(claim.sender)
    return known is None or said == known


def _several_names(claims: Sequence[Claim]) -> list[Claim]:
    """The claims of each process that named itself by more than one pid: caught even when
    it ended before the grader could read the pid it really had (see :func:`_own_pid`)."""
    said: dict[int, set[object]] = defaultdict(set)
    for claim in claims:
        if claim.kind in ("sleep", "ready") and isinstance(claim.fields.get("pid"), int):
            said[claim.sender].add(claim.fields["pid"])
    return [c for c in claims if len(said.get(c.sender, ())) > 1]


def _overlapping(sleeps: Sequence[Claim]) -> list[Claim]:
    by_strand: dict[tuple[int, object], list[Claim]] = defaultdict(list)
    for claim in sleeps:
        by_strand[(claim.sender, claim.fields.get("tid"))].append(claim)
    found = []
    for strand in by_strand.values():
        strand.sort(key=_start)
        found += [b for a, b in itertools.pairwise(strand)
                  if _start(b) < _end(a) - _EPS]
    return found


def _early(rec: Recording, sleeps: Sequence[Claim]) -> list[Claim]:
    """Results of pool tasks received before any sleep of that task had ended, which no pool
    can deliver: a worker returns a task's result after its sleep."""
    ends: dict[int, float] = {}
    for claim in sleeps:
        task = claim.fields.get("task")
        if isinstance(task, int) and claim.sender != rec.main:
            ends[task] = min(ends.get(task, _end(claim)), _end(claim))
    return [c for c in rec.claims if c.kind == "result" and c.sender == rec.main
            and isinstance(c.fields.get("task"), int)
            and _num(c, "t") < ends.get(int(str(c.fields["task"])), float("-inf")) - _EPS]
