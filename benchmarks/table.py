"""The one table the benchmark prints, and its JSON form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Row", "Table"]


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    target: str = ""
    met: str = ""
    """``yes``, ``no``, or empty where the row has no target of its own."""
    data: dict[str, object] = field(default_factory=dict, compare=False)
    """The numbers behind ``value``, for the JSON form."""


def verdict(ok: bool) -> str:
    return "yes" if ok else "no"


@dataclass
class Table:
    title: str
    machine: dict[str, object]
    rows: list[Row] = field(default_factory=list)

    def add(self, rows: Sequence[Row]) -> None:
        self.rows.extend(rows)

    def render(self) -> str:
        heads = ("section", "measure", "value", "target", "met")
        cells = [heads, *((r.section, r.measure, r.value, r.target, r.met) for r in self.rows)]
        widths = [max(len(c[k]) for c in cells) for k in range(len(heads))]
        lines = [self.title, ""]
        for k, cell in enumerate(cells):
            lines.append("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {"title": self.title, "machine": self.machine,
                "rows": [asdict(r) for r in self.rows]}

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
