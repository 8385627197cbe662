"""db_check: what `kezhan doctor` costs on a station's file after a year, before and after the
archive moves the old rows out — and how big the file is.

A year at a large station (380 days × 1,000 departures, ~1,345 tickets a day) is built scaled down:
``SCALE`` (1/10 by default) of the departures and of the sales per day, over the full 380 days, every
sale through ``app.services.sales.sell`` (with ``synchronous=OFF`` while building: durability is not
what is measured). Everything that grows with time — the timetable per day, the tickets per day and
their events and audit entries — grows linearly with the scale, so the full-size figures are the
measured ones divided by the scale; the notes give both.

The value is the quick check (what the doctor runs) on the live file after archiving with the
default 90-day window; the baseline is the full ``integrity_check`` of the year's file before — what
`kezhan db check` and the doctor ran until now. The file is built once and cached in the data directory.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.bench.harness import Figure, time_each
from sync.client.client import CURSOR_ACKED as ACKED_CURSOR

YEAR_DAYS = 380
FULL_DEPARTURES = 1000
FULL_TICKETS_PER_DAY = 1345  # 511,000 tickets over 380 days
SCALE = 0.1
KEEP_DAYS = 90
PRESALE_DAYS = 10
GOAL_CHECK_S = 2.0
GOAL_FILE_MB = 200.0
START = date(2025, 1, 1)
ZONE = ZoneInfo("Asia/Shanghai")


def _file_mb(path: Path) -> float:
    return sum(Path(str(path) + s).stat().st_size for s in ("", "-wal") if Path(str(path) + s).exists()) / 2**20


def build_year(path: Path, *, days: int = YEAR_DAYS, scale: float = SCALE) -> dict:
    """A station's year: the timetable and one shift a day selling ``scale`` × 1,345 tickets, the server
    having acknowledged everything."""
    from app.bench.dataset import build_station_db
    from app.bench.sale import id_numbers
    from app.domain.ed25519 import PrivateKey
    from app.services.context import Terminal
    from app.services.sales import PassengerIn, PaymentIn, sell
    from app.services.shifts import close_shift, open_shift
    from app.services.station import sale_targets
    from app.store.engine import open_database
    from app.store.province import get_setting
    from app.store.users import ensure_user

    departures = max(1, round(FULL_DEPARTURES * scale))
    per_day = max(1, round(FULL_TICKETS_PER_DAY * scale))
    build_station_db(path, days=days, departures_per_day=departures, destinations=max(50, round(3000 * scale)),
                     start_date=START)
    db = open_database(path, pragmas={"synchronous": "OFF"})
    try:
        with db.transaction() as session:
            ensure_user(session, "1001", "王芳", "clerk", "1234")
            station = get_setting(session, "home_station")
        terminal = Terminal(station_code=station, terminal_id=f"{station}-T01",
                            signing_key=PrivateKey.generate(), doc_hash_key=b"bench-doc-hash-key")
        people = id_numbers(per_day)
        sold = 0
        for k in range(days - PRESALE_DAYS):
            day = START + timedelta(days=k)
            morning = datetime(day.year, day.month, day.day, 5, 0, tzinfo=ZONE).astimezone(UTC)
            targets = sale_targets(db, day.isoformat(), not_before="07:00")
            if not targets:
                continue
            first = k * 10_000 + 1
            open_shift(db, terminal, clerk="1001", first_stock_no=f"{first:08d}",
                       last_stock_no=f"{first + per_day + 10:08d}", now=morning)
            for i in range(per_day):
                target = targets[i % len(targets)]
                sell(db, terminal, clerk="1001", departure_id=target.departure_id, stop=target.last_stop,
                     passengers=[PassengerIn(ticket_type="full", name="测试旅客", doc_number=people[i])],
                     payment=PaymentIn(method="cash"), now=morning + timedelta(seconds=i))
                sold += 1
            close_shift(db, terminal, clerk="1001", now=morning + timedelta(hours=10))
    finally:
        db.dispose()
    con = sqlite3.connect(path)
    with con:
        last = con.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
        con.execute("INSERT INTO sync_identity VALUES (?, ?, 'http://province', 's', 'k', 'kid', ?)",
                    (terminal.terminal_id, station, "2025-01-01T00:00:00.000000Z"))
        con.execute("INSERT INTO sync_cursors (name, value) VALUES (?, ?)", (ACKED_CURSOR, str(last)))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {"days": days, "departures_per_day": departures, "tickets": sold}


def year_db(*, days: int = YEAR_DAYS, scale: float = SCALE) -> Path:
    """The cached year file (built on first use; rebuilt when the schema moved on)."""
    from app.bench.dataset import cached_file

    return cached_file(f"year-{days}d-scale{scale:g}.sqlite3", lambda tmp: build_year(tmp, days=days, scale=scale))


def _departures_list_ms(path: Path, day: str, n: int = 200) -> float:
    """Median time of the sale screen's departures list for one destination on ``day``."""
    from app.store.engine import open_database
    from app.store.queries import departures_to

    db = open_database(path, upgrade=False)
    try:
        with db.read() as session:
            (stop,) = session.connection().exec_driver_sql(
                "SELECT r.station FROM route_stops r JOIN departures d ON d.route = r.route "
                "WHERE d.date = ? AND r.seq > 0 ORDER BY r.station LIMIT 1", (day,)).fetchone()
            return statistics.median(time_each(lambda _i: departures_to(session, stop, day), n))
    finally:
        db.dispose()


