"""The exit status of a grading run under ``--sleepbench-exit-zero``.

Autograders and CI read a failing exit as a broken grader, so a run that graded everything it
was to grade exits 0 whatever the scores. A run whose grading did not finish keeps its
failing status, since its gradebook is not a verdict: an exercise the grader could not grade
(its worker died, the grader failed or was stopped) or never reached (``-x``, ``--maxfail``).
Interrupted runs, usage errors and unwritten reports never get here with a status to change.
"""

from __future__ import annotations

import pytest

from ..core.i18n import _, ngettext

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
            why = (ngettext("{count} exercise(s) could not be graded",
                            "{count} exercise(s) could not be graded", ungraded).format(
                       count=ungraded) if ungraded
                   else _("grading did not finish ({cause})").format(cause=cut_short))
            return status, _("sleepbench: exit status {status} despite {option}: {why}; grade "
                             "them again (pytest --lf) for a verdict").format(
                status=int(status), option=option, why=why)
        return pytest.ExitCode.OK, _("sleepbench: exit status 0 ({option}): grading finished; "
                                     "the scores above are the verdict").format(option=option)
    if status == pytest.ExitCode.NO_TESTS_COLLECTED and nothing_to_grade:
        # A shard of a small class may hold no submission; that job did all it had to.
        return pytest.ExitCode.OK, _("sleepbench: exit status 0 ({option}): this run had no "
                                     "submission to grade").format(option=option)
    return status, None
