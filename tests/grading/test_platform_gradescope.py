"""The Gradescope autograder: ``python -m pytest_sleepbench autograder gradescope`` writes the
zip, which is unpacked into a folder laid out like ``/autograder``, set up with its own
``setup.sh`` and run with its own ``run_autograder``, as Gradescope does.

``SLEEPBENCH_AUTOGRADER_ROOT`` puts that folder elsewhere; ``SLEEPBENCH_SKIP_APT=1`` keeps
``setup.sh`` off apt; ``SLEEPBENCH_PYTHON`` grades with this environment, without setup.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from grading_support import EXAMPLES, course
from platform_support import CRASH, cli, environment, gradescope_problems

from pytest_sleepbench.report.gradebook import package_version

WHEEL = f"pytest_sleepbench-{package_version()}-py3-none-any.whl"
#: The timeout bounds the hanging script's run.
COURSE = course("ex1", "ex2", "ex3_3", extra="timeout = 4")


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("instructor")
    (folder / "course.toml").write_text(COURSE)
    done = cli("autograder", "gradescope", "--assignment", "course.toml", "-o",
               "out/autograder.zip", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"wrote out/autograder.zip: {WHEEL}, setup.sh, "
                                  "run_autograder and assignment.toml (3 exercise(s), 30 "
                                  "point(s))")
    return folder / "out" / "autograder.zip"


def _unpack(zipped: Path, root: Path, files: dict[str, str | Path]) -> Path:
    """``root`` laid out as Gradescope lays out /autograder: the zip in source/, the student's
    files in submission/ (text, or a file to copy), an empty results/."""
    with zipfile.ZipFile(zipped) as archive:
        for info in archive.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(info.external_attr >> 16 & 0o777)
    # Gradescope runs its own copy of run_autograder, from the autograder's folder.
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, content in files.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, path)
        else:
            path.write_text(content)
    return root


def _run(root: Path, **extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
                          env=environment(SLEEPBENCH_AUTOGRADER_ROOT=str(root), **extra))
    results: dict[str, Any] = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_problems(results) == [], results
    return done, results


def test_the_zip_holds_what_gradescope_runs(autograder: Path) -> None:
    with zipfile.ZipFile(autograder) as archive:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
        assert modes == {"setup.sh": 0o755, "run_autograder": 0o755,
                         "assignment.toml": 0o644, WHEEL: 0o644}
        assert archive.read("assignment.toml").decode() == COURSE
        setup = archive.read("setup.sh").decode()
        wheel = zipfile.ZipFile(io.BytesIO(archive.read(WHEEL)))
        for script in ("setup.sh", "run_autograder"):
            check = subprocess.run(["bash", "-n"], input=archive.read(script), check=False)
            assert check.returncode == 0, script
    assert f'"$root/source/{WHEEL}" psutil' in setup
    names = set(wheel.namelist())
    info = f"pytest_sleepbench-{package_version()}.dist-info"
    # What grading needs beside the modules: the sandbox's hook, the default assignment, the
    # plugin's entry point, and the command line run_autograder calls.
    assert {"pytest_sleepbench/grading/_hook.py", "pytest_sleepbench/grading/default.toml",
            "pytest_sleepbench/py.typed", "pytest_sleepbench/__main__.py",
            "pytest_sleepbench/cli/gradescope_run.py"} <= names
    assert "sleepbench = pytest_sleepbench.plugin" in wheel.read(
        f"{info}/entry_points.txt").decode()
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert "Name: pytest-sleepbench" in metadata and "Requires-Dist: psutil" in metadata
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "examples/"))]


def test_setup_installs_the_wheel_and_an_honest_submission_gets_every_point(
    autograder: Path, tmp_path: Path
) -> None:
    reference = EXAMPLES / "reference"
    root = _unpack(autograder, tmp_path / "autograder",
                   {p.name: p for p in reference.glob("*.py")})
    setup = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")], cwd=root / "source", capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=600, check=False,
        env=environment(SLEEPBENCH_AUTOGRADER_ROOT=str(root), SLEEPBENCH_SKIP_APT="1"))
    assert setup.returncode == 0, setup.stdout + setup.stderr
    venv = root / "sleepbench-venv"
    # The grader that runs is the wheel's, in the environment setup.sh made.
    # Without a PYTHONPATH of ours, as on Gradescope's image.
    bare = {k: v for k, v in environment().items() if k != "PYTHONPATH"}
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import pytest_sleepbench; print(pytest_sleepbench.__file__)"],
                           cwd=root, capture_output=True, text=True, check=True, env=bare)
    assert Path(where.stdout.strip()).is_relative_to(venv)

    done, results = _run(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["score"] == 30
    assert [(t["number"], t["status"], t["score"], t["max_score"])
            for t in results["tests"]] == [
        ("ex1", "passed", 10, 10), ("ex2", "passed", 10, 10), ("ex3_3", "passed", 10, 10)]
    assert isinstance(results["execution_time"], float) and results["execution_time"] > 0
    assert "sleepbench gradebook" in done.stdout  # the grader's log, for the instructor


def test_a_crash_and_a_hang_still_yield_valid_results(autograder: Path, tmp_path: Path) -> None:
    root = _unpack(autograder, tmp_path / "autograder", {
        "ex1_serial.py": CRASH, "ex2_processes.py": EXAMPLES / "hang" / "ex2_processes.py"})
    done, results = _run(root, SLEEPBENCH_PYTHON=sys.executable)
    assert done.returncode == 0, done.stdout + done.stderr  # grading finished
    assert results["score"] == 0
    tests = {t["number"]: t for t in results["tests"]}
    assert {n: (t["status"], t["score"]) for n, t in tests.items()} == {
        "ex1": ("failed", 0), "ex2": ("failed", 0), "ex3_3": ("failed", 0)}
    assert "RuntimeError: the script crashed" in tests["ex1"]["output"]
    assert "runs: fail" in tests["ex2"]["output"] and "4" in tests["ex2"]["output"]
    assert "no file matching 'ex3_3_map*.py'" in tests["ex3_3"]["output"]


@pytest.mark.parametrize(
    ("case", "output"),
    [
        ("two-folders", "Your submission holds the folders a, b and no exercise file beside "
         "them, so there is no telling which one to grade. Submit the exercise files "
         "(ex1_serial*.py, ex2_processes*.py, ex3_3_map*.py) at the top of your submission, "
         "or in a single folder."),
        ("broken-assignment", "The autograder's assignment file is broken, so nothing was "
         "graded; please tell your instructor. (*assignment.toml:1: not valid TOML*)"),
        ("not-installed", "The autograder is not installed (its setup did not finish), so "
         "this submission was not graded. Please tell your instructor."),
    ],
)
def test_a_submission_that_cannot_be_graded_gets_results_that_say_why(
    autograder: Path, tmp_path: Path, case: str, output: str
) -> None:
    files: dict[str, str | Path] = {"ex1_serial.py": CRASH}
    if case == "two-folders":
        files = {"a/ex1_serial.py": CRASH, "b/ex1_serial.py": CRASH}
    root = _unpack(autograder, tmp_path / "autograder", files)
    python = sys.executable
    if case == "broken-assignment":
        (root / "source" / "assignment.toml").write_text("unit = \n")
    elif case == "not-installed":
        python = str(tmp_path / "no-such-python")
    done, results = _run(root, SLEEPBENCH_PYTHON=python)
    assert done.returncode == 1
    assert results["score"] == 0 and results["tests"] == []
    assert re.fullmatch(re.escape(output).replace(r"\*", ".*"), str(results["output"]),
                        re.DOTALL), results["output"]
