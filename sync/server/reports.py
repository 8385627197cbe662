"""What the province reads back: a terminal's day reconciled, tickets exported, conflicts and alarms."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from sync import protocol
from sync.server import models
from sync.server.authz import REFUSAL_KINDS
from sync.server.clock import iso, parse_instant
from sync.server.context import ServerContext
from sync.server.documents import DocumentKey
from sync.server.gate import departure_records
from sync.server.tickets import ticket_dict


def conflict_dict(c) -> dict:
    return {"id": c.id, "seq": c.seq, "kind": c.kind, "ticket_id": c.ticket_id, "departure_id": c.departure_id,
            "seat_no": c.seat_no, "detail": c.detail, "status": c.status, "created_at": iso(c.created_at),
            "resolved_at": iso(c.resolved_at), "resolution": c.resolution}


class _DayTally:
    """A terminal's events of one day added up: counts by type, money, the tickets they touched."""

    def __init__(self):
        self.counts: dict[str, int] = {t: 0 for t in protocol.EVENT_TYPES}
        self.money = {"sales": 0, "refunds": 0, "refund_fees": 0, "voids": 0, "change_differences": 0,
                      "change_fees": 0, "by_method": {}}
        self.ticket_ids: list[str] = []
        self.gate_ids: list[str] = []
        self.tickets_sold = 0
        # The status each touched ticket is left in by the day's events, and the sales whose payment
        # is not what their tickets cost.
        self.expected: dict[str, str] = {}
        self.payment_mismatches: list[dict] = []

    def add(self, conn, kind: str, p: dict, seq: int | None = None) -> None:
        money, ids = self.money, self.ticket_ids
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self._expect(kind, p)
        if kind == "ticket.sold":
            self._add_sale(p, seq)
        elif kind == "ticket.refunded":
            money["refunds"] += int(p.get("refund_amount") or 0)
            money["refund_fees"] += int(p.get("fee") or 0)
            ids.append(p.get("ticket_id"))
        elif kind == "ticket.changed":
            money["change_differences"] += int(p.get("fare_difference") or 0)
            money["change_fees"] += int(p.get("fee") or 0)
            ids.append(p.get("old_ticket_id"))
            ids.append((p.get("new_ticket") or {}).get("ticket_id"))
        elif kind == "ticket.voided":
            Tk = models.tickets
            r = conn.execute(select(Tk.c.price, Tk.c.insurance).where(Tk.c.ticket_id == p.get("ticket_id"))).first()
            if r:
                money["voids"] += r.price + r.insurance
            ids.append(p.get("ticket_id"))
        elif kind in ("ticket.picked_up", "ticket.reprinted"):
            ids.append(p.get("ticket_id"))
        elif kind in ("ticket.checked", "ticket.check_undone", "ticket.ride_changed"):
            # Tickets of any window: the gate's own list, outside the digest of what this terminal sold.
            self.gate_ids.append(p.get("ticket_id"))

    def _expect(self, kind: str, p: dict) -> None:
        if kind == "ticket.sold":
            for t in p.get("tickets", []):
                self.expected[t.get("ticket_id")] = "active"
        elif kind in ("ticket.refunded", "ticket.voided"):
            self.expected[p.get("ticket_id")] = "refunded" if kind == "ticket.refunded" else "voided"
        elif kind == "ticket.changed":
            self.expected[p.get("old_ticket_id")] = "changed"
            self.expected[(p.get("new_ticket") or {}).get("ticket_id")] = "active"

    def _add_sale(self, p: dict, seq: int | None) -> None:
        money = self.money
        cost = 0
        for t in p.get("tickets", []):
            self.tickets_sold += 1
            amount = int(t.get("price") or 0) + int(t.get("insurance") or 0)
            cost += amount
            money["sales"] += amount
            self.ticket_ids.append(t["ticket_id"])
        pay = p.get("payment") or {}
        method = pay.get("method") or "unknown"
        paid = int(pay.get("amount") or 0)
        money["by_method"][method] = money["by_method"].get(method, 0) + paid
        if paid != cost:
            self.payment_mismatches.append({
                "kind": "PAYMENT_MISMATCH", "seq": seq, "ticket_id": None,
                "detail": f"order {p.get('order_id')}: paid {paid} fen for tickets of {cost} fen"})

    def net(self) -> int:
        m = self.money
        return m["sales"] - m["refunds"] - m["voids"] + m["change_differences"] + m["change_fees"]

    def touched(self) -> list[str]:
        """The tickets touched, each once, in the order first touched."""
        return [t for t in dict.fromkeys(self.ticket_ids) if t]

    def gate_touched(self) -> list[str]:
        """The tickets the terminal's gate checked, undid or moved, each once."""
        return [t for t in dict.fromkeys(self.gate_ids) if t]


