"""The eight checks of one graded run, each a pass, a fail with its explanation, or a skip.

Expectations come from the schedule model built with the workers the run really had (the
processes and threads that slept), so correct code passes on a grader with any number of cores.
Lower time bounds are physical (a sleep never ends early); upper bounds add what calibration
measured on this machine, and the measured cost of a script that only imports the lesson's
modules in the sandbox. Wall time is taken from the moment the start-up hook ran in the main
process (before any line of the script) to its exit, so interpreter start-up does not hide a
script that slept less than it should.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ..core import judge as rules
from ..core import timeline as tl
from ..core.bounds import share, wall_bounds
from ..core.calibrate import Calibration
from ..core.judge import STAGGER, Kind, Measurement, Verdict
from ..core.lesson import POOL_PATTERNS, PROCESS_PATTERNS
from ..core.model import Schedule, list_schedule
from ..core.picture import render
from ..core.sink import Interval
from ..core.verdict import message
from .outcome import Outcome

__all__ = ["CHECKS", "Check", "Observed", "judge", "late_only", "survives_spawn", "with_earlier"]

# Python's own words when a child re-imports a script that starts processes unguarded.
_UNGUARDED = "bootstrapping phase"
FORGED = "the script's records disagree with what the grader observed"
_NO_WORK = "no time.sleep call of the exercise's tasks was recorded, so nothing to judge"
CHECKS = ("runs", "main_guard", "api", "uses_processes", "overlap", "timing", "order", "cleanup")
_GUARD_HINT = ("put the code that starts processes under `if __name__ == \"__main__\":`; "
               "spawn (Windows, macOS) re-imports the script in every child, and forkserver "
               "in its server")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    """``pass``, ``fail`` or ``skip``."""
    message: str = ""
    late: bool = False
    """Only the upper time bound failed, which a moment of load can explain."""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass(frozen=True)
class Observed:
    """One run seen through the model: its tasks, strands, schedule and picture."""

    pattern: str
    durations: tuple[float, ...]
    unit: float
    outcome: Outcome
    tasks: tuple[Interval, ...]
    """Sleeps longer than zero, each with a task index (submission index for pool tasks,
    otherwise the order they started in)."""

    @classmethod
    def of(cls, pattern: str, durations: Sequence[float], unit: float, outcome: Outcome
           ) -> Observed:
        slept = [i for i in outcome.recording.intervals if i.seconds > 0]
        tagged = pattern in POOL_PATTERNS and all(i.task is not None for i in slept)
        tasks = tuple(i if tagged else dataclasses.replace(i, task=k)
                      for k, i in enumerate(slept))
        return cls(pattern, tuple(durations), unit, outcome, tasks)

    @property
    def origin(self) -> float:
        started = self.outcome.recording.started
        return self.outcome.origin if started is None else started

    @property
    def wall(self) -> float:
        """Seconds from the main interpreter reaching the hook (before any of the script ran)
        to its exit; interpreter start-up, which no schedule accounts for, is left out."""
        return self.outcome.origin + self.outcome.wall - self.origin

    @property
    def strands(self) -> int:
        """Distinct (process, thread) pairs that slept: the workers the run really had."""
        return len({(i.pid, i.tid) for i in self.tasks})

    @property
    def workers(self) -> int:
        return len(tl.processes(self.tasks))

    @property
    def schedule(self) -> Schedule:
        workers = 1 if self.pattern == "serial" else max(self.strands, 1)
        return list_schedule([d * self.unit for d in self.durations], workers)

    def picture(self) -> str:
        if not self.tasks:
            return "(no time.sleep call was recorded)"
        names = {i.task: i.label for i in self.tasks if i.task is not None}
        return render(self.tasks, main_pid=self.outcome.main_pid, origin=self.origin,
                      expected=self.schedule.makespan, names=names)

    def fail(self, name: str, title: str, expected: str, observed: str) -> Check:
        return Check(name, "fail", message(f"{name}: {title}", expected, observed,
                                           self.picture()))

    def judged(self, verdict: Verdict) -> Check:
        """The check of the judge's ``verdict``: a property the machine could not show is
        not held against the script, and says so."""
        if verdict.kind is Kind.PASS:
            return Check(verdict.check, "pass")
        if verdict.kind is Kind.UNSHOWN:
            return Check(verdict.check, "skip", message(
                f"{verdict.check}: not judged: {verdict.title}", verdict.expected,
                f"{verdict.observed}; this machine could not show it at unit {self.unit:g}s, "
                "so it is not held against the script", self.picture()))
        checked = self.fail(verdict.check, verdict.title, verdict.expected, verdict.observed)
        return dataclasses.replace(checked, late=verdict.kind is Kind.LATE)

    def measurement(self, calibration: Calibration, tolerance: float, xdist_workers: int
                    ) -> Measurement:
        """The run as the judge reads it: owing the strands that slept, each worker allowed
        its calibrated stagger, widened when pytest-xdist workers outnumber the cores."""
        pids = {i.pid for i in self.tasks} - {self.outcome.main_pid}
        rec = self.outcome.recording
        ready = rec.ready
        first_wait = min(rec.waits, default=float("inf"))
        return Measurement(
            durations=tuple(d * self.unit for d in self.durations),
            tasks=self.tasks,
            owed_workers=1 if self.pattern == "serial" else max(self.strands, 1),
            tolerance=tolerance,
            stagger=_allowance(self, calibration, xdist_workers),
            starts={pid: ready[pid] for pid in pids if pid in ready},
            origin=self.origin,
            held_back=any(t > first_wait for t in rec.launches) if rec.launches else None,
            single_use=self.pattern in PROCESS_PATTERNS,
            unit=self.unit,
        )


def judge(
    observed: Observed,
    guard: Observed | None,
    *,
    calibration: Calibration,
    tolerance: float,
    baseline: float,
    limit: float,
    xdist_workers: int = 1,
) -> list[Check]:
    """All eight checks of one exercise, in their fixed order."""
    runs = _runs(observed, limit)
    if runs.status == "fail":
        rest = [Check(name, "skip", "the script did not run to the end") for name in CHECKS[1:]]
        return [runs, *rest]
    if observed.tasks:
        guarded, api = _main_guard(observed, guard), _api(observed)
    else:
        # With no task slept, "as many sleeps when re-imported" and "no process for serial" would
        # pass an empty script; there is nothing for them to judge, unless the children died
        # re-importing an unguarded script (forkserver and spawn do that on the first run).
        guarded = (_unguarded(observed) if _UNGUARDED in observed.outcome.stderr
                   else Check("main_guard", "skip", _NO_WORK))
        api = Check("api", "skip", _NO_WORK) if observed.pattern == "serial" else _api(observed)
    return [
        runs,
        guarded,
        api,
        _uses_processes(observed),
        _overlap(observed, calibration, tolerance, xdist_workers),
        _timing(observed, calibration, tolerance, baseline, xdist_workers),
        _order(observed, tolerance),
        _cleanup(observed),
    ]


def late_only(checks: Sequence[Check]) -> bool:
    """Whether the upper time bound is all that failed, the one verdict a moment of load can
    explain: then, as in the core's noise policy, the script is measured once more. A failed
    structural check (overlap, order, ...) settles the grade whatever the clock said."""
    failed = [c for c in checks if c.status == "fail"]
    return len(failed) == 1 and failed[0].late


def with_earlier(checks: Sequence[Check], earlier: float) -> list[Check]:
    """The checks of a second measurement, their timing verdict naming the first wall too."""
    note = f"(the first attempt took {earlier:.3f}s and was measured again)"
    out = []
    for c in checks:
        if c.name == "timing" and c.status == "pass":
            c = Check("timing", "pass", f"timing: passed on a second attempt {note}")
        elif c.name == "timing" and c.status == "fail":
            c = Check("timing", "fail",
                      c.message.replace("\n  observed: ", f"\n  observed: {note} ", 1))
        out.append(c)
    return out


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n    ".join(kept) if kept else "(nothing on stderr)"


def _printed(outcome: Outcome, lines: int = 4) -> str:
    """The last lines the script printed, with when they arrived, after launch."""
    kept = [(t, text) for t, text in outcome.stdout if text.strip()][-lines:]
    if not kept:
        return ""
    shown = "\n    ".join(f"{t:7.3f}s  {text[:100]}" for t, text in kept)
    return f"\n  stdout ends with:\n    {shown}"


def _stderr(outcome: Outcome) -> str:
    """The end of stderr, where there is any, as a message's last lines."""
    if not outcome.stderr.strip():
        return ""
    return f"\n  stderr ends with:\n    {_tail(outcome.stderr)}"


