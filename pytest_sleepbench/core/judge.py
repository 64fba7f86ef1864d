"""One judge for every structural and timing claim, whoever measured the run.

The core's runs and the grader's scripts both reduce what they saw to a :class:`Measurement`
and ask the same rules here. A rule returns a :class:`Verdict` whose *kind* says what happens
next, so no caller reads a message to decide:

- ``FAIL`` settles the claim;
- ``LATE`` is only the upper wall bound, which a moment of load explains: measure once more;
- ``UNSHOWN`` is a property this machine could not show at this unit, because the processes
  that were to show it became ready too late. It is never the code's fault: run at a larger
  unit (``needs_unit``), and if that cannot show it either, the claim is inconclusive.

Nothing here runs or measures anything, so every rule is tested exactly on recorded intervals.

Every rule stays in this one module, longer than most, so that what is owed, what is forgiven
and what is judged again read together and cannot drift apart between runs and grading.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .i18n import _, ngettext
from .model import Schedule, list_schedule, peak_concurrency
from .sink import Interval

__all__ = [
    "STAGGER",
    "Kind",
    "Measurement",
    "Verdict",
    "completion_order",
    "fastest_first",
    "input_order",
    "launched",
    "launching",
    "machine_schedule",
    "overlap",
    "owed_peak",
    "parallel",
    "passed",
    "ready_schedule",
    "serial",
    "wall",
]

#: Calibrated process start-ups by which worker ``w`` may be late, ``w`` times over, before
#: a missing overlap needs the workers' readiness to excuse it. Small: readiness, not this,
#: covers a machine slow to start processes, and a larger one hides two-task serial runs at
#: small units.
STAGGER = 1.5


class Kind(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    LATE = "late"
    UNSHOWN = "inconclusive"
    SKIP = "skip"


@dataclass(frozen=True)
class Verdict:
    """One rule's judgement. ``title``, ``expected`` and ``observed`` are what a reader is
    told; ``needs_unit`` is, for ``UNSHOWN``, the unit at which the claim could be shown."""

    check: str
    kind: Kind
    title: str = ""
    expected: str = ""
    observed: str = ""
    needs_unit: float | None = None

    @property
    def status(self) -> str:
        """As reports spell it: a late wall is a failure to whoever reads the verdict."""
        return "fail" if self.kind is Kind.LATE else self.kind.value

    @property
    def failed(self) -> bool:
        return self.kind in (Kind.FAIL, Kind.LATE)


def passed(check: str) -> Verdict:
    return Verdict(check, Kind.PASS)


@dataclass(frozen=True)
class Measurement:
    """What a run did, as the rules need it, in real seconds on one clock."""

    durations: tuple[float, ...]
    """What each task was to sleep, in submission order."""
    tasks: tuple[Interval, ...]
    """The sleeps recorded."""
    owed_workers: int
    """Workers the claim owes: the pool's size, one process a task, or the lanes that ran."""
    tolerance: float
    stagger: float = 0.0
    """Seconds by which each further worker may be ready later than the one before."""
    launch: float = 0.0
    """CPU seconds the main thread spends on one launch (calibrated): unlike the stagger,
    which is wall time and grows with the load, this is what a parent that only launches runs
    per launch on a busy machine too."""
    starts: Mapping[int, tuple[float | None, float]] = field(default_factory=dict)
    """Each worker process's (born, ready), by pid: when it was created, where the system
    says, and when it could first run; empty when nobody stamped it."""
    origin: float = 0.0
    """When the run began, the moment its workers were owed from."""
    held_back: bool | None = None
    """Whether the code launched a task only after waiting for one; ``None`` where nobody
    watched its launches."""
    unit: float = 1.0
    """Real seconds per tutorial second, for naming the unit a claim would need."""
    single_use: bool = False
    """Each worker is a ``Process`` that runs one task: it takes no second task when free."""
    launches: tuple[tuple[float, float, float], ...] = ()
    """Each launch of a task the main process made (a submit, a ``Process`` start): when,
    and how long, from the first task's start to then, the main thread waited for a core and
    ran, as an observer saw it; empty where nobody watched."""
    vouched: bool = False
    """The code is this package's own pattern, which launches every task before waiting for
    any and leaves dispatch to the executor: a shortfall it did not hold back can only be the
    machine's (a parent too starved to hand a ready worker its task, say)."""

    @property
    def peak(self) -> int:
        return peak_concurrency([(i.start, i.end) for i in self.tasks])

    @property
    def processes(self) -> int:
        return len({i.pid for i in self.tasks})


