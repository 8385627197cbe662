"""What every part of the server shares: the database, its transactions, the clock and the zone."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sync.server import db as dbmod
from sync.server.clock import utcnow
from sync.server.settings import Settings


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

    def now(self) -> datetime:
        return self.clock()

    @contextlib.contextmanager
    def tx(self):
        """One write transaction; one operation of the protocol is one of these."""
        with self._writer, self.engine.begin() as conn:
            if self.is_postgres:
                # Feed ids must become visible in id order, or a reader's cursor could pass an
                # id whose transaction had not committed yet; one writer at a time ensures it.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7242001)")
            yield conn

    @contextlib.contextmanager
    def tx_outside_feed(self):
        """A write transaction that publishes nothing to the feed (a signed request's nonce): on
        PostgreSQL it need not queue for the feed's order lock behind every other process's writes;
        on SQLite it is a write like any other."""
        with self._writer, self.engine.begin() as conn:
            yield conn

    def reader(self):
        """A connection for reading only (on SQLite: no write lock, a consistent snapshot)."""
        return self.engine.connect().execution_options(**{dbmod.READ_ONLY: True})

    def local_day(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).date().isoformat()

    def close(self) -> None:
        self.engine.dispose()
