"""Shared pieces of the platform tests: the commands of the examples as written in their files,
run the way the platform runs them, and Gradescope's documented results format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: This environment's ``python``, first on PATH, as a CI job's is after its install step.
BIN = Path(sys.executable).parent

#: A script that dies at once: the exercise is graded, and fails `runs`.
CRASH = "raise RuntimeError('the script crashed')\n"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, less what tells a pytest it runs under another one, with
    this environment's ``python`` first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT", "PYTEST_ADDOPTS"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def shell(command: str, cwd: Path, timeout: float = 300, **extra: str
          ) -> subprocess.CompletedProcess[str]:
    """``command`` as GitHub Actions runs a step's ``run`` (bash, stopping at the first
    failure), and Kubernetes a container's ``sh -c``."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
                          cwd=cwd, env=environment(**extra), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, check=False)


def cli(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest_sleepbench ARGS`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "pytest_sleepbench", *args], cwd=cwd,
                          env=environment(**extra), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, check=False)


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def step(workflow: Any, job: str, ident: str) -> dict[str, Any]:
    """The step of ``job`` whose ``id`` is ``ident``."""
    steps = workflow["jobs"][job]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("id") == ident)
    return found


# Gradescope's results.json, as its autograder documentation describes it.
_TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
        "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
        "leaderboard"}
_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
         "output_format", "tags", "visibility", "extra_data"}
_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def gradescope_problems(results: Any, *, tested: bool = True) -> list[str]:
    """What in ``results`` Gradescope would not take; with ``tested``, each test must also
    carry every field the grader promises (name, number, score, max_score, status, output,
    visibility)."""
    if not isinstance(results, dict):
        return ["not an object"]
    problems = [f"unknown key {k!r}" for k in set(results) - _TOP]
    number = (int, float)
    if not isinstance(results.get("score"), number) or isinstance(results["score"], bool):
        problems.append("score is not a number")
    if "execution_time" in results and not isinstance(results["execution_time"], number):
        problems.append("execution_time is not a number")
    if not isinstance(results.get("output", ""), str):
        problems.append("output is not text")
    tests = results.get("tests")
    if not isinstance(tests, list):
        return [*problems, "tests is not a list"]
    for k, test in enumerate(tests):
        if not isinstance(test, dict):
            problems.append(f"test {k} is not an object")
            continue
        problems += [f"test {k}: unknown key {key!r}" for key in set(test) - _TEST]
        if tested:
            problems += [f"test {k}: no {key!r}" for key in (
                "name", "number", "score", "max_score", "status", "output", "visibility")
                if key not in test]
        if not all(isinstance(test.get(key, 0), number) for key in ("score", "max_score")):
            problems.append(f"test {k}: a score is not a number")
        if test.get("status", "passed") not in ("passed", "failed"):
            problems.append(f"test {k}: status {test['status']!r}")
        if test.get("visibility", "visible") not in _VISIBILITY:
            problems.append(f"test {k}: visibility {test['visibility']!r}")
        if not all(isinstance(test.get(key, ""), str) for key in ("name", "number", "output")):
            problems.append(f"test {k}: name, number or output is not text")
    return problems
