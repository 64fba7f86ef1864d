"""How a verdict reads: what was expected, what was observed, and the picture.

Functions on the way to a failure set ``__tracebackhide__``, which pytest honours, so a failed
assertion points at the user's line rather than at this package.
"""

from __future__ import annotations

from .i18n import _
from .judge import Kind, Verdict
from .records import CheckRecord

__all__ = ["SleepbenchAssertion", "SleepbenchInconclusive", "message", "observed_label",
           "raise_for", "settle"]


class _Explained:
    title: str
    expected: str
    observed: str
    picture: str

    def _explain(self, title: str, expected: str, observed: str, picture: str) -> str:
        self.title, self.expected, self.observed, self.picture = (
            title, expected, observed, picture)
        return message(title, expected, observed, picture)


class SleepbenchAssertion(_Explained, AssertionError):
    """A timing or concurrency check failed; ``str()`` is the whole explanation."""

    def __init__(self, title: str, expected: str, observed: str, picture: str) -> None:
        super().__init__(self._explain(title, expected, observed, picture))


class SleepbenchInconclusive(_Explained, Exception):
    """The machine could not show the claimed property at the unit given, even scaled up:
    neither a pass nor a failure of the code, so deliberately not an ``AssertionError``."""

    def __init__(self, title: str, expected: str, observed: str, picture: str) -> None:
        super().__init__(self._explain(title, expected, observed, picture))


def message(title: str, expected: str, observed: str, picture: str) -> str:
    said = _("expected:")
    return f"{title}\n  {said} {expected}\n  {observed_label()} {observed}\n\n{picture}"


def observed_label() -> str:
    """How a message introduces what was observed, in the reader's language."""
    return _("observed:")


def raise_for(verdict: Verdict, picture: str, *, prefix: str = "sleepbench: ",
              context: str = "") -> None:
    """Raise what ``verdict`` calls for: nothing for a pass or a skip, an assertion for a
    failure or a late wall, :class:`SleepbenchInconclusive` for what the machine could not
    show. ``context`` follows the observation (the run's description)."""
    __tracebackhide__ = True
    if verdict.kind in (Kind.PASS, Kind.SKIP):
        return
    observed = verdict.observed + (f"\n  {context}" if context else "")
    kind = SleepbenchInconclusive if verdict.kind is Kind.UNSHOWN else SleepbenchAssertion
    raise kind(f"{prefix}{verdict.title}", verdict.expected, observed, picture)


def settle(checks: list[CheckRecord], verdict: Verdict, picture: str, *,
           context: str = "") -> None:
    """Record ``verdict`` in ``checks`` with the explanation a failure would carry, then raise
    what it calls for: the one way runs and timelines keep their verdicts."""
    __tracebackhide__ = True
    observed = verdict.observed + (f"\n  {context}" if context else "")
    text = "" if verdict.kind is Kind.PASS else message(
        f"sleepbench: {verdict.title}", verdict.expected, observed, picture)
    checks.append({"name": verdict.check, "status": verdict.status, "message": text})
    raise_for(verdict, picture, context=context)
