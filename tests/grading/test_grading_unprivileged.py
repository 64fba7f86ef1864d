"""The sandbox without root: runs keep the grader's user, and their processes are found by
descent and by a mark in their environment. Run as ``nobody`` to see it as an instructor's
laptop would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import uuid
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = sysconfig.get_paths()["purelib"]
DRIVER = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    from pytest_sleepbench.grading.sandbox import Limits, run_script
    if __name__ == "__main__":
        o = run_script(Path(sys.argv[1]), sys.argv[2], unit=0.02, limits=Limits(wall=5))
        print(json.dumps({"code": o.returncode, "isolated": o.isolated, "sandbox": o.sandbox,
                          "leftovers": o.leftovers, "stdout": [l for _, l in o.stdout]}))
""")


def _system_python() -> str | None:
    """A Python of the grader's version that an unprivileged user may run."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/local/bin", "/usr/bin"):
        candidate = os.path.join(folder, version)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


PYTHON = _system_python()
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or PYTHON is None or not os.access(SITE, os.R_OK),
    reason="needs root to switch to nobody, and a system Python of the grader's version",
)


def test_orphans_and_setsid_children_are_found_and_killed_without_root(open_folder: Path) -> None:
    token = uuid.uuid4().hex[:8]
    name = f"orphans_{token}.py"
    (open_folder / "driver.py").write_text(DRIVER)
    (open_folder / "sub").mkdir()
    (open_folder / "sub" / name).write_text(textwrap.dedent(f"""\
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "detached_{token}"],
                         start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        print("left them behind")
    """))
    for path in open_folder.rglob("*"):
        path.chmod(0o755)
    assert PYTHON is not None
    done = subprocess.run(
        [PYTHON, str(open_folder / "driver.py"), str(open_folder / "sub"), name],
        user="nobody", env={"PYTHONPATH": f"{REPO}{os.pathsep}{SITE}", "PATH": "/usr/bin:/bin"},
        cwd=open_folder, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Without root, a user namespace where the kernel allows one, else the mark and descent.
    assert report["sandbox"] in ("user-namespace", "none")
    assert report["isolated"] is (report["sandbox"] == "user-namespace")
    assert report["code"] == 0 and report["stdout"] == ["left them behind"]
    assert len(report["leftovers"]) == 2, report["leftovers"]
    alive = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        # The token, not a common word: other processes on a CI machine may carry any word.
        if token in cmdline:
            alive.append(cmdline)
    assert not alive
