"""``autograder gradescope``: the zip Gradescope takes as an autograder.

Gradescope unpacks it into ``/autograder/source``, runs ``setup.sh`` once as root when it
builds the autograder's image (Ubuntu, with apt), then ``run_autograder`` for every submission,
with the student's files in ``/autograder/submission``, and reads
``/autograder/results/results.json``. The zip holds this package as a wheel, so the image
grades with exactly the code that built it.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ..grading.assignment import DEFAULT, AssignmentError, load
from ..report.files import path_problem
from .errors import CliError
from .wheel import build_wheel

__all__ = ["ASSIGNMENT", "RUN_AUTOGRADER", "SETUP", "build_autograder"]

#: The assignment's name in the zip, and so in /autograder/source.
ASSIGNMENT = "assignment.toml"

SETUP = """\
#!/usr/bin/env bash
# Installs pytest-sleepbench for a Gradescope autograder; Gradescope runs it once, as root,
# when it builds the autograder's image. Written by
# `python -m pytest_sleepbench autograder gradescope`.
#
#   SLEEPBENCH_AUTOGRADER_ROOT  the autograder's folder (default /autograder)
#   SLEEPBENCH_VENV             where to install (default: sleepbench-venv in that folder)
#   SLEEPBENCH_SKIP_APT=1       install no system package (python3 with venv is there already)
set -euo pipefail
root="${{SLEEPBENCH_AUTOGRADER_ROOT:-/autograder}}"
venv="${{SLEEPBENCH_VENV:-$root/sleepbench-venv}}"
if [ "${{SLEEPBENCH_SKIP_APT:-0}}" != 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # util-linux holds unshare and setpriv, with which the sandbox isolates each script.
    apt-get install -y -q --no-install-recommends python3 python3-pip python3-venv util-linux
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "pytest-sleepbench needs Python 3.10 or newer, not $(python3 --version)" >&2
    echo "choose an Ubuntu 22.04 or newer base image in the autograder settings" >&2
    exit 1
fi
# An environment of its own: Ubuntu's python3 refuses packages installed into it (PEP 668).
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "$root/source/{wheel}" psutil
"$venv/bin/python" -m pytest_sleepbench --help > /dev/null
echo "pytest-sleepbench installed in $venv"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Grades $SLEEPBENCH_AUTOGRADER_ROOT/submission (default /autograder/submission) and writes
# results/results.json there; Gradescope runs it for every submission. Written by
# `python -m pytest_sleepbench autograder gradescope`.
#
#   SLEEPBENCH_AUTOGRADER_ROOT  the autograder's folder (default /autograder)
#   SLEEPBENCH_PYTHON           the interpreter that grades (default: the one setup.sh
#                               installed, $SLEEPBENCH_VENV/bin/python); any with
#                               pytest-sleepbench installed runs this without setup.sh
set -u
root="${SLEEPBENCH_AUTOGRADER_ROOT:-/autograder}"
python="${SLEEPBENCH_PYTHON:-${SLEEPBENCH_VENV:-$root/sleepbench-venv}/bin/python}"
# Where no module of the grader lies, so that only an installed one is imported.
cd "$root"
if ! "$python" -c 'import pytest, psutil, pytest_sleepbench.cli' 2> /dev/null; then
    echo "sleepbench: $python cannot import pytest_sleepbench: did setup.sh finish?" >&2
    mkdir -p "$root/results"
    # Still a valid results.json, so the student reads why there is no grade.
    printf '%s %s %s\n' '{"score": 0.0, "tests": [], "output": "The autograder is not' \
        'installed (its setup did not finish), so this submission was not graded.' \
        'Please tell your instructor."}' > "$root/results/results.json"
    exit 1
fi
exec "$python" -m pytest_sleepbench autograder run-gradescope --root "$root"
"""


def build_autograder(output: Path, *, assignment: Path | None, wheel: Path | None) -> int:
    problem = path_problem(output, folder=False)
    if problem is not None:
        raise CliError(f"-o: {problem}")
    source = assignment if assignment is not None else DEFAULT
    try:
        # A broken assignment is the instructor's to fix now, not every student's later.
        course = load(source)
    except AssignmentError as error:
        raise CliError(str(error)) from None
    if wheel is not None and not (wheel.is_file() and wheel.name.startswith(
            "pytest_sleepbench-") and wheel.suffix == ".whl"):
        raise CliError(f"--wheel: {wheel} is not a pytest_sleepbench wheel "
                       "(pytest_sleepbench-<version>-py3-none-any.whl)")
    with tempfile.TemporaryDirectory(prefix="sleepbench-autograder-") as scratch:
        built = wheel if wheel is not None else build_wheel(Path(scratch))
        _write_zip(output, {
            "setup.sh": (SETUP.format(wheel=built.name).encode(), 0o755),
            "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
            ASSIGNMENT: (source.read_bytes(), 0o644),
            built.name: (built.read_bytes(), 0o644),
        })
    print(f"wrote {output}: {built.name}, setup.sh, run_autograder and {ASSIGNMENT} "
          f"({len(course.exercises)} exercise(s), "
          f"{sum(e.points for e in course.exercises):g} point(s)); upload it as the "
          "autograder of a Gradescope programming assignment (Ubuntu 22.04 or newer)")
    return 0


def _write_zip(output: Path, members: dict[str, tuple[bytes, int]]) -> None:
    """The zip whole or not at all, the scripts executable (Gradescope runs them as they are
    unpacked)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(
                handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, (data, mode) in members.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o100000 | mode) << 16  # a regular file, with its mode
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
