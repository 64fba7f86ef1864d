"""The checks a graded run is timed for: its tasks overlapped as the exercise owes, its sleeps
and its wall fit the model's bounds, and its results came back in the order the exercise
promises. Each verdict comes from the core's judge where the core has the rule.

Time bounds and orders come from the schedule model built with the workers the run really had
(the processes and threads that slept), so correct code passes on a grader with any number of
cores. The overlap owed does not: it is what the exercise owes on this grader (see
:mod:`.owed`), so a script cannot owe less by giving itself fewer workers. Lower time bounds are
physical (a sleep never ends early); upper bounds add what calibration measured on this
machine, and the measured cost of a script that only imports the lesson's modules in the
sandbox.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

from ..core import judge as rules
from ..core import timeline as tl
from ..core.bounds import wall_bounds
from ..core.calibrate import Calibration
from ..core.i18n import N_, _, ngettext
from ..core.judge import Kind, Measurement
from ..core.lesson import POOL_PATTERNS
from ..core.model import Schedule, list_schedule
from ..core.sink import Interval
from .observed import Check, Observed, per_task, stderr_end
from .policy import floor

__all__ = ["order", "overlap", "timing"]

_NO_SLEEP = N_("no sleep: time.sleep was not called, or was replaced")


def overlap(o: Observed, calibration: Calibration, tolerance: float, xdist_workers: int
             ) -> Check:
    if not o.tasks:
        return o.fail("overlap", _("no sleeps were recorded"), _("the tasks' sleeps"),
                      _("none: time.sleep was not called, or was replaced")
                      + stderr_end(o.outcome))
    m = o.measurement(calibration, tolerance, xdist_workers)
    if o.pattern == "serial":
        return o.judged(rules.serial(m))
    rec = o.outcome.recording
    first_wait = min(rec.waits, default=float("inf"))
    late = [t for t in rec.launches if t > first_wait]
    if late:
        # Structural evidence, whatever the unit: correct code makes every task available
        # before it waits for any of them.
        return o.fail("overlap",
                      _("the main process waited for a task before starting the next"),
                      _("every task started or submitted before the first join or result"),
                      ngettext("{count} task(s) started or submitted after the main process "
                               "had waited for one (first wait at {wait:.3f}s, a later start "
                               "at {start:.3f}s); peak concurrency {peak}",
                               "{count} task(s) started or submitted after the main process "
                               "had waited for one (first wait at {wait:.3f}s, a later start "
                               "at {start:.3f}s); peak concurrency {peak}", len(late)).format(
                          count=len(late), wait=first_wait - o.origin,
                          start=late[0] - o.origin, peak=m.peak))
    short = _short_handed(o, m) or _too_short(o, m)
    if short is not None:
        return short
    return o.judged(rules.overlap(m))


def _short_handed(o: Observed, m: Measurement) -> Check | None:
    """The failure of a script that gave its tasks fewer workers than the exercise owes (a
    pool made smaller than a default one, fewer processes than tasks): structural, as its
    tasks could not overlap as owed at any unit, so no lateness or start-up excuses it."""
    owed = min(o.owed.workers, len(o.durations))
    had = o.capacity
    if had is None or had >= owed:
        return None
    rec = o.outcome.recording
    first_end = min(i.end for i in o.tasks)
    if rec.pools and max(rec.pools) >= owed and any(t > first_end for t in rec.launches):
        # A pool that starts its workers one submission at a time (forkserver, spawn) hands
        # a later submission to a worker already free instead: a pool of the size owed whose
        # submissions a starved main process spread out ends up smaller by the machine's
        # doing, which the judge's readiness rules then weigh.
        return None
    ran = (ngettext("your pool ran with {count} worker", "your pool ran with {count} workers",
                    had) if rec.pools
           else ngettext("your script ran its tasks in {count} process",
                         "your script ran its tasks in {count} processes", had)).format(
        count=had)
    return o.fail("overlap", f"{ran}; {o.owed.why}",
                  _("{owed} tasks running at once").format(owed=owed),
                  _("peak concurrency {peak}").format(peak=m.peak))


def _too_short(o: Observed, m: Measurement) -> Check | None:
    """Under ``sleeps = "any"`` the model is what the script slept, so sleeps too short to
    show anything would owe nothing: each must last the floor, and together they must owe
    the overlap the exercise's own durations owe on this machine."""
    if o.sleeps != "any" or o.durations == o.asked:
        return None
    asked = dataclasses.replace(m, durations=tuple(d * o.unit for d in o.asked))
    need, owed = rules.owed_peak(asked), rules.owed_peak(m)
    least = floor(o.asked)
    if min(o.durations) >= least - 1e-6 and (owed >= need or m.peak >= need):
        return None
    return o.fail(
        "overlap", _("the tasks slept too little for their overlap to show"),
        _("sleeps of at least {least:g} tutorial second(s) that owe peak concurrency {need} "
          "here, as the exercise's own ({asked}) do").format(
            least=least, need=need, asked=_listing(o.asked)),
        _("sleeps of {slept}, which owe {owed} once each worker's start-up ({stagger:.0f} ms) "
          "and jitter ({jitter:.0f} ms) are allowed for; peak concurrency {peak}").format(
            slept=_listing(o.durations), owed=owed, stagger=m.stagger * 1000,
            jitter=m.tolerance * 1000, peak=m.peak))


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


