"""``merge``: the shards' JSON reports as one gradebook, written by the grader's own writers."""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.i18n import _
from ..report import gradebook as reports
from ..report.files import path_problem, write_atomic
from ..report.html import build_page
from ..report.merge import MergeError, merge, read_report
from .errors import CliError

__all__ = ["run_merge"]


def run_merge(paths: Sequence[Path], *, json_path: Path, csv_path: Path | None,
              html_path: Path | None, gradescope_path: Path | None) -> int:
    targets = _targets({"--json": json_path, "--csv": csv_path, "--html": html_path,
                        "--gradescope": gradescope_path})
    try:
        # Every report is read and checked before anything is written.
        doc, warnings = merge([(path, read_report(path)) for path in paths])
    except MergeError as error:
        raise CliError(str(error)) from None
    for line in reports.gradebook_text(doc):
        print(line)
    for warning in warnings:
        print(f"sleepbench warning: {warning}", file=sys.stderr)
    writers: dict[str, Callable[[Path], list[Path]]] = {
        "--json": lambda p: _text(p, json.dumps(doc, indent=2) + "\n"),
        "--csv": lambda p: _text(p, reports.to_csv(doc)),
        "--html": lambda p: _text(p, _page(doc)),
        # Each file tells the time of its own submission's scripts.
        "--gradescope": lambda p: reports.write_gradescope(p, doc, 0.0, folder=True),
    }
    failed = False
    for option, target in targets.items():
        try:
            for written in writers[option](target):
                print(f"wrote {written}")
        except OSError as error:
            # One that cannot be written keeps none of the others back.
            print(f"sleepbench: error: could not write {option} {target}: "
                  f"{error.strerror or error}", file=sys.stderr)
            failed = True
    if failed:
        print("sleepbench: the merge is incomplete: see the errors above", file=sys.stderr)
    return 1 if failed else 0


def _targets(given: dict[str, Path | None]) -> dict[str, Path]:
    """The outputs, checked before any input is read: a path that cannot take its report is
    refused now, not after the others were written."""
    targets: dict[str, Path] = {}
    for option, path in given.items():
        if path is None:
            continue
        problem = path_problem(path, folder=option == "--gradescope")
        if problem is not None:
            raise CliError(f"{option}: {problem}")
        clash = next((o for o, p in targets.items() if p.resolve() == path.resolve()), None)
        if clash is not None:
            raise CliError(f"{option}: {path} is also the path of {clash}; give each report "
                           "its own")
        targets[option] = path
    return targets


def _text(path: Path, text: str) -> list[Path]:
    write_atomic(path, text)
    return [path]


def _page(doc: dict[str, object]) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return build_page([], doc, title=_("sleepbench grading report"), generated=stamp)
