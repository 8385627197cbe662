"""Retention: moving what the counter and the gate can no longer act on out of the live file, into
one archive file per month beside it (docs/store.md § Retention and archive).

It runs on demand (``kezhan db archive``) and by itself when the counter window opens, bounded in
time (``STARTUP_BUDGET_S``): a day's worth of old rows takes a fraction of a second, and a file that
has a long history to hand over does it a week at a time over several start-ups, or at once with
the command. Nothing the server has not acknowledged moves: the acknowledged seq is the sync
client's cursor, whose name the caller passes in (services sit below ``sync``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from app.domain import retention as rules
from app.errors import ConfigError, StorageError
from app.store import archive as archive_store
from app.store.engine import Database, storage_error
from app.store.models import iso_utc, parse_utc

log = logging.getLogger("kezhan.retention")

STARTUP_BUDGET_S = 2.0
# Compacting rewrites the whole file: worth it only when much of it is free pages (after the first
# archive of a long history); in the steady state new rows reuse the pages old ones left.
COMPACT_FREE_FRACTION = 0.25


@dataclass
class ArchiveReport:
    keep_days: int
    window_first_date: str  # departures on this local date or later stay
    window_starts_at: str  # rows stamped at this UTC instant or later stay
    finished: bool = True  # False: the time budget ran out; the next run goes on
    moved: dict[str, int] = field(default_factory=dict)  # table -> rows deleted from the live file
    months: list[str] = field(default_factory=list)  # archive months written this run
    held_by_unacknowledged: int = 0  # unacknowledged events that keep their tickets and shifts live
    enrolled: bool = True
    compacted: bool = False
    live_bytes_before: int = 0
    live_bytes_after: int = 0
    seconds: float = 0.0
    archive_files: int = 0
    archive_bytes: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _ids_in(payload: str, tickets: set[str], shifts: set[str]) -> None:
    """The tickets and shift an unacknowledged event speaks of."""
    try:
        data = json.loads(payload)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    for key in ("ticket_id", "old_ticket_id"):
        if isinstance(data.get(key), str):
            tickets.add(data[key])
    for item in [data.get("new_ticket"), *(data.get("tickets") or [])]:
        if isinstance(item, dict) and isinstance(item.get("ticket_id"), str):
            tickets.add(item["ticket_id"])
    if isinstance(data.get("shift_id"), str):
        shifts.add(data["shift_id"])


def _file_bytes(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total


def archive_old_rows(db: Database | Path, *, keep_days: int, zone: ZoneInfo, now: datetime, acked_cursor: str,
                     budget_s: float | None = None, compact: bool = False) -> ArchiveReport:
    """Move what is older than the window and acknowledged to the monthly archive files; a week at
    a time, oldest first, until done or ``budget_s`` seconds have passed. ``compact``: rewrite the live
    file afterwards when a quarter of it or more is free pages."""
    problem = rules.keep_days_problem(keep_days)
    if problem:
        raise ConfigError(f"保留天数 database.keep_days 不可用（{rules.MIN_KEEP_DAYS}..{rules.MAX_KEEP_DAYS} 天）：{keep_days!r}",
                          en=f"database.keep_days {problem}", code="BAD_KEEP_DAYS")
    path = Path(db.path if isinstance(db, Database) else db)
    started = time.monotonic()
    con = archive_store.connect_live(path)
    try:
        state = archive_store.live_state(con, acked_cursor=acked_cursor)
        oldest_open = parse_utc(state.oldest_open_shift) if state.oldest_open_shift else None
        window = rules.window(now, keep_days, zone, oldest_open_shift=oldest_open)
        events = rules.window(now, min(keep_days, rules.RECORDS_KEEP_DAYS), zone, oldest_open_shift=oldest_open)
        seat_maps = rules.window(now, rules.SEAT_MAP_KEEP_DAYS, zone, oldest_open_shift=oldest_open)
        report = ArchiveReport(keep_days=keep_days, window_first_date=window.first_date,
                               window_starts_at=window.starts_at_text, enrolled=state.terminal_id is not None,
                               held_by_unacknowledged=len(state.pending_payloads),
                               live_bytes_before=_file_bytes(path))
        keep_tickets: set[str] = set()
        keep_shifts: set[str] = set()
        for payload in state.pending_payloads:
            _ids_in(payload, keep_tickets, keep_shifts)
        months: set[str] = set()
        # Stamped rows file under their local month; a zone with summer time is off by an hour at most.
        offset = int(window.starts_at.astimezone(zone).utcoffset().total_seconds() // 60)
        # A week at a time, oldest first, up to the last of the windows (the records' is the latest).
        last = max(window.first_date, events.first_date, seat_maps.first_date)

        def advance(after: str | None) -> str:
            # Past the sales window only the days of records and seat maps are left: one step.
            following = _next_chunk(after, last)
            return last if following >= window.first_date else following

        chunk = advance(state.oldest_departure_date)
        while True:
            midnight = _local_midnight(chunk, zone)
            dropped = archive_store.drop_seat_maps(con, before_date=min(chunk, seat_maps.first_date))
            if dropped:
                report.moved["seat maps dropped (seats)"] = report.moved.get("seat maps dropped (seats)", 0) + dropped
            plan = archive_store.plan(con, before_date=min(chunk, window.first_date),
                                      before_at=iso_utc(min(window.starts_at, midnight)),
                                      events_before_at=iso_utc(min(events.starts_at, midnight)),
                                      terminal_id=state.terminal_id, acked_seq=state.acked_seq,
                                      keep_tickets=keep_tickets, keep_shifts=keep_shifts,
                                      utc_offset_minutes=offset)
            if plan.rows:
                for month in plan.months:
                    archive_store.copy_month(con, path, month, terminal_id=state.terminal_id)
                deleted = archive_store.delete_moved(con, path, plan)
                for table, count in deleted.items():
                    report.moved[table] = report.moved.get(table, 0) + count
                months.update(plan.months)
                log.info("archived rows before %s into %s: %s", chunk, ", ".join(plan.months), deleted)
            if chunk >= last:
                break
            if budget_s is not None and time.monotonic() - started > budget_s:
                report.finished = False
                break
            chunk = advance(chunk)
        if compact and archive_store.free_fraction(con) >= COMPACT_FREE_FRACTION:
            archive_store.compact(con)
            report.compacted = True
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    finally:
        con.close()
    report.months = sorted(months)
    report.live_bytes_after = _file_bytes(path)
    summary = archive_store.summary(path)
    report.archive_files, report.archive_bytes = summary.files, summary.bytes
    report.seconds = round(time.monotonic() - started, 3)
    return report


CHUNK_DAYS = 7  # a week of a large station's history: a couple of seconds of write lock


def _next_chunk(after: str | None, last: str) -> str:
    """The next chunk's end: a week after ``after``, never past ``last``."""
    if after is None or after >= last:
        return last
    return min((date.fromisoformat(after) + timedelta(days=CHUNK_DAYS)).isoformat(), last)


