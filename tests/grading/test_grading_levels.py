"""Grading below the strongest isolation: where namespaces are refused, a run still gets a
user id of its own, its leftovers are found and ended, and its records are corroborated the
same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_support import EXAMPLES, ROOT, run_processes, submission
from hostile_scripts import FORGED_MAP

from pytest_sleepbench.grading import isolation
from pytest_sleepbench.grading.sandbox import Limits, run_script

pytestmark = pytest.mark.skipif(not ROOT, reason="a user id per run needs root")


@pytest.fixture(autouse=True)
def without_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a machine whose kernel or container refuses namespaces.
    monkeypatch.setattr(isolation, "level", lambda: "uid")


def test_an_honest_run_is_believed(tmp_path: Path) -> None:
    outcome = run_script(EXAMPLES / "reference", "ex3_2_as_completed.py", unit=0.02,
                         limits=Limits(wall=20))
    assert (outcome.sandbox, outcome.returncode, outcome.forged) == ("uid", 0, ())
    assert len(outcome.recording.intervals) == 5
    assert outcome.main_pid not in {i.pid for i in outcome.recording.intervals}
    assert not run_processes()


def test_forged_records_are_caught_without_namespaces(tmp_path: Path) -> None:
    folder = submission(tmp_path / "forger", {"ex3_3_map.py": FORGED_MAP})
    outcome = run_script(folder, "ex3_3_map.py", unit=0.02, limits=Limits(wall=20))
    assert outcome.forged


def test_leftovers_are_found_and_ended_by_user_id(tmp_path: Path) -> None:
    folder = submission(tmp_path / "orphans", {"orphans.py": """\
        import os, subprocess, sys, threading
        subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait(60)"],
                         start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            threading.Event().wait(60)
            os._exit(0)
    """})
    outcome = run_script(folder, "orphans.py", unit=0.02, limits=Limits(wall=20))
    assert outcome.returncode == 0
    assert len(outcome.leftovers) == 2, outcome.leftovers
    assert not run_processes()
