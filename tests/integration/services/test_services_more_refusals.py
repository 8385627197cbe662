"""The remaining refusals, each as the clerk would meet it."""

from __future__ import annotations

from app.domain.ed25519 import PrivateKey
from app.services import (
    PassengerIn,
    Terminal,
    change,
    close_shift,
    find_tickets,
    pickup,
    refund,
    reprint,
    sell,
    void,
)
from tests.integration.services.conftest import CLERK, DOC_KEY, SUPERVISOR
from tests.integration.services.helpers import LATER, refusal_code, rows
from tests.integration.services.test_services_tickets import ONLINE_ID, _online_ticket
from tests.integration.store.tiny_province import D_0800, D_1400, HOME, ID_A, NINGBO


def test_an_empty_party_or_an_unknown_ticket_type(db, terminal, shift):
    sale = dict(clerk=CLERK, departure_id=D_0800, stop=NINGBO, now=LATER)
    assert refusal_code(sell, db, terminal, passengers=[], **sale) == "EMPTY_PARTY"
    assert refusal_code(sell, db, terminal, passengers=[PassengerIn("vip", "张三", doc_number=ID_A)], **sale) == \
        "UNKNOWN_TICKET_TYPE"
    assert refusal_code(sell, db, terminal, passengers=[PassengerIn("full", "张三", doc_type="ship", doc_number="X1")],
                 **sale) == "DOC_TYPE"


def test_lookups_need_a_key_and_a_known_signer(db, terminal, sale):
    assert refusal_code(find_tickets, db, terminal) == "NO_SEARCH_KEY"
    assert refusal_code(pickup, db, terminal, clerk=CLERK, now=LATER) == "NO_SEARCH_KEY"
    stranger = Terminal(station_code=HOME, terminal_id=f"{HOME}-T09", signing_key=PrivateKey.generate(),
                        doc_hash_key=DOC_KEY)
    assert refusal_code(find_tickets, db, stranger, code=sale.print_jobs[0].ticket_code) == "CODE_UNKNOWN_KEY"
    assert refusal_code(find_tickets, db, terminal, code="not a ticket code") == "CODE_GARBLED"


def test_an_online_ticket_cannot_be_reprinted_or_voided_before_pickup(db, db_path, terminal, shift):
    _online_ticket(db_path)
    assert refusal_code(reprint, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "NOT_PRINTED"
    assert refusal_code(void, db, terminal, clerk=CLERK, ticket_id=ONLINE_ID, now=LATER) == "VOID_NOT_SELLER"


def test_a_changed_ticket_is_refunded_not_voided(db, terminal, sale):
    new = change(db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], new_departure_id=D_1400, now=LATER)
    assert refusal_code(void, db, terminal, clerk=CLERK, ticket_id=new.new_ticket_id, now=LATER) == "VOID_CHANGED_TICKET"
    assert refusal_code(void, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER) == "TICKET_NOT_ACTIVE"
    assert refund(db, terminal, clerk=CLERK, ticket_id=new.new_ticket_id, now=LATER).refund_amount > 0


def test_a_bad_cash_count_at_close(db, terminal, shift):
    assert refusal_code(close_shift, db, terminal, clerk=CLERK, now=LATER, cash_counted=-5) == "BAD_AMOUNT"


def test_a_locked_supervisor_cannot_approve(db, db_path, terminal, sale):
    for _ in range(5):
        refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER, forced=True,
              supervisor=SUPERVISOR, supervisor_password="guess")
    assert rows(db_path, "SELECT locked FROM users WHERE code = ?", SUPERVISOR) == [(1,)]
    assert refusal_code(refund, db, terminal, clerk=CLERK, ticket_id=sale.ticket_ids[0], now=LATER, forced=True,
                 supervisor=SUPERVISOR, supervisor_password="supervisor") == "ACCOUNT_LOCKED"
