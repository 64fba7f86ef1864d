"""The pytest side of grading, set up: the assignment loaded, the reports' paths checked, and
a run refused whose ini file or conftest came from the graded folder or could be another
user's. Items are :mod:`.grade_items`; the session's plugin is :mod:`.gradebook`.

``--sleepbench-grade=DIR`` turns the session into a grading run: nothing is collected from the
file system (so neither DIR nor the project's own tests are imported, and no conftest, ini or
pyproject inside DIR is read), and the items come from the assignment instead. Each item grades
in its own sandboxed subprocesses; its entry travels to the controller on the test report, so
the gradebook is whole under pytest-xdist.
"""

from __future__ import annotations

import os
import stat
import types
from pathlib import Path

import pytest

from ..core.i18n import use
from ..grading.assignment import AssignmentError, load
from ..grading.grade import discover
from ..grading.shard import shard_of
from .gradebook import GradingPlugin
from .options import exit_zero, grade_folder, report_path, shard
from .settings import language, resolve
from .targets import report_targets

__all__ = ["configure", "refuse_unsafe_files"]


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
    # In every process that grades or reports, xdist workers included: each loads the file.
    use(language(resolve(config), assignment.lang))
    found = discover(root, assignment)
    several = len(found) != 1
    part, sharded = shard(config), None
    if part is not None:
        sharded = (f"{part[0]}/{part[1]}", len(found))
        # Every machine (and every xdist worker) draws the same part from the same names.
        found = [(name, folder) for name, folder in found if shard_of(name, part[1]) == part[0]]
    # Workers write no report; the controller has checked the paths before starting them.
    # Whether Gradescope gets a folder depends on the class, not on the shard's part of it.
    targets = ({} if hasattr(config, "workerinput")
               else report_targets(config, several=several))
    plugin = GradingPlugin(config, root, assignment, found, targets, several=several,
                           shard=sharded, exit_zero=exit_zero(config))
    config.pluginmanager.register(plugin, "sleepbench-grading")
    if config.pluginmanager.hasplugin("xdist"):
        # Its hooks exist only when xdist is installed, so registering it otherwise would fail.
        from .xdist import XdistGrading

        config.pluginmanager.register(XdistGrading(config, plugin), "sleepbench-xdist")


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
                "(add --noconftest -c /dev/null to read no ini file or conftest at all)")
    refuse_unsafe_files(config, config.inipath, _conftests(config))


def refuse_unsafe_files(config: pytest.Config, ini: Path | None, conftests: list[Path]
                        ) -> None:
    """Stop a grading run whose ini file or a conftest another user could have written: a
    file in a folder every user may write (a sticky one like /tmp included), writable by
    every user, or of another owner. Grading runs as root, so such a file is a way in."""
    for path in ([ini] if ini is not None else []) + conftests:
        why = _unsafe(path)
        if why is not None:
            raise pytest.UsageError(
                f"--sleepbench-grade: pytest read {path}, which {why}, so another user could "
                "have written it, and it runs with the grader's rights. Run the grader from a "
                "folder only you can write (not under /tmp), with your own ini file, or add "
                "--noconftest -c /dev/null to read no ini file or conftest at all")


def _unsafe(path: Path) -> str | None:
    try:
        info, folder = path.stat(), path.parent.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # -c /dev/null, the way to read no ini file, holds nothing to run
    if folder.st_mode & 0o002:
        sticky = " (sticky, like /tmp: anyone may add files)" if (
            folder.st_mode & stat.S_ISVTX) else ""
        return f"lies in {path.parent}, a folder every user may write{sticky}"
    if info.st_mode & 0o002:
        return "every user may write"
    if info.st_uid not in (0, os.geteuid()):
        return f"belongs to another user (uid {info.st_uid})"
    return None


def _conftests(config: pytest.Config) -> list[Path]:
    # pytest registers every conftest it imports as a plugin: the module itself.
    found = []
    for plugin in config.pluginmanager.get_plugins():
        file = getattr(plugin, "__file__", None)
        if isinstance(plugin, types.ModuleType) and file and Path(file).name == "conftest.py":
            found.append(Path(file))
    return found