def db_check(days: int = YEAR_DAYS, scale: float = SCALE, keep_days: int = KEEP_DAYS,
             workdir: Path | None = None) -> Figure:
    from app.services.retention import archive_old_rows
    from app.store import maintenance

    source = year_db(days=days, scale=scale)
    own_tmp = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="kezhan-bench-")) if own_tmp else workdir
    try:
        path = folder / "year.sqlite3"
        shutil.copyfile(source, path)
        last_day = START + timedelta(days=days - 1)
        now = datetime.combine(last_day - timedelta(days=PRESALE_DAYS), datetime.min.time(),
                               tzinfo=ZONE).replace(hour=20).astimezone(UTC)
        today = (last_day - timedelta(days=PRESALE_DAYS)).isoformat()
        size_before = _file_mb(path)
        full_before = maintenance.check(path, full=True)
        quick_before = maintenance.check(path)
        list_before = _departures_list_ms(path, today)
        started = time.monotonic()
        report = archive_old_rows(path, keep_days=keep_days, zone=ZONE, now=now, acked_cursor=ACKED_CURSOR,
                                  compact=True)
        archive_s = time.monotonic() - started
        size_after = _file_mb(path)
        quick_after = maintenance.check(path)
        full_after = maintenance.check(path, full=True)
        list_after = _departures_list_ms(path, today)
        # A second run the next day: the steady state's daily move.
        daily = archive_old_rows(path, keep_days=keep_days, zone=ZONE, now=now + timedelta(days=1),
                                 acked_cursor=ACKED_CURSOR)
        live_days = keep_days + PRESALE_DAYS
        full_size_after = size_after / scale
        full_quick_s = quick_after.seconds / scale
        if not (quick_after.ok and full_after.ok):
            raise RuntimeError(f"the archived file does not check: {quick_after.problems + full_after.problems}")
    finally:
        if own_tmp:
            shutil.rmtree(folder, ignore_errors=True)
    figure = Figure(
        name="db_check", value=quick_after.seconds * 1000, unit="ms", baseline=full_before.seconds * 1000, n=1,
        goal=f"full scale: doctor's check < {GOAL_CHECK_S:g} s, live file < {GOAL_FILE_MB:g} MB",
        notes={
            "scale": scale, "days": days, "keep_days": keep_days,
            "live_mb_before": round(size_before, 1), "live_mb_after": round(size_after, 1),
            "full_scale_mb_before": round(size_before / scale, 1),
            "full_scale_mb_after": round(full_size_after, 1),
            "mb_per_day_live_after": round(size_after / live_days, 3),
            "quick_check_s_before": quick_before.seconds, "full_check_s_before": full_before.seconds,
            "quick_check_s_after": quick_after.seconds, "full_check_s_after": full_after.seconds,
            "full_scale_quick_check_s_after": round(full_quick_s, 2),
            "archive_s": round(archive_s, 1), "archive_mb": round(report.archive_bytes / 2**20, 1),
            "archive_files": report.archive_files, "moved": report.moved,
            "daily_archive_s": daily.seconds, "daily_moved_tickets": daily.moved.get("tickets", 0),
            "departures_list_ms_before": round(list_before, 3), "departures_list_ms_after": round(list_after, 3),
        },
    )
    figure.met = full_quick_s < GOAL_CHECK_S and full_size_after < GOAL_FILE_MB
    return figure
