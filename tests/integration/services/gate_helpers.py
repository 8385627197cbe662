"""A gate terminal on the services' tiny province: a clock the test moves, a checker signed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.services import PassengerIn, PaymentIn, sell
from app.services.gate import Gate
from tests.integration.store.tiny_province import NOW

# 07:35 in Shanghai: the 08:00's check opened at 07:30 (30 minutes before, the default).
AT_GATE = NOW + timedelta(minutes=95)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta) -> None:
        self.at = self.at + timedelta(**delta)


def make_gate(db, terminal, clock, user=("2001", "gate-pass")) -> Gate:
    gate = Gate(db, terminal, clock=clock)
    gate.login(*user)
    return gate


def sell_one(db, terminal, departure_id, stop, name, doc, ticket_type="full", clerk="1001", at=None, **kw):
    r = sell(db, terminal, clerk=clerk, departure_id=departure_id, stop=stop,
             passengers=[PassengerIn(ticket_type, name, doc_number=doc, **kw)],
             payment=PaymentIn("cash"), now=at or NOW + timedelta(minutes=2))
    return r.print_jobs[0]