def _local_midnight(day: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), dtime(0, 0), tzinfo=zone).astimezone(UTC)


def archive_at_startup(db: Database, *, keep_days: int, zone: ZoneInfo, now: datetime,
                       acked_cursor: str) -> ArchiveReport | None:
    """The quiet moment's run: before the window shows, bounded by ``STARTUP_BUDGET_S``. A failure is
    logged, never a reason not to open the counter."""
    try:
        report = archive_old_rows(db, keep_days=keep_days, zone=zone, now=now, acked_cursor=acked_cursor,
                                  budget_s=STARTUP_BUDGET_S)
    except (StorageError, ConfigError) as exc:
        log.warning("archiving at start-up failed (the counter opens anyway): %s", exc.en)
        return None
    except OSError as exc:  # a read-only or full data folder: the archive folder cannot be made or read
        log.warning("archiving at start-up failed (the counter opens anyway): %s", exc)
        return None
    if report.moved:
        log.info("archived at start-up in %.1f s: %s%s", report.seconds, report.moved,
                 "" if report.finished else " (more next time)")
    return report


@dataclass(frozen=True)
class RetentionInfo:
    """What the technician sees of retention (doctor, db check)."""

    keep_days: int
    archive_months: list[str]
    archive_bytes: int

    def line(self) -> str:
        if not self.archive_months:
            where = "no archive file yet"
        else:
            first, last = self.archive_months[0], self.archive_months[-1]
            span = first if first == last else f"{first}..{last}"
            where = f"archive {span} ({len(self.archive_months)} files, {self.archive_bytes / 1e6:.1f} MB)"
        return f"keeps {self.keep_days} days live ([database] keep_days); {where}"


def retention_info(db_path: Path, keep_days: int) -> RetentionInfo:
    summary = archive_store.summary(Path(db_path))
    return RetentionInfo(keep_days, summary.months, summary.bytes)


def archived_tickets(db_path: Path, months: list[str] | None = None) -> list:
    """The tickets in the archive files of ``months`` (all when None), oldest month first; a ticket
    found in two files (a move interrupted, then redone) is given once."""
    seen: set[str] = set()
    out = []
    for month, path in archive_store.archive_files(Path(db_path)):
        if months is not None and month not in months:
            continue
        for row in archive_store.exported_tickets(path):
            if row.ticket_id not in seen:
                seen.add(row.ticket_id)
                out.append(row)
    return out
