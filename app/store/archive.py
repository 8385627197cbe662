"""The monthly archive: old rows moved out of the live file into one SQLite file per month beside it
(``archive/<name>-YYYY-MM.sqlite3``), and read back for exports.

What may move is decided above (``app.domain.retention``, ``app.services.retention``); this module
plans a move into a temporary table of the live file's rowids, copies those rows into the archive
files (committed with ``synchronous=FULL``), then deletes from the live file in one transaction only
the rows that an archive holds identically. A crash between the two steps leaves the rows in both
files; the next run copies them again (``INSERT OR REPLACE`` on the same primary key: no second copy)
and deletes them, and a reader meanwhile takes the live row and skips the archived one.

The move goes through its own sqlite3 connection: ``ATTACH`` is per connection and must not leak into
the counter's pool.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.store.engine import BUSY_TIMEOUT_MS, storage_error
from app.store.outbox import OutboxRow
from app.store.tickets import ExportedTicket

ARCHIVE_FOLDER = "archive"
AUDIT_MARK = "audit_archived_through"  # the counter the audit log's delete trigger reads (migration 0006)
OUTBOX_MARK = "outbox_archived:"  # + terminal id: the highest seq moved out, so the seq check knows where to start

# Children before parents: the order the live file deletes them in (foreign keys stay on).
MOVED_TABLES = ("passengers", "payments", "tickets", "orders", "spoiled_stock", "stock_rolls", "shifts",
                "departures", "outbox", "audit_log")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def archive_folder(db_path: Path) -> Path:
    return Path(db_path).parent / ARCHIVE_FOLDER


def archive_file(db_path: Path, month: str) -> Path:
    if not _MONTH.match(month):
        raise ValueError(f"not a month: {month!r}")
    return archive_folder(db_path) / f"{Path(db_path).stem}-{month}.sqlite3"


def archive_files(db_path: Path) -> list[tuple[str, Path]]:
    """The archive files of this database, oldest month first."""
    folder, stem = archive_folder(db_path), Path(db_path).stem
    out = []
    for path in folder.glob(f"{stem}-*.sqlite3"):
        month = path.stem[len(stem) + 1:]
        if _MONTH.match(month):
            out.append((month, path))
    return sorted(out)


# --- the move --------------------------------------------------------------------------------------


def connect_live(path: Path) -> sqlite3.Connection:
    """A private connection to the live file for one archive run."""
    try:
        con = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("CREATE TEMP TABLE IF NOT EXISTS mv (tbl TEXT NOT NULL, month TEXT NOT NULL, "
                    "rid INTEGER NOT NULL, PRIMARY KEY (tbl, month, rid)) WITHOUT ROWID")
        con.execute("CREATE TEMP TABLE IF NOT EXISTS keep_ticket (id TEXT PRIMARY KEY) WITHOUT ROWID")
        con.execute("CREATE TEMP TABLE IF NOT EXISTS keep_shift (id TEXT PRIMARY KEY) WITHOUT ROWID")
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    return con


@dataclass(frozen=True)
class LiveState:
    """What the plan needs to know of the live file before it chooses rows."""

    terminal_id: str | None  # the enrolled terminal; None: nothing was ever acknowledged
    acked_seq: int
    oldest_open_shift: str | None  # opened_at (UTC ISO) of the oldest shift still open
    pending_payloads: list[str]  # the payload text of every event the server has not acknowledged
    oldest_departure_date: str | None


def live_state(con: sqlite3.Connection, *, acked_cursor: str) -> LiveState:
    cur = con.cursor()
    cur.execute("SELECT terminal_id FROM sync_identity")
    row = cur.fetchone()
    terminal_id = row[0] if row else None
    cur.execute("SELECT value FROM sync_cursors WHERE name = ?", (acked_cursor,))
    row = cur.fetchone()
    acked = int(row[0]) if row and str(row[0]).isdigit() else 0
    cur.execute("SELECT min(opened_at) FROM shifts WHERE closed_at IS NULL")
    oldest_open = cur.fetchone()[0]
    # Unacknowledged: above the cursor, and every event of a file never enrolled (or of another terminal id).
    cur.execute("SELECT payload FROM outbox WHERE terminal_id IS NOT ? OR seq > ?", (terminal_id, acked))
    pending = [payload for (payload,) in cur.fetchall()]
    cur.execute("SELECT min(date) FROM departures")
    oldest_date = cur.fetchone()[0]
    return LiveState(terminal_id, acked, oldest_open, pending, oldest_date)


@dataclass
class Plan:
    """Rows chosen to move, per month and table (counts), and the marks the delete will raise."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> table -> rows
    outbox_through: int | None = None
    audit_through: int | None = None
    terminal_id: str | None = None

    @property
    def months(self) -> list[str]:
        return sorted(self.counts)

    @property
    def rows(self) -> int:
        return sum(sum(tables.values()) for tables in self.counts.values())


