"""The change feed: every change a terminal may need, in one ordered log, read after a cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, text

from app.domain.stock import parse_terminal_id
from sync import protocol
from sync.server import models
from sync.server.db import BulkInsert, get_meta, set_meta

T = models.changes
# conn.info key of the rows a PostgreSQL write transaction holds back until just before its commit
# (ServerContext.tx); where it is absent, rows are written at once.
BUFFER = "kezhan_feed_rows"
_FEED_COLUMNS = ("kind", "key", "scope", "deleted", "data", "at")
# The string encoder canonical JSON uses (ensure_ascii off), so hand-written rows match it byte for byte.
_str = json.encoder.encode_basestring


def _text(data) -> str | None:
    return None if data is None else protocol.canonical_json(data).decode("utf-8")


def publish(conn, kind: str, key: str, data, *, at: datetime, scope: str | None = None) -> None:
    insert_rows(conn, [(kind, key, scope, False, _text(data), at)])


def tombstone(conn, kind: str, key: str, *, at: datetime, scope: str | None = None) -> None:
    insert_rows(conn, [(kind, key, scope, True, None, at)])


def publish_many(conn, rows: list[dict], *, at: datetime) -> None:
    """rows: {kind, key, data | text, scope?, deleted?}; ``text`` is data already encoded."""
    if not rows:
        return
    # Tuples in column order: an upload publishes a row per sold seat, and a dict per row only to
    # be picked apart again by the driver's executemany costs as much as building the row.
    insert_rows(conn, [
        (r["kind"], r["key"], r.get("scope"), bool(r.get("deleted")),
         None if r.get("deleted") else (r["text"] if "text" in r else _text(r["data"])), at)
        for r in rows
    ])


def row(kind: str, key: str, data, *, at: datetime, scope: str | None = None) -> tuple:
    """A feed row as ``insert_rows`` takes it (``data`` None is a tombstone)."""
    return (kind, key, scope, data is None, _text(data), at)


def insert_rows(conn, rows: list[tuple]) -> None:
    """Rows made by ``row`` (or in its column order), in one bulk insert (or held back, ``BUFFER``)."""
    if not rows:
        return
    held = conn.info.get(BUFFER)
    if held is not None:
        held.extend(rows)
        return
    BulkInsert.run_tuples(conn, T, _FEED_COLUMNS, rows)


# PostgreSQL: the held-back rows of a transaction in one statement that first takes the feed-order
# lock (``lock``), so the ids are drawn under it, in the rows' order; the lock is then held only for
# this statement and the commit that follows.
_ORDERED_INSERT = text(
    "INSERT INTO changes (kind, key, scope, deleted, data, at) "
    "SELECT r.kind, r.key, r.scope, r.deleted, r.data, r.at "
    "FROM (SELECT pg_advisory_xact_lock(:lock)) AS l, "
    "unnest(CAST(:kind AS varchar[]), CAST(:key AS varchar[]), CAST(:scope AS varchar[]), "
    "CAST(:deleted AS boolean[]), CAST(:data AS text[]), CAST(:at AS timestamp[])) "
    "WITH ORDINALITY AS r(kind, key, scope, deleted, data, at, n) ORDER BY r.n")


def insert_in_order(conn, rows: list[tuple], lock: int) -> None:
    """Rows in ``_FEED_COLUMNS`` order, inserted on PostgreSQL under the advisory lock ``lock``."""
    naive = [r[5].astimezone(UTC).replace(tzinfo=None) for r in rows]
    conn.execute(_ORDERED_INSERT, {
        "lock": lock, "kind": [r[0] for r in rows], "key": [r[1] for r in rows], "scope": [r[2] for r in rows],
        "deleted": [bool(r[3]) for r in rows], "data": [r[4] for r in rows], "at": naive})


def sold_seat_text(departure_id: str, seat_no: int, channel: str, terminal_id: str | None, ticket_id: str) -> str:
    """The canonical JSON of a sold seat's feed row, written out directly: an upload publishes
    one per ticket, and the general encoder (dict, sort, encode) costs several times more."""
    if type(seat_no) is not int or not all(type(v) is str for v in (departure_id, channel, ticket_id)) \
            or not (terminal_id is None or type(terminal_id) is str):
        return _text({"departure_id": departure_id, "seat_no": seat_no, "state": "sold", "channel": channel,
                      "terminal_id": terminal_id, "ticket_id": ticket_id})
    return (f'{{"channel":{_str(channel)},"departure_id":{_str(departure_id)},"seat_no":{seat_no},'
            f'"state":"sold","terminal_id":{"null" if terminal_id is None else _str(terminal_id)},'
            f'"ticket_id":{_str(ticket_id)}}}')


def scopes_of(terminal_id: str) -> tuple[str, ...]:
    """The scopes a terminal reads beside the province-wide rows: its own, and its station's (the
    passenger data of the departures leaving from there, ``gate.station_scope``)."""
    try:
        station, _ = parse_terminal_id(terminal_id)
    except ValueError:
        return (terminal_id,)
    return (terminal_id, f"station:{station}")


def pull(conn, terminal_id: str, cursor: str | None, limit: int) -> dict:
    """One page of the feed, its changes as one JSON text (``changes_json``)."""
    # The epoch, the floor and the head in one round trip: a pull is the commonest call there is.
    M = models.meta
    epoch, floor, head = conn.execute(select(
        select(M.c.value).where(M.c.key == "epoch").scalar_subquery(),
        select(M.c.value).where(M.c.key == "feed_floor").scalar_subquery(),
        select(func.coalesce(func.max(T.c.id), 0)).scalar_subquery(),
    )).one()
    floor = int(floor or "0")
    parsed = protocol.parse_cursor(cursor)
    reason = _reset_reason(cursor, parsed, epoch, floor, head)
    reset = reason is not None
    after = 0 if reset else parsed[1]
    in_snapshot = reset or (parsed is not None and parsed[2] is not None)

    rows = conn.execute(
        select(T.c.id, T.c.kind, T.c.key, T.c.deleted, T.c.data)
        .where(and_(T.c.id > after, or_(T.c.scope.is_(None), T.c.scope.in_(scopes_of(terminal_id)))))
        .order_by(T.c.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        last = rows[-1].id
    else:
        # Past the head, so rows scoped to other terminals are not read again next time.
        last = max(head, rows[-1].id if rows else after)
    # Below the floor only a snapshot's own continuation cursor can go on.
    snapshot_floor = floor if (in_snapshot and last < floor) else None
    head_fields = {
        "cursor": protocol.format_cursor(epoch, last, snapshot_floor),
        "reset": reset,
        "reset_reason": reason,
        "more": more,
    }
    return {**head_fields, "changes_json": _changes_json(rows)}


def _reset_reason(cursor: str | None, parsed, epoch: str, floor: int, head: int) -> str | None:
    """Why a pull must start again from a full snapshot, or None when the cursor can go on."""
    if parsed is None:
        return "no cursor" if not cursor else "unreadable cursor"
    if parsed[0] != epoch:
        return "cursor from another server database"
    if parsed[2] is not None and parsed[2] != floor:
        return "snapshot interrupted by compaction"
    if parsed[2] is None and parsed[1] < floor:
        return "cursor older than the feed keeps"
    if parsed[1] > head:
        return "cursor ahead of the feed"
    return None


def _changes_json(rows) -> str:
    # The stored data is canonical JSON already: splice it in rather than decode and
    # re-encode every row (the initial pull of a large station is tens of thousands of rows).
    # encode_basestring is what json.dumps(text, ensure_ascii=False) calls, without its set-up per value.
    dump = _str
    parts = [
        f'{{"id":{int(r.id)},"kind":{dump(r.kind)},"key":{dump(r.key)},'
        f'"deleted":{"true" if r.deleted else "false"},"data":{"null" if r.data is None else r.data}}}'
        for r in rows
    ]
    return "[" + ",".join(parts) + "]"


def compact(conn, now: datetime, tombstone_retention: timedelta) -> dict:
    """Drop rows a later row for the same key supersedes, then tombstones older than the
    retention; a cursor from before the newest dropped tombstone can no longer be served
    incrementally (it would miss a deletion), so the floor rises to it."""
    latest = select(func.max(T.c.id)).group_by(T.c.kind, T.c.key, T.c.scope).scalar_subquery()
    superseded = conn.execute(delete(T).where(T.c.id.not_in(latest))).rowcount
    cutoff = now - tombstone_retention
    top = conn.execute(
        select(func.max(T.c.id)).where(and_(T.c.deleted.is_(True), T.c.at < cutoff))
    ).scalar_one()
    purged = 0
    floor = int(get_meta(conn, "feed_floor", "0"))
    if top is not None:
        purged = conn.execute(delete(T).where(and_(T.c.deleted.is_(True), T.c.id <= top))).rowcount
        floor = max(floor, int(top))
        set_meta(conn, "feed_floor", str(floor))
    return {"superseded": superseded, "tombstones_purged": purged, "floor": floor}
