"""Showing runs: text timelines of passing runs in the terminal, and the HTML report.

Both read what the session part left in the stash on the controller, so under pytest-xdist they
see every worker's runs and the report is written once.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path

import pytest

from ..core.i18n import _
from ..report.files import write_atomic
from ..report.html import build_page
from ..report.records import record_picture
from .keys import GRADEBOOK_KEY, RUNS_KEY
from .options import html_path, timeline_wanted

__all__ = ["ReportPlugin", "configure"]


def configure(config: pytest.Config) -> None:
    plugin = ReportPlugin(config, html_path(config), timeline_wanted(config))
    config.pluginmanager.register(plugin, "sleepbench-html")


def _drawn_elsewhere(record: Mapping[str, object]) -> bool:
    """Whether the record's picture is not for the timelines section: a sleepbench check
    failed on the run, and so already showed it, or it is a wall marker's, with none.

    A test can also fail by its own assert after a run that passed every check; that run's
    picture is shown like a passing one, since no failure message drew it.
    """
    checks = record.get("checks")
    if not isinstance(checks, list):
        return False
    # The test's own failure (see calls.py) drew no picture; a wall record has no intervals.
    return record.get("pattern") == "wall" or any(
        isinstance(c, dict) and c.get("status") == "fail" and c.get("name") != "test"
        for c in checks)


class ReportPlugin:
    def __init__(self, config: pytest.Config, path: Path | None, timeline: bool) -> None:
        self.config = config
        self.path = path
        self.timeline = timeline
        self.written: Path | None = None
        self.error: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # trylast: the grader puts its gradebook in the stash in its own (tryfirst) finish.
        # Collecting only runs nothing: an earlier report stays as it was.
        if self.path is None or self.config.option.collectonly:
            return
        runs = self.config.stash.get(RUNS_KEY, [])
        gradebook = self.config.stash.get(GRADEBOOK_KEY, None)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        title = _("sleepbench grading report") if gradebook is not None else _("sleepbench report")
        page = build_page(runs, gradebook, title=title, generated=stamp)
        try:
            write_atomic(self.path, page)
        except OSError as error:
            self.error = f"{self.path}: {error.strerror or error}"
        else:
            self.written = self.path

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        # trylast: after the session's table of runs, which these pictures illustrate.
        tr = terminalreporter
        if self.timeline:
            shown = [r for r in self.config.stash.get(RUNS_KEY, []) if not _drawn_elsewhere(r)]
            if shown:
                tr.section("sleepbench timelines")
                width = self.config.get_terminal_writer().fullwidth
                for record in shown:
                    title = str(record.get("title") or record.get("nodeid", ""))
                    if record.get("outcome") != "passed":
                        title += f" [test {record.get('outcome')}]"
                    tr.write_line(title, bold=True)
                    for line in record_picture(record, width=width).splitlines():
                        tr.write_line(line)
                    tr.write_line("")
        if self.written is not None:
            tr.write_sep("-", f"sleepbench HTML report: {self.written}")
        if self.error is not None:
            tr.write_sep("-", f"sleepbench could not write the HTML report: {self.error}",
                         red=True)
