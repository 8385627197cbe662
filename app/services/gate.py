"""The gate's view of the services: checking passengers on board, the check lifecycle, the road bill.

Qt-free like :class:`app.services.counter.Counter`: the gate view, the CLI, the demo and the tests
use the same object. Rules are decided in :mod:`app.domain.gate`; the rows live in
:mod:`app.store.gate`; each state change is one transaction with its outbox event (docs/gate.md).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.domain import gate as rules_gate
from app.domain.identity import DocumentIdentity, DocumentType
from app.domain.stock import format_stock_no, parse_stock_no
from app.domain.ticket_code import PREFIXES as CODE_PREFIXES
from app.domain.ticket_code import TicketCodePayload, decode_ticket_code
from app.errors import RuleViolation
from app.services import aftersale, auth
from app.services.context import Rules, Terminal, audit, bump, cursor, emit, load_rules, refuse_while_alarm
from app.store import gate as gate_store
from app.store import seats as seat_store
from app.store.engine import Database

_TICKET_ID = re.compile(r"^\d{22}$")
_DIGITS = re.compile(r"^\d{1,12}$")
_CODE_STARTS = tuple(p + "." for p in CODE_PREFIXES)


@dataclass(frozen=True)
class GateDeparture:
    id: str
    departs_at: datetime
    destination_names: str
    gate: str
    plate: str | None
    driver: str | None
    state: str  # waiting | checking | stopped | late | departed | merged
    opens_at: datetime
    late_until: datetime
    seats: int
    sold: int
    checked: int
    unchecked: int
    free_children: int
    free_children_cap: int
    ride_changes: int
    road_bill_no: str | None
    schedule_code: str = ""
    date: str = ""
    time: str = ""
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    code: str  # BOARD, ALREADY_CHECKED, ... (docs/gate.md § Verdicts)
    tone: str  # green | amber | red
    message: str
    en: str
    sound: str
    ticket_id: str | None = None
    departure_id: str | None = None
    seat_no: int | None = None
    passenger: str | None = None
    doc_masked: str | None = None
    destination: str | None = None
    ticket_type: str | None = None
    detail: dict = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    boards: bool = False  # the passenger goes on board (BOARD, CARD_MATCH, UNKNOWN_TICKET)
    type_name: str | None = None

    def text(self, language: str = "zh") -> str:
        return self.en if language.startswith("en") else self.message


@dataclass(frozen=True)
class RoadBill:
    number: str
    departure_id: str
    rows: list  # [{destination, ticket_type, count, amount}]
    totals: dict  # {count, amount}
    fees: dict  # {station_fee, agency_fee}
    plate: str
    driver: str
    gate: str
    checker: str
    made_at: datetime
    voided: bool
    reprints: int
    free_children: int = 0
    manifest: list = field(default_factory=list)  # [{name, doc_masked, seat_no, destination}]



@dataclass(frozen=True)
class RoadBillJob:
    """One road bill for the printer: the layout's fields (``drivers.printer.layout.road_bill_rows``)."""

    number: str
    departure_id: str
    reprint: bool
    fields: dict