def _exit(outcome: Outcome) -> str:
    code = outcome.returncode
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _runs(o: Observed, limit: float) -> Check:
    out = o.outcome
    expected = f"exit status 0 within {limit:.2f}s"
    # sandbox-v2: a run whose records contradict the grader's observation is not graded on them.
    if out.forged:
        return o.fail("runs", FORGED, "records the grader's own observation corroborates",
                      "; ".join(out.forged))
    if out.timed_out:
        return o.fail("runs", "the script did not finish in time", expected,
                      f"still running after {limit:.2f}s; the whole process tree was killed"
                      f"{_printed(out)}{_stderr(out)}")
    if out.flooded:
        return o.fail("runs", "the script printed more output than allowed", expected,
                      "output went past the cap; the run was stopped")
    if out.returncode != 0:
        return o.fail("runs", "the script failed", expected,
                      f"{_exit(out)} after {out.wall:.2f}s; stderr ends with:\n    "
                      f"{_tail(out.stderr)}{_printed(out)}")
    return Check("runs", "pass")


def survives_spawn(o: Observed, guard: Observed) -> bool:
    """Whether ``guard``, the run whose every child imports the script afresh (as under
    spawn), passes ``main_guard`` against ``o``."""
    return _main_guard(o, guard).status != "fail"