def _margin_peak(spans: Sequence[tuple[float, float]], tolerance: float) -> int:
    """The peak of a model's spans, where an overlap shorter than the tolerance does not count:
    noise alone can undo it, so it is not owed."""
    trimmed = [(s, e - tolerance) for s, e in spans if e - tolerance > s]
    return max(peak_concurrency(trimmed), 1 if spans else 0)


def _schedule(m: Measurement, workers: int, release: Sequence[float]) -> Schedule:
    """The list schedule over ``workers`` released at ``release``; where each worker is a
    ``Process`` of its own task, no worker takes a second one, however early it is free."""
    if not m.single_use:
        return list_schedule(m.durations, workers, release)
    ordered = sorted(release)[:workers]
    durations = m.durations[:len(ordered)]
    starts = tuple(ordered[:len(durations)])
    return Schedule(durations=durations, workers=len(durations),
                    assignment=tuple(range(len(durations))), starts=starts,
                    finishes=tuple(t + d for t, d in zip(starts, durations, strict=True)))


def _owed(m: Measurement, workers: int, release: Sequence[float]) -> int:
    schedule = _schedule(m, workers, release)
    return _margin_peak(list(zip(schedule.starts, schedule.finishes, strict=True)), m.tolerance)


def _staggered_peak(m: Measurement, workers: int) -> int:
    return _owed(m, workers, [w * m.stagger for w in range(workers)])


def owed_peak(m: Measurement) -> int:
    """The peak concurrency the run owes: its tasks list-scheduled over the owed workers,
    each allowed its calibrated stagger, an overlap within the tolerance not counted."""
    return _staggered_peak(m, max(min(m.owed_workers, len(m.durations)), 1))


def ready_schedule(m: Measurement, workers: int) -> tuple[Schedule, float] | None:
    """The schedule the machine's real start-ups allowed, and how late the last owed worker
    was; ``None`` where no worker stamped its readiness.

    Worker ``w`` (by birth) is released when it was created plus what the machine then spent
    starting it (born to ready), so a start-up the machine dragged out is never the code's
    fault, nor a launch that load delayed while the code had not waited for any task. Where
    nobody watched the launches, a worker created after a task had already ended may have
    waited for it (a join before the next start): its launch is owed by its calibrated
    stagger, as if the code had not held it back.
    """
    if not m.starts:
        return None
    first_end = min((i.end for i in m.tasks), default=math.inf)
    starts = list(m.starts.values())
    if m.single_use:
        # A Process runs its one task as soon as it can, but between the stamp taken as it
        # forked and its sleep a busy machine runs a whole interpreter's worth of code: its
        # sleep is when it was ready. (Tasks that take turns on a lock then show in the
        # timing spread.) A pool worker keeps its stamp: one that waited before it slept
        # did so for the code.
        first_sleep: dict[int, float] = {}
        for i in m.tasks:
            first_sleep[i.pid] = min(i.start, first_sleep.get(i.pid, math.inf))
        starts = [(born, max(ready, first_sleep.get(pid, ready)))
                  for pid, (born, ready) in m.starts.items()]
    release = []
    for w, (born, ready) in enumerate(sorted(starts, key=_birth)):
        began = ready if born is None else born
        launched = max(began - m.origin, 0.0)
        if began > first_end and m.held_back is not False:
            launched = min(launched, w * m.stagger)
        release.append(launched + (ready - began))
    used = sorted(release)[:workers]
    lag = used[-1] - used[0] if len(used) == workers else math.inf
    # One tolerance and one stagger more after the first: between its stamp and its task a
    # worker takes a task off the queue, and a loaded machine may preempt it; the model must
    # not owe what that noise can undo.
    release = [t - used[0] + (m.tolerance + m.stagger if w else 0.0)
               for w, t in enumerate(used)]
    return _schedule(m, len(used), release), lag


