"""One submission's runs started side by side, ahead of the items that judge them.

A submission's scripts spend nearly all their time asleep, so they can run at once: graded one
after the other, the lesson's six exercises sleep 22 tutorial seconds; side by side, as long as
the longest one. What they must not share is a core while one of them starts, since that is
what the timing checks measure, so:

* Timed runs (the ones the checks time) start longest first, as many at once as this
  process's share of the cores (all of them alone, one under ``-n 2`` on two), each once
  one that started before it is asleep: every thread of its processes waits, none runs or
  is ready to run, so its start-up is over. Work is admitted as the CPU it needs comes
  free, read off the runs' own processes, so another xdist worker's load neither holds it
  back nor lets it through.
* Main-guard runs judge whether the script survives re-import, not its time: they start once
  every timed run is asleep or has ended, in the idle scheduling class, so they take only
  CPU that no timed run wants.

A run that no item takes (the session stopped early) is ended by :meth:`Ahead.close`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, TimeoutError
from dataclasses import dataclass
from pathlib import Path

from ..core.clock import now
from . import procs
from .outcome import Limits, Outcome
from .sandbox import run_script

__all__ = ["Ahead", "Planned", "RunKey"]

RunKey = tuple[str, "str | None", float]
"""A run of an exercise: its id, the start method forced on it (or None), and its unit."""

# How often the dispatcher looks at the runs' processes.
_POLL = 0.002


@dataclass(frozen=True)
class Planned:
    key: RunKey
    script: str
    limits: Limits
    timed: bool
    """Whether the checks time this run (else it runs in the idle scheduling class)."""
    length: float = 0.0
    """Seconds the model says it sleeps, so the longest starts first."""


class Ahead:
    """The runs of one submission, started in the background; items take their outcomes."""

    def __init__(self, submission: Path, *, python: str | None, owner: str, pace: float,
                 starting: int = 1) -> None:
        self.submission = submission
        self.python = python
        self.owner = owner
        self.pace = pace
        """An empty script's start-up: how often grading, waiting for a run in the idle
        class, moves it to the normal one."""
        self.starting = max(starting, 1)
        """Timed runs that may be starting at once: this process's share of the cores."""
        self._futures: dict[RunKey, Future[Outcome]] = {}
        """The runs not yet taken."""
        self._all: dict[RunKey, Future[Outcome]] = {}
        self._procs: dict[RunKey, procs.RunProcs] = {}
        self._dropped: set[RunKey] = set()
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self.admitted: list[tuple[RunKey, float]] = []
        """When each run was launched, in order (for the benchmarks and the tests)."""

    def start(self, plans: Sequence[Planned]) -> None:
        runs = [(plan, Future[Outcome]()) for plan in plans]
        self._futures.update((plan.key, future) for plan, future in runs)
        self._all.update(self._futures)
        dispatcher = threading.Thread(target=self._dispatch, args=(runs,),
                                      name="sleepbench-ahead", daemon=True)
        self._threads.append(dispatcher)
        dispatcher.start()

    def take(self, key: RunKey) -> Outcome | None:
        """The outcome of run ``key`` once it ended, or None if it was not started ahead (or
        was taken already): the caller then runs it itself.

        A run in the idle class that is still going is moved to the normal one now that
        grading waits for it: on a machine kept busy by other work it would never end.
        """
        future = self._futures.pop(key, None)
        if future is None:
            return None
        try:
            while True:
                try:
                    return future.result(timeout=self.pace)
                except TimeoutError:
                    found = self._procs.get(key)
                    if found is not None:
                        found.prioritize()
        except CancelledError:
            return None

    def drop(self, key: RunKey) -> None:
        """Run ``key`` is not needed: it is not started if it has not been, and ended if it
        has."""
        future = self._futures.pop(key, None)
        self._dropped.add(key)
        if future is not None and not future.cancel():
            self._end(key, future)

    def close(self) -> None:
        """Start nothing more, and end what still runs: no item will take it (the session
        stopped early, at its first failure or an interrupt)."""
        self._closed.set()
        self._futures.clear()
        self._threads[0].join()  # the dispatcher: it starts nothing once closed
        for key, future in self._all.items():
            if not future.cancel():
                self._end(key, future)
        for thread in self._threads[1:]:
            thread.join()

    def _end(self, key: RunKey, future: Future[Outcome]) -> None:
        found = self._procs.get(key)
        if found is not None and not future.done():
            found.kill()

    def _dispatch(self, runs: list[tuple[Planned, Future[Outcome]]]) -> None:
        try:
            self._start_all(runs)
        except BaseException as error:
            # No item may wait for a run this thread will never start (those it started
            # end on their own threads).
            for _, future in runs:
                pending = not (future.running() or future.done())
                if pending and future.set_running_or_notify_cancel():
                    future.set_exception(error)
            raise

    def _start_all(self, runs: list[tuple[Planned, Future[Outcome]]]) -> None:
        timed = sorted((r for r in runs if r[0].timed), key=lambda r: -r[0].length)
        for k, (plan, future) in enumerate(timed):
            self._settle(timed[:k], self.starting - 1)
            self._launch(plan, future, idle=False)
        self._settle(timed, 0)
        # Idle only where a run can be moved back when grading waits for it.
        idle = procs.can_prioritize()
        for plan, future in runs:
            if not plan.timed:
                self._launch(plan, future, idle=idle)

    def _settle(self, runs: list[tuple[Planned, Future[Outcome]]], busy: int) -> None:
        """Wait until at most ``busy`` of ``runs`` are neither ended nor asleep, as seen twice
        in a row (a process between two steps of its start-up may wait for a moment)."""
        calm = 0
        while calm < 2 and not self._closed.wait(_POLL):
            starting = sum(not self._quiet(plan.key, future) for plan, future in runs)
            calm = calm + 1 if starting <= busy else 0

    def _quiet(self, key: RunKey, future: Future[Outcome]) -> bool:
        if future.done():
            return True
        found = self._procs.get(key)
        return found is not None and found.asleep()

    def _launch(self, plan: Planned, future: Future[Outcome], *, idle: bool) -> None:
        if self._closed.is_set() or not future.set_running_or_notify_cancel():
            return
        self.admitted.append((plan.key, now()))

        def launched(found: procs.RunProcs) -> None:
            self._procs[plan.key] = found
            if self._closed.is_set() or plan.key in self._dropped:
                found.kill()  # closed or dropped while it was being set up

        def run() -> None:
            try:
                outcome = run_script(self.submission, plan.script, unit=plan.key[2],
                                     limits=plan.limits, start_method=plan.key[1],
                                     python=self.python, owner=self.owner, idle=idle,
                                     launched=launched)
            except BaseException as error:  # the item that takes it reports it
                future.set_exception(error)
            else:
                future.set_result(outcome)

        # The thread that starts a run must outlive it: the run's processes are told to die
        # with it (see procs.die_with_parent).
        thread = threading.Thread(target=run, name=f"sleepbench-run-{plan.key[0]}", daemon=True)
        try:
            thread.start()
        except BaseException as error:  # out of threads: the item runs it itself, or fails
            future.set_exception(error)
            return
        self._threads.append(thread)
