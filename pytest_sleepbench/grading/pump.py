"""The grader's watch over one running script: output, records and the main process's end.

Everything here is stamped on arrival, on the grader's clock: output lines, records (which it
drains as they come, so none waits long enough for its sender to be gone before the grader
has read how it numbers itself and when it was born), and the main process's exit.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
from typing import TYPE_CHECKING

from ..core.clock import now
from . import procs
from .channel import Channel

if TYPE_CHECKING:
    from .outcome import Limits, Outcome

__all__ = ["Pump"]

_STDERR_KEEP = 4000
# Processes of the run may still be on their way out when the main one exits; output and
# records that follow within this long still count.
_GRACE = 0.5
_SIGNALS = {128 + s.value for s in signal.Signals}
_BATCH = 0.02
# How often the main process's run-queue total is read while it runs.
_WAITS = 0.01
# How many of the main process's other threads are watched.
_THREADS = 16
# How many reads wait for the run's first record unbatched.
_UNBATCHED = 8


class Pump:
    def __init__(self, channel: Channel, limits: Limits, namespaced: bool) -> None:
        self.channel = channel
        self.limits = limits
        self.namespaced = namespaced
        self.origin = 0.0
        self.exit: float | None = None
        """When the main process was seen to end."""
        self.code: int | None = None
        self.inner: dict[int, int] = {}
        self.births: dict[int, float] = {}
        self._identified = 0
        self._main: int | None = None
        """A pidfd of the main process, once its first record named it (namespaced)."""
        self._main_ended: float | None = None
        self._gave_away = False
        self.samples: list[tuple[float, float, float]] = []
        """The grader's looks at the main thread: (when, its wait for a core so far
        less what the run's other threads and processes ran, what it ran), from the main
        process's first record on."""
        self._threads: dict[int, list[tuple[float, float, float, float]]] = {}
        self._unfair: set[int] = set()
        self._last: tuple[float, float] | None = None
        self._inner_tids: dict[int, int] = {}

    @staticmethod
    def now() -> float:
        return now()

    def start(self) -> float:
        self.origin = now()
        return self.origin

    def ended(self, code: int) -> None:
        """The main process ended with ``code`` (a waiter thread's report, unnamespaced)."""
        self.code = code
        self.exit = now()

    def _status(self, data: bytes, proc: subprocess.Popen[bytes]) -> None:
        """The run's init reports the main process's exit status as the shell gives it."""
        stamp = now()
        try:
            code = int(data.strip().split()[0])
        except (ValueError, IndexError):
            # The init ended before the script could: its set-up failed, or it was killed.
            code = proc.wait()
        if code in _SIGNALS:
            code = 128 - code
        # The kernel's word on when the main process ended, where the grader held a pidfd of
        # it, beats the init's report, which waits for a shell to be scheduled.
        self.code, self.exit = code, min(stamp, self._main_ended or stamp)

    def _watch_main(self, selector: selectors.BaseSelector) -> None:
        """Hold a pidfd of the main process (the sender of the run's first record), readable
        the moment it ends, so its exit is stamped when it happens."""
        messages = self.channel.messages
        if self._main is not None or not self.namespaced or not messages:
            return
        self._main = -1
        with contextlib.suppress(OSError, AttributeError):
            self._main = os.pidfd_open(messages[0].pid)
            selector.register(self._main, selectors.EVENT_READ, "main")

    def _sample_waits(self, run: procs.RunProcs) -> None:
        messages = self.channel.messages
        if not messages or self.exit is not None or self._gave_away:
            return
        main = messages[0].pid
        times = procs.main_thread(main)
        if times is None:
            return
        share = procs.fair_share(main)
        if share is None:
            # Reaped between the two reads: what was seen of it stands.
            return
        if not share:
            # A main thread that lowered its own priority waits for a core on a busy machine
            # by its own choice, and cannot raise it again (RLIMIT_NICE is 0): none forgiven.
            self._gave_away = True
            self.samples.clear()
            return
        ran, wait = times
        others = procs.others_cpu(run, main)
        threads = procs.other_threads(main, self._threads.keys() | self._unfair, _THREADS)
        # Reaped meanwhile, its CPU, main thread and all, moved into its reaper's total.
        if procs.main_thread(main) is None:
            return
        when, total = now(), others + ran
        self.samples.append((when, wait - others, ran))
        for tid, (its_ran, its_wait) in threads.items():
            if tid in self._unfair or not procs.fair_share(tid):
                # As the main thread's: a thread that gave its share away waits by choice.
                self._unfair.add(tid)
                self._threads.pop(tid, None)
                continue
            series = self._threads.setdefault(tid, [])
            if not series:
                # Its id where the script runs, read while it lives: what its records carry.
                inner = procs.inner_pid(tid) if self.namespaced else tid
                self._inner_tids[tid] = -1 if inner is None else inner
                if self._last is not None:
                    # New since the last look, when it had neither run nor waited.
                    series.append((self._last[0], 0.0, 0.0, self._last[1]))
            series.append((when, its_wait, its_ran, total - its_ran))
        self._last = when, total

    def threads(self) -> dict[int, tuple[tuple[float, float, float, float], ...]]:
        """The looks at the main process's other threads (see ``Outcome.threads``), by the
        id each has where the script runs."""
        return {self._inner_tids[tid]: tuple(series) for tid, series in self._threads.items()
                if self._inner_tids.get(tid, -1) > 0}

    def _identify(self) -> None:
        """Read how each new sender numbers itself and when it was born, while it lives."""
        messages = self.channel.messages
        for message in messages[self._identified:]:
            pid = message.pid
            if pid and pid not in self.inner:
                inner, born = procs.inner_pid(pid), procs.birth(pid)
                # A pid read after its process ended may be a newer process's: one born after
                # the record arrived cannot have sent it.
                if inner is not None and born is not None and born <= message.at:
                    self.inner[pid] = inner
                    self.births[pid] = born
        self._identified = len(messages)

    def run(self, proc: subprocess.Popen[bytes], outcome: Outcome, status: int | None,
            run: procs.RunProcs) -> None:
        """Read output and records until the main process ends, the limit passes, or the
        output floods."""
        assert proc.stdout is not None and proc.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ, "out")
        selector.register(proc.stderr, selectors.EVENT_READ, "err")
        selector.register(self.channel.fileno(), selectors.EVENT_READ, "records")
        if status is not None:
            selector.register(status, selectors.EVENT_READ, "status")
        deadline = self.origin + self.limits.wall
        total = 0
        partial = b""
        errors = bytearray()
        last_scan = last_wait = 0.0
        unbatched = 0
        idle = False
        resume = 0.0
        try:
            while True:
                t = now()
                if resume and t >= resume:
                    selector.register(self.channel.fileno(), selectors.EVENT_READ, "records")
                    resume = 0.0
                streams = {k.data for k in selector.get_map().values()} & {"out", "err"}
                if self.exit is not None and (not streams or t - self.exit > _GRACE or (
                        # The pipes stay open in unshare, which outlives the script: once
                        # nothing of the run is alive and they are read dry, they are done.
                        idle and self.namespaced and not run.any_alive())):
                    break
                if t > deadline or total > self.limits.output:
                    outcome.flooded = total > self.limits.output
                    break
                if t - last_scan > 0.1:
                    # Without a user id or namespace of its own, a run's processes are found
                    # by descent; look often enough to see children before they are orphaned.
                    last_scan = t
                    run.watch()
                if t - last_wait > _WAITS:
                    last_wait = t
                    self._sample_waits(run)
                wait = 0.001 if self.exit is not None else 0.01
                events = selector.select(timeout=min(wait, max(deadline - t, 0.0)))
                idle = not events
                for key, _ in events:
                    if key.data == "records":
                        self.channel.drain()
                        self._identify()
                        if not self.samples:
                            self._sample_waits(run)
                        self._watch_main(selector)
                        if not self.channel.messages and unbatched < _UNBATCHED:
                            # Connected, its first record not yet sent: the looks start from
                            # it, before the script's first line, so wait for it unbatched
                            # (a few times: what writes junk first is batched like the rest).
                            unbatched += 1
                            continue
                        # Records wait in the socket's queue: read in batches, they keep the
                        # grader off the cores the script is being timed on.
                        selector.unregister(key.fileobj)
                        resume = now() + _BATCH
                        continue
                    if key.data == "main":
                        self._main_ended = self._main_ended or now()
                        selector.unregister(key.fileobj)
                        continue
                    data = os.read(key.fd, 65536)
                    if key.data == "status":
                        selector.unregister(key.fileobj)
                        self._status(data, proc)
                        continue
                    if not data:
                        selector.unregister(key.fileobj)
                        continue
                    total += len(data)
                    if key.data == "err":
                        errors += data[: max(0, self.limits.output - len(errors))]
                        continue
                    stamp = now() - self.origin
                    lines = (partial + data).split(b"\n")
                    partial = lines.pop()
                    outcome.stdout += [(stamp, line.decode(errors="replace")) for line in lines]
        finally:
            selector.close()
            if self._main is not None and self._main >= 0:
                os.close(self._main)
            self.channel.drain()
            self._identify()
            if partial:
                outcome.stdout.append((now() - self.origin, partial.decode(errors="replace")))
            outcome.stderr = errors.decode(errors="replace")[-_STDERR_KEEP:]
