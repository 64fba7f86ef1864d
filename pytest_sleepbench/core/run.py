"""A run of a pattern and the assertions a user makes about it, with their one retry step."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from . import claims
from .judge import Kind, Verdict
from .measured import Measured
from .verdict import settle

__all__ = ["Run"]


@dataclass(eq=False)
class Run(Measured):
    """What a pattern did, what the model says it should have done, and the claims made on it.

    ``durations`` are in tutorial seconds; one lasts ``unit`` real seconds. ``workers`` is the
    number of processes that really ran tasks, which is what the model is built with.
    """

    again: Callable[[float, bool], Run] | None = field(default=None, repr=False)
    """Runs the same pattern once more at a unit, with a fresh calibration or not."""
    asked: list[Rule] = field(default_factory=list, repr=False)
    """The rules judged so far, to judge again if the run is measured once more."""

    # -- assertions: each settles one rule under one of the check names ---------------------

    def assert_serial(self) -> None:
        """No two tasks overlapped, and the wall time is the sum, within the bounds."""
        __tracebackhide__ = True
        self._claim(claims.serial)
        self.assert_timing()

    def assert_parallel(self) -> None:
        """Tasks ran in several processes, overlapped as the schedule over the workers asked
        for predicts, and the wall time is the makespan.

        When the processes became ready too late to overlap at this unit, the run is measured
        again at a larger one; if no unit within the budget shows it,
        :class:`SleepbenchInconclusive` is raised, never an assertion.
        """
        __tracebackhide__ = True
        if len(self.durations) < 2:
            raise ValueError("assert_parallel needs at least two tasks")
        self._claim(claims.parallel)
        self.assert_timing()

    def assert_overlap(self) -> None:
        """Tasks overlapped as the schedule over the workers the run really had predicts.

        Unlike :meth:`assert_parallel`, a pool whose second worker booted only after the first
        had done all the work passes: with one worker, the model expects no overlap.
        """
        __tracebackhide__ = True
        self._claim(claims.overlap)

    def assert_timing(self) -> None:
        """The wall time lies within the model's bounds (see the noise policy)."""
        __tracebackhide__ = True
        self._claim(claims.timing)

    def assert_complete(self) -> None:
        """Every task ran to its end, once, and every ``Process`` exited cleanly."""
        __tracebackhide__ = True
        self._claim(claims.complete)

    def assert_uses_processes(self) -> None:
        """``serial`` ran every task in the main process; the others none of them."""
        __tracebackhide__ = True
        self._claim(claims.uses_processes)

    def assert_input_order(self) -> None:
        """Results came back in the order the inputs were given (``map``'s promise)."""
        __tracebackhide__ = True
        self._claim(claims.input_order)

    def assert_completion_order(self) -> None:
        """Results came back in the order their tasks finished (``as_completed``'s promise),
        within the tolerance."""
        __tracebackhide__ = True
        self._claim(claims.completion_order)

    def assert_fastest_first(self) -> None:
        """Results came back shortest first, which needs a worker for every task."""
        __tracebackhide__ = True
        self._claim(claims.fastest_first)

    def check(self) -> None:
        """The pattern's own promises, as the checks of the same names: ``runs``,
        ``uses_processes``, ``overlap``, ``order`` for ``map`` (input order) and
        ``as_completed`` (completion order), then ``timing``: what the intervals settle is
        judged before the wall time."""
        __tracebackhide__ = True
        self.assert_complete()
        self.assert_uses_processes()
        self.assert_overlap()
        if self.pattern == "map":
            self.assert_input_order()
        elif self.pattern == "as_completed":
            self.assert_completion_order()
        self.assert_timing()

    # -- the one retry step ------------------------------------------------------------------

    def _claim(self, rule: Rule) -> None:
        """Judge ``rule``; measure again where its verdict allows (a late wall once, with a
        fresh calibration; a property the machine could not show, at a larger unit); record
        the verdict and raise what it calls for."""
        __tracebackhide__ = True
        verdict = rule(self)
        while True:
            if verdict.kind is Kind.LATE and not self.retried_late and self.again:
                self.retried_late = True
                self._measure_again(self.unit, fresh=True)
            elif verdict.kind is Kind.UNSHOWN and (unit := self._larger_unit(verdict)):
                self._measure_again(unit, fresh=False)
            else:
                break
            verdict = rule(self)
        if verdict.kind is Kind.LATE and self.retried_late:
            # Late twice, calibrated afresh in between: the patterns are this package's own
            # code, so only the machine's load can have slowed them; that shows nothing.
            verdict = dataclasses.replace(verdict, kind=Kind.UNSHOWN, title=(
                f"{verdict.title}, twice: the machine was too busy to show the run's timing"))
        self.asked.append(rule)
        self._record(verdict)

    def _record(self, verdict: Verdict) -> None:
        """Record ``verdict`` and raise what it calls for; one the machine could not show
        names the unit that would, whichever claim's measurement it was judged on."""
        __tracebackhide__ = True
        if verdict.kind is Kind.UNSHOWN and verdict.needs_unit:
            verdict = dataclasses.replace(verdict, observed=(
                f"{verdict.observed}; a unit of at least {verdict.needs_unit:.3g}s would show "
                f"it, past this run's budget of {_UNIT_BUDGET:g} times the unit asked for"))
        settle(self.checks, verdict, self.picture(), context=f"run: {self.describe()}")

    def _larger_unit(self, verdict: Verdict) -> float | None:
        """The next unit to try, doubling at least, within the budget; ``None`` past it."""
        if self.again is None or len(self.earlier_units) >= _SCALINGS:
            return None
        base = self.earlier_units[0] if self.earlier_units else self.unit
        unit = self.unit * 2
        while unit < (verdict.needs_unit or 0.0):
            unit *= 2
        return unit if unit <= base * _UNIT_BUDGET else None

    def _measure_again(self, unit: float, *, fresh: bool) -> None:
        """Adopt a new measurement of the same pattern and judge every earlier claim on it, so
        that all recorded verdicts describe one measurement."""
        __tracebackhide__ = True
        assert self.again is not None
        other = self.again(unit, fresh)
        if unit == self.unit:
            self.earlier_walls = (*self.earlier_walls, self.wall)
        else:
            self.earlier_units = (*self.earlier_units, self.unit)
        for name in _MEASURED:
            setattr(self, name, getattr(other, name))
        self.checks.clear()
        for rule in self.asked:
            verdict = rule(self)
            if verdict.kind is Kind.LATE:
                # Judged again only because another claim asked for this measurement: its
                # lateness earned no retry of its own, so it shows nothing either way.
                verdict = dataclasses.replace(verdict, kind=Kind.UNSHOWN, title=(
                    f"{verdict.title} on a measurement made for another claim"))
            self._record(verdict)


Rule = Callable[[Measured], Verdict]

# What a new measurement replaces; the rest (pattern, durations, settings) stays the run's.
_MEASURED = ("unit", "wall", "origin", "intervals", "delivered", "exitcodes",
             "processes_started", "overhead", "calibration", "starts", "tolerance",
             "held_back")
# A property the machine could not show is tried at larger units, up to this many times the
# unit asked for and this many times in all, before it is called inconclusive.
_UNIT_BUDGET = 16.0
_SCALINGS = 3
