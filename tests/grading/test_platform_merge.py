"""``python -m pytest_sleepbench merge`` refuses what is not one grading, names the file, and
writes nothing then; see test_platform_shards for merges of real shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grading_support import fast_assignment

from pytest_sleepbench.cli import main
from pytest_sleepbench.grading.grade import not_graded
from pytest_sleepbench.report.gradebook import document, package_version


def _report(folder: Path, name: str, students: list[str], *, shard: str | None = None,
            extra: str = "", **changes: Any) -> Path:
    """A JSON report as --sleepbench-json writes it, of ``students`` each with every exercise
    of the fast course; ``changes`` replace top-level keys."""
    assignment = fast_assignment(extra)
    entries = [(s, not_graded(None, e, "the session ended before this exercise was graded"))
               for s in students for e in assignment.exercises]
    doc = {**document(assignment, entries, sandbox="none: test", shard=shard), **changes}
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def _merge(tmp_path: Path, capsys: pytest.CaptureFixture[str], *paths: Path, out: str = "m.json"
           ) -> tuple[int, str, str]:
    code = main(["merge", *map(str, paths), "--json", str(tmp_path / out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_reports_of_distinct_shards_are_joined_and_a_missing_shard_is_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _report(tmp_path, "a.json", ["bob", "alice"], shard="1/3")
    c = _report(tmp_path, "c.json", ["carol"], shard="3/3")
    code, out, err = _merge(tmp_path, capsys, c, a)
    assert code == 0
    assert err == ("sleepbench warning: shard 2/3 is not among the reports, so its submissions "
                   "are not in the gradebook\n")
    merged = json.loads((tmp_path / "m.json").read_text())
    assert [s["name"] for s in merged["submissions"]] == ["alice", "bob", "carol"]
    assert merged["version"] == package_version() and "shard" not in merged
    assert f"wrote {tmp_path / 'm.json'}" in out


@pytest.mark.parametrize(
    ("second", "error"),
    [
        ({"extra": "timeout = 3"}, "{b} was graded with another assignment than {a}: timeout "
         "(null in a.json, 3.0 in b.json) differ; grade every shard with the same assignment "
         "file"),
        ({"version": "0.0.9"}, "{b} was written by pytest-sleepbench 0.0.9, {a} by {version}; "
         "grade every shard with the same version of the grader, or the verdicts may differ"),
        ({"students": ["alice"]}, "submission 'alice' is in both {a} and {b}; merge the reports "
         "of distinct shards (each --sleepbench-shard=K/N once, with the same N)"),
        ({"shard": "1/2"}, "{b} is shard 1/2 and {a} a shard of another N; shards of different "
         "N do not divide the class alike, so grade every shard with the same N"),
        ({"shard": "1/3", "students": ["zoe"]}, "{b} and {a} are both shard 1/3; pass each "
         "shard's report once"),
    ],
    ids=["assignment", "version", "twice", "another-n", "same-shard"],
)
def test_reports_of_another_grading_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], second: dict[str, Any], error: str
) -> None:
    a = _report(tmp_path, "a.json", ["alice"], shard="1/3")
    kwargs: dict[str, Any] = {"students": ["bob"], "shard": "2/3", **second}
    b = _report(tmp_path, "b.json", kwargs.pop("students"), **kwargs)
    code, out, err = _merge(tmp_path, capsys, a, b)
    assert code == 1
    assert err == "sleepbench: error: " + error.format(a=a, b=b, version=package_version()) + "\n"
    assert out == ""
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{\"schema\": 1, \"submissions\": [", "{path}: not a JSON report (Expecting value: line "
         "1 column 31 (char 30)); pass the files written by --sleepbench-json"),
        ("\"grades\"", "{path}: not a sleepbench JSON report of schema 1; pass the files written "
         "by --sleepbench-json"),
        ("{\"schema\": 1, \"assignment\": {}, \"submissions\": [{\"score\": 1}]}",
         "{path}: its assignment or submissions are malformed; grade that shard again"),
        ("{\"schema\": 1, \"assignment\": {}, \"submissions\": [{\"name\": \"x\", \"score\": 1, "
         "\"max_score\": 1, \"exercises\": [{\"id\": \"ex1\", \"score\": 1}]}]}",
         "{path}: its assignment or submissions are malformed; grade that shard again"),
        ("{\"schema\": 1, \"assignment\": {}, \"submissions\": [], \"shard\": \"4/3\"}",
         "{path}: its shard '4/3' is malformed; grade that shard again"),
        (None, "{path}: cannot read it (No such file or directory)"),
    ],
    ids=["truncated", "not-a-report", "malformed", "half-an-entry", "bad-shard", "absent"],
)
def test_a_report_that_cannot_be_read_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, error: str
) -> None:
    good = _report(tmp_path, "good.json", ["alice"])
    bad = tmp_path / "bad.json"
    if text is not None:
        bad.write_text(text)
    code, out, err = _merge(tmp_path, capsys, good, bad)
    assert (code, out) == (1, "")
    assert err == "sleepbench: error: " + error.format(path=bad) + "\n"
    assert not (tmp_path / "m.json").exists()


def test_an_output_that_cannot_take_its_report_is_refused_before_anything_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()
    code, _, err = _merge(tmp_path, capsys, tmp_path / "never-read.json", out="taken")
    assert code == 1
    assert err == (f"sleepbench: error: --json: {tmp_path / 'taken'} is a folder, where the "
                   "report file is written\n")
