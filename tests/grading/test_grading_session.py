"""Grading through real pytest runs: items, outcomes, reports, xdist, -k, --lf, JUnit."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from grading_support import EXAMPLES, FAST, copy_reference, order_shown, submission

# The checks each example submission fails, per exercise; any exercise not listed is missing.
# A serial run in disguise may also miss the upper time bound, depending on the unit and the
# machine's start-up costs; the structural check is the one that must catch it.
EXPECTED_FAILS = {
    "no_main_guard": {"ex2": {"main_guard"}, "ex3_1": {"main_guard"}},
    "serial_in_disguise": {"ex2": {"overlap"}, "ex3_1": {"overlap"}},
    "threads": {"ex2": {"api", "uses_processes"}, "ex3_1": {"api", "uses_processes"}},
    "wrong_order": {"ex3_2": {"order"}, "ex3_3": {"api", "order"}},
    "hang": {"ex2": {"runs"}},
}

_MAYBE = {name: {"timing"} if name == "serial_in_disguise" else set() for name in EXPECTED_FAILS}


def _assignment(pytester: pytest.Pytester, extra: str = "") -> Path:
    path = pytester.path / "assignment.toml"
    path.write_text(FAST.format(extra=extra))
    return path


def test_examples_graded_under_xdist_with_every_report(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES, pytester.path / "subs")
    _assignment(pytester, "timeout = 2")
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=assignment.toml",
        "--sleepbench-json=out/grades.json", "--sleepbench-csv=out/grades.csv",
        "--sleepbench-gradescope=out/gs", "--junitxml=out/junit.xml", "-n", "2",
        "-p", "no:cacheprovider",
    )
    result.stdout.fnmatch_lines(["*sleepbench gradebook*", "reference * 60/60"])
    doc = json.loads((pytester.path / "out" / "grades.json").read_text())
    assert doc["schema"] == 1
    subs = {s["name"]: s for s in doc["submissions"]}
    assert sorted(subs) == sorted(p.name for p in EXAMPLES.iterdir())
    assert subs["reference"]["score"] == 60
    for ex in subs["reference"]["exercises"]:
        assert ex["status"] == "pass", ex
        assert set(ex) == {"id", "pattern", "file", "status", "score", "max_score", "wall",
                           "workers", "checks", "intervals"}
        assert ex["file"].startswith(ex["id"] + "_")
    as_completed = next(e for e in subs["reference"]["exercises"] if e["id"] == "ex3_2")
    # The processes that ran its tasks (a worker the machine started late may have run none).
    assert as_completed["workers"] == len({i["pid"] for i in as_completed["intervals"]}) >= 1
    assert {"pid", "start", "end", "seconds"} == set(as_completed["intervals"][0])
    for name, fails in EXPECTED_FAILS.items():
        for ex in subs[name]["exercises"]:
            got = {c["name"] for c in ex["checks"] if c["status"] == "fail"}
            if name == "wrong_order" and ex["id"] == "ex3_2" and not order_shown(ex):
                # Ended in submission order: its mistake had nothing to show in.
                assert got <= fails[ex["id"]], ex["checks"]
            elif ex["id"] in fails:
                assert fails[ex["id"]] <= got <= fails[ex["id"]] | _MAYBE[name], (
                    name, ex["id"], ex["checks"])
                assert 0 <= ex["score"] < ex["max_score"]
            else:
                assert ex["status"] == "missing"
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 6
    assert outcomes["failed"] == 30

    rows = list(csv.DictReader(io.StringIO((pytester.path / "out/grades.csv").read_text())))
    assert [r["submission"] for r in rows] == sorted(subs)
    assert next(r for r in rows if r["submission"] == "reference")["total"] == "60"

    umask = os.umask(0o022)
    os.umask(umask)
    for report in ("grades.json", "grades.csv", "gs/reference.json"):
        # Written atomically, yet with the mode of any file the user writes, not private.
        mode = stat.S_IMODE((pytester.path / "out" / report).stat().st_mode)
        assert mode == 0o666 & ~umask, (report, oct(mode))

    gradescope = json.loads((pytester.path / "out/gs/reference.json").read_text())
    assert gradescope["score"] == 60
    assert {t["status"] for t in gradescope["tests"]} == {"passed"}
    assert set(gradescope["tests"][0]) == {"name", "number", "score", "max_score", "status",
                                           "output", "visibility"}

    junit = ET.parse(pytester.path / "out/junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "ex3_3"
                and "wrong_order" in (c.get("classname") or ""))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["max_score"] == "10.0" and float(props["score"] or 0) < 10


def test_failure_message_explains_with_a_timeline(pytester: pytest.Pytester) -> None:
    shutil.copytree(EXAMPLES / "wrong_order", pytester.path / "subs" / "wrong_order")
    _assignment(pytester)
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=assignment.toml", "-k", "ex3_2",
        "--sleepbench-json=grades.json", "-p", "no:cacheprovider",
    )
    doc = json.loads((pytester.path / "grades.json").read_text())
    entry = next(e for e in doc["submissions"][0]["exercises"] if e["id"] == "ex3_2")
    if not order_shown(entry):
        pytest.skip("the machine ended the tasks in the order the script reads them, so its "
                    "mistake had nothing to show in")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*order: results were not received in completion order",
        # Which of the tasks that end together (3 and 2, at 7 units) comes first is the
        # machine's to say.
        "*expected: the order the tasks finished: *",
        "*observed: 5, 4, 3, 2, 1*",
        "worker 1 *|*",
        "*expected makespan*",
    ])


def test_a_learner_folder_with_planted_files_is_graded_not_collected(
    pytester: pytest.Pytester,
) -> None:
    # The project's own tests, which a grading run must not collect.
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_project.py").write_text("def test_x():\n    assert 0\n")
    mine = copy_reference(pytester.path / "mine", "ex1_serial.py", "ex3_2_as_completed.py")
    tripwire = pytester.path / "tripwire"
    bomb = f"open({str(tripwire)!r}, 'w').write(__name__)\nraise SystemExit('read')\n"
    submission(mine, {
        "conftest.py": bomb, "test_planted.py": bomb, "sitecustomize.py": bomb,
        "pytest.ini": "[pytest]\naddopts = --this-option-does-not-exist\n",
        "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--nope'\n",
    })
    _assignment(pytester)
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=mine", "--sleepbench-assignment=assignment.toml",
        "--sleepbench-gradescope=results.json", "-k", "ex1 or ex3_2", "-p", "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, deselected=4)
    result.stdout.fnmatch_lines(["collected 6 items / 4 deselected / 2 selected"])
    assert not tripwire.exists()
    assert "test_project" not in result.stdout.str()
    results = json.loads((pytester.path / "results.json").read_text())
    assert results["score"] == 20
    assert [t["number"] for t in results["tests"]] == ["ex1", "ex3_2"]


def test_last_failed_reruns_only_the_failed_exercises(pytester: pytest.Pytester) -> None:
    copy_reference(pytester.path / "subs" / "ok", "ex1_serial.py")
    shutil.copy(EXAMPLES / "threads" / "ex2_processes.py", pytester.path / "subs" / "ok")
    _assignment(pytester)
    args = ("--sleepbench-grade=subs", "--sleepbench-assignment=assignment.toml",
            "-k", "ex1 or ex2")
    first = pytester.runpytest_subprocess(*args)
    first.assert_outcomes(passed=1, failed=2, deselected=3)
    again = pytester.runpytest_subprocess(*args, "--lf")
    again.assert_outcomes(failed=2, deselected=4)
    again.stdout.fnmatch_lines(["*sleepbench-grade/ok::ex2 *", "*sleepbench-grade/ok::ex2_1 *"])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("unit = 0.02\n[[exercise]]\nid = 'a'\npattern = 'mapp'\nfile = 'a.py'\npoints = 1\n",
         ["*bad.toml:4: unknown pattern 'mapp'; use one of serial, *map*"]),
        ("unit = 0.02\n[[exercise]]\nid = 'a'\npattern = 'map'\npoints = 1\n",
         ["*bad.toml:2: exercise 1 has no 'file'; add `file = ...`*"]),
        ("unit = 0.02\n[[exercise]\n",
         ["*bad.toml:2: not valid TOML: * (column *); close the header as [[][[]exercise]]"]),
        ("[[exercise]]\nid = 'a'\npattern = 'map'\nfile = 'a.py'\npoints = 1\n",
         ["*bad.toml:1: missing key 'unit'; add `unit = <number>`*"]),
    ],
)
def test_a_broken_assignment_is_a_usage_error(
    pytester: pytest.Pytester, text: str, where: list[str]
) -> None:
    (pytester.path / "bad.toml").write_text(text)
    pytester.mkdir("subs")
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=bad.toml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(where)
