"""The gate's rows: each departure's check state, the checks, ride changes and road bills.

Every read a verdict makes is one statement on an indexed column (the ticket's id, the live-check
index, the departure's key), so a scan is judged in a few index probes whatever the station's size.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from app.store.models import iso_utc, parse_utc

# The key id as it goes into a ticket code (the same mapping as the sync client's code_key_id).
_NOT_CODE_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _utc(value: str | None) -> datetime | None:
    return None if value is None else parse_utc(value)


# --- the departure's check state ------------------------------------------------------------------

# The rows a scan reads are slotted and not frozen: a scan makes some fifty fields of them, and a
# frozen dataclass sets each through object.__setattr__ (ten times the cost). Nothing changes a row
# once read; a changed state is a new row (dataclasses.replace).


@dataclass(slots=True)
class GateState:
    departure_id: str
    gate: str
    state: str
    plate: str | None
    driver: str | None
    checker: str | None
    opened_at: datetime | None
    stopped_at: datetime | None
    merged_into: str | None
    road_bill_no: str | None


_STATE_COLUMNS = ("departure_id, gate, state, plate, driver, checker, opened_at, stopped_at, merged_into, "
                  "road_bill_no")


def _state(row) -> GateState:
    fields = list(row)
    fields[6], fields[7] = _utc(fields[6]), _utc(fields[7])
    return GateState(*fields)


def gate_state(cur, departure_id: str) -> GateState | None:
    cur.execute(f"SELECT {_STATE_COLUMNS} FROM gate_departures WHERE departure_id = ?", (departure_id,))
    row = cur.fetchone()
    return None if row is None else _state(row)


def gate_states(cur, departure_ids: list[str]) -> dict[str, GateState]:
    if not departure_ids:
        return {}
    cur.execute(f"SELECT {_STATE_COLUMNS} FROM gate_departures WHERE departure_id IN "
                f"({','.join('?' * len(departure_ids))})", departure_ids)
    return {row[0]: _state(row) for row in cur.fetchall()}


def put_gate_state(cur, s: GateState) -> None:
    cur.execute(
        f"INSERT INTO gate_departures ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (departure_id) DO UPDATE SET gate = excluded.gate, state = excluded.state, "
        "plate = excluded.plate, driver = excluded.driver, checker = excluded.checker, "
        "opened_at = excluded.opened_at, stopped_at = excluded.stopped_at, merged_into = excluded.merged_into, "
        "road_bill_no = excluded.road_bill_no",
        (s.departure_id, s.gate, s.state, s.plate, s.driver, s.checker,
         None if s.opened_at is None else iso_utc(s.opened_at), None if s.stopped_at is None else iso_utc(s.stopped_at),
         s.merged_into, s.road_bill_no),
    )


def merged_sources(cur, departure_id: str) -> frozenset[str]:
    """The departures merged (并班) into ``departure_id``: their tickets board it."""
    cur.execute("SELECT departure_id FROM gate_departures WHERE merged_into = ?", (departure_id,))
    return frozenset(r[0] for r in cur.fetchall())


def closed_departures(cur, departure_ids: list[str]) -> dict[str, str]:
    """Of ``departure_ids``, those the gate has stopped, merged or seen leave, with that state: the
    counter does not sell them."""
    if not departure_ids:
        return {}
    cur.execute("SELECT departure_id, state FROM gate_departures WHERE state IN ('stopped', 'late', 'departed', "
                f"'merged') AND departure_id IN ({','.join('?' * len(departure_ids))})", departure_ids)
    return dict(cur.fetchall())


_CHECK_COLUMNS = ("id, ticket_id, departure_id, gate, checker, via, seat_no, ticket_type, printed_version, unknown, "
                  "checked_at")
_CHECK_COLUMNS_LIST = _CHECK_COLUMNS.split(",")


# --- tickets as the gate reads them -----------------------------------------------------------------


@dataclass(slots=True)
class GateTicket:
    ticket_id: str
    departure_id: str
    seat_no: int | None
    status: str
    ticket_type: str
    price: int
    stop: str
    stop_name: str
    prints: int
    carried_by: str | None
    doc_hash: str | None
    passenger: str
    doc_masked: str
    dep_date: str
    dep_time: str
    dep_gate: str
    schedule_code: str
    doc_tag: str | None = None  # the 8-bit document tag: all a ticket from the feed has of its document


_GATE_TICKET = (
    "SELECT t.id, t.departure_id, t.seat_no, t.status, t.ticket_type, t.price, t.stop, "
    "coalesce(s.name, t.stop), t.prints, t.carried_by, t.doc_hash, p.name, p.doc_masked, d.date, d.time, d.gate, "
    "d.schedule_code, t.doc_tag FROM tickets t JOIN passengers p ON p.ticket_id = t.id "
    "JOIN departures d ON d.id = t.departure_id LEFT JOIN stations s ON s.code = t.stop "
)


def gate_ticket(cur, ticket_id: str) -> GateTicket | None:
    cur.execute(f"{_GATE_TICKET}WHERE t.id = ?", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else GateTicket(*row)


_TICKET_FIELDS = len(GateTicket.__dataclass_fields__)
_SCAN_TICKET = (
    "SELECT t.id, t.departure_id, t.seat_no, t.status, t.ticket_type, t.price, t.stop, coalesce(s.name, t.stop), "
    "t.prints, t.carried_by, t.doc_hash, p.name, p.doc_masked, d.date, d.time, d.gate, d.schedule_code, t.doc_tag, "
    f"{', '.join('c.' + c.strip() for c in _CHECK_COLUMNS_LIST)}, rc.to_departure_id "
    "FROM tickets t JOIN passengers p ON p.ticket_id = t.id JOIN departures d ON d.id = t.departure_id "
    "LEFT JOIN stations s ON s.code = t.stop "
    "LEFT JOIN gate_checks c ON c.ticket_id = t.id AND c.undone_at IS NULL "
    "LEFT JOIN gate_ride_changes rc ON rc.ticket_id = t.id WHERE t.id = ?"
)


def scan_ticket(cur, ticket_id: str) -> tuple[GateTicket, CheckRow | None, str | None] | None:
    """gate_ticket, live_check and ride_change_of of a held ticket in one statement (a scan's
    reads of the ticket); None when the ticket is not held here."""
    cur.execute(_SCAN_TICKET, (ticket_id,))
    row = cur.fetchone()
    if row is None:
        return None
    n = _TICKET_FIELDS
    check = None if row[n] is None else _check(row[n:n + len(_CHECK_COLUMNS_LIST)])
    return GateTicket(*row[:n]), check, row[-1]


def gate_ticket_by_stock(cur, stock_no: str) -> GateTicket | None:
    cur.execute(f"{_GATE_TICKET}WHERE t.stock_no = ?", (stock_no,))
    row = cur.fetchone()
    return None if row is None else GateTicket(*row)


def gate_tickets_by_doc(cur, document) -> list[GateTicket]:
    """Every ticket that may be a card's passenger's (live first), for ``app.domain.gate.card_matches``
    to judge: this terminal's own sales by the full hash (``document.doc_hash``), tickets from the
    feed by the tag and the mask they carry."""
    cur.execute(f"{_GATE_TICKET}WHERE (t.doc_hash = ? OR (t.doc_hash IS NULL AND t.doc_tag = ? AND p.doc_masked = ?)) "
                "ORDER BY t.status != 'active', d.departs_at",
                (document.doc_hash, document.doc_tag, document.doc_masked))
    return [GateTicket(*row) for row in cur.fetchall()]


def changed_to(cur, ticket_id: str) -> tuple[str, str, str, str] | None:
    """The ticket a change made of ``ticket_id``: (departure_id, date, time, schedule_code)."""
    cur.execute("SELECT d.id, d.date, d.time, d.schedule_code FROM tickets t JOIN departures d ON d.id = t.departure_id "
                "WHERE t.changed_from = ? ORDER BY t.sold_at DESC LIMIT 1", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else tuple(row)


def departure_tickets(cur, departure_ids: list[str]) -> list[GateTicket]:
    if not departure_ids:
        return []
    cur.execute(f"{_GATE_TICKET}WHERE t.departure_id IN ({','.join('?' * len(departure_ids))}) "
                "ORDER BY t.seat_no, t.id", departure_ids)
    return [GateTicket(*row) for row in cur.fetchall()]


def set_prints(cur, ticket_id: str, prints: int) -> None:
    cur.execute("UPDATE tickets SET prints = ? WHERE id = ?", (prints, ticket_id))


def revoked_keys(cur) -> dict[str, datetime]:
    """Ticket-code key ids (as codes carry them) that were revoked, with when."""
    cur.execute("SELECT key_id, revoked_at FROM ticket_keys WHERE revoked_at IS NOT NULL")
    return {_NOT_CODE_SAFE.sub("_", k)[-32:]: parse_utc(at) for k, at in cur.fetchall()}


# --- checks -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class CheckRow:
    id: int
    ticket_id: str
    departure_id: str
    gate: str
    checker: str
    via: str
    seat_no: int | None
    ticket_type: str
    printed_version: int
    unknown: bool
    checked_at: datetime




def _check(row) -> CheckRow:
    fields = list(row)
    fields[9] = bool(fields[9])
    fields[10] = parse_utc(fields[10])
    return CheckRow(*fields)


def live_check(cur, ticket_id: str) -> CheckRow | None:
    cur.execute(f"SELECT {_CHECK_COLUMNS} FROM gate_checks WHERE ticket_id = ? AND undone_at IS NULL", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else _check(row)


def insert_check(cur, *, ticket_id: str, departure_id: str, gate: str, checker: str, via: str, seat_no: int | None,
                 ticket_type: str, printed_version: int, unknown: bool, at: datetime) -> int:
    cur.execute(
        "INSERT INTO gate_checks (ticket_id, departure_id, gate, checker, via, seat_no, ticket_type, printed_version, "
        "unknown, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket_id, departure_id, gate, checker, via, seat_no, ticket_type, printed_version, int(unknown),
         iso_utc(at)),
    )
    return cur.lastrowid  # the id column is the rowid


def undo_check(cur, ticket_id: str, at: datetime, reason: str) -> int:
    cur.execute("UPDATE gate_checks SET undone_at = ?, undo_reason = ? WHERE ticket_id = ? AND undone_at IS NULL",
                (iso_utc(at), reason, ticket_id))
    return cur.rowcount


def checks_of(cur, departure_id: str) -> list[CheckRow]:
    """The live checks of passengers who boarded ``departure_id``, oldest first."""
    cur.execute(f"SELECT {_CHECK_COLUMNS} FROM gate_checks WHERE departure_id = ? AND undone_at IS NULL "
                "ORDER BY checked_at, id", (departure_id,))
    return [_check(r) for r in cur.fetchall()]


def check_counts(cur, departure_id: str) -> dict[str, int]:
    """Live checks on ``departure_id`` by ticket type."""
    cur.execute("SELECT ticket_type, count(*) FROM gate_checks WHERE departure_id = ? AND undone_at IS NULL "
                "GROUP BY ticket_type", (departure_id,))
    return dict(cur.fetchall())


def checked_tickets(cur, ticket_ids: list[str]) -> set[str]:
    """Which of ``ticket_ids`` have a live check (the counter refuses to refund, change or void them)."""
    if not ticket_ids:
        return set()
    cur.execute(f"SELECT ticket_id FROM gate_checks WHERE undone_at IS NULL AND ticket_id IN "
                f"({','.join('?' * len(ticket_ids))})", ticket_ids)
    return {r[0] for r in cur.fetchall()}


# --- ride changes -----------------------------------------------------------------------------------


def ride_change_of(cur, ticket_id: str) -> str | None:
    cur.execute("SELECT to_departure_id FROM gate_ride_changes WHERE ticket_id = ?", (ticket_id,))
    row = cur.fetchone()
    return None if row is None else row[0]


def put_ride_change(cur, *, ticket_id: str, from_departure_id: str, to_departure_id: str, seat_no: int | None,
                    reason: str, approver: str, at: datetime) -> None:
    cur.execute(
        "INSERT INTO gate_ride_changes (ticket_id, from_departure_id, to_departure_id, seat_no, reason, approver, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET to_departure_id = excluded.to_departure_id, "
        "seat_no = excluded.seat_no, reason = excluded.reason, approver = excluded.approver, at = excluded.at",
        (ticket_id, from_departure_id, to_departure_id, seat_no, reason, approver, iso_utc(at)),
    )


def ride_changes_to(cur, departure_id: str) -> int:
    cur.execute("SELECT count(*) FROM gate_ride_changes WHERE to_departure_id = ?", (departure_id,))
    return cur.fetchone()[0]


def ride_change_seats(cur, departure_id: str) -> dict[int, str]:
    cur.execute("SELECT seat_no, ticket_id FROM gate_ride_changes WHERE to_departure_id = ? AND seat_no IS NOT NULL",
                (departure_id,))
    return dict(cur.fetchall())


def first_free_seat(cur, departure_id: str) -> int | None:
    """The lowest seat of ``departure_id`` no ticket holds (free or leased to this terminal)."""
    cur.execute("SELECT seat_no FROM seats WHERE departure_id = ? AND state IN ('free', 'leased') "
                "ORDER BY seat_no LIMIT 1", (departure_id,))
    row = cur.fetchone()
    return None if row is None else row[0]


# --- road bills ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadBillRow:
    number: str
    departure_id: str
    terminal_id: str
    gate: str
    checker: str
    plate: str
    driver: str
    made_at: datetime
    body: str
    reprints: int
    printed_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None


_BILL_COLUMNS = ("number, departure_id, terminal_id, gate, checker, plate, driver, made_at, body, reprints, "
                 "printed_at, voided_at, void_reason")


def _bill(row) -> RoadBillRow:
    fields = list(row)
    fields[7], fields[10], fields[11] = parse_utc(fields[7]), _utc(fields[10]), _utc(fields[11])
    return RoadBillRow(*fields)


def insert_road_bill(cur, *, number: str, departure_id: str, terminal_id: str, gate: str, checker: str, plate: str,
                     driver: str, made_at: datetime, body: str) -> None:
    cur.execute(
        f"INSERT INTO road_bills ({_BILL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL)",
        (number, departure_id, terminal_id, gate, checker, plate, driver, iso_utc(made_at), body),
    )


def road_bill_of(cur, departure_id: str, *, include_voided: bool = False) -> RoadBillRow | None:
    """The departure's newest road bill (the live one unless ``include_voided``)."""
    where = "" if include_voided else " AND voided_at IS NULL"
    cur.execute(f"SELECT {_BILL_COLUMNS} FROM road_bills WHERE departure_id = ?{where} ORDER BY made_at DESC, "
                "number DESC LIMIT 1", (departure_id,))
    row = cur.fetchone()
    return None if row is None else _bill(row)


