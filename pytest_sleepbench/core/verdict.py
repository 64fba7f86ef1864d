"""How a failed check reads: what was expected, what was observed, and the picture."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["SleepbenchAssertion", "fail", "message"]


class SleepbenchAssertion(AssertionError):
    """A timing or concurrency check failed; ``str()`` is the whole explanation."""

    def __init__(self, title: str, expected: str, observed: str, picture: str) -> None:
        self.title = title
        self.expected = expected
        self.observed = observed
        self.picture = picture
        super().__init__(message(title, expected, observed, picture))


def message(title: str, expected: str, observed: str, picture: str) -> str:
    return f"{title}\n  expected: {expected}\n  observed: {observed}\n\n{picture}"


def fail(title: str, expected: str, observed: str, picture: str) -> NoReturn:
    raise SleepbenchAssertion(title, expected, observed, picture)
