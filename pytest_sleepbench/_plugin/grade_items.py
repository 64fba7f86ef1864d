"""The graded items: one collector per submission folder, one item per exercise, whose verdict
is the exercise's explanation, never a traceback into the grader."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from ..core.i18n import _
from ..grading.ahead import Ahead
from ..grading.assignment import Assignment, Exercise
from ..grading.grade import grade_exercise, not_graded
from ..grading.plan import start_ahead
from ..report.gradebook import points_text, shown
from .settings import xdist_workers
from .xdist import owner_of, whole_submissions

__all__ = ["NODE_PREFIX", "GradeItem", "Pair", "Submission", "explain", "node_pair"]

NODE_PREFIX = "sleepbench-grade/"
Pair = tuple[str, str]
"""(submission, exercise id)."""


class Submission(pytest.Collector):
    """One submission folder; its items are the assignment's exercises."""

    def __init__(self, *, folder: Path, assignment: Assignment, exact: str,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.folder = folder
        self.assignment = assignment
        self.exact = exact
        """The folder's name as it is; the node's name is it as a terminal may show it."""
        self._ahead: Ahead | None = None

    def runs_ahead(self, first: GradeItem) -> Ahead | None:
        """The runs of this submission's exercises from ``first`` on, started side by side
        when ``first`` runs, if this process will run all of them (see
        :func:`.xdist.whole_submissions`). Not those before it: under xdist a worker that
        took over a submission from one that died starts after the exercise it died on."""
        if self._ahead is None and whole_submissions(self.config):
            items = [i for i in self.session.items
                     if isinstance(i, GradeItem) and i.parent is self]
            mine = [i.exercise for i in items[items.index(first):]] if first in items else []
            self._ahead = start_ahead(self.folder, mine, self.assignment, owner_of(self.config),
                                      graders=xdist_workers())
            # Torn down after its last item, or at the end of a session stopped early.
            self.addfinalizer(self._ahead.close)
        return self._ahead

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [
            GradeItem.from_parent(self, name=exercise.id, submission=self.exact,
                                  folder=self.folder, exercise=exercise,
                                  assignment=self.assignment)
            for exercise in self.assignment.exercises
        ]


class GradeItem(pytest.Item):
    def __init__(self, *, submission: str, folder: Path, exercise: Exercise,
                 assignment: Assignment, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.submission = submission
        self.folder = folder
        self.exercise = exercise
        self.assignment = assignment
        self.entry: dict[str, object] | None = None

    def runtest(self) -> None:
        entry, error = self._grade()
        self.entry = entry
        self.user_properties += [("score", entry["score"]), ("max_score", entry["max_score"]),
                                 ("status", entry["status"])]
        if entry["status"] != "pass":
            # The explanation is the whole story; a traceback into the grader would hide it.
            pytest.fail(explain(self.submission, entry) + _traceback(error), pytrace=False)

    def _grade(self) -> tuple[dict[str, object], BaseException | None]:
        try:
            ahead = (self.parent.runs_ahead(self) if isinstance(self.parent, Submission)
                     else None)
            return grade_exercise(self.folder, self.exercise, self.assignment,
                                  xdist_workers=xdist_workers(), owner=owner_of(self.config),
                                  ahead=ahead), None
        except (KeyboardInterrupt, pytest.exit.Exception):
            raise
        except (Exception, pytest.fail.Exception) as error:
            # A grader that fails (pytest-timeout's stop, a bug) still gives the exercise its
            # place in every report, failed with the reason, rather than none at all.
            return not_graded(self.folder, self.exercise, _reason(error)), error

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return (self.folder, None,
                f"{shown(self.submission)}: {self.exercise.id} ({self.exercise.pattern})")


def _reason(error: BaseException) -> str:
    if isinstance(error, pytest.fail.Exception):
        # pytest-timeout's outer guard, or another plugin that stopped the item
        what = _("grading was stopped before it finished ({cause})").format(
            cause=str(error.msg or error).rstrip("."))
    else:
        what = _("the grader failed before it finished ({error})").format(
            error=f"{type(error).__name__}: {error}")
    return _("{what}; nothing was graded, so it scores 0. Grade it again (pytest --lf) for a "
             "verdict.").format(what=what)


def _traceback(error: BaseException | None) -> str:
    """The grader's own traceback when it broke, which is what a bug report needs; a stop
    (pytest-timeout's) is told by the reason alone."""
    if error is None or isinstance(error, pytest.fail.Exception):
        return ""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "\n\n" + "".join(lines).rstrip()


def node_pair(nodeid: str) -> Pair | None:
    """The (submission, exercise id) of a grading item's node id."""
    if not nodeid.startswith(NODE_PREFIX):
        return None
    name, _, ident = nodeid.removeprefix(NODE_PREFIX).rpartition("::")
    return name, ident


def explain(submission: str, entry: dict[str, object]) -> str:
    head = (f"{shown(submission)} {entry['id']} ({entry['pattern']}): "
            f"{points_text(entry['score'], entry['max_score'])}")
    checks = entry.get("checks")
    lines = [head]
    for check in checks if isinstance(checks, list) else []:
        if check.get("status") == "fail":
            lines += ["", str(check.get("message", "")).rstrip()]
    return "\n".join(lines)
