"""Numbers read from an assignment file, each mistake a usage error that names its line.

Shared by the assignment reader and the grading policy (weights, sleeps, workers), so both
say a bad value the same way: ``bad(why, key, table, fix)`` builds the error at the key's line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

__all__ = ["Bad", "finite", "number", "show"]


class Bad(Protocol):
    """Builds the usage error for ``key`` (in exercise ``table``, or at the top level)."""

    def __call__(
        self, why: str, key: str, table: int | None = None, fix: str = ""
    ) -> Exception: ...


def finite(value: object) -> float | None:
    """The value as a finite float, else ``None``: TOML reads ``nan``, ``inf`` and integers
    past any float, and a bool, though an int to Python, is no number here."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def show(number: float) -> str:
    return str(int(number)) if number == int(number) else f"{number:g}"


def number(
    table: Mapping[str, object], key: str, bad: Bad, index: int | None = None, *,
    required: bool = False, default: float = 0.0, whole: bool = False,
    least: float | None = None, most: float | None = None, why: str = "",
) -> float:
    """The finite number at ``key``: above 0, or at least ``least``; at most ``most``."""
    value = table.get(key)
    if value is None:
        if required:
            raise bad(f"missing key {key!r}", key, index, fix=f"add `{key} = <number>`")
        return default
    found = finite(value)
    if (found is None or (whole and not isinstance(value, int))
            or (found <= 0 if least is None else found < least)
            or (most is not None and found > most)):
        kind = "whole number" if whole else "number"
        if least is None:
            rule = f"a positive {kind}" + (f" of at most {show(most)}" if most else "")
        elif most is None:
            rule = f"a {kind} of at least {show(least)}"
        else:
            rule = f"a {kind} from {show(least)} to {show(most)}"
        raise bad(f"{key} must be {rule}, got {value!r}", key, index, fix=why)
    return found
