"""The plugin's report and grading options, apart from the code that acts on them.

Every session reads these (to know whether to grade or draw at all); what acts on them is
imported only when they are set, so a session that uses neither pays only for this module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["add_options", "grade_folder", "html_path", "report_path", "timeline_wanted"]

HELP = {
    "grade": "grade the submissions in DIR (each subfolder is one; a folder holding exercise "
             "files is graded as one) instead of collecting tests",
    "assignment": "assignment TOML naming the exercises, files, points and unit "
                  "(default: the lesson's six exercises, see docs/GRADING.md)",
    "json": "write the gradebook as JSON (schema 1) to PATH",
    "gradescope": "write Gradescope results.json to PATH (a folder of <submission>.json when "
                  "grading several submissions)",
    "csv": "write the gradebook as CSV (a row per submission) to PATH",
}


def _add_grading(parser: pytest.Parser) -> None:
    group = parser.getgroup("sleepbench", "concurrency checks by timing")
    group.addoption("--sleepbench-grade", metavar="DIR", default=None, help=HELP["grade"])
    for key in ("assignment", "json", "gradescope", "csv"):
        group.addoption(f"--sleepbench-{key}", metavar="FILE" if key == "assignment" else "PATH",
                        default=None, help=HELP[key])
        parser.addini(f"sleepbench_{key}", HELP[key] + " (relative to the ini file)")


def report_path(config: pytest.Config, key: str) -> Path | None:
    """The option's path (relative to where pytest was run), else the ini's (relative to the
    ini file's folder), ``~`` expanded."""
    value = config.getoption(f"sleepbench_{key}")
    if value:
        return (config.invocation_params.dir / os.path.expanduser(str(value))).resolve()
    raw = str(config.getini(f"sleepbench_{key}") or "").strip()
    return (_ini_base(config) / os.path.expanduser(raw)).resolve() if raw else None


def _ini_base(config: pytest.Config) -> Path:
    """What an ini path is relative to: the ini file's folder, so it means the same file from
    any directory pytest is started in."""
    return config.inipath.parent if config.inipath is not None else config.rootpath


HTML_HELP = (
    "write a self-contained HTML report (timelines, checks and, when grading, the gradebook) "
    "to PATH"
)
TIMELINE_HELP = (
    "print the timeline of every sleepbench run in the terminal summary, not only of those "
    "whose check failed (whose failure message already shows it)"
)


def _add_html(parser: pytest.Parser) -> None:
    group = parser.getgroup("sleepbench", "concurrency checks by timing")
    group.addoption("--sleepbench-html", metavar="PATH", default=None, help=HTML_HELP)
    # None, not False, when absent, so the ini twin can still switch it on.
    group.addoption("--sleepbench-timeline", action="store_true", default=None,
                    help=TIMELINE_HELP)
    parser.addini("sleepbench_html", HTML_HELP)
    parser.addini("sleepbench_timeline", TIMELINE_HELP, type="bool", default=False)


def html_path(config: pytest.Config) -> Path | None:
    """Where to write the report: a command-line path is relative to where pytest was started,
    an ini path to the ini file's folder."""
    return report_path(config, "html")


def timeline_wanted(config: pytest.Config) -> bool:
    cli = config.getoption("sleepbench_timeline")
    if cli is not None:
        return bool(cli)
    return bool(config.getini("sleepbench_timeline"))


def grade_folder(config: pytest.Config) -> str | None:
    folder = config.getoption("sleepbench_grade")
    return str(folder) if folder else None


def add_options(parser: pytest.Parser) -> None:
    _add_grading(parser)
    _add_html(parser)
