"""Probes: stand-ins for other projects' slow calls that record when they ran.

A probe pickles as its duration and its sink's path, so it can be handed to a thread, an
executor or a ``Process`` of any start method, and each call lands in the same timeline.
"""

from __future__ import annotations

import multiprocessing.util
import os
from dataclasses import dataclass, field

from .clock import now, sleep_for
from .sink import Sink

__all__ = ["AsyncProbe", "Probe"]

# When this process could first run a probe: as a multiprocessing child begins to run its
# target (its bootstrap runs the after-fork hooks, under every start method, once the main
# module is imported again); or when this module was imported, or the process forked, for
# children multiprocessing did not start.
_READY = now()


def _ready_now(_: object = None) -> None:
    global _READY
    _READY = now()


class _Hook:
    """What multiprocessing's after-fork registry holds (weakly) for this module."""


_HOOK = _Hook()
multiprocessing.util.register_after_fork(_HOOK, _ready_now)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ready_now)


def _label(args: tuple[object, ...]) -> str:
    try:
        return ", ".join(repr(a) for a in args)[:40]
    except Exception:  # a caller's object whose repr fails must not fail the probe
        return f"{len(args)} argument(s)"


@dataclass(frozen=True)
class Probe:
    """Call it with any arguments: it sleeps ``seconds`` and records the interval."""

    seconds: float
    sink: Sink
    owner: int = field(default_factory=os.getpid)
    """The process the probe was made in: called in another process, the call ends that
    process once the owner is gone, so a test cut off by a timeout leaves none behind."""

    def __call__(self, *args: object, **kwargs: object) -> None:
        watch = None if os.getpid() == self.owner else self.owner
        if watch is not None:
            self.sink.mark_ready(_READY)
        start, end = sleep_for(self.seconds, watch=watch)
        self.sink.record(None, self.seconds, start, end, label=_label(args))


@dataclass(frozen=True)
class AsyncProbe:
    """The asyncio twin of :class:`Probe`: awaiting it sleeps without blocking the loop."""

    seconds: float
    sink: Sink

    async def __call__(self, *args: object, **kwargs: object) -> None:
        import asyncio  # only code that awaits a probe pays for importing asyncio

        start = now()
        await asyncio.sleep(self.seconds)
        # The loop may wake a coroutine a hair early on coarse clocks; finish the promise.
        while now() - start < self.seconds:
            await asyncio.sleep(self.seconds - (now() - start))
        self.sink.record(None, self.seconds, start, now(), label=_label(args))
