"""Measure pytest-sleepbench on this machine and print one table (docs/PERFORMANCE.md).

    python benchmarks/run.py                  # the full table, a few minutes
    python benchmarks/run.py --quick          # a smoke run of a few seconds
    python benchmarks/run.py --json out.json  # also write the table as JSON
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable so ``benchmarks`` is a package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest_sleepbench
from benchmarks import conditions, contracts, cost, idle, latency, throughput
from benchmarks.report import DEFAULT_UNIT, floor_rows
from benchmarks.table import Row, Table
from pytest_sleepbench.core.lesson import START_METHODS

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("cost", "floor", "contracts", "latency", "grading", "idle")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Measure pytest-sleepbench; print one table.")
    p.add_argument("--quick", action="store_true",
                   help="a few-second smoke run: small counts, no grading")
    p.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    p.add_argument("--units", default=None,
                   help="units for the false-verdict count, seconds, comma-separated "
                        "(default 0.005,0.01,0.02,0.05)")
    p.add_argument("--repeat", type=int, default=None,
                   help="repetitions of each pattern and mutant per unit and condition "
                        "(default 20)")
    p.add_argument("--cost-repeat", type=int, default=None,
                   help="runs of each pattern per start method (default 3)")
    p.add_argument("--contract-sessions", default=None,
                   help="pytest -n 2 sessions of contract cases, quiet and under two busy "
                        "loops, as QUIET,HOGGED (default 50,20)")
    p.add_argument("--submissions", type=int, default=40, help="class size to grade")
    p.add_argument("--grading-unit", type=float, default=0.1,
                   help="the assignment's unit when grading, seconds (default 0.1)")
    p.add_argument("--latency-runs", type=int, default=None,
                   help="sessions grading one submission, each way (default 7)")
    p.add_argument("--as-written", type=int, default=1,
                   help="submissions whose scripts are also run as written (real seconds)")
    p.add_argument("--idle-tests", type=int, default=None, help="default 2000")
    p.add_argument("--idle-repeat", type=int, default=None, help="pairs of sessions, default 15")
    p.add_argument("--skip", default="", help=f"sections to leave out: {', '.join(SECTIONS)}")
    return p


def _machine() -> dict[str, object]:
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": _load(),
        "commit": _commit(),
        # Which copy of the package was measured (the checkout, or whatever PYTHONPATH names).
        "package": str(Path(pytest_sleepbench.__file__).resolve().parent),
    }


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return ""


def _section(table: Table, name: str, measure: Callable[[], list[Row]]) -> None:
    """Add a section's rows; a section that breaks becomes a row saying so, not a lost table."""
    try:
        rows = measure()
    except Exception as error:
        last = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        rows = [Row(name, "did not complete", f"error: {last[:160]}", met="no",
                    data={"error": str(error)})]
    table.add(rows)


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def main(argv: Sequence[str] | None = None) -> Table:
    args = _parser().parse_args(argv)
    quick = bool(args.quick)
    units = ([float(u) for u in str(args.units).split(",")] if args.units
             else [0.02] if quick else [0.005, 0.01, 0.02, 0.05])
    repeat = args.repeat or (1 if quick else 20)
    skip = {s.strip() for s in str(args.skip).split(",") if s.strip()}
    machine = _machine()
    table = Table(
        f"pytest-sleepbench benchmarks: {machine['cores']} cores, {machine['memory']}, "
        f"Python {machine['python']}, {machine['date']}, load {machine['load_before']}, "
        f"commit {machine['commit']}",
        machine,
    )
    if "cost" not in skip:
        unit = 0.02 if quick else DEFAULT_UNIT
        methods = ("fork",) if quick else START_METHODS
        cost_repeat = args.cost_repeat or (1 if quick else 3)
        _section(table, "pattern cost", lambda: cost.measure(unit, cost_repeat, methods))
    if "floor" not in skip:
        _section(table, "false verdicts", lambda: floor_rows(
            units, {c: conditions.measure(c, units, repeat) for c in conditions.CONDITIONS}))
    if "contracts" not in skip:
        quiet, hogged = (int(n) for n in str(
            args.contract_sessions or ("1,0" if quick else "50,20")).split(","))

        def contract_rows() -> list[Row]:
            measured = {"pytest -n 2": contracts.measure(quiet, DEFAULT_UNIT)}
            if hogged:
                measured["pytest -n 2, 2 busy loops"] = contracts.measure(
                    hogged, DEFAULT_UNIT, hogs=2)
            return contracts.rows(DEFAULT_UNIT, measured)

        _section(table, "contract cases", contract_rows)
    if "latency" not in skip:
        runs = args.latency_runs or (1 if quick else 7)
        _section(table, "latency",
                 lambda: latency.measure(throughput.REFERENCE, args.grading_unit, runs))
    if "grading" not in skip:
        if quick:
            table.add([Row("grading", "correct submissions, -n auto", "skipped (--quick)")])
        else:
            _section(table, "grading",
                     lambda: throughput.measure(args.submissions, args.as_written,
                                                args.grading_unit))
    if "idle" not in skip:
        tests = args.idle_tests or (200 if quick else 2000)
        idle_repeat = args.idle_repeat or (1 if quick else 15)
        _section(table, "idle cost", lambda: idle.measure(tests, idle_repeat))
    machine["load_after"] = _load()
    print(table.render())
    if args.json is not None:
        table.write_json(args.json)
    return table


if __name__ == "__main__":
    main()
