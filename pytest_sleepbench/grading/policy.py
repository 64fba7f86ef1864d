"""How an exercise is graded beyond its checks, as the assignment file sets it.

- ``sleeps``: ``"exact"`` holds a script to the exercise's durations; ``"any"`` builds the
  model on what the script really slept, as long as it ran at least the exercise's number of
  tasks, each long enough to show anything.
- ``workers``: how many tasks a parallel exercise owes at once; by default what a
  ``ProcessPoolExecutor()`` gets on the grader (pools) or one process a task (``Process``).
- ``weights``: what a failed check costs, as a share of the exercise's points, so that missing
  what the exercise teaches costs more than a slip beside it.

Pure rules and their parsing; nothing here runs a script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .values import Bad, finite, show

__all__ = ["ANY_FLOOR", "ANY_HEADROOM", "DEFAULT_SLEEPS", "DEFAULT_WEIGHTS", "SLEEPS",
           "WEIGHTED", "floor", "points_left", "sleep_budget", "sleeps_of", "weights_of",
           "workers_of"]

SLEEPS = ("exact", "any")
#: ``exact`` where the lesson depends on the durations: ``as_completed`` and ``map`` teach an
#: order, which only distinct durations (5, 4, 3, 2, 1) can show. The others say the user
#: picks the intervals (exercise 1) or teach what any sleeps show (overlap, processes).
DEFAULT_SLEEPS: dict[str, str] = {
    "serial": "any", "processes": "any", "process_loop": "any", "submit": "any",
    "as_completed": "exact", "map": "exact",
}

#: The checks a failure costs points for. ``runs`` is not among them: a script that does not
#: run scores 0 whatever the weights.
WEIGHTED = ("main_guard", "api", "uses_processes", "overlap", "timing", "order", "cleanup")
#: The share of an exercise's points each failed check costs. What an exercise teaches
#: (processes, overlap, order) costs half, so missing it leaves at most half the points;
#: the ``__main__`` guard, the point of exercise 2, a quarter; the rest a fifth or a tenth,
#: so a slip beside a right idea costs less than the idea. Shares add up: a script that
#: misses several loses each, down to 0.
DEFAULT_WEIGHTS: dict[str, float] = {
    "main_guard": 0.25, "api": 0.2, "uses_processes": 0.5, "overlap": 0.5, "timing": 0.2,
    "order": 0.5, "cleanup": 0.1,
}

#: Under ``any``, the shortest sleep that counts as a task, in tutorial seconds (or the
#: exercise's own shortest, if shorter): the grader's tolerance is never more than a quarter
#: of a tutorial second, so a shorter sleep can hide in the machine's noise and shows neither
#: a sum nor an overlap.
ANY_FLOOR = 0.25
#: Under ``any``, how many times the exercise's own sleep the derived time limit allows for,
#: since the script picks its durations (the lesson's popular copy of exercise 2.1 sleeps
#: 1.5 s a process). Longer sleeps need a ``timeout`` in the assignment.
ANY_HEADROOM = 4


def floor(durations: Sequence[float]) -> float:
    """The shortest sleep that counts as one of the exercise's tasks under ``any``."""
    return min(ANY_FLOOR, min(durations, default=ANY_FLOOR))


def sleep_budget(durations: Sequence[float], sleeps: str) -> float:
    """Tutorial seconds of sleep a run's time limit makes room for."""
    return sum(durations) * (ANY_HEADROOM if sleeps == "any" else 1)


def points_left(failed: Sequence[str], weights: Mapping[str, float]) -> float:
    """The share of the points a run keeps, having failed the checks named: one less what
    each failure costs, never below 0. Skipped checks are not failures, so cost nothing."""
    return max(0.0, 1.0 - sum(weights.get(name, 0.0) for name in failed))


def sleeps_of(table: Mapping[str, object], k: int, pattern: str, bad: Bad) -> str:
    value = table.get("sleeps", DEFAULT_SLEEPS[pattern])
    if value not in SLEEPS:
        raise bad(f"sleeps must be \"exact\" or \"any\", got {value!r}", "sleeps", k,
                  fix="\"exact\" holds the script to the exercise's durations, \"any\" takes "
                      "what it slept")
    return str(value)


def workers_of(table: Mapping[str, object], k: int, pattern: str, bad: Bad) -> int | None:
    """The tasks a parallel exercise owes at once, if the assignment says; ``None`` for the
    default (see :mod:`.grade`)."""
    if "workers" not in table:
        return None
    value = table["workers"]
    if pattern == "serial":
        raise bad("workers does not apply to the serial pattern, which runs one task at a "
                  "time", "workers", k, fix="remove it, or choose a parallel pattern")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad(f"workers must be a whole number of at least 1, got {value!r}", "workers", k,
                  fix="it is how many tasks the exercise owes at once, e.g. `workers = 2`")
    return value


def weights_of(value: object, bad: Bad, index: int | None = None,
               base: Mapping[str, float] = DEFAULT_WEIGHTS) -> dict[str, float]:
    """``base`` with the weights of a ``[weights]`` table (``index`` ``None``) or an
    exercise's ``weights = {...}`` laid over it."""
    def where(check: str) -> str:
        return "weights" if index is not None else f"weights.{check}"

    if not isinstance(value, Mapping):
        raise bad(f"weights must be a table of check names and shares, got {value!r}",
                  "weights", index, fix="e.g. `weights = { overlap = 0.5 }`, or a [weights] "
                  "table at the top")
    weights = dict(base)
    for check, share in value.items():
        if check == "runs":
            raise bad("runs has no weight: a script that does not run scores 0 whatever the "
                      "weights", where(check), index, fix="remove it")
        if check not in WEIGHTED:
            raise bad(f"unknown check {check!r} in weights", where(check), index,
                      fix=f"weighted checks are {', '.join(WEIGHTED)}")
        number = finite(share)
        if number is None or not 0 <= number <= 1:
            raise bad(f"the weight of {check} must be a number from 0 to 1, got {share!r}",
                      where(check), index, fix="it is the share of the exercise's points a "
                      f"failed {check} check costs, e.g. `{check} = "
                      f"{show(DEFAULT_WEIGHTS[check])}`")
        weights[check] = number
    return weights
