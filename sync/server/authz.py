"""What a terminal may do (docs/protocol.md § What a terminal may do).

An enrolled terminal signs its requests, but a signature proves only who sent an event, not that
the event is one the terminal had any business writing. Every event of an upload batch is checked
here, inside the batch's transaction, before it is applied: a new ticket must carry an id of the
terminal's own id space and be priced as the province's fares and ticket types say; a refund, void,
change, reprint or pick-up may touch only a ticket the terminal sold, a web ticket of its own
station's departures that it picked up (or is picking up), or a ticket a conflict of its own sale
put in its hands; every amount is the one the province's rules give. An event that fails is
refused: recorded as an alarm for the province and as a ``REFUSED`` conflict for the terminal,
stored under its seq (so the upload moves on and a resend is a duplicate), and never applied.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from app.domain.change import ChangePolicy
from app.domain.errors import KezhanError
from app.domain.refund import RefundPolicy, quote_refund
from app.domain.stock import parse_terminal_id, parse_ticket_id
from app.domain.ticket_types import TicketTypeTable
from sync.server import models, province
from sync.server.clock import parse_instant
from sync.server.db import get_meta

# No single amount a counter handles comes near this (100,000 yuan): anything above is forged.
MAX_FEN = 10_000_000
# The counter's void window (app.services.context.VOID_WINDOW_MINUTES): a void hands back the whole
# price, so one later than this is a refund that kept no fee.
VOID_WINDOW_MINUTES = 10
# How long after the province changes a fare, a ticket type or a rule an amount worked out by the
# old one is still taken from a terminal: one that sold before its next pull (offline, up to the
# offline budget of a few hours) priced by what it knew. Such an amount is applied, never refused --
# refusing it would drop an honest sale and free its seat for another -- and the province gets a
# STALE_RULES alarm to look at. Past this, an amount the current rules do not give is refused.
RULES_GRACE = timedelta(hours=24)
# Conflicts on a terminal's own sale that make it the one to settle the ticket (reseat or refund).
_TASK_KINDS = frozenset({"SEAT_TAKEN", "SEAT_LEASED", "SEAT_INVALID", "UNKNOWN_DEPARTURE", "DEPARTURE_CANCELLED",
                         "DUPLICATE_DOCUMENT"})


# The alarm kinds a refused event is recorded under (reconciliation leaves those events out).
REFUSAL_KINDS = frozenset({"FOREIGN_TICKET", "FOREIGN_TICKET_ID", "BAD_AMOUNT", "BAD_SALE", "BAD_EVENT",
                           "VOID_WINDOW_PASSED", "FOREIGN_DEPARTURE"})


class Refused(Exception):
    """An event the terminal may not have written: ``reason`` names the rule, ``detail`` the case."""

    def __init__(self, reason: str, detail: str, ticket_id: str | None = None):
        assert reason in REFUSAL_KINDS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.ticket_id = reason, detail, ticket_id


def _amount(value, what: str, ticket_id=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
        raise Refused("BAD_AMOUNT", f"{what} {value!r} is not an amount of 0 to {MAX_FEN} fen", ticket_id)
    return value


def _read_rules(conn) -> dict:
    """The province's pricing rules as the counter reads them (app.services.context.load_rules)."""
    settings = {k: province.get_master(conn, "setting", k)
                for k in ("home_station", "refund_policy", "change_policy", "insurance")}
    M = models.master
    types = [json.loads(d) for d in conn.execute(select(M.c.data).where(M.c.kind == "ticket_type")).scalars()]
    insurance = settings.get("insurance") or {}
    return {
        "home_station": settings.get("home_station"),
        "types": TicketTypeTable.from_rows(types) if types else TicketTypeTable.default(),
        # A policy without tiers is the default one, so both sides quote the same fee.
        "refund": (RefundPolicy.from_dict(settings["refund_policy"])
                   if isinstance(settings.get("refund_policy"), dict) and settings["refund_policy"].get("tiers")
                   else RefundPolicy.default()),
        "change": ChangePolicy.from_dict(settings.get("change_policy") or {}),
        "insurance": int(insurance.get("price") or 0),
    }


class RulesCache:
    """One server's (one database's) rules version -> [rules (None until read), {fare key: full fare}]:
    each a batch's reads, shared by the batches of the process while the version stands. Two batches
    filling one entry at once read the same rows; the one that writes last wins, with what the other
    had. On PostgreSQL an import holds the whole database while it runs and a batch shares it from
    before it reads the version, so no import commits between the version a batch reads and the
    rows it reads (ServerContext.tx); on SQLite writers take turns."""

    def __init__(self):
        self._entries: dict[str, list] = {}
        self._lock = threading.Lock()

    def entry(self, version: str) -> list:
        with self._lock:
            found = self._entries.get(version)
            if found is None:
                self._entries.clear()  # an older version is never asked for again
                found = self._entries[version] = [None, {}]
            return found


