"""This package as a wheel, built from the checkout it runs from.

The build runs ``pip wheel`` on a copy of the checkout's sources, not on the checkout: a
setuptools build leaves ``build/`` behind and takes stale modules from one it finds there,
and two builds at once would share it. pip fetches the build backend (setuptools) from the
package index, as for any build of a source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import CliError

__all__ = ["build_wheel", "checkout"]

_PACKAGE = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def checkout() -> Path | None:
    """The source tree this package runs from, if it runs from one (an editable install or a
    clone on ``sys.path``), else None (installed from a wheel)."""
    root = _PACKAGE.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "pytest-sleepbench"' in text else None


def build_wheel(folder: Path) -> Path:
    """Build the wheel into ``folder``; return its path."""
    root = checkout()
    if root is None:
        raise CliError(f"pytest_sleepbench runs from {_PACKAGE}, an installed wheel, not a "
                       "checkout, so there is no source to build; run this from a clone "
                       "(pip install -e .) or pass --wheel PATH")
    with tempfile.TemporaryDirectory(prefix="sleepbench-wheel-") as scratch:
        source = Path(scratch) / "source"
        source.mkdir()
        # The project's own files (pyproject, readme, licence) and the package, nothing else:
        # no virtual environment, no earlier build, no examples.
        for path in root.iterdir():
            if path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, source / path.name)
        shutil.copytree(_PACKAGE, source / _PACKAGE.name, ignore=_SKIP)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
             str(folder), str(source)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    wheels = sorted(folder.glob("pytest_sleepbench-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        tail = "\n".join(done.stdout.strip().splitlines()[-15:])
        raise CliError(f"building the wheel from {root} failed (pip exit {done.returncode}):\n"
                       f"{tail}\n(pip needs the package index for setuptools; on a machine "
                       "without it, build the wheel elsewhere and pass --wheel PATH)")
    return wheels[0]