def _main_guard(o: Observed, guard: Observed | None) -> Check:
    if o.pattern == "serial":
        return Check("main_guard", "skip", "the serial exercise starts no processes")
    run = guard or o
    out = run.outcome
    want = len(o.tasks)
    expected = (f"the same {want} task sleep(s) as the graded run, and exit status 0, with "
                "every child importing the script afresh as under spawn")
    if out.timed_out or out.flooded or out.returncode != 0:
        observed = (f"{'a time-out' if out.timed_out else _exit(out)}; "
                    f"stderr ends with:\n    {_tail(out.stderr)}")
    elif _UNGUARDED in out.stderr or len(run.tasks) < want:
        observed = (f"{len(run.tasks)} task sleep(s); stderr ends with:\n    "
                    f"{_tail(out.stderr)}")
    else:
        return Check("main_guard", "pass")
    return run.fail("main_guard",
                    "the script breaks when its children import it again, as under spawn",
                    expected, f"{observed}\n  fix: {_GUARD_HINT}")


def _unguarded(o: Observed) -> Check:
    return o.fail("main_guard", "the children could not start: the script is not guarded",
                  "child processes that start and sleep their tasks",
                  f"no task slept{_stderr(o.outcome)}\n  fix: {_GUARD_HINT}")


_WANT = {
    "serial": "the task called directly, no processes or pools",
    "processes": "multiprocessing.Process, {n} started",
    "process_loop": "multiprocessing.Process, {n} started in a loop",
    "submit": "ProcessPoolExecutor.submit",
    "as_completed": "ProcessPoolExecutor.submit with concurrent.futures.as_completed",
    "map": "ProcessPoolExecutor.map",
}