def _ready_peak(m: Measurement, workers: int) -> tuple[int, float] | None:
    found = ready_schedule(m, workers)
    if found is None:
        return None
    schedule, lag = found
    spans = list(zip(schedule.starts, schedule.finishes, strict=True))
    return _margin_peak(spans, m.tolerance), lag


def machine_schedule(m: Measurement, workers: int) -> Schedule:
    """The schedule that excuses only the machine: worker ``w`` (by birth) launched by its
    calibrated stagger at the latest, then as slow to start as it really was. A wall bound
    built on it forgives a machine slow to start processes, and still sees a parent that
    held its children back."""
    release = [w * m.stagger for w in range(workers)]
    spent = sorted(max(ready - born, 0.0) for born, ready in m.starts.values()
                   if born is not None)
    if len(spent) >= workers:
        # Which worker was slow to start is not kept: the slowest start-ups go with the
        # latest launches, the most generous pairing for the last worker.
        release = [w * m.stagger + s for w, s in enumerate(spent[-workers:])]
    return _schedule(m, workers, release)


def _birth(start: tuple[float | None, float]) -> float:
    return start[1] if start[0] is None else start[0]


def serial(m: Measurement) -> Verdict:
    """No two sleeps overlapped: touching ones do not, so clock noise cannot fake overlap."""
    peak = m.peak
    if peak <= 1:
        return passed("overlap")
    return Verdict("overlap", Kind.FAIL, _("tasks overlapped in a run meant to be serial"),
                   _peak(1), _peak(peak))


def _peak(peak: int) -> str:
    return _("peak concurrency {peak}").format(peak=peak)


def overlap(m: Measurement) -> Verdict:
    """The sleeps overlapped as the list schedule over the owed workers predicts, each worker
    allowed its calibrated stagger; where they did not, readiness decides whose fault it is."""
    workers = min(m.owed_workers, len(m.durations))
    if workers <= 1:
        return serial(m)
    peak, want = m.peak, _staggered_peak(m, workers)
    if peak >= want:
        return passed("overlap")
    if m.held_back:
        return Verdict("overlap", Kind.FAIL,
                       _("the main process waited for a task before starting the next"),
                       _("every task started or submitted before the first join or result"),
                       _peak(peak))
    expected = _("peak concurrency {want} ({workers} workers, {tasks} tasks, workers ready "
                 "{stagger:.0f} ms apart at most)").format(
        want=want, workers=workers, tasks=len(m.durations), stagger=m.stagger * 1000)
    allowed = _ready_peak(m, workers)
    if m.vouched and m.held_back is False:
        lag = math.inf if allowed is None else allowed[1]
        allowed = (peak, lag)
    if allowed is not None and peak >= min(allowed[0], want):
        lag = allowed[1]
        when = (_("some never became ready") if math.isinf(lag)
                else _("the last was ready {lag:.0f} ms after the first").format(
                    lag=lag * 1000))
        return Verdict("overlap", Kind.UNSHOWN,
                       _("the workers became ready too late for the tasks to overlap"),
                       expected, f"{_peak(peak)}: {when}",
                       needs_unit=_needed_unit(m, lag))
    kept = _launches_kept(m, want)
    if kept:
        return Verdict("overlap", Kind.UNSHOWN,
                       _("the main process waited for a core while it launched the tasks"),
                       expected, _("{peak}: a task was launched too late to overlap the first, "
                                   "after the main process had waited {kept:.0f} ms for a "
                                   "core").format(peak=_peak(peak), kept=kept * 1000),
                       needs_unit=_needed_unit(m, kept))
    queued = _threads_queued(m, want)
    if queued:
        return Verdict("overlap", Kind.UNSHOWN, _("a task's thread waited for a core before it"),
                       expected, _("{peak}: had each task's thread had a core when it was "
                                   "ready, they would have overlapped; one waited {queued:.0f} "
                                   "ms").format(peak=_peak(peak), queued=queued * 1000),
                       needs_unit=_needed_unit(m, queued))
    return Verdict("overlap", Kind.FAIL, _("tasks did not overlap as the schedule predicts"),
                   expected, _peak(peak)
                   + (_(": the tasks ran one after another") if peak == 1 else ""))


