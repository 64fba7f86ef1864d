"""Where the grading run's reports go, checked before anything is graded: a path that cannot
take its report stops the run then, not with a traceback at its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..report.files import path_problem
from .options import report_path

__all__ = ["REPORTS", "option_name", "report_targets"]

REPORTS = {"json": "JSON", "csv": "CSV", "gradescope": "Gradescope"}


def option_name(config: pytest.Config, key: str) -> str:
    """How the user named a report's path: its option, else its ini key."""
    given = config.getoption(f"sleepbench_{key}")
    return f"--sleepbench-{key}" if given else f"sleepbench_{key} (ini)"


def report_targets(config: pytest.Config, *, several: bool) -> dict[str, Path]:
    """The reports to write and where, checked now: a path that cannot take its report stops
    the run before any grading time is spent, not with a traceback at its end."""
    targets: dict[str, Path] = {}
    for key in REPORTS:
        path = report_path(config, key)
        if path is None:
            continue
        folder = key == "gradescope" and several
        problem = path_problem(path, folder=folder)
        if problem is not None:
            mismatch = path.exists() and path.is_dir() != folder
            hint = (_gradescope_hint(path, folder) if key == "gradescope" and mismatch
                    else "; name a file" if mismatch else "")
            raise pytest.UsageError(f"{option_name(config, key)}: {problem}{hint}")
        clash = next((k for k, p in targets.items() if p.resolve() == path.resolve()), None)
        if clash is not None:
            raise pytest.UsageError(f"{option_name(config, key)}: {path} is also the path of "
                                    f"{option_name(config, clash)}; give each report its own")
        targets[key] = path
    return targets


def _gradescope_hint(path: Path, folder: bool) -> str:
    if folder:
        return " (one per submission, since several are graded); name a folder"
    return (" (Gradescope's results.json, since one submission is graded); name a file, for "
            f"instance {path / 'results.json'}")
