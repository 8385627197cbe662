"""The station supervisor (值班站长): the departure actions a station takes on a bad day.

Each action is decided at a terminal by a supervisor, who confirms it with a password (checked and
committed on its own, as a forced refund's approval is, so a wrong password still counts towards
the lock), and is one transaction that changes the departure here, writes one outbox event for the
provincial server and an audit entry:

- ``cancel_departure`` (停班): the departure is no longer sold; each live ticket sold here becomes a
  fee-free refund task at once (the server makes the same task at every other terminal that sold
  one, key ``0/<ticket id>``, so the feed's copy of a task made here is not a second one);
- ``delay_departure`` (晚点): a new local date and time; the tickets keep their seats;
- ``add_extra_departure`` (加班): a new departure like an existing one (route, vehicle class, fares
  of the province document), every seat leased to this terminal until it leaves, so it sells at once,
  online or not, and the server never gives those seats to anyone else.

The server applies the events (sync/server/departure_actions.py) for departures of the terminal's own
station only and publishes them in the feed, which every terminal pulls (docs/supervisor.md).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.domain.errors import KezhanError
from app.domain.schedule import departure_instant
from app.errors import RuleViolation
from app.services.aftersale import approve
from app.services.context import (
    Terminal,
    audit,
    bump,
    cursor,
    emit,
    refuse_while_alarm,
    require_now,
    utc_text,
)
from app.store import day as day_store
from app.store import departures as departure_store
from app.store import gate as gate_store
from app.store import seats as seat_store
from app.store import tasks as task_store
from app.store import tickets as ticket_store
from app.store.engine import Database

# The conflict a cancelled departure's tickets are settled under (a refund task, fee-free).
CANCELLED_CONFLICT = "DEPARTURE_CANCELLED"
MAX_SEATS = 99
MAX_REASON = 200
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def cancel_task_key(ticket_id: str) -> str:
    """The key of the refund task a cancellation makes: the server's conflict of seq 0 on the ticket
    (no event of the terminal caused it), so the task made here and the one the feed brings are one."""
    return f"0/{ticket_id}"


@dataclass(frozen=True)
class CancelResult:
    departure_id: str
    seq: int
    tasks: int  # refund tasks made here, one per live ticket this terminal sold


@dataclass(frozen=True)
class DelayResult:
    departure_id: str
    seq: int
    date: str
    time: str
    departs_at: datetime
    previous: datetime


@dataclass(frozen=True)
class ExtraResult:
    departure_id: str
    seq: int
    date: str
    time: str
    seats: int


def _violation(code: str, zh: str, en: str, **details) -> RuleViolation:
    return RuleViolation(zh, en=en, code=code, **details)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise _violation("REASON_REQUIRED", "请填写原因", "A reason is required")
    return text[:MAX_REASON]


def _when(date: str, time: str, terminal: Terminal, now: datetime) -> datetime:
    if not (isinstance(date, str) and _DATE.match(date) and isinstance(time, str) and _TIME.match(time)):
        raise _violation("BAD_TIME", "日期或时间格式不对（YYYY-MM-DD HH:MM）",
                         "Date or time not in the form YYYY-MM-DD HH:MM", date=date, time=time)
    try:
        at = departure_instant(date, time, terminal.zone)
    except ValueError:
        raise _violation("BAD_TIME", "没有这个日期", "No such date", date=date) from None
    if at <= now:
        raise _violation("TIME_PASSED", f"{date} {time} 已经过去", f"{date} {time} has already passed",
                         date=date, time=time)
    return at


def _own_departure(cur, terminal: Terminal, departure_id: str, now: datetime) -> departure_store.DepartureState:
    """The departure, if it is this station's and has not left, nor been cancelled."""
    dep = departure_store.departure_state(cur, departure_id)
    if dep is None:
        raise _violation("UNKNOWN_DEPARTURE", f"没有这个班次：{departure_id}", f"No such departure: {departure_id}",
                         departure_id=departure_id)
    if dep.origin != terminal.station_code:
        raise _violation("FOREIGN_DEPARTURE", "这不是本站发出的班次", "This departure does not leave from this station",
                         departure_id=departure_id, origin=dep.origin)
    if dep.status == "cancelled":
        raise _violation("ALREADY_CANCELLED", "该班次已停班", "This departure is already cancelled",
                         departure_id=departure_id)
    closed = gate_store.closed_departures(cur, [departure_id]).get(departure_id)
    if dep.status == "departed" or now >= dep.departs_at or closed:
        raise _violation("DEPARTED", "该班次已发车或已停检，不能再停班或晚点",
                         "This departure has left or its gate has closed: it can no longer be cancelled or delayed",
                         departure_id=departure_id)
    return dep


