"""GitHub Classroom: the grading and points steps of ``examples/github-classroom/classroom.yml``,
read from the file and run as GitHub Actions runs them, on a student's repository."""

from __future__ import annotations

import base64
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from grading_support import EXAMPLES, course
from platform_support import CRASH, ROOT, load_yaml, shell, step

WORKFLOW = ROOT / "examples" / "github-classroom" / "classroom.yml"
JOB = "run-autograding-tests"


@pytest.fixture(scope="module")
def workflow() -> Any:
    return load_yaml(WORKFLOW)


def test_the_reporter_reads_the_points_step(workflow: Any) -> None:
    # The reporter finds each runner's result in <RUNNER>_RESULTS, from the step of that id.
    steps = workflow["jobs"][JOB]["steps"]
    reporter = next(s for s in steps if str(s.get("uses", "")).startswith(
        "classroom-resources/autograding-grading-reporter@"))
    runners = reporter["with"]["runners"].split(",")
    assert reporter["env"] == {f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}"
                               for r in runners}
    for runner in runners:
        assert ">> \"$GITHUB_OUTPUT\"" in step(workflow, JOB, runner)["run"]
    assert workflow["permissions"]["checks"] == "write"


def _repository(folder: Path, scripts: dict[str, str | Path]) -> Path:
    """A student's repository as checked out: the template's .github, the student's files."""
    sleepbench = folder / ".github" / "sleepbench"
    sleepbench.mkdir(parents=True)
    (sleepbench / "course.toml").write_text(course("ex1", "ex2"))
    shutil.copy(WORKFLOW, folder / ".github" / "classroom.yml")
    for name, content in scripts.items():
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        else:
            (folder / name).write_text(content)
    return folder


@pytest.mark.parametrize("student", ["reference", "crash"])
def test_a_push_is_graded_and_its_points_reported(
    workflow: Any, tmp_path: Path, student: str
) -> None:
    reference = EXAMPLES / "reference"
    scripts: dict[str, str | Path] = {p.name: p for p in reference.glob("*.py")}
    if student == "crash":
        scripts["ex1_serial.py"] = CRASH
    repo = _repository(tmp_path / "student-repo", scripts)
    variables = {"GITHUB_WORKSPACE": str(repo), "RUNNER_TEMP": str(tmp_path / "runner-temp"),
                 "GITHUB_OUTPUT": str(tmp_path / "github-output"), **workflow["env"]}
    (tmp_path / "runner-temp").mkdir()

    graded = shell(step(workflow, JOB, "grade")["run"], repo, **variables)
    # Exit 0 whatever the scores: only a grader that could not grade fails the step.
    assert graded.returncode == 0, graded.stdout + graded.stderr
    points = shell(step(workflow, JOB, "sleepbench")["run"], repo, **variables)
    assert points.returncode == 0, points.stdout + points.stderr

    [line] = (tmp_path / "github-output").read_text().splitlines()
    name, _, encoded = line.partition("=")
    result = json.loads(base64.b64decode(encoded))
    assert name == "result"
    # What the reporter adds up: the tests' scores, against max_score.
    total = sum(t["score"] for t in result["tests"])
    tests = {t["name"]: (t["status"], t["score"]) for t in result["tests"]}
    assert result["max_score"] == 20
    if student == "reference":
        assert (result["status"], total) == ("pass", 20)
        assert tests == {"ex1 (serial)": ("pass", 10), "ex2 (processes)": ("pass", 10)}
    else:
        assert (result["status"], total) == ("fail", 10)
        assert tests == {"ex1 (serial)": ("fail", 0), "ex2 (processes)": ("pass", 10)}
        [ex1] = [t for t in result["tests"] if t["name"] == "ex1 (serial)"]
        assert "RuntimeError: the script crashed" in ex1["message"]

    out = tmp_path / "runner-temp" / "sleepbench"
    junit = ET.parse(out / "junit.xml").getroot()
    scores = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
              for c in junit.iter("testcase")}
    assert {n: s["score"] for n, s in scores.items()} == {
        "ex1": "10.0" if student == "reference" else "0.0", "ex2": "10.0"}
    assert (out / "grades.html").is_file()
    # The repository is graded as it is, and left as it was: no report, cache or copy in it.
    assert sorted(p.name for p in repo.iterdir()) == sorted([".github", *scripts])
