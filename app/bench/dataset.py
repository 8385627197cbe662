"""The large-station data set the benchmarks run on: 1,000 departures a day × 15 days, 3,000
destinations. Building it takes a while, so it is cached by its parameters in the data directory
and reused by later runs (a cached file is re-checked for its schema revision before use). And a
year of a busy counter's history (``write_year_history``), for the benchmarks that must not grow
with the file's age."""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path

from app import paths

log = logging.getLogger("kezhan.bench")

LARGE = {"days": 15, "departures_per_day": 1000, "destinations": 3000}
START = date(2026, 1, 1)  # fixed, so the cached file is the same one whatever day the bench runs


def build_station_db(path: Path, *, days: int, departures_per_day: int, destinations: int,
                     start_date: date = START) -> dict:
    from app.demodata import generate_province
    from app.store.engine import open_database
    from app.store.province import load_province

    doc = generate_province(start_date=start_date, days=days, departures_per_day=departures_per_day,
                            destinations=destinations)
    db = open_database(path)
    try:
        with db.transaction() as session:
            counts = load_province(session, doc)
    finally:
        db.dispose()
    return counts


def cached_file(name: str, build, *, sidecars: tuple[str, ...] = ()) -> Path:
    """A database file of the bench cache, reused while it holds this build's schema (and its
    ``sidecars``, files beside it the build writes too), else built afresh: ``build(path)`` writes a
    temporary file that is moved in place only when done, so a build cut short leaves nothing that
    looks finished."""
    from app.store.engine import StorageError, inspect_file, known_revisions

    folder = paths.data_dir() / "bench-cache"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists():
        try:
            if inspect_file(path) == known_revisions()[1] and all((folder / s).exists() for s in sidecars):
                return path
        except StorageError:
            pass
        path.unlink()
    tmp = path.with_suffix(".building")
    for leftover in folder.glob(tmp.name + "*"):
        leftover.unlink()
    build(tmp)
    for suffix in ("-wal", "-shm"):  # empty once the build's connections closed
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return path


def large_station_db(scale: dict | None = None) -> Path:
    """The cached large-station database file (built on first use)."""
    scale = scale or LARGE

    def build(tmp: Path) -> None:
        log.info("building the large-station data set %s", scale)
        build_station_db(tmp, **scale)

    return cached_file("station-{days}d-{departures_per_day}x-{destinations}dest.sqlite3".format(**scale), build)


# --- a year of counter history -------------------------------------------------------------------------

# A large station's year: 511,000 tickets sold over 380 days. The history is the counter's rows of that
# year (shifts and rolls, orders, tickets, passengers, payments, spoiled stock, outbox events), written
# in bulk through the store's own functions, not the year's timetable: no settlement or counter read
# touches a past day's departures, so the history's tickets name the departures of the station file.
YEAR = {"days": 380, "tickets_per_day": 1345}
HISTORY_START = date(2024, 12, 17)  # 380 days ending the day before START
SHIFTS_PER_DAY = 4
HISTORY_FIRST_STOCK_NO = 10_000_001  # above every roll a benchmark registers


