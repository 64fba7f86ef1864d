"""The exit status of a grading run under ``--sleepbench-exit-zero``.

Autograders and CI read a failing exit as a broken grader, so a run that graded everything it
was to grade exits 0 whatever the scores. A run whose grading did not finish keeps its
failing status, since its gradebook is not a verdict: an exercise the grader could not grade
(its worker died, the grader failed or was stopped) or never reached (``-x``, ``--maxfail``).
Interrupted runs, usage errors and unwritten reports never get here with a status to change.
"""

from __future__ import annotations

import pytest

__all__ = ["settle"]


def _named(config: pytest.Config) -> str:
    given = config.getoption("sleepbench_exit_zero")
    return "--sleepbench-exit-zero" if given else "sleepbench_exit_zero (ini)"


def settle(config: pytest.Config, status: int | pytest.ExitCode, *, ungraded: int,
           cut_short: str | None, nothing_to_grade: bool
           ) -> tuple[int | pytest.ExitCode, str | None]:
    """The status the run exits with, and a line for the gradebook saying why, if it is not
    the status pytest chose."""
    option = _named(config)
    if status == pytest.ExitCode.TESTS_FAILED:
        if ungraded or cut_short is not None:
            why = (f"{ungraded} exercise(s) could not be graded" if ungraded
                   else f"grading did not finish ({cut_short})")
            return status, (f"sleepbench: exit status {int(status)} despite {option}: {why}; "
                            "grade them again (pytest --lf) for a verdict")
        return pytest.ExitCode.OK, (f"sleepbench: exit status 0 ({option}): grading "
                                    "finished; the scores above are the verdict")
    if status == pytest.ExitCode.NO_TESTS_COLLECTED and nothing_to_grade:
        # A shard of a small class may hold no submission; that job did all it had to.
        return pytest.ExitCode.OK, (f"sleepbench: exit status 0 ({option}): this run had no "
                                    "submission to grade")
    return status, None
