"""Discrimination floor: how often a correct run fails ``check()`` or a serial mutant passes it.

Run as ``python -m benchmarks.floor --units 0.005,0.05 --repeat 10 --json OUT`` it measures in
a process of its own, so a condition (busy loops on the cores) is in place from calibration on,
as it is for a test session on a loaded machine. Under pytest-xdist the same :func:`tally` runs
inside tests, with the ``sleepbench`` fixture's bench.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.calibrate import measured
from pytest_sleepbench.core.lesson import PATTERNS
from pytest_sleepbench.core.run import Run
from pytest_sleepbench.core.sink import Sink
from pytest_sleepbench.core.verdict import SleepbenchInconclusive

from .mutants import run_mutant

__all__ = ["Measured", "Tally", "merge", "tally"]

# Enough false-verdict explanations to reproduce them from the report, few enough to read.
_EXAMPLES = 3


@dataclass
class Tally:
    """Counts for one unit and one pattern."""

    correct: int = 0
    correct_failed: int = 0
    mutants: int = 0
    mutants_passed: int = 0
    inconclusive: int = 0
    """Runs, correct or mutant, whose claims the machine could not show: neither verdict."""
    examples: list[str] = field(default_factory=list)

    @property
    def false(self) -> int:
        return self.correct_failed + self.mutants_passed

    def note(self, text: str) -> None:
        if len(self.examples) < _EXAMPLES:
            self.examples.append(text)


Counts = dict[str, dict[str, Tally]]
"""unit (as text, in ms) -> pattern -> tally."""


@dataclass
class Measured:
    """The counts of one condition, and the calibration each measuring process had."""

    counts: Counts
    calibrations: list[str]
    """One ``Calibration.describe()`` per process that counted (per xdist worker)."""


_UNSHOWN = "inconclusive: "


def _verdict(run: Run) -> str | None:
    """None when ``check()`` passes, else the first line of its explanation and the run
    (behind ``inconclusive: `` when the machine could not show a claim)."""
    try:
        run.check()
    except AssertionError as error:
        return f"{str(error).splitlines()[0]} | {run.describe()}"
    except SleepbenchInconclusive as error:
        return f"{_UNSHOWN}{str(error).splitlines()[0]} | {run.describe()}"
    return None


def tally(bench: Bench, units: Sequence[float], repeat: int) -> Counts:
    """Run every pattern and its mutant ``repeat`` times at each unit, interleaved."""
    counts: Counts = {_key(u): {p: Tally() for p in PATTERNS} for u in units}
    with tempfile.TemporaryDirectory(prefix="sleepbench-mutants-") as folder:
        sink = Sink.create(Path(folder) / "mutant.jsonl")
        for _ in range(repeat):
            for unit in units:
                for pattern in PATTERNS:
                    t = counts[_key(unit)][pattern]
                    run = bench.run(pattern, unit=unit)
                    # The bench keeps runs for the plugin's report; these are counted here.
                    bench.runs.clear()
                    failed = _verdict(run)
                    t.correct += 1
                    if failed is not None and failed.startswith(_UNSHOWN):
                        t.inconclusive += 1
                        t.note(f"correct run {failed}")
                    elif failed is not None:
                        t.correct_failed += 1
                        t.note(f"correct run failed: {failed}")
                    mutant = run_mutant(pattern, sink, unit=unit,
                                        start_method=bench.start_method,
                                        xdist_workers=bench.xdist_workers)
                    t.mutants += 1
                    judged = _verdict(mutant)
                    if judged is None:
                        t.mutants_passed += 1
                        t.note(f"mutant passed: {mutant.describe()}")
                    elif judged.startswith(_UNSHOWN):
                        t.inconclusive += 1
                        t.note(f"mutant {judged}")
    return counts


def _key(unit: float) -> str:
    return f"{unit * 1000:g}"


def to_json(counts: Counts, bench: Bench) -> dict[str, object]:
    # The calibration is the one every run of this process was judged with (it is cached).
    return {"calibration": measured(bench.start_method).describe(),
            "counts": {u: {p: asdict(t) for p, t in by.items()} for u, by in counts.items()}}


def from_json(doc: dict[str, Any]) -> Measured:
    data: dict[str, dict[str, dict[str, object]]] = doc["counts"]
    out: Counts = {}
    for u, by in data.items():
        out[u] = {}
        for p, t in by.items():
            examples = t.get("examples")
            out[u][p] = Tally(
                correct=_int(t["correct"]),
                correct_failed=_int(t["correct_failed"]),
                mutants=_int(t["mutants"]),
                mutants_passed=_int(t["mutants_passed"]),
                inconclusive=_int(t.get("inconclusive", 0)),
                examples=[str(e) for e in examples] if isinstance(examples, list) else [],
            )
    return Measured(out, [str(doc["calibration"])])


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise ValueError(f"expected a count, got {value!r}")
    return value


def merge(parts: Sequence[Measured]) -> Measured:
    out: Counts = {}
    for part in parts:
        for u, by in part.counts.items():
            for p, t in by.items():
                m = out.setdefault(u, {}).setdefault(p, Tally())
                m.correct += t.correct
                m.correct_failed += t.correct_failed
                m.mutants += t.mutants
                m.mutants_passed += t.mutants_passed
                m.inconclusive += t.inconclusive
                for e in t.examples:
                    m.note(e)
    return Measured(out, [c for part in parts for c in part.calibrations])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--start-method", default=None)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    units = [float(u) for u in str(args.units).split(",")]
    with Bench(start_method=args.start_method) as bench:
        counts = tally(bench, units, int(args.repeat))
        Path(args.json).write_text(json.dumps(to_json(counts, bench)))


if __name__ == "__main__":
    main()