def plan(con: sqlite3.Connection, *, before_date: str, before_at: str, terminal_id: str | None, acked_seq: int,
         keep_tickets: Iterable[str], keep_shifts: Iterable[str], events_before_at: str | None = None,
         utc_offset_minutes: int = 0) -> Plan:
    """Choose what moves: departures before ``before_date`` (local) with everything sold on them, rows
    stamped before ``before_at`` (UTC ISO); never a ticket in ``keep_tickets`` (an unacknowledged
    event mentions it) nor anything of a shift still open; a shift in ``keep_shifts`` (an unacknowledged
    event names it) keeps its own row while what was sold in it may go. Months: a ticket and
    its order, passengers and payments go with its departure's date; shifts, events and audit entries
    with their local month (the station's ``utc_offset_minutes``). Acknowledged events and audit entries
    go once stamped before ``events_before_at`` (default ``before_at``)."""
    events_before_at = events_before_at or before_at
    local = f"'{int(utc_offset_minutes):+d} minutes'"
    cur = con.cursor()
    cur.execute("BEGIN")
    try:
        for table in ("mv", "keep_ticket", "keep_shift"):
            cur.execute(f"DELETE FROM temp.{table}")
        cur.executemany("INSERT OR IGNORE INTO temp.keep_ticket VALUES (?)", ((t,) for t in keep_tickets))
        cur.executemany("INSERT OR IGNORE INTO temp.keep_shift VALUES (?)", ((s,) for s in keep_shifts))
        cur.execute("INSERT OR IGNORE INTO temp.keep_shift SELECT id FROM shifts WHERE closed_at IS NULL")
        # The newest row of a table numbered by SQLite stays, so a number is never handed out twice
        # (a new row takes the largest live number + 1, and would land on an archived one).
        cur.execute("INSERT OR IGNORE INTO temp.keep_shift SELECT shift_id FROM stock_rolls "
                    "WHERE id = (SELECT max(id) FROM stock_rolls)")
        # Tickets whose whole order may go: departed before the window, not held by an event the server
        # has not acknowledged, an open task or a shift that stays.
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS held_order (id TEXT PRIMARY KEY) WITHOUT ROWID")
        cur.execute("DELETE FROM temp.held_order")
        cur.execute(
            "INSERT OR IGNORE INTO temp.held_order SELECT t.order_id FROM tickets t "
            "JOIN departures d ON d.id = t.departure_id "
            "WHERE d.date >= ? OR t.id IN (SELECT id FROM temp.keep_ticket) "
            "OR t.shift_id IN (SELECT id FROM shifts WHERE closed_at IS NULL) "
            "OR t.id IN (SELECT ticket_id FROM sync_tasks WHERE status = 'open' AND ticket_id IS NOT NULL)",
            (before_date,))
        cur.execute(
            "INSERT OR IGNORE INTO temp.held_order SELECT id FROM orders WHERE shift_id IN "
            "(SELECT id FROM shifts WHERE closed_at IS NULL) UNION SELECT order_id FROM payments "
            "WHERE order_id IS NOT NULL AND shift_id IN (SELECT id FROM shifts WHERE closed_at IS NULL) "
            "UNION SELECT order_id FROM payments WHERE id = (SELECT max(id) FROM payments)")
        cur.execute(
            "INSERT INTO temp.mv (tbl, month, rid) SELECT 'tickets', substr(d.date, 1, 7), t.rowid "
            "FROM tickets t JOIN departures d ON d.id = t.departure_id "
            "WHERE d.date < ? AND t.order_id NOT IN (SELECT id FROM temp.held_order)", (before_date,))
        cur.execute(
            "INSERT INTO temp.mv (tbl, month, rid) SELECT 'passengers', m.month, p.rowid FROM temp.mv m "
            "JOIN tickets t ON t.rowid = m.rid JOIN passengers p ON p.ticket_id = t.id WHERE m.tbl = 'tickets'")
        # An order goes with all its tickets and payments, in the month of its latest departure.
        cur.execute(
            "INSERT INTO temp.mv (tbl, month, rid) SELECT 'orders', max(m.month), o.rowid "
            "FROM temp.mv m JOIN tickets t ON t.rowid = m.rid JOIN orders o ON o.id = t.order_id "
            "WHERE m.tbl = 'tickets' GROUP BY o.rowid")
        cur.execute(
            "INSERT INTO temp.mv (tbl, month, rid) SELECT 'payments', m.month, p.rowid FROM temp.mv m "
            "JOIN orders o ON o.rowid = m.rid JOIN payments p ON p.order_id = o.id WHERE m.tbl = 'orders'")
        # Closed shifts before the window that nothing left in the live file points at.
        cur.execute(
            f"INSERT INTO temp.mv (tbl, month, rid) SELECT 'shifts', strftime('%Y-%m', s.opened_at, {local}), s.rowid FROM shifts s "
            "WHERE s.closed_at IS NOT NULL AND s.closed_at < ? AND s.id NOT IN (SELECT id FROM temp.keep_shift) "
            "AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.shift_id = s.id "
            "  AND t.rowid NOT IN (SELECT rid FROM temp.mv WHERE tbl = 'tickets')) "
            "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.shift_id = s.id "
            "  AND o.rowid NOT IN (SELECT rid FROM temp.mv WHERE tbl = 'orders')) "
            "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.shift_id = s.id "
            "  AND p.rowid NOT IN (SELECT rid FROM temp.mv WHERE tbl = 'payments'))", (before_at,))
        for table in ("stock_rolls", "spoiled_stock"):
            cur.execute(
                f"INSERT INTO temp.mv (tbl, month, rid) SELECT '{table}', m.month, x.rowid FROM temp.mv m "
                f"JOIN shifts s ON s.rowid = m.rid JOIN {table} x ON x.shift_id = s.id WHERE m.tbl = 'shifts'")
        # Departures before the window with no ticket left on them and no open task naming them.
        cur.execute(
            "INSERT INTO temp.mv (tbl, month, rid) SELECT 'departures', substr(d.date, 1, 7), d.rowid "
            "FROM departures d WHERE d.date < ? "
            "AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.departure_id = d.id "
            "  AND t.rowid NOT IN (SELECT rid FROM temp.mv WHERE tbl = 'tickets')) "
            "AND d.id NOT IN (SELECT departure_id FROM sync_tasks WHERE status = 'open' AND departure_id IS NOT NULL)",
            (before_date,))
        result = Plan(terminal_id=terminal_id)
        # Events: a prefix of the acknowledged ones, stamped before their window. The newest acknowledged
        # event stays: the uploader sends it again at start-up to meet the server's high-water mark.
        if terminal_id is not None and acked_seq > 1:
            cur.execute("SELECT min(seq) FROM outbox WHERE terminal_id = ? AND created_at >= ?",
                        (terminal_id, events_before_at))
            first_kept = cur.fetchone()[0]
            through = acked_seq - 1 if first_kept is None else min(acked_seq - 1, first_kept - 1)
            cur.execute(
                f"INSERT INTO temp.mv (tbl, month, rid) SELECT 'outbox', strftime('%Y-%m', created_at, {local}), rowid FROM outbox "
                "WHERE terminal_id = ? AND seq <= ?", (terminal_id, through))
            if cur.rowcount:
                result.outbox_through = through
        # Audit entries: a prefix by id, stamped before the records' window (nothing in the terminal reads
        # the audit log; it is a record, kept whole in the archive).
        cur.execute("SELECT min(id) FROM audit_log WHERE at >= ?", (events_before_at,))
        first_kept = cur.fetchone()[0]
        cur.execute("SELECT max(id) FROM audit_log WHERE at < ? AND id < (SELECT max(id) FROM audit_log)"
                    + ("" if first_kept is None else " AND id < ?"),
                    (events_before_at,) if first_kept is None else (events_before_at, first_kept))
        audit_through = cur.fetchone()[0]
        if audit_through is not None:
            cur.execute(f"INSERT INTO temp.mv (tbl, month, rid) SELECT 'audit_log', strftime('%Y-%m', at, {local}), id "
                        "FROM audit_log WHERE id <= ?", (audit_through,))
            result.audit_through = audit_through
        cur.execute("SELECT month, tbl, count(*) FROM temp.mv GROUP BY month, tbl")
        for month, table, count in cur.fetchall():
            result.counts.setdefault(month, {})[table] = count
        cur.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return result


