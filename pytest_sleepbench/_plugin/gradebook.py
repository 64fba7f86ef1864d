"""The grading session's plugin: collects the submissions as items, carries each graded entry
to the controller on its report, and writes the gradebook at the end of the session.

Entries travel on the call report (pytest-xdist serializes extra report attributes), so the
gradebook is whole under xdist; an exercise whose worker died gets a not-graded entry. It is
a little over 300 lines as one pytest plugin object: its hooks share the session's entries,
and split across modules they would share them through globals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable
from pathlib import Path

import pytest

from ..core.i18n import _, ngettext
from ..grading.assignment import Assignment, Exercise
from ..grading.grade import not_graded
from ..grading.isolation import DESCRIPTIONS, NAMESPACED, level
from ..grading.policy import sleep_budget
from ..report import gradebook as reports
from ..report.files import write_atomic
from .exits import settle
from .grade_items import NODE_PREFIX, GradeItem, Pair, Submission, explain, node_pair
from .keys import GRADE_ATTR, GRADEBOOK_KEY
from .options import html_path
from .targets import REPORTS, option_name

__all__ = ["GradingPlugin"]


class GradingPlugin:
    def __init__(self, config: pytest.Config, root: Path, assignment: Assignment,
                 found: list[tuple[str, Path]], targets: dict[str, Path], *,
                 several: bool, shard: tuple[str, int] | None = None,
                 exit_zero: bool = False) -> None:
        self.config = config
        self.root = root
        self.assignment = assignment
        self.found = found
        """The submissions this run grades: those of its shard, when it has one."""
        self.targets = targets
        self.several = several
        """Whether the graded folder holds several submissions (whatever the shard)."""
        self.shard = shard
        """The shard this run grades (``"K/N"``) and how many submissions the folder holds."""
        self.exit_zero = exit_zero
        self.entries: list[tuple[str, dict[str, object]]] = []
        self.graded: set[tuple[str, object]] = set()
        self.selected: dict[Pair, None] = {}
        """The items this run was to grade, in collection order (an ordered set)."""
        self.started = time.monotonic()
        self.written: list[Path] = []
        self.unwritten: list[str] = []
        self.notes: list[tuple[str, bool]] = []
        """Lines for the end of the gradebook, and whether each is a warning."""
        self.cut_short: str | None = None
        """How this run ended before grading all it selected, if it did."""

    def _pair(self, nodeid: str) -> Pair | None:
        """The (exact submission name, exercise id) of a grading item's node id, which holds
        the name escaped (see reports.shown, a one-to-one escape)."""
        pair = node_pair(nodeid)
        if pair is None:
            return None
        exact = {reports.shown(name): name for name, _ in self.found}
        return exact.get(pair[0], pair[0]), pair[1]

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        a = self.assignment
        sandbox = level()
        header = [f"sleepbench grading {self.root}: {len(a.exercises)} exercise(s) from "
                  f"{a.path}, unit {a.unit:g}s",
                  f"sleepbench sandbox: {sandbox}: {DESCRIPTIONS[sandbox]}"]
        if self.shard is not None:
            header.append(f"sleepbench shard {self.shard[0]}: {len(self.found)} of "
                          f"{self.shard[1]} submission(s)")
        if sandbox not in NAMESPACED and self.root.stat().st_mode & 0o005:
            header.append(f"sleepbench warning: {self.root} is open to other users, so a "
                          f"script could read other submissions; chmod o-rwx {self.root}")
        return header

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool:
        # The session's own collection is replaced below; should anything still walk the
        # file system during a grading run, it finds nothing to import.
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> pytest.CollectReport | None:
        # The session's children are the submissions, not the file system, so pytest counts,
        # selects and reports the graded items like any others.
        if not isinstance(collector, pytest.Session):
            return None
        found: list[pytest.Item | pytest.Collector] = [
            Submission.from_parent(collector, name=reports.shown(name), path=folder,
                                   folder=folder, assignment=self.assignment, exact=name,
                                   nodeid=f"{NODE_PREFIX}{reports.shown(name)}")
            for name, folder in self.found
        ]
        return pytest.CollectReport(collector.nodeid, "passed", None, found)

    @pytest.hookimpl(tryfirst=True)
    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if isinstance(item, GradeItem):
            self._guard(item, item.exercise)

    def _guard(self, item: pytest.Item, exercise: Exercise) -> None:
        # pytest-timeout is the outer guard, far beyond the sandbox's own limit for both runs.
        if not self.config.pluginmanager.hasplugin("timeout"):
            return
        own = exercise.timeout or self.assignment.timeout or (
            2 * sleep_budget(exercise.durations, exercise.sleeps) * self.assignment.unit + 10)
        item.add_marker(pytest.mark.timeout(2 * own + 60))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After deselection (-k, --lf): what this run grades.
        self._select(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        # Under xdist the controller collects nothing; its workers tell what they selected.
        self._select(ids)

    def _select(self, nodeids: Iterable[str]) -> None:
        for nodeid in nodeids:
            pair = self._pair(nodeid)
            if pair is not None:
                self.selected[pair] = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call" and isinstance(item, GradeItem) and item.entry is not None:
            setattr(report, GRADE_ATTR, {"submission": item.submission, "entry": item.entry})
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A call report carries a graded entry; a crash report (see not_graded) may carry one
        # too, for an exercise whose worker died, unless its graded entry already arrived.
        carried = getattr(report, GRADE_ATTR, None)
        if not isinstance(carried, dict):
            return
        name, entry = str(carried["submission"]), carried["entry"]
        if (name, entry["id"]) not in self.graded:
            self.graded.add((name, entry["id"]))
            self.entries.append((name, entry))

    def not_graded(self, report: pytest.TestReport, why: str) -> None:
        """Give the exercise of ``report`` (xdist's report of a crashed item), whose grading
        never finished, its failed entry and the reports a graded item would have had.

        The verdict goes out as the item's call report, failed, with the reason first: as a
        call failure it is a ``<failure>`` in JUnit like every other lost point. ``report``
        itself, which xdist logs next, becomes the item's teardown, passed: JUnit closes a test
        case and writes its properties (the scores) at its teardown.
        """
        pair = self._pair(report.nodeid)
        if pair is None:
            return
        name, ident = pair
        exercise = next((e for e in self.assignment.exercises if e.id == ident), None)
        if exercise is None or (name, ident) in self.graded:
            return  # a worker that died after sending the verdict loses nothing
        entry = not_graded(dict(self.found).get(name), exercise, why)
        properties: list[tuple[str, object]] = [
            ("score", 0.0), ("max_score", exercise.points), ("status", "fail")]
        call = pytest.TestReport(
            nodeid=report.nodeid, location=report.location, keywords=dict(report.keywords),
            outcome="failed", longrepr=f"{explain(name, entry)}\n\n({report.longrepr})",
            when="call", user_properties=properties,
        )
        # JUnit pairs an item's reports by node id and the worker that sent them.
        call.node = getattr(report, "node", None)  # type: ignore[attr-defined]
        setattr(call, GRADE_ATTR, {"submission": name, "entry": entry})
        self.config.hook.pytest_runtest_logreport(report=call)
        report.when = "teardown"
        report.outcome = "passed"
        report.longrepr = None
        report.user_properties = properties

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Collect-only grades nothing, so it must not replace the reports of a run that did.
        if hasattr(self.config, "workerinput") or self.config.option.collectonly:
            return
        # Later layers win: what this run graded, then the earlier report, then a not-graded
        # entry for what this run was to grade but never reached, so no total shrinks.
        entries = reports.combine(self._unreached(session), self._earlier(), self.entries)
        sandbox = level()
        doc = reports.document(self.assignment, entries,
                               sandbox=f"{sandbox}: {DESCRIPTIONS[sandbox]}",
                               shard=self.shard[0] if self.shard is not None else None)
        self.config.stash[GRADEBOOK_KEY] = doc
        self._note_incomplete(entries)
        self._write(doc)
        if self.unwritten and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        if self.exit_zero:
            ungraded = sum(not reports.graded(e) for _, e in self.entries)
            status, note = settle(self.config, session.exitstatus,
                                  ungraded=ungraded, cut_short=self.cut_short,
                                  nothing_to_grade=not self.found)
            session.exitstatus = status
            if note is not None:
                self.notes.append((note, status != pytest.ExitCode.OK))

    def _unreached(self, session: pytest.Session) -> list[tuple[str, dict[str, object]]]:
        if session.exitstatus == pytest.ExitCode.INTERRUPTED:
            why = _("the session was interrupted")
        elif session.shouldfail or session.shouldstop:
            why = _("the session stopped early ({cause})").format(
                cause=session.shouldfail or session.shouldstop)
        else:
            why = _("the session ended")
        exercises = {e.id: e for e in self.assignment.exercises}
        folders = dict(self.found)
        unreached = [
            (name, not_graded(folders.get(name), exercises[ident],
                              f"{why} {_(reports.STOPPED)}"))
            for name, ident in self.selected
            if (name, ident) not in self.graded and ident in exercises
        ]
        self.cut_short = why if unreached else None
        return unreached

    def _earlier(self) -> list[tuple[str, dict[str, object]]]:
        """What to keep of the JSON report already there: the entries of submissions and
        exercises that still exist, so a run of some items updates the class's reports."""
        everything = {(name, e.id) for name, _ in self.found for e in self.assignment.exercises}
        partial = set(self.selected) != everything
        target = self.targets.get("json")
        found, what = (reports.earlier_entries(target, self.assignment) if target is not None
                       else (None, _("--sleepbench-json is not set")))
        kept = [(n, e) for n, e in found or [] if (n, str(e["id"])) in everything
                and (n, str(e["id"])) not in self.graded]
        if found is not None and kept:
            self.notes.append((ngettext(
                "sleepbench: merged with {what}: {graded} exercise(s) graded in this run, "
                "{kept} kept from it",
                "sleepbench: merged with {what}: {graded} exercise(s) graded in this run, "
                "{kept} kept from it", len(self.graded)).format(
                    what=what, graded=len(self.graded), kept=len(kept)), False))
        elif found is None and partial and self._reporting():
            self.notes.append((ngettext(
                "sleepbench warning: the reports hold only the {selected} exercise(s) selected "
                "in this run, of {count} ({what}, so there is nothing to merge them with)",
                "sleepbench warning: the reports hold only the {selected} exercise(s) selected "
                "in this run, of {count} ({what}, so there is nothing to merge them with)",
                len(self.selected)).format(selected=len(self.selected),
                                           count=len(everything), what=what), True))
        return kept

    def _reporting(self) -> bool:
        return bool(self.targets) or html_path(self.config) is not None

    def _note_incomplete(self, entries: list[tuple[str, reports.Entry]]) -> None:
        stopped = sum(reports.stopped(e) for _, e in entries)
        if stopped:
            cause = self.cut_short or _("an earlier session ended")
            self.notes.append((ngettext(
                "sleepbench: the gradebook is incomplete: {stopped} exercise(s) were not "
                "graded: {cause} before them; they score 0 and show as `{shown}`. Grade them "
                "again to complete it.",
                "sleepbench: the gradebook is incomplete: {stopped} exercise(s) were not "
                "graded: {cause} before them; they score 0 and show as `{shown}`. Grade them "
                "again to complete it.", stopped).format(
                    stopped=stopped, cause=cause, shown=_("stopped")), True))

    def _write(self, doc: dict[str, object]) -> None:
        # Each report on its own: one that cannot be written keeps none of the others back.
        elapsed = time.monotonic() - self.started
        for key, target in self.targets.items():
            try:
                if key == "json":
                    write_atomic(target, json.dumps(doc, indent=2) + "\n")
                    self.written.append(target)
                elif key == "csv":
                    write_atomic(target, reports.to_csv(doc))
                    self.written.append(target)
                else:
                    self.written += reports.write_gradescope(
                        target, doc, elapsed, folder=self.several)
            except OSError as error:
                self.unwritten.append(
                    f"sleepbench could not write the {REPORTS[key]} report "
                    f"({option_name(self.config, key)}) {target}: {error.strerror or error}")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return
        doc = self.config.stash.get(GRADEBOOK_KEY, None)
        if doc is None:
            return
        tr = terminalreporter
        tr.section(_("sleepbench gradebook"))
        for line in reports.gradebook_text(doc):
            tr.write_line(line)
        for note, warning in self.notes:
            tr.write_line(note, yellow=warning, bold=warning)
        for path in self.written:
            tr.write_line(f"wrote {path}")
        for line in self.unwritten:
            tr.write_line(line, red=True, bold=True)
