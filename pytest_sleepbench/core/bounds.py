"""The noise policy: how far a measurement may stray from the model before it counts.

Lower bounds are physical: a sleep never returns early, so a process that ran tasks of 1 and 2
units took at least 3 units, whatever the load. Upper bounds are the model's makespan plus what
this machine was measured to add:

    upper = ideal + share * (2 * overhead + tolerance * (chain + 2))

where ``overhead`` is what the run's machinery costs on this machine: for a pattern run, the
measured wall of the same pattern with every sleep zero long (``calibrate.shape_overhead``);
for a bound on arbitrary code (the ``sleepbench_wall`` marker), the calibrated cost of the
process starts it is declared to make (``startup`` per ``Process``, ``pool`` plus ``startup``
per extra worker for an executor). ``chain`` is the number of tasks on the longest worker's
queue (each adds one wake-up), ``tolerance`` is the allowed jitter of one scheduling event, and
``share`` widens everything when pytest-xdist workers outnumber the machine's cores:
``share = max(1, xdist_workers / cores)``; up to one worker a core, each sleeps on its own, and
what the others cost it is already in the calibration and the overhead each worker measures
under that load. The factor 2 on overhead
covers the spread between one calibration and the run. When only this bound fails, the run is
calibrated afresh and measured once more (see ``Run.remeasure``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .calibrate import Calibration

__all__ = ["Bounds", "auto_tolerance", "share", "wall_bounds"]

# Below this, clock and wake-up noise alone can swap two finishes; above a quarter of a unit,
# tasks one unit apart would no longer be told apart.
_MIN_TOLERANCE = 0.005
_JITTER_FACTOR = 10


@dataclass(frozen=True)
class Bounds:
    lower: float
    ideal: float
    upper: float

    def holds(self, wall: float) -> bool:
        return self.lower <= wall <= self.upper


def auto_tolerance(calibration: Calibration, unit: float) -> float:
    """The default tie window: ten jitters, at least 5 ms, at most a quarter of a unit."""
    return min(max(_MIN_TOLERANCE, _JITTER_FACTOR * calibration.jitter), unit / 4)


def share(xdist_workers: int, cores: int) -> float:
    """How much the margins widen for pytest-xdist workers sharing ``cores``."""
    return max(1.0, xdist_workers / max(cores, 1))


def wall_bounds(
    *,
    lower: float,
    ideal: float,
    calibration: Calibration,
    process_starts: int,
    pool: bool,
    chain: int,
    tolerance: float,
    xdist_workers: int = 1,
    overhead: float | None = None,
) -> Bounds:
    """Bounds on a run's wall time; all arguments in real seconds or counts. A measured
    ``overhead`` replaces the one derived from ``process_starts``."""
    if overhead is None:
        overhead = process_starts * calibration.startup
        if pool:
            overhead = calibration.pool + max(process_starts - 1, 0) * calibration.startup
    widen = share(xdist_workers, calibration.cores)
    upper = ideal + widen * (2 * overhead + tolerance * (chain + 2))
    return Bounds(lower=lower, ideal=ideal, upper=max(upper, lower))
