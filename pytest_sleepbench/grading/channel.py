"""The channel a run's records travel through: a Unix stream socket the grader owns.

A graded script runs the start-up hook in its own interpreter, so it can write anything the
hook can. What it cannot do through this channel is take back what was sent, send before the
hook ran, or lie about who sent it: the grader stamps each record as it reads it, on its own
clock, and the kernel attaches the sender's process id to what it sends (``SO_PASSCRED``),
translated into the grader's own pid namespace. A file a script can truncate, replace with a
fifo or point elsewhere gives none of that.

Each process of the run connects once and writes its records as lines. A stream, not
datagrams: a datagram socket queues only ``net.unix.max_dgram_qlen`` messages (10 by default)
before every sender blocks until the grader reads, so a run of ten processes would wait on the
grader and be timed slower than it is. A stream's sender blocks only when its own buffer
(hundreds of kilobytes) is full, which no honest run comes near.

Reads never block and are capped: past the caps, what arrives is counted and dropped, and the
run's records are not believed.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..core.clock import now

__all__ = ["MAX_RECORD", "Channel", "Message"]

#: A record longer than this is not one the hook writes.
MAX_RECORD = 4096
# Far beyond an honest run: the lesson's scripts send under a hundred records, a loop polling
# with short sleeps a few thousand a second (time.sleep(0) sends none).
_MAX_MESSAGES = 100_000
_MAX_BYTES = 16 << 20
# Each open connection is a descriptor of the grader's; a run that opens more than this at
# once is not one of the lesson's (connections that have ended are closed as they end).
_MAX_OPEN = 256
_BACKLOG = 1024
_UCRED = struct.Struct("3i")
_READ = 65536


@dataclass(frozen=True)
class Message:
    data: bytes
    pid: int
    """The sender's process id in the grader's pid namespace, from the kernel; 0 if none came."""
    uid: int
    at: float
    """When the grader read it, on the grader's clock."""


@dataclass
class _Connection:
    sock: socket.socket
    seq: int
    partial: bytes = b""
    sender: tuple[int, int] = (0, 0)
    """Who wrote ``partial`` (pid, uid): a record is one process's, never two spliced."""


@dataclass
class Channel:
    path: Path
    uid: int | None = None
    """The only user that may send (the run's own), when the run has one."""
    messages: list[Message] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the records as a whole cannot be believed (too many, too long)."""
    _sock: socket.socket | None = None
    _poll: selectors.BaseSelector | None = None
    _open: dict[int, _Connection] = field(default_factory=dict)
    _bytes: int = 0
    _dropped: int = 0
    _accepted: int = 0

    def open(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A socket's path has room for 107 bytes; the folder's descriptor takes a deep
        # temporary folder's place.
        folder = os.open(self.path.parent, getattr(os, "O_PATH", os.O_RDONLY))
        try:
            sock.bind(f"/proc/self/fd/{folder}/{self.path.name}")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.setblocking(False)
            sock.listen(_BACKLOG)
            if self.uid is not None:
                # Connecting needs write permission on the socket file: the run's user alone.
                os.chown(self.path, self.uid, self.uid)
            os.chmod(self.path, 0o600 if self.uid is not None else 0o622)
        except BaseException:
            sock.close()
            raise
        finally:
            os.close(folder)
        self._sock = sock
        # One descriptor for the pump to wait on, readable when a process connects or any
        # connection has records: the selector's own (epoll on Linux).
        self._poll = selectors.DefaultSelector()
        self._poll.register(sock, selectors.EVENT_READ, None)
        return sock

    def drain(self) -> None:
        """Accept every waiting connection and read everything waiting, without blocking."""
        if self._sock is None or self._poll is None:
            return
        self._accept()
        # Read in the order the processes connected: the main process connects and writes
        # its first record before any other process of the run exists, so that record is
        # always read first, whichever connections a drain finds waiting.
        waiting = [key.data for key, _ in self._poll.select(0) if key.data is not None]
        for link in sorted(waiting, key=lambda link: link.seq):
            self._read(link)

    def _accept(self) -> None:
        assert self._sock is not None and self._poll is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self._open) >= _MAX_OPEN:
                conn.close()
                self._dropped += 1
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self._accepted += 1
            self._open[conn.fileno()] = link = _Connection(conn, self._accepted)
            self._poll.register(conn, selectors.EVENT_READ, link)

    def _read(self, link: _Connection) -> None:
        while True:
            try:
                data, ancillary, _, _ = link.sock.recvmsg(_READ, socket.CMSG_SPACE(_UCRED.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, ancillary = b"", []
            if not data:
                self._end(link)
                return
            # The kernel never merges in one read what two processes wrote, so the whole
            # chunk is one sender's.
            self._take(link, data, _sender(ancillary))

    def _take(self, link: _Connection, data: bytes, sender: tuple[int, int]) -> None:
        at = now()
        if link.partial and sender != link.sender:
            self._problem("a record written by two processes")
            link.partial = b""
        link.sender = sender
        lines = (link.partial + data).split(b"\n")
        link.partial = lines.pop()
        if len(link.partial) > MAX_RECORD:
            self._problem(f"a record of more than {MAX_RECORD} bytes")
            link.partial = b""
        for line in lines:
            if len(self.messages) >= _MAX_MESSAGES or self._bytes + len(line) > _MAX_BYTES:
                self._dropped += 1
                continue
            if len(line) > MAX_RECORD:
                self._problem(f"a record of more than {MAX_RECORD} bytes")
                continue
            self._bytes += len(line)
            self.messages.append(Message(line, sender[0], sender[1], at))

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def _end(self, link: _Connection) -> None:
        if link.partial:
            self._problem("a record cut short")
        assert self._poll is not None
        self._open.pop(link.sock.fileno(), None)
        self._poll.unregister(link.sock)
        link.sock.close()

    def close(self) -> None:
        self.drain()
        if self._dropped:
            self.problems.append(f"more records or connections than the grader reads "
                                 f"({self._dropped} past {_MAX_MESSAGES} records, "
                                 f"{_MAX_BYTES >> 20} MiB or {_MAX_OPEN} open connections)")
        for link in list(self._open.values()):
            link.sock.close()
        self._open.clear()
        if self._poll is not None:
            self._poll.close()
            self._poll = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    def fileno(self) -> int:
        assert self._poll is not None
        fileno: int = self._poll.fileno()  # type: ignore[attr-defined]
        return fileno


def _sender(ancillary: list[tuple[int, int, bytes]]) -> tuple[int, int]:
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and (
                len(value) >= _UCRED.size):
            pid, uid, _ = _UCRED.unpack(value[:_UCRED.size])
            return pid, uid
    return 0, 0