def road_bill(cur, number: str) -> RoadBillRow | None:
    cur.execute(f"SELECT {_BILL_COLUMNS} FROM road_bills WHERE number = ?", (number,))
    row = cur.fetchone()
    return None if row is None else _bill(row)


def count_reprint(cur, number: str) -> int:
    cur.execute("UPDATE road_bills SET reprints = reprints + 1 WHERE number = ? RETURNING reprints", (number,))
    return cur.fetchone()[0]


def mark_printed(cur, number: str, at: datetime) -> None:
    cur.execute("UPDATE road_bills SET printed_at = ? WHERE number = ?", (iso_utc(at), number))


def unprinted_road_bills(cur) -> list[str]:
    """Numbers of live bills the printer never took: printed again when the printer comes back."""
    cur.execute("SELECT number FROM road_bills WHERE printed_at IS NULL AND voided_at IS NULL ORDER BY made_at")
    return [r[0] for r in cur.fetchall()]


def void_road_bill(cur, number: str, at: datetime, reason: str) -> None:
    cur.execute("UPDATE road_bills SET voided_at = ?, void_reason = ? WHERE number = ?", (iso_utc(at), reason, number))


# --- the day's departures at the gates -----------------------------------------------------------------


@dataclass(slots=True)
class GateDepartureRow:
    id: str
    schedule_code: str
    date: str
    time: str
    departs_at: datetime
    gate: str
    seats: int
    route_name: str
    status: str


