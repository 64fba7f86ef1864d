"""What each of a run's assertions claims: one rule a check, from the measured run to the
judge's verdict. The rules judge; :class:`~.run.Run` decides what a verdict calls for."""

from __future__ import annotations

from . import judge
from .judge import Kind, Verdict
from .measured import Measured

__all__ = ["complete", "completion_order", "fastest_first", "input_order", "overlap",
           "parallel", "serial", "timing", "uses_processes"]


def serial(run: Measured) -> Verdict:
    return judge.serial(run.measurement(1))


def parallel(run: Measured) -> Verdict:
    return judge.parallel(run.measurement(run.owed_workers))


def overlap(run: Measured) -> Verdict:
    if run.pattern == "serial" or run.workers == 1:
        return judge.serial(run.measurement(1))
    return judge.overlap(run.measurement(run.workers))


def timing(run: Measured) -> Verdict:
    b = run.bounds
    if run.wall < b.lower:
        expected = f"at least {b.lower:.3f}s"
    else:
        expected = (f"at most {b.upper:.3f}s (model {b.ideal:.3f}s plus calibrated start-up "
                    "and jitter)")
    return judge.wall(run.wall, b.lower, b.upper, expected=expected,
                      observed=f"{run.wall:.3f}s")


def complete(run: Measured) -> Verdict:
    n = len(run.durations)
    tasks = sorted(i.task for i in run.intervals if i.task is not None)
    if tasks != list(range(n)):
        missing = sorted(set(range(n)) - set(tasks))
        return Verdict("runs", Kind.FAIL, "not every task ran to its end once",
                       f"tasks {list(range(n))} each recorded once",
                       f"recorded {tasks}" + (f", missing {missing}" if missing else ""))
    bad = [(k, code) for k, code in enumerate(run.exitcodes) if code != 0]
    if bad:
        return Verdict("runs", Kind.FAIL, "a process did not exit cleanly", "every exit code 0",
                       ", ".join(f"task {k} exited with {code}" for k, code in bad))
    return judge.passed("runs")


def uses_processes(run: Measured) -> Verdict:
    in_main = [i for i in run.intervals if i.pid == run.main_pid]
    if run.pattern == "serial" and len(in_main) < len(run.intervals):
        return Verdict("uses_processes", Kind.FAIL, "serial tasks ran outside the main process",
                       "every task in the main process",
                       f"{len(run.intervals) - len(in_main)} task(s) in other processes")
    if run.pattern != "serial" and in_main:
        return Verdict("uses_processes", Kind.FAIL, "tasks ran in the main process",
                       "every task in a child process",
                       f"{len(in_main)} task(s) in the main process")
    return judge.passed("uses_processes")


def input_order(run: Measured) -> Verdict:
    return judge.input_order(run.delivered, len(run.durations), run.label)


def completion_order(run: Measured) -> Verdict:
    model = (f"the model, with {run.workers} worker(s): "
             + run.schedule.describe_order(run.tolerance, list(run.names().values())))
    return judge.completion_order(run.finishes(), run.delivered, run.tolerance, run.label,
                                  model)


def fastest_first(run: Measured) -> Verdict:
    n = len(run.durations)
    names = list(run.names().values())
    # Judged on the workers asked for: one that a busy machine started too late to take a
    # task is the judge's to weigh from readiness, not a reason to fail.
    if run.owed_workers < n:
        fastest = sorted(range(n), key=lambda i: (run.durations[i], i))
        return Verdict(
            "order", Kind.FAIL, "fastest-first cannot hold with fewer workers than tasks",
            f"{n} workers for {n} tasks, results in order {', '.join(map(run.label, fastest))}",
            f"{run.owed_workers} worker(s); the model expects "
            f"{run.schedule.describe_order(run.tolerance, names)}")
    return judge.fastest_first(run.measurement(n), run.delivered, run.label)
