"""A real grading session's report: the gradebook table and every exercise's details."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from report_data import parse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
CHOSEN = ("reference", "wrong_order", "threads")


def test_grading_report_matches_the_gradebook(pytester: pytest.Pytester) -> None:
    for name in CHOSEN:
        shutil.copytree(EXAMPLES / name, pytester.path / "subs" / name)
    # A hostile folder name travels into the report as a student's name.
    hostile = "<i onmouseover=x()>eve"
    shutil.copytree(EXAMPLES / "reference", pytester.path / "subs" / hostile)
    result = pytester.runpytest_subprocess(
        "--sleepbench-grade=subs", "--sleepbench-json=grades.json",
        "--sleepbench-html=grades.html", "-p", "no:cacheprovider", "-n", "2",
    )
    document = json.loads((pytester.path / "grades.json").read_text())
    page = (pytester.path / "grades.html").read_text(encoding="utf-8")
    assert "sleepbench HTML report:" in result.stdout.str()
    doc = parse(page)

    submissions = document["submissions"]
    assert sorted(s["name"] for s in submissions) == sorted((*CHOSEN, hostile))
    rows = [a for t, a in doc.tags if t == "tr" and a.get("id", "").startswith("row-")]
    assert len(rows) == len(submissions)
    exercises = [e for s in submissions for e in s["exercises"]]
    cells = [a["class"] for t, a in doc.tags
             if t == "td" and a.get("class") in ("pass", "fail", "missing")]
    assert sorted(cells) == sorted(e["status"] for e in exercises)
    assert len(doc.having("rect", "interval")) == sum(len(e["intervals"]) for e in exercises)
    assert len(doc.having("li", "fail")) == sum(
        1 for e in exercises for c in e["checks"] if c["status"] == "fail")
    # Every exercise that ran with at least one worker gets the model's makespan.
    assert len(doc.having("line", "expected")) == sum(
        1 for e in exercises if e["status"] != "missing" and (e["workers"] or 0) >= 1)
    for s in submissions:
        assert f"{s['score']:g}/{s['max_score']:g}" in page
    assert "<i onmouseover" not in page
    assert "&lt;i onmouseover=x()&gt;eve" in page