def _tickets_by_id(conn, ids: list[str], keys) -> list[dict]:
    Tk = models.tickets
    rows = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(select(Tk).where(Tk.c.ticket_id.in_(ids[i:i + 500]))):
            rows[r.ticket_id] = r
    return _with_checks(conn, [ticket_dict(rows[t], keys) for t in ids if t in rows])


def _with_checks(conn, tickets: list[dict]) -> list[dict]:
    """Each ticket with its check at the gate (``check``: when, which gate and terminal, onto which
    departure; None when not checked) and how often it was reprinted."""
    T = models.ticket_checks
    ids = [t["ticket_id"] for t in tickets]
    found = {}
    for i in range(0, len(ids), 500):
        for g in conn.execute(select(T).where(T.c.ticket_id.in_(ids[i:i + 500]))):
            found[g.ticket_id] = g
    for t in tickets:
        g = found.get(t["ticket_id"])
        t["reprints"] = 0 if g is None else int(g.reprints or 0)
        t["check"] = None if g is None or not g.checked_at else {
            "checked_at": g.checked_at, "gate": g.gate, "terminal_id": g.terminal_id, "checker": g.checker,
            "departure_id": g.departure_id, "via": g.via}
        t["ride_from"] = None if g is None else g.ride_from
    return tickets


