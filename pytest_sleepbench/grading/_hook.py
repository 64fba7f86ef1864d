"""Start-up hook for graded scripts, installed as ``sitecustomize`` in the sandbox only.

It runs in every Python process a graded script creates (children of ``fork`` inherit it,
``spawn`` children and the forkserver load it from ``PYTHONPATH``, and the forkserver's
children inherit it from their server) and records, as JSON lines:

* each ``time.sleep``: pid, ppid, tid, requested seconds (scaled by the unit), start, end, and
  the submission index of the pool task it ran in;
* in the main process: which concurrency constructs were used and when, with the start
  method each process or pool really used, the size of each process pool and the pid of each
  worker it started, the order in which results reached the main process (a future yielded
  by ``as_completed``, or ``Future.result``, which ``map`` ends in), and when a ``join``
  returned;
* in every other process: when it became able to run (right after ``fork``, or when its own
  interpreter loaded this hook), so the grader can tell a machine too busy to start processes
  on time from code that keeps them from overlapping.

It uses the standard library only and stays importable on old interpreters, because the sandbox
may run another Python than the grader's. Imported anywhere without the grader's environment
variables, it does nothing. It is one module, longer than the package's others, because it is
installed into the sandbox as a single ``sitecustomize`` file that imports nothing of ours.
"""

from __future__ import annotations

import os
import sys
import threading
import time

# Every process of a graded script loads this module, spawn children included: it imports
# nothing it does not need at once (not json, not typing), and patches multiprocessing and
# concurrent.futures only when the script imports them, so a serial script pays for neither.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CHANNEL = os.environ.get("SLEEPBENCH_GRADE_CHANNEL", "")
_UNIT = float(os.environ.get("SLEEPBENCH_GRADE_UNIT", "1") or "1")
_FORCE_METHOD = os.environ.get("SLEEPBENCH_GRADE_START_METHOD", "")
_MAIN_VAR = "SLEEPBENCH_GRADE_MAIN_PID"

_real_sleep = time.sleep
_clock = time.perf_counter
_state = threading.local()
_submitted = [0]
_received: set[int] = set()
_named: set[int] = set()


