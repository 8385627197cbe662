"""What every part of the server shares: the database, its transactions, the clock and the zone."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from sync.server import db as dbmod
from sync.server import feed
from sync.server.authz import RulesCache
from sync.server.clock import utcnow
from sync.server.settings import Settings

# PostgreSQL advisory lock keys (docs/scale.md § Writers side by side).
FEED_ORDER_LOCK = 7242001  # held from a transaction's feed rows to its commit
ALL_LOCK = 7242002  # exclusive: a writer that names no departures; shared: one that does
DEPARTURE_LOCKS = 7242003  # with a departure's key: the writers of that departure's seats
_LOCK_ALL = text("SELECT pg_advisory_xact_lock(:all)")
_LOCK_DEPARTURES = text(
    "SELECT pg_advisory_xact_lock_shared(:all), "
    "(SELECT count(pg_advisory_xact_lock(:ns, k)) FROM (SELECT unnest(CAST(:keys AS integer[])) AS k ORDER BY 1) AS s)")


def departure_lock_key(departure_id: str) -> int:
    """A departure's advisory lock key (two departures sharing one only wait for each other)."""
    return zlib.crc32(str(departure_id).encode("utf-8")) - 2**31


class ServerContext:
    def __init__(self, db_url: str, *, settings: Settings | None = None, clock: Callable[[], datetime] = utcnow):
        self.settings = settings or Settings()
        self.zone = ZoneInfo(self.settings.zone)
        self.clock = clock
        self.engine = dbmod.make_engine(db_url)
        self.fresh = dbmod.init_schema(self.engine)
        self._writer = dbmod.writer_lock(self.engine)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.document_keys = None  # documents.DocumentKeys, once documents.DocumentKey has loaded them
        self.rules_cache = RulesCache()  # the province's prices while its rules version stands (authz)

    def now(self) -> datetime:
        return self.clock()

    @contextlib.contextmanager
    def tx(self, *, departures: Iterable[str] | None = None):
        """One write transaction; one operation of the protocol is one of these.

        On SQLite one writer at a time, whatever it writes. On PostgreSQL (several server processes
        on one database) writers run side by side where they cannot meet: a transaction that names
        the ``departures`` whose seats, leases and tickets it reads and changes holds those
        departures (an advisory lock each, taken together in one order, so two never wait on each
        other crosswise) and shares the whole-database lock; one that names none holds the
        whole-database lock alone, as every writer did before. The feed's rows are held back to the
        end and written under the feed's own short lock just before the commit (``feed.BUFFER``):
        feed ids must become visible in id order, or a reader's cursor could pass an id whose
        transaction had not committed yet."""
        with self._writer, self.engine.begin() as conn:
            if not self.is_postgres:
                yield conn
                return
            if departures is None:
                conn.execute(_LOCK_ALL, {"all": ALL_LOCK})
            else:
                keys = sorted({departure_lock_key(d) for d in departures})
                conn.execute(_LOCK_DEPARTURES, {"all": ALL_LOCK, "ns": DEPARTURE_LOCKS, "keys": keys})
            conn.info[feed.BUFFER] = []
            try:
                yield conn
                rows = conn.info.pop(feed.BUFFER)
                if rows:
                    feed.insert_in_order(conn, rows, FEED_ORDER_LOCK)
            finally:
                conn.info.pop(feed.BUFFER, None)

    @contextlib.contextmanager
    def tx_outside_feed(self):
        """A write transaction that publishes nothing to the feed (a signed request's nonce): on
        PostgreSQL it need not queue for the feed's order lock behind every other process's writes;
        on SQLite it is a write like any other."""
        with self._writer, self.engine.begin() as conn:
            yield conn

    def reader(self):
        """A connection for reading only. On SQLite: no write lock, one consistent snapshot. On
        PostgreSQL: autocommit, each statement its own snapshot -- what READ COMMITTED gave anyway,
        without a BEGIN and a ROLLBACK around it (two round trips of a one-query read)."""
        conn = self.engine.connect()
        if self.is_postgres:
            return conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execution_options(**{dbmod.READ_ONLY: True})

    @contextlib.contextmanager
    def single_write(self):
        """For one statement that is a whole change on its own (a nonce, an idempotency key's claim):
        on PostgreSQL it commits by itself, with no feed lock and no BEGIN/COMMIT round trips; on
        SQLite it is a write transaction like any other."""
        if not self.is_postgres:
            with self.tx_outside_feed() as conn:
                yield conn
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def local_day(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).date().isoformat()

    def close(self) -> None:
        self.engine.dispose()