_DEP = ("SELECT d.id, d.schedule_code, d.date, d.time, d.departs_at, d.gate, d.seats, coalesce(r.name, d.route), "
        "d.status FROM departures d LEFT JOIN routes r ON r.code = d.route ")


def departures_on(cur, day: str, gates: tuple[str, ...] = ()) -> list[GateDepartureRow]:
    if gates:
        cur.execute(f"{_DEP}WHERE d.date = ? AND d.gate IN ({','.join('?' * len(gates))}) ORDER BY d.time, d.id",
                    (day, *gates))
    else:
        cur.execute(f"{_DEP}WHERE d.date = ? ORDER BY d.time, d.id", (day,))
    return [GateDepartureRow(*r[:4], parse_utc(r[4]), *r[5:]) for r in cur.fetchall()]


def departure_row(cur, departure_id: str) -> GateDepartureRow | None:
    cur.execute(f"{_DEP}WHERE d.id = ?", (departure_id,))
    r = cur.fetchone()
    return None if r is None else GateDepartureRow(*r[:4], parse_utc(r[4]), *r[5:])


# The counter migration 0010's triggers bump whenever a settings or ticket_keys row changes.
RULES_VERSION = "rules_version"


@dataclass(slots=True)
class ScanDeparture:
    """What a scan's verdict needs of the departure being checked, read in one statement."""

    row: GateDepartureRow
    state: GateState | None
    check_counts: dict[str, int]  # live checks by ticket type (check_counts)
    merged_from: frozenset[str]  # merged_sources
    # counters.rules_version: moves whenever settings or ticket_keys change (migration 0010), so a
    # gate may keep the rules and the revoked keys it read while this stays the same.
    rules_version: int | None = None


