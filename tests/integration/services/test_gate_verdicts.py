"""Every verdict of the gate, on a real terminal file: what the checker sees and what was recorded."""

from __future__ import annotations

from datetime import timedelta

from app.domain.ed25519 import PrivateKey
from app.domain.ticket_code import TicketCodePayload, encode_ticket_code
from app.services import refund, reprint, void
from app.services.aftersale import change
from tests.integration.services.conftest import CLERK
from tests.integration.services.gate_helpers import AT_GATE, Clock, make_gate, sell_one
from tests.integration.services.helpers import events, rows
from tests.integration.store.tiny_province import (
    D_0800,
    D_1000_SMALL,
    D_1400,
    ID_A,
    ID_B,
    ID_C,
    NINGBO,
    NOW,
    SHAOXING,
)


def _open(db, terminal, shift, at=AT_GATE):
    clock = Clock(at)
    gate = make_gate(db, terminal, clock)
    gate.open_check(D_0800, vehicle="浙A12345", driver="王师傅")
    return gate, clock


def test_a_sold_ticket_boards_once_and_the_check_goes_up_in_the_outbox(db, db_path, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, clock = _open(db, terminal, shift)

    v = gate.check_text(job.ticket_code, D_0800)
    assert (v.code, v.tone, v.boards, v.sound) == ("BOARD", "green", True, "board")
    assert v.ticket_id == job.ticket_id and v.seat_no == job.seat_no and v.passenger == "张三"
    assert "请上车" in v.message and "宁波" in v.message
    [ev] = events(db_path, "ticket.checked")
    assert ev["payload"] == {"ticket_id": job.ticket_id, "departure_id": D_0800, "gate": "3", "checker": "2001",
                             "via": "code", "seat_no": job.seat_no, "printed_version": 0, "unknown": False}
    assert [e["type"] for e in events(db_path)][-2:] == ["gate.opened", "ticket.checked"]

    clock.move(minutes=2)
    again = gate.check_text(job.ticket_code, D_0800)
    assert (again.code, again.tone, again.boards) == ("ALREADY_CHECKED", "red", False)
    assert again.detail["gate"] == "3" and again.detail["checked_at"] == "07:35:00"
    assert "已检票" in again.message and "07:35:00" in again.message
    assert len(events(db_path, "ticket.checked")) == 1
    assert gate.departure(D_0800).checked == 1
    assert gate.seat_map(D_0800)[job.seat_no] == "checked"
    assert [r.code for r in gate.recent(D_0800)] == ["ALREADY_CHECKED", "BOARD"]


def test_a_typed_ticket_id_or_stock_number_is_checked_like_a_code(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    gate, _ = _open(db, terminal, shift)
    assert gate.check_text(a.ticket_id, D_0800).code == "BOARD"
    v = gate.check_text(str(int(b.stock_no)), D_0800)
    assert v.code == "BOARD" and v.ticket_id == b.ticket_id
    assert gate.check_text("999999999999", D_0800).code == "NOT_FOUND"


def test_refunded_voided_and_changed_tickets_are_refused(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    c = sell_one(db, terminal, D_0800, NINGBO, "王五", ID_C)
    later = NOW + timedelta(minutes=3)
    refund(db, terminal, clerk=CLERK, ticket_id=a.ticket_id, now=later)
    void(db, terminal, clerk=CLERK, ticket_id=b.ticket_id, now=later)
    moved = change(db, terminal, clerk=CLERK, ticket_id=c.ticket_id, new_departure_id=D_1400, now=later)
    gate, _ = _open(db, terminal, shift)

    ra = gate.check_text(a.ticket_code, D_0800)
    assert (ra.code, ra.tone, ra.message) == ("REFUNDED", "red", "该票已退票")
    assert gate.check_text(b.ticket_code, D_0800).code == "VOIDED"
    rc = gate.check_text(c.ticket_code, D_0800)
    assert rc.code == "CHANGED" and rc.detail["to_departure_id"] == D_1400 and "K1400" in rc.message
    # The changed ticket's new paper is for the 14:00: another departure at this gate.
    rn = gate.check_text(moved.print_job.ticket_code, D_0800)
    assert rn.code == "WRONG_DEPARTURE" and rn.detail["other_departure_id"] == D_1400 and "K1400" in rn.message


def test_a_ticket_for_another_bus_is_refused_unless_that_bus_was_merged_into_this_one(db, db_path, terminal, shift):
    other = sell_one(db, terminal, D_1400, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal, shift)
    v = gate.check_text(other.ticket_code, D_0800)
    assert v.code == "WRONG_DEPARTURE" and v.sound == "wrong_bus" and v.detail["other_gate"] == "3"

    gate.logout()
    gate.login("9001", "supervisor")
    gate.merge(D_1400, D_0800, reason="客流少并班", approver=None)
    assert gate.check_text(other.ticket_code, D_0800).code == "BOARD"
    [ev] = events(db_path, "departure.merged")
    assert ev["payload"] == {"source_departure_id": D_1400, "target_departure_id": D_0800, "reason": "客流少并班",
                             "approver": "9001"}
    assert gate.departure(D_1400).state == "merged"


def test_not_open_yet_then_closed_after_the_stop(db, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    early = Clock(NOW + timedelta(minutes=60))  # 07:00: the 08:00 opens at 07:30
    gate = make_gate(db, terminal, early)
    v = gate.check_text(job.ticket_code, D_0800)
    assert v.code == "NOT_OPEN" and v.tone == "amber" and "07:30" in v.message
    early.move(minutes=35)
    gate.open_check(D_0800, vehicle="浙A12345", driver="王师傅")
    gate.stop_check(D_0800)
    v = gate.check_text(job.ticket_code, D_0800)
    assert v.code == "CLOSED" and "已停检" in v.message
    early.move(minutes=60)  # 08:35, past the late-check deadline
    assert gate.departure(D_0800).state == "departed"
    assert "已发车" in gate.check_text(job.ticket_code, D_0800).message


def test_a_ticket_of_another_day_is_not_today(db, terminal, shift):
    gate, _ = _open(db, terminal, shift)
    other_day = "330102001-20261202-K0800"
    code = encode_ticket_code(TicketCodePayload("330102001001" + "0" * 9 + "9", other_day, 5, "full", "", NOW),
                              terminal.signing_key, terminal.key_id)
    v = gate.check_text(code, D_0800)
    assert v.code == "NOT_TODAY"


def test_forged_unreadable_and_unknown_key_codes(db, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal, shift)
    head, key, body, sig = job.ticket_code.split(".")
    forged = ".".join([head, key, body, ("A" if sig[0] != "A" else "B") + sig[1:]])
    assert gate.check_text(forged, D_0800).code == "FORGED"
    assert gate.check_text("https://shop.example.com/item/123", D_0800).code == "UNREADABLE"
    assert gate.check_text(job.ticket_code[:40], D_0800).code == "UNREADABLE"
    stranger = encode_ticket_code(TicketCodePayload(job.ticket_id, D_0800, 5, "full", "", NOW),
                                  PrivateKey.generate(), "other-province")
    v = gate.check_text(stranger, D_0800)
    assert v.code == "REVOKED_KEY" and "other-province" in v.message and "未知" in v.message
    # None of these boarded the real passenger.
    assert gate.check_text(job.ticket_code, D_0800).code == "BOARD"


def test_a_revoked_key_refuses_codes_signed_after_the_revocation(db, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    rows_ = rows  # noqa: F841
    import sqlite3

    con = sqlite3.connect(db.path)
    con.execute("INSERT INTO ticket_keys (key_id, terminal_id, public_key, revoked_at) VALUES (?, ?, ?, ?)",
                (terminal.key_id, terminal.terminal_id, "x", "2026-11-30T21:00:00.000000Z"))
    con.commit()
    con.close()
    gate, _ = _open(db, terminal, shift)
    v = gate.check_text(job.ticket_code, D_0800)
    assert v.code == "REVOKED_KEY" and "已吊销" in v.message


def test_the_old_paper_of_a_reprinted_ticket_is_superseded(db, db_path, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    new = reprint(db, terminal, clerk=CLERK, ticket_id=job.ticket_id, now=NOW + timedelta(minutes=5))
    assert new.ticket_code != job.ticket_code
    gate, _ = _open(db, terminal, shift)
    old = gate.check_text(job.ticket_code, D_0800)
    assert old.code == "SUPERSEDED" and "补打" in old.message
    ok = gate.check_text(new.ticket_code, D_0800)
    assert ok.code == "BOARD"
    assert events(db_path, "ticket.checked")[0]["payload"]["printed_version"] == 1
    assert events(db_path, "ticket.reprinted")[0]["payload"]["printed_version"] == 1


def test_a_validly_signed_ticket_not_held_here_boards_amber_and_is_reported_unknown(db, db_path, terminal, shift):
    gate, _ = _open(db, terminal, shift)
    code = encode_ticket_code(TicketCodePayload("330102001002" + "0" * 9 + "1", D_0800, 30, "full", "", NOW),
                              terminal.signing_key, terminal.key_id)
    v = gate.check_text(code, D_0800)
    assert (v.code, v.tone, v.boards) == ("UNKNOWN_TICKET", "amber", True)
    [ev] = events(db_path, "ticket.checked")
    assert ev["payload"]["unknown"] is True and ev["payload"]["seat_no"] == 30
    assert gate.check_text(code, D_0800).code == "ALREADY_CHECKED"
    elsewhere = encode_ticket_code(TicketCodePayload("330102001002" + "0" * 9 + "2", D_1400, 3, "full", "", NOW),
                                   terminal.signing_key, terminal.key_id)
    assert gate.check_text(elsewhere, D_0800).code == "WRONG_DEPARTURE"


def test_the_bus_fills_up_at_its_seats_and_free_children_at_their_cap(db, terminal, shift):
    # The 10:00 has 10 seats: free-child cap 1.
    clock = Clock(NOW + timedelta(minutes=215))  # 09:35
    gate = make_gate(db, terminal, clock)
    gate.open_check(D_1000_SMALL, vehicle="浙A1", driver="李")
    codes = []
    for n in range(11):
        codes.append(encode_ticket_code(
            TicketCodePayload(f"3301020010020000000{n:03d}", D_1000_SMALL, n + 1 if n < 10 else 1, "full", "",
                              NOW), terminal.signing_key, terminal.key_id))
    for code in codes[:10]:
        assert gate.check_text(code, D_1000_SMALL).boards
    full = gate.check_text(codes[10], D_1000_SMALL)
    assert full.code == "FULL" and "10 座" in full.message
    kids = [encode_ticket_code(TicketCodePayload(f"330102001003000000000{n}", D_1000_SMALL, None, "free_child", "",
                                                 NOW), terminal.signing_key, terminal.key_id) for n in range(2)]
    assert gate.check_text(kids[0], D_1000_SMALL).boards
    capped = gate.check_text(kids[1], D_1000_SMALL)
    assert capped.code == "FULL" and "免票儿童" in capped.message
    assert gate.departure(D_1000_SMALL).free_children == 1


def test_ticket_types_are_announced_by_their_sound(db, terminal, shift):
    job = sell_one(db, terminal, D_0800, SHAOXING, "学生甲", ID_A, ticket_type="student")
    gate, _ = _open(db, terminal, shift)
    v = gate.check_text(job.ticket_code, D_0800)
    assert v.code == "BOARD" and v.sound == "board_student" and "学生票" in v.message


class _Card:
    def __init__(self, name, number, card_type="resident"):
        self.name, self.id_number, self.card_type = name, number, card_type


def test_an_id_card_finds_its_ticket_on_the_departure_or_says_there_is_none(db, db_path, terminal, shift):
    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    sell_one(db, terminal, D_1400, NINGBO, "李四", ID_B)
    gate, _ = _open(db, terminal, shift)

    v = gate.check_card(_Card("张三", ID_A), D_0800)
    assert (v.code, v.tone, v.boards) == ("CARD_MATCH", "green", True) and v.ticket_id == job.ticket_id
    assert "票证一致" in v.message
    assert events(db_path, "ticket.checked")[0]["payload"]["via"] == "card"
    assert gate.check_card(_Card("张三", ID_A), D_0800).code == "ALREADY_CHECKED"
    assert gate.check_card(_Card("王五", ID_C), D_0800).code == "CARD_NO_TICKET"
    wrong = gate.check_card(_Card("李四", ID_B), D_0800)
    assert wrong.code == "WRONG_DEPARTURE"
    # Not a number the reader could have read.
    assert gate.check_card(_Card("某人", ""), D_0800).code == "UNREADABLE"


def test_a_card_against_the_scanned_ticket_matches_or_not(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal, shift)
    mismatch = gate.check_card(_Card("李四", ID_B), D_0800, ticket_id=a.ticket_id)
    assert (mismatch.code, mismatch.tone) == ("CARD_MISMATCH", "red") and "票证不符" in mismatch.message
    assert gate.departure(D_0800).checked == 0
    match = gate.check_card(_Card("张三", ID_A), D_0800, ticket_id=a.ticket_id)
    assert match.code == "CARD_MATCH" and gate.departure(D_0800).checked == 1


def test_the_papers_of_a_departure_scan_in_seat_order_until_all_have_boarded(db, terminal, shift):
    sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    gate, _ = _open(db, terminal, shift)
    papers = gate.paper_codes(D_0800)
    assert len(papers) == 2
    for ticket_id, code in papers:
        assert gate.check_text(code, D_0800).ticket_id == ticket_id
    assert gate.paper_codes(D_0800) == []
    d = gate.departures()
    assert [x.id for x in d if x.checked] == [D_0800] and d[[x.id for x in d].index(D_0800)].unchecked == 0


def test_a_card_as_the_window_holds_it_and_as_the_reader_gives_it_find_the_same_ticket(db, terminal, shift):
    from types import SimpleNamespace

    from drivers.idcard.card import CardData

    job = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, _ = _open(db, terminal, shift)
    window_card = SimpleNamespace(name="张三", doc_type="resident_id", number=ID_A)
    assert gate.check_card(window_card, D_0800, ticket_id=job.ticket_id).code == "CARD_MATCH"
    reader_card = CardData(card_type="resident", name="张三", sex="男", birth_date="19900307", id_number=ID_A,
                           valid_from="20200101", valid_to="20400101", number_valid=True)
    v = gate.check_card(reader_card, D_0800)
    assert v.code == "ALREADY_CHECKED" and v.ticket_id == job.ticket_id


def test_a_boarding_is_committed_at_once_and_made_durable_by_the_flush_after_the_verdict(
        db, db_path, terminal, shift, monkeypatch):
    # docs/gate.md § Durability: the check is in the file (another connection reads it) when the
    # verdict comes back; Gate.flush() syncs it once; a refusal writes nothing and has nothing to flush.
    import sqlite3

    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    gate, _ = _open(db, terminal, shift)
    synced = []
    monkeypatch.setattr(db, "flush", lambda: synced.append("wal"))

    assert gate.check_text(a.ticket_code, D_0800).code == "BOARD"
    other = sqlite3.connect(db_path)
    try:
        assert other.execute("SELECT count(*) FROM gate_checks WHERE ticket_id = ?", (a.ticket_id,)).fetchone() == (1,)
    finally:
        other.close()
    assert synced == []
    gate.flush()
    gate.flush()
    assert synced == ["wal"]
    assert gate.check_text(a.ticket_code, D_0800).code == "ALREADY_CHECKED"
    gate.flush()
    assert synced == ["wal"]
    # A caller that forgot the flush: the next scan makes the last boarding durable first.
    assert gate.check_text(b.ticket_code, D_0800).code == "BOARD"
    assert gate.check_text(b.ticket_code, D_0800).code == "ALREADY_CHECKED"
    assert synced == ["wal", "wal"]


def _peer_ticket(db, ticket_id, seat, name, doc, *, tag=None, masked=None):
    """What the sync client keeps of a ticket another window sold (a ``peer`` order): the name, the
    mask and the 8-bit tag from the feed -- never the number or its full hash."""
    from app.domain.identity import document_tag, mask
    from app.services.context import cursor
    from app.store import tickets as ticket_store

    with db.transaction() as session:
        cur = cursor(session)
        ticket_store.add_web_ticket(cur, ticket_store.WebTicket(
            ticket_id=ticket_id, order_id=ticket_id, departure_id=D_0800, seat_no=seat, stock_no=None,
            status="active", ticket_type="full", fare=9800, price=9800, insurance=0, board="330102001",
            stop=NINGBO, carried_by=None, sold_at="2026-11-30T10:00:00.000000Z", closed_at=None,
            passenger_name=name, doc_type="resident_id", doc_masked=masked or mask(doc),
            doc_tag=tag or document_tag(terminal_key(), "resident_id", doc)), channel=ticket_store.PEER_CHANNEL)
        cur.execute("UPDATE seats SET state = 'held', ticket_id = ? WHERE departure_id = ? AND seat_no = ?",
                    (ticket_id, D_0800, seat))


def terminal_key():
    from tests.integration.services.conftest import DOC_KEY

    return DOC_KEY


def test_a_card_finds_another_windows_ticket_by_name_mask_and_tag(db, db_path, terminal, shift):
    from app.domain.identity import document_tag

    _peer_ticket(db, "3301020010020000000001", 20, "李四", ID_B)
    # Same mask and tag as 李四's document (what the feed would carry), another name: not 李四's ticket.
    _peer_ticket(db, "3301020010020000000002", 21, "王五", ID_C, tag=document_tag(terminal_key(), "resident_id", ID_B),
                 masked="*" * 14 + ID_B[-4:])
    gate, _ = _open(db, terminal, shift)
    v = gate.check_card(_Card("李四", ID_B), D_0800)
    assert (v.code, v.ticket_id, v.seat_no) == ("CARD_MATCH", "3301020010020000000001", 20)
    assert gate.check_card(_Card("赵六", ID_B), D_0800).code == "CARD_NO_TICKET"  # right number, wrong name
    mismatch = gate.check_card(_Card("王五", ID_B), D_0800, ticket_id="3301020010020000000001")
    assert mismatch.code == "CARD_MISMATCH"


def test_two_tickets_that_both_fit_a_card_are_not_guessed_between(db, db_path, terminal, shift):
    """The tag is short on purpose: two passengers of one bus with one name, the same last four
    characters and the same tag both fit. The gate says so (amber) and records nothing."""
    from app.domain.identity import document_tag

    _peer_ticket(db, "3301020010020000000001", 20, "李四", ID_B)
    _peer_ticket(db, "3301020010020000000002", 21, "李四", ID_C, tag=document_tag(terminal_key(), "resident_id", ID_B),
                 masked="*" * 14 + ID_B[-4:])
    gate, _ = _open(db, terminal, shift)
    v = gate.check_card(_Card("李四", ID_B), D_0800)
    assert (v.code, v.tone, v.boards) == ("CARD_AMBIGUOUS", "amber", False)
    assert "20" in v.message and "21" in v.message and "车票" in v.message
    assert events(db_path, "ticket.checked") == [] and gate.departure(D_0800).checked == 0
    # The paper's code decides, then the card confirms the person against that ticket.
    assert gate.check_card(_Card("李四", ID_B), D_0800, ticket_id="3301020010020000000001").code == "CARD_MATCH"


def test_a_window_does_not_sell_a_second_seat_to_a_passenger_another_window_already_sold(db, terminal, shift):
    """One seat per document at the counter against another window's ticket, which this terminal holds
    only as name, mask and tag: all three agree, so the sale is refused before any money moves."""
    import pytest

    from app.errors import RuleViolation

    _peer_ticket(db, "3301020010020000000001", 20, "李四", ID_B)
    with pytest.raises(RuleViolation) as info:
        sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    assert info.value.code == "DUPLICATE_DOCUMENT" and "3301020010020000000001" in info.value.en
    assert sell_one(db, terminal, D_1400, NINGBO, "李四", ID_B).ticket_id  # another departure: fine


def _apply_feed(db, terminal, changes, now):
    """Feed rows applied as the sync client applies a pull, on a connection of its own (``kezhan
    sync`` runs in another process): nothing in the gate's process is told of it."""
    import sqlite3

    from sync.client.apply import FeedApplier

    con = sqlite3.connect(db.path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        FeedApplier(con.cursor(), terminal.terminal_id, 0, zone=terminal.zone, now=now).apply(changes)
        con.execute("COMMIT")
    finally:
        con.close()


def test_a_revocation_from_the_feed_refuses_the_very_next_scan(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    key = {"key_id": terminal.key_id, "terminal_id": terminal.terminal_id, "public_key": "x", "revoked_at": None}
    _apply_feed(db, terminal, [{"kind": "ticket_key", "key": terminal.key_id, "data": key}], NOW)
    gate, clock = _open(db, terminal, shift)
    assert gate.check_text(a.ticket_code, D_0800).code == "BOARD"  # the key is good, and the gate has read so

    _apply_feed(db, terminal, [{"kind": "ticket_key", "key": terminal.key_id, "deleted": True}], clock())
    clock.move(minutes=1)
    # A code the revoked key signed after its revocation (a stolen key), scanned right after the pull.
    after = encode_ticket_code(TicketCodePayload(b.ticket_id, D_0800, b.seat_no, "full", "", clock()),
                               terminal.signing_key, terminal.key_id)
    v = gate.check_text(after, D_0800)
    assert (v.code, v.tone) == ("REVOKED_KEY", "red") and "已吊销" in v.message
    # Codes it signed before the revocation stay good.
    assert gate.check_text(b.ticket_code, D_0800).code == "BOARD"


def test_a_ticket_type_changed_by_the_feed_shows_on_the_very_next_verdict(db, terminal, shift):
    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B)
    gate, clock = _open(db, terminal, shift)
    first = gate.check_text(a.ticket_code, D_0800)
    assert first.code == "BOARD" and first.message.endswith("· 全票")

    full = {"code": "full", "name": "全价票", "name_en": "Adult", "rate_percent": 100, "needs_seat": True,
            "needs_adult": False, "counts_free_child_cap": False, "rounding": "yuan", "document_required": True}
    _apply_feed(db, terminal, [{"kind": "ticket_type", "key": "full", "data": full}], clock())
    v = gate.check_text(b.ticket_code, D_0800)
    assert v.code == "BOARD" and v.message.endswith("· 全价票") and v.en.endswith("· Adult")


def test_checks_and_sales_share_one_gapless_event_sequence(db, db_path, terminal, shift):
    """Scans and the sales around them take their seqs from one counter: every seq once, in order,
    each event's hash over its own seq."""
    from app.domain.events import event_hash

    a = sell_one(db, terminal, D_0800, NINGBO, "张三", ID_A)
    gate, clock = _open(db, terminal, shift)
    assert gate.check_text(a.ticket_code, D_0800).code == "BOARD"
    b = sell_one(db, terminal, D_0800, NINGBO, "李四", ID_B, at=clock())
    assert gate.check_text(b.ticket_code, D_0800).code == "BOARD"
    assert gate.check_text(b.ticket_code, D_0800).code == "ALREADY_CHECKED"  # writes no event
    sell_one(db, terminal, D_0800, NINGBO, "王五", ID_C, at=clock())

    evs = events(db_path)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert [e["type"] for e in evs][-4:] == ["ticket.checked", "ticket.sold", "ticket.checked", "ticket.sold"]
    assert all(e["hash"] == event_hash(e) for e in evs)
    [(counter,)] = rows(db_path, "SELECT value FROM counters WHERE name = ?", f"outbox_seq:{terminal.terminal_id}")
    assert counter == len(evs)
