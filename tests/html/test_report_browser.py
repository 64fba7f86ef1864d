"""The report as a real browser sees it: headless Chromium loads it and draws what the data says.

Skipped, with the reason, where Chromium is not installed (``.ci/chromium.sh`` installs it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import browser
import pytest
from report_data import HOSTILE, gradebook, parse

from pytest_sleepbench.report.svg import PALETTE

SUITE = """
import pytest

@pytest.mark.sleepbench("process_loop", check=False)
def test_loop(sleepbench_run):
    pass

@pytest.mark.sleepbench("map", check=False)
def test_map(sleepbench_run):
    pass
"""

GRADER = """
import json, pathlib
import pytest
from pytest_sleepbench._plugin.keys import GRADEBOOK_KEY

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    path = pathlib.Path(__file__).with_name("gradebook.json")
    session.config.stash[GRADEBOOK_KEY] = json.loads(path.read_text())
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = browser.find()
    if binary is None:
        pytest.skip("Chromium is not installed (no chromium or chromium-browser on PATH); "
                    "install it with .ci/chromium.sh to run the browser checks")
    return binary


@pytest.fixture
def report(pytester: pytest.Pytester) -> Path:
    """A report written by a real session with a gradebook of 40 submissions in the stash."""
    pytester.makeini("[pytest]\nsleepbench_unit = 0.02\n")
    pytester.makepyfile(test_lesson=SUITE)
    (pytester.path / "gradebook.json").write_text(json.dumps(gradebook(40)))
    pytester.makeconftest(GRADER)
    pytester.runpytest("--sleepbench-html=report.html").assert_outcomes(passed=2)
    return pytester.path / "report.html"


def test_chromium_draws_every_interval(chromium: str, report: Path) -> None:
    source = parse(report.read_text(encoding="utf-8"))
    document = json.loads((report.parent / "gradebook.json").read_text())
    graded = sum(len(e["intervals"]) for s in document["submissions"] for e in s["exercises"])
    # The two pattern runs: ten tasks in the loop, five in map.
    assert len(source.having("rect", "interval")) == graded + 10 + 5

    loaded = browser.dump_dom(chromium, report)
    dom = parse(loaded)
    rects = dom.having("rect", "interval")
    assert len(rects) == len(source.having("rect", "interval"))
    assert [r["data-pid"] for r in rects] == [
        r["data-pid"] for r in source.having("rect", "interval")
    ]
    # Each run has its model's makespan, and so has each graded exercise that ran.
    assert len(dom.having("line", "expected")) == 2 + sum(
        1 for s in document["submissions"] for e in s["exercises"] if e["status"] != "missing"
    )
    assert len([a for t, a in dom.tags if t == "tr" and a.get("id", "").startswith("row-")]) == 40
    # The hostile name arrives as text: no script element exists in the loaded page.
    assert not dom.having("script")
    assert HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in loaded


def test_screenshot_shows_the_bars(chromium: str, report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    # Tall enough that the first submission's bars sit well inside it: at 1600 px they sat
    # on its lower edge, under a gradebook of 40 rows, and a line more above (a run the
    # machine made inconclusive, a longer header) pushed them out of the picture.
    browser.screenshot(chromium, report, png, width=1000, height=2400)
    width, height, rgb = browser.pixels(png)
    assert (width, height) == (1000, 2400)
    counts = Counter(rgb)
    white = counts[(255, 255, 255)]
    assert white < len(rgb) * 0.95, "the page is not blank"
    # The first graded bars (task-less intervals) are drawn in the first colour of the palette.
    colour = PALETTE[0]
    first = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    assert counts[first] > 200, counts.most_common(8)


def test_prints_to_pdf(chromium: str, report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    browser.print_pdf(chromium, report, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    # Print CSS puts each submission on a page of its own, after the gradebook.
    pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", data))
    assert pages >= 40, pages
