"""The plugin's report and grading options, apart from the code that acts on them.

Every session reads these (to know whether to grade or draw at all); what acts on them is
imported only when they are set, so a session that uses neither pays only for this module.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..grading.shard import Shard

__all__ = ["add_options", "exit_zero", "grade_folder", "html_path", "report_path", "shard",
           "timeline_wanted"]

HELP = {
    "grade": "grade the submissions in DIR (each subfolder is one; a folder holding exercise "
             "files is graded as one) instead of collecting tests",
    "assignment": "assignment TOML naming the exercises, files, points and unit "
                  "(default: the lesson's six exercises, see docs/GRADING.md)",
    "json": "write the gradebook as JSON (schema 1) to PATH",
    "gradescope": "write Gradescope results.json to PATH (a folder of <submission>.json when "
                  "grading several submissions)",
    "csv": "write the gradebook as CSV (a row per submission) to PATH",
    "shard": "grade only shard K of N of the submissions (e.g. 2/3), chosen by a hash of each "
             "submission's name that every machine computes alike; merge the shards' JSON "
             "reports with `python -m pytest_sleepbench merge`",
    "exit_zero": "exit 0 when grading finished, whatever the scores (still nonzero when an "
                 "exercise could not be graded, a report could not be written, the run was "
                 "interrupted or a usage error occurred)",
}


def _add_grading(parser: pytest.Parser) -> None:
    group = parser.getgroup("sleepbench", "concurrency checks by timing")
    group.addoption("--sleepbench-grade", metavar="DIR", default=None, help=HELP["grade"])
    for key in ("assignment", "json", "gradescope", "csv"):
        group.addoption(f"--sleepbench-{key}", metavar="FILE" if key == "assignment" else "PATH",
                        default=None, help=HELP[key])
        parser.addini(f"sleepbench_{key}", HELP[key] + " (relative to the ini file)")
    group.addoption("--sleepbench-shard", metavar="K/N", default=None, type=_shard,
                    help=HELP["shard"])
    parser.addini("sleepbench_shard", HELP["shard"])
    # None, not False, when absent, so the ini twin can still switch it on.
    group.addoption("--sleepbench-exit-zero", action="store_true", default=None,
                    help=HELP["exit_zero"])
    parser.addini("sleepbench_exit_zero", HELP["exit_zero"], type="bool", default=False)


def _shard(text: str) -> Shard:
    # Imported when the option is given: a session that grades nothing imports no grading.
    from ..grading.shard import parse_shard

    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def shard(config: pytest.Config) -> Shard | None:
    """The shard this run grades: the option's, else the ini's, checked like it."""
    from ..grading.shard import parse_shard

    given = config.getoption("sleepbench_shard")
    if given is not None:
        return given  # type: ignore[no-any-return]
    raw = str(config.getini("sleepbench_shard") or "").strip()
    if not raw:
        return None
    try:
        return parse_shard(raw)
    except ValueError as error:
        raise pytest.UsageError(f"sleepbench_shard (ini): {error}") from None


def exit_zero(config: pytest.Config) -> bool:
    cli = config.getoption("sleepbench_exit_zero")
    if cli is not None:
        return bool(cli)
    return bool(config.getini("sleepbench_exit_zero"))


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
