"""Scripts that attack the grader's records, shared by the tests that grade them alone and
in a class."""

from __future__ import annotations

import textwrap

__all__ = ["FAKE_PIDS", "FAST_CLOCK", "FORGED_MAP", "FORGER"]

# Sends lines of JSON as records by every way the grader offers a run: appended to the record
# files (truncated first) or sent as lines through its channel.
FORGER = """\
import os, time

def forge(lines, truncate=True):
    data = [(line + "\\n").encode() for line in lines]
    channel = os.environ.get("SLEEPBENCH_GRADE_CHANNEL")
    if channel:
        import _socket
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.connect(channel)
        for line in data:
            try:
                sock.sendall(line)
            except OSError:
                pass
    for var, sleeps in (("SLEEPBENCH_GRADE_EVENTS", False), ("SLEEPBENCH_GRADE_INTERVALS", True)):
        path = os.environ.get(var)
        try:
            with open(path, "wb" if truncate else "ab") as handle:
                handle.writelines(d for d in data if (b'"kind": "sleep"' in d) == sleeps)
        except (OSError, TypeError):
            pass
"""

FORGED_MAP = FORGER + textwrap.dedent("""\
        import json
        unit = float(os.environ["SLEEPBENCH_GRADE_UNIT"])
        now = time.perf_counter()
        t0 = now - 8.5 * unit
        me = os.getpid()
        lines = [json.dumps({"kind": "start", "t": t0})]
        for name in ("ProcessPoolExecutor", "ProcessPoolExecutor.map"):
            lines.append(json.dumps({"kind": "api", "t": t0 + 0.001, "name": name}))
        lines.append(json.dumps({"kind": "method", "t": t0 + 0.001, "name": "fork"}))
        free = [t0 + 0.002, t0 + 0.002]
        for task, seconds in enumerate([5, 4, 3, 2, 1]):
            w = free.index(min(free))
            start, end = free[w], free[w] + seconds * unit
            free[w] = end
            lines.append(json.dumps({"kind": "sleep", "task": task, "seconds": seconds * unit,
                                     "pid": me + 1 + w, "start": start, "end": end,
                                     "tid": me + 1 + w, "ppid": me, "label": str(seconds)}))
        for task in range(5):
            lines.append(json.dumps({"kind": "result", "t": now - 0.0005, "task": task}))
        forge(lines)
""")

FAKE_PIDS = textwrap.dedent("""\
        import _thread, os, threading, time
        real = os.getpid
        fake = threading.local()
        os.getpid = lambda: getattr(fake, "pid", None) or real()
        done = []
        def task(n):
            fake.pid = real() + 100 + n
            time.sleep(1)
            done.append(n)
        if __name__ == "__main__":
            for n in range(2):
                _thread.start_new_thread(task, (n,))
            while len(done) < 2:
                time.sleep(0)
""")

# Each child makes the hook's clock run twelve times fast, so "1 s" sleeps end early and are
# stamped as if they had lasted.
FAST_CLOCK = textwrap.dedent("""\
        import multiprocessing, sys, time
        def task(seconds):
            hook = sys.modules.get("sitecustomize")
            if hook is not None and hasattr(hook, "_clock"):
                real, base = time.perf_counter, time.perf_counter()
                hook._clock = lambda: base + (real() - base) * 12
            time.sleep(seconds)
        if __name__ == "__main__":
            ps = [multiprocessing.Process(target=task, args=(1,)) for _ in range(2)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
""")