def _approved(db: Database, terminal: Terminal, supervisor: str, password: str, now: datetime) -> str:
    if not supervisor or password is None:
        raise _violation("APPROVAL_REQUIRED", "需要值班站长工号和密码", "A supervisor's code and password are needed")
    return approve(db, terminal, supervisor, password, now=now)


def cancel_departure(db: Database, terminal: Terminal, *, supervisor: str, password: str, departure_id: str,
                     reason: str, now: datetime) -> CancelResult:
    """停班. Refusals: ``REASON_REQUIRED``, ``APPROVAL_REQUIRED``, ``BAD_APPROVAL``, ``NOT_AUTHORISED``,
    ``ACCOUNT_LOCKED``, ``SYNC_ALARM``, ``UNKNOWN_DEPARTURE``, ``FOREIGN_DEPARTURE``, ``ALREADY_CANCELLED``,
    ``DEPARTED``."""
    now = require_now(now)
    reason = _reason(reason)
    approved_by = _approved(db, terminal, supervisor, password, now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        dep = _own_departure(cur, terminal, departure_id, now)
        departure_store.set_departure_status(cur, departure_id, "cancelled")
        tickets = ticket_store.live_tickets_sold_here(cur, departure_id)
        for t in tickets:
            task_store.upsert_task(cur, cancel_task_key(t.ticket_id), "refund", {
                "kind": CANCELLED_CONFLICT, "seq": 0, "ticket_id": t.ticket_id, "departure_id": departure_id,
                "seat_no": t.seat_no, "detail": f"班次停班：{reason}"}, now)
        seq = emit(cur, terminal, "departure.cancelled", {
            "departure_id": departure_id, "reason": reason, "approved_by": approved_by,
            "cancelled_at": utc_text(now), "departs_at": utc_text(dep.departs_at)}, now)
        audit(cur, terminal, approved_by, "departure_cancelled", departure_id,
              {"reason": reason, "tickets": len(tickets)}, now)
    return CancelResult(departure_id, seq, len(tickets))


def delay_departure(db: Database, terminal: Terminal, *, supervisor: str, password: str, departure_id: str,
                    date: str, time: str, reason: str, now: datetime) -> DelayResult:
    """晚点: the departure leaves at local ``date`` ``time`` instead. Refusals: those of
    :func:`cancel_departure`, ``BAD_TIME``, ``TIME_PASSED`` (a new time already past),
    ``NOT_LATER`` (not after the time it has now)."""
    now = require_now(now)
    reason = _reason(reason)
    at = _when(date, time, terminal, now)
    approved_by = _approved(db, terminal, supervisor, password, now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        dep = _own_departure(cur, terminal, departure_id, now)
        if at <= dep.departs_at:
            raise _violation("NOT_LATER", f"晚点后的时间须晚于现在的 {dep.date} {dep.time}",
                             f"A delay must be later than the departure's {dep.date} {dep.time}",
                             departure_id=departure_id)
        departure_store.move_departure(cur, departure_id, date=date, time=time, departs_at=at, status="delayed")
        seq = emit(cur, terminal, "departure.delayed", {
            "departure_id": departure_id, "date": date, "time": time, "new_departs_at": utc_text(at),
            "previous_departs_at": utc_text(dep.departs_at), "reason": reason, "approved_by": approved_by}, now)
        audit(cur, terminal, approved_by, "departure_delayed", departure_id,
              {"reason": reason, "from": f"{dep.date} {dep.time}", "to": f"{date} {time}"}, now)
    return DelayResult(departure_id, seq, date, time, at, dep.departs_at)


def add_extra_departure(db: Database, terminal: Terminal, *, supervisor: str, password: str, like_departure_id: str,
                        date: str, time: str, seats: int, reason: str, now: datetime) -> ExtraResult:
    """加班: a new departure on the route and vehicle class of ``like_departure_id`` (priced by the
    province's fares for them), at local ``date`` ``time`` with ``seats`` seats, all leased to this
    terminal until it leaves. Refusals: ``REASON_REQUIRED``, the approval's, ``SYNC_ALARM``,
    ``BAD_TIME``, ``TIME_PASSED``, ``BAD_SEATS``, ``UNKNOWN_DEPARTURE``, ``FOREIGN_DEPARTURE``,
    ``NO_FARE``."""
    now = require_now(now)
    reason = _reason(reason)
    at = _when(date, time, terminal, now)
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        raise _violation("BAD_SEATS", f"座位数须为 1 到 {MAX_SEATS}", f"Seats must be 1 to {MAX_SEATS}", seats=seats)
    approved_by = _approved(db, terminal, supervisor, password, now)
    with db.transaction() as session:
        cur = cursor(session)
        refuse_while_alarm(cur)
        like = departure_store.departure_state(cur, like_departure_id)
        if like is None:
            raise _violation("UNKNOWN_DEPARTURE", f"没有这个班次：{like_departure_id}",
                             f"No such departure: {like_departure_id}", departure_id=like_departure_id)
        if like.origin != terminal.station_code:
            raise _violation("FOREIGN_DEPARTURE", "这不是本站发出的线路", "This route does not leave from this station",
                             departure_id=like_departure_id, origin=like.origin)
        if departure_store.fare_count(cur, like.route, terminal.station_code, like.vehicle_class) == 0:
            raise _violation("NO_FARE", "省平台没有这条线路和车型的票价", "The province has no fares for this route and vehicle",
                             route=like.route, vehicle_class=like.vehicle_class)
        n = bump(cur, f"extra_departure:{terminal.terminal_id}")
        departure_id = f"{terminal.station_code}-{date.replace('-', '')}-{like.schedule_code}-J{terminal.terminal_no:02d}{n:02d}"
        row = {"id": departure_id, "schedule_code": like.schedule_code, "route": like.route, "date": date, "time": time,
               "vehicle_class": like.vehicle_class, "seats": seats, "gate": like.gate, "status": "normal",
               "extra": True, "stop_sale_minutes": like.stop_sale_minutes}
        departure_store.upsert_departures(cur, [row], terminal.zone)
        lease_id = f"extra:{departure_id}@{utc_text(at)}"
        seat_nos = list(range(1, seats + 1))
        seat_store.record_lease(cur, lease_id, departure_id, seat_nos, now, at)
        seat_store.lease_seats(cur, lease_id, departure_id, seat_nos)
        seq = emit(cur, terminal, "departure.added", {
            **{k: v for k, v in row.items() if k != "id"}, "departure_id": departure_id, "departs_at": utc_text(at),
            "like_departure_id": like_departure_id, "reason": reason, "approved_by": approved_by}, now)
        audit(cur, terminal, approved_by, "departure_added", departure_id,
              {"reason": reason, "like": like_departure_id, "seats": seats}, now)
    return ExtraResult(departure_id, seq, date, time, seats)


# --- the station's day (the supervisor's screen) ---------------------------------------------------------


def local_day(db: Database, terminal: Terminal, day: date) -> dict:
    """The station's ``day`` as this terminal knows it (``source`` "terminal"): its own counters' money
    and the station's departures with what reached its gate. The same shape as the server's
    ``/v1/station/day`` (docs/supervisor.md § The day), which holds every terminal's."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=terminal.zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=terminal.zone).astimezone(UTC)
    with db.read() as session:
        cur = cursor(session)
        window = day_store.window_sales(cur, start, end)
        web = day_store.web_sales(cur, start, end)
        refunds = day_store.paid_out(cur, "refund", start, end)
        voids = day_store.paid_out(cur, "void", start, end)
        changes = day_store.paid_out(cur, "change", start, end)
        deps = day_store.departures_of_day(cur, day.isoformat(), terminal.station_code)
    net = window.amount - refunds.amount - voids.amount - changes.amount
    return {
        "station": terminal.station_code, "date": day.isoformat(), "source": "terminal",
        "terminal_id": terminal.terminal_id,
        "channels": {"window": {"tickets": window.count, "amount": window.amount},
                     "web": {"tickets": web.count, "amount": web.amount}},
        "refunds": {"count": refunds.count, "amount": refunds.amount, "fees": refunds.fees},
        # A change's money is what the passenger paid for it (fare difference and fee together).
        "changes": {"count": changes.count, "fees": None, "differences": -changes.amount},
        "voids": {"count": voids.count, "amount": voids.amount},
        "net": net,
        "terminals": [{"terminal_id": terminal.terminal_id, "tickets": window.count, "net": net}],
        "departures": [{"departure_id": d.departure_id, "route": d.route, "time": d.time, "status": d.status,
                        "state": None, "seats": d.seats, "sold": d.sold, "checked": d.checked,
                        "road_bill": d.road_bill, "road_bill_amount": None, "extra": d.extra} for d in deps],
    }


def day_rows(figures: dict) -> list[list]:
    """The day as rows of cells, header first per section: what the CSV export writes."""
    yuan = _yuan
    source = "省平台" if figures.get("source") == "server" else f"本机 {figures.get('terminal_id', '')}（仅本机所知）"
    ch, r, c, v = figures["channels"], figures["refunds"], figures["changes"], figures["voids"]
    rows: list[list] = [
        ["车站", figures["station"], "日期", figures["date"], "数据来源", source],
        [],
        ["项目", "张数", "金额（元）", "手续费（元）"],
        ["窗口售票", ch["window"]["tickets"], yuan(ch["window"]["amount"]), ""],
        ["网络售票", ch["web"]["tickets"], yuan(ch["web"]["amount"]), ""],
        ["退票", r["count"], yuan(r["amount"]), yuan(r["fees"])],
        ["改签", c["count"], yuan(c.get("differences")), yuan(c.get("fees"))],
        ["废票", v["count"], yuan(v["amount"]), ""],
        ["净收", "", yuan(figures["net"]), ""],
        [],
        ["班次", "时间", "线路", "状态", "座位", "检票人数", "路单号", "路单金额（元）"],
    ]
    for d in figures["departures"]:
        rows.append([d["departure_id"], d["time"], d["route"], d["status"], d["seats"], d["checked"],
                     d.get("road_bill") or "", yuan(d.get("road_bill_amount"))])
    return rows


def _yuan(fen) -> str:
    return "" if fen is None else f"{fen / 100:.2f}"


def export_csv(figures: dict, path: Path) -> Path:
    """The day as CSV (UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it right).
    The terminal writes CSV only: the XLSX library is the server's dependency, not the terminal's."""
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(day_rows(figures))
    return path


class Supervisor:
    """What the supervisor's screen asks of the services (Qt-free). ``fetch_day(day_text) -> dict``
    asks the province for the station's day (the sync client's ``station_day``); when it is missing
    or raises, the screen shows this terminal's own figures, marked as such."""

    def __init__(self, db: Database, terminal: Terminal, *, code: str, name: str = "",
                 clock=None, fetch_day=None) -> None:
        self.db, self.terminal, self.code, self.name = db, terminal, code, name
        self.clock = clock or (lambda: datetime.now(UTC))
        self.fetch_day = fetch_day

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.terminal.local_date(self.now())

    def day(self, day: date | None = None) -> dict:
        """The server's figures when it answers, else this terminal's (``source`` says which; an
        ``offline_reason`` says why the server's are not shown)."""
        day = day or self.today()
        if self.fetch_day is None:
            why = ("未配置省平台", "no provincial server configured")
        else:
            try:
                return self._with_local_departures(self.fetch_day(day.isoformat()), day)
            except Exception as exc:  # noqa: BLE001 - any failure to ask means: show what we know
                why = (exc.text("zh_CN"), exc.text("en")) if isinstance(exc, KezhanError) else (str(exc), str(exc))
        figures = local_day(self.db, self.terminal, day)
        figures["offline_reason"], figures["offline_reason_en"] = why
        return figures

    def _with_local_departures(self, figures: dict, day: date) -> dict:
        """The server's departures as this file has them now: an action taken here a moment ago (or
        pulled since) shows at once, before the server has the event; an extra bus added here and not
        yet uploaded is listed too."""
        with self.db.read() as session:
            here = {d.departure_id: d for d in day_store.departures_of_day(cursor(session), day.isoformat(),
                                                                            self.terminal.station_code)}
        listed = set()
        for d in figures.get("departures", []):
            mine = here.get(d["departure_id"])
            listed.add(d["departure_id"])
            if mine is not None:
                d.update(time=mine.time, status=mine.status, extra=mine.extra, route=mine.route)
        for mine in here.values():
            if mine.departure_id not in listed:
                figures.setdefault("departures", []).append({
                    "departure_id": mine.departure_id, "route": mine.route, "time": mine.time, "status": mine.status,
                    "state": None, "seats": mine.seats, "sold": mine.sold, "checked": mine.checked,
                    "road_bill": mine.road_bill, "road_bill_amount": None, "extra": mine.extra})
        figures.get("departures", []).sort(key=lambda d: (d["time"], d["departure_id"]))
        return figures

    def _approver(self, approver: tuple[str, str] | None) -> tuple[str, str | None]:
        """Who confirms: the code and password typed in the action's dialog (the signed-in
        supervisor's code by default)."""
        code, password = approver if approver is not None else (self.code, None)
        return code or self.code, password

    def cancel(self, departure_id: str, reason: str, *, approver: tuple[str, str] | None) -> CancelResult:
        code, password = self._approver(approver)
        return cancel_departure(self.db, self.terminal, supervisor=code, password=password,
                                departure_id=departure_id, reason=reason, now=self.now())

    def delay(self, departure_id: str, date_text: str, time_text: str, reason: str, *,
              approver: tuple[str, str] | None) -> DelayResult:
        code, password = self._approver(approver)
        return delay_departure(self.db, self.terminal, supervisor=code, password=password,
                               departure_id=departure_id, date=date_text, time=time_text, reason=reason, now=self.now())

    def add_extra(self, like_departure_id: str, date_text: str, time_text: str, seats: int, reason: str, *,
                  approver: tuple[str, str] | None) -> ExtraResult:
        code, password = self._approver(approver)
        return add_extra_departure(self.db, self.terminal, supervisor=code, password=password,
                                   like_departure_id=like_departure_id, date=date_text, time=time_text, seats=seats,
                                   reason=reason, now=self.now())
