"""``python -m pytest_sleepbench``: see :mod:`pytest_sleepbench.cli`."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