def _api(o: Observed) -> Check:
    used = o.outcome.recording.api
    n = len(o.durations)
    starts = used.count("Process.start")
    pools = {u for u in used if u.endswith("Executor") or u == "multiprocessing.Pool"}
    threads = "ThreadPoolExecutor" in pools or "Thread.start" in used
    ok = {
        "serial": not starts and not pools and not threads,
        "processes": starts == n and not pools,
        "process_loop": starts == n and not pools,
        "submit": "ProcessPoolExecutor.submit" in used,
        "as_completed": "ProcessPoolExecutor.submit" in used and "as_completed" in used,
        "map": "ProcessPoolExecutor.map" in used,
    }[o.pattern]
    if ok and not (threads and o.pattern != "serial"):
        return Check("api", "pass")
    seen = sorted(set(used) - {"Thread.start"}) + (["threads"] if threads else [])
    summary = ", ".join(
        f"{name} x{used.count(name)}" if used.count(name) > 1 else name for name in seen
    ) or "no process, pool or thread"
    note = " (threads are not processes)" if threads else ""
    return o.fail("api", "the script does not use the construct the exercise asks for",
                  _WANT[o.pattern].format(n=n), summary + note)


def _uses_processes(o: Observed) -> Check:
    n = len(o.durations)
    main = o.outcome.main_pid
    in_main = [i for i in o.tasks if i.pid == main]
    if o.pattern == "serial":
        if len(o.tasks) >= n and not [i for i in o.tasks if i.pid != main]:
            return Check("uses_processes", "pass")
        return o.fail("uses_processes", "the serial tasks did not all run in the main process",
                      f"{n} sleep(s), all in the main process",
                      f"{len(in_main)} in the main process, {len(o.tasks) - len(in_main)} "
                      "elsewhere")
    if len(o.tasks) >= n and not in_main:
        return Check("uses_processes", "pass")
    threads = len({i.tid for i in in_main})
    where = f", in {threads} thread(s)" if threads > 1 else ""
    return o.fail("uses_processes", "the tasks did not all run in other processes",
                  f"{n} sleep(s) in processes other than the main one",
                  f"{len(o.tasks)} sleep(s) recorded, {len(in_main)} of them in the main "
                  f"process{where}" + ("" if o.tasks else _stderr(o.outcome)))


def _allowance(o: Observed, calibration: Calibration, xdist_workers: int) -> float:
    if o.pattern in (*PROCESS_PATTERNS, *POOL_PATTERNS):
        return STAGGER * calibration.startup * share(xdist_workers, calibration.cores)
    return 0.0


def _overlap(o: Observed, calibration: Calibration, tolerance: float, xdist_workers: int
             ) -> Check:
    if not o.tasks:
        return o.fail("overlap", "no sleeps were recorded", "the tasks' sleeps",
                      "none: time.sleep was not called, or was replaced"
                      f"{_stderr(o.outcome)}")
    m = o.measurement(calibration, tolerance, xdist_workers)
    if o.pattern == "serial":
        return o.judged(rules.serial(m))
    rec = o.outcome.recording
    first_wait = min(rec.waits, default=float("inf"))
    late = [t for t in rec.launches if t > first_wait]
    if late:
        # Structural evidence, whatever the unit: correct code makes every task available
        # before it waits for any of them.
        return o.fail("overlap", "the main process waited for a task before starting the next",
                      "every task started or submitted before the first join or result",
                      f"{len(late)} task(s) started or submitted after the main process had "
                      f"waited for one (first wait at {first_wait - o.origin:.3f}s, a later "
                      f"start at {late[0] - o.origin:.3f}s); peak concurrency {m.peak}")
    return o.judged(rules.overlap(m))


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