_SCAN_DEPARTURE = (
    "SELECT d.id, d.schedule_code, d.date, d.time, d.departs_at, d.gate, d.seats, coalesce(r.name, d.route), "
    "d.status, g.departure_id, g.gate, g.state, g.plate, g.driver, g.checker, g.opened_at, g.stopped_at, "
    "g.merged_into, g.road_bill_no, "
    "(SELECT json_group_object(ticket_type, n) FROM (SELECT ticket_type, count(*) AS n FROM gate_checks "
    "WHERE departure_id = d.id AND undone_at IS NULL GROUP BY ticket_type)), "
    "(SELECT json_group_array(m.departure_id) FROM gate_departures m WHERE m.merged_into = d.id), "
    f"(SELECT value FROM counters WHERE name = '{RULES_VERSION}') "
    "FROM departures d LEFT JOIN routes r ON r.code = d.route "
    "LEFT JOIN gate_departures g ON g.departure_id = d.id WHERE d.id = ?"
)


def scan_departure(cur, departure_id: str) -> ScanDeparture | None:
    """departure_row, gate_state, check_counts and merged_sources of ``departure_id`` at once: the
    four reads every scan makes, one statement on the departure's key and the same indexes; with
    the rules' version, which tells the scan whether the rules it keeps are still the stored ones."""
    cur.execute(_SCAN_DEPARTURE, (departure_id,))
    r = cur.fetchone()
    if r is None:
        return None
    row = GateDepartureRow(*r[:4], parse_utc(r[4]), *r[5:9])
    state = None if r[9] is None else _state(r[9:19])
    # A departure nothing was merged into (nearly all) skips the parse of its empty list.
    merged = frozenset() if r[20] == "[]" else frozenset(json.loads(r[20]))
    return ScanDeparture(row, state, json.loads(r[19]), merged, r[21])


