"""Retention: old rows the server has acknowledged move to the monthly archive; nothing else does."""

from __future__ import annotations

import copy
import sqlite3
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app.commands.export import export_tickets
from app.services import PassengerIn, PaymentIn, close_shift, open_shift, sell
from app.services.retention import archive_old_rows
from app.store import archive as archive_store
from app.store.province import load_province
from sync.client.client import CURSOR_ACKED
from tests.integration.services.conftest import CLERK, TERMINAL_ID
from tests.integration.services.helpers import rows
from tests.integration.store.tiny_province import D_0800, DAY, HOME, ID_B, ID_C, NINGBO, NOW, tiny_province

ZONE = ZoneInfo("Asia/Shanghai")
LATER = NOW + timedelta(days=100)  # the 2026-12-01 departures are 99 days old
LATER_DAY = "2027-03-11"  # LATER in Shanghai
MONTH = DAY[:7]


def enrol(path, acked: int) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT OR IGNORE INTO sync_identity VALUES (?, ?, 'http://province', 's', 'k', 'kid', "
                    "'2026-11-01T00:00:00.000000Z')", (TERMINAL_ID, HOME))
        con.execute("INSERT INTO sync_cursors (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (CURSOR_ACKED, str(acked)))
    con.close()


def archive(db, keep_days=90, now=LATER):
    return archive_old_rows(db, keep_days=keep_days, zone=ZONE, now=now, acked_cursor=CURSOR_ACKED)


def archived(db_path, sql, *args):
    path = archive_store.archive_file(db_path, MONTH)
    return rows(path, sql, *args)


@pytest.fixture
def day_of_sales(db, terminal, sale):
    """Ticket A (the ``sale``: seq 2), ticket B (seq 3), the shift closed (seq 4)."""
    second = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                  passengers=[PassengerIn("full", "李四", doc_number=ID_B)],
                  payment=PaymentIn("cash", tendered=10000), now=NOW + timedelta(minutes=2))
    close_shift(db, terminal, clerk=CLERK, now=NOW + timedelta(hours=8))
    return sale.ticket_ids[0], second.ticket_ids[0]


@pytest.fixture
def a_day_in_the_window(db, terminal, day_of_sales):
    """100 days later: a new shift and a sale on that day's bus (seq 5 and 6). The newest payment, roll
    and audit entry are these, as at any working station (the newest of each always stays)."""
    doc = copy.deepcopy(tiny_province())
    departure = dict(doc["departures"][0], id=f"{HOME}-{LATER_DAY.replace('-', '')}-K0800", date=LATER_DAY)
    doc["departures"] = [departure]
    with db.transaction() as session:
        load_province(session, doc)
    open_shift(db, terminal, clerk=CLERK, first_stock_no="00100101", last_stock_no="00100200", now=LATER)
    sell(db, terminal, clerk=CLERK, departure_id=departure["id"], stop=NINGBO,
         passengers=[PassengerIn("full", "王五", doc_number=ID_C)],
         payment=PaymentIn("cash", tendered=10000), now=LATER + timedelta(minutes=1))
    return day_of_sales


def test_only_acknowledged_old_rows_move_an_unacknowledged_event_stays(db, db_path, a_day_in_the_window):
    ticket_a, ticket_b = a_day_in_the_window
    enrol(db_path, acked=2)  # the server has the shift's opening and ticket A's sale, not the rest

    report = archive(db)

    live_tickets = [r[0] for r in rows(db_path, "SELECT t.id FROM tickets t JOIN departures d ON d.id = t.departure_id "
                                              "WHERE d.date = ?", DAY)]
    assert live_tickets == [ticket_b]  # B's sale is not acknowledged: it stays, with its departure and shift
    assert archived(db_path, "SELECT id FROM tickets") == [(ticket_a,)]
    assert archived(db_path, "SELECT name FROM passengers") == [("张三",)]
    assert rows(db_path, "SELECT seq FROM outbox ORDER BY seq") == [(2,), (3,), (4,), (5,), (6,)]
    assert archived(db_path, "SELECT seq, type FROM outbox") == [(1, "shift.opened")]
    assert rows(db_path, "SELECT count(*) FROM shifts") == [(2,)]  # the first is named by unacknowledged events
    assert rows(db_path, "SELECT count(*) FROM departures WHERE id = ?", D_0800) == [(1,)]
    assert report.held_by_unacknowledged == 4 and report.moved["tickets"] == 1

    enrol(db_path, acked=6)  # now the server has everything
    archive(db)

    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]  # the one in the window
    assert rows(db_path, "SELECT count(*) FROM shifts") == [(1,)]  # the open one
    assert rows(db_path, "SELECT count(*) FROM departures WHERE date = ?", DAY) == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM seats WHERE departure_id = ?", D_0800) == [(0,)]
    # Events stamped in the window stay; so would the newest acknowledged one (the uploader shows it
    # to the server at start-up).
    assert rows(db_path, "SELECT seq FROM outbox") == [(5,), (6,)]
    assert sorted(archived(db_path, "SELECT id FROM tickets")) == sorted([(ticket_a,), (ticket_b,)])
    assert archived(db_path, "SELECT seq FROM outbox ORDER BY seq") == [(1,), (2,), (3,), (4,)]
    assert archived(db_path, "SELECT count(*) FROM shifts") == [(1,)]
    assert archived(db_path, "SELECT count(*) FROM departures") == [(6,)]


