"""The HTML page: self-contained, escaped, with a gradebook whose cells lead to their details."""

from __future__ import annotations

import re

import pytest
from report_data import HOSTILE, Record, gradebook, parse, real_record

from pytest_sleepbench.report.html import build_page

# Anything a browser could fetch: a URL scheme, a protocol-relative address, or the markup and
# CSS that load resources.
EXTERNAL = re.compile(
    r"https?:|ftp:|file:|data:|//[a-z0-9]|<script|<link|<iframe|<img|<object|<embed|@import|url\(",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Record]:
    tmp = tmp_path_factory.mktemp("runs")
    records = [real_record(p, tmp) for p in ("serial", "processes", "map")]
    # One run as a failed test shows it: the session marks the outcome, the run its checks.
    failed = {**records[2], "outcome": "failed", "checks": [
        {"name": "fastest_first", "status": "fail",
         "message": "expected: 1, 2, 3, 4, 5\nobserved: 4, 5, 3, 2, 1"}]}
    return [*records, failed]


def assert_self_contained(page: str) -> None:
    found = EXTERNAL.findall(page)
    assert not found, found
    for attrs in (a for _, a in parse(page).tags):
        for name in ("src", "srcset", "action", "xlink:href", "background", "poster"):
            assert name not in attrs
        assert attrs.get("href", "#").startswith("#")


def assert_links_resolve(page: str) -> None:
    doc = parse(page)
    ids = [a["id"] for _, a in doc.tags if "id" in a]
    assert len(ids) == len(set(ids)), "ids are unique"
    for _, attrs in doc.tags:
        if "href" in attrs:
            assert attrs["href"][1:] in ids, attrs["href"]


def test_a_page_of_runs_is_self_contained(runs: list[Record]) -> None:
    page = build_page(runs)
    assert page.startswith("<!DOCTYPE html>")
    assert_self_contained(page)
    assert_links_resolve(page)
    doc = parse(page)
    assert len(doc.having("rect", "interval")) == sum(len(r["intervals"]) for r in runs)
    # One expected-makespan line per run; every pattern run has a model.
    assert len(doc.having("line", "expected")) == len(runs)
    assert len(doc.having("article", "run")) == len(runs)


def test_failed_runs_and_checks_are_highlighted(runs: list[Record]) -> None:
    doc = parse(build_page(runs))
    articles = doc.having("article", "run")
    assert ["fail" in a["class"].split() for a in articles] == [
        r["outcome"] == "failed" for r in runs
    ]
    failed = doc.having("li", "fail")
    assert len(failed) == sum(
        1 for r in runs for c in r["checks"] if c["status"] == "fail"
    )
    assert len(failed) >= 1


def test_gradebook_for_a_class_of_forty() -> None:
    document = gradebook(40)
    page = build_page([], document)
    assert_self_contained(page)
    assert_links_resolve(page)
    doc = parse(page)
    assert len(doc.having("table", "gradebook")) == 1
    rows = [a for t, a in doc.tags if t == "tr" and a.get("id", "").startswith("row-")]
    assert len(rows) == 40
    submissions = document["submissions"]
    assert isinstance(submissions, list)
    exercises = [e for s in submissions for e in s["exercises"]]
    linked = [a for t, a in doc.tags if t == "a" and re.fullmatch(r"#s\d+-e\d+", a["href"])]
    assert len(linked) == len(exercises) == 120
    intervals = sum(len(e["intervals"]) for e in exercises)
    assert len(doc.having("rect", "interval")) == intervals
    statuses = [e["status"] for e in exercises]
    cells = [a["class"] for t, a in doc.tags if t == "td" and a.get("class") in
             ("pass", "fail", "missing")]
    assert sorted(cells) == sorted(statuses)
    assert len(doc.having("li", "fail")) == statuses.count("fail") + 1
    assert [th for t, th in doc.tags if t == "span" and th.get("class") == "pattern"]
    for pattern in ("processes", "submit", "map"):
        assert f'<span class="pattern">{pattern}</span>' in page
    # The class figures: every seventh student failed ex2, every fifth did not hand in ex3.
    foot = page.split("<tfoot>")[1].split("</tfoot>")[0]
    passed = [sum(1 for s in submissions if s["exercises"][k]["status"] == "pass")
              for k in range(3)]
    assert passed == [40, 34, 32]
    assert "".join(f"<td>{n}/40</td>" for n in passed) in foot
    mean_ex2 = sum(s["exercises"][1]["score"] for s in submissions) / 40
    assert f"<td>{mean_ex2:.2f}</td>" in foot
    for s, submission in enumerate(submissions):
        total = f"{submission['score']:g}/{submission['max_score']:g}"
        assert f'<tr id="row-{s}">' in page
        assert total in page


