"""No outbox event while a sync alarm stands: every operation that would write one is refused with
SYNC_ALARM and leaves the file as it was; reading goes on; once the alarm is cleared, selling goes on
with the next seq."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from app.errors import RuleViolation
from app.services import (
    PassengerIn,
    change,
    close_shift,
    find_tickets,
    open_shift,
    pickup,
    preview_settlement,
    quote_change,
    quote_refund,
    quote_void,
    refund,
    reprint,
    sell,
    spoil_blank,
    void,
)
from app.services.context import ALARM_CURSOR
from tests.integration.services.conftest import CLERK, CLERK2
from tests.integration.services.helpers import events, rows, seat_state, ticket_status
from tests.integration.services.test_services_tickets import ONLINE_ID, _online_ticket
from tests.integration.store.tiny_province import D_0800, D_1400, ID_C, NINGBO, NOW

LATER = NOW + timedelta(minutes=2)


def write(path, sql, *args) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute(sql, args)
    con.close()


def raise_alarm(path, code: str = "SEQ_REUSE") -> None:
    """Store the alarm the way the sync client does (``SyncClient._raise_alarm``): one row of
    ``sync_cursors`` holding its code, its Chinese and English texts and when."""
    from sync.client.client import ALARM_TEXT

    zh, en = ALARM_TEXT[code]
    value = json.dumps({"code": code, "message": zh, "en": en, "at": "2026-11-30T22:01:00Z", "seq": 2},
                       ensure_ascii=False)
    write(path, "INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?)", ALARM_CURSOR, value,
          "2026-11-30T22:01:00Z")


def clear_alarm(path) -> None:
    write(path, "DELETE FROM sync_cursors WHERE name = ?", ALARM_CURSOR)


def refusal(fn, *args, **kw) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        fn(*args, **kw)
    return info.value


def test_the_services_read_the_row_the_sync_client_writes():
    from sync.client.client import CURSOR_ALARM

    assert ALARM_CURSOR == CURSOR_ALARM


@pytest.fixture
def alarmed(db_path, sale):
    """A sale on the 08:00, a ticket bought online waiting for pickup, then the alarm."""
    _online_ticket(db_path)
    raise_alarm(db_path)
    return sale.ticket_ids[0]


def file_state(path):
    return (rows(path, "SELECT seq, hash FROM outbox ORDER BY seq"), rows(path, "SELECT * FROM counters ORDER BY name"),
            rows(path, "SELECT id, status, stock_no, seat_no FROM tickets ORDER BY id"),
            rows(path, "SELECT id, closed_at FROM shifts ORDER BY id"))


def test_every_operation_that_writes_an_event_is_refused_and_leaves_nothing(db, db_path, terminal, alarmed):
    ticket = alarmed
    before = file_state(db_path)
    attempts = {
        "sell": lambda: sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                             passengers=[PassengerIn("full", "李四", doc_number=ID_C)], now=LATER),
        "refund": lambda: refund(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER),
        "change": lambda: change(db, terminal, clerk=CLERK, ticket_id=ticket, new_departure_id=D_1400, now=LATER),
        "void": lambda: void(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER),
        "reprint": lambda: reprint(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER),
        "pickup": lambda: pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER),
        "spoil_blank": lambda: spoil_blank(db, terminal, clerk=CLERK, now=LATER),
        "close_shift": lambda: close_shift(db, terminal, clerk=CLERK, now=LATER, cash_counted=0),
        "open_shift": lambda: open_shift(db, terminal, clerk=CLERK2, first_stock_no="00200001", now=LATER),
    }
    for name, attempt in attempts.items():
        exc = refusal(attempt)
        assert exc.code == "SYNC_ALARM", name
        assert exc.details["alarm"] == "SEQ_REUSE"
        assert "SEQ_REUSE" in exc.message and "技术员" in exc.message and "kezhan sync --status" in exc.message
        assert "备份" in exc.message  # the cause, as the sync client worded it
        assert "technician" in exc.en and "kezhan doctor" in exc.en
    assert file_state(db_path) == before
    assert seat_state(db_path, D_0800, 1) == ("sold", ticket)


def test_quotes_refuse_too_but_reading_goes_on(db, terminal, alarmed):
    ticket = alarmed
    # The clerk learns it before taking money, not at the confirm key.
    for quote in (lambda: quote_refund(db, terminal, ticket_id=ticket, now=LATER),
                  lambda: quote_change(db, terminal, ticket_id=ticket, new_departure_id=D_1400, now=LATER),
                  lambda: quote_void(db, terminal, clerk=CLERK, ticket_id=ticket, now=LATER)):
        assert refusal(quote).code == "SYNC_ALARM"
    assert [t.ticket_id for t in find_tickets(db, terminal, ticket_id=ticket)] == [ticket]
    assert preview_settlement(db, terminal, clerk=CLERK)["sold"]["count"] == 1


def test_an_unreadable_alarm_still_stops_selling(db, db_path, terminal, shift):
    write(db_path, "INSERT INTO sync_cursors (name, value) VALUES (?, ?)", ALARM_CURSOR, "not json")
    exc = refusal(sell, db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                  passengers=[PassengerIn("full", "张三", doc_number=ID_C)], now=LATER)
    assert exc.code == "SYNC_ALARM"


def test_once_cleared_selling_goes_on_with_the_next_seq(db, db_path, terminal, alarmed):
    last = events(db_path)[-1]["seq"]
    clear_alarm(db_path)
    result = sell(db, terminal, clerk=CLERK, departure_id=D_1400, stop=NINGBO,
                  passengers=[PassengerIn("full", "李四", doc_number=ID_C)], now=LATER)
    assert result.seq == last + 1
    assert ticket_status(db_path, result.ticket_ids[0]) == "active"
    refund(db, terminal, clerk=CLERK, ticket_id=alarmed, now=LATER)
    assert ticket_status(db_path, alarmed) == "refunded"