def test_a_file_the_server_never_acknowledged_keeps_every_sale(db, db_path, day_of_sales):
    report = archive(db)  # not enrolled
    assert not report.enrolled
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(2,)]
    assert rows(db_path, "SELECT count(*) FROM outbox") == [(4,)]


def test_the_window_is_honoured(db, db_path, a_day_in_the_window):
    enrol(db_path, acked=6)
    archive(db, keep_days=120)  # 99 days old: inside a 120-day window
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(3,)]
    assert rows(db_path, "SELECT count(*) FROM departures WHERE date = ?", DAY) == [(6,)]
    assert archived(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    # What nothing acts on once it is past goes sooner: acknowledged events after a week, the seat
    # map of a bus that left after two days (the departure row and its tickets stay).
    assert archived(db_path, "SELECT seq FROM outbox ORDER BY seq") == [(1,), (2,), (3,), (4,)]
    assert rows(db_path, "SELECT count(*) FROM seats WHERE departure_id = ?", D_0800) == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM seats WHERE departure_id LIKE ?", f"%{LATER_DAY.replace('-', '')}%") \
        == [(45,)]
    archive(db, keep_days=98)
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]


def test_export_finds_an_archived_ticket(db, db_path, a_day_in_the_window):
    ticket_a, ticket_b = a_day_in_the_window
    enrol(db_path, acked=6)
    before = export_tickets(db, day=DAY, zone=ZONE)
    archive(db)
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]

    after = export_tickets(db, day=DAY, zone=ZONE)
    assert [t["ticket_id"] for t in after["tickets"]] == [ticket_a, ticket_b]
    assert after["digest"] == before["digest"] and after["active_money"] == before["active_money"]
    assert after["tickets"][0]["passenger"]["name"] == "张三"
    assert export_tickets(db, month=MONTH, zone=ZONE)["count"] == 2


def test_a_crash_between_the_archive_and_the_delete_loses_and_duplicates_nothing(db, db_path, a_day_in_the_window,
                                                                                  monkeypatch):
    ticket_a, ticket_b = a_day_in_the_window
    enrol(db_path, acked=6)
    expected = export_tickets(db, zone=ZONE)

    def power_cut(*_args, **_kwargs):
        raise RuntimeError("power cut after the archive was written")

    monkeypatch.setattr(archive_store, "delete_moved", power_cut)
    with pytest.raises(RuntimeError):
        archive(db)
    # Both files hold the rows now; nothing was lost, and a reader sees each ticket once.
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(3,)]
    assert archived(db_path, "SELECT count(*) FROM tickets") == [(2,)]
    assert export_tickets(db, zone=ZONE)["tickets"] == expected["tickets"]

    monkeypatch.undo()
    archive(db)  # the next run finishes the move
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
    assert archived(db_path, "SELECT id, count(*) FROM tickets GROUP BY id ORDER BY id") == sorted(
        [(ticket_a, 1), (ticket_b, 1)])
    assert archived(db_path, "SELECT count(*) FROM outbox") == [(4,)]
    assert export_tickets(db, zone=ZONE)["tickets"] == expected["tickets"]


