"""Reading back what the operations wrote, the way the sync uploader and an auditor would."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from app.errors import RuleViolation
from tests.integration.store.tiny_province import NOW

# The instant most operations run at: just after the tiny province's NOW, when the shift is open.
LATER = NOW + timedelta(minutes=1)


def refusal_code(fn, *args, **kw):
    """The code of the RuleViolation ``fn`` raises (the test fails if it raises none)."""
    with pytest.raises(RuleViolation) as info:
        fn(*args, **kw)
    return info.value.code


def rows(path, sql, *args):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def events(path, type_=None):
    sql = "SELECT seq, type, payload, hash, event_id, created_at, terminal_id FROM outbox"
    out = []
    for seq, t, payload, digest, event_id, created_at, terminal_id in rows(path, sql + " ORDER BY seq"):
        if type_ is None or t == type_:
            out.append(
                {"seq": seq, "type": t, "payload": json.loads(payload), "hash": digest, "event_id": event_id,
                 "created_at": created_at, "terminal_id": terminal_id}
            )
    return out


def seat_state(path, departure_id, seat_no):
    return rows(path, "SELECT state, ticket_id FROM seats WHERE departure_id = ? AND seat_no = ?", departure_id, seat_no)[0]


def ticket_status(path, ticket_id):
    return rows(path, "SELECT status FROM tickets WHERE id = ?", ticket_id)[0][0]


def audit_actions(path):
    return [r[0] for r in rows(path, "SELECT action FROM audit_log ORDER BY id")]
