"""The schedule model: what a run of tasks over W workers should look like.

Tasks go, in submission order, to whichever worker is free first (list scheduling), which is what
``ProcessPoolExecutor`` does: its call queue hands the next task to the next idle worker. The
makespan is the expected sleep time of the run, and the finish times give the completion order,
where finishes within the tolerance of each other may come out in either order.

Everything here is pure arithmetic on durations; nothing runs, nothing is measured.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Schedule", "list_schedule", "peak_concurrency"]


@dataclass(frozen=True)
class Schedule:
    durations: tuple[float, ...]
    workers: int
    assignment: tuple[int, ...]
    starts: tuple[float, ...]
    finishes: tuple[float, ...]

    @property
    def makespan(self) -> float:
        return max(self.finishes, default=0.0)

    @property
    def chain(self) -> int:
        """The most tasks any one worker runs: each adds a wake-up to the critical path."""
        return max((self.assignment.count(w) for w in range(self.workers)), default=0)

    @property
    def peak(self) -> int:
        return peak_concurrency(list(zip(self.starts, self.finishes, strict=True)))

    def completion_order(self) -> list[int]:
        """Task indices by finish time; a tie goes to the task submitted first."""
        return sorted(range(len(self.durations)), key=lambda i: (self.finishes[i], i))

    def order_groups(self, tolerance: float) -> list[list[int]]:
        """The completion order as groups whose members may finish in any order.

        A group holds the finishes within ``tolerance`` of its first, which is how the
        2-worker ``as_completed`` run over 5, 4, 3, 2, 1 reads as 4, 5, {3, 2}, 1. Measured
        from the first, not chained from finish to finish, every order a group shows is one
        that :meth:`allows` accepts.
        """
        groups: list[list[int]] = []
        first = float("-inf")
        for task in self.completion_order():
            if groups and self.finishes[task] - first <= tolerance:
                groups[-1].append(task)
            else:
                groups.append([task])
                first = self.finishes[task]
        return groups

    def allows(self, order: Sequence[int], tolerance: float) -> bool:
        """Whether tasks could complete in ``order``: no pair is inverted by more than tolerance."""
        if sorted(order) != list(range(len(self.durations))):
            return False
        latest = float("-inf")
        for task in order:
            if self.finishes[task] < latest - tolerance:
                return False
            latest = max(latest, self.finishes[task])
        return True

    def describe_order(self, tolerance: float, names: Sequence[str] | None = None) -> str:
        labels = list(names) if names is not None else [str(i) for i in range(len(self.durations))]
        parts = []
        for group in self.order_groups(tolerance):
            if len(group) == 1:
                parts.append(labels[group[0]])
            else:
                parts.append("{" + ", ".join(labels[t] for t in group) + "}")
        return ", ".join(parts)


def list_schedule(
    durations: Sequence[float], workers: int, release: Sequence[float] = ()
) -> Schedule:
    """List-schedule ``durations`` in order over ``workers`` identical workers.

    ``release[w]`` is when worker ``w`` can take its first task (0 when not given), which models
    workers that are still starting up. A tie between free workers goes to the lowest index.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if any(d < 0 for d in durations):
        raise ValueError(f"durations must not be negative, got {list(durations)}")
    free = [(release[w] if w < len(release) else 0.0, w) for w in range(workers)]
    heapq.heapify(free)
    assignment, starts, finishes = [], [], []
    for duration in durations:
        at, worker = heapq.heappop(free)
        assignment.append(worker)
        starts.append(at)
        finishes.append(at + duration)
        heapq.heappush(free, (at + duration, worker))
    return Schedule(
        durations=tuple(durations),
        workers=workers,
        assignment=tuple(assignment),
        starts=tuple(starts),
        finishes=tuple(finishes),
    )


def peak_concurrency(spans: Sequence[tuple[float, float]]) -> int:
    """The most spans open at one instant; spans that only touch do not overlap."""
    events: list[tuple[float, int]] = []
    for start, end in spans:
        events += [(start, 1), (end, -1)]
    # Ends sort before starts at the same instant: touching spans do not overlap.
    events.sort(key=lambda e: (e[0], e[1]))
    peak = open_now = 0
    if spans:
        peak = 1
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak
