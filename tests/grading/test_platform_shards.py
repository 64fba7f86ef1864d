"""Shards: ``--sleepbench-shard=K/N`` grades a stable part of the class, and
``python -m pytest_sleepbench merge`` joins the shards' reports into the gradebook of one run.

The commands are those of ``examples/scale``, read from its files and run as the platform runs
them: real grading sessions, real merges.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from grading_support import EXAMPLES, copy_reference, course, submission
from platform_support import CRASH, ROOT, environment, load_yaml, shell, step

from pytest_sleepbench.grading.shard import shard_of

SCALE = ROOT / "examples" / "scale"
#: Names whose shards of 3 are 1, 3, 3 and 2: every shard grades someone.
CLASS = {"reference": 1, "wrong_order": 3, "alice": 3, "dave": 2}


def test_a_submission_is_in_the_same_shard_on_every_machine() -> None:
    # SHA-256 of the UTF-8 name, whatever the interpreter or its hash seed.
    assert {name: shard_of(name, 3) for name in CLASS} == CLASS
    # A folder named in UTF-8, and one whose name is not UTF-8 (b"caf\xe9", as Python reads it).
    assert (shard_of("caf\u00e9", 7), shard_of("caf\udce9", 7)) == (7, 6)
    assert shard_of("reference", 1) == 1


def _class(folder: Path) -> Path:
    """A class made from examples/submissions: right, missing, and a script that crashes."""
    subs = folder / "submissions"
    copy_reference(subs / "reference", "ex1_serial.py", "ex2_processes.py")
    copy_reference(subs / "dave", "ex1_serial.py", "ex2_processes.py")
    shutil.copytree(EXAMPLES / "wrong_order", subs / "wrong_order")  # neither ex1 nor ex2
    submission(subs / "alice", {"ex1_serial.py": CRASH})
    copy_reference(subs / "alice", "ex2_processes.py")
    (folder / "course.toml").write_text(course("ex1", "ex2"))
    return folder


def _gradebook(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    return {s["name"]: (s["score"], s["max_score"],
                        [(e["id"], e["status"], e["score"]) for e in s["exercises"]])
            for s in doc["submissions"]}


def test_three_shards_merged_give_the_gradebook_of_one_run(tmp_path: Path) -> None:
    repo = _class(tmp_path)
    workflow = load_yaml(SCALE / "github-actions-matrix.yml")
    shards = workflow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    grade = step(workflow, "grade", "grade")["run"]
    def job(k: int) -> str:
        """The step's command as GitHub runs it in the matrix's job ``k``."""
        command = str(grade).replace("${{ matrix.shard }}", str(k)).replace(
            "${{ strategy.job-total }}", str(len(shards)))
        assert "${{" not in command
        return command

    for k in shards:
        done = shell(job(k), repo)
        # Exit 0 although alice and wrong_order lost points: --sleepbench-exit-zero.
        assert done.returncode == 0, done.stdout + done.stderr
        mine = sorted(n for n, s in CLASS.items() if s == k)
        assert f"sleepbench shard {k}/3: {len(mine)} of 4 submission(s)" in done.stdout
        report = json.loads((repo / "out" / f"shard-{k}.json").read_text())
        assert report["shard"] == f"{k}/3"
        assert [s["name"] for s in report["submissions"]] == mine
        # What download-artifact with merge-multiple leaves: every shard's file in one folder.
        (repo / "shards").mkdir(exist_ok=True)
        shutil.copy(repo / "out" / f"shard-{k}.json", repo / "shards")

    merged = shell(step(workflow, "gradebook", "merge")["run"], repo)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert merged.stderr == ""  # no shard missing

    # The same command, less the shard.
    whole = re.sub(r"--sleepbench-shard=\S+ ", "", job(1))
    whole = re.sub(r"--sleepbench-json=\S+", "--sleepbench-json=out/whole.json "
                   "--sleepbench-csv=out/whole.csv", whole)
    one = shell(whole, repo)
    assert one.returncode == 0, one.stdout + one.stderr

    book = repo / "gradebook"
    assert _gradebook(book / "grades.json") == _gradebook(repo / "out" / "whole.json")
    assert _gradebook(book / "grades.json") == {
        "alice": (10.0, 20.0, [("ex1", "fail", 0.0), ("ex2", "pass", 10.0)]),
        "dave": (20.0, 20.0, [("ex1", "pass", 10.0), ("ex2", "pass", 10.0)]),
        "reference": (20.0, 20.0, [("ex1", "pass", 10.0), ("ex2", "pass", 10.0)]),
        "wrong_order": (0.0, 20.0, [("ex1", "missing", 0.0), ("ex2", "missing", 0.0)]),
    }
    assert (book / "grades.csv").read_text() == (repo / "out" / "whole.csv").read_text()
    assert sorted(p.name for p in (book / "gradescope").iterdir()) == [
        f"{n}.json" for n in sorted(CLASS)]
    assert json.loads((book / "gradescope" / "alice.json").read_text())["score"] == 10
    page = (book / "grades.html").read_text()
    assert all(f">{name}<" in page for name in CLASS)
    for line in ("alice * 10/20", "wrong_order * missing * 0/20"):
        assert any(re.fullmatch(line.replace("*", ".*"), out) for out in
                   merged.stdout.splitlines()), merged.stdout


def test_the_kubernetes_indexed_job_and_merge_job_as_written(tmp_path: Path) -> None:
    job = load_yaml(SCALE / "k8s-indexed-job.yaml")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == spec["completions"]
    [container] = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env["SHARDS"]) == spec["completions"]
    for name in CLASS:  # nothing to run: every exercise is missing, so this stays quick
        (tmp_path / "course" / "submissions" / name).mkdir(parents=True)
    (tmp_path / "course" / "course.toml").write_text(course("ex1"))
    paths = {"COURSE": str(tmp_path / "course"), "GRADEBOOK": str(tmp_path / "gradebook")}
    (tmp_path / "gradebook").mkdir()
    for index in range(spec["completions"]):
        done = subprocess.run(
            [*container["command"], *container["args"]], cwd=tmp_path, capture_output=True,
            text=True, env=environment(**{**env, **paths, "JOB_COMPLETION_INDEX": str(index)}),
            stdin=subprocess.DEVNULL, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads((tmp_path / "gradebook" / f"shard-{index + 1}.json").read_text())
        assert [s["name"] for s in report["submissions"]] == sorted(
            n for n, k in CLASS.items() if k == index + 1)

    merge = load_yaml(SCALE / "k8s-merge-job.yaml")["spec"]["template"]["spec"]
    [container] = merge["containers"]
    done = subprocess.run([*container["command"], *container["args"]], cwd=tmp_path,
                          env=environment(**paths), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "gradebook" / "grades.csv").read_text())))
    assert [r["submission"] for r in rows] == sorted(CLASS)
    assert (tmp_path / "gradebook" / "gradescope" / "dave.json").is_file()


@pytest.mark.parametrize(
    ("value", "ini", "error"),
    [
        ("0/3", False, "*argument --sleepbench-shard: K must be from 1 to N (shards are "
         "counted from 1), got '0/3'"),
        ("4/3", False, "*argument --sleepbench-shard: K must be from 1 to N*got '4/3'"),
        ("3", False, "*argument --sleepbench-shard: expected K/N (this machine grades shard K "
         "of N, e.g. 2/3), got '3'"),
        ("5/2", True, "ERROR: sleepbench_shard (ini): K must be from 1 to N*got '5/2'"),
    ],
)
def test_a_shard_that_is_not_k_of_n_is_a_usage_error(
    pytester: pytest.Pytester, value: str, ini: bool, error: str
) -> None:
    copy_reference(pytester.path / "subs" / "reference", "ex1_serial.py")
    if ini:
        pytester.makeini(f"[pytest]\nsleepbench_shard = {value}\n")
    args = () if ini else (f"--sleepbench-shard={value}",)
    result = pytester.runpytest_subprocess("--sleepbench-grade=subs", "-p", "no:cacheprovider",
                                           *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("exit_zero", [False, True])
def test_a_shard_with_no_submission_writes_an_empty_report(
    pytester: pytest.Pytester, exit_zero: bool
) -> None:
    copy_reference(pytester.path / "subs" / "reference", "ex1_serial.py")  # shard 1 of 3
    (pytester.path / "course.toml").write_text(course("ex1"))
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-assignment=course.toml", "-p",
        "no:cacheprovider", "--sleepbench-shard=2/3", "--sleepbench-json=out/shard-2.json",
        *(("--sleepbench-exit-zero",) if exit_zero else ()))
    result.stdout.fnmatch_lines(["sleepbench shard 2/3: 0 of 1 submission(s)"])
    doc = json.loads((pytester.path / "out" / "shard-2.json").read_text())
    assert (doc["shard"], doc["submissions"]) == ("2/3", [])
    if exit_zero:
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["sleepbench: exit status 0 (--sleepbench-exit-zero): this "
                                     "run had no submission to grade"])
    else:
        assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
