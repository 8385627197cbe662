"""An exclusive lock on a file, from the operating system: ``fcntl.flock`` on POSIX, ``msvcrt.locking``
(one byte) on Windows. The OS drops it when the process ends however it ends, so a crash leaves no
stale lock. Each :class:`FileLock` opens its own descriptor: two holders in one process conflict as
two processes do.

Used for the database's single-instance lock (app/store/instance.py), which the counter window takes
before it shows, and for the shared log (app/logsetup.py). A few lines of the standard library: the
window's start does not pay for a general-purpose locking package.
"""

from __future__ import annotations

import os
import sys
import time

_WINDOWS = sys.platform.startswith("win")
_POLL_S = 0.05


class Timeout(TimeoutError):
    """Another holder kept the lock for the whole timeout."""

    def __init__(self, path: str) -> None:
        super().__init__(f"the lock {path} is held by another holder")
        self.lock_file = path


class FileLock:
    """``acquire()`` waits up to ``timeout`` seconds (0: not at all; negative: for ever) and raises
    :class:`Timeout` if the lock stays held; ``OSError`` when the lock file cannot be opened.
    Not re-entrant. Also a context manager."""

    def __init__(self, path: str | os.PathLike, timeout: float = -1) -> None:
        self.lock_file = os.fspath(path)
        self.timeout = timeout
        self._fd: int | None = None

    @property
    def is_locked(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.lock_file} is already held by this FileLock")
        timeout = self.timeout if timeout is None else timeout
        fd = _open(self.lock_file)
        deadline = time.monotonic() + timeout if timeout >= 0 else None
        try:
            while not _try_lock(fd):
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(self.lock_file)
                time.sleep(_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _open(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
    try:
        return os.open(path, flags, 0o666)
    except PermissionError:
        if _WINDOWS:
            raise
        # Another account's lock file in a shared folder: flock works on a descriptor opened for reading.
        return os.open(path, os.O_RDONLY)


if _WINDOWS:
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