def _listing(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def timing(o: Observed, calibration: Calibration, tolerance: float, baseline: float,
            xdist_workers: int) -> Check:
    durations = [d * o.unit for d in o.durations]
    schedule = o.schedule
    unlike = _unlike_the_model(o)
    if unlike is not None:
        return unlike

    if o.pattern == "serial":
        lower = sum(durations)
    else:
        # However many workers it had, a run cannot beat its longest task, nor its work
        # spread evenly over the strands that really slept.
        lower = max(max(durations, default=0.0),
                    sum(durations) / max(o.strands, 1))
    bounds = wall_bounds(
        lower=lower, ideal=schedule.makespan, calibration=calibration,
        process_starts=0 if o.pattern == "serial" else max(o.workers, 1),
        pool=o.pattern in POOL_PATTERNS, chain=schedule.chain, tolerance=tolerance,
        xdist_workers=xdist_workers,
    )
    # What the machine took from the main thread (its run-queue wait, read by the grader,
    # less what the run's own other threads and processes ran) delays its hand-offs and its
    # exit; the code gets no say in it.
    waited = o.outcome.waited
    forgiven = _("; {waited:.3f}s more, which the main process spent waiting for a core"
                 ).format(waited=waited) if waited >= 0.0005 else ""
    measured = o.measurement(calibration, tolerance, xdist_workers)
    if o.tasks:
        # A thread of the main process kept from its first run delays the exit as much.
        starting = _kept_from_starting(measured)
        if starting > max(waited, 0.0005):
            waited = starting
            forgiven = _("; {waited:.3f}s more, which a thread of the main process spent "
                         "waiting for a core before its task").format(waited=waited)
    upper = bounds.upper + 2 * baseline + waited
    if o.pattern != "serial" and o.tasks:
        # The sleeps' own stamps, on one clock, before the wall: how long they spread is
        # free of interpreter start and exit, so tasks run one after another show here even
        # when the wall's margins would hide them (a unit of 2-task work is about what
        # those margins add under load).
        staggered = rules.machine_schedule(measured, max(o.strands, 1))
        kept, whose = _kept_from_launching(o, measured)
        allowed = staggered.makespan + tolerance * (staggered.chain + 2) + kept
        span = max(i.end for i in o.tasks) - min(i.start for i in o.tasks)
        spread = rules.wall(
            span, 0.0, allowed, what=_("the tasks' sleeps"),
            expected=ngettext(
                "the tasks' sleeps within {allowed:.3f}s of the first one's start (model "
                "{model:.3f}s over {workers} worker(s), plus calibrated start-up and jitter)",
                "the tasks' sleeps within {allowed:.3f}s of the first one's start (model "
                "{model:.3f}s over {workers} worker(s), plus calibrated start-up and jitter)",
                schedule.workers).format(allowed=allowed, model=schedule.makespan,
                                         workers=schedule.workers) + (
                "" if kept < 0.0005 else whose.format(kept=kept)),
            observed=_("{span:.3f}s from the first sleep's start to the last one's end").format(
                span=span))
        if spread.kind is not Kind.PASS:
            return o.judged(spread)
    return o.judged(rules.wall(
        o.wall, lower, upper, what=_("the script"),
        expected=ngettext(
            "between {lower:.3f}s and {upper:.3f}s (model {model:.3f}s over {workers} "
            "worker(s), plus calibrated start-up and {baseline:.3f}s imports and interpreter "
            "exit)",
            "between {lower:.3f}s and {upper:.3f}s (model {model:.3f}s over {workers} "
            "worker(s), plus calibrated start-up and {baseline:.3f}s imports and interpreter "
            "exit)", schedule.workers).format(
            lower=lower, upper=upper, model=schedule.makespan, workers=schedule.workers,
            baseline=baseline) + forgiven,
        observed=_("{wall:.3f}s from the script's first line to its exit").format(
            wall=o.wall)))


def _kept_from_launching(o: Observed, m: Measurement) -> tuple[float, str]:
    """Seconds the machine kept the main thread from a core between the first task's start
    and the last one's, which the sleeps' spread then forgives. Only while the main thread
    ran no more than launching its workers and tasks takes (see ``rules.launching``): one
    that works between the starts (a spin by the clock) waits for a core on a busy machine
    too, for as long as it chose to hold its children back."""
    starts = [i.start for i in o.tasks]
    begin, end = min(starts), max(starts)
    kept, ran = o.outcome.main_thread_between(begin, end)
    made = rules.launched(m, begin, end)
    main = kept if ran <= rules.launching(m, max(o.workers, made + 1)) else 0.0
    # The two waits may overlap in time, so the larger stands for both.
    thread = _kept_from_starting(m)
    if thread > main:
        return thread, _("; {kept:.3f}s of it a thread of the main process spent waiting for "
                         "a core before its task")
    return main, _("; {kept:.3f}s of it the main process spent waiting for a core while it "
                   "started them")


def _kept_from_starting(m: Measurement) -> float:
    """The longest a thread of the main process was kept from a core before its task (see
    ``Observed.queued``), which the spread and the wall then forgive."""
    return max((i.waited for i in m.tasks), default=0.0)


def _unlike_the_model(o: Observed) -> Check | None:
    """Why the run is not the one the model describes, whose bounds then mean nothing: under
    ``exact``, sleeps other than the exercise's; under ``any``, fewer tasks than it has, or a
    task too short to show anything. A run of none fails both (a slow pool start can stretch
    its wall past any lower bound)."""
    if o.sleeps == "any":
        tasks, least = per_task(o.tasks, o.unit), floor(o.asked)
        if len(tasks) >= len(o.asked) and min(tasks, default=0.0) >= least - 1e-6:
            return None
        return o.fail(
            "timing", _("the tasks did not sleep as the exercise asks"),
            ngettext("at least {count} task(s), of any duration from {least:g} tutorial "
                     "second(s) up",
                     "at least {count} task(s), of any duration from {least:g} tutorial "
                     "second(s) up", len(o.asked)).format(count=len(o.asked), least=least),
            ngettext("{count} task(s), of {slept}", "{count} task(s), of {slept}",
                     len(tasks)).format(count=len(tasks), slept=_listing(tasks)) if tasks else
            _(_NO_SLEEP))
    slept = sorted(i.seconds / o.unit for i in o.tasks)
    if _same(slept, sorted(o.durations)):
        return None
    return o.fail("timing", _("the tasks did not sleep the durations the exercise asks for"),
                  _("sleeps of {durations} tutorial second(s)").format(
                      durations=_listing(o.durations)),
                  _("sleeps of {slept}").format(slept=_listing(slept)) if slept else
                  _(_NO_SLEEP))


def _labels(o: Observed, order: Sequence[int]) -> str:
    return ", ".join(f"{o.durations[i]:g}" if i < len(o.durations) else "?" for i in order)


def order(o: Observed, tolerance: float) -> Check:
    if o.pattern not in ("map", "as_completed"):
        return Check("order", "skip", _("the {pattern} exercise prescribes no order").format(
            pattern=o.pattern))
    n = len(o.durations)
    got = list(o.outcome.recording.delivered)
    api = o.outcome.recording.api
    if not got and "multiprocessing.Pool" in api and not any(
            u.startswith("ProcessPoolExecutor.") for u in api):
        # Only where the exercise's construct was not used at all: a decoy Pool beside it
        # must not excuse results that were never read.
        return Check("order", "skip", _("results went through multiprocessing.Pool, whose "
                                        "order the grader does not follow (the exercise asks "
                                        "for ProcessPoolExecutor)"))
    if not got:
        return o.fail("order", _("the results were never read"),
                      ngettext("the results of {count} pool task(s) received by the main "
                               "process",
                               "the results of {count} pool task(s) received by the main "
                               "process", n).format(count=n),
                      _("none received"))
    if sorted(got) != list(range(n)):
        return o.fail("order", _("not every task's result reached the main process"),
                      ngettext("the results of {count} pool task(s)",
                               "the results of {count} pool task(s)", n).format(count=n),
                      ngettext("{count} result(s) received ({results})",
                               "{count} result(s) received ({results})", len(got)).format(
                          count=len(got), results=_labels(o, got)))

    def label(task: int) -> str:
        return _labels(o, [task])

    if o.pattern == "map":
        return o.judged(rules.input_order(got, n, label))
    ends = {i.task: i.end for i in o.tasks if i.task is not None}
    verdict = rules.completion_order(ends, got, tolerance, label)
    if verdict.kind is not Kind.PASS:
        return o.judged(verdict)
    schedules = _schedules_from_starts(o)
    if any(s.allows(got, tolerance) for s in schedules):
        return Check("order", "pass")
    schedule = schedules[0]
    # Which task finishes next depends on when the machine let each worker take its next
    # task and wake from its sleep, which the schedule does not know: the order is measured
    # again, alone, before it counts (results delivered out of completion order, above, are
    # the code's alone).
    return dataclasses.replace(o.fail(
        "order", _("tasks did not finish in an order the schedule allows"),
        ngettext("{order} ({workers} worker(s), ties within {tie:.0f} ms)",
                 "{order} ({workers} worker(s), ties within {tie:.0f} ms)",
                 schedule.workers).format(
            order=schedule.describe_order(tolerance, [f"{d:g}" for d in o.durations]),
            workers=schedule.workers, tie=tolerance * 1000),
        _labels(o, got),
    ), late=True)


def _schedules_from_starts(o: Observed) -> list[Schedule]:
    """The list schedules over the workers as they really started, each task as long as the
    exercise asks plus what its sleep overran. Which free worker takes the next task is a
    race the executor does not promise, so every pairing of the start times with the workers
    is one the run may have followed (for up to four workers)."""
    firsts = sorted(min(i.start for i in o.tasks if i.pid == pid) - o.origin
                    for pid in tl.processes(o.tasks))
    workers = max(len(firsts), 1)
    over = _overslept(o.tasks)
    durations = [d * o.unit + over.get(k, 0.0) for k, d in enumerate(o.durations)]
    pairings = itertools.permutations(firsts) if len(firsts) <= 4 else iter([tuple(firsts)])
    return [list_schedule(durations, workers, list(p)) for p in pairings] or [
        list_schedule(durations, workers)]


def _overslept(tasks: Sequence[Interval]) -> dict[int, float]:
    """How much longer than it asked each task's sleep lasted, by task index. A sleep that
    wakes late waited for a core (the machine's doing) and frees its worker late, which can
    hand the next task to the other worker and turn the order of two later finishes. The
    exercise's own durations stay the base: a script that submitted its tasks in another
    order gains nothing from it, its sleeps overrunning no more than anyone's."""
    over: dict[int, float] = {}
    for i in tasks:
        if i.task is not None:
            over[i.task] = over.get(i.task, 0.0) + max(0.0, i.elapsed - i.seconds)
    return over
