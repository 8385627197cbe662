"""What every counter operation shares: the terminal it runs on, the outbox, the audit log, the rules.

Operations write through the sqlite3 cursor of the session's connection, inside the session's one
``BEGIN IMMEDIATE`` transaction, by calling the store (``app.store.*``) with that cursor: a sale is
a dozen short statements and one fsync, which is what keeps it within a small multiple of a bare
insert+commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.domain.change import ChangePolicy
from app.domain.events import canonical_json, event_hash_of
from app.domain.gate import GateSettings
from app.domain.leases import OfflineBudget
from app.domain.refund import RefundPolicy
from app.domain.stock import make_ticket_id, parse_terminal_id
from app.domain.ticket_types import TicketTypeTable
from app.errors import RuleViolation
from app.store import audit as audit_log
from app.store import outbox, sync_state
from app.store import shifts as shift_store
from app.store.engine import Database, raw_cursor
from app.store.models import iso_utc
from app.store.shifts import OpenShift

VOID_WINDOW_MINUTES = 10
OFFLINE_BUDGET_MINUTES = 240
# The sync client keeps its standing alarm in this ``sync_cursors`` row (``sync.client.client.CURSOR_ALARM``;
# the services cannot import sync, so the name is the contract of docs/architecture.md, pinned by a test).
ALARM_CURSOR = "alarm"


@dataclass
class Terminal:
    """The enrolled terminal an operation runs on.

    ``signing_key``: the terminal's Ed25519 private key (``app.domain.ed25519.PrivateKey`` or its 32-byte seed)
    that signs ticket codes. ``doc_hash_key``: the province-wide key of document hashes.
    ``online``/``offline_since``: the link state the lease rules look at.
    """

    station_code: str
    terminal_id: str
    signing_key: object
    doc_hash_key: bytes
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    online: bool = True
    offline_since: datetime | None = None
    key_id: str = ""  # names the public key of ticket codes; the terminal id when empty
    public_keys: dict = field(default_factory=dict)  # key id -> Ed25519 public key, for reading codes
    # What to add to this terminal's clock to read the server's, as the sync client last measured
    # it. Lease expiries and the start of an offline spell are the server's instants.
    server_offset: timedelta = timedelta(0)
    # Asks the provincial server for a seat before an online sale takes it from the pool (the layer
    # that owns the sync client wires it in; None where no server is configured). Called with the
    # departure and the seat wanted (None: any free seat), outside the sale's transaction; returns the
    # seat the server granted, now leased here, or raises KezhanError with the protocol's code
    # (SEAT_TAKEN, SEAT_LEASED, NO_SEATS, OFFLINE ...).
    seat_confirmer: Callable[[str, int | None], int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if isinstance(self.signing_key, bytes | bytearray):
            from app.domain.ed25519 import PrivateKey

            self.signing_key = PrivateKey.from_private_bytes(bytes(self.signing_key))
        if not self.key_id:
            self.key_id = self.terminal_id
        self.public_keys.setdefault(self.key_id, self.signing_key.public_key())

    @property
    def terminal_no(self) -> int:
        return parse_terminal_id(self.terminal_id)[1]

    def go_offline(self, since: datetime) -> None:
        self.online, self.offline_since = False, since

    def go_online(self) -> None:
        self.online, self.offline_since = True, None

    def server_time(self, now: datetime) -> datetime:
        """``now`` (this terminal's clock) as the server's clock reads it: what lease expiries and
        ``offline_since`` are compared with. A terminal whose clock runs ten minutes slow would
        otherwise sell from leases the server has already taken back."""
        return now + self.server_offset

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()


def require_now(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(UTC)


def cursor(session: Session):
    """The sqlite3 cursor inside the session's transaction (BEGIN IMMEDIATE already issued)."""
    return raw_cursor(session)


def utc_text(instant: datetime) -> str:
    """Instants in event payloads: ISO-8601 UTC with ``Z``."""
    return iso_utc(instant)


# Written by `kezhan db restore` into an enrolled file: a restored file may hold seq numbers and
# ticket ids the server already has, so it sells nothing until the sync client has checked it
# with the server; the client clears this alarm itself once the server agrees (docs/sync-client.md).
RESTORED_ALARM = "RESTORED"
RESTORED_TEXT = (
    "本机数据库已从备份恢复，须先与省平台核对序号：核对通过前暂停售票，连上省平台后自动解除。",
    "This terminal's database was restored from a backup and must check its numbers with the provincial "
    "server first: it does not sell until then, and the alarm clears by itself once the server agrees.",
)


def mark_restored(cur, at: datetime) -> bool:
    """Raise the RESTORED alarm in an enrolled file (True), or do nothing in one never enrolled."""
    if not sync_state.is_enrolled(cur):
        return False
    value = json.dumps({"code": RESTORED_ALARM, "message": RESTORED_TEXT[0], "en": RESTORED_TEXT[1],
                        "at": iso_utc(at)}, ensure_ascii=False)
    sync_state.put_cursor_value(cur, ALARM_CURSOR, value, iso_utc(at))
    return True


def standing_alarm(cur) -> dict | None:
    """The sync alarm stored in this file, or None. A row that cannot be read still counts: an
    unreadable alarm is no reason to go on selling."""
    value = sync_state.cursor_value(cur, ALARM_CURSOR)
    if not value:
        return None
    try:
        alarm = json.loads(value)
    except ValueError:
        alarm = None
    return alarm if isinstance(alarm, dict) else {"code": "ALARM", "message": str(value), "en": str(value)}


def alarm_refusal(alarm: dict) -> RuleViolation:
    code = str(alarm.get("code") or "ALARM")
    cause_zh = str(alarm.get("message") or code)
    cause_en = str(alarm.get("en") or cause_zh)
    return RuleViolation(
        f"同步告警（{code}）未解除，本机暂停售票、退票、改签、废票、重打、取票和开班交班。"
        f"原因：{cause_zh} 请联系技术员（kezhan doctor / kezhan sync --status）。",
        en=f"Sync alarm {code} stands: this terminal does not sell, refund, change, void, reprint, pick up, "
           f"open or close shifts until it is cleared. Cause: {cause_en} Call the technician "
           f"(kezhan doctor / kezhan sync --status).",
        code="SYNC_ALARM",
        alarm=code,
    )


def refuse_while_alarm(cur) -> None:
    """Every operation that writes an outbox event calls this first, inside its transaction.

    An alarm means this file went back in time (restored from an older backup) or its outbox is
    damaged: the next ``seq`` and ticket ids may be ones the server already holds, and the tickets,
    seats and shift figures read here may be stale. Each further event would be one more clash to
    reconcile by hand, so nothing is written until a technician clears the alarm."""
    alarm = standing_alarm(cur)
    if alarm is not None:
        raise alarm_refusal(alarm)


def bump(cur, name: str, by: int = 1) -> int:
    """Advance a named counter inside the current transaction and return its new value."""
    return outbox.bump_counter(cur, name, by)


def _event_id() -> str:
    """``uuid.uuid4().hex``: 16 random bytes with the version and variant bits of a version 4 UUID,
    without building the UUID object (emit runs on every scan and sale)."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    return f"{n:032x}"


def emit(cur, terminal: Terminal, type_: str, payload: dict, now: datetime) -> int:
    """Append one outbox event in the current transaction; returns its seq."""
    seq = bump(cur, f"outbox_seq:{terminal.terminal_id}")
    event_id = _event_id()
    created_at = utc_text(now)
    body = canonical_json(payload)
    digest = event_hash_of(terminal.terminal_id, seq, event_id, type_, created_at, body)
    outbox.append_event(cur, terminal_id=terminal.terminal_id, seq=seq, event_id=event_id, type_=type_,
                        created_at=created_at, payload=body, digest=digest, shift_id=payload.get("shift_id"))
    return seq


def audit(
    cur, terminal: Terminal, actor: str, action: str, subject: str, detail: dict, now: datetime
) -> None:
    """Who did what, when. Callers never put an ID number in ``detail`` (masked or hashed only)."""
    audit_log.append_audit(cur, at=utc_text(now), actor=actor, terminal_id=terminal.terminal_id, action=action,
                           subject=subject, detail=canonical_json(detail))


def next_ticket_ids(cur, terminal: Terminal, count: int) -> list[str]:
    station, no = parse_terminal_id(terminal.terminal_id)
    last = bump(cur, f"ticket_seq:{terminal.terminal_id}", count)
    return [make_ticket_id(station, no, seq) for seq in range(last - count + 1, last + 1)]


# --- rules from the province document, parsed once per distinct settings text ------------------------


@dataclass(frozen=True)
class Rules:
    ticket_types: TicketTypeTable
    refund: RefundPolicy
    change: ChangePolicy
    insurance_name: str
    insurance_price: int
    home_station: str
    void_window_minutes: int
    offline_budget: OfflineBudget
    gate: GateSettings = GateSettings()


_RULE_KEYS = (
    "ticket_types",
    "refund_policy",
    "change_policy",
    "insurance",
    "home_station",
    "void_window_minutes",
    "offline_budget_minutes",
    "gate",
)
_rules_cache: dict[tuple, Rules] = {}


def load_rules(cur) -> Rules:
    raw = sync_state.settings_text(cur, _RULE_KEYS)
    cache_key = tuple(raw.get(k) for k in _RULE_KEYS)
    rules = _rules_cache.get(cache_key)
    if rules is None:
        values = {k: json.loads(v) for k, v in raw.items()}
        types = values.get("ticket_types")
        refund = values.get("refund_policy")
        change = values.get("change_policy")
        insurance = values.get("insurance") or {}
        rules = Rules(
            ticket_types=TicketTypeTable.from_rows(types) if types else TicketTypeTable.default(),
            refund=RefundPolicy.from_dict(refund)
            if refund and refund.get("tiers")
            else RefundPolicy.default(),
            change=ChangePolicy.from_dict(change) if change else ChangePolicy(),
            insurance_name=str(insurance.get("name", "")),
            insurance_price=int(insurance.get("price", 0)),
            home_station=str(values.get("home_station", "")),
            void_window_minutes=int(values.get("void_window_minutes", VOID_WINDOW_MINUTES)),
            offline_budget=OfflineBudget(int(values.get("offline_budget_minutes", OFFLINE_BUDGET_MINUTES))),
            gate=GateSettings.from_dict(values.get("gate")),
        )
        if len(_rules_cache) > 16:
            _rules_cache.clear()
        _rules_cache[cache_key] = rules
    return rules


# --- shifts -------------------------------------------------------------------------------------------


def open_shift_of(cur, terminal: Terminal, clerk: str) -> OpenShift:
    """The clerk's open shift on this terminal and its stock roll (``NO_OPEN_SHIFT`` if none)."""
    shift = shift_store.open_shift_of(cur, clerk, terminal.terminal_id)
    if shift is None:
        raise RuleViolation(
            "未开班：请先开班并登记票号",
            en="No open shift: open a shift and register the ticket stock first",
            code="NO_OPEN_SHIFT",
        )
    return shift


class CounterWrite(NamedTuple):
    """What a clerk's ticket or money operation works with inside its one transaction."""

    cur: Any
    rules: Rules
    shift: OpenShift


@contextmanager
def counter_write(db: Database, terminal: Terminal, clerk: str) -> Iterator[CounterWrite]:
    """The one write transaction of a sale, refund, change, reseat, reprint or pickup: refused while
    the standing alarm is up, and only in the clerk's open shift (``NO_OPEN_SHIFT``)."""
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        yield CounterWrite(cur, load_rules(cur), open_shift_of(cur, terminal, clerk))
