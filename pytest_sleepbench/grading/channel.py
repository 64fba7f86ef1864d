"""The channel a run's records travel through: a datagram socket the grader owns.

A graded script runs the start-up hook in its own interpreter, so it can write anything the
hook can. What it cannot do through this channel is take back what was sent, send before the
hook ran, or lie about who sent it: the grader stamps each datagram as it arrives, on its own
clock, and the kernel attaches the sender's process id (``SO_PASSCRED``), translated into the
grader's own pid namespace. A file a script can truncate, replace with a fifo or point
elsewhere gives none of that.

Reads never block and are capped: past the caps, what arrives is counted and dropped, and the
run's records are not believed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..core.clock import now

__all__ = ["MAX_DATAGRAM", "Channel", "Message"]

#: A record longer than this is not one the hook writes.
MAX_DATAGRAM = 4096
# Far beyond an honest run: the lesson's scripts send under a hundred records, a loop polling
# with short sleeps a few thousand a second (time.sleep(0) sends none).
_MAX_MESSAGES = 100_000
_MAX_BYTES = 16 << 20
_UCRED = struct.Struct("3i")
# A datagram up to the cap is read whole, so one longer than that shows as truncated.
_READ = MAX_DATAGRAM + 1


@dataclass(frozen=True)
class Message:
    data: bytes
    pid: int
    """The sender's process id in the grader's pid namespace, from the kernel; 0 if none came."""
    uid: int
    at: float
    """When the grader read it, on the grader's clock."""


@dataclass
class Channel:
    path: Path
    uid: int | None = None
    """The only user that may send (the run's own), when the run has one."""
    messages: list[Message] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the records as a whole cannot be believed (too many, too long)."""
    _sock: socket.socket | None = None
    _bytes: int = 0
    _dropped: int = 0

    def open(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # A socket's path has room for 107 bytes; the folder's descriptor takes a deep
        # temporary folder's place.
        folder = os.open(self.path.parent, getattr(os, "O_PATH", os.O_RDONLY))
        try:
            sock.bind(f"/proc/self/fd/{folder}/{self.path.name}")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.setblocking(False)
            if self.uid is not None:
                # Sending needs write permission on the socket file: the run's user alone.
                os.chown(self.path, self.uid, self.uid)
            os.chmod(self.path, 0o600 if self.uid is not None else 0o622)
        except BaseException:
            sock.close()
            raise
        finally:
            os.close(folder)
        self._sock = sock
        return sock

    def drain(self) -> None:
        """Read everything waiting, without blocking."""
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                data, ancillary, flags, _ = sock.recvmsg(_READ, socket.CMSG_SPACE(_UCRED.size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._take(data, ancillary, flags)

    def _take(self, data: bytes, ancillary: list[tuple[int, int, bytes]], flags: int) -> None:
        at = now()
        if len(self.messages) >= _MAX_MESSAGES or self._bytes + len(data) > _MAX_BYTES:
            self._dropped += 1
            return
        if flags & socket.MSG_TRUNC or len(data) > MAX_DATAGRAM:
            self.problems.append(f"a record of more than {MAX_DATAGRAM} bytes")
            return
        pid = uid = 0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and (
                    len(value) >= _UCRED.size):
                pid, uid, _ = _UCRED.unpack(value[:_UCRED.size])
        self._bytes += len(data)
        self.messages.append(Message(data, pid, uid, at))

    def close(self) -> None:
        self.drain()
        if self._dropped:
            self.problems.append(f"more records than the grader reads ({self._dropped} past "
                                 f"{_MAX_MESSAGES} records or {_MAX_BYTES >> 20} MiB)")
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    def fileno(self) -> int:
        assert self._sock is not None
        return self._sock.fileno()
