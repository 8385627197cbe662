"""The gate's view of the services: checking passengers on board, the check lifecycle, the road bill.

Qt-free like :class:`app.services.counter.Counter`: the gate view, the CLI, the demo and the tests
use the same object. Rules are decided in :mod:`app.domain.gate`; the rows live in
:mod:`app.store.gate`; each state change is one transaction with its outbox event (docs/gate.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from app.errors import KezhanError
from app.services import auth
from app.services.context import Terminal
from app.store.engine import Database


def _not_built() -> KezhanError:
    return KezhanError("未实现", en="not built yet", code="NOT_BUILT")


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


@dataclass(frozen=True)
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

    @property
    def boards(self) -> bool:
        return self.tone == "green"

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


class Gate:
    """What the gate view asks of the services, for one terminal and one signed-in checker."""

    def __init__(self, db: Database, terminal: Terminal, *, clock: Callable[[], datetime] | None = None,
                 language: str = "zh", gates: tuple[str, ...] = ()) -> None:
        self.db = db
        self.terminal = terminal
        self.clock = clock or (lambda: datetime.now(UTC))
        self.language = language
        self.gates = tuple(gates)
        self.user: auth.SignedIn | None = None

    def login(self, code: str, password: str) -> auth.SignedIn:
        raise _not_built()

    def logout(self) -> None:
        self.user = None

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.terminal.local_date(self.now())

    def departures(self, day: date | None = None) -> list[GateDeparture]:
        raise _not_built()

    def departure(self, departure_id: str) -> GateDeparture:
        raise _not_built()

    def seat_map(self, departure_id: str) -> dict[int, str]:
        raise _not_built()

    def recent(self, departure_id: str, limit: int = 8) -> list[Verdict]:
        raise _not_built()

    def open_check(self, departure_id: str, *, vehicle: str, driver: str) -> GateDeparture:
        raise _not_built()

    def stop_check(self, departure_id: str) -> RoadBill:
        raise _not_built()

    def late_check(self, departure_id: str, *, reason: str, approver: tuple[str, str] | None) -> GateDeparture:
        raise _not_built()

    def check_text(self, text: str, departure_id: str) -> Verdict:
        raise _not_built()

    def check_card(self, card, departure_id: str) -> Verdict:
        raise _not_built()

    def undo_check(self, ticket_id: str, *, reason: str, approver: tuple[str, str] | None) -> Verdict:
        raise _not_built()

    def ride_change(self, ticket_id: str, target_departure_id: str, *, reason: str,
                    approver: tuple[str, str] | None) -> Verdict:
        raise _not_built()

    def merge(self, source_departure_id: str, target_departure_id: str, *, reason: str,
              approver: tuple[str, str] | None) -> GateDeparture:
        raise _not_built()

    def road_bill(self, departure_id: str) -> RoadBill | None:
        raise _not_built()

    def road_bill_jobs(self, departure_id: str, *, reprint: bool = False) -> list:
        raise _not_built()

    def void_road_bill(self, departure_id: str, *, reason: str, approver: tuple[str, str] | None) -> None:
        raise _not_built()
