"""A smoke run of the benchmark in real processes: its table and JSON, never its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_its_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # Under xdist this test's worker exports its identity; the benchmark's own sessions must
    # not inherit it.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout
    for text in ("pattern cost", "six together", "false verdicts", "smallest unit with none",
                 "contract cases", "latency", "grading", "idle cost"):
        assert text in done.stdout, done.stdout

    doc = json.loads(out.read_text())
    assert doc["machine"]["cores"] >= 1
    rows = doc["rows"]
    assert {r["section"] for r in rows} == {"pattern cost", "false verdicts",
                                            "contract cases", "latency", "grading",
                                            "idle cost"}
    measures = [r["measure"] for r in rows]
    for pattern in ("serial", "processes", "process_loop", "submit", "as_completed", "map"):
        assert f"fork: {pattern}" in measures

    counted = [r for r in rows if r["section"] == "false verdicts" and "condition" in r["data"]]
    assert {r["data"]["condition"] for r in counted} == {"alone", "2 busy loops", "pytest -n 2"}
    for row in counted:
        data = row["data"]
        for key in ("correct", "correct_failed", "mutants", "mutants_passed"):
            assert isinstance(data[key], int) and data[key] >= 0, row
        assert data["correct"] == data["mutants"] == 6, row
        assert data["correct_failed"] <= data["correct"]
        assert data["mutants_passed"] <= data["mutants"]

    ratio = next(r for r in rows if r["measure"].startswith("fork: six together"))["data"]
    assert ratio["wall"] > 0 and ratio["ideal"] > 0
    waits = [r["data"] for r in rows if r["section"] == "latency"]
    assert len(waits) == 3 and all(len(w["walls"]) == w["runs"] == 1 for w in waits), waits
    assert all(0 < wall < 60 for w in waits for wall in w["walls"])
    idle = next(r for r in rows if r["section"] == "idle cost")["data"]
    assert len(idle["loaded"]) == len(idle["off"]) >= 1


def test_the_quick_benchmark_counts_contract_cases_in_one_session(tmp_path: Path) -> None:
    from benchmarks import contracts

    outcomes = contracts.measure(1, 0.05)
    # Every case ran: 6 patterns under 3 start methods, and the two probe cases.
    total = sum(outcomes.passed.values()) + sum(outcomes.failed.values()) + sum(
        outcomes.inconclusive.values())
    assert (outcomes.sessions, total) == (1, 20)
    row = contracts.rows(0.05, {"alone": outcomes})[0]
    assert row.value.startswith(f"{outcomes.total('failed')} false of 20 in 1 sessions")