def write_year_history(db, terminal, *, days: int, tickets_per_day: int, clerk: str, start: date = HISTORY_START,
                       shifts_per_day: int = SHIFTS_PER_DAY) -> dict:
    """Closed shifts of ``clerk`` on ``terminal`` over ``days`` days, ``tickets_per_day`` tickets a day
    sold one per order, with the refunds (3 %), changes (2 %), voids (0.5 %) and jammed blanks of a
    busy counter, each with its payment rows and its outbox event as the operations write them.
    One transaction per day. Returns what was written."""
    from datetime import UTC, datetime, time, timedelta

    from app.domain.stock import format_stock_no
    from app.services.context import bump, cursor, emit, next_ticket_ids, utc_text
    from app.services.sales import ticket_payload
    from app.services.shifts import compute_settlement
    from app.store import shifts as shift_store
    from app.store import tickets as ticket_store
    from app.store.departures import sale_targets
    from app.store.outbox import last_seq

    with db.read() as session:
        cur = cursor(session)
        targets = sale_targets(cur, START.isoformat()) + sale_targets(cur, (START + timedelta(days=2)).isoformat())
    stock = HISTORY_FIRST_STOCK_NO
    counts = {"shifts": 0, "tickets": 0, "events": 0}
    per_shift = max(1, tickets_per_day // shifts_per_day)
    for day in range(days):
        with db.transaction() as session:
            cur = cursor(session)
            for s in range(shifts_per_day):
                opened = datetime.combine(start + timedelta(days=day), time(s * 5), UTC)
                at = utc_text(opened + timedelta(minutes=30))
                shift_no = counts["shifts"] = counts["shifts"] + 1
                shift_id = f"{terminal.terminal_id}-S{bump(cur, f'shift_seq:{terminal.terminal_id}'):06d}"
                first = stock
                shift_store.insert_shift(cur, shift_id=shift_id, clerk=clerk, terminal_id=terminal.terminal_id,
                                         opened_at=utc_text(opened), first=format_stock_no(first),
                                         last=format_stock_no(first + 2 * per_shift))
                roll_id = shift_store.open_shift_of(cur, clerk, terminal.terminal_id).roll_id
                emit(cur, terminal, "shift.opened", {"shift_id": shift_id, "clerk": clerk,
                                                     "first_stock_no": format_stock_no(first),
                                                     "opened_at": utc_text(opened)}, opened)
                ids = next_ticket_ids(cur, terminal, per_shift)
                for k, ticket_id in enumerate(ids):
                    target = targets[(shift_no * per_shift + k) % len(targets)]
                    n = counts["tickets"] + k
                    t = {"id": ticket_id, "order_id": "O" + ticket_id, "departure_id": target.departure_id,
                         "seat_no": k % 45 + 1, "stock_no": format_stock_no(stock), "ticket_type": "full",
                         "fare": 3500, "price": 3500, "insurance": 0, "board": terminal.station_code,
                         "stop": target.last_stop, "carried_by": None, "doc_hash": f"{n:064x}",
                         "clerk": clerk, "shift_id": shift_id, "sold_at": at, "name": "测试旅客",
                         "doc_type": "resident_id", "doc_number": f"330102199001{n % 1000000:06d}"}
                    stock += 1
                    ticket_store.insert_order(cur, order_id=t["order_id"], clerk=clerk, shift_id=shift_id,
                                              created_at=at, total=3500)
                    ticket_store.insert_tickets(cur, [t], t["order_id"])
                    ticket_store.insert_passengers(cur, [(ticket_id, t["name"], t["doc_type"], "330102********0000",
                                                          t["doc_hash"], t["doc_number"])])
                    ticket_store.insert_payment(cur, order_id=t["order_id"], kind="sale", method="cash", amount=3500,
                                                tendered=3500, change_given=0, shift_id=shift_id, at=at)
                    emit(cur, terminal, "ticket.sold", {
                        "order_id": t["order_id"], "clerk": clerk, "shift_id": shift_id, "sold_at": at,
                        "payment": {"method": "cash", "amount": 3500, "tendered": 3500, "change": 0, "reference": None},
                        "tickets": [ticket_payload(t)]}, opened)
                    if n % 200 < 6:  # refunded, 10 % fee
                        ticket_store.close_ticket(cur, ticket_id, "refunded", at)
                        ticket_store.insert_payment(cur, order_id=t["order_id"], ticket_id=ticket_id, kind="refund",
                                                    method="cash", amount=-3150, shift_id=shift_id, at=at)
                        emit(cur, terminal, "ticket.refunded", {
                            "ticket_id": ticket_id, "fee": 350, "refund_amount": 3150, "forced": False,
                            "approved_by": None, "refunded_at": at, "clerk": clerk, "shift_id": shift_id}, opened)
                    elif n % 200 < 10:  # changed, 2 yuan fee, on the next blank
                        [new_id] = next_ticket_ids(cur, terminal, 1)
                        new = {**t, "id": new_id, "stock_no": format_stock_no(stock), "changed_from": ticket_id,
                               "times_changed": 1}
                        stock += 1
                        ticket_store.close_ticket(cur, ticket_id, "changed", at)
                        ticket_store.insert_tickets(cur, [new], t["order_id"])
                        ticket_store.insert_payment(cur, order_id=t["order_id"], ticket_id=new_id, kind="change",
                                                    method="cash", amount=200, shift_id=shift_id, at=at)
                        emit(cur, terminal, "ticket.changed", {
                            "old_ticket_id": ticket_id, "new_ticket": ticket_payload(new), "fare_difference": 0,
                            "fee": 200, "changed_at": at, "clerk": clerk, "shift_id": shift_id}, opened)
                    elif n % 200 == 10:  # voided: the blank is spoiled
                        ticket_store.close_ticket(cur, ticket_id, "voided", at)
                        shift_store.insert_spoiled(cur, stock_no=t["stock_no"], shift_id=shift_id, clerk=clerk,
                                                   reason="void", ticket_id=ticket_id, at=at)
                        ticket_store.insert_payment(cur, order_id=t["order_id"], ticket_id=ticket_id, kind="void",
                                                    method="cash", amount=-3500, shift_id=shift_id, at=at)
                        emit(cur, terminal, "ticket.voided", {
                            "ticket_id": ticket_id, "stock_no": t["stock_no"], "voided_at": at, "clerk": clerk,
                            "shift_id": shift_id}, opened)
                    elif n % 500 == 11:  # a jammed blank
                        shift_store.insert_spoiled(cur, stock_no=format_stock_no(stock), shift_id=shift_id,
                                                   clerk=clerk, reason="jam", ticket_id=None, at=at)
                        emit(cur, terminal, "stock.spoiled", {"stock_no": format_stock_no(stock), "reason": "jam",
                                                              "clerk": clerk, "shift_id": shift_id, "at": at}, opened)
                        stock += 1
                counts["tickets"] += per_shift
                closed = utc_text(opened + timedelta(hours=5))
                shift_store.set_roll_next(cur, roll_id, format_stock_no(stock))
                shift_store.close_shift_rows(cur, shift_id, closed_at=closed, cash_counted=None)
                report = compute_settlement(cur, shift_id)
                shift_store.store_settlement(cur, shift_id, json.dumps(report, ensure_ascii=False, sort_keys=True))
                emit(cur, terminal, "shift.closed", {"shift_id": shift_id, "clerk": clerk, "closed_at": closed,
                                                     "settlement": report}, opened)
    with db.read() as session:
        counts["events"] = last_seq(cursor(session), terminal.terminal_id)
    return counts
