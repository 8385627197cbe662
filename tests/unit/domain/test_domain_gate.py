from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain import gate as g
from app.domain.errors import RuleViolation

DEPARTS = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
S = g.GateSettings()


def _refusal(fn, *args):
    with pytest.raises(RuleViolation) as info:
        fn(*args)
    return info.value.code


def test_settings_defaults_and_the_province_overrides():
    assert (S.open_minutes, S.late_minutes, S.free_child_cap(45)) == (30, 10, 4)
    s = g.GateSettings.from_dict({"open_minutes": 20, "station_fee_percent": 8.5, "agency_fee_percent": 2})
    assert s.open_minutes == 20 and s.late_minutes == 10
    assert s.fee(10001, s.station_fee_percent) == 850  # 850.085 rounds half up to the fen
    assert s.fee(10000, Decimal(2)) == 200


def test_the_lifecycle_opens_on_time_and_ends_by_the_clock():
    early = DEPARTS - timedelta(minutes=31)
    assert _refusal(g.check_can_open, g.WAITING, DEPARTS, early, S) == "GATE_NOT_YET"
    g.check_can_open(g.WAITING, DEPARTS, DEPARTS - timedelta(minutes=30), S)
    assert _refusal(g.check_can_open, g.CHECKING, DEPARTS, DEPARTS, S) == "GATE_ALREADY_OPEN"
    assert _refusal(g.check_can_open, g.STOPPED, DEPARTS, DEPARTS, S) == "GATE_STOPPED"
    assert _refusal(g.check_can_stop, g.WAITING) == "GATE_NOT_CHECKING"
    assert _refusal(g.check_can_reopen, g.CHECKING) == "GATE_NOT_STOPPED"
    assert g.effective_state(g.STOPPED, DEPARTS, DEPARTS + timedelta(minutes=10), S) == g.STOPPED
    assert g.effective_state(g.STOPPED, DEPARTS, DEPARTS + timedelta(minutes=11), S) == g.DEPARTED
    assert g.effective_state(g.MERGED, DEPARTS, DEPARTS + timedelta(hours=5), S) == g.MERGED
    assert g.effective_state(None, DEPARTS, DEPARTS, S) == g.WAITING


def _dep(**kw):
    base = {"id": "D1", "state": g.CHECKING, "opens_at": DEPARTS, "seats": 2, "seated_checked": 0,
            "free_children_checked": 0, "free_children_cap": 0}
    return g.DepartureFacts(**{**base, **kw})


def _ticket(**kw):
    base = {"ticket_id": "T1", "departure_id": "D1", "status": "active", "ticket_type": "full", "needs_seat": True,
            "counts_free_child_cap": False, "prints": 0}
    return g.TicketFacts(**{**base, **kw})


