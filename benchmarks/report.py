"""Rows for the discrimination floor, from the counts of each condition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_sleepbench.core.lesson import DEFAULT_UNIT

from .floor import Measured
from .table import Row, verdict

__all__ = ["DEFAULT_UNIT", "floor_rows"]



def floor_rows(units: Sequence[float], by_condition: Mapping[str, Measured]) -> list[Row]:
    rows: list[Row] = []
    clean: list[float] = []
    for unit in units:
        key = f"{unit * 1000:g}"
        none_here = True
        for condition, measured in by_condition.items():
            tallies = measured.counts[key]
            correct = sum(t.correct for t in tallies.values())
            failed = sum(t.correct_failed for t in tallies.values())
            mutants = sum(t.mutants for t in tallies.values())
            passed = sum(t.mutants_passed for t in tallies.values())
            unshown = sum(t.inconclusive for t in tallies.values())
            false = failed + passed
            none_here = none_here and false == 0
            where = ", ".join(f"{p} {t.false}" for p, t in tallies.items() if t.false)
            value = (f"{false} false of {correct + mutants} (correct failed {failed}/{correct},"
                     f" mutants passed {passed}/{mutants}, inconclusive {unshown})"
                     + (f": {where}" if where else ""))
            target = met = ""
            if unit == DEFAULT_UNIT:
                target, met = "0 false", verdict(false == 0)
            rows.append(Row("false verdicts", f"unit {key} ms, {condition}", value, target, met,
                            data={"unit": unit, "condition": condition, "correct": correct,
                                  "calibrations": measured.calibrations,
                                  "correct_failed": failed, "mutants": mutants,
                                  "mutants_passed": passed, "inconclusive": unshown,
                                  "patterns": {p: {"correct_failed": t.correct_failed,
                                                   "mutants_passed": t.mutants_passed,
                                                   "examples": t.examples}
                                               for p, t in tallies.items()}}))
        if none_here:
            clean.append(unit)
    for condition, measured in by_condition.items():
        # Verdicts depend on the calibration each process judged with; show what it was.
        rows.append(Row("false verdicts", f"calibration, {condition}",
                        "; ".join(measured.calibrations),
                        data={"condition_calibrated": condition,
                              "calibrations": measured.calibrations}))
    # The floor is the smallest unit from which every larger one measured is clean too.
    floor = None
    for unit in sorted(units, reverse=True):
        if unit not in clean:
            break
        floor = unit
    found = "none measured" if floor is None else f"{floor * 1000:g} ms"
    if floor is not None and floor == min(units):
        found += " (the smallest measured)"
    rows.append(Row("false verdicts", "smallest unit with none, in every condition", found,
                    data={"unit": floor, "clean_units": clean}))
    return rows
