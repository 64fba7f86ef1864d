"""Where the plugin's parts leave what they collected for each other, on the controller.

Under pytest-xdist these are filled on the controller (from the reports workers send back), so a
report written at the end of the session sees every worker's results.
"""

from __future__ import annotations

import pytest

from ..core.records import RunRecord

#: The attribute that carries a test's run records on its report; pytest-xdist serializes extra
#: report attributes, so the records reach the controller with the report.
RECORDS_ATTR = "sleepbench_records"

#: The attribute that carries a graded exercise's entry (with its submission's name) on its
#: call report, from a grading worker to the controller.
GRADE_ATTR = "sleepbench_grade"

#: Set on a call's report when it raised ``SleepbenchInconclusive``: the test still fails
#: (nothing was shown), but reads as inconclusive rather than as a failure of the code.
INCONCLUSIVE_ATTR = "sleepbench_inconclusive"

#: One record per run or probe timeline a test made, in the order their reports arrived. Each is
#: ``Run.to_record()`` (or a timeline's record) plus ``nodeid``, ``outcome`` ("passed" /
#: "failed", or "inconclusive" when the call raised ``SleepbenchInconclusive``), ``checks``
#: ([{"name", "status", "message"}]) and ``title``.
RUNS_KEY = pytest.StashKey[list[RunRecord]]()

#: The grading JSON document (schema 1), set by the grading plugin at session finish before
#: any report that reads it is written.
GRADEBOOK_KEY = pytest.StashKey[dict[str, object]]()

#: When a test's time limit (pytest-timeout's) passes, on the clock of ``core.clock.now``: the
#: test's probes in threads stop sleeping then.
PROBE_LIMIT_KEY = pytest.StashKey[float]()

#: The language this process told messages in before the session chose its own (see
#: ``core.i18n.use``), restored when the session ends.
LANGUAGE_KEY = pytest.StashKey[str]()
