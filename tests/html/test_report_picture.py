"""The text timeline of a record fits the width it is given and marks the expected makespan."""

from __future__ import annotations

import pytest
from report_data import Record, real_record

from pytest_sleepbench.report.records import record_intervals, record_picture, with_model


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Record]:
    tmp = tmp_path_factory.mktemp("runs")
    return {p: real_record(p, tmp) for p in ("serial", "process_loop", "map")}


@pytest.mark.parametrize("width", [30, 40, 60, 80, 120, 200])
@pytest.mark.parametrize("pattern", ["serial", "process_loop", "map"])
def test_every_line_fits_the_width(records: dict[str, Record], pattern: str, width: int) -> None:
    lines = record_picture(records[pattern], width=width).splitlines()
    assert lines
    assert max(len(line) for line in lines) <= width, "\n".join(lines)


def test_rows_are_labelled_by_process(records: dict[str, Record]) -> None:
    lines = record_picture(records["process_loop"], width=100).splitlines()
    assert [line.split(" [")[0] for line in lines[:10]] == [f"worker {n}" for n in range(1, 11)]
    assert record_picture(records["serial"], width=100).startswith("main [")


def test_expected_makespan_is_marked_in_its_column(records: dict[str, Record]) -> None:
    record = records["map"]
    lines = record_picture(record, width=100).splitlines()
    axis = next(line for line in lines if "+--" in line)
    column = axis.index("^")
    bars = [line for line in lines if "|" in line]
    # A row per process that ran a task: as many as the pool's workers took tasks, which
    # depends on the machine's cores and on how soon each worker was ready.
    assert len(bars) == len({i.pid for i in record_intervals(record)}) >= 1
    # The marker is drawn before the bars, so each row shows it where no bar covers it.
    for bar in bars:
        assert bar[column] in ":=]0123456789"
    assert f"expected makespan {float(str(record['expected_wall'])):.3f}s" in lines[-1]
    scale_start = axis.index("+")
    wall = float(str(record["wall"]))
    expected = float(str(record["expected_wall"]))
    columns = len(axis) - scale_start
    assert column - scale_start == round(expected / max(wall, expected) * (columns - 1))


@pytest.mark.parametrize("width", [30, 40, 60, 80])
def test_scale_labels_never_run_together(records: dict[str, Record], width: int) -> None:
    lines = record_picture(records["map"], width=width).splitlines()
    scale = next(line for line in reversed(lines) if "ms" in line and "makespan" not in line)
    labels = scale.split()
    # Each label is a whole number of milliseconds, separated from the next by a space.
    assert all(label.endswith("ms") and label[:-2].isdigit() for label in labels), scale
    assert labels[0] == "0ms" and len(labels) >= 2


def test_a_graded_model_takes_what_the_script_slept_where_the_exercise_lets_it() -> None:
    # Ten processes of 1.5 s at 20 ms a unit: under "any" the model is their longest, not 1.
    intervals = [{"pid": 10 + k, "start": 0.001 * k, "end": 0.03 + 0.001 * k, "seconds": 0.03}
                 for k in range(10)]
    exercise: Record = {"id": "ex2_1", "pattern": "process_loop", "workers": 10,
                        "intervals": intervals}
    spec = {"id": "ex2_1", "durations": [1.0] * 10, "sleeps": "any"}
    modelled = with_model(exercise, {"unit": 0.02, "exercises": [spec]})
    assert modelled["expected_wall"] == pytest.approx(0.03)
    assert modelled["durations"] == [1.5] * 10
    exact = with_model(exercise, {"unit": 0.02, "exercises": [{**spec, "sleeps": "exact"}]})
    assert exact["expected_wall"] == pytest.approx(0.02)
