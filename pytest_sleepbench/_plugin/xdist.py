"""Grading under pytest-xdist when a worker dies or the run is interrupted.

A worker killed mid-exercise sends no report for it, and the sandboxed scripts it started live
on: they have their own session and, as root, their own user, so nothing else reaps them. The
controller gives that exercise a verdict of its own (failed, not graded, with the reason), and
ends whatever runs a dead worker, or an interrupted session, left behind.

Every sandbox run is tagged with its owner, ``<session>.<worker id>``, where the session is
derived from xdist's test run id, which the controller and all its workers share.
"""

from __future__ import annotations

import functools
import hashlib
import re
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import pytest

from ..core.i18n import _
from ..grading.sandbox import sweep

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

__all__ = ["Grading", "XdistGrading", "owner_of", "whole_submissions"]

# xdist's modes that give a worker all of a submission's items (grading turns "load" into
# scheduling by submission, see BySubmission) or every item; the others hand items out one
# by one, so a worker grades each exercise on its own.
_WHOLE = ("load", "loadscope", "loadfile", "each")
# Workers see no --dist of their own (xdist sets it to "no" there): the controller tells them.
_WHOLE_KEY = "sleepbench_whole_submissions"


def owner_of(config: pytest.Config) -> str:
    """The owner tag of the sandbox runs this process starts."""
    workerinput = getattr(config, "workerinput", None)
    return _owner(workerinput) if isinstance(workerinput, Mapping) else "local"


def whole_submissions(config: pytest.Config) -> bool:
    """Whether this process runs every selected item of a submission it starts on: always
    without xdist; in a worker, as its controller said."""
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, Mapping):
        return True
    return bool(workerinput.get(_WHOLE_KEY, False))


def _session(workerinput: Mapping[str, object]) -> str:
    # --testrunuid may be any text; its digest is safe in a file name.
    return hashlib.sha256(str(workerinput["testrunuid"]).encode()).hexdigest()[:16]


def _owner(workerinput: Mapping[str, object]) -> str:
    worker = re.sub(r"[^A-Za-z0-9]", "", str(workerinput.get("workerid", "")))
    return f"{_session(workerinput)}.{worker or 'worker'}"


def _death(node: object) -> str:
    """How a worker ended, from its exit status when the controller can still read it."""
    # execnet keeps the worker's Popen on the gateway; it is not public, hence the care.
    popen = getattr(getattr(getattr(node, "gateway", None), "_io", None), "popen", None)
    try:
        code = popen.wait(timeout=2) if popen is not None else None
    except Exception:
        code = None  # a cause we cannot read is reported as unknown
    if not isinstance(code, int):
        return _("cause unknown")
    if code < 0:
        try:
            return _("killed by signal {signal}, {name}").format(
                signal=-code, name=signal.Signals(-code).name)
        except ValueError:
            return _("killed by signal {signal}").format(signal=-code)
    return _("exit status {code}").format(code=code)


@functools.cache
def _by_submission() -> type:
    from xdist.scheduler import LoadScopeScheduling

    class BySubmission(LoadScopeScheduling):  # type: ignore[misc]
        """xdist's scheduling by scope (here, by submission), except that the exercise a
        worker died grading is not handed out again with the rest of its submission: it gets
        its not-graded verdict instead (see pytest_handlecrashitem), never a second run that
        could kill the next worker too."""

        def remove_node(self, node: WorkerController) -> str | None:
            units = self.assigned_work.get(node, {}).values()
            crashed = next((nodeid for unit in units for nodeid, done in unit.items()
                            if not done), None)
            for unit in units:
                if crashed in unit:
                    unit[crashed] = True
            super().remove_node(node)
            return crashed

    return BySubmission


class Grading(Protocol):
    """What these hooks need of the grading plugin (:class:`.gradebook.GradingPlugin`)."""

    def not_graded(self, report: pytest.TestReport, why: str) -> None: ...


class XdistGrading:
    """Controller-side hooks of a grading run; registered only when pytest-xdist is present,
    by the grading plugin, which hands itself in."""

    def __init__(self, config: pytest.Config, grading: Grading) -> None:
        self.config = config
        self.grading = grading
        self.sessions: set[str] = set()

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: object) -> object | None:
        # A worker grades a submission's exercises side by side when it has all of them, so
        # items go out by submission (the node id's scope) rather than one by one.
        if config.getoption("dist") != "load":
            return None
        scheduler: object = _by_submission()(config, log)
        return scheduler

    def pytest_configure_node(self, node: WorkerController) -> None:
        node.workerinput[_WHOLE_KEY] = self.config.getoption("dist") in _WHOLE

    def pytest_testnodeready(self, node: WorkerController) -> None:
        self.sessions.add(_session(node.workerinput))

    def pytest_testnodedown(self, node: WorkerController, error: object | None) -> None:
        if error is not None:
            sweep(_owner(node.workerinput))

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport,
                               sched: object) -> None:
        node = getattr(report, "node", None)
        worker = getattr(getattr(node, "gateway", None), "id", "?")
        self.grading.not_graded(report, _(
            "the grader worker {worker} running this exercise died ({death}) before it "
            "finished; nothing was graded, so it scores 0. Grade it again (pytest --lf) for a "
            "verdict.").format(worker=worker, death=_death(node)))

    def pytest_keyboard_interrupt(self) -> None:
        # Ending the runs now also frees the workers, which otherwise grade on until xdist
        # gives up waiting for them.
        self._sweep()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        # After xdist has stopped its workers (or killed those that did not stop in time).
        self._sweep()

    def _sweep(self) -> None:
        for session in self.sessions:
            sweep(session)
