"""Engine set-up for the reference server: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from sync.server import models

READ_ONLY = "kezhan_read_only"


def normalise_url(db: str) -> str:
    """A bare path means an SQLite file; anything with ``://`` is an SQLAlchemy URL."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def make_engine(db: str) -> Engine:
    url = make_url(normalise_url(db))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)

    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own would be DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if url.database and url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: a batch that reads seat state and then
        # writes can never be overtaken between its read and its write (no SQLITE_BUSY
        # upgrade deadlock either — the second writer simply waits for the busy timeout).
        # Readers (feed pulls, exports) take a plain snapshot and never wait for writers.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def init_schema(engine: Engine) -> bool:
    """Create what is missing. Returns True when the database was empty (fresh epoch)."""
    models.metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(models.meta.c.value).where(models.meta.c.key == "epoch")).first()
        if row is not None:
            return False
        conn.execute(
            models.meta.insert(),
            [
                # The epoch names this database: a cursor from another database (or from before
                # a rebuild) carries another epoch and is answered with a snapshot.
                {"key": "epoch", "value": secrets.token_hex(4)},
                {"key": "feed_floor", "value": "0"},
                {"key": "schema_version", "value": models.SCHEMA_VERSION},
            ],
        )
        return True


def get_meta(conn, key: str, default: str | None = None) -> str | None:
    row = conn.execute(select(models.meta.c.value).where(models.meta.c.key == key)).first()
    return row[0] if row else default


def set_meta(conn, key: str, value: str) -> None:
    updated = conn.execute(models.meta.update().where(models.meta.c.key == key).values(value=value))
    if updated.rowcount == 0:
        conn.execute(models.meta.insert().values(key=key, value=value))
