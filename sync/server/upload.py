"""Upload: a terminal's outbox events, applied exactly once in effect, in seq order, one
transaction per batch (docs/protocol.md § Upload)."""

from __future__ import annotations

import logging

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from sync import protocol
from sync.protocol import ProtocolError
from sync.server import db as dbmod
from sync.server import jsonbody, models
from sync.server.auth import Authenticator
from sync.server.batch import BatchContext, prepare_sales
from sync.server.clock import iso, parse_instant
from sync.server.context import ServerContext
from sync.server.documents import DocumentKey
from sync.server.province import RULES_VERSION
from sync.server.reports import conflict_dict

log = logging.getLogger("kezhan.server")

EVENT_COLUMNS = ("terminal_id", "seq", "event_id", "type", "created_at", "hash", "payload", "day", "received_at")
OP_TIME_FIELD = {
    "shift.opened": "opened_at",
    "ticket.sold": "sold_at",
    "ticket.refunded": "refunded_at",
    "ticket.changed": "changed_at",
    "ticket.voided": "voided_at",
    "ticket.reprinted": "reprinted_at",
    "ticket.picked_up": "picked_up_at",
    "stock.spoiled": "at",
    "shift.closed": "closed_at",
}
_UPLOAD_FIELDS = (*protocol.EVENT_FIELDS, "hash")
_UPLOAD_FIELD_SET = frozenset(_UPLOAD_FIELDS)
_EVENT_TYPES = frozenset(protocol.EVENT_TYPES)
_APPLY_ATTEMPTS = 3
# Events that touch this terminal's own rows only, and those whose departures a batch can name up front.
_TERMINAL_ONLY = frozenset({"shift.opened", "shift.closed", "stock.spoiled"})
_TICKET_EVENTS = frozenset({"ticket.sold", "ticket.refunded", "ticket.voided", "ticket.changed",
                            "ticket.reprinted", "ticket.picked_up"})
_RULES_VERSION = select(models.meta.c.value).where(models.meta.c.key == RULES_VERSION).scalar_subquery()
_MAX_SEQ = 2**63 - 1  # a BIGINT column: a larger seq is no seq a terminal ever wrote


class SeqReuse(Exception):
    def __init__(self, seq, stored, given, expected):
        super().__init__(seq)
        self.seq, self.stored, self.given, self.expected = seq, stored, given, expected


def check_event(ev, terminal_id: str) -> None:
    """Refuses an event without the documented fields and types, from another terminal, or whose
    hash is not its own; keeps its payload's canonical text for storing (``_payload_text``)."""
    if not isinstance(ev, dict):
        raise ProtocolError("INVALID_REQUEST", "an event must be an object")
    if not ev.keys() >= _UPLOAD_FIELD_SET:
        missing = [k for k in _UPLOAD_FIELDS if k not in ev]
        raise ProtocolError("INVALID_REQUEST", f"event lacks {', '.join(missing)}", seq=ev.get("seq"))
    seq = ev["seq"]
    # Strict types: "7" is not 7, and the hash covers the JSON exactly as sent.
    if type(seq) is not int or not 1 <= seq <= _MAX_SEQ:
        raise ProtocolError("INVALID_REQUEST", "seq must be a positive integer", seq=seq,
                            errors=[{"loc": ["events", "seq"], "msg": "not a positive integer"}])
    for name in ("terminal_id", "event_id", "type", "created_at", "hash"):
        if not isinstance(ev[name], str):
            raise ProtocolError("INVALID_REQUEST", f"{name} must be a string", seq=seq,
                                errors=[{"loc": ["events", name], "msg": "not a string"}])
    if ev["terminal_id"] != terminal_id:
        raise ProtocolError("TERMINAL_MISMATCH", seq=seq, event_terminal=ev["terminal_id"])
    if ev["type"] not in _EVENT_TYPES:
        raise ProtocolError("INVALID_REQUEST", f"unknown event type {ev['type']!r}", seq=seq)
    if not isinstance(ev["payload"], dict):
        raise ProtocolError("INVALID_REQUEST", "payload must be an object", seq=seq)
    try:
        computed, text = jsonbody.event_hash_and_payload_text(ev)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProtocolError("INVALID_REQUEST", f"event not serialisable: {type(exc).__name__}", seq=seq) from None
    if computed != ev["hash"]:
        raise ProtocolError("EVENT_HASH_MISMATCH", seq=seq, computed=computed)
    ev["_payload_text"] = text


