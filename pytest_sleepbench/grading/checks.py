"""The eight checks of one graded run, each a pass, a fail with its explanation, or a skip.

This module holds the checks of how the script ran (``runs``, ``main_guard``, ``api``,
``uses_processes``, ``cleanup``) and the order they are judged in; the timed ones (``overlap``,
``timing``, ``order``) are :mod:`.timed`'s. Wall time is taken from the moment the start-up hook
ran in the main process (before any line of the script) to its exit, so interpreter start-up
does not hide a script that slept less than it should.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.calibrate import Calibration
from ..core.i18n import N_, _, ngettext
from ..core.verdict import observed_label
from .observed import Check, Observed, stderr_end, tail
from .outcome import Outcome
from .timed import order, overlap, timing

__all__ = ["CHECKS", "Check", "Observed", "judge", "late", "late_only", "survives_spawn",
           "with_earlier"]

# Python's own words when a child re-imports a script that starts processes unguarded.
_UNGUARDED = "bootstrapping phase"
FORGED = N_("the script's records disagree with what the grader observed")
_NO_WORK = N_("no time.sleep call of the exercise's tasks was recorded, so nothing to judge")
CHECKS = ("runs", "main_guard", "api", "uses_processes", "overlap", "timing", "order", "cleanup")
_GUARD_HINT = N_("put the code that starts processes under `if __name__ == \"__main__\":`; "
                 "spawn (Windows, macOS) re-imports the script in every child, and forkserver "
                 "in its server")


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
        rest = [Check(name, "skip", _("the script did not run to the end"))
                for name in CHECKS[1:]]
        return [runs, *rest]
    if observed.tasks:
        guarded, api = _main_guard(observed, guard), _api(observed)
    else:
        # With no task slept, "as many sleeps when re-imported" and "no process for serial" would
        # pass an empty script; there is nothing for them to judge, unless the children died
        # re-importing an unguarded script (forkserver and spawn do that on the first run).
        guarded = (_unguarded(observed) if _UNGUARDED in observed.outcome.stderr
                   else Check("main_guard", "skip", _(_NO_WORK)))
        api = (Check("api", "skip", _(_NO_WORK)) if observed.pattern == "serial"
               else _api(observed))
    return [
        runs,
        guarded,
        api,
        _uses_processes(observed),
        overlap(observed, calibration, tolerance, xdist_workers),
        timing(observed, calibration, tolerance, baseline, xdist_workers),
        order(observed, tolerance),
        _cleanup(observed),
    ]


def late_only(checks: Sequence[Check]) -> bool:
    """Whether every failed check failed only as a moment of load can explain (see
    :func:`late`): then every check is judged on the second measurement."""
    failed = [c for c in checks if c.status == "fail"]
    return bool(failed) and all(c.late for c in failed)


def late(checks: Sequence[Check]) -> bool:
    """Whether a check failed only as a moment of load can explain (the upper time bound, an
    order that depends on when the machine let workers run): then, as in the core's noise
    policy, the script is measured once more, alone. A failed structural check (overlap,
    uses_processes, ...) stands whatever the clock said."""
    return any(c.status == "fail" and c.late for c in checks)


def with_earlier(checks: Sequence[Check], earlier: float) -> list[Check]:
    """The checks of a second measurement, their timing verdict naming the first wall too."""
    note = _("(the first attempt took {earlier:.3f}s and was measured again)").format(
        earlier=earlier)
    observed = f"\n  {observed_label()} "
    out = []
    for c in checks:
        if c.name == "timing" and c.status == "pass":
            c = Check("timing", "pass",
                      _("timing: passed on a second attempt {note}").format(note=note))
        elif c.name == "timing" and c.status == "fail":
            c = Check("timing", "fail", c.message.replace(observed, f"{observed}{note} ", 1))
        out.append(c)
    return out


def _printed(outcome: Outcome, lines: int = 4) -> str:
    """The last lines the script printed, with when they arrived, after launch."""
    kept = [(t, text) for t, text in outcome.stdout if text.strip()][-lines:]
    if not kept:
        return ""
    shown = "\n    ".join(f"{t:7.3f}s  {text[:100]}" for t, text in kept)
    said = _("stdout ends with:")
    return f"\n  {said}\n    {shown}"


def _exit(outcome: Outcome) -> str:
    code = outcome.returncode
    if code is not None and code < 0:
        return _("killed by signal {signal}").format(signal=-code)
    return _("exit status {code}").format(code=code)


def _runs(o: Observed, limit: float) -> Check:
    out = o.outcome
    expected = _("exit status 0 within {limit:.2f}s").format(limit=limit)
    # sandbox-v2: a run whose records contradict the grader's observation is not graded on them.
    if out.forged:
        return o.fail("runs", _(FORGED), _("records the grader's own observation corroborates"),
                      "; ".join(out.forged))
    if out.timed_out:
        return o.fail("runs", _("the script did not finish in time"), expected,
                      _("still running after {limit:.2f}s; the whole process tree was killed"
                        ).format(limit=limit) + f"{_printed(out)}{stderr_end(out)}")
    if out.flooded:
        return o.fail("runs", _("the script printed more output than allowed"), expected,
                      _("output went past the cap; the run was stopped"))
    if out.returncode != 0:
        return o.fail("runs", _("the script failed"), expected,
                      _("{exit} after {wall:.2f}s; stderr ends with:").format(
                          exit=_exit(out), wall=out.wall)
                      + f"\n    {tail(out.stderr)}{_printed(out)}")
    return Check("runs", "pass")


def survives_spawn(o: Observed, guard: Observed) -> bool:
    """Whether ``guard``, the run whose every child imports the script afresh (as under
    spawn), passes ``main_guard`` against ``o``."""
    return _main_guard(o, guard).status != "fail"


def _main_guard(o: Observed, guard: Observed | None) -> Check:
    if o.pattern == "serial":
        return Check("main_guard", "skip", _("the serial exercise starts no processes"))
    run = guard or o
    out = run.outcome
    want = len(o.tasks)
    expected = ngettext(
        "the same {want} task sleep(s) as the graded run, and exit status 0, with every child "
        "importing the script afresh as under spawn",
        "the same {want} task sleep(s) as the graded run, and exit status 0, with every child "
        "importing the script afresh as under spawn", want).format(want=want)
    if out.timed_out or out.flooded or out.returncode != 0:
        observed = _("{exit}; stderr ends with:").format(
            exit=_("a time-out") if out.timed_out else _exit(out))
    elif _UNGUARDED in out.stderr or len(run.tasks) < want:
        observed = ngettext("{count} task sleep(s); stderr ends with:",
                            "{count} task sleep(s); stderr ends with:", len(run.tasks)
                            ).format(count=len(run.tasks))
    else:
        return Check("main_guard", "pass")
    return run.fail("main_guard",
                    _("the script breaks when its children import it again, as under spawn"),
                    expected, f"{observed}\n    {tail(out.stderr)}\n  {_fix()}")


def _fix() -> str:
    return _("fix: {hint}").format(hint=_(_GUARD_HINT))


def _unguarded(o: Observed) -> Check:
    return o.fail("main_guard", _("the children could not start: the script is not guarded"),
                  _("child processes that start and sleep their tasks"),
                  _("no task slept") + f"{stderr_end(o.outcome)}\n  {_fix()}")


_WANT = {
    "serial": N_("the task called directly, no processes or pools"),
    "processes": N_("multiprocessing.Process, {n} started"),
    "process_loop": N_("multiprocessing.Process, {n} started in a loop"),
    "submit": "ProcessPoolExecutor.submit",
    "as_completed": N_("ProcessPoolExecutor.submit with concurrent.futures.as_completed"),
    "map": "ProcessPoolExecutor.map",
}


def _api(o: Observed) -> Check:
    used = o.outcome.recording.api
    n = len(o.asked)
    starts = used.count("Process.start")
    # Under sleeps = "any" a script may run more tasks than the exercise's, a process each.
    enough = starts == n or (o.sleeps == "any" and starts > n)
    pools = {u for u in used if u.endswith("Executor") or u == "multiprocessing.Pool"}
    threads = "ThreadPoolExecutor" in pools or "Thread.start" in used
    ok = {
        "serial": not starts and not pools and not threads,
        "processes": enough and not pools,
        "process_loop": enough and not pools,
        "submit": "ProcessPoolExecutor.submit" in used,
        "as_completed": "ProcessPoolExecutor.submit" in used and "as_completed" in used,
        "map": "ProcessPoolExecutor.map" in used,
    }[o.pattern]
    if ok and not (threads and o.pattern != "serial"):
        return Check("api", "pass")
    seen = sorted(set(used) - {"Thread.start"}) + ([_("threads")] if threads else [])
    summary = ", ".join(
        f"{name} x{used.count(name)}" if used.count(name) > 1 else name for name in seen
    ) or _("no process, pool or thread")
    note = _(" (threads are not processes)") if threads else ""
    return o.fail("api", _("the script does not use the construct the exercise asks for"),
                  _(_WANT[o.pattern]).format(n=n), summary + note)


def _uses_processes(o: Observed) -> Check:
    n = len(o.asked)
    main = o.outcome.main_pid
    in_main = [i for i in o.tasks if i.pid == main]
    if o.pattern == "serial":
        if len(o.tasks) >= n and not [i for i in o.tasks if i.pid != main]:
            return Check("uses_processes", "pass")
        return o.fail("uses_processes",
                      _("the serial tasks did not all run in the main process"),
                      ngettext("{count} sleep(s), all in the main process",
                               "{count} sleep(s), all in the main process", n).format(count=n),
                      _("{main} in the main process, {elsewhere} elsewhere").format(
                          main=len(in_main), elsewhere=len(o.tasks) - len(in_main)))
    if len(o.tasks) >= n and not in_main:
        return Check("uses_processes", "pass")
    threads = len({i.tid for i in in_main})
    where = _(", in {threads} thread(s)").format(threads=threads) if threads > 1 else ""
    return o.fail("uses_processes", _("the tasks did not all run in other processes"),
                  ngettext("{count} sleep(s) in processes other than the main one",
                           "{count} sleep(s) in processes other than the main one", n
                           ).format(count=n),
                  ngettext("{count} sleep(s) recorded, {main} of them in the main process",
                           "{count} sleep(s) recorded, {main} of them in the main process",
                           len(o.tasks)).format(count=len(o.tasks), main=len(in_main))
                  + where + ("" if o.tasks else stderr_end(o.outcome)))


def _cleanup(o: Observed) -> Check:
    left = o.outcome.leftovers
    if not left:
        return Check("cleanup", "pass")
    return o.fail("cleanup", _("processes were left alive after the script ended"),
                  _("no process of the run alive once the main process has exited"),
                  _("{count} still alive after a grace period, then killed:").format(
                      count=len(left)) + "\n    " + "\n    ".join(left[:5]))
