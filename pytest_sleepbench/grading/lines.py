"""Where in an assignment file a key sits, since ``tomllib`` keeps no positions for values,
and ``tomllib``'s syntax errors told at their line with a fix, so every mistake in the file is
reported as ``file:line: what; fix``."""

from __future__ import annotations

import re

__all__ = ["Lines", "syntax"]

#: Fixes for the syntax errors of hand-written assignments, by how tomllib's message starts.
_SYNTAX_FIXES = (
    ("Invalid value (at the end", "finish the last setting or list"),
    ("Invalid value", "strings need quotes, e.g. `pattern = \"map\"`"),
    ("Cannot overwrite", "a key may appear once per table; begin each exercise with its own "
                         "[[exercise]] line, in double brackets"),
    ("Cannot declare", "begin each exercise with its own [[exercise]] line, in double brackets"),
    ("Expected '='", "write each setting as `key = value`"),
    ("Expected ']]'", "close the header as [[exercise]]"),
    ("Unterminated string", "close the string with the quote that opened it"),
    ("Unclosed array", "close the list with `]`"),
)


def _key(key: str) -> str:
    """A regular expression for ``key`` written bare or quoted, as TOML allows."""
    bare = re.escape(key)
    return rf"""(?:{bare}|"{bare}"|'{bare}')"""


class Lines:
    """Finds the line a key sits on, since ``tomllib`` keeps no positions for values."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        header = re.compile(rf"^\s*\[\[\s*{_key('exercise')}\s*\]\]")
        self.headers = [n for n, line in enumerate(self.lines, 1) if header.match(line)]

    def of(self, key: str, table: int | None = None) -> int:
        if table is None and "." in key:
            return self.within(*key.split(".", 1))
        first, last = 1, (self.headers[0] - 1 if self.headers else len(self.lines))
        if table is not None:
            first = self.headers[table] if table < len(self.headers) else 1
            last = self.headers[table + 1] - 1 if table + 1 < len(self.headers) else len(
                self.lines)
        pattern = re.compile(rf"^\s*{_key(key)}\s*=")
        sub = re.compile(rf"^\s*\[\s*{_key('exercise')}\s*\.\s*{_key(key)}\s*\]")
        for n in range(first, last + 1):
            if pattern.match(self.lines[n - 1]) or (table is not None
                                                    and sub.match(self.lines[n - 1])):
                return n
        if table is None:
            # A top-level key written as a table (``[exercise]``) has its header anywhere.
            return self.table(key) or first
        return first

    def within(self, name: str, key: str) -> int:
        """The line of ``key`` in the top-level table ``name`` (``[weights]``, or dotted as
        ``weights.key = ...``), else of the table's header."""
        dotted = re.compile(rf"^\s*{_key(name)}\s*\.\s*{_key(key)}\s*=")
        found = next((n for n, line in enumerate(self.lines, 1) if dotted.match(line)), None)
        header = self.table(name)
        if found is None and header is not None:
            pattern = re.compile(rf"^\s*{_key(key)}\s*=")
            for n in range(header + 1, len(self.lines) + 1):
                if self.lines[n - 1].lstrip().startswith("["):
                    break
                if pattern.match(self.lines[n - 1]):
                    return n
        return found or header or self.of(name)

    def table(self, key: str) -> int | None:
        """The line of a ``[key]`` header, one table where a list of them may be meant."""
        pattern = re.compile(rf"^\s*\[\s*{_key(key)}\s*\]")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.match(line)), None)


def syntax(message: str, text: str, name: str) -> str:
    """``tomllib``'s message with its line moved into the ``file:line:`` prefix, and a fix."""
    at = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if at:
        line, reason = int(at[1]), f"{message[: at.start()]} (column {at[2]})"
    else:
        # Reported "at end of document": an unclosed string or list, or a repeated last key.
        line = len(text.splitlines()) or 1
        reason = re.sub(r"\s*\(at end of document\)$", "", message) + " (at the end of the file)"
    fix = next((f for start, f in _SYNTAX_FIXES if reason.startswith(start)),
               "see https://toml.io for the syntax")
    return f"{name}:{line}: not valid TOML: {reason}; {fix}"