def _launches_kept(m: Measurement, want: int) -> float:
    """The main thread's longest wait for a core behind a launch that came too late for its
    task to overlap the first one (an executor then hands it to a worker already free, and
    the tasks run one after the other), where such waits alone explain the missing overlap;
    else 0.

    Fewer launches than the overlap owed came in time, and enough late ones would have come
    in time without their wait, the main thread running no more meanwhile than a launch
    takes. Launches in time that still did not overlap were kept apart by the code (a
    lock); a launch late by the main thread's own work (a spin by the clock) or by its
    sleep (a blocking call) is the code's too.
    """
    if m.held_back is not False or not m.launches or not m.tasks:
        return 0.0
    deadline = min(i.end for i in m.tasks) - m.tolerance
    in_time = sum(1 for launch in m.launches if launch[0] < deadline)
    if in_time >= want:
        return 0.0
    first = min(i.start for i in m.tasks)
    excused = [kept for at, kept, ran in m.launches
               if at >= deadline and at - kept < deadline
               and ran <= launching(m, max(want, launched(m, first, at)))]
    return max(excused) if in_time + len(excused) >= want else 0.0


def _threads_queued(m: Measurement, want: int) -> float:
    """The longest wait for a core of a task's thread before the task (each interval's
    ``waited``, as an observer saw it), where moving every task earlier by its own wait
    reaches the overlap owed; else 0. Only for code that launched every task before waiting
    for any: a task held back waits for the code, not for a core."""
    if m.held_back is not False or not m.tasks:
        return 0.0
    queued = max(i.waited for i in m.tasks)
    spans = [(i.start - i.waited, i.end - i.waited) for i in m.tasks]
    return queued if queued > 0 and _margin_peak(spans, m.tolerance) >= want else 0.0


def launched(m: Measurement, begin: float, end: float) -> int:
    """Launches the main process made from ``begin`` to ``end``."""
    return sum(1 for at, _, _ in m.launches if begin <= at <= end)


def launching(m: Measurement, launches: int) -> float:
    """The most CPU time a main thread that makes ``launches`` launches (a ``fork``, a
    spawned interpreter, a thread) can run doing only that: each the calibrated launch, and
    one tolerance for the little else such a thread runs (a print, the records an observer
    asks of it). The calibrated start-up will not do: it is wall time, which load stretches
    until a spin by the clock between two starts fits inside it."""
    return max(launches, 1) * m.launch + m.tolerance


def parallel(m: Measurement) -> Verdict:
    """The sleeps ran in at least two processes and overlapped as the schedule over the owed
    workers predicts."""
    one = Verdict("overlap", Kind.FAIL, _("all tasks ran in one process"),
                  _("tasks spread over at least 2 processes"),
                  _("{processes} process ran them all").format(processes=m.processes))
    if min(m.owed_workers, len(m.durations)) < 2:
        return one if m.processes < 2 else dataclasses.replace(
            one, title=_("the run had one worker, so its tasks cannot run in parallel"),
            observed=ngettext("{workers} worker(s) for {tasks} task(s)",
                              "{workers} worker(s) for {tasks} task(s)", m.owed_workers
                              ).format(workers=m.owed_workers, tasks=len(m.durations)))
    verdict = overlap(m)
    if verdict.kind is Kind.PASS and m.processes < 2:
        workers = min(m.owed_workers, len(m.durations))
        if _staggered_peak(m, workers) < 2 and not m.held_back:
            # The calibrated start-ups alone outlast the tasks: no unit this small can show
            # two processes at work, whatever the code does.
            lag = (workers - 1) * m.stagger
            return Verdict("overlap", Kind.UNSHOWN,
                           _("the tasks are shorter than starting a second worker takes"),
                           one.expected, _("{observed}; a worker starts in about {stagger:.0f} "
                                           "ms here").format(observed=one.observed,
                                                             stagger=m.stagger * 1000),
                           needs_unit=_needed_unit(m, lag))
        return one
    return verdict


