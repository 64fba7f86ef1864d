"""The two markers: their arguments are checked before the test runs, and the wall marker's one
repeat stands on its own, through real pytest runs."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # The inner runs are sessions of their own, not one of the outer xdist workers.
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)


def test_a_bad_wall_marker_stops_each_test_before_its_body_runs(
    pytester: pytest.Pytester,
) -> None:
    # Two tests: the first is the one whose setup hooks the call checks in.
    pytester.makepyfile("""
        import pathlib, time, pytest

        @pytest.mark.sleepbench_wall(at_most=-1)
        def test_first():
            pathlib.Path("first-ran").touch()
            time.sleep(0.5)

        @pytest.mark.sleepbench_wall(serial=[0.1], workers=2)
        def test_second():
            pathlib.Path("second-ran").touch()
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    assert not (pytester.path / "first-ran").exists()
    assert not (pytester.path / "second-ran").exists()
    result.stdout.fnmatch_lines([
        "*@pytest.mark.sleepbench_wall: at_most must be a positive*number*, got -1",
        "*@pytest.mark.sleepbench_wall: workers only goes with parallel=[[]...[]]*",
    ])
