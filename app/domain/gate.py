"""The gate's rules (检票): a departure's check lifecycle, the verdict on a scanned ticket, the road
bill's figures, and how an ID card is matched to a ticket. No I/O: the services hand in what the
terminal holds and record what these functions decide (docs/gate.md).
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ._time import require_aware
from .errors import RuleViolation

# --- the province's gate settings -------------------------------------------------------------------

DEFAULT_OPEN_MINUTES = 30  # 开检: checking opens this many minutes before departure
DEFAULT_LATE_MINUTES = 10  # 补检: a stopped check may reopen until this many minutes after departure
DEFAULT_STATION_FEE_PERCENT = Decimal(10)  # 站务费, of the ticket amount the bill carries
DEFAULT_AGENCY_FEE_PERCENT = Decimal(0)  # 代理费
DEFAULT_FREE_CHILD_CAP_PERCENT = Decimal(10)


@dataclass(frozen=True)
class GateSettings:
    """The province document's ``gate`` object, defaults filled in."""

    open_minutes: int = DEFAULT_OPEN_MINUTES
    late_minutes: int = DEFAULT_LATE_MINUTES
    station_fee_percent: Decimal = DEFAULT_STATION_FEE_PERCENT
    agency_fee_percent: Decimal = DEFAULT_AGENCY_FEE_PERCENT
    free_child_cap_percent: Decimal = DEFAULT_FREE_CHILD_CAP_PERCENT

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> GateSettings:
        raw = raw or {}
        return cls(
            open_minutes=int(raw.get("open_minutes", DEFAULT_OPEN_MINUTES)),
            late_minutes=int(raw.get("late_minutes", DEFAULT_LATE_MINUTES)),
            station_fee_percent=Decimal(str(raw.get("station_fee_percent", DEFAULT_STATION_FEE_PERCENT))),
            agency_fee_percent=Decimal(str(raw.get("agency_fee_percent", DEFAULT_AGENCY_FEE_PERCENT))),
            free_child_cap_percent=Decimal(str(raw.get("free_child_cap_percent", DEFAULT_FREE_CHILD_CAP_PERCENT))),
        )

    def free_child_cap(self, seats: int) -> int:
        return _free_child_cap(seats, self.free_child_cap_percent)

    def fee(self, amount: int, percent: Decimal) -> int:
        """A fee in fen on ``amount`` fen, rounded half up to the fen."""
        return int((Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@functools.lru_cache(maxsize=256)
def _free_child_cap(seats: int, percent: Decimal) -> int:
    # Every scan asks; a station has a handful of bus sizes.
    return int(Decimal(seats) * percent // 100)


# --- the check lifecycle ----------------------------------------------------------------------------

WAITING = "waiting"
CHECKING = "checking"
STOPPED = "stopped"
LATE = "late"
DEPARTED = "departed"
MERGED = "merged"
STATES = (WAITING, CHECKING, STOPPED, LATE, DEPARTED, MERGED)


def opens_at(departs_at: datetime, settings: GateSettings) -> datetime:
    return departs_at - timedelta(minutes=settings.open_minutes)


def late_until(departs_at: datetime, settings: GateSettings) -> datetime:
    return departs_at + timedelta(minutes=settings.late_minutes)


def effective_state(stored: str | None, departs_at: datetime, now: datetime, settings: GateSettings) -> str:
    """The state the gate shows: the stored one, except that the late-check deadline turns anything
    not merged into ``departed`` (the bus has gone whether or not someone pressed stop)."""
    require_aware(departs_at=departs_at, now=now)
    stored = stored or WAITING
    if stored == MERGED:
        return MERGED
    if now > late_until(departs_at, settings):
        return DEPARTED
    return stored


def _refuse(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


def check_can_open(state: str, departs_at: datetime, now: datetime, settings: GateSettings) -> None:
    """开检: only a waiting departure, from ``open_minutes`` before departure."""
    if state == MERGED:
        raise _refuse("GATE_MERGED", "该班次已并班，不能开检", "This departure was merged into another")
    if state == DEPARTED:
        raise _refuse("GATE_DEPARTED", "该班次已发车，不能开检", "This departure has left")
    if state in (CHECKING, LATE):
        raise _refuse("GATE_ALREADY_OPEN", "该班次正在检票", "Checking is already open")
    if state == STOPPED:
        raise _refuse("GATE_STOPPED", "该班次已停检，如需补检请由值班站长授权",
                      "Checking was stopped; a late check needs a supervisor")
    first = opens_at(departs_at, settings)
    if now < first:
        raise _refuse("GATE_NOT_YET", f"未到开检时间（发车前 {settings.open_minutes} 分钟开检）",
                      f"Too early: checking opens {settings.open_minutes} min before departure",
                      opens_at=first.isoformat())


def check_can_stop(state: str) -> None:
    if state not in (CHECKING, LATE):
        raise _refuse("GATE_NOT_CHECKING", "该班次未在检票，不能停检", "This departure is not being checked")


def check_can_reopen(state: str) -> None:
    """补检: only after a stop, before the late deadline (past it the state reads ``departed``)."""
    if state == DEPARTED:
        raise _refuse("GATE_DEPARTED", "已过补检截止时间", "Past the late-check deadline")
    if state != STOPPED:
        raise _refuse("GATE_NOT_STOPPED", "只有已停检的班次可以补检", "Only a stopped departure can be checked late")


# --- verdicts ---------------------------------------------------------------------------------------

GREEN, AMBER, RED = "green", "amber", "red"

# code -> (tone, sound, boards). The message is made by :func:`verdict_text` with the case's details.
VERDICTS: dict[str, tuple[str, str, bool]] = {
    "BOARD": (GREEN, "board", True),
    "CARD_MATCH": (GREEN, "board", True),
    "UNKNOWN_TICKET": (AMBER, "warn", True),
    "ALREADY_CHECKED": (RED, "already", False),
    "REFUNDED": (RED, "refused", False),
    "VOIDED": (RED, "refused", False),
    "CHANGED": (RED, "changed", False),
    "WRONG_DEPARTURE": (RED, "wrong_bus", False),
    "NOT_TODAY": (RED, "not_today", False),
    "NOT_OPEN": (AMBER, "warn", False),
    "CLOSED": (RED, "refused", False),
    "FULL": (RED, "full", False),
    "FORGED": (RED, "forged", False),
    "UNREADABLE": (AMBER, "unreadable", False),
    "REVOKED_KEY": (RED, "forged", False),
    "SUPERSEDED": (RED, "forged", False),
    "NOT_FOUND": (RED, "refused", False),
    "CARD_MISMATCH": (RED, "mismatch", False),
    "CARD_NO_TICKET": (RED, "no_ticket", False),
    "CARD_AMBIGUOUS": (AMBER, "warn", False),
}

# The sound a boarding ticket type plays, so the checker knows to ask for the student or military card.
TYPE_SOUNDS = {
    "child": "board_child",
    "free_child": "board_child",
    "student": "board_student",
    "disabled": "board_military",
    "military": "board_military",
    "senior": "board_senior",
}


def board_sound(ticket_type: str | None) -> str:
    return TYPE_SOUNDS.get(ticket_type or "", "board")


def _seat(d: Mapping[str, Any]) -> tuple[str, str]:
    seat_no = d.get("seat_no")
    return (f"{seat_no}号座", f"seat {seat_no}") if seat_no else ("无座", "no seat")


def _board_text(g, d) -> tuple[str, str]:
    seat, seat_en = _seat(d)
    type_name = g("type_name")
    return (f"请上车 · {seat} · {g('destination')}" + (f" · {type_name}" if type_name else ""),
            f"Board · {seat_en} · {g('destination')}" + (f" · {g('type_name_en', type_name)}" if type_name else ""))


def _card_match_text(g, d) -> tuple[str, str]:
    seat, seat_en = _seat(d)
    return f"票证一致，请上车 · {seat} · {g('destination')}", f"Ticket and ID match; board · {seat_en} · {g('destination')}"


# code -> the case's (Chinese, English) line from ``g`` (a detail as text, or a default) and the details.
# Made once: only the case's own line is formatted, on every scan.
_TEXTS = {
    "BOARD": _board_text,
    "CARD_MATCH": _card_match_text,
    "UNKNOWN_TICKET": lambda g, d: ("本机无此票记录（签名有效），放行并上报省平台核对",
                               "Ticket not held here (valid signature): boarded, reported for the server to judge"),
    "ALREADY_CHECKED": lambda g, d: (f"已检票：{g('checked_at')} 于 {g('gate', '?')} 号检票口",
                                f"Already checked at {g('checked_at')}, gate {g('gate', '?')}"),
    "REFUNDED": lambda g, d: ("该票已退票", "This ticket was refunded"),
    "VOIDED": lambda g, d: ("该票已废票", "This ticket was voided"),
    "CHANGED": lambda g, d: (f"该票已改签至 {g('to_departure', '其他班次')}",
                        f"This ticket was changed to {g('to_departure', 'another departure')}"),
    "WRONG_DEPARTURE": lambda g, d: (f"非本班次车票：{g('other')}，请到 {g('other_gate', '?')} 号检票口",
                                f"Another departure: {g('other')}, gate {g('other_gate', '?')}"),
    "NOT_TODAY": lambda g, d: (f"非当日车票（{g('ticket_date')}）", f"Not today's ticket ({g('ticket_date')})"),
    "NOT_OPEN": lambda g, d: (f"尚未开检（{g('opens_at')} 开检）", f"Checking not open yet (opens {g('opens_at')})"),
    "CLOSED": lambda g, d: (f"本班次{g('state_name', '已停检')}", f"This departure is {g('state_en', 'closed')}"),
    "FULL": lambda g, d: (g("full_zh", "检票人数已满"), g("full_en", "The bus is full")),
    "FORGED": lambda g, d: ("票码签名无效：疑似伪造或被篡改", "Invalid signature: forged or altered"),
    "UNREADABLE": lambda g, d: ("无法识别，请重新扫描或刷证", "Unreadable; scan again or tap the ID card"),
    "REVOKED_KEY": lambda g, d: (f"票码密钥{g('key_state', '未知')}（{g('key_id')}），请人工核验",
                            f"Code key {g('key_state_en', 'unknown')} ({g('key_id')}); check by hand"),
    "SUPERSEDED": lambda g, d: ("旧票：该票已补打，请出示最新车票", "Old paper: this ticket was reprinted; show the new one"),
    "NOT_FOUND": lambda g, d: ("查无此票", "No such ticket"),
    "CARD_MISMATCH": lambda g, d: ("票证不符：证件与车票乘客不一致", "Ticket and ID do not match"),
    "CARD_NO_TICKET": lambda g, d: ("该证件在本班次无车票", "No ticket on this departure for this ID"),
    "CARD_AMBIGUOUS": lambda g, d: (f"证件对应本班次多张车票（{g('seats', '?')}），请查看乘客车票后扫码检票",
                               f"This ID fits more than one ticket on this departure ({g('seats', '?')}); "
                               "check the passenger's ticket and scan it"),
}


def verdict_text(code: str, d: Mapping[str, Any]) -> tuple[str, str]:
    """(Chinese, English) one line for the checker. ``d`` holds the case's details."""
    def g(key: str, default: str = "") -> str:
        value = d.get(key)
        return default if value in (None, "") else str(value)

    return _TEXTS[code](g, d)


# The facts are made on every scan: slotted, and not frozen (a frozen dataclass sets each field
# through object.__setattr__, ten times the cost); the rules only read them.
@dataclass(slots=True)
class TicketFacts:
    """What the gate holds of one ticket when it judges a scan."""

    ticket_id: str
    departure_id: str
    status: str  # active | refunded | changed | voided
    ticket_type: str
    needs_seat: bool
    counts_free_child_cap: bool
    prints: int  # how many times the ticket was reprinted (0: the original paper is the live one)
    ride_changed_to: str | None = None


@dataclass(slots=True)
class DepartureFacts:
    """The departure being checked, as the gate sees it at the moment of the scan."""

    id: str
    state: str
    opens_at: datetime
    seats: int
    seated_checked: int
    free_children_checked: int
    free_children_cap: int
    merged_from: frozenset[str] = frozenset()


def judge(ticket: TicketFacts, dep: DepartureFacts, *, scanned_print: int | None, already_checked: bool,
          ticket_departure_today: bool) -> str:
    """The verdict code for a held ticket scanned at ``dep``. The order is the order a checker asks:
    is the paper valid, is it for this bus, has it boarded, may this bus take it now."""
    if ticket.status == "refunded":
        return "REFUNDED"
    if ticket.status == "voided":
        return "VOIDED"
    if ticket.status == "changed":
        return "CHANGED"
    if scanned_print is not None and scanned_print < ticket.prints:
        return "SUPERSEDED"
    if already_checked:
        return "ALREADY_CHECKED"
    target = ticket.ride_changed_to or ticket.departure_id
    if target != dep.id and target not in dep.merged_from:
        return "WRONG_DEPARTURE" if ticket_departure_today else "NOT_TODAY"
    return admit(dep, needs_seat=ticket.needs_seat, counts_free_child_cap=ticket.counts_free_child_cap)


def admit(dep: DepartureFacts, *, needs_seat: bool, counts_free_child_cap: bool) -> str:
    """May the departure take one more passenger now: open, and below the seats and free-child cap."""
    if dep.state == WAITING:
        return "NOT_OPEN"
    if dep.state not in (CHECKING, LATE):
        return "CLOSED"
    if needs_seat and dep.seated_checked >= dep.seats:
        return "FULL"
    if counts_free_child_cap and dep.free_children_checked >= dep.free_children_cap:
        return "FULL"
    return "BOARD"


_ID_DATE = re.compile(r"-(\d{4})(\d{2})(\d{2})-")


def departure_date_hint(departure_id: str) -> str | None:
    """The date in a departure id of the province's form ``<station>-YYYYMMDD-<schedule>``, for a
    code whose departure this terminal does not hold (another day beyond its feed)."""
    m = _ID_DATE.search(departure_id or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


STATE_NAMES = {
    WAITING: ("未开检", "not open yet"),
    CHECKING: ("检票中", "checking"),
    STOPPED: ("已停检", "stopped"),
    LATE: ("补检中", "checking late"),
    DEPARTED: ("已发车", "departed"),
    MERGED: ("已并班", "merged"),
}


# --- ID card ---------------------------------------------------------------------------------------


def normalise_name(name: str | None) -> str:
    return "".join((name or "").split()).upper()


def card_matches(*, ticket_doc_hash: str | None, ticket_name: str | None, card_doc_hash: str,
                 card_name: str | None, ticket_doc_tag: str | None = None, ticket_doc_masked: str | None = None,
                 card_doc_tag: str | None = None, card_doc_masked: str | None = None) -> bool:
    """票证一致: the card is the ticket's passenger. The one place identity is compared.

    A ticket this terminal sold keeps the full document hash, which decides (a name can be shared).
    A ticket from the feed (another window's, the web's) carries only the mask and the 8-bit tag,
    which many numbers share: there the name, the visible characters and the tag must all agree.
    Two tickets of one bus that both fit a card are the caller's to refuse (``CARD_AMBIGUOUS``).
    A ticket with no document (a free child) never matches a card."""
    if ticket_doc_hash and card_doc_hash:
        if not hmac.compare_digest(ticket_doc_hash, card_doc_hash):
            return False
        # A name on both sides that differs is a mismatch even with the same number (a misread card).
        return not (ticket_name and card_name and normalise_name(ticket_name) != normalise_name(card_name))
    if not (ticket_doc_tag and card_doc_tag and ticket_doc_masked and card_doc_masked):
        return False
    if not (hmac.compare_digest(ticket_doc_tag, card_doc_tag) and ticket_doc_masked == card_doc_masked):
        return False
    return bool(ticket_name and card_name and normalise_name(ticket_name) == normalise_name(card_name))


# --- the road bill ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedLine:
    destination: str
    ticket_type: str
    amount: int  # fen
    counts_free_child_cap: bool = False


def road_bill_figures(lines: Iterable[CheckedLine], settings: GateSettings) -> dict:
    """Rows per destination × ticket type (count, amount), the totals and the station's fees."""
    groups: dict[tuple[str, str], list[int]] = {}
    free_children = 0
    for line in lines:
        row = groups.setdefault((line.destination, line.ticket_type), [0, 0])
        row[0] += 1
        row[1] += line.amount
        if line.counts_free_child_cap:
            free_children += 1
    rows = [{"destination": d, "ticket_type": t, "count": c, "amount": a}
            for (d, t), (c, a) in sorted(groups.items())]
    count = sum(r["count"] for r in rows)
    amount = sum(r["amount"] for r in rows)
    fees = {"station_fee": settings.fee(amount, settings.station_fee_percent),
            "agency_fee": settings.fee(amount, settings.agency_fee_percent)}
    return {"rows": rows, "totals": {"count": count, "amount": amount}, "fees": fees,
            "free_children": free_children}