def sold_counts(cur, departure_id: str) -> dict[str, int]:
    """Live tickets of ``departure_id`` by ticket type."""
    cur.execute("SELECT ticket_type, count(*) FROM tickets WHERE departure_id = ? AND status = 'active' "
                "GROUP BY ticket_type", (departure_id,))
    return dict(cur.fetchall())


def seat_states(cur, departure_id: str) -> dict[int, str]:
    cur.execute("SELECT seat_no, state FROM seats WHERE departure_id = ? ORDER BY seat_no", (departure_id,))
    return dict(cur.fetchall())


def departure_serves(cur, departure_id: str, stop: str) -> bool:
    """The departure's route stops at ``stop`` (a ride change must take the passenger there)."""
    cur.execute("SELECT 1 FROM departures d JOIN route_stops rs ON rs.route = d.route "
                "WHERE d.id = ? AND rs.station = ? AND rs.seq > 0 LIMIT 1", (departure_id, stop))
    return cur.fetchone() is not None


def station_name(cur, code: str) -> str:
    cur.execute("SELECT name FROM stations WHERE code = ?", (code,))
    row = cur.fetchone()
    return row[0] if row else code


# --- the day's board, a statement per figure for every departure at once ---------------------------


def _marks(ids: list[str]) -> str:
    return ",".join("?" * len(ids))