def check_batch(events: list, terminal_id: str, max_batch: int) -> None:
    if len(events) > max_batch:
        raise ProtocolError("INVALID_REQUEST", f"at most {max_batch} events per batch", max_batch=max_batch)
    for ev in events:
        check_event(ev, terminal_id)
    seqs = [ev["seq"] for ev in events]
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        raise ProtocolError("BATCH_NOT_CONTIGUOUS", first_seq=seqs[0])


class Uploads:
    def __init__(self, ctx: ServerContext, auth: Authenticator):
        self.ctx, self.auth = ctx, auth

    def events_of_body(self, terminal_id: str, raw: bytes, nonce: str | None) -> list:
        """The events of a request body as received: ``{"events": [...]}`` (other members ignored)."""
        try:
            body = jsonbody.loads(raw)
            if not isinstance(body, dict) or not isinstance(body.get("events"), list):
                raise ProtocolError("INVALID_REQUEST", 'the body must be {"events": [...]}',
                                    errors=[{"loc": ["body", "events"], "msg": "a list of events is required"}])
        except (ValueError, ProtocolError) as exc:
            if nonce is not None:  # refused before any batch: the request still may not be replayed
                self.auth.record_nonce(terminal_id, nonce)
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError("MALFORMED_JSON") from None
        return body["events"]

    def upload(self, terminal_id: str, events: list[dict], *, nonce: str | None = None) -> dict:
        """Applies a batch. ``nonce``: the request's, checked but not yet recorded by
        ``authenticate(record_nonce=False)``; it is recorded in the batch's own transaction, or on
        its own when the batch is refused."""
        recorded = nonce is None
        try:
            answer, recorded = self._upload(terminal_id, events, nonce)
            return answer
        except ProtocolError as exc:
            recorded = recorded or exc.code == "REPLAYED_NONCE"
            raise
        finally:
            if not recorded:
                self.auth.record_nonce(terminal_id, nonce)  # refused, or failed: still not to be replayed

    def _upload(self, terminal_id: str, events: list[dict], nonce: str | None) -> tuple[dict, bool]:
        """The answer, and whether the nonce went in with the batch."""
        if not events:
            # A probe: the terminal asks how far the server has it (a file restored from before
            # its first event has nothing to resend). Nothing to apply; the nonce is recorded alone.
            return {"acked_through": self.high_water(terminal_id), "applied": 0, "duplicates": 0, "conflicts": [],
                    "server_time": iso(self.ctx.now())}, nonce is None
        check_batch(events, terminal_id, self.ctx.settings.max_batch)
        try:
            return self._apply_with_retries(terminal_id, events, nonce), True
        except SeqReuse as reuse:
            self._alarm_seq_reuse(terminal_id, reuse)
            raise ProtocolError("SEQ_REUSE", seq=reuse.seq, stored_hash=reuse.stored,
                                uploaded_hash=reuse.given, expected_seq=reuse.expected) from None

    def _apply_with_retries(self, terminal_id: str, events: list[dict], nonce: str | None) -> dict:
        for attempt in range(_APPLY_ATTEMPTS):
            try:
                return self._apply_batch(terminal_id, events, careful=attempt > 0, nonce=nonce)
            except IntegrityError as exc:
                # A ticket id the server already holds (the first attempt trusts the primary key to
                # find those), or another writer took a seat between our read and our insert
                # (possible on PostgreSQL): run the batch again, carefully, and it becomes a conflict.
                log.info("batch from %s hit a constraint (attempt %d): %s", terminal_id, attempt + 1, exc.orig)
                if attempt + 1 == _APPLY_ATTEMPTS:
                    raise ProtocolError("BUSY", "batch could not be applied; retry") from exc
        raise AssertionError("unreachable")

    def _alarm_seq_reuse(self, terminal_id: str, reuse: SeqReuse) -> None:
        with self.ctx.tx() as conn:
            conn.execute(models.alarms.insert().values(
                terminal_id=terminal_id, kind="SEQ_REUSE", seq=reuse.seq,
                detail=f"stored hash {reuse.stored}, uploaded {reuse.given}", created_at=self.ctx.now()))
        log.error("SEQ_REUSE from %s at seq %d", terminal_id, reuse.seq)

    def high_water(self, terminal_id: str) -> int:
        """The highest seq applied for the terminal (a read: never waits for a writer)."""
        Tm = models.terminals
        with self.ctx.reader() as conn:
            return conn.execute(select(Tm.c.high_water).where(Tm.c.id == terminal_id)).scalar_one()

    def marks(self, terminal_id: str) -> dict:
        """How far the server has this terminal: its acknowledged seq, the last ticket id it sold
        under its own id space and the highest stock number on those tickets. A terminal whose
        file lost acknowledged events (a damaged WAL, an old copy) asks, so that it never issues
        one of these numbers again."""
        Tm, Tk = models.terminals, models.tickets
        with self.ctx.reader() as conn:
            hw = conn.execute(select(Tm.c.high_water).where(Tm.c.id == terminal_id)).scalar_one()
            own = and_(Tk.c.terminal_id == terminal_id, Tk.c.channel == "terminal")
            last_ticket = conn.execute(select(func.max(Tk.c.ticket_id)).where(own)).scalar()
            last_stock = conn.execute(select(func.max(Tk.c.stock_no)).where(Tk.c.terminal_id == terminal_id)).scalar()
        return {"high_water": hw, "last_ticket_id": last_ticket, "last_stock_no": last_stock,
                "server_time": iso(self.ctx.now())}

    def _apply_batch(self, terminal_id: str, events: list[dict], *, careful: bool = False, nonce=None) -> dict:
        now = self.ctx.now()
        Tm = models.terminals
        first, last = events[0]["seq"], events[-1]["seq"]
        # Rows built before the write lock, from the events alone: only what needs the database
        # waits for the writer ahead.
        days: dict = {}
        event_rows = [(terminal_id, ev["seq"], ev["event_id"], ev["type"], ev["created_at"], ev["hash"],
                       ev["_payload_text"], self.event_day(ev, days), now) for ev in events]
        keys = DocumentKey.of(self.ctx)
        sales = prepare_sales(events, terminal_id, now, keys)
        departures = self._departures_of(events) if self.ctx.is_postgres else None
        with self.ctx.tx(departures=departures) as conn:
            # The terminal's row locked: two copies of one batch (a retry racing its first try) apply in turn.
            # The province's rules version comes with it: the batch's prices are checked by rules this
            # process already holds while it stands (authz), not read again for every batch.
            hw, rules_version = conn.execute(
                select(Tm.c.high_water, func.coalesce(_RULES_VERSION, ""))
                .where(Tm.c.id == terminal_id).with_for_update(of=Tm)).one()
            if nonce is not None:
                self.auth.record_nonce_in(conn, terminal_id, nonce, now, seen=False)
            duplicates = self._acknowledge_duplicates(conn, terminal_id, events, hw)
            fresh = events[duplicates:]
            if fresh and fresh[0]["seq"] != hw + 1:
                raise ProtocolError("SEQ_GAP", expected_seq=hw + 1, got_seq=fresh[0]["seq"])
            ctx = BatchContext(conn, terminal_id, now, sales, keys=keys, rules=(self.ctx.rules_cache, rules_version))
            ctx.prefetch(fresh, known_ids=careful)
            _apply_events(ctx, fresh)
            rows = event_rows[duplicates:]  # the fresh events are the batch's tail
            if rows:
                dbmod.BulkInsert.run_tuples(conn, models.events, EVENT_COLUMNS, rows)
                hw = fresh[-1]["seq"]
            if rows or nonce is not None:
                values = {"high_water": hw} if rows else {}
                if nonce is not None:  # a signed request: the terminal was seen now
                    values["last_seen_at"] = now
                conn.execute(Tm.update().where(Tm.c.id == terminal_id).values(**values))
            ctx.finish()
            # Conflicts of these seqs exist only if this batch recorded some or it resends old events.
            found = _conflicts_of_seqs(conn, terminal_id, first, last) if (duplicates or ctx.conflicts) else []
        for seq, reason, detail in ctx.refused:
            log.warning("refused event %d of %s (%s): %s", seq, terminal_id, reason, detail)
        return {
            "acked_through": hw,
            "applied": len(rows),
            "duplicates": duplicates,
            "conflicts": [conflict_dict(c) for c in found],
            "server_time": iso(now),
        }

    def _departures_of(self, events: list[dict]) -> list[str] | None:
        """Every departure whose seats or tickets the batch may touch, for ``ServerContext.tx``: those
        its sales name, and those of the tickets it refunds, voids, changes, reprints or picks up (a
        ticket's departure never changes). None -- the whole database held -- for a batch with any
        other kind of event (the gate's, a departure's action: rare, and they reach further)."""
        deps: set[str] = set()
        referenced: set[str] = set()
        for ev in events:
            kind, p = ev["type"], ev["payload"]
            if kind in _TERMINAL_ONLY:
                continue
            if kind not in _TICKET_EVENTS:
                return None
            for t in (p.get("tickets") if kind == "ticket.sold" else [p.get("new_ticket")]) or ():
                if t is None and kind == "ticket.changed":
                    continue
                if not isinstance(t, dict) or not isinstance(t.get("departure_id"), str):
                    return None
                deps.add(t["departure_id"])
            ref = p.get("old_ticket_id" if kind == "ticket.changed" else "ticket_id")
            if kind != "ticket.sold":
                if not isinstance(ref, str):
                    return None
                referenced.add(ref)
        if referenced:
            Tk = models.tickets
            with self.ctx.reader() as conn:
                ids = sorted(referenced)
                for i in range(0, len(ids), 500):
                    deps.update(conn.execute(select(Tk.c.departure_id)
                                             .where(Tk.c.ticket_id.in_(ids[i:i + 500]))).scalars())
        return sorted(deps)

    @staticmethod
    def _acknowledge_duplicates(conn, terminal_id: str, events: list[dict], hw: int) -> int:
        """How many of the batch's events the server has already (a resend whose answer was lost);
        one with another hash under a seq already applied is a SEQ_REUSE."""
        first, last = events[0]["seq"], events[-1]["seq"]
        if first > hw:
            return 0
        E = models.events
        stored = dict(conn.execute(
            select(E.c.seq, E.c.hash).where(E.c.terminal_id == terminal_id, E.c.seq.between(first, min(last, hw)))
        ).all())
        duplicates = 0
        for ev in events:
            if ev["seq"] > hw:
                break
            if stored.get(ev["seq"]) != ev["hash"]:
                raise SeqReuse(ev["seq"], stored.get(ev["seq"]), ev["hash"], hw + 1)
            duplicates += 1
        return duplicates

    def event_day(self, ev: dict, memo: dict | None = None) -> str:
        """The local day an event's operation happened on (reconciliation is by day)."""
        field_name = OP_TIME_FIELD.get(ev["type"])
        text = ev["payload"].get(field_name) if field_name else None
        if memo is not None and type(text) is str and len(text) > 17 and text[-1] == "Z" and text[16] == ":":
            # A UTC instant's local day is fixed within its minute (zone offsets change on whole
            # minutes), and a batch's operations fall in a few minutes: parse each minute once.
            day = memo.get(text[:16])
            if day is not None:
                return day
            try:
                day = memo[text[:16]] = self.ctx.local_day(parse_instant(text))
                return day
            except ValueError:
                pass
        for candidate in (text, ev["created_at"]):
            try:
                return self.ctx.local_day(parse_instant(candidate))
            except (TypeError, ValueError, AttributeError):
                continue
        return self.ctx.local_day(self.ctx.now())


def _apply_events(ctx: BatchContext, fresh: list[dict]) -> None:
    for ev in fresh:
        try:
            ctx.apply(ev)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # A payload without the shape docs/architecture.md gives: refuse the batch
            # (rolled back) and say which event, instead of a bare 500 retried forever.
            raise ProtocolError("INVALID_REQUEST", f"event {ev['seq']} ({ev['type']}): payload not "
                                f"as documented: {type(exc).__name__}: {exc}", seq=ev["seq"]) from None


def _conflicts_of_seqs(conn, terminal_id: str, first: int, last: int) -> list:
    C = models.conflicts
    return conn.execute(
        select(C).where(C.c.terminal_id == terminal_id, C.c.seq.between(first, last)).order_by(C.c.id)
    ).all()
