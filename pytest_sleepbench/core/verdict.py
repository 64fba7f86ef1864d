"""How a failed check reads: what was expected, what was observed, and the picture.

Functions on the way to a failure set ``__tracebackhide__``, which pytest honours, so a failed
assertion points at the user's line rather than at this package.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

__all__ = ["LateWall", "SleepbenchAssertion", "fail", "message", "recorded"]


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


def fail(
    title: str, expected: str, observed: str, picture: str,
    kind: type[SleepbenchAssertion] = SleepbenchAssertion,
) -> NoReturn:
    __tracebackhide__ = True
    raise kind(title, expected, observed, picture)


_Method = TypeVar("_Method", bound=Callable[..., None])


class LateWall(SleepbenchAssertion):
    """Only the upper time bound failed, which a moment of load can cause."""


def recorded(name: str) -> Callable[[_Method], _Method]:
    """Keep each assertion's verdict on the object, under one of the brief's check names.

    The noise policy lives here too: when an assertion fails only because the wall was late and
    the object can measure again (``remeasure()``, which adopts the new measurement and replays
    the assertions made so far), the assertion is judged once more on the new measurement.
    """

    def wrap(method: _Method) -> _Method:
        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> None:
            __tracebackhide__ = True
            try:
                method(self, *args, **kwargs)
            except LateWall as late:
                remeasure = getattr(self, "remeasure", None)
                # A check that remeasure() replays and that fails there records its own
                # verdict and propagates from here unrecorded: this one was not judged again.
                if remeasure is None or not remeasure():
                    _failed(self, name, late)
                    raise
                try:
                    method(self, *args, **kwargs)
                except AssertionError as error:
                    _failed(self, name, error)
                    raise
            except AssertionError as error:
                _failed(self, name, error)
                raise
            self.checks.append({"name": name, "status": "pass", "message": ""})
            asked = getattr(self, "asked", None)
            if asked is not None:
                asked.append((checked, args, kwargs))

        return checked  # type: ignore[return-value]

    return wrap


def _failed(checked: Any, name: str, error: AssertionError) -> None:
    checked.checks.append({"name": name, "status": "fail", "message": str(error)})
