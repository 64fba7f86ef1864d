"""The channel between a graded run and the grader never makes the run wait on the grader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytest_sleepbench.grading.channel import Channel


def test_a_process_sends_hundreds_of_records_while_the_grader_reads_none(tmp_path: Path
                                                                         ) -> None:
    # A datagram socket holds 10 unread messages before its senders block, which made a
    # ten-process run wait for the grader's next read and look slower than it was; each
    # process's stream holds hundreds of kilobytes.
    channel = Channel(tmp_path / "chan")
    channel.open()
    try:
        script = ("import pytest_sleepbench.grading._hook, time\n"
                  "for _ in range(250):\n"
                  "    time.sleep(1e-6)\n")
        env = {**os.environ, "SLEEPBENCH_GRADE_CHANNEL": str(tmp_path / "chan"),
               "SLEEPBENCH_GRADE_UNIT": "1"}
        env.pop("SLEEPBENCH_GRADE_MAIN_PID", None)
        proc = subprocess.Popen([sys.executable, "-c", script], env=env)
        # Not one read until it has ended: a sender that waits on the grader never would.
        assert proc.wait(timeout=20) == 0
        channel.drain()
    finally:
        channel.close()
    kinds = [json.loads(m.data)["kind"] for m in channel.messages]
    assert kinds == ["start"] + ["sleep"] * 250
    assert {m.pid for m in channel.messages} == {proc.pid}
    assert channel.problems == []
