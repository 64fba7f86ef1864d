"""The one error the commands raise for input they refuse."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """Refused input or an output that cannot be written; ``str()`` names the file and the
    fix. The command prints it and exits 1, having written nothing half-way."""
