"""The sweep acts on what graders recorded, never on a name found in a shared folder."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from grading_support import ROOT, submission

from pytest_sleepbench.grading import runs
from pytest_sleepbench.grading.sandbox import Limits, run_script, sweep

pytestmark = pytest.mark.skipif(not ROOT, reason="strangers run as other users, as root")


def test_a_folder_named_like_a_run_does_not_make_the_sweep_kill_a_stranger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # A process of someone else's, and a folder a script made in the shared temporary folder,
    # named as a run of this session whose grader had that user's id.
    stranger = subprocess.Popen(["sleep", "60"], user=200_000 + 4321)
    try:
        planted = tmp_path / "sleepbench-grade-run.gw1-4321-abcd"
        planted.mkdir()
        (planted / "run.json").write_text(
            f'{{"pid": {stranger.pid}, "created": 0, "namespaced": false, "uid": 204321, '
            '"token": "x", "kill_as": null}')
        assert sweep("run") == []
        assert stranger.poll() is None, "the sweep killed a process it never started"
        assert planted.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_a_squatted_root_of_run_folders_is_not_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"sleepbench-runs.{os.geteuid()}").symlink_to(elsewhere)
    assert runs.root() is None
    folder = submission(tmp_path / "s", {"x.py": "print('ran')\n"})
    outcome = run_script(folder, "x.py", unit=0.02, limits=Limits(wall=10))
    assert [line for _, line in outcome.stdout] == ["ran"]
    assert not list(elsewhere.iterdir())
    assert sweep("local") == []
