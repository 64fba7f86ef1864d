"""The fixtures ``sleepbench`` and ``sleepbench_run``.

The core is imported when a test first asks for one, not when the plugin loads.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from . import markers
from .keys import PROBE_LIMIT_KEY
from .settings import marked, resolve, xdist_workers

if TYPE_CHECKING:
    from ..core.bench import Bench
    from ..core.run import Run

__all__ = ["sleepbench", "sleepbench_run"]


@pytest.fixture
def sleepbench(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[Bench, None, None]:
    """Run patterns, make probes and read their timeline; see the README."""
    from ..core.bench import Bench

    settings = resolve(request.config)
    # Under pytest's base temporary folder, so a session killed before teardown (a timeout's
    # thread method exits at once) leaves its sinks where pytest's own rotation removes them.
    with Bench(unit=settings.unit, start_method=settings.start_method,
               tolerance=settings.tolerance, xdist_workers=xdist_workers(),
               root=tmp_path_factory.getbasetemp()) as bench:
        bench.stop_probes_at(request.node.stash.get(PROBE_LIMIT_KEY, None))
        yield bench


@pytest.fixture
def sleepbench_run(request: pytest.FixtureRequest, sleepbench: Bench) -> Run:
    """The run of the pattern named by the test's ``@pytest.mark.sleepbench``."""
    marker = request.node.get_closest_marker("sleepbench")
    if marker is None:
        raise pytest.UsageError(
            "the sleepbench_run fixture needs @pytest.mark.sleepbench(pattern) on the test"
        )
    mark = markers.or_fail(markers.pattern_marker, marker)
    settings = marked(resolve(request.config), mark.unit, mark.start_method)
    return sleepbench.run(mark.pattern, mark.durations, workers=mark.workers,
                          start_method=settings.start_method, unit=settings.unit)

