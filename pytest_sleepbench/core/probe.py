"""Probes: stand-ins for other projects' slow calls that record when they ran; and recording
wrappers around the real calls.

A probe pickles as its duration (or the function that gives it), what it returns, its label and
its sink's path, so it can be handed to a thread, an executor or a ``Process`` of any start
method, and each call lands in the same timeline; the functions pickle by name, so they must
be module-level ones where a ``spawn`` child is to call the probe.
"""

from __future__ import annotations

import functools
import inspect
import math
import multiprocessing.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from . import runqueue
from .clock import now, sleep_for
from .sink import Sink

__all__ = ["AsyncProbe", "Label", "Probe", "Seconds", "checked_seconds", "recording", "stop_at"]

#: What a probe sleeps: seconds, or a function of the call's arguments that gives them.
Seconds = float | Callable[..., float]
#: How a call is labelled: one text for every call, or a function of the call's arguments.
Label = str | Callable[..., str] | None

F = TypeVar("F", bound=Callable[..., Any])

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


_STOP_AT: dict[str, float] = {}
"""When the probes of a sink must stop sleeping in this process's threads, by the sink's path:
the test's time limit (see :meth:`~.bench.Bench.stop_probes_at`)."""


def stop_at(sink: Sink, when: float | None) -> None:
    """Make the probes recording into ``sink`` stop sleeping in threads at ``when`` (a stamp
    of :func:`~.clock.now`), raising :class:`~.clock.Stopped`; ``None`` lifts it."""
    if when is None:
        _STOP_AT.pop(sink.path, None)
    else:
        _STOP_AT[sink.path] = when


def _label(args: tuple[object, ...]) -> str:
    try:
        return ", ".join(repr(a) for a in args)[:40]
    except Exception:  # a caller's object whose repr fails must not fail the probe
        return f"{len(args)} argument(s)"


def checked_seconds(seconds: object) -> float:
    """A probe's length: a sleep can be neither negative, nor endless, nor not a number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"a probe sleeps a number of seconds, got {seconds!r}")
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"a probe sleeps a finite, non-negative number of seconds, "
                         f"got {seconds!r}")
    return float(seconds)


def _given(value: object, args: tuple[object, ...], kwargs: dict[str, object]) -> object:
    return value(*args, **kwargs) if callable(value) else value


def _name(label: Label, args: tuple[object, ...], kwargs: dict[str, object]) -> str:
    return _label(args) if label is None else str(_given(label, args, kwargs))


@dataclass(frozen=True)
class Probe:
    """Call it with any arguments: it sleeps ``seconds`` (or what ``seconds(*args,
    **kwargs)`` gives), records the interval labelled ``label`` (or its result; by default
    the arguments), and returns ``returns`` (or its result)."""

    seconds: Seconds
    sink: Sink
    owner: int = field(default_factory=os.getpid)
    """The process the probe was made in: called in another process, the call ends that
    process once the owner is gone, so a test cut off by a timeout leaves none behind."""
    returns: object = None
    label: Label = None

    def __call__(self, *args: object, **kwargs: object) -> Any:
        # The call begins when it is made. The reads below release the GIL, and with other
        # threads runnable, taking it back can cost a switch interval (5 ms) each: a start
        # stamped after them could seem later than the code made the call by more than the
        # jitter, and a rate limiter that admitted it in time would seem broken.
        begun = now()
        seconds = checked_seconds(_given(self.seconds, args, kwargs))
        label = _name(self.label, args, kwargs)
        watch = None if os.getpid() == self.owner else self.owner
        if watch is not None:
            self.sink.mark_ready(_READY)
            # In a child, no call begins before the child said it was ready.
            begun = now()
        waited, launcher = runqueue.call_began(), runqueue.launcher_total()
        # In a thread of the test's own process, nothing else ends the sleep when the test's
        # time limit passes: its executor would wait for it, and the test with it.
        until = _STOP_AT.get(self.sink.path) if watch is None and (
            threading.current_thread() is not threading.main_thread()) else None
        start, end = sleep_for(seconds, watch=watch, until=until, start=begun)
        runqueue.call_ended()
        self.sink.record(None, seconds, start, end, label=label, waited=waited,
                         launcher=launcher)
        return _given(self.returns, args, kwargs)


@dataclass(frozen=True)
class AsyncProbe:
    """The asyncio twin of :class:`Probe`: awaiting it sleeps without blocking the loop."""

    seconds: Seconds
    sink: Sink
    returns: object = None
    label: Label = None

    async def __call__(self, *args: object, **kwargs: object) -> Any:
        import asyncio  # only code that awaits a probe pays for importing asyncio

        seconds = checked_seconds(_given(self.seconds, args, kwargs))
        label = _name(self.label, args, kwargs)
        start = now()
        await asyncio.sleep(seconds)
        # The loop may wake a coroutine a hair early on coarse clocks; finish the promise.
        while now() - start < seconds:
            await asyncio.sleep(seconds - (now() - start))
        self.sink.record(None, seconds, start, now(), label=label)
        return _given(self.returns, args, kwargs)


def recording(fn: F, sink: Sink, label: Label = None) -> F:
    """``fn``, recording each call's interval into ``sink``, whatever it returns or raises; a
    coroutine function gives a coroutine function, whose interval runs until it is done."""
    owner = os.getpid()

    def record(start: float, name: str, waited: float = 0.0) -> None:
        end = now()
        if os.getpid() != owner:
            sink.mark_ready(_READY)
        sink.record(None, end - start, start, end, label=name, waited=waited)

    # Each label is made before the call, so a label that fails cannot hide the call's own
    # error, nor count in its interval.
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def wrapped_async(*args: object, **kwargs: object) -> Any:
            name, start = _name(label, args, kwargs), now()
            try:
                return await fn(*args, **kwargs)
            finally:
                record(start, name)

        return cast(F, wrapped_async)

    @functools.wraps(fn)
    def wrapped(*args: object, **kwargs: object) -> Any:
        # Begun before the wait is read, as a probe's: that read lets the GIL go.
        name = _name(label, args, kwargs)
        start = now()
        waited = runqueue.call_began()
        try:
            return fn(*args, **kwargs)
        finally:
            runqueue.call_ended()
            record(start, name, waited)

    return cast(F, wrapped)