def drop_seat_maps(con: sqlite3.Connection, *, before_date: str) -> int:
    """Delete the seat map and the leases of every departure dated before ``before_date`` (local): the
    province's pool of a bus that has left is nobody's record, every seat sold here is on its ticket,
    and the map is most of what a day of timetable weighs. Returns the seats deleted."""
    con.execute("BEGIN IMMEDIATE")
    try:
        cur = con.execute("DELETE FROM seats WHERE departure_id IN (SELECT id FROM departures WHERE date < ?)",
                          (before_date,))
        dropped = max(cur.rowcount, 0)
        con.execute("DELETE FROM seat_leases WHERE departure_id IN (SELECT id FROM departures WHERE date < ?) "
                    "AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.lease_id = seat_leases.id)", (before_date,))
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return dropped


def _rollback(con: sqlite3.Connection) -> None:
    if con.in_transaction:
        con.execute("ROLLBACK")


def _columns(con: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, position in the primary key) of a table's columns."""
    return [(name, type_, pk) for _cid, name, type_, _nn, _default, pk
            in con.execute(f"PRAGMA {schema}.table_info({table})")]


def _ensure_tables(con: sqlite3.Connection, alias: str) -> None:
    """The archived tables in an archive file: the live file's own CREATE TABLE (keys and column types,
    no indexes and no triggers); columns a later schema added are added to an older archive."""
    for table in MOVED_TABLES:
        live = _columns(con, "main", table)
        have = {name for name, _t, _pk in _columns(con, alias, table)}
        if not have:
            (sql,) = con.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                                 (table,)).fetchone()
            con.execute(sql.replace("CREATE TABLE ", f"CREATE TABLE {alias}.", 1))
            continue
        for name, type_, _pk in live:
            if name not in have:
                con.execute(f'ALTER TABLE {alias}.{table} ADD COLUMN "{name}" {type_}')
    con.execute(f"CREATE TABLE IF NOT EXISTS {alias}.archive_info (key TEXT PRIMARY KEY, value TEXT)")