def _json(value: Any) -> str:
    """A record's value as JSON: the records hold only None, bools, numbers and short strings."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        return repr(value) if abs(value) != float("inf") else (
            "Infinity" if value > 0 else "-Infinity")
    text = "".join(c if c >= " " and c not in '"\\' else f"\\u{ord(c):04x}" for c in str(value))
    return f'"{text}"'


_sender: list[Any] = [None, 0]


def _send(record: dict[str, Any]) -> None:
    # One line per record on the process's own connection to the grader's socket: the grader
    # stamps its arrival and the kernel names the sending process, so neither needs believing
    # from this side. _socket, not socket: every process of the run pays for this import, and
    # socket's enums cost.
    fields = ",".join(f"{_json(str(k))}:{_json(v)}" for k, v in record.items())
    line = ("{" + fields + "}\n").encode()
    try:
        if _sender[1] != os.getpid():  # a forked child makes its own
            import _socket

            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            # Room for hundreds of records between two of the grader's reads, so a process
            # never waits on the grader (the kernel caps it at net.core.wmem_max).
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, 1 << 20)
            # A socket's path has room for 107 bytes; a deep temporary folder is reached
            # through a descriptor of its folder instead.
            folder = os.open(os.path.dirname(_CHANNEL), getattr(os, "O_PATH", os.O_RDONLY))
            try:
                sock.connect(f"/proc/self/fd/{folder}/{os.path.basename(_CHANNEL)}")
            finally:
                os.close(folder)
            _sender[:] = [sock, os.getpid()]
        _sender[0].sendall(line)
    except OSError:
        return


def _event(kind: str, **data: Any) -> None:
    if _is_main():
        _send({"kind": kind, "t": _clock(), **data})


def _ready() -> None:
    _send({"kind": "ready", "t": _clock(), "pid": os.getpid()})


def _is_main() -> bool:
    return os.environ.get(_MAIN_VAR) == str(os.getpid())


def _sleep(seconds: float) -> None:
    real = float(seconds) * _UNIT
    if real <= 0:
        # No task sleeps nothing: time.sleep(0), a yield in a polling loop, is passed on as it
        # is (a negative one raises as it would) and not recorded, so no loop floods the
        # grader's channel with records it would never judge.
        _real_sleep(real)
        return
    start = _clock()
    deadline = start + real
    # A signal may cut a sleep short; the grader's lower bounds rely on it lasting in full.
    while True:
        left = deadline - _clock()
        if left <= 0:
            break
        _real_sleep(left)
    end = _clock()
    _send({
        "kind": "sleep", "task": getattr(_state, "task", None), "seconds": real, "pid": os.getpid(),
        "start": start, "end": end, "tid": threading.get_native_id(),
        "ppid": os.getppid(), "label": f"{float(seconds):g}",
    })


class _Tagged:
    """A pool task that remembers its submission index, so its sleeps can name it."""

    def __init__(self, index: int, fn: Any) -> None:
        self.index = index
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _state.task = self.index
        try:
            return self.fn(*args, **kwargs)
        finally:
            _state.task = None


def _patch_futures() -> None:
    import concurrent.futures as cf
    from concurrent.futures import _base, process, thread

    def wrap_submit(cls: Any) -> None:
        original = cls.submit

        def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            index = _submitted[0]
            _submitted[0] += 1
            _event("api", name=f"{type(self).__name__}.submit")
            future = original(self, _Tagged(index, fn), *args, **kwargs)
            future._sleepbench_task = index
            _workers(self)
            return future

        cls.submit = submit

    wrap_submit(process.ProcessPoolExecutor)
    wrap_submit(thread.ThreadPoolExecutor)

    def wrap_map(cls: Any) -> None:
        # Each class keeps its own map: ProcessPoolExecutor's sends chunks of ``chunksize``.
        original = cls.map

        def map_(self: Any, fn: Any, *iterables: Any, **kwargs: Any) -> Any:
            if getattr(_state, "mapping", False):  # ProcessPoolExecutor.map calls super().map
                return original(self, fn, *iterables, **kwargs)
            _event("api", name=f"{type(self).__name__}.map")
            _state.mapping = True
            try:
                return original(self, fn, *iterables, **kwargs)
            finally:
                _state.mapping = False

        cls.map = map_

    wrap_map(_base.Executor)
    wrap_map(process.ProcessPoolExecutor)

    original_as_completed = _base.as_completed

    def as_completed(fs: Any, timeout: Any = None) -> Any:
        _event("api", name="as_completed")  # at the call, as a loop that never runs used it
        return _handed_out(original_as_completed(fs, timeout))

    def _handed_out(futures: Any) -> Any:
        # A future handed out here has reached the main process, whether or not the script
        # calls ``result`` on it: the order of this loop is the order results arrived.
        for future in futures:
            _received_now(future)
            yield future

    _base.as_completed = as_completed
    cf.as_completed = as_completed

    original_result = _base.Future.result

    def result(self: Any, timeout: Any = None) -> Any:
        value = original_result(self, timeout)
        _received_now(self)
        return value

    _base.Future.result = result  # type: ignore[method-assign]

    for cls in (process.ProcessPoolExecutor, thread.ThreadPoolExecutor):
        original_init = cls.__init__

        def init(self: Any, *args: Any, __original: Any = original_init, **kwargs: Any) -> None:
            _event("api", name=type(self).__name__)
            __original(self, *args, **kwargs)
            context = getattr(self, "_mp_context", None)
            if context is not None:
                _event("method", name=context.get_start_method())
                _event("pool", workers=getattr(self, "_max_workers", None))

        cls.__init__ = init  # type: ignore[method-assign]


def _workers(pool: Any) -> None:
    """Names the worker processes a process pool has started so far, once each: the grader
    then knows a worker that was started but too late to take a task from one never started
    (a pool the script made smaller than the exercise owes)."""
    processes = getattr(pool, "_processes", None)  # ProcessPoolExecutor: {pid: process}
    if processes is None:
        return
    for pid in list(processes):
        if isinstance(pid, int) and pid not in _named:
            _named.add(pid)
            _event("worker", pid=pid)


def _received_now(future: Any) -> None:
    index = getattr(future, "_sleepbench_task", None)
    if index is not None and index not in _received:
        _received.add(index)
        _event("result", task=index)


def _internal(runner: Any) -> bool:
    """Whether a process or thread belongs to a pool's machinery, not to the script."""
    owner = type(runner).__module__
    if owner in ("threading", "multiprocessing.context", "multiprocessing.process"):
        owner = getattr(getattr(runner, "_target", None), "__module__", None) or ""
    return owner == "threading" or owner.startswith(("concurrent.", "multiprocessing."))


