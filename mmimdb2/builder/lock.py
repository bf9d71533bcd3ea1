"""One build at a time per output folder: an exclusive lock on ``<out>/.build/lock``, as pip and git hold theirs.

Why ``fcntl.flock`` on a lock file rather than git's ``O_EXCL`` lock file with a pid check: the
kernel drops an flock when its holder dies, however it dies (``kill -9``, out of memory), so a
crashed build never leaves the folder locked and no one has to judge from a pid whether the holder
still lives (a pid says nothing about a process on another host sharing the folder over NFS, where
Linux maps flock onto NFS byte-range locks, and pids are reused). The file is never deleted
(deleting a lock file that another process has open lets two processes lock two different files);
it is emptied on release. The holder writes its pid, host and start time into it, for the one line
a second build prints before it exits 2 ("process 4242 on host-a, started ..."); a name still in
the file when the lock is free was left by a holder that ended without releasing it (killed), and
the build that takes the lock over says so in one line. Where the file system cannot lock (some
network or FUSE mounts) or the platform has no ``fcntl``, the build says so in one line and goes on
unlocked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from mmimdb2.builder.verify import WORK_DIR
from mmimdb2.text import printable

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None  # type: ignore[assignment]

#: The lock file, inside the build's work folder (which MANIFEST does not list).
LOCK_NAME = "lock"
#: Most bytes of a holder's name read from the lock file (it is a few dozen).
_MAX_NAME_BYTES = 4096
#: How long a build refused the lock waits for the holder to write its name (it writes it at once).
_NAME_WAIT_S = 2.0


class BuildLocked(RuntimeError):
    """Another process holds the lock on this output folder; the message names it, on one line."""


def _holder(raw: bytes) -> str:
    """The holder named in the lock file's bytes, in words ("process 4242 on host-a, started ...")."""
    try:
        d = json.loads(raw)
        pid, host, started = int(d["pid"]), str(d["host"]), str(d["started"])
    except (ValueError, TypeError, KeyError):
        return f"a holder that wrote {printable(raw.decode('utf-8', 'replace'))[:120]!r}"
    return printable(f"process {pid} on {host[:100]}, started {started[:40]}")


def _read(fd: int) -> bytes:
    return os.pread(fd, _MAX_NAME_BYTES, 0).strip()


class BuildLock:
    """``with BuildLock(out, log=...):`` holds ``<out>/.build/lock`` for the block; :meth:`acquire`
    raises :class:`BuildLocked` while another process holds it."""

    def __init__(self, out: str | os.PathLike[str], log: Callable[[str], None] | None = None) -> None:
        self.out = Path(out)
        self.path = self.out / WORK_DIR / LOCK_NAME
        self.log = log or (lambda s: None)
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, or raise :class:`BuildLocked` naming its holder (pid, host, start time)."""
        if fcntl is None:  # pragma: no cover
            self.log(f"warning: cannot lock {self.out} on this platform (no fcntl); make sure no other build writes there")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raw, end = _read(fd), time.monotonic() + _NAME_WAIT_S
            while not raw and time.monotonic() < end:  # it took the lock a moment ago and is writing its name
                time.sleep(0.05)
                raw = _read(fd)
            os.close(fd)
            who = _holder(raw) if raw else "another process (it has not written its name into the lock file)"
            raise BuildLocked(f"another build is writing into {self.out}: {who} (lock file {self.path}); "
                              "wait for it to end, or stop it, then run this command again") from None  # fmt: skip
        except OSError as e:
            os.close(fd)
            self.log(f"warning: cannot lock {self.out} ({e.strerror or e}: the file system does not support locks); "
                     "make sure no other build writes there")  # fmt: skip
            return
        old = _read(fd)
        if old:
            self.log(f"{self.out}: took over the stale lock of {_holder(old)}: it ended without releasing it (killed, or the machine stopped)")
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me, sort_keys=True).encode() + b"\n", 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Empty the lock file (so the next build does not take this one for dead) and release it."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass  # the next build will call the lock stale: harmless
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
