"""Who has the terminal's database open: the one counter window per file, and a check that no other
program holds the file before it is replaced.

The window holds ``<file>.lock`` (an OS lock, app/oslock.py: ``fcntl`` on Linux, ``msvcrt`` on
Windows; the OS drops it when the process dies, so a crash leaves no stale lock) for as long as it
runs, and writes who it is into ``<file>.owner`` beside it, so a second window and ``kezhan db
restore`` can say which program to close.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.errors import StorageError
from app.oslock import FileLock, Timeout


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def owner_path(path: Path) -> Path:
    return path.with_name(path.name + ".owner")


def owner_text(path: Path) -> tuple[str, str]:
    """Who holds the file's lock, as written by the holder: (Chinese, English)."""
    try:
        owner = json.loads(owner_path(path).read_text(encoding="utf-8"))
        program, pid, since = owner["program"], owner["pid"], owner["since"]
    except (OSError, ValueError, KeyError, TypeError):
        return "另一个客站程序", "another Kezhan program"
    return f"{program}（进程 {pid}，{since} 起）", f"{program} (process {pid}, since {since})"


@dataclass
class InstanceLock:
    """The database's single-instance lock, held until :meth:`release`."""

    path: Path
    lock: FileLock

    def release(self) -> None:
        owner_path(self.path).unlink(missing_ok=True)
        self.lock.release()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _take_lock(path: Path, in_use: Callable[[str, str], tuple[str, str]]) -> FileLock:
    """Take the file's lock without waiting, or raise ``DB_IN_USE`` with the words ``in_use`` makes
    of its holder's name (Chinese, English). OSError when no lock file can be made there."""
    # A fresh FileLock per call, with its own descriptor: a second hold in this process is refused
    # as a second window's would be.
    lock = FileLock(lock_path(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        zh, en = in_use(*owner_text(path))
        raise StorageError(zh, en=en, code="DB_IN_USE") from None
    return lock


def hold(path: Path | str, program: str) -> InstanceLock:
    """Take the database's lock for ``program`` ("kezhan gui"), or raise ``DB_IN_USE`` naming the
    program that has it."""
    path = Path(path)
    try:
        lock = _take_lock(path, lambda zh, en: (
            f"该数据库已被 {zh} 打开：{path}。同一数据库只能开一个客站窗口。",
            f"the database is already open in {en}: {path}. Only one counter window per database.",
        ))
    except OSError as exc:
        raise StorageError(
            f"无法在数据库旁建立锁文件：{lock_path(path)}（{exc.strerror or exc}）",
            en=f"cannot create the lock file beside the database: {lock_path(path)} ({exc.strerror or exc})",
            code="DB_IO",
        ) from None
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    with contextlib.suppress(OSError):  # the lock is what counts; the name is a courtesy
        owner_path(path).write_text(
            json.dumps({"program": program, "pid": os.getpid(), "since": since, "argv": sys.argv[:3]}),
            encoding="utf-8",
        )
    return InstanceLock(path, lock)


def refuse_if_open(path: Path) -> None:
    """Raise ``DB_IN_USE`` when another program has the file open: the counter window's lock, or any
    SQLite connection at all (the sync loop, a script). The second is SQLite's own portable test: a
    WAL file can leave WAL mode only when no other connection has it open."""
    try:
        probe = _take_lock(path, lambda zh, en: (
            f"数据库正被 {zh} 使用，未恢复：{path}。请先关闭它再恢复。",
            f"the database is in use by {en}; nothing was restored: {path}. Close it first.",
        ))
    except OSError:
        pass  # a folder where no lock can be made: the SQLite test below still answers
    else:
        probe.release()
    if not path.is_file() or path.stat().st_size == 0:
        return
    from app.store.engine import sqlite_uri  # SQLAlchemy under it: not for the window's lock before it shows

    try:
        con = sqlite3.connect(sqlite_uri(path), uri=True, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return  # cannot even open it: nobody else is selling into it
    try:
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            return
        try:
            left = con.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError:
            left = "wal"
        if left.lower() == "wal":
            raise StorageError(
                f"数据库正被另一个程序打开（售票窗口、同步或其他工具），未恢复：{path}。请先关闭它再恢复。",
                en=f"another program has the database open (a counter, the sync loop or another tool); "
                f"nothing was restored: {path}. Close it first.",
                code="DB_IN_USE",
            )
        con.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError:
        return  # a damaged file being replaced: its journal mode does not matter
    finally:
        con.close()