class Authority:
    """The checks for one terminal within one batch; the province's rules are read once per batch, or
    kept by the server while the province's rules version stands (RulesCache)."""

    def __init__(self, ctx, terminal_id: str, rules: tuple[RulesCache, str] | None = None):
        self.ctx, self.terminal_id = ctx, terminal_id  # ctx: the BatchContext (tickets, departures)
        # Amounts an event was let through with because the rules changed lately (see RULES_GRACE):
        # (ticket id, detail), an alarm each once the event is applied.
        self.tolerated: list[tuple[str | None, str]] = []
        self._rules_changed_at: datetime | None = None
        self.station, self.terminal_no = parse_terminal_id(terminal_id)
        self._rules: dict | None = None
        # With the server's cache and the province's rules version (read with the batch's first
        # statement), the rules and fares are kept while the version stands; without, this batch's own.
        self._shared = rules[0].entry(rules[1]) if rules is not None else None
        self._fares: dict = self._shared[1] if self._shared else {}
        self._prices: dict = {}
        # make_ticket_id's station code and terminal number: the first 12 digits of every id it may create
        self.id_prefix = f"{self.station}{self.terminal_no:03d}"

    # ------------------------------------------------------------------ the province's rules

    def rules(self) -> dict:
        if self._rules is None:
            found = self._shared[0] if self._shared else None
            if found is None:
                found = _read_rules(self.ctx.conn)
                if self._shared is not None:
                    self._shared[0] = found
            self._rules = {**found, "board": found["home_station"] or self.station}
        return self._rules

    def fare(self, dep, stop) -> int | None:
        """The full fare from the board station the terminal sells from (the province's home
        station, else its own) to ``stop`` on ``dep``, as the counter looks it up."""
        # The whole key, board station included: the fares are shared by every terminal's batches,
        # and without a home station each terminal prices from its own station.
        key = province.fare_key(dep.route, self.rules()["board"], stop, dep.vehicle_class)
        if key not in self._fares:
            row = province.get_master(self.ctx.conn, "fare", key)
            self._fares[key] = None if row is None else int(row["full_fare"])
        return self._fares[key]

    # ------------------------------------------------------------------ the checks

    def check(self, ev: dict) -> None:
        """Raises ``Refused`` for an event this terminal may not have written; leaves in
        :attr:`tolerated` the amounts it let through because the rules changed lately."""
        kind, p = ev["type"], ev["payload"]
        self.tolerated = []
        self._at = ev.get("created_at")
        if kind == "ticket.sold":
            self._sale(p)
        elif kind == "ticket.refunded":
            self._refund(p)
        elif kind == "ticket.voided":
            r = self._touchable(p.get("ticket_id"), "void", own_sale_only=True)
            if r is not None and r.status == "active":
                window = timedelta(minutes=VOID_WINDOW_MINUTES)
                if _instant(p.get("voided_at")) - _instant(r.sold_at) > window:
                    raise Refused("VOID_WINDOW_PASSED", f"void of {r.ticket_id} later than {window} after its sale",
                                  r.ticket_id)
        elif kind == "ticket.changed":
            self._change(p)
        elif kind == "ticket.reprinted":
            self._touchable(p.get("ticket_id"), "reprint")
        elif kind == "ticket.picked_up":
            self._pick_up(p)

    def _new_ticket(self, t: dict, *, same_as=None) -> None:
        """A ticket this terminal creates: its id in the terminal's own id space, priced by the rules.
        A ticket without the documented fields raises KeyError: the batch is refused as malformed.
        ``same_as``: the ticket a reseat reissues, whose fare, price and insurance it keeps whatever
        the rules say today."""
        ticket_id, departure_id = t["ticket_id"], t["departure_id"]
        if not (type(ticket_id) is str and ticket_id.startswith(self.id_prefix)):
            self._foreign_id(ticket_id)
        try:
            parse_ticket_id(ticket_id)
        except KezhanError:
            raise Refused("FOREIGN_TICKET_ID", f"{ticket_id!r} is not a ticket id", ticket_id) from None
        fare = _amount(t.get("fare"), "fare", ticket_id)
        price = _amount(t.get("price"), "price", ticket_id)
        insurance = _amount(t.get("insurance"), "insurance", ticket_id)
        rules = self.rules()
        if same_as is not None and (fare, price, insurance, t.get("ticket_type")) == (
                same_as.fare, same_as.price, same_as.insurance, same_as.ticket_type):
            return
        if insurance not in (0, rules["insurance"]):
            self._mismatch(f"insurance {insurance} is neither 0 nor the province's {rules['insurance']}", ticket_id)
        dep = self.ctx.dep(departure_id)
        if dep is None:
            return  # an UNKNOWN_DEPARTURE conflict: nothing to price it against, and no seat to take
        full = self.fare(dep, t.get("stop"))
        if full is None:
            raise Refused("BAD_AMOUNT", f"no fare to {t.get('stop')!r} on {dep.id}", ticket_id)
        if fare != full:
            self._mismatch(f"fare {fare} is not the province's {full}", ticket_id)
            full = fare  # tolerated: the price is checked against the fare the terminal used
        code = t.get("ticket_type")
        due = self._prices.get((full, code))
        if due is None:
            if code not in rules["types"]:
                raise Refused("BAD_AMOUNT", f"unknown ticket type {code!r}", ticket_id)
            due = self._prices[(full, code)] = rules["types"].price(full, code)
        if price != due:
            self._mismatch(f"price {price} of a {code} ticket is not the rules' {due}", ticket_id)

    def _mismatch(self, detail: str, ticket_id) -> None:
        """An amount the province's current rules do not give: refused, unless the rules changed
        within RULES_GRACE before the event -- then the terminal may have worked it out by the old
        ones, and it is let through with an alarm (:attr:`tolerated`)."""
        if self._rules_changed_lately():
            self.tolerated.append((ticket_id, detail))
            return
        raise Refused("BAD_AMOUNT", detail, ticket_id)

    def _rules_changed_lately(self) -> bool:
        try:
            since = parse_instant(self._at) - RULES_GRACE
        except (TypeError, ValueError, AttributeError):
            return False
        if self._rules_changed_at is None:
            text = get_meta(self.ctx.conn, province.RULES_CHANGED_AT, "")
            self._rules_changed_at = parse_instant(text) if text else datetime.min.replace(tzinfo=since.tzinfo)
        return self._rules_changed_at >= since

    def _foreign_id(self, ticket_id) -> None:
        try:
            station, no, _ = parse_ticket_id(ticket_id)
        except KezhanError:
            raise Refused("FOREIGN_TICKET_ID", f"{ticket_id!r} is not a ticket id", ticket_id) from None
        raise Refused("FOREIGN_TICKET_ID", f"ticket id {ticket_id} belongs to station {station} terminal {no}, "
                                           f"not to {self.terminal_id}", ticket_id)

    def _sale(self, p: dict) -> None:
        tickets = p.get("tickets")
        if not isinstance(tickets, list) or not tickets:
            raise Refused("BAD_SALE", "a sale without tickets")
        for t in tickets:
            if not isinstance(t, dict):
                raise Refused("BAD_SALE", "a ticket that is not an object")
            self._new_ticket(t)
        total = sum(t["price"] + t["insurance"] for t in tickets)
        pay = p.get("payment")
        if not isinstance(pay, dict):
            raise Refused("BAD_AMOUNT", "a sale without its payment")
        amount = _amount(pay.get("amount"), "payment amount")
        if amount != total:
            raise Refused("BAD_AMOUNT", f"payment amount {amount} is not the tickets' total {total}")
        tendered, change = pay.get("tendered"), pay.get("change")
        if tendered is not None or change is not None:
            tendered, change = _amount(tendered, "tendered"), _amount(change, "change")
            if tendered - change != amount:
                raise Refused("BAD_AMOUNT", f"tendered {tendered} less change {change} is not the amount {amount}")

    def _task_on(self, ticket_id: str) -> bool:
        """A conflict of this terminal's on the ticket that asks it to reseat or refund."""
        C = models.conflicts
        return self.ctx.conn.execute(
            select(C.c.id).where(C.c.terminal_id == self.terminal_id, C.c.ticket_id == ticket_id,
                                 C.c.kind.in_(_TASK_KINDS)).limit(1)).first() is not None

    def _touchable(self, ticket_id, action: str, *, own_sale_only: bool = False):
        """The ticket's row when this terminal may ``action`` it; None when the server does not know
        it (the apply step records that as an UNKNOWN_TICKET conflict); else ``Refused``."""
        r = self.ctx.ticket(ticket_id) if isinstance(ticket_id, str) else None
        if r is None:
            return None
        if r.channel == "terminal" and r.terminal_id == self.terminal_id:
            return r
        if not own_sale_only:
            if r.channel == "web" and r.picked_up_by == self.terminal_id:
                return r
            if self._task_on(r.ticket_id):
                return r
        whose = "a web ticket" + (f" picked up by {r.picked_up_by}" if r.picked_up_by else " not picked up here") \
            if r.channel == "web" else f"a ticket of {r.terminal_id}"
        raise Refused("FOREIGN_TICKET", f"{action} of {r.ticket_id}, {whose}", r.ticket_id)

    def _refund(self, p: dict) -> None:
        r = self._touchable(p.get("ticket_id"), "refund")
        if r is None or r.status not in ("active", "conflict"):
            return  # UNKNOWN_TICKET / TICKET_NOT_ACTIVE: applying it records the conflict, moves no money
        tid = r.ticket_id
        fee = _amount(p.get("fee"), "refund fee", tid)
        amount = _amount(p.get("refund_amount"), "refund amount", tid)
        if amount != r.price - fee + r.insurance:
            raise Refused("BAD_AMOUNT", f"refund amount {amount} is not price {r.price} less fee {fee} plus "
                                        f"insurance {r.insurance}", tid)
        if fee not in self._refund_fees(r, p):
            self._mismatch(f"refund fee {fee} is not one the refund policy gives", tid)

    def _refund_fees(self, r, p: dict) -> set[int]:
        """The fees a refund of ``r`` may keep: the tier's at the refund's instant, a forced refund's
        (approved by a supervisor), a conflict refund's, none for a carried free child."""
        policy = self.rules()["refund"]
        dep = self.ctx.dep(r.departure_id)
        fees = set()
        if r.carried_by:
            fees.add(0)
        if r.status == "conflict" or self._task_on(r.ticket_id):
            fees.add(min(policy.conflict_fee, r.price))
        if p.get("forced") is True and p.get("approved_by"):
            fees.add(min(policy.forced_fee, r.price))
        if dep is not None and dep.status == "cancelled":
            fees.add(0)  # the station cancelled the bus: every fen back (app/services/supervisor.py)
        if dep is not None:
            at = _instant(p.get("refunded_at"))
            # The instant is written to the second; the counter quoted on the same instant with its
            # fraction, which can fall on the other side of a tier's edge.
            for moment in (at, at + timedelta(seconds=1)):
                try:
                    fees.add(quote_refund(r.price, dep.departs_at, moment, policy).fee)
                except KezhanError:
                    pass  # past the refund window: only a forced or conflict refund
        return fees

    def _change(self, p: dict) -> None:
        new = p.get("new_ticket")
        if not isinstance(new, dict):
            raise Refused("BAD_SALE", "a change without its new ticket")
        old = self._touchable(p.get("old_ticket_id"), "change")
        reseat = old is not None and new.get("departure_id") == old.departure_id and (
            old.status == "conflict" or self._task_on(old.ticket_id))
        self._new_ticket(new, same_as=old if reseat else None)
        if old is None:
            return
        tid = old.ticket_id
        difference, fee = p.get("fare_difference"), _amount(p.get("fee"), "change fee", tid)
        if isinstance(difference, bool) or not isinstance(difference, int) or abs(difference) > MAX_FEN:
            raise Refused("BAD_AMOUNT", f"fare difference {difference!r} is not an amount", tid)
        if new.get("ticket_type") != old.ticket_type:
            raise Refused("BAD_AMOUNT", f"a change turns a {old.ticket_type} ticket into {new.get('ticket_type')!r}",
                          tid)
        if new["insurance"] != old.insurance:
            raise Refused("BAD_AMOUNT", f"a change moves insurance {old.insurance} as {new['insurance']}", tid)
        if difference != new["price"] - old.price:
            raise Refused("BAD_AMOUNT", f"fare difference {difference} is not new price {new['price']} less old "
                                        f"price {old.price}", tid)
        fees = {self.rules()["change"].fee}
        if reseat:
            fees.add(0)  # a reseat settling a conflict: no fee
        if fee not in fees:
            self._mismatch(f"change fee {fee} is not the change policy's {sorted(fees)}", tid)

    def _pick_up(self, p: dict) -> None:
        ticket_id = p.get("ticket_id")
        r = self.ctx.ticket(ticket_id) if isinstance(ticket_id, str) else None
        if r is None:
            return
        if r.channel != "web":
            self._touchable(ticket_id, "pick-up", own_sale_only=True)
            return
        dep = self.ctx.dep(r.departure_id)
        origin = dep.origin if dep is not None else None
        if origin != self.station:
            raise Refused("FOREIGN_TICKET", f"pick-up of {r.ticket_id}, a web ticket of a departure from "
                                            f"{origin}, not from this terminal's station {self.station}", r.ticket_id)


def _instant(text) -> datetime:
    try:
        return parse_instant(text)
    except (TypeError, ValueError, AttributeError):
        raise Refused("BAD_EVENT", f"not an instant: {text!r}") from None
