"""The pytest side of grading: options, one item per (submission, exercise), the reports.

``--sleepbench-grade=DIR`` turns the session into a grading run: nothing is collected from the
file system (so neither DIR nor the project's own tests are imported, and no conftest, ini or
pyproject inside DIR is read), and the items come from the assignment instead. Each item grades
in its own sandboxed subprocesses; its entry travels to the controller on the test report, so
the gradebook is whole under pytest-xdist.
"""

from __future__ import annotations

import json
import time
import traceback
import types
from collections.abc import Generator
from pathlib import Path

import pytest

from ..grading import reports
from ..grading.assignment import Assignment, AssignmentError, Exercise, load
from ..grading.grade import discover, grade_exercise, not_graded
from ..grading.sandbox import sandbox_uid
from .keys import GRADEBOOK_KEY
from .options import grade_folder, report_path
from .settings import xdist_workers
from .xdist import owner_of

__all__ = ["GradeItem", "GradingPlugin", "configure"]

# Extra attributes of a TestReport are serialized by pytest-xdist, so this one carries an
# exercise's graded entry from a worker to the controller.
REPORT_ATTR = "sleepbench_grade"
NODE_PREFIX = "sleepbench-grade/"

def configure(config: pytest.Config) -> None:
    folder = grade_folder(config)
    if folder is None:
        return
    root = config.invocation_params.dir / str(folder)
    if not root.is_dir():
        raise pytest.UsageError(f"--sleepbench-grade: {root} is not a folder of submissions")
    _refuse_what_was_read_inside(config, root)
    try:
        assignment = load(report_path(config, "assignment"))
    except AssignmentError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(GradingPlugin(config, root, assignment), "sleepbench-grading")
    if config.pluginmanager.hasplugin("xdist"):
        # Its hooks exist only when xdist is installed, so registering it otherwise would fail.
        from .xdist import XdistGrading

        config.pluginmanager.register(XdistGrading(config), "sleepbench-xdist")


def _refuse_what_was_read_inside(config: pytest.Config, root: Path) -> None:
    """Stop a run whose ini file or conftest lies inside the graded folder (pytest run in
    place, from inside a learner's folder): pytest has read it before any plugin could say
    no, so its settings and code would have shaped the grading."""
    inside = root.resolve()
    read = [config.inipath] if config.inipath is not None else []
    for path in [*read, *_conftests(config)]:
        if path.resolve().is_relative_to(inside):
            raise pytest.UsageError(
                f"--sleepbench-grade: pytest read {path}, inside the graded folder {root}, "
                "before grading could start, and a grading run must take nothing from the "
                "submissions. Run it from outside the folder, for instance from its parent: "
                f"cd {inside.parent} && pytest -p sleepbench --sleepbench-grade={inside.name} "
                "(add --rootdir=/tmp -c /dev/null to read no ini file at all)")


def _conftests(config: pytest.Config) -> list[Path]:
    # pytest registers every conftest it imports as a plugin: the module itself.
    found = []
    for plugin in config.pluginmanager.get_plugins():
        file = getattr(plugin, "__file__", None)
        if isinstance(plugin, types.ModuleType) and file and Path(file).name == "conftest.py":
            found.append(Path(file))
    return found


