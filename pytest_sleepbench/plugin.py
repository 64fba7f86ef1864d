"""The pytest plugin ``sleepbench``: loaded by its entry point, or with ``-p sleepbench``.

It only wires the parts together; each part owns its options and hooks.
"""

from __future__ import annotations

import pytest

from ._plugin import grading, html, markers, settings
from ._plugin.session import SessionPlugin, sleepbench, sleepbench_run

__all__ = ["sleepbench", "sleepbench_run"]


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)
    grading.add_options(parser)
    html.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in markers.LINES:
        config.addinivalue_line("markers", line)
    settings.resolve(config)  # a bad ini value stops the run here, not in the first test
    config.pluginmanager.register(SessionPlugin(config), "sleepbench-session")
    grading.configure(config)
    if config.pluginmanager.hasplugin("xdist"):
        # Its hooks exist only when xdist is installed, so registering it otherwise would fail.
        from ._plugin.xdist import XdistGrading

        config.pluginmanager.register(XdistGrading(config), "sleepbench-xdist")
    html.configure(config)