def _patch_threads() -> None:
    original_thread_start = threading.Thread.start

    def thread_start(self: Any) -> None:
        if not _internal(self):
            _event("api", name="Thread.start")
        original_thread_start(self)

    threading.Thread.start = thread_start  # type: ignore[method-assign]


def _patch_processes() -> None:
    import multiprocessing
    from multiprocessing import process

    original_start = process.BaseProcess.start

    def start(self: Any) -> None:
        if not _internal(self):
            _event("api", name="Process.start")
            # A plain Process takes the default context's method when it starts, as here.
            method = getattr(self, "_start_method", None) or multiprocessing.get_start_method()
            _event("method", name=method)
        original_start(self)

    process.BaseProcess.start = start  # type: ignore[method-assign]

    original_join = process.BaseProcess.join

    def join(self: Any, timeout: Any = None) -> None:
        original_join(self, timeout)
        if not _internal(self) and self.exitcode is not None:
            _event("joined")

    process.BaseProcess.join = join  # type: ignore[method-assign]

    from multiprocessing import pool

    original_pool_init = pool.Pool.__init__

    def pool_init(self: Any, *args: Any, **kwargs: Any) -> None:
        # Named so that a script using Pool is told so, not that it used no pool at all.
        if type(self).__name__ != "ThreadPool":
            _event("api", name="multiprocessing.Pool")
        original_pool_init(self, *args, **kwargs)
        if type(self).__name__ != "ThreadPool":
            _event("pool", workers=getattr(self, "_processes", None))
            for worker in list(getattr(self, "_pool", ())):
                if isinstance(getattr(worker, "pid", None), int) and worker.pid not in _named:
                    _named.add(worker.pid)
                    _event("worker", pid=worker.pid)

    pool.Pool.__init__ = pool_init  # type: ignore[method-assign]

    if _FORCE_METHOD == "reimport":
        # The main-guard run needs every child to import the script afresh, as spawn does.
        # A forkserver with nothing preloaded does exactly that in a fork of a clean server,
        # at a fraction of the cost of a new interpreter per child.
        if "forkserver" in multiprocessing.get_all_start_methods():
            multiprocessing.set_start_method("forkserver", force=True)
            multiprocessing.set_forkserver_preload([])
            multiprocessing.set_forkserver_preload = lambda *a, **k: None
        else:
            multiprocessing.set_start_method("spawn", force=True)
    elif _FORCE_METHOD:
        multiprocessing.set_start_method(_FORCE_METHOD, force=True)
    if _FORCE_METHOD:
        # The main-guard run must stay on the method it asked for, whatever the script says.
        multiprocessing.set_start_method = lambda *a, **k: None


class _OnImport:
    """Patches a module right after the script first imports it: a finder on
    ``sys.meta_path`` that wraps the real loader of the modules it watches, once each."""

    def __init__(self) -> None:
        self.pending = {"multiprocessing": _patch_processes,
                        "concurrent.futures": _patch_futures}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        patch = self.pending.pop(name, None)
        if patch is None:
            return None
        for finder in sys.meta_path:
            found = None if finder is self else getattr(finder, "find_spec", None)
            spec = found(name, path, target) if found is not None else None
            if spec is not None and spec.loader is not None:
                _after(spec.loader, patch)
                return spec
        return None


def _after(loader: Any, patch: Any) -> None:
    run = loader.exec_module

    def exec_module(module: Any) -> None:
        run(module)
        patch()

    loader.exec_module = exec_module


def _install() -> None:
    if not _CHANNEL:
        return
    time.sleep = _sleep  # type: ignore[assignment]
    if hasattr(os, "register_at_fork"):
        # Children forked from here (a fork Process, a pool worker, the forkserver's) inherit it.
        os.register_at_fork(after_in_child=_ready)
    if _MAIN_VAR in os.environ:
        _ready()
    else:
        os.environ[_MAIN_VAR] = str(os.getpid())
        _patch_threads()
        watcher = _OnImport()
        for name in list(watcher.pending):
            if name in sys.modules:  # imported before the hook ran (by another start-up file)
                watcher.pending.pop(name)()
        sys.meta_path.insert(0, watcher)
        if _FORCE_METHOD:
            # The main-guard run forces its method before any line of the script runs.
            import multiprocessing  # noqa: F401  (the watcher patches it as it loads)
        # Stamped last, so the script's wall time starts with its own first line.
        _event("start")


_install()