def test_the_audit_log_moves_whole_and_stays_append_only(db, db_path, a_day_in_the_window):
    live_before = rows(db_path, "SELECT id, action, subject FROM audit_log ORDER BY id")
    enrol(db_path, acked=6)
    archive(db)
    moved = archived(db_path, "SELECT id, action, subject FROM audit_log ORDER BY id")
    left = rows(db_path, "SELECT id, action, subject FROM audit_log ORDER BY id")
    assert moved and sorted(moved + left) == live_before
    con = sqlite3.connect(db_path)
    con.execute("INSERT INTO audit_log (at, actor, terminal_id, action, subject, detail) "
                "VALUES ('2027-03-01T00:00:00Z', '1001', 'T', 'sell', 'x', '{}')")
    con.commit()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_log")
    con.close()


def test_the_check_knows_where_the_archived_outbox_ends(db, db_path, a_day_in_the_window):
    from app.store import maintenance

    enrol(db_path, acked=6)
    archive(db)
    report = maintenance.check(db_path)
    assert report.ok, report.problems
    assert report.outbox_archived == {TERMINAL_ID: 4} and report.mode == "quick"


def test_a_bounded_run_stops_between_weeks_and_the_next_one_goes_on(db, db_path, a_day_in_the_window):
    enrol(db_path, acked=6)
    first = archive_old_rows(db, keep_days=90, zone=ZONE, now=LATER, acked_cursor=CURSOR_ACKED, budget_s=0)
    # The first week (the 2026-12-01 sales) moved, then the budget was spent.
    assert not first.finished and first.moved["tickets"] == 2
    assert first.window_first_date == "2026-12-11"
    second = archive_old_rows(db, keep_days=90, zone=ZONE, now=LATER, acked_cursor=CURSOR_ACKED, budget_s=0)
    assert second.finished and "tickets" not in second.moved


def test_the_start_up_run_never_stops_the_counter_from_opening(db, db_path, a_day_in_the_window, monkeypatch):
    from app.services.retention import archive_at_startup

    enrol(db_path, acked=6)
    monkeypatch.setattr(archive_store, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock throughout
    try:
        assert archive_at_startup(db, keep_days=90, zone=ZONE, now=LATER, acked_cursor=CURSOR_ACKED) is None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(3,)]


def test_a_shift_left_open_keeps_its_events_so_its_settlement_does_not_change(db, db_path, terminal, sale):
    """A clerk who never closed last week's shift: its sale and refund are acknowledged and past the
    events' week, yet the settlement reads its fees from those events, so none of them may move."""
    from app.services import preview_settlement, refund

    refund(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=NOW + timedelta(minutes=30))
    enrol(db_path, acked=3)  # opening, sale and refund all acknowledged
    before = preview_settlement(db, terminal, clerk=CLERK)
    assert before["refund_fees"] > 0

    archive(db, keep_days=7, now=NOW + timedelta(days=20))

    assert preview_settlement(db, terminal, clerk=CLERK) == before
    assert [r[0] for r in rows(db_path, "SELECT seq FROM outbox ORDER BY seq")] == [1, 2, 3]


def test_copying_a_month_leaves_the_live_file_free_for_the_counter(db, db_path, a_day_in_the_window, monkeypatch):
    """While a month is copied, another program (the counter) still writes to the live file at once."""
    enrol(db_path, acked=6)
    real_ensure, writes = archive_store._ensure_tables, []

    def ensure_then_write_elsewhere(con, alias):
        real_ensure(con, alias)  # inside the copy's transaction, the archive file now written to
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO sync_cursors (name, value) VALUES ('probe', '1') "
                          "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            other.execute("COMMIT")
            writes.append("ok")
        finally:
            other.close()

    monkeypatch.setattr(archive_store, "_ensure_tables", ensure_then_write_elsewhere)
    report = archive(db)
    assert writes and report.moved.get("tickets")


def test_a_data_folder_where_the_archive_cannot_go_still_opens_the_counter(db, db_path, a_day_in_the_window):
    from app.services.retention import archive_at_startup

    enrol(db_path, acked=6)
    archive_store.archive_file(db_path, MONTH).parent.write_text("a file where the archive folder goes")
    assert archive_at_startup(db, keep_days=90, zone=ZONE, now=LATER, acked_cursor=CURSOR_ACKED) is None
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(3,)]  # nothing moved, nothing lost
