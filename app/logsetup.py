"""Logging: rotating files in the data directory, configured before anything imports escpos
(python-escpos reconfigures the root logger when it is imported)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from app import paths
from app.errors import KezhanError


class QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A log file that cannot be written (a full disk, a removed folder) is said once, in one line
    on stderr; logging's default printed a traceback for every record, hundreds of lines that buried
    the command's own answer. The records that could not be written are dropped: the log is a
    record, not the data, and the operation goes on."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if self.failed:
            return
        self.failed = True
        exc = sys.exc_info()[1]
        cause = (getattr(exc, "strerror", None) or str(exc)) if exc else "?"
        try:
            sys.stderr.write(
                f"kezhan: 无法写入日志文件，之后的日志不再写入 / cannot write the log file, "
                f"further log records are dropped: {self.baseFilename} ({cause})\n"
            )
        except (OSError, ValueError):
            pass


class SharedFileHandler(QuietFileHandler):
    """One log written by several processes at once (the window, ``kezhan sync``, a technician's
    ``kezhan doctor`` beside it): each record is appended under a lock file, with the file open only
    for that write, and whoever finds it over the limit rotates it under the same lock.

    A plain RotatingFileHandler keeps the file open: on Windows another process cannot rename an
    open file, so rotation failed, and elsewhere the others went on writing into the renamed file
    while the new one stayed empty; two rotating at once lost a generation."""

    def __init__(self, filename, maxBytes: int = 0, backupCount: int = 0, encoding: str = "utf-8") -> None:  # noqa: N803
        from app.oslock import FileLock

        super().__init__(filename, maxBytes=maxBytes, backupCount=backupCount, encoding=encoding, delay=True)
        self._file_lock = FileLock(str(filename) + ".lock", timeout=10)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            with self._file_lock:
                if self.maxBytes > 0:
                    try:
                        size = os.path.getsize(self.baseFilename)
                    except OSError:
                        size = 0
                    if size and size + len(text.encode(self.encoding or "utf-8")) > self.maxBytes:
                        self.doRollover()
                with open(self.baseFilename, "a", encoding=self.encoding) as stream:
                    stream.write(text)
        except Exception:
            self.handleError(record)


_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_configured = False


def configure(verbose: bool = False) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        handler: logging.Handler = SharedFileHandler(
            paths.log_dir() / "kezhan.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
    except (OSError, KezhanError):
        # No log folder (KEZHAN_HOME a file, no rights): the command says so itself, in one line.
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if verbose:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(console)


def log_file() -> str:
    return str(paths.log_dir() / "kezhan.log")