class Submission(pytest.Collector):
    """One submission folder; its items are the assignment's exercises."""

    def __init__(self, *, folder: Path, assignment: Assignment, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.folder = folder
        self.assignment = assignment

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [
            GradeItem.from_parent(self, name=exercise.id, submission=self.name,
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
            pytest.fail(_explain(self.submission, entry) + _traceback(error), pytrace=False)

    def _grade(self) -> tuple[dict[str, object], BaseException | None]:
        try:
            return grade_exercise(self.folder, self.exercise, self.assignment,
                                  xdist_workers=xdist_workers(), owner=owner_of(self.config)), None
        except (KeyboardInterrupt, pytest.exit.Exception):
            raise
        except (Exception, pytest.fail.Exception) as error:
            # A grader that fails (pytest-timeout's stop, a bug) still gives the exercise its
            # place in every report, failed with the reason, rather than none at all.
            return not_graded(self.folder, self.exercise, _reason(error)), error

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.folder, None, f"{self.submission}: {self.exercise.id} ({self.exercise.pattern})"


def _reason(error: BaseException) -> str:
    if isinstance(error, pytest.fail.Exception):
        # pytest-timeout's outer guard, or another plugin that stopped the item
        what = f"grading was stopped before it finished ({str(error.msg or error).rstrip('.')})"
    else:
        what = f"the grader failed before it finished ({type(error).__name__}: {error})"
    return (f"{what}; nothing was graded, so it scores 0. Grade it again (pytest --lf) for a "
            "verdict.")


def _traceback(error: BaseException | None) -> str:
    """The grader's own traceback when it broke, which is what a bug report needs; a stop
    (pytest-timeout's) is told by the reason alone."""
    if error is None or isinstance(error, pytest.fail.Exception):
        return ""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "\n\n" + "".join(lines).rstrip()


def _explain(submission: str, entry: dict[str, object]) -> str:
    head = (f"{submission} {entry['id']} ({entry['pattern']}): {entry['score']:g} of "
            f"{entry['max_score']:g} point(s)")
    checks = entry.get("checks")
    lines = [head]
    for check in checks if isinstance(checks, list) else []:
        if check.get("status") == "fail":
            lines += ["", str(check.get("message", "")).rstrip()]
    return "\n".join(lines)


class GradingPlugin:
    def __init__(self, config: pytest.Config, root: Path, assignment: Assignment) -> None:
        self.config = config
        self.root = root
        self.assignment = assignment
        self.entries: list[tuple[str, dict[str, object]]] = []
        self.graded: set[tuple[str, object]] = set()
        self.started = time.monotonic()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        a = self.assignment
        uid = sandbox_uid()
        where = (f"as user id {uid}" if uid is not None
                 else "as the grader's own user (not root: weaker isolation)")
        header = [f"sleepbench grading {self.root}: {len(a.exercises)} exercise(s) from "
                  f"{a.path}, unit {a.unit:g}s; scripts run {where}"]
        if uid is not None and self.root.stat().st_mode & 0o005:
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
            Submission.from_parent(collector, name=name, path=folder, folder=folder,
                                   assignment=self.assignment,
                                   nodeid=f"{NODE_PREFIX}{name}")
            for name, folder in discover(self.root, self.assignment)
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
            2 * sum(exercise.durations) * self.assignment.unit + 10)
        item.add_marker(pytest.mark.timeout(2 * own + 60))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call" and isinstance(item, GradeItem) and item.entry is not None:
            setattr(report, REPORT_ATTR, {"submission": item.submission, "entry": item.entry})
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A call report carries a graded entry; a crash report (see not_graded) may carry one
        # too, for an exercise whose worker died, unless its graded entry already arrived.
        carried = getattr(report, REPORT_ATTR, None)
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
        if not report.nodeid.startswith(NODE_PREFIX):
            return
        name, _, ident = report.nodeid.removeprefix(NODE_PREFIX).rpartition("::")
        exercise = next((e for e in self.assignment.exercises if e.id == ident), None)
        if exercise is None or (name, ident) in self.graded:
            return  # a worker that died after sending the verdict loses nothing
        folder = dict(discover(self.root, self.assignment)).get(name)
        entry = not_graded(folder, exercise, why)
        properties: list[tuple[str, object]] = [
            ("score", 0.0), ("max_score", exercise.points), ("status", "fail")]
        call = pytest.TestReport(
            nodeid=report.nodeid, location=report.location, keywords=dict(report.keywords),
            outcome="failed", longrepr=f"{_explain(name, entry)}\n\n({report.longrepr})",
            when="call", user_properties=properties,
        )
        # JUnit pairs an item's reports by node id and the worker that sent them.
        call.node = getattr(report, "node", None)  # type: ignore[attr-defined]
        setattr(call, REPORT_ATTR, {"submission": name, "entry": entry})
        self.config.hook.pytest_runtest_logreport(report=call)
        report.when = "teardown"
        report.outcome = "passed"
        report.longrepr = None
        report.user_properties = properties

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return
        doc = reports.document(self.assignment, self.entries)
        self.config.stash[GRADEBOOK_KEY] = doc
        elapsed = time.monotonic() - self.started
        self.written: list[Path] = []
        target = report_path(self.config, "json")
        if target is not None:
            reports.write_atomic(target, json.dumps(doc, indent=2) + "\n")
            self.written.append(target)
        target = report_path(self.config, "csv")
        if target is not None:
            reports.write_atomic(target, reports.to_csv(doc))
            self.written.append(target)
        target = report_path(self.config, "gradescope")
        if target is not None:
            self.written += reports.write_gradescope(target, doc, elapsed)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if hasattr(self.config, "workerinput"):
            return
        doc = self.config.stash.get(GRADEBOOK_KEY, None)
        if doc is None:
            return
        tr = terminalreporter
        tr.section("sleepbench gradebook")
        for line in reports.gradebook_text(doc):
            tr.write_line(line)
        for path in getattr(self, "written", []):
            tr.write_line(f"wrote {path}")