def test_judge_asks_in_the_checker_order():
    j = g.judge
    assert j(_ticket(), _dep(), scanned_print=0, already_checked=False, ticket_departure_today=True) == "BOARD"
    assert j(_ticket(status="refunded"), _dep(), scanned_print=0, already_checked=True,
             ticket_departure_today=True) == "REFUNDED"
    assert j(_ticket(status="changed"), _dep(), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "CHANGED"
    assert j(_ticket(prints=1), _dep(), scanned_print=0, already_checked=True, ticket_departure_today=True) \
        == "SUPERSEDED"
    assert j(_ticket(prints=1), _dep(), scanned_print=2, already_checked=False, ticket_departure_today=True) \
        == "BOARD"
    assert j(_ticket(), _dep(), scanned_print=None, already_checked=True, ticket_departure_today=True) \
        == "ALREADY_CHECKED"
    assert j(_ticket(departure_id="D2"), _dep(), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "WRONG_DEPARTURE"
    assert j(_ticket(departure_id="D2"), _dep(), scanned_print=0, already_checked=False,
             ticket_departure_today=False) == "NOT_TODAY"
    assert j(_ticket(departure_id="D2"), _dep(merged_from=frozenset({"D2"})), scanned_print=0,
             already_checked=False, ticket_departure_today=True) == "BOARD"
    assert j(_ticket(departure_id="D2", ride_changed_to="D1"), _dep(), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "BOARD"
    assert j(_ticket(), _dep(state=g.WAITING), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "NOT_OPEN"
    assert j(_ticket(), _dep(state=g.STOPPED), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "CLOSED"
    assert j(_ticket(), _dep(seated_checked=2), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "FULL"
    child = _ticket(ticket_type="free_child", needs_seat=False, counts_free_child_cap=True)
    assert j(child, _dep(seated_checked=2, free_children_cap=1), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "BOARD"
    assert j(child, _dep(free_children_checked=1, free_children_cap=1), scanned_print=0, already_checked=False,
             ticket_departure_today=True) == "FULL"


def test_every_verdict_has_a_tone_a_sound_and_words_in_both_languages():
    for code, (tone, sound, boards) in g.VERDICTS.items():
        assert tone in ("green", "amber", "red") and sound and boards == (code in ("BOARD", "CARD_MATCH",
                                                                                   "UNKNOWN_TICKET"))
        zh, en = g.verdict_text(code, {})
        assert zh and en and zh != en
    assert g.board_sound("student") == "board_student" and g.board_sound("full") == "board"


def test_a_card_matches_by_document_hash_and_a_differing_name_is_a_mismatch():
    assert g.card_matches(ticket_doc_hash="ab", ticket_name="张 三", card_doc_hash="ab", card_name="张三")
    assert not g.card_matches(ticket_doc_hash="ab", ticket_name="张三", card_doc_hash="cd", card_name="张三")
    assert not g.card_matches(ticket_doc_hash="ab", ticket_name="张三", card_doc_hash="ab", card_name="李四")
    assert not g.card_matches(ticket_doc_hash=None, ticket_name="小宝", card_doc_hash="ab", card_name="小宝")
    assert g.card_matches(ticket_doc_hash="ab", ticket_name="", card_doc_hash="ab", card_name="张三")


def test_a_feed_ticket_matches_by_name_visible_characters_and_tag_all_three():
    ticket = {"ticket_doc_hash": None, "ticket_doc_tag": "7f", "ticket_doc_masked": "**************0011"}
    card = {"card_doc_hash": "f" * 64, "card_doc_tag": "7f", "card_doc_masked": "**************0011"}
    assert g.card_matches(**ticket, ticket_name="张 三", **card, card_name="张三")
    assert not g.card_matches(**ticket, ticket_name="张三", **card, card_name="李四")
    assert not g.card_matches(**ticket, ticket_name="", **card, card_name="张三")  # the name is needed
    assert not g.card_matches(**{**ticket, "ticket_doc_tag": "80"}, ticket_name="张三", **card, card_name="张三")
    assert not g.card_matches(**{**ticket, "ticket_doc_masked": "**************0012"}, ticket_name="张三", **card,
                              card_name="张三")


def test_road_bill_figures_group_by_destination_and_type_and_take_the_fees():
    lines = [g.CheckedLine("宁波", "全票", 9800), g.CheckedLine("宁波", "全票", 9800),
             g.CheckedLine("宁波", "免票携童", 0, True), g.CheckedLine("绍兴", "学生票", 2650)]
    f = g.road_bill_figures(lines, g.GateSettings(agency_fee_percent=Decimal(2)))
    assert f["rows"] == [{"destination": "宁波", "ticket_type": "免票携童", "count": 1, "amount": 0},
                         {"destination": "宁波", "ticket_type": "全票", "count": 2, "amount": 19600},
                         {"destination": "绍兴", "ticket_type": "学生票", "count": 1, "amount": 2650}]
    assert f["totals"] == {"count": 4, "amount": 22250} and f["free_children"] == 1
    assert f["fees"] == {"station_fee": 2225, "agency_fee": 445}


def test_a_departure_id_names_its_date():
    assert g.departure_date_hint("330102001-20261202-K0800") == "2026-12-02"
    assert g.departure_date_hint("weird") is None