def test_untrusted_names_and_messages_are_escaped() -> None:
    page = build_page([], gradebook(3))
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &quot;Ana&quot;" in page
    assert "&lt;/pre&gt;&lt;script&gt;steal()" in page
    doc = parse(page)
    names = [a for t, a in doc.tags if t == "td" and a.get("class") == "name"]
    assert len(names) == 3
    assert HOSTILE not in page


def test_hostile_statuses_do_not_reach_attributes() -> None:
    document = gradebook(1, hostile=False)
    subs = document["submissions"]
    assert isinstance(subs, list)
    subs[0]["exercises"][0]["status"] = 'pass" onmouseover="x()'
    subs[0]["exercises"][0]["checks"][0]["status"] = "<b>"
    page = build_page([], document)
    assert "onmouseover" not in page
    doc = parse(page)
    # Unknown statuses are shown as failures, the safe reading for a grade.
    assert doc.having("td", "fail")[0]["class"] == "fail"
    assert doc.having("li")[0]["class"] == "check fail"
    assert {li["class"] for li in doc.having("li")} <= {"check pass", "check fail", "check skip"}


def test_print_styles_are_there(runs: list[Record]) -> None:
    page = build_page(runs, gradebook(2))
    style = page.split("<style>")[1].split("</style>")[0]
    assert "@media print" in style
    assert "break-inside: avoid" in style


def test_graded_exercises_get_the_models_makespan() -> None:
    # Two tasks of one tutorial second (0.1 s): 0.1 s over the two workers a passing script
    # used, 0.2 s for the failing one that ran them in one process.
    document = gradebook(4, hostile=False)
    doc = parse(build_page([], document))
    lines = doc.having("line", "expected")
    exercises = [e for s in document["submissions"] for e in s["exercises"]]
    assert len(lines) == sum(1 for e in exercises if e["status"] != "missing")
    titles = [t for t in doc.titles if t.startswith("expected makespan")]
    ran = [e for e in exercises if e["status"] != "missing"]
    assert titles == [
        f"expected makespan {0.1 if e['workers'] == 2 else 0.2:.3f} s" for e in ran
    ]


def test_an_exercise_never_graded_is_not_shown_as_a_zero() -> None:
    document = gradebook(2)
    submissions = document["submissions"]
    assert isinstance(submissions, list)
    ungraded = submissions[1]["exercises"][0]
    ungraded.update({"status": "fail", "score": 0.0, "wall": None, "intervals": [],
                     "checks": [{"name": "runs", "status": "fail",
                                 "message": "runs: not graded: the worker grading it died"}]})
    page = build_page([], document)
    cells = [a for t, a in parse(page).tags if t == "td" and a.get("class") == "ungraded"]
    assert len(cells) == 1
    assert ">not graded</a></td>" in page
    assert "the worker grading it died" in page


def test_a_run_measured_twice_shows_both_walls(runs: list[Record]) -> None:
    twice = {**runs[0], "earlier_walls": [0.5]}
    page = build_page([twice], None)
    assert "first attempt 0.500 s" in page