def _needed_unit(m: Measurement, lag: float) -> float:
    """A unit at which the shortest task outlasts the workers' start-up twice over."""
    shortest = min((d for d in m.durations if d > 0), default=0.0) / m.unit
    if math.isinf(lag) or shortest <= 0:
        return 4 * m.unit
    return max(2 * m.unit, 2 * (lag + m.tolerance) / shortest)


def fastest_first(m: Measurement, delivered: Sequence[int], label: Callable[[int], str]
                  ) -> Verdict:
    """Results came back shortest first, as a worker for every task ready at once promises;
    where the workers' real readiness explains the order seen, the machine could not show
    it at this unit."""
    n = len(m.durations)
    ideal = list_schedule(m.durations, n)
    if ideal.allows(delivered, m.tolerance):
        return passed("order")
    names = [label(i) for i in range(n)]
    expected = ideal.describe_order(m.tolerance, names)
    observed = ", ".join(map(label, delivered))
    found = ready_schedule(m, n)
    # For the package's own pattern, only the machine (a late worker, a starved dispatch)
    # can have put a longer task first.
    if (m.vouched and m.held_back is False) or (
            found is not None and found[0].allows(delivered, m.tolerance)):
        lag = math.inf if found is None else found[1]
        return Verdict("order", Kind.UNSHOWN,
                       _("the workers became ready too late for the fastest to finish first"),
                       expected, observed + ("" if math.isinf(lag) else
                                             _(": the last worker was ready {lag:.0f} ms "
                                               "after the first").format(lag=lag * 1000)),
                       needs_unit=_needed_unit(m, lag))
    return Verdict("order", Kind.FAIL, _("results were not received fastest first"), expected,
                   observed)


def input_order(delivered: Sequence[int], tasks: int, label: Callable[[int], str]) -> Verdict:
    want = list(range(tasks))
    if list(delivered) == want:
        return passed("order")
    return Verdict("order", Kind.FAIL, _("results were not received in input order"),
                   ", ".join(map(label, want)), ", ".join(map(label, delivered)))


def completion_order(
    ends: Mapping[int, float], delivered: Sequence[int], tolerance: float,
    label: Callable[[int], str], model: str = "",
) -> Verdict:
    """Each result was received no later than one that finished more than a tolerance after
    it: which worker took which task is a race the executor does not promise, so the order
    is judged against the finishes observed, and the model's order is only shown."""
    for a, b in itertools.pairwise(delivered):
        if a in ends and b in ends and ends[a] > ends[b] + tolerance:
            finished = sorted(ends, key=ends.__getitem__)
            return Verdict(
                "order", Kind.FAIL, _("results were not received in completion order"),
                _("the order the tasks finished: {order}").format(
                    order=", ".join(map(label, finished)))
                + (f" ({model})" if model else ""),
                _("{delivered} ({first} was received before {second}, which finished "
                  "{earlier:.3f}s earlier)").format(
                    delivered=", ".join(map(label, delivered)), first=label(a),
                    second=label(b), earlier=ends[a] - ends[b]),
            )
    return passed("order")


def wall(measured: float, lower: float, upper: float, *, expected: str, observed: str,
         what: str | None = None) -> Verdict:
    """Lower bounds are physical, so ``what`` measured below one fails; above the calibrated
    upper bound it is only late, which a moment of load can cause."""
    what = _("the run") if what is None else what
    if measured < lower:
        return Verdict("timing", Kind.FAIL,
                       _("{what} took less time than its sleeps allow").format(what=what),
                       expected, observed)
    if measured > upper:
        return Verdict("timing", Kind.LATE,
                       _("{what} took more time than the schedule allows").format(what=what),
                       expected, observed)
    return passed("timing")