class Reports:
    def __init__(self, ctx: ServerContext):
        self.ctx = ctx
        self.keys = DocumentKey.of(ctx)

    def reconcile(self, terminal_id: str, day: str) -> dict:
        E = models.events
        tally = _DayTally()
        with self.ctx.reader() as conn:
            evs = conn.execute(
                select(E.c.seq, E.c.type, E.c.payload).where(E.c.terminal_id == terminal_id, E.c.day == day)
                .order_by(E.c.seq)
            ).all()
            A = models.alarms
            refused = set(conn.execute(select(A.c.seq).where(
                A.c.terminal_id == terminal_id, A.c.kind.in_(REFUSAL_KINDS),
                A.c.seq.between(evs[0].seq, evs[-1].seq))).scalars()) if evs else set()
            for ev in evs:
                if ev.seq in refused:
                    continue  # never applied: its money is the alarm's, not the day's
                tally.add(conn, ev.type, json.loads(ev.payload), ev.seq)
            tickets = _tickets_by_id(conn, tally.touched(), self.keys)
            gate_tickets = _tickets_by_id(conn, tally.gate_touched(), self.keys)
            mismatches = self._mismatches(conn, terminal_id, day, evs, tally, tickets)
        tally.money["net"] = tally.net()
        digest = hashlib.sha256(
            "\n".join(sorted(f"{t['ticket_id']}:{t['status']}" for t in tickets)).encode()
        ).hexdigest()
        return {
            "terminal_id": terminal_id,
            "date": day,
            "events": {"count": len(evs), "first_seq": evs[0].seq if evs else None,
                       "last_seq": evs[-1].seq if evs else None},
            "counts": {**tally.counts, "tickets_sold": tally.tickets_sold, "refused": len(refused)},
            "money": tally.money,
            "tickets": tickets,
            "gate_tickets": gate_tickets,
            "digest": digest,
            "mismatches": mismatches,
        }

    def _mismatches(self, conn, terminal_id: str, day: str, evs, tally: _DayTally, tickets: list[dict]) -> list:
        """Every place the day's events and what the server made of them disagree, one entry each
        (``kind``, ``seq``, ``ticket_id``, ``detail``): events refused, conflicts raised by the day's
        events, payments that are not what their tickets cost, and tickets the server holds in another
        state than the day's events leave them in (a later day's refund or change is no mismatch)."""
        if not evs:
            return []
        out = []
        A, C = models.alarms, models.conflicts
        first, last = evs[0].seq, evs[-1].seq
        seqs = {ev.seq for ev in evs}
        alarmed = set()
        for a in conn.execute(select(A).where(A.c.terminal_id == terminal_id, A.c.seq.between(first, last))
                              .order_by(A.c.id)):
            if a.seq in seqs:
                alarmed.add(a.seq)
                out.append({"kind": a.kind, "seq": a.seq, "ticket_id": None, "detail": a.detail})
        for c in conn.execute(select(C).where(C.c.terminal_id == terminal_id, C.c.seq.between(first, last))
                              .order_by(C.c.id)):
            # A refused event's conflict only tells the terminal so; its alarm above names the reason.
            if c.seq in seqs and not (c.kind == "REFUSED" and c.seq in alarmed):
                out.append({"kind": c.kind, "seq": c.seq, "ticket_id": c.ticket_id,
                            "detail": f"{c.detail} ({c.status}{', ' + c.resolution if c.resolution else ''})"})
        out.extend(tally.payment_mismatches)
        for t in tickets:
            want = tally.expected.get(t["ticket_id"])
            if want is None or t["status"] == want or t["status"] == "conflict":
                continue  # a conflict is listed above with its reason
            later = t.get("closed_at") and self._after_day(t["closed_at"], day)
            if not later:
                out.append({"kind": "STATUS_MISMATCH", "seq": None, "ticket_id": t["ticket_id"],
                            "detail": f"the day's events leave it {want}, the server holds it {t['status']}"})
        return out

    def _after_day(self, text: str, day: str) -> bool:
        try:
            return self.ctx.local_day(parse_instant(text)) > day
        except ValueError:
            return False

    def reconciliation(self, day: str, *, station: str | None = None) -> dict:
        """Every terminal's reconciliation of the local ``day`` (of one ``station``, or all), summed up
        one row per terminal, with all their mismatches listed."""
        T = models.terminals
        q = select(T.c.id, T.c.station, T.c.label).order_by(T.c.id)
        if station:
            q = q.where(T.c.station == station)
        with self.ctx.reader() as conn:
            terminals = conn.execute(q).all()
        rows, mismatches = [], []
        for t in terminals:
            rec = self.reconcile(t.id, day)
            if not rec["events"]["count"]:
                continue
            m = rec["money"]
            rows.append({"terminal_id": t.id, "station": t.station, "label": t.label,
                         "events": rec["events"]["count"], "first_seq": rec["events"]["first_seq"],
                         "last_seq": rec["events"]["last_seq"], "tickets_sold": rec["counts"]["tickets_sold"],
                         "refunds": rec["counts"]["ticket.refunded"], "changes": rec["counts"]["ticket.changed"],
                         "voids": rec["counts"]["ticket.voided"], "sales": m["sales"], "refund_amount": m["refunds"],
                         "refund_fees": m["refund_fees"], "void_amount": m["voids"], "net": m["net"],
                         "mismatches": len(rec["mismatches"]), "digest": rec["digest"]})
            mismatches.extend({"terminal_id": t.id, **x} for x in rec["mismatches"])
        return {"report": "reconciliation", "date": day, "station": station, "terminals": rows,
                "mismatches": mismatches}

    def day_report(self, kind: str, day: str, *, station: str | None = None) -> dict:
        """The ``station``, ``carrier`` or ``departures`` report of a local day (sync/server/day_report.py),
        or ``reconciliation``."""
        from sync.server import day_report

        if kind == "reconciliation":
            return self.reconciliation(day, station=station)
        make = {"station": day_report.station_report, "carrier": day_report.carrier_report,
                "departures": day_report.departures_report}[kind]
        with self.ctx.reader() as conn:
            return make(conn, day, self.ctx.zone, station)

    def export_tickets(self, *, terminal_id: str | None = None, day: str | None = None,
                       channel: str | None = None) -> list[dict]:
        Tk = models.tickets
        q = select(Tk)
        if terminal_id:
            q = q.where(Tk.c.terminal_id == terminal_id)
        if channel:
            q = q.where(Tk.c.channel == channel)
        with self.ctx.reader() as conn:
            rows = conn.execute(q.order_by(Tk.c.sold_at, Tk.c.ticket_id)).all()
            return _with_checks(conn, [ticket_dict(r, self.keys, full=True) for r in rows if not day or self._sold_on(r, day)])

    def departures(self, day: str, *, station: str | None = None) -> list[dict]:
        """Each departure of the local ``day`` (YYYY-MM-DD) as its gate left it (发班信息): vehicle,
        driver, gate, check state, the tickets checked onto it by destination, its road bill."""
        start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=self.ctx.zone).astimezone(UTC)
        with self.ctx.reader() as conn:
            return departure_records(conn, (start, start + timedelta(days=1)), self.ctx.local_day, station)

    def _sold_on(self, r, day: str) -> bool:
        try:
            return self.ctx.local_day(parse_instant(r.sold_at)) == day
        except ValueError:
            return False

    def conflicts_of(self, terminal_id: str, status: str | None = None) -> list[dict]:
        C = models.conflicts
        q = select(C).where(C.c.terminal_id == terminal_id)
        if status:
            q = q.where(C.c.status == status)
        with self.ctx.reader() as conn:
            return [conflict_dict(c) for c in conn.execute(q.order_by(C.c.id))]

    def alarms(self) -> list[dict]:
        A = models.alarms
        with self.ctx.reader() as conn:
            return [{"id": a.id, "terminal_id": a.terminal_id, "kind": a.kind, "seq": a.seq, "detail": a.detail,
                     "created_at": iso(a.created_at)} for a in conn.execute(select(A).order_by(A.c.id))]