def _listing(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _timing(o: Observed, calibration: Calibration, tolerance: float, baseline: float,
            xdist_workers: int) -> Check:
    durations = [d * o.unit for d in o.durations]
    schedule = o.schedule
    slept = sorted(i.seconds / o.unit for i in o.tasks)
    if not _same(slept, sorted(o.durations)):
        # The model is built from the exercise's durations; a run of other sleeps, or of none
        # (whose wall a slow pool start can stretch past the lower bound), is not the run the
        # bounds describe.
        return o.fail("timing", "the tasks did not sleep the durations the exercise asks for",
                      f"sleeps of {_listing(o.durations)} tutorial second(s)",
                      f"sleeps of {_listing(slept)}" if slept else
                      "no sleep: time.sleep was not called, or was replaced")

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
    upper = bounds.upper + 2 * baseline
    if o.pattern != "serial" and o.tasks:
        # The sleeps' own stamps, on one clock, before the wall: how long they spread is
        # free of interpreter start and exit, so tasks run one after another show here even
        # when the wall's margins would hide them (a unit of 2-task work is about what
        # those margins add under load).
        staggered = rules.machine_schedule(o.measurement(calibration, tolerance, xdist_workers),
                                           max(o.strands, 1))
        allowed = staggered.makespan + tolerance * (staggered.chain + 2)
        span = max(i.end for i in o.tasks) - min(i.start for i in o.tasks)
        spread = rules.wall(
            span, 0.0, allowed, what="the tasks' sleeps",
            expected=f"the tasks' sleeps within {allowed:.3f}s of the first one's start (model "
            f"{schedule.makespan:.3f}s over {schedule.workers} worker(s), plus calibrated "
            "start-up and jitter)",
            observed=f"{span:.3f}s from the first sleep's start to the last one's end")
        if spread.kind is not Kind.PASS:
            return o.judged(spread)
    return o.judged(rules.wall(
        o.wall, lower, upper, what="the script",
        expected=f"between {lower:.3f}s and {upper:.3f}s (model {schedule.makespan:.3f}s over "
        f"{schedule.workers} worker(s), plus calibrated start-up and {baseline:.3f}s "
        "imports and interpreter exit)",
        observed=f"{o.wall:.3f}s from the script's first line to its exit"))


def _labels(o: Observed, order: Sequence[int]) -> str:
    return ", ".join(f"{o.durations[i]:g}" if i < len(o.durations) else "?" for i in order)


def _order(o: Observed, tolerance: float) -> Check:
    if o.pattern not in ("map", "as_completed"):
        return Check("order", "skip", f"the {o.pattern} exercise prescribes no order")
    n = len(o.durations)
    got = list(o.outcome.recording.delivered)
    api = o.outcome.recording.api
    if not got and "multiprocessing.Pool" in api and not any(
            u.startswith("ProcessPoolExecutor.") for u in api):
        # Only where the exercise's construct was not used at all: a decoy Pool beside it
        # must not excuse results that were never read.
        return Check("order", "skip", "results went through multiprocessing.Pool, whose order "
                     "the grader does not follow (the exercise asks for ProcessPoolExecutor)")
    if not got:
        return o.fail("order", "the results were never read",
                      f"the results of {n} pool task(s) received by the main process",
                      "none received")
    if sorted(got) != list(range(n)):
        return o.fail("order", "not every task's result reached the main process",
                      f"the results of {n} pool task(s)",
                      f"{len(got)} result(s) received ({_labels(o, got)})")

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
    return o.fail(
        "order", "tasks did not finish in an order the schedule allows",
        f"{schedule.describe_order(tolerance, [f'{d:g}' for d in o.durations])} "
        f"({schedule.workers} worker(s), ties within {tolerance * 1000:.0f} ms)",
        _labels(o, got),
    )


def _schedules_from_starts(o: Observed) -> list[Schedule]:
    """The list schedules over the workers as they really started. Which free worker takes
    the next task is a race the executor does not promise, so every pairing of the start
    times with the workers is one the run may have followed (for up to four workers)."""
    firsts = sorted(min(i.start for i in o.tasks if i.pid == pid) - o.origin
                    for pid in tl.processes(o.tasks))
    workers = max(len(firsts), 1)
    durations = [d * o.unit for d in o.durations]
    pairings = itertools.permutations(firsts) if len(firsts) <= 4 else iter([tuple(firsts)])
    return [list_schedule(durations, workers, list(p)) for p in pairings] or [
        list_schedule(durations, workers)]


def _cleanup(o: Observed) -> Check:
    left = o.outcome.leftovers
    if not left:
        return Check("cleanup", "pass")
    return o.fail("cleanup", "processes were left alive after the script ended",
                  "no process of the run alive once the main process has exited",
                  f"{len(left)} still alive after a grace period, then killed:\n    "
                  + "\n    ".join(left[:5]))
