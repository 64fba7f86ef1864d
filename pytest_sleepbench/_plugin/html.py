"""Showing runs: text timelines of passing runs in the terminal, and the HTML report.

Both read what the session part left in the stash on the controller, so under pytest-xdist they
see every worker's runs and the report is written once.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from ..core.html import build_page
from ..core.svg import record_picture
from .keys import GRADEBOOK_KEY, RUNS_KEY

__all__ = ["ReportPlugin", "add_options", "configure"]

HTML_HELP = (
    "write a self-contained HTML report (timelines, checks and, when grading, the gradebook) "
    "to PATH"
)
TIMELINE_HELP = (
    "print the timeline of every sleepbench run in the terminal summary, not only of those "
    "whose check failed (whose failure message already shows it)"
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("sleepbench", "concurrency checks by timing")
    group.addoption("--sleepbench-html", metavar="PATH", default=None, help=HTML_HELP)
    # None, not False, when absent, so the ini twin can still switch it on.
    group.addoption("--sleepbench-timeline", action="store_true", default=None,
                    help=TIMELINE_HELP)
    parser.addini("sleepbench_html", HTML_HELP)
    parser.addini("sleepbench_timeline", TIMELINE_HELP, type="bool", default=False)


def html_path(config: pytest.Config) -> Path | None:
    """Where to write the report: a command-line path is relative to where pytest was started,
    an ini path to the ini file's folder (so it lands in the same place from any directory)."""
    cli = config.getoption("sleepbench_html")
    if cli:
        return (config.invocation_params.dir / os.path.expanduser(str(cli))).resolve()
    ini = str(config.getini("sleepbench_html") or "").strip()
    if not ini:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return (base / os.path.expanduser(ini)).resolve()


def timeline_wanted(config: pytest.Config) -> bool:
    cli = config.getoption("sleepbench_timeline")
    if cli is not None:
        return bool(cli)
    return bool(config.getini("sleepbench_timeline"))


def configure(config: pytest.Config) -> None:
    # Workers send their runs to the controller; only the controller draws and writes.
    if hasattr(config, "workerinput"):
        return
    path = html_path(config)
    timeline = timeline_wanted(config)
    if path is None and not timeline:
        return
    config.pluginmanager.register(ReportPlugin(config, path, timeline), "sleepbench-html")


def _failed_check(record: dict[str, object]) -> bool:
    """Whether a sleepbench check failed on the run, and so already showed its picture.

    A test can also fail by its own assert after a run that passed every check; that run's
    picture is shown like a passing one, since no failure message drew it.
    """
    checks = record.get("checks")
    if not isinstance(checks, list):
        return False
    return any(isinstance(c, dict) and c.get("status") == "fail" for c in checks)


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
        if self.path is None:
            return
        runs = self.config.stash.get(RUNS_KEY, [])
        gradebook = self.config.stash.get(GRADEBOOK_KEY, None)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        title = "sleepbench grading report" if gradebook is not None else "sleepbench report"
        page = build_page(runs, gradebook, title=title, generated=stamp)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(page, encoding="utf-8")
        except OSError as error:
            self.error = f"{self.path}: {error.strerror or error}"
        else:
            self.written = self.path

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        # trylast: after the session's table of runs, which these pictures illustrate.
        tr = terminalreporter
        if self.timeline:
            shown = [r for r in self.config.stash.get(RUNS_KEY, []) if not _failed_check(r)]
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