def sold_counts_of(cur, departure_ids: list[str]) -> dict[str, dict[str, int]]:
    """Live tickets by departure and ticket type."""
    out: dict[str, dict[str, int]] = {}
    if departure_ids:
        cur.execute(f"SELECT departure_id, ticket_type, count(*) FROM tickets WHERE departure_id IN "
                    f"({_marks(departure_ids)}) AND status = 'active' GROUP BY departure_id, ticket_type",
                    departure_ids)
        for dep, ticket_type, n in cur.fetchall():
            out.setdefault(dep, {})[ticket_type] = n
    return out


def check_counts_of(cur, departure_ids: list[str]) -> dict[str, dict[str, int]]:
    """Live checks by departure boarded and ticket type."""
    out: dict[str, dict[str, int]] = {}
    if departure_ids:
        cur.execute(f"SELECT departure_id, ticket_type, count(*) FROM gate_checks WHERE departure_id IN "
                    f"({_marks(departure_ids)}) AND undone_at IS NULL GROUP BY departure_id, ticket_type",
                    departure_ids)
        for dep, ticket_type, n in cur.fetchall():
            out.setdefault(dep, {})[ticket_type] = n
    return out


def merged_sources_of(cur, departure_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if departure_ids:
        cur.execute(f"SELECT merged_into, departure_id FROM gate_departures WHERE merged_into IN "
                    f"({_marks(departure_ids)})", departure_ids)
        for target, source in cur.fetchall():
            out.setdefault(target, []).append(source)
    return out


def road_bill_numbers_of(cur, departure_ids: list[str]) -> dict[str, str]:
    """The live road bill's number of each departure that has one."""
    if not departure_ids:
        return {}
    cur.execute(f"SELECT departure_id, number FROM road_bills WHERE departure_id IN ({_marks(departure_ids)}) "
                "AND voided_at IS NULL ORDER BY made_at, number", departure_ids)
    return dict(cur.fetchall())


def ride_change_counts_of(cur, departure_ids: list[str]) -> dict[str, int]:
    if not departure_ids:
        return {}
    cur.execute(f"SELECT to_departure_id, count(*) FROM gate_ride_changes WHERE to_departure_id IN "
                f"({_marks(departure_ids)}) GROUP BY to_departure_id", departure_ids)
    return dict(cur.fetchall())


def recent_crews(cur, limit: int) -> list[tuple[str, str]]:
    cur.execute("SELECT plate, driver FROM gate_departures WHERE plate IS NOT NULL AND driver IS NOT NULL "
                "GROUP BY plate, driver ORDER BY max(opened_at) DESC LIMIT ?", (limit,))
    return [tuple(r) for r in cur.fetchall()]