def _violation(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


# The card reader's card types as the terminal's document types (drivers.idcard.card).
_CARD_DOCUMENTS = {
    "resident": DocumentType.RESIDENT_ID,
    "hmt_residence": DocumentType.HMT_RESIDENCE,
    "foreign_permanent_2017": DocumentType.FOREIGNER_2017,
    "foreign_permanent_2023": DocumentType.FOREIGNER_2023,
}


def card_identity(card, doc_hash_key: bytes) -> DocumentIdentity:
    """The hash, tag, mask and name of a card from the reader (``drivers.idcard`` CardData, or anything
    with ``doc_type``/``number``/``name``). The terminal finds tickets by these and never keeps the number."""
    number = (getattr(card, "id_number", None) or getattr(card, "number", None)
              or getattr(card, "doc_number", None) or "")
    doc_type = getattr(card, "doc_type", None) or _CARD_DOCUMENTS.get(getattr(card, "card_type", ""),
                                                                      DocumentType.RESIDENT_ID)
    if not number:
        raise _violation("CARD_UNREADABLE", "证件号码读取失败，请重新刷证", "The card's number could not be read; tap again")
    try:
        return DocumentIdentity.of(doc_hash_key, doc_type, str(number), str(getattr(card, "name", "") or ""))
    except ValueError:
        raise _violation("CARD_UNREADABLE", "证件号码无效，请重新刷证", "The card's number is not valid; tap again") from None


def _card_fits(ticket, card: DocumentIdentity) -> bool:
    return rules_gate.card_matches(
        ticket_doc_hash=ticket.doc_hash, ticket_name=ticket.passenger, card_doc_hash=card.doc_hash,
        card_name=card.name, ticket_doc_tag=ticket.doc_tag, ticket_doc_masked=ticket.doc_masked,
        card_doc_tag=card.doc_tag, card_doc_masked=card.doc_masked)


class Gate:
    """What the gate view asks of the services, for one terminal and one signed-in checker.

    ``gates``: the gate numbers this terminal serves (all departures when empty)."""

    def __init__(self, db: Database, terminal: Terminal, *, clock: Callable[[], datetime] | None = None,
                 language: str = "zh", gates: tuple[str, ...] = ()) -> None:
        self.db = db
        self.terminal = terminal
        self.clock = clock or (lambda: datetime.now(UTC))
        self.language = language
        self.gates = tuple(str(g) for g in gates)
        self.user: auth.SignedIn | None = None
        self._recent: dict[str, deque[Verdict]] = {}
        self._unflushed = False  # a boarding committed to be flushed later (flush())
        # (rules_version, rules, revoked keys) as the last scan read them (_scan_rules).
        self._kept: tuple[int, Rules, dict] | None = None

    # --- signing in ------------------------------------------------------------------------------

    def login(self, code: str, password: str) -> auth.SignedIn:
        return self.admit(auth.login(self.db, self.terminal, code, password, now=self.now()))

    def admit(self, user: auth.SignedIn) -> auth.SignedIn:
        """Seat a user whose password was just checked at the gate, if their role may check here."""
        # The technician signs in at any terminal, a gate-only one included, to reach the
        # technician menu (the window routes the role there, never to the gate view).
        if user.role not in ("gate", "supervisor", "technician"):
            raise RuleViolation("该账号不能在检票口登录", en="This account may not sign in at the gate",
                                code="NOT_AUTHORISED")
        self.user = user
        return user

    def logout(self) -> None:
        self.flush()
        self.user = None

    def _checker(self) -> str:
        if self.user is None:
            raise _violation("NOT_SIGNED_IN", "请先登录", "Sign in first")
        return self.user.code

    def _approval(self, approver: tuple[str, str] | None, what_zh: str, what_en: str) -> str:
        """The supervisor who approves an exception: a signed-in supervisor approves their own,
        anyone else needs a supervisor's code and password (checked and committed first, so a wrong
        password counts towards the lock, as at the counter)."""
        self._checker()
        if approver:
            code, password = approver
            return aftersale.approve(self.db, self.terminal, code, password, now=self.now())
        if self.user is not None and self.user.role == "supervisor":
            return self.user.code
        raise _violation("APPROVAL_REQUIRED", f"{what_zh}需要值班站长授权", f"{what_en} needs a supervisor's approval")

    @staticmethod
    def _reason(reason: str) -> str:
        reason = (reason or "").strip()
        if not reason:
            raise _violation("REASON_REQUIRED", "请填写原因", "Give a reason")
        return reason[:200]

    # --- time --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.terminal.local_date(self.now())

    def _local(self, instant: datetime | None, fmt: str = "%H:%M") -> str:
        return "" if instant is None else instant.astimezone(self.terminal.zone).strftime(fmt)

    # --- departures ----------------------------------------------------------------------------------

    def _rules(self, cur) -> Rules:
        return load_rules(cur)

    def _scan_rules(self, cur, version: int | None) -> tuple[Rules, dict]:
        """The rules and the revoked keys for a scan: those kept from an earlier scan while the
        file's rules_version (bumped by triggers on settings and ticket_keys, whoever writes them:
        migration 0010) is the one they were read at, else read again. Read in the scan's own
        transaction, so a revocation committed before the scan began is always seen."""
        kept = self._kept
        if kept is not None and version is not None and kept[0] == version:
            return kept[1], kept[2]
        rules, revoked = self._rules(cur), gate_store.revoked_keys(cur)
        self._kept = None if version is None else (version, rules, revoked)
        return rules, revoked

    def _state_of(self, cur, rules: Rules, row: gate_store.GateDepartureRow, now: datetime) -> tuple[str, object]:
        st = gate_store.gate_state(cur, row.id)
        stored = st.state if st else (rules_gate.DEPARTED if row.status == "departed" else rules_gate.WAITING)
        return rules_gate.effective_state(stored, row.departs_at, now, rules.gate), st

    def _counts(self, cur, rules: Rules, departure_id: str) -> tuple[int, int]:
        """(seated passengers checked, free children checked) on the departure."""
        return self._split(rules, gate_store.check_counts(cur, departure_id))

    def _split(self, rules: Rules, counts: dict[str, int]) -> tuple[int, int]:
        """(seated, free children) of counts by ticket type; a type the table does not know is seated."""
        seated = free = 0
        types = rules.ticket_types
        for code, n in counts.items():
            t = types.get(code) if code in types else None
            if t is not None and t.counts_free_child_cap:
                free += n
            elif t is None or t.needs_seat:
                seated += n
        return seated, free

    def _views(self, cur, rules: Rules, rows: list[gate_store.GateDepartureRow], now: datetime) -> list[GateDeparture]:
        """The board of many departures in a handful of statements (the day's list refreshes often)."""
        ids = [r.id for r in rows]
        states = gate_store.gate_states(cur, ids)
        sources = gate_store.merged_sources_of(cur, ids)
        sold_by = gate_store.sold_counts_of(cur, ids + [s for group in sources.values() for s in group])
        checked_by = gate_store.check_counts_of(cur, ids)
        bills = gate_store.road_bill_numbers_of(cur, ids)
        moves = gate_store.ride_change_counts_of(cur, ids)
        out = []
        for row in rows:
            st = states.get(row.id)
            stored = st.state if st else (rules_gate.DEPARTED if row.status == "departed" else rules_gate.WAITING)
            state = rules_gate.effective_state(stored, row.departs_at, now, rules.gate)
            sold = sum(self._split(rules, sold_by.get(d, {}))[0] for d in (row.id, *sources.get(row.id, ())))
            seated, free = self._split(rules, checked_by.get(row.id, {}))
            out.append(GateDeparture(
                id=row.id, departs_at=row.departs_at, destination_names=row.route_name,
                gate=(st.gate if st and st.gate else row.gate), plate=st.plate if st else None,
                driver=st.driver if st else None, state=state,
                opens_at=rules_gate.opens_at(row.departs_at, rules.gate),
                late_until=rules_gate.late_until(row.departs_at, rules.gate), seats=row.seats, sold=sold,
                checked=seated, unchecked=max(sold - seated, 0), free_children=free,
                free_children_cap=rules.gate.free_child_cap(row.seats), ride_changes=moves.get(row.id, 0),
                road_bill_no=bills.get(row.id), schedule_code=row.schedule_code, date=row.date, time=row.time,
                merged_into=st.merged_into if st else None,
            ))
        return out

    def _view(self, cur, rules: Rules, row: gate_store.GateDepartureRow, now: datetime) -> GateDeparture:
        return self._views(cur, rules, [row], now)[0]

    def _row(self, cur, departure_id: str) -> gate_store.GateDepartureRow:
        row = gate_store.departure_row(cur, departure_id)
        if row is None:
            raise _violation("UNKNOWN_DEPARTURE", f"没有这个班次：{departure_id}", f"No such departure: {departure_id}")
        return row

    def departures(self, day: date | None = None) -> list[GateDeparture]:
        day = day or self.today()
        now = self.now()
        with self.db.read() as session:
            cur = cursor(session)
            rules = self._rules(cur)
            return self._views(cur, rules, gate_store.departures_on(cur, day.isoformat(), self.gates), now)

    def departure(self, departure_id: str) -> GateDeparture:
        with self.db.read() as session:
            cur = cursor(session)
            return self._view(cur, self._rules(cur), self._row(cur, departure_id), self.now())

    def seat_map(self, departure_id: str) -> dict[int, str]:
        with self.db.read() as session:
            cur = cursor(session)
            states = gate_store.seat_states(cur, departure_id)
            checked = {c.seat_no for c in gate_store.checks_of(cur, departure_id) if c.seat_no is not None}
        out = {}
        for seat, state in states.items():
            if seat in checked:
                out[seat] = "checked"
            elif state in ("free", "leased"):
                out[seat] = "free"
            else:
                out[seat] = "sold"
        return out

    def recent(self, departure_id: str, limit: int = 8) -> list[Verdict]:
        return list(self._recent.get(departure_id, ()))[-limit:][::-1]

    # --- the lifecycle -------------------------------------------------------------------------------

    def _put_state(self, cur, row, st, **changes) -> None:
        base = st or gate_store.GateState(row.id, row.gate, rules_gate.WAITING, None, None, None, None, None, None,
                                          None)
        gate_store.put_gate_state(cur, dataclasses.replace(base, **changes))

    def open_check(self, departure_id: str, *, vehicle: str, driver: str) -> GateDeparture:
        """开检: from ``open_minutes`` before departure, with the bus's plate and its driver."""
        checker = self._checker()
        vehicle, driver = (vehicle or "").strip().upper(), (driver or "").strip()
        if not vehicle or not driver:
            raise _violation("VEHICLE_REQUIRED", "开检须填写车牌和驾驶员", "Enter the plate and the driver to open checking")
        now = self.now()
        # No SYNC_ALARM refusal here, nor in stop_check and the checks: the bus leaves whatever the
        # sync link says (docs/gate.md § While a sync alarm stands).
        with self.db.transaction() as session:
            cur = cursor(session)
            rules = self._rules(cur)
            row = self._row(cur, departure_id)
            if row.status == "cancelled":
                raise _violation("GATE_CANCELLED", "该班次已停班，不能开检", "This departure is cancelled")
            state, st = self._state_of(cur, rules, row, now)
            rules_gate.check_can_open(state, row.departs_at, now, rules.gate)
            gate = st.gate if st and st.gate else row.gate
            self._put_state(cur, row, st, state=rules_gate.CHECKING, plate=vehicle[:16], driver=driver[:32],
                            checker=checker, opened_at=now, gate=gate)
            emit(cur, self.terminal, "gate.opened", {"departure_id": row.id, "gate": gate, "plate": vehicle[:16],
                                                     "driver": driver[:32], "checker": checker, "late": False}, now)
            audit(cur, self.terminal, checker, "gate_open", row.id, {"plate": vehicle[:16], "gate": gate}, now)
            return self._view(cur, rules, row, now)

    def recent_crews(self, limit: int = 20) -> list[tuple[str, str]]:
        """(plate, driver) pairs of the latest openings at this terminal, newest first, to choose from at 开检."""
        with self.db.read() as session:
            return gate_store.recent_crews(cursor(session), limit)

    def late_check(self, departure_id: str, *, reason: str, approver: tuple[str, str] | None) -> GateDeparture:
        """补检: reopen a stopped check until ``late_minutes`` after departure. The road bill made at
        the stop is voided in the same step: the next stop makes the whole departure's bill again."""
        checker = self._checker()
        reason = self._reason(reason)
        approved = self._approval(approver, "补检", "A late check")
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)
            rules = self._rules(cur)
            row = self._row(cur, departure_id)
            state, st = self._state_of(cur, rules, row, now)
            rules_gate.check_can_reopen(state)
            bill = gate_store.road_bill_of(cur, row.id)
            if bill is not None:
                self._void_bill(cur, bill, f"补检：{reason}", approved, checker, now)
            self._put_state(cur, row, st, state=rules_gate.LATE, road_bill_no=None, stopped_at=None)
            st2 = gate_store.gate_state(cur, row.id)
            emit(cur, self.terminal, "gate.opened", {
                "departure_id": row.id, "gate": st2.gate, "plate": st2.plate or "", "driver": st2.driver or "",
                "checker": checker, "late": True, "reason": reason, "approver": approved}, now)
            audit(cur, self.terminal, checker, "gate_late_check", row.id, {"reason": reason, "approver": approved}, now)
            return self._view(cur, rules, row, now)

    def stop_check(self, departure_id: str) -> RoadBill:
        """停检: the road bill is numbered and committed with the stop, before anything is printed."""
        checker = self._checker()
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            rules = self._rules(cur)
            row = self._row(cur, departure_id)
            state, st = self._state_of(cur, rules, row, now)
            remake = state in (rules_gate.STOPPED, rules_gate.DEPARTED) and st is not None and st.opened_at \
                and gate_store.road_bill_of(cur, row.id) is None
            if not remake:
                rules_gate.check_can_stop(state)
                self._put_state(cur, row, st, state=rules_gate.STOPPED, stopped_at=now)
                emit(cur, self.terminal, "gate.stopped", {"departure_id": row.id, "gate": st.gate, "checker": checker},
                     now)
            bill = self._make_bill(cur, rules, row, gate_store.gate_state(cur, row.id), checker, now)
            audit(cur, self.terminal, checker, "gate_stop", row.id, {"road_bill": bill.number}, now)
            return bill

    def _make_bill(self, cur, rules: Rules, row, st: gate_store.GateState, checker: str, now: datetime) -> RoadBill:
        types = rules.ticket_types
        lines, manifest = [], []
        for c in gate_store.checks_of(cur, row.id):
            t = gate_store.gate_ticket(cur, c.ticket_id)
            tt = types.get(c.ticket_type) if c.ticket_type in types else None
            type_name = tt.name if tt else c.ticket_type
            destination = t.stop_name if t else "未知到站"
            lines.append(rules_gate.CheckedLine(destination, type_name, t.price if t else 0,
                                                bool(tt and tt.counts_free_child_cap)))
            manifest.append({"name": t.passenger if t else "", "doc_masked": t.doc_masked if t else "",
                             "seat_no": c.seat_no, "destination": destination, "ticket_type": type_name,
                             "unknown": c.unknown})
        figures = rules_gate.road_bill_figures(lines, rules.gate)
        seq = bump(cur, f"roadbill_seq:{self.terminal.terminal_id}")
        number = f"{self.terminal.terminal_id}-{seq:06d}"
        body = {**figures, "manifest": manifest, "schedule_code": row.schedule_code, "date": row.date,
                "time": row.time, "route": row.route_name}
        gate_store.insert_road_bill(cur, number=number, departure_id=row.id, terminal_id=self.terminal.terminal_id,
                                    gate=st.gate, checker=checker, plate=st.plate or "", driver=st.driver or "",
                                    made_at=now, body=json.dumps(body, ensure_ascii=False, sort_keys=True))
        self._put_state(cur, row, st, road_bill_no=number)
        seated = sum(1 for ln in lines if not ln.counts_free_child_cap)
        emit(cur, self.terminal, "roadbill.made", {
            "number": number, "departure_id": row.id, "gate": st.gate, "checker": checker, "plate": st.plate or "",
            "driver": st.driver or "", "rows": figures["rows"], "totals": figures["totals"], "fees": figures["fees"],
            "checked": seated, "free_children": figures["free_children"]}, now)
        return self._bill(gate_store.road_bill(cur, number))

    @staticmethod
    def _bill(b: gate_store.RoadBillRow) -> RoadBill:
        body = json.loads(b.body)
        return RoadBill(number=b.number, departure_id=b.departure_id, rows=body["rows"], totals=body["totals"],
                        fees=body["fees"], plate=b.plate, driver=b.driver, gate=b.gate, checker=b.checker,
                        made_at=b.made_at, voided=b.voided_at is not None, reprints=b.reprints,
                        free_children=body.get("free_children", 0), manifest=body.get("manifest", []))

    # --- verdicts ------------------------------------------------------------------------------------

    def _verdict(self, code: str, departure_id: str | None, now: datetime, *, ticket=None, payload=None,
                 rules: Rules | None = None, **detail) -> Verdict:
        tone, sound, boards = rules_gate.VERDICTS[code]
        ticket_type = ticket.ticket_type if ticket else (payload.ticket_type if payload else None)
        type_name = type_name_en = None
        if rules is not None and ticket_type and ticket_type in rules.ticket_types:
            tt = rules.ticket_types.get(ticket_type)
            type_name, type_name_en = tt.name, (tt.name_en or tt.name)
        seat_no = ticket.seat_no if ticket else (payload.seat_no if payload else None)
        if "seat_no" in detail:
            seat_no = detail.pop("seat_no")
        if boards and code != "UNKNOWN_TICKET":
            sound = rules_gate.board_sound(ticket_type)
        words = {"seat_no": seat_no, "destination": ticket.stop_name if ticket else "", "type_name": type_name or "",
                 "type_name_en": type_name_en or "", **detail}
        zh, en = rules_gate.verdict_text(code, words)
        verdict = Verdict(
            code=code, tone=tone, message=zh, en=en, sound=sound,
            ticket_id=ticket.ticket_id if ticket else (payload.ticket_id if payload else None),
            departure_id=departure_id, seat_no=seat_no, passenger=ticket.passenger if ticket else None,
            doc_masked=ticket.doc_masked if ticket else None, destination=ticket.stop_name if ticket else None,
            ticket_type=ticket_type, detail=detail, at=now, boards=boards, type_name=type_name,
        )
        if departure_id:
            recent = self._recent.get(departure_id)
            if recent is None:
                recent = self._recent[departure_id] = deque(maxlen=32)
            recent.append(verdict)
        return verdict

    def _departure_facts(self, cur, rules: Rules, row, now: datetime,
                         scan: gate_store.ScanDeparture | None = None) -> tuple[rules_gate.DepartureFacts, dict]:
        """The departure's facts for a verdict; ``scan``: the scan's one read of them, else read here."""
        if scan is not None:
            st = scan.state
            stored = st.state if st else (rules_gate.DEPARTED if row.status == "departed" else rules_gate.WAITING)
            state = rules_gate.effective_state(stored, row.departs_at, now, rules.gate)
            seated, free = self._split(rules, scan.check_counts)
            merged = scan.merged_from
        else:
            state, st = self._state_of(cur, rules, row, now)
            seated, free = self._counts(cur, rules, row.id)
            merged = gate_store.merged_sources(cur, row.id)
        facts = rules_gate.DepartureFacts(
            id=row.id, state=state, opens_at=rules_gate.opens_at(row.departs_at, rules.gate), seats=row.seats,
            seated_checked=seated, free_children_checked=free, free_children_cap=rules.gate.free_child_cap(row.seats),
            merged_from=merged)
        return facts, {"state": st}

    def _refusal_detail(self, cur, code: str, facts: rules_gate.DepartureFacts, ticket=None, payload=None,
                        check=None, capped: bool = False) -> dict:
        if code == "ALREADY_CHECKED" and check is not None:
            return {"checked_at": self._local(check.checked_at, "%H:%M:%S"), "gate": check.gate,
                    "checked_departure": check.departure_id}
        if code == "CHANGED" and ticket is not None:
            to = gate_store.changed_to(cur, ticket.ticket_id)
            return {"to_departure": f"{to[3]} {to[1]} {to[2]}" if to else "", "to_departure_id": to[0] if to else None}
        if code in ("WRONG_DEPARTURE", "NOT_TODAY"):
            dep_id = ((gate_store.ride_change_of(cur, ticket.ticket_id) or ticket.departure_id) if ticket
                      else payload.departure_id)
            other = gate_store.departure_row(cur, dep_id)
            if other is None:
                return {"other": dep_id, "other_departure_id": dep_id, "other_gate": "",
                        "ticket_date": rules_gate.departure_date_hint(dep_id) or ""}
            return {"other": f"{other.schedule_code} {other.date[5:]} {other.time}", "other_departure_id": other.id,
                    "other_gate": other.gate, "ticket_date": other.date}
        if code == "NOT_OPEN":
            return {"opens_at": self._local(facts.opens_at)}
        if code == "CLOSED":
            zh, en = rules_gate.STATE_NAMES.get(facts.state, ("已停检", "closed"))
            return {"state_name": zh, "state_en": en, "state": facts.state}
        if code == "FULL":
            if not capped:
                return {"full_zh": f"检票人数已满（{facts.seats} 座）", "full_en": f"The bus is full ({facts.seats} seats)"}
            return {"full_zh": f"免票儿童已达上限（{facts.free_children_cap} 人）",
                    "full_en": f"Free-child cap reached ({facts.free_children_cap})"}
        return {}

    def _decode(self, text: str, departure_id: str, now: datetime, rules: Rules, revoked_keys: dict):
        """The payload of a scanned code, or the refusal verdict of a code that cannot be trusted."""
        try:
            payload = decode_ticket_code(text, self.terminal.public_keys)
        except RuleViolation as exc:
            if exc.code == "CODE_FORGED":
                return None, self._verdict("FORGED", departure_id, now)
            if exc.code == "CODE_UNKNOWN_KEY":
                key_id = exc.details.get("key_id", "")
                return None, self._verdict("REVOKED_KEY", departure_id, now, key_id=key_id, key_state="未知",
                                           key_state_en="unknown")
            return None, self._verdict("UNREADABLE", departure_id, now)
        key_id = text.split(".", 2)[1]  # a decoded code has four parts
        revoked = revoked_keys.get(key_id)
        # A key is revoked from a moment on: codes it signed before stay good, as at the counter.
        if revoked is not None and payload.issued_at >= revoked:
            return None, self._verdict("REVOKED_KEY", departure_id, now, payload=payload, rules=rules, key_id=key_id,
                                       key_state="已吊销", key_state_en="revoked")
        return payload, None

    def check_text(self, text: str, departure_id: str) -> Verdict:
        """A scanned ticket code, or a typed ticket id or stock number (票号). A boarding is committed
        to be flushed later: call :meth:`flush` once the verdict is shown (docs/gate.md § Durability)."""
        checker = self._checker()
        self.flush()  # a caller that did not flush the last boarding: before this one, then
        now = self.now()
        text = (text or "").strip()
        # The session-less write cursor and one read of the departure: the scan's path is kept to
        # the statements the verdict needs (docs/gate.md § Speed).
        with self.db.write_cursor(flush_later=True) as cur:
            scan = gate_store.scan_departure(cur, departure_id)
            if scan is None:
                raise _violation("UNKNOWN_DEPARTURE", f"没有这个班次：{departure_id}",
                                 f"No such departure: {departure_id}")
            rules, revoked = self._scan_rules(cur, scan.rules_version)
            row = scan.row
            payload = None
            if text.upper().startswith(_CODE_STARTS):
                payload, refusal = self._decode(text, departure_id, now, rules, revoked)
                if refusal is not None:
                    return refusal
                via, held = "code", gate_store.scan_ticket(cur, payload.ticket_id)
                if held is not None:
                    ticket, check, moved = held
                    return self._judge_and_record(cur, rules, row, ticket, payload, via, checker, now, scan=scan,
                                                  check=check, moved=moved)
                ticket = None
            elif _TICKET_ID.match(text):
                ticket, via = gate_store.gate_ticket(cur, text), "number"
            elif _DIGITS.match(text):
                ticket, via = gate_store.gate_ticket_by_stock(cur, format_stock_no(parse_stock_no(text))), "number"
            else:
                return self._verdict("UNREADABLE", departure_id, now)
            if ticket is None and payload is None:
                return self._verdict("NOT_FOUND", departure_id, now)
            return self._judge_and_record(cur, rules, row, ticket, payload, via, checker, now, scan=scan)

    def flush(self) -> None:
        """Make the boardings committed so far durable against a power loss (one sync of the WAL):
        the gate view calls it right after the verdict is painted, the command line before it exits."""
        if self._unflushed:
            self.db.flush()
            self._unflushed = False

    def _judge_and_record(self, cur, rules: Rules, row, ticket, payload: TicketCodePayload | None, via: str,
                          checker: str, now: datetime, *, board_code: str = "BOARD",
                          scan: gate_store.ScanDeparture | None = None, check=False, moved=False) -> Verdict:
        """``scan``, ``check`` (the live check or None) and ``moved`` (the ride change's departure or
        None): what the caller has read already (gate_store.scan_departure, scan_ticket)."""
        facts, extra = self._departure_facts(cur, rules, row, now, scan)
        ticket_id = ticket.ticket_id if ticket else payload.ticket_id
        if check is False:
            check = gate_store.live_check(cur, ticket_id)
        types = rules.ticket_types
        type_code = ticket.ticket_type if ticket else payload.ticket_type
        tt = types.get(type_code) if type_code in types else None
        needs_seat = tt.needs_seat if tt else True
        capped = bool(tt and tt.counts_free_child_cap)
        printed = payload.printed if payload else None
        if ticket is None:
            # Validly signed, not held here (sold elsewhere after the last pull): docs/gate.md § Offline.
            if check is not None:
                code = "ALREADY_CHECKED"
            elif payload.departure_id != row.id and payload.departure_id not in facts.merged_from:
                other = gate_store.departure_row(cur, payload.departure_id)
                day = other.date if other else rules_gate.departure_date_hint(payload.departure_id)
                today = day is None or day == self.today().isoformat()
                code = "WRONG_DEPARTURE" if today else "NOT_TODAY"
            else:
                code = rules_gate.admit(facts, needs_seat=needs_seat, counts_free_child_cap=capped)
                if code == "BOARD":
                    code = "UNKNOWN_TICKET"
        else:
            if moved is False:
                moved = gate_store.ride_change_of(cur, ticket.ticket_id)
            facts_t = rules_gate.TicketFacts(
                ticket_id=ticket.ticket_id, departure_id=ticket.departure_id, status=ticket.status,
                ticket_type=ticket.ticket_type, needs_seat=needs_seat, counts_free_child_cap=capped,
                prints=ticket.prints, ride_changed_to=moved)
            # Whether the ticket's own departure is today matters only for a ticket of another one.
            elsewhere = (moved or ticket.departure_id) != row.id
            code = rules_gate.judge(facts_t, facts, scanned_print=printed, already_checked=check is not None,
                                    ticket_departure_today=not elsewhere
                                    or ticket.dep_date == self.today().isoformat())
        if code not in ("BOARD", "UNKNOWN_TICKET"):
            detail = self._refusal_detail(cur, code, facts, ticket, payload, check, capped)
            return self._verdict(code, row.id, now, ticket=ticket, payload=payload, rules=rules, **detail)
        st = extra["state"]
        gate = st.gate if st and st.gate else row.gate
        seat_no = ticket.seat_no if ticket else payload.seat_no
        if ticket is not None:
            if moved == row.id:
                seat_no = next((s for s, t in gate_store.ride_change_seats(cur, row.id).items()
                                if t == ticket.ticket_id), None)
        unknown = ticket is None
        version = printed if printed is not None else (ticket.prints if ticket else 0)
        gate_store.insert_check(cur, ticket_id=ticket_id, departure_id=row.id, gate=gate, checker=checker, via=via,
                                seat_no=seat_no, ticket_type=type_code, printed_version=version, unknown=unknown,
                                at=now)
        emit(cur, self.terminal, "ticket.checked", {
            "ticket_id": ticket_id, "departure_id": row.id, "gate": gate, "checker": checker, "via": via,
            "seat_no": seat_no, "printed_version": version, "unknown": unknown}, now)
        code = "UNKNOWN_TICKET" if unknown else board_code
        self._unflushed = True
        return self._verdict(code, row.id, now, ticket=ticket, payload=payload, rules=rules, seat_no=seat_no,
                             gate=gate, via=via)

    def check_card(self, card, departure_id: str, *, ticket_id: str | None = None) -> Verdict:
        """An ID card on the reader. With ``ticket_id`` (the ticket just scanned): 票证一致 or 票证不符
        for that ticket. Without: this passenger's ticket on the departure is found and checked.
        Flushed later, like :meth:`check_text`."""
        checker = self._checker()
        self.flush()
        now = self.now()
        try:
            card_id = card_identity(card, self.terminal.doc_hash_key)
        except RuleViolation:
            return self._verdict("UNREADABLE", departure_id, now)
        with self.db.write_cursor(flush_later=True) as cur:
            rules = self._rules(cur)
            row = self._row(cur, departure_id)
            if ticket_id is not None:
                ticket = gate_store.gate_ticket(cur, ticket_id)
                same = ticket is not None and _card_fits(ticket, card_id)
                if not same:
                    return self._verdict("CARD_MISMATCH", row.id, now, ticket=ticket, rules=rules)
                if gate_store.live_check(cur, ticket_id) is not None:
                    return self._verdict("CARD_MATCH", row.id, now, ticket=ticket, rules=rules, confirmed=True)
                return self._judge_and_record(cur, rules, row, ticket, None, "card", checker, now,
                                              board_code="CARD_MATCH")
            # This terminal's own sales come by the full hash (a differing name is then a mismatch);
            # a ticket from the feed only when its name, visible characters and tag all fit.
            tickets = [t for t in gate_store.gate_tickets_by_doc(cur, card_id) if t.doc_hash or _card_fits(t, card_id)]
            facts, _ = self._departure_facts(cur, rules, row, now)
            here = {row.id, *facts.merged_from}
            mine = [t for t in tickets if t.status == "active" and (
                t.departure_id in here or gate_store.ride_change_of(cur, t.ticket_id) == row.id)]
            if len(mine) > 1 or (not mine and len(
                    [t for t in tickets if t.status == "active" and t.dep_date == self.today().isoformat()]) > 1):
                # Two tickets whose name, visible characters and tag all fit this card: the tag is
                # short on purpose, so the gate does not guess -- the paper's code decides.
                fits = mine or [t for t in tickets if t.status == "active"]
                seats = "、".join(str(t.seat_no) if t.seat_no is not None else "-" for t in fits)
                return self._verdict("CARD_AMBIGUOUS", row.id, now, seats=seats)
            if not mine:
                today = [t for t in tickets if t.status == "active" and t.dep_date == self.today().isoformat()]
                if today:
                    return self._judge_and_record(cur, rules, row, today[0], None, "card", checker, now,
                                                  board_code="CARD_MATCH")
                return self._verdict("CARD_NO_TICKET", row.id, now)
            ticket = mine[0]
            if not _card_fits(ticket, card_id):
                return self._verdict("CARD_MISMATCH", row.id, now, ticket=ticket, rules=rules)
            return self._judge_and_record(cur, rules, row, ticket, None, "card", checker, now, board_code="CARD_MATCH")

    def paper_codes(self, departure_id: str, *, unchecked_only: bool = True) -> list[tuple[str, str]]:
        """(ticket_id, code) of the live tickets of the departure as their newest paper carries them,
        signed by this terminal: what the demo's scan key and the screenshots scan. Seat order."""
        from app.services.sales import ticket_code_for

        now = self.now()
        with self.db.read() as session:
            cur = cursor(session)
            tickets = [t for t in gate_store.departure_tickets(cur, [departure_id]) if t.status == "active"]
            if unchecked_only:
                checked = gate_store.checked_tickets(cur, [t.ticket_id for t in tickets])
                tickets = [t for t in tickets if t.ticket_id not in checked]
        return [(t.ticket_id, ticket_code_for(self.terminal, t.ticket_id, t.departure_id, t.seat_no, t.ticket_type,
                                              t.doc_hash or t.doc_tag, now, t.prints)) for t in tickets]

    # --- exceptions --------------------------------------------------------------------------------------

    def undo_check(self, ticket_id: str, *, reason: str, approver: tuple[str, str] | None) -> Verdict:
        """注销检票: allowed until the departure's road bill is made."""
        checker = self._checker()
        reason = self._reason(reason)
        approved = self._approval(approver, "注销检票", "Undoing a check")
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)
            check = gate_store.live_check(cur, ticket_id)
            if check is None:
                raise _violation("NOT_CHECKED", "该票未检票，无需注销", "This ticket has not been checked")
            bill = gate_store.road_bill_of(cur, check.departure_id)
            if bill is not None:
                raise _violation("ROAD_BILL_MADE", f"路单 {bill.number} 已生成，不能注销检票（须先作废路单）",
                                 f"Road bill {bill.number} is made; void it before undoing a check",
                                 road_bill=bill.number)
            gate_store.undo_check(cur, ticket_id, now, reason)
            emit(cur, self.terminal, "ticket.check_undone", {"ticket_id": ticket_id, "departure_id": check.departure_id,
                                                             "reason": reason, "approver": approved}, now)
            audit(cur, self.terminal, checker, "gate_undo_check", ticket_id,
                  {"departure_id": check.departure_id, "reason": reason, "approver": approved}, now)
            ticket = gate_store.gate_ticket(cur, ticket_id)
            verdict = Verdict(code="CHECK_UNDONE", tone="amber", message="已注销检票", en="Check undone", sound="warn",
                              ticket_id=ticket_id, departure_id=check.departure_id, seat_no=check.seat_no,
                              passenger=ticket.passenger if ticket else None,
                              doc_masked=ticket.doc_masked if ticket else None,
                              destination=ticket.stop_name if ticket else None, ticket_type=check.ticket_type,
                              detail={"reason": reason, "approver": approved}, at=now)
        return verdict

    def ride_change(self, ticket_id: str, target_departure_id: str, *, reason: str,
                    approver: tuple[str, str] | None) -> Verdict:
        """改乘: the passenger boards another bus that serves the ticket's destination; the ticket's own
        seat is given back and the passenger is checked on the target at once."""
        checker = self._checker()
        reason = self._reason(reason)
        approved = self._approval(approver, "改乘", "A ride change")
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)
            rules = self._rules(cur)
            ticket = gate_store.gate_ticket(cur, ticket_id)
            if ticket is None:
                raise _violation("NOT_FOUND", "查无此票", "No such ticket")
            if ticket.status != "active":
                raise _violation("TICKET_NOT_ACTIVE", "该票不是有效票，不能改乘", "This ticket is not live")
            if gate_store.live_check(cur, ticket_id) is not None:
                raise _violation("ALREADY_CHECKED", "该票已检票，不能改乘", "This ticket has been checked already")
            if ticket.departure_id == target_departure_id:
                raise _violation("SAME_DEPARTURE", "改乘的班次与原班次相同", "That is the ticket's own departure")
            row = self._row(cur, target_departure_id)
            if not gate_store.departure_serves(cur, row.id, ticket.stop):
                raise _violation("NOT_SERVED", f"该班次不经停 {ticket.stop_name}，不能改乘",
                                 f"That departure does not stop at {ticket.stop_name}")
            facts, _ = self._departure_facts(cur, rules, row, now)
            tt = rules.ticket_types.get(ticket.ticket_type) if ticket.ticket_type in rules.ticket_types else None
            needs_seat = tt.needs_seat if tt else True
            admit = rules_gate.admit(facts, needs_seat=needs_seat, counts_free_child_cap=bool(tt and tt.counts_free_child_cap))
            if admit != "BOARD":
                detail = self._refusal_detail(cur, admit, facts)
                zh, en = rules_gate.verdict_text(admit, detail)
                raise _violation(admit, f"目标班次：{zh}", f"Target departure: {en}")
            seat = None
            if needs_seat:
                seat = gate_store.first_free_seat(cur, row.id)
                if seat is None:
                    raise _violation("FULL", "目标班次没有空座", "The target departure has no free seat")
                seat_store.hold(cur, row.id, seat, ticket_id)
            if ticket.seat_no is not None:
                seat_store.give_back(cur, ticket.departure_id, ticket.seat_no)
            gate_store.put_ride_change(cur, ticket_id=ticket_id, from_departure_id=ticket.departure_id,
                                       to_departure_id=row.id, seat_no=seat, reason=reason, approver=approved, at=now)
            emit(cur, self.terminal, "ticket.ride_changed", {
                "ticket_id": ticket_id, "from_departure_id": ticket.departure_id, "to_departure_id": row.id,
                "seat_no": seat, "reason": reason, "approver": approved}, now)
            audit(cur, self.terminal, checker, "gate_ride_change", ticket_id,
                  {"from": ticket.departure_id, "to": row.id, "seat": seat, "reason": reason, "approver": approved}, now)
            return self._judge_and_record(cur, rules, row, ticket, None, "number", checker, now)

    def merge(self, source_departure_id: str, target_departure_id: str, *, reason: str,
              approver: tuple[str, str] | None) -> GateDeparture:
        """并班: the source departure does not run; its tickets board the target."""
        checker = self._checker()
        reason = self._reason(reason)
        approved = self._approval(approver, "并班", "A merge")
        now = self.now()
        if source_departure_id == target_departure_id:
            raise _violation("SAME_DEPARTURE", "不能并入本班次", "A departure cannot merge into itself")
        with self.db.transaction() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)
            rules = self._rules(cur)
            source, target = self._row(cur, source_departure_id), self._row(cur, target_departure_id)
            s_state, s_st = self._state_of(cur, rules, source, now)
            t_state, _ = self._state_of(cur, rules, target, now)
            if s_state in (rules_gate.MERGED, rules_gate.DEPARTED) or gate_store.checks_of(cur, source.id):
                raise _violation("CANNOT_MERGE", "该班次已检票、已发车或已并班，不能并班",
                                 "That departure has checked passengers, has left or was merged already")
            if t_state in (rules_gate.MERGED, rules_gate.DEPARTED, rules_gate.STOPPED):
                raise _violation("CANNOT_MERGE", "目标班次已停检、已发车或已并班",
                                 "The target departure is stopped, has left or was merged")
            self._put_state(cur, source, s_st, state=rules_gate.MERGED, merged_into=target.id)
            emit(cur, self.terminal, "departure.merged", {"source_departure_id": source.id,
                                                          "target_departure_id": target.id, "reason": reason,
                                                          "approver": approved}, now)
            audit(cur, self.terminal, checker, "gate_merge", source.id,
                  {"into": target.id, "reason": reason, "approver": approved}, now)
            return self._view(cur, rules, target, now)

    # --- the road bill ---------------------------------------------------------------------------------

    def road_bill(self, departure_id: str) -> RoadBill | None:
        with self.db.read() as session:
            b = gate_store.road_bill_of(cursor(session), departure_id)
        return None if b is None else self._bill(b)

    def road_bill_jobs(self, departure_id: str, *, reprint: bool = False, manifest: bool = False) -> list[RoadBillJob]:
        """The departure's road bill for the printer. ``reprint``: printed again on the same number,
        marked 补打, counted and reported (``roadbill.reprinted``)."""
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            b = gate_store.road_bill_of(cur, departure_id)
            if b is None:
                raise _violation("NO_ROAD_BILL", "该班次还没有路单（停检后生成）",
                                 "This departure has no road bill yet (stopping the check makes it)")
            if reprint:
                checker = self._checker()
                refuse_while_alarm(cur)
                gate_store.count_reprint(cur, b.number)
                emit(cur, self.terminal, "roadbill.reprinted", {"number": b.number, "departure_id": departure_id}, now)
                audit(cur, self.terminal, checker, "roadbill_reprint", b.number, {"departure_id": departure_id}, now)
                b = gate_store.road_bill(cur, b.number)
            row = self._row(cur, departure_id)
            station = gate_store.station_name(cur, load_rules(cur).home_station or self.terminal.station_code)
        bill = self._bill(b)
        return [RoadBillJob(b.number, departure_id, reprint, self._bill_fields(bill, row, station, now, reprint,
                                                                               manifest))]

    def _bill_fields(self, bill: RoadBill, row, station: str, now: datetime, reprint: bool, manifest: bool) -> dict:
        return {
            "station": station or self.terminal.station_code,
            "bill_no": bill.number,
            "date": row.date,
            "time": row.time,
            "schedule_code": row.schedule_code,
            "route": row.route_name,
            "plate": bill.plate,
            "driver": bill.driver,
            "gate": bill.gate,
            "checker": bill.checker,
            "rows": [dict(r) for r in bill.rows],
            "free_children": bill.free_children,
            "station_fee": bill.fees.get("station_fee", 0),
            "agency_fee": bill.fees.get("agency_fee", 0),
            "made_at": self._local(bill.made_at, "%Y-%m-%d %H:%M"),
            "printed_at": self._local(now, "%Y-%m-%d %H:%M"),
            "reprint": reprint,
            "manifest": [dict(m) for m in bill.manifest] if manifest else [],
        }

    def mark_road_bill_printed(self, number: str) -> None:
        """The printer took the bill: it is no longer waiting to be printed."""
        with self.db.transaction() as session:
            gate_store.mark_printed(cursor(session), number, self.now())

    def unprinted_road_bills(self) -> list[str]:
        with self.db.read() as session:
            return gate_store.unprinted_road_bills(cursor(session))

    def void_road_bill(self, departure_id: str, *, reason: str, approver: tuple[str, str] | None) -> None:
        """Void the departure's road bill (its number stays used); checks may be undone again and the
        next stop makes a new bill on a new number."""
        checker = self._checker()
        reason = self._reason(reason)
        approved = self._approval(approver, "作废路单", "Voiding a road bill")
        now = self.now()
        with self.db.transaction() as session:
            cur = cursor(session)
            refuse_while_alarm(cur)
            b = gate_store.road_bill_of(cur, departure_id)
            if b is None:
                raise _violation("NO_ROAD_BILL", "该班次没有有效路单", "This departure has no live road bill")
            self._void_bill(cur, b, reason, approved, checker, now)

    def _void_bill(self, cur, b: gate_store.RoadBillRow, reason: str, approved: str, checker: str,
                   now: datetime) -> None:
        gate_store.void_road_bill(cur, b.number, now, reason)
        st = gate_store.gate_state(cur, b.departure_id)
        if st is not None:
            gate_store.put_gate_state(cur, dataclasses.replace(st, road_bill_no=None))
        emit(cur, self.terminal, "roadbill.voided", {"number": b.number, "departure_id": b.departure_id,
                                                     "reason": reason, "approver": approved}, now)
        audit(cur, self.terminal, checker, "roadbill_void", b.number,
              {"departure_id": b.departure_id, "reason": reason, "approver": approved}, now)


__all__ = ["Gate", "GateDeparture", "RoadBill", "RoadBillJob", "Verdict", "card_identity"]
