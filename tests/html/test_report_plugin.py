"""The options in real pytest sessions: timelines in the terminal summary, the report on disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_data import gradebook, parse

from pytest_sleepbench.core.lesson import DEFAULT_DURATIONS

SUITE = """
import pytest
from concurrent.futures import ThreadPoolExecutor

@pytest.mark.sleepbench("serial")
def test_serial(sleepbench_run):
    pass

# The pattern's own checks are tested elsewhere; here only the drawing matters, so a
# machine under load must not turn this run red.
@pytest.mark.sleepbench("as_completed", check=False)
def test_as_completed(sleepbench_run):
    pass

@pytest.mark.sleepbench("processes", check=False)
def test_broken(sleepbench_run):
    assert sleepbench_run.wall < 0, "a test that fails after its run"

@pytest.mark.sleepbench("as_completed", workers=2, check=False)
def test_fastest(sleepbench_run):
    # Two workers for five tasks: fastest-first cannot hold, and the check says so.
    sleepbench_run.assert_fastest_first()

def test_threads(sleepbench):
    probe = sleepbench.probe(0.03)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(probe, range(3)))
    sleepbench.timeline.assert_parallel(3)
"""

INI = "[pytest]\nsleepbench_unit = 0.02\n"

# What the suite records: each pattern's tasks, and the three probe calls.
INTERVALS = sum(
    len(DEFAULT_DURATIONS[p]) for p in ("serial", "as_completed", "processes", "as_completed")
) + 3
RUNS = 5
SHOWN_TITLES = ("test_serial (serial)", "test_as_completed (as_completed)",
                "test_threads (probe)", "test_broken (processes) [test failed]")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def section(output: str, name: str) -> list[str]:
    """The lines of one ``=== name ===`` section of the terminal summary."""
    lines = output.splitlines()
    start = next(k for k, line in enumerate(lines) if re.fullmatch(rf"=+ {name} =+", line))
    end = next((k for k in range(start + 1, len(lines)) if re.match(r"^[=-]{3,} ", lines[k])),
               len(lines))
    return lines[start + 1:end]


def test_html_report_of_a_session(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--sleepbench-html=out/report.html")
    result.assert_outcomes(passed=3, failed=2)
    path = suite.path / "out" / "report.html"
    result.stdout.fnmatch_lines([f"*sleepbench HTML report: {path}*"])
    page = path.read_text(encoding="utf-8")
    doc = parse(page)
    assert len(doc.having("rect", "interval")) == INTERVALS
    articles = doc.having("article", "run")
    assert len(articles) == RUNS
    assert sum("fail" in a["class"].split() for a in articles) == 2
    # The fastest-first check, and test_broken's own assert, which its run's checks passed.
    assert len(doc.having("li", "fail")) == 2
    assert "the test failed outside sleepbench&#x27;s checks" in page
    assert "a test that fails after its run" in page
    # Pattern runs have a model; probe timelines do not.
    assert len(doc.having("line", "expected")) == RUNS - 1
    assert "http" not in page and "<script" not in page


def test_a_wall_marker_verdict_is_in_the_summary_and_the_report(
    pytester: pytest.Pytester
) -> None:
    pytester.makepyfile("""
        import time, pytest

        @pytest.mark.sleepbench_wall(at_least=0.2)
        def test_too_quick():
            time.sleep(0.01)

        @pytest.mark.sleepbench_wall(serial=[0.02, 0.02])
        def test_serial():
            time.sleep(0.02); time.sleep(0.02)
    """)
    result = pytester.runpytest("--sleepbench-html=report.html")
    result.assert_outcomes(passed=1, failed=1)
    lines = section(result.stdout.str(), "sleepbench runs")
    assert any(re.match(r"wall +- +- +0\.0\d\ds  fail +failed .*test_too_quick", line)
               for line in lines), lines
    assert any(re.match(r"wall +- +0\.040s +0\.0\d\ds  pass +passed .*test_serial", line)
               for line in lines), lines
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    doc = parse(page)
    assert len(doc.having("li", "fail")) == 1
    assert "sleepbench_wall: the test&#x27;s call phase took less time than allowed" in page
    assert "No checks were recorded." not in page


def test_timeline_option_draws_runs_without_a_failed_check_within_the_terminal_width(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    result = suite.runpytest("--sleepbench-timeline")
    result.assert_outcomes(passed=3, failed=2)
    lines = section(result.stdout.str(), "sleepbench timelines")
    text = "\n".join(lines)
    for title in SHOWN_TITLES:
        assert title in text
    # Its failed check already drew the picture in the failure message.
    assert "test_fastest" not in text
    assert "fastest-first cannot hold" in result.stdout.str()
    assert max(len(line) for line in lines) <= 72, text
    assert text.count("^ = expected makespan") == 3
    assert sum(line.startswith("worker ") for line in lines) >= 4
    assert sum(line.startswith("main") for line in lines) == 1 + 3


def test_nothing_is_drawn_unless_asked(suite: pytest.Pytester) -> None:
    result = suite.runpytest()
    result.assert_outcomes(passed=3, failed=2)
    assert "sleepbench timelines" not in result.stdout.str()
    assert "HTML report" not in result.stdout.str()
    assert not list(suite.path.rglob("*.html"))


def test_ini_twins_and_paths_relative_to_the_ini_file(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makeini(INI + "sleepbench_html = reports/lesson.html\nsleepbench_timeline = true\n")
    elsewhere = suite.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = suite.runpytest(str(suite.path / "test_suite.py"))
    result.assert_outcomes(passed=3, failed=2)
    assert (suite.path / "reports" / "lesson.html").is_file()
    assert not (elsewhere / "reports").exists()
    assert "sleepbench timelines" in result.stdout.str()


def test_help_shows_options_and_ini_twins(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "*--sleepbench-html=PATH*",
        "*--sleepbench-timeline*",
        "*sleepbench_html (string)*",
        "*sleepbench_timeline (bool)*",
    ])


def test_collecting_only_leaves_an_earlier_report_as_it_was(suite: pytest.Pytester) -> None:
    earlier = suite.path / "report.html"
    earlier.write_text("the report of the last real run")
    result = suite.runpytest("--co", "--sleepbench-html=report.html")
    assert result.ret == 0
    assert earlier.read_text() == "the report of the last real run"


def test_a_report_that_cannot_be_written_says_so(suite: pytest.Pytester) -> None:
    (suite.path / "blocker").write_text("a file where a folder should be")
    result = suite.runpytest("--sleepbench-html=blocker/report.html")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["*sleepbench could not write the HTML report: *blocker*"])


def test_report_under_xdist_has_every_workers_runs(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-n", "2", "--sleepbench-html=report.html",
                                        "--sleepbench-timeline")
    result.assert_outcomes(passed=3, failed=2)
    assert result.stdout.str().count("sleepbench HTML report:") == 1
    timelines = "\n".join(section(result.stdout.str(), "sleepbench timelines"))
    for title in SHOWN_TITLES:
        assert title in timelines
    doc = parse((suite.path / "report.html").read_text(encoding="utf-8"))
    assert len(doc.having("rect", "interval")) == INTERVALS
    assert len(doc.having("article", "run")) == RUNS


GRADER = """
import json, pathlib
import pytest
from pytest_sleepbench._plugin.keys import GRADEBOOK_KEY

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    # Stands in for the grader, which leaves its document in the stash as the session ends.
    path = pathlib.Path(__file__).with_name("gradebook.json")
    session.config.stash[GRADEBOOK_KEY] = json.loads(path.read_text())
"""


def test_the_gradebook_left_by_the_grader_is_in_the_report(suite: pytest.Pytester) -> None:
    document = gradebook(6)
    (suite.path / "gradebook.json").write_text(json.dumps(document))
    suite.makeconftest(GRADER)
    result = suite.runpytest("--sleepbench-html=grades.html")
    result.assert_outcomes(passed=3, failed=2)
    page = (suite.path / "grades.html").read_text(encoding="utf-8")
    doc = parse(page)
    assert len(doc.having("table", "gradebook")) == 1
    assert len([a for t, a in doc.tags if t == "tr" and a.get("id", "").startswith("row-")]) == 6
    assert "sleepbench grading report" in page
    assert "<script" not in page
    # The test runs of the session are still there, after the gradebook.
    assert len(doc.having("article", "run")) == RUNS + 6 * 3


def test_an_absolute_report_path_and_missing_folders(
    suite: pytest.Pytester, tmp_path: Path
) -> None:
    target = tmp_path / "abs" / "r.html"
    result = suite.runpytest(f"--sleepbench-html={target}")
    result.assert_outcomes(passed=3, failed=2)
    assert target.is_file()
