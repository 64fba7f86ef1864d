"""The SVG timeline draws what a record says: one rect per interval, where and when it ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_data import Record, parse, real_record

from pytest_sleepbench.report.records import record_intervals, record_picture
from pytest_sleepbench.report.svg import LABEL, RIGHT, WIDTH, timeline_svg


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Record]:
    tmp = tmp_path_factory.mktemp("runs")
    return {p: real_record(p, tmp) for p in ("serial", "process_loop", "as_completed")}


@pytest.mark.parametrize("pattern", ["serial", "process_loop", "as_completed"])
def test_every_interval_is_a_rect_in_its_process_row(
    records: dict[str, Record], pattern: str
) -> None:
    record = records[pattern]
    intervals = record_intervals(record)
    svg = parse(timeline_svg(record))
    rects = svg.having("rect", "interval")
    assert len(rects) == len(intervals) > 0
    assert sorted(int(r["data-task"]) for r in rects) == sorted(
        i.task for i in intervals if i.task is not None
    )
    rows = svg.having("g", "row")
    pids = {i.pid for i in intervals}
    assert {int(r["data-pid"]) for r in rows} == pids
    # These patterns never run two tasks at once in one process: one row per process.
    assert len(rows) == len(pids)


def test_rects_are_placed_on_the_time_axis(records: dict[str, Record]) -> None:
    record = records["as_completed"]
    wall = float(str(record["wall"]))
    expected = float(str(record["expected_wall"]))
    total = max(wall, expected, *(i.end for i in record_intervals(record)))
    plot = WIDTH - LABEL - RIGHT
    svg = parse(timeline_svg(record))
    for rect in svg.having("rect", "interval"):
        start, end = float(rect["data-start"]), float(rect["data-end"])
        assert float(rect["x"]) == pytest.approx(LABEL + start / total * plot, abs=0.06)
        assert float(rect["width"]) == pytest.approx((end - start) / total * plot, abs=0.11)
    (line,) = svg.having("line", "expected")
    assert float(line["x1"]) == pytest.approx(LABEL + expected / total * plot, abs=0.06)


def test_tooltips_name_task_requested_seconds_start_and_end(records: dict[str, Record]) -> None:
    record = records["as_completed"]
    svg = parse(timeline_svg(record))
    tips = [t for t in svg.titles if t.startswith("task ")]
    assert len(tips) == 5
    durations = [float(str(d)) for d in record["durations"]]
    for interval in record_intervals(record):
        assert interval.task is not None
        want = (
            f"task {interval.task} ({durations[interval.task]:g} tutorial s): requested "
            f"{interval.seconds:.3f} s, start {interval.start:.3f} s, end {interval.end:.3f} s"
        )
        assert any(t.startswith(want) for t in tips), (want, tips)
    assert any(t.startswith("expected makespan") for t in svg.titles)


def test_sleeps_without_a_task_index_are_named_by_their_place_in_start_order(
    records: dict[str, Record],
) -> None:
    # A graded exercise's intervals carry pid, start, end and seconds only (schema 1).
    record = dict(records["process_loop"])
    raw = record["intervals"]
    assert isinstance(raw, list)
    record["intervals"] = [
        {k: v for k, v in item.items() if k in ("pid", "start", "end", "seconds")}
        for item in reversed(raw)
    ]
    tips = [t for t in parse(timeline_svg(record)).titles if " by start" in t]
    starts = sorted(float(str(i["start"])) for i in raw)
    assert len(tips) == len(starts) == 10
    for n, start in enumerate(starts, 1):
        assert any(t.startswith(f"task {n} of 10 by start: requested ") and
                   f"start {start:.3f} s" in t for t in tips), (n, tips)


def test_rows_are_main_then_workers_by_first_start(records: dict[str, Record]) -> None:
    text = timeline_svg(records["process_loop"])
    labels = [f">worker {n}<" for n in range(1, 11)]
    positions = [text.index(label) for label in labels]
    assert positions == sorted(positions)
    assert ">main<" in timeline_svg(records["serial"])


def test_labels_from_untrusted_code_are_escaped() -> None:
    record: Record = {
        "pattern": "probe",
        "wall": 0.2,
        "expected_wall": None,
        "main_pid": 10,
        "intervals": [{"task": None, "seconds": 0.1, "pid": 10, "start": 0.0, "end": 0.1,
                       "label": "'<script>x()</script>'"}],
    }
    svg = timeline_svg(record)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg


def test_no_intervals_and_broken_intervals() -> None:
    assert "No intervals" in timeline_svg({"intervals": []})
    assert "No intervals" in timeline_svg({})
    broken: Record = {"intervals": [{"pid": "x"}, 7, {"pid": 1, "start": 0, "end": 1,
                                                    "seconds": 1}]}
    assert len(parse(timeline_svg(broken)).having("rect", "interval")) == 1


def test_rows_have_the_names_of_the_text_picture() -> None:
    # A graded script's record has no main pid: every process is a worker, in both pictures.
    record: Record = {"wall": 0.3, "intervals": [
        {"pid": 7, "start": 0.0, "end": 0.1, "seconds": 0.1},
        {"pid": 8, "start": 0.1, "end": 0.2, "seconds": 0.1},
    ]}
    text = timeline_svg(record)
    names = [line.split(" [")[0] for line in record_picture(record).splitlines()[:2]]
    assert names == ["worker 1", "worker 2"]
    assert all(f">{name}<" in text for name in names)


def test_tiny_and_huge_spans_still_draw(tmp_path: Path) -> None:
    for scale in (1e-6, 1e4):
        record: Record = {"wall": 2 * scale, "expected_wall": scale, "intervals": [
            {"pid": 1, "task": 0, "start": 0.0, "end": scale, "seconds": scale}]}
        svg = parse(timeline_svg(record))
        assert len(svg.having("rect", "interval")) == 1
        assert len(svg.having("line", "tick")) >= 3