def _attach(con: sqlite3.Connection, path: Path, alias: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute("ATTACH DATABASE ? AS " + alias, (str(path),))
    con.execute(f"PRAGMA {alias}.journal_mode = DELETE")
    con.execute(f"PRAGMA {alias}.synchronous = FULL")


def _detach(con: sqlite3.Connection, alias: str) -> None:
    try:
        con.execute(f"DETACH DATABASE {alias}")
    except sqlite3.Error:
        pass


def copy_month(con: sqlite3.Connection, db_path: Path, month: str, *, terminal_id: str | None) -> dict[str, int]:
    """Copy the planned rows of ``month`` into its archive file, in one committed transaction that
    writes (and locks) that file only. Copying again replaces the same rows (same primary keys): no second copy."""
    path = archive_file(db_path, month)
    copied: dict[str, int] = {}
    # Foreign keys are per file: the archive holds a ticket whose order may stay live a while.
    con.execute("PRAGMA foreign_keys = OFF")
    _attach(con, path, "arc")
    try:
        # Deferred, not IMMEDIATE: IMMEDIATE would take the write lock of every attached file, the live
        # one too, and the counter could not sell while a month is copied. Deferred, only the archive
        # file is written and locked; the live file is read from its snapshot.
        con.execute("BEGIN")
        try:
            _ensure_tables(con, "arc")
            for table in MOVED_TABLES:
                names = ", ".join(f'"{name}"' for name, _t, _pk in _columns(con, "main", table))
                cur = con.execute(
                    f"INSERT OR REPLACE INTO arc.{table} ({names}) SELECT {names} FROM main.{table} "
                    f"WHERE rowid IN (SELECT rid FROM temp.mv WHERE tbl = ? AND month = ?)", (table, month))
                if cur.rowcount:
                    copied[table] = cur.rowcount
            con.execute("INSERT OR REPLACE INTO arc.archive_info (key, value) VALUES ('source', ?), ('terminal_id', ?)",
                        (Path(db_path).name, terminal_id or ""))
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
    finally:
        _detach(con, "arc")
        con.execute("PRAGMA foreign_keys = ON")
    return copied


def _same_row(con: sqlite3.Connection, table: str, alias: str) -> str:
    """SQL true when ``alias`` holds the live row ``x`` of ``table`` column for column."""
    columns = _columns(con, "main", table)
    keys = [name for name, _t, pk in columns if pk] or ["rowid"]
    key_match = " AND ".join(f'a."{k}" = x."{k}"' for k in keys)
    rest = " AND ".join(f'a."{name}" IS x."{name}"' for name, _t, pk in columns if not pk)
    return f"EXISTS (SELECT 1 FROM {alias}.{table} a WHERE {key_match}" + (f" AND {rest})" if rest else ")")


def delete_moved(con: sqlite3.Connection, db_path: Path, result: Plan) -> dict[str, int]:
    """Delete from the live file, in one transaction, every planned row that its month's archive holds
    identically (a row changed since the copy stays for the next run). The seat map and the leases of a
    departure that goes are dropped with it: the province's pool of a bus that left months ago is nobody's
    record, and every seat sold here is on its ticket."""
    months = result.months
    aliases = {month: f"arc{i}" for i, month in enumerate(months)}
    deleted: dict[str, int] = {}
    attached = []
    try:
        for month, alias in aliases.items():
            _attach(con, archive_file(db_path, month), alias)
            attached.append(alias)
        con.execute("BEGIN IMMEDIATE")
        try:
            if result.audit_through is not None:
                con.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                            "SET value = max(value, excluded.value)", (AUDIT_MARK, result.audit_through))
            if result.outbox_through is not None and result.terminal_id:
                con.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                            "SET value = max(value, excluded.value)",
                            (OUTBOX_MARK + result.terminal_id, result.outbox_through))
            for table in MOVED_TABLES:
                if table == "departures":
                    for month, alias in aliases.items():
                        for child in ("seats", "seat_leases"):
                            cur = con.execute(
                                f"DELETE FROM main.{child} WHERE departure_id IN (SELECT x.id FROM main.departures x "
                                "JOIN temp.mv m ON m.tbl = 'departures' AND m.month = ? AND m.rid = x.rowid "
                                f"WHERE {_same_row(con, 'departures', alias)})", (month,))
                            if cur.rowcount:
                                deleted[child] = deleted.get(child, 0) + cur.rowcount
                for month, alias in aliases.items():
                    cur = con.execute(
                        f"DELETE FROM main.{table} AS x WHERE x.rowid IN "
                        f"(SELECT rid FROM temp.mv WHERE tbl = ? AND month = ?) AND {_same_row(con, table, alias)}",
                        (table, month))
                    if cur.rowcount:
                        deleted[table] = deleted.get(table, 0) + cur.rowcount
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
    finally:
        for alias in attached:
            _detach(con, alias)
    return deleted


