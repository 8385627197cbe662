"""One of every operation, then the outbox read as the sync server reads it: the contract of
docs/architecture.md, field by field, with every hash recomputed."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from app.services import (
    PassengerIn,
    PaymentIn,
    change,
    close_shift,
    pickup,
    refund,
    reprint,
    sell,
    spoil_blank,
    void,
)
from tests.integration.services.conftest import CLERK, TERMINAL_ID
from tests.integration.services.helpers import LATER
from tests.integration.services.test_services_tickets import ONLINE_ID, _online_ticket
from tests.integration.store.tiny_province import D_0800, D_1400, ID_A, ID_C, NINGBO

TICKET_KEYS = {"ticket_id", "departure_id", "seat_no", "ticket_type", "fare", "price", "insurance", "stop",
               "passenger", "carried_by", "stock_no"}
PAYLOAD_KEYS = {
    "shift.opened": {"shift_id", "clerk", "first_stock_no", "opened_at"},
    "ticket.sold": {"order_id", "clerk", "shift_id", "sold_at", "payment", "tickets"},
    "ticket.refunded": {"ticket_id", "fee", "refund_amount", "forced", "approved_by", "refunded_at", "clerk",
                        "shift_id"},
    "ticket.changed": {"old_ticket_id", "new_ticket", "fare_difference", "fee", "changed_at", "clerk", "shift_id"},
    "ticket.voided": {"ticket_id", "stock_no", "voided_at", "clerk", "shift_id"},
    "ticket.reprinted": {"ticket_id", "old_stock_no", "new_stock_no", "reprinted_at", "printed_version", "clerk",
                         "shift_id"},
    "ticket.picked_up": {"ticket_id", "stock_no", "picked_up_at", "clerk", "shift_id"},
    "stock.spoiled": {"stock_no", "reason", "clerk", "shift_id", "at"},
    "shift.closed": {"shift_id", "clerk", "closed_at", "settlement"},
}


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_every_event_follows_the_contract(db, db_path, terminal, shift):
    first = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                 passengers=[PassengerIn("full", "张三", doc_number=ID_A), PassengerIn("free_child", "")],
                 payment=PaymentIn("epay", reference="WX-9"), now=LATER)
    second = sell(db, terminal, clerk=CLERK, departure_id=D_0800, stop=NINGBO,
                  passengers=[PassengerIn("full", "王五", doc_number=ID_C)], now=LATER)
    change(db, terminal, clerk=CLERK, ticket_id=second.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    reprint(db, terminal, clerk=CLERK, ticket_id=first.ticket_ids[0], now=LATER)
    _online_ticket(db_path)
    pickup(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    spoil_blank(db, terminal, clerk=CLERK, now=LATER)
    refund(db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER)
    void(db, terminal, clerk=CLERK, ticket_id=first.ticket_ids[0], now=LATER)
    close_shift(db, terminal, clerk=CLERK, now=LATER, cash_counted=0)

    con = sqlite3.connect(db_path)
    rows = con.execute("SELECT terminal_id, seq, event_id, type, created_at, payload, hash FROM outbox ORDER BY seq")
    seen = []
    for terminal_id, seq, event_id, type_, created_at, payload_text, digest in rows.fetchall():
        payload = json.loads(payload_text)
        assert payload_text.encode("utf-8") == _canonical(payload)
        body = {"terminal_id": terminal_id, "seq": seq, "event_id": event_id, "type": type_,
                "created_at": created_at, "payload": payload}
        assert digest == hashlib.sha256(_canonical(body)).hexdigest()
        assert terminal_id == TERMINAL_ID and len(event_id) == 32 and created_at.endswith("Z")
        assert set(payload) == PAYLOAD_KEYS[type_], type_
        for ticket in payload.get("tickets", []) + ([payload["new_ticket"]] if "new_ticket" in payload else []):
            assert set(ticket) == TICKET_KEYS
            # The number goes up (the server hashes it under its own key); the hash stays in the file.
            assert set(ticket["passenger"]) == {"name", "doc_type", "doc_number"}
        seen.append((seq, type_))
    con.close()
    assert [s for s, _ in seen] == list(range(1, len(seen) + 1))
    assert [t for _, t in seen] == [
        "shift.opened", "ticket.sold", "ticket.sold", "ticket.changed", "ticket.reprinted", "ticket.picked_up",
        "stock.spoiled", "ticket.refunded", "ticket.voided", "ticket.voided", "shift.closed",
    ]
