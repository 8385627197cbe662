"""Checking, backing up and restoring the terminal database (``kezhan db check|backup|restore``).

None of these goes through the ORM: they must work on a file the models cannot describe (damaged,
half-migrated) and never write to the file they inspect.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app import paths
from app.errors import StorageError
from app.store import outbox
from app.store.archive import archived_marks
from app.store.engine import (
    BUSY_TIMEOUT_MS,
    backup_file,
    inspect_file,
    known_revisions,
    sqlite_uri,
    storage_error,
)
from app.store.instance import hold, refuse_if_open


@dataclass
class CheckReport:
    path: str
    ok: bool = True
    revision: str | None = None
    head: str | None = None
    integrity: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    outbox_gaps: list[str] = field(default_factory=list)  # "terminal: seq a..b missing"
    outbox_events: int = 0
    outbox_archived: dict[str, int] = field(default_factory=dict)  # terminal -> highest seq in the archive
    # counters against the rows they number (and, with --full, every event against its hash)
    counters: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    mode: str = "quick"  # quick: PRAGMA quick_check; full: integrity_check and foreign_key_check
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _connect_ro(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return con


def check(path: Path | str, *, full: bool = False) -> CheckReport:
    """Schema revision, outbox seq gaps and the file's own check: ``PRAGMA quick_check`` by default
    (pages, records, constraints: what the doctor runs, seconds on a large file), or with ``full``
    ``integrity_check`` (also every index against its table) and ``foreign_key_check``. Never raises
    for a bad file: what is wrong goes into ``problems`` and ``ok`` is False."""
    started = time.monotonic()
    path = Path(path)
    report = CheckReport(path=str(path), mode="full" if full else "quick")
    try:
        _check(path, report, full)
    finally:
        report.seconds = round(time.monotonic() - started, 3)
    return report


def _check(path: Path, report: CheckReport, full: bool) -> None:
    _known, report.head = known_revisions()
    if not path.exists():
        report.ok = False
        report.problems.append(f"数据库文件不存在：{path} (the database file does not exist)")
        return
    try:
        report.revision = inspect_file(path)
    except StorageError as exc:
        report.ok = False
        report.problems.append(exc.message + f" ({exc.en})")
        return
    if report.revision != report.head:
        report.ok = False
        report.problems.append(
            f"结构版本 {report.revision} 不是最新的 {report.head}：请运行 kezhan db migrate "
            f"(schema {report.revision} is not the current {report.head}: run `kezhan db migrate`)"
        )
    try:
        con = _connect_ro(path)
        try:
            pragma = "integrity_check" if full else "quick_check"
            report.integrity = [row[0] for row in con.execute(f"PRAGMA {pragma}")]
            if report.integrity != ["ok"]:
                report.ok = False
                report.problems.append(
                    f"完整性检查失败 ({pragma} failed): " + "; ".join(report.integrity[:5])
                )
            if full:
                report.foreign_keys = [
                    f"{table} rowid {rowid} -> {parent}"
                    for table, rowid, parent, _fk in con.execute("PRAGMA foreign_key_check")
                ]
            if report.foreign_keys:
                report.ok = False
                report.problems.append(f"外键不一致 {len(report.foreign_keys)} 处 (foreign key violations)")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "outbox" in tables:
                # Events moved to the archive start the live outbox after the archived mark.
                report.outbox_archived = archived_marks(con)
                previous: dict[str, int] = dict(report.outbox_archived)
                given_up = outbox.lost_ranges(con.cursor()) if "settings" in tables else {}
                for terminal_id, seq in con.execute(
                    "SELECT terminal_id, seq FROM outbox ORDER BY terminal_id, seq"
                ):
                    report.outbox_events += 1
                    expected = previous.get(terminal_id, 0) + 1
                    # Seqs the sync client skipped past the server's copies are a known, recorded gap.
                    if seq != expected and (expected, seq - 1) not in given_up.get(terminal_id, ()):
                        report.outbox_gaps.append(f"{terminal_id}: seq {expected}..{seq - 1} missing")
                    previous[terminal_id] = seq
                if report.outbox_gaps:
                    report.ok = False
                    report.problems.append(
                        "待上传事件序号不连续 (outbox seq gap): " + "; ".join(report.outbox_gaps[:5])
                    )
                if {"counters", "tickets", "stock_rolls", "settings"} <= tables:
                    report.counters = outbox.counter_problems(con.cursor(), report.outbox_archived)
                    if full:
                        report.counters += outbox.hash_problems(con.cursor())
                    if report.counters:
                        report.ok = False
                        report.problems.extend(report.counters[:5])
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        report.ok = False
        error = storage_error(exc, path)
        report.problems.append(f"{error.message} ({error.en})")


def backup(path: Path | str, dest: Path | str | None = None) -> Path:
    """A consistent copy of the live database (SQLite online backup). ``dest``: a file, or a folder,
    or None for the backups folder of the data directory."""
    path = Path(path)
    inspect_file(path)  # refuse to "back up" something that is not ours
    if not path.exists():
        raise StorageError(
            f"数据库文件不存在：{path}", en=f"the database file does not exist: {path}", code="DB_MISSING"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{path.stem}-{stamp}.sqlite3"
    if dest is None:
        target = paths.backup_dir() / name
    else:
        dest = Path(dest)
        target = dest / name if dest.is_dir() else dest
    if target.exists():
        raise StorageError(
            f"备份文件已存在：{target}", en=f"the backup file already exists: {target}", code="BACKUP_EXISTS"
        )
    backup_file(path, target)
    return target


def restore(backup_path: Path | str, path: Path | str) -> dict:
    """Replace the database with a backup. The backup is checked first (ours, not newer, intact);
    the current file is kept aside as ``<name>.before-restore-<time>``. Returns what was done."""
    backup_path, path = Path(backup_path), Path(path)
    if not backup_path.exists():
        raise StorageError(
            f"备份文件不存在：{backup_path}",
            en=f"the backup file does not exist: {backup_path}",
            code="DB_MISSING",
        )
    report = check(backup_path)
    if report.revision is None and not report.problems:
        raise StorageError(
            f"备份文件是空的：{backup_path}",
            en=f"the backup file is empty: {backup_path}",
            code="BACKUP_EMPTY",
        )
    serious = [
        p for p in report.problems if not p.startswith("结构版本")
    ]  # an older schema is migrated later
    if serious:
        raise StorageError(
            f"备份文件不可用，未恢复：{serious[0]}",
            en=f"the backup is not usable; nothing was restored: {serious[0]}",
            code="BACKUP_INVALID",
        )
    # A counter still selling into the old file would go on writing into a file that is gone (or
    # into the restored one, from its stale cache): every sale after the swap would be lost.
    refuse_if_open(path)
    with hold(path, "kezhan db restore"):
        return _swap_in(backup_path, path)


def _swap_in(backup_path: Path, path: Path) -> dict:
    kept_aside = None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if path.exists():
        kept_aside = path.with_name(f"{path.name}.before-restore-{stamp}")
        try:
            backup_file(path, kept_aside)
        except StorageError:
            # The current file may be the damaged one being replaced: keep its bytes as they are.
            shutil.copyfile(path, kept_aside)
    tmp = path.with_name(path.name + ".restoring")
    shutil.copyfile(backup_path, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    for suffix in ("-wal", "-shm"):
        # A stale WAL beside the restored file would be replayed onto it.
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return {
        "restored": str(path),
        "from": str(backup_path),
        "kept_aside": str(kept_aside) if kept_aside else None,
    }
