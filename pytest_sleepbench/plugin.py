"""The pytest plugin ``sleepbench``: loaded by its entry point, or with ``-p sleepbench``.

It only wires the parts together; each part owns its options and hooks. Every pytest session
in an environment with the package installed loads this module, so grading, reports and the
core are imported only by sessions that ask for them.
"""

from __future__ import annotations

import pytest

from ._plugin import markers, options, settings
from ._plugin.fixtures import sleepbench, sleepbench_run
from ._plugin.keys import LANGUAGE_KEY
from ._plugin.session import SessionPlugin

# Bound at load, before any test or conftest can patch ``time``: the core's clock takes
# ``time.perf_counter`` as it is when first imported (two standard modules, nothing more).
from .core import clock as _clock  # noqa: F401

__all__ = ["sleepbench", "sleepbench_run"]


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before any conftest runs: a grading run refuses one that someone else could have put.
    if getattr(early_config.known_args_namespace, "sleepbench_grade", None):
        from ._plugin import grading

        grading.refuse_unsafe_files(early_config, early_config.inipath, [])


def pytest_configure(config: pytest.Config) -> None:
    for line in markers.LINES:
        config.addinivalue_line("markers", line)
    chosen = settings.resolve(config)  # a bad ini value stops the run here, not in the first test
    # Every process of the session (each xdist worker configures itself from the same options)
    # tells what it finds in the chosen language; a grading run's assignment may choose again.
    from .core import i18n

    config.stash[LANGUAGE_KEY] = i18n.use(chosen.lang)
    config.pluginmanager.register(SessionPlugin(config), "sleepbench-session")
    if options.grade_folder(config) is not None:
        from ._plugin import grading

        grading.configure(config)
    # Workers send their runs to the controller; only the controller draws and writes.
    if not hasattr(config, "workerinput") and (
            options.html_path(config) is not None or options.timeline_wanted(config)):
        from ._plugin import html

        html.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    before = config.stash.get(LANGUAGE_KEY, None)
    if before is not None:
        from .core import i18n

        i18n.use(before)