# --- reading ---------------------------------------------------------------------------------------


def _connect_ro(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return con


def exported_tickets(path: Path) -> list[ExportedTicket]:
    """The tickets of one archive file as ``app.store.tickets.exported_tickets`` reads the live file;
    a ticket whose order is still live counts as the counter's."""
    try:
        con = _connect_ro(path)
        try:
            rows = con.execute(
                "SELECT t.id, t.order_id, t.departure_id, t.seat_no, t.status, t.ticket_type, t.fare, t.price, "
                "t.insurance, t.stop, p.name, p.doc_type, p.doc_masked, substr(t.doc_hash, 1, 2), t.carried_by, t.stock_no, "
                "t.clerk, t.shift_id, t.sold_at, t.closed_at FROM tickets t LEFT JOIN orders o ON o.id = t.order_id "
                "LEFT JOIN passengers p ON p.ticket_id = t.id WHERE coalesce(o.channel, 'counter') NOT IN ('web', 'peer') "
                "ORDER BY t.sold_at, t.id").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from None
    return [ExportedTicket(*row) for row in rows]


@dataclass(frozen=True)
class ArchiveSummary:
    months: list[str]
    files: int
    bytes: int


def summary(db_path: Path) -> ArchiveSummary:
    files = archive_files(db_path)
    return ArchiveSummary([m for m, _p in files], len(files), sum(p.stat().st_size for _m, p in files))


def archived_marks(con: sqlite3.Connection) -> dict[str, int]:
    """The outbox marks (terminal id -> highest seq moved out) of a live file, read-only."""
    try:
        rows = con.execute("SELECT name, value FROM counters WHERE name LIKE ?", (OUTBOX_MARK + "%",)).fetchall()
    except sqlite3.Error:
        return {}
    return {name[len(OUTBOX_MARK):]: int(value) for name, value in rows}


def free_fraction(con: sqlite3.Connection) -> float:
    """The share of the live file that is free pages."""
    pages = con.execute("PRAGMA main.page_count").fetchone()[0]
    free = con.execute("PRAGMA main.freelist_count").fetchone()[0]
    return free / pages if pages else 0.0


def compact(con: sqlite3.Connection) -> None:
    """Rewrite the live file without its free pages (it waits for, then briefly holds, the write lock)."""
    con.execute("VACUUM main")
    con.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")


def archived_through(cur, terminal_id: str) -> int:
    """The highest seq of ``terminal_id`` moved to the archive (0 when none was)."""
    cur.execute("SELECT value FROM counters WHERE name = ?", (OUTBOX_MARK + terminal_id,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def archived_events(db_path: Path, terminal_id: str, after_seq: int, limit: int) -> list[OutboxRow]:
    """The next ``limit`` archived events of ``terminal_id`` after ``after_seq``, in seq order: what
    the uploader resends when the server asks for events from before the live outbox (a server
    restored from its backup)."""
    found: list[OutboxRow] = []
    for _month, path in archive_files(Path(db_path)):
        try:
            con = _connect_ro(path)
            try:
                found += map(OutboxRow._make, con.execute(
                    "SELECT terminal_id, seq, event_id, type, created_at, payload, hash FROM outbox "
                    "WHERE terminal_id = ? AND seq > ? ORDER BY seq LIMIT ?", (terminal_id, after_seq, limit)))
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from None
    return sorted(found, key=lambda row: row.seq)[:limit]


def archived_pickup(db_path: Path, ticket_id: str) -> bool:
    """Whether an archived ``ticket.picked_up`` event of this file names ``ticket_id``: a web ticket
    picked up here is this window's to refund or change long after its event left the live file.
    Rare (an after-sale of a web ticket), so the months are read one by one."""
    for _month, path in archive_files(Path(db_path)):
        try:
            con = _connect_ro(path)
            try:
                if con.execute("SELECT 1 FROM outbox WHERE type = 'ticket.picked_up' "
                               "AND json_extract(payload, '$.ticket_id') = ? LIMIT 1", (ticket_id,)).fetchone():
                    return True
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from None
    return False
