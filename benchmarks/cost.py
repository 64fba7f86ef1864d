"""Pattern cost: each pattern's wall time over the ideal list schedule, per start method.

The ideal is ``Run.expected_wall``: the makespan over the workers the run really had, so the
ratio is what the machinery (process starts, pools, result passing) adds to pure sleeping.
"""

from __future__ import annotations

from pytest_sleepbench.core.bench import Bench
from pytest_sleepbench.core.lesson import PATTERNS

from .table import Row, verdict

__all__ = ["measure"]

TARGET = 1.2


def measure(unit: float, repeat: int, methods: tuple[str, ...]) -> list[Row]:
    rows: list[Row] = []
    for method in methods:
        walls = dict.fromkeys(PATTERNS, 0.0)
        ideals = dict.fromkeys(PATTERNS, 0.0)
        with Bench(unit=unit, start_method=method) as bench:
            for _ in range(repeat):
                for pattern in PATTERNS:
                    run = bench.run(pattern)
                    walls[pattern] += run.wall
                    ideals[pattern] += run.expected_wall
        for pattern in PATTERNS:
            rows.append(Row("pattern cost", f"{method}: {pattern}",
                            f"{walls[pattern] / ideals[pattern]:.2f}x ideal",
                            data={"wall": walls[pattern], "ideal": ideals[pattern]}))
        ratio = sum(walls.values()) / sum(ideals.values())
        target = default = ""
        if method == "fork" and unit == 0.05:
            target, default = f"<= {TARGET:.1f}x", verdict(ratio <= TARGET)
        rows.append(Row("pattern cost", f"{method}: six together, unit {unit * 1000:g} ms",
                        f"{ratio:.2f}x ideal", target, default,
                        data={"wall": sum(walls.values()), "ideal": sum(ideals.values()),
                              "ratio": ratio, "repeat": repeat, "unit": unit}))
    return rows
