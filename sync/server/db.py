"""Engine set-up for the reference server: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import itertools
import operator
import secrets
import sqlite3
import threading
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from sync.protocol import ProtocolError
from sync.server import models

READ_ONLY = "kezhan_read_only"
_MULTI_ROW_MAX = 500


def _variable_limit(conn) -> int:
    dbapi = conn.connection.dbapi_connection
    try:
        return dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):  # not the stdlib driver: SQLite's lowest default
        return 999


def normalise_url(db: str) -> str:
    """A bare path means an SQLite file; anything with ``://`` is an SQLAlchemy URL."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def make_engine(db: str) -> Engine:
    url = make_url(normalise_url(db))
    if url.get_backend_name() != "sqlite":
        # No ping before each checkout: it is a round trip on every call. A connection the database
        # dropped (a restart) fails its next statement; SQLAlchemy then discards the pool, that call
        # answers 5xx and the terminal's retry gets a fresh connection.
        return create_engine(url, pool_size=16, max_overflow=8, pool_recycle=1800)

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


class WriterLock:
    """One writer at a time on an SQLite file, handed over the moment it is released.

    SQLite orders writers by itself, but a writer that finds its lock taken polls with sleeps of
    1, 2, 5, 10 ms and more, so under load each queued batch starts late. This lock is taken before
    ``BEGIN IMMEDIATE``: a thread lock within the process, handed over at once, and a ``filelock``
    on ``<database>.writer-lock`` across the processes that write the same file (upload workers, the
    CLI's admin commands), polled every half millisecond. Re-entrant in one thread. A holder that
    never lets go (a hung process) makes the others give up after ``timeout`` seconds, as SQLite's
    own busy timeout would: BUSY, and the terminal retries."""

    def __init__(self, path: Path | None, timeout: float = 30.0):
        self._thread_lock = threading.RLock()
        self._timeout = timeout
        # thread_local=False: the thread lock already lets one thread of this process at a time in.
        self._file = None if path is None else FileLock(path, thread_local=False)
        self._held: list[bool] = []  # per nesting level: whether this level took the file lock

    def __enter__(self):
        if not self._thread_lock.acquire(timeout=self._timeout):
            raise ProtocolError("BUSY", "the database is held by another writer; retry")
        try:
            self._held.append(self._lock_file() if not self._held else False)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def _lock_file(self) -> bool:
        if self._file is None:
            return False
        try:
            self._file.acquire(timeout=self._timeout, poll_interval=0.0005)
        except Timeout:
            raise ProtocolError("BUSY", "the database is held by another writer; retry") from None
        except OSError:  # a read-only folder: SQLite's own lock still orders the writers
            return False
        return True

    def __exit__(self, *exc):
        try:
            if self._held.pop():
                self._file.release()
        finally:
            self._thread_lock.release()


def writer_lock(engine: Engine):
    """The lock ``ServerContext.tx`` takes around every write transaction: ``WriterLock`` for an
    SQLite file, none elsewhere (PostgreSQL orders its writers with an advisory lock)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return contextlib.nullcontext()
    if not url.database or url.database == ":memory:":
        return WriterLock(None)
    return WriterLock(Path(url.database + ".writer-lock"))


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


def _convert_column(rows: list, at, convert) -> None:
    """Apply a bind processor to column ``at`` (a list index or a dict key) of every row, in place."""
    # A batch stamps every row with the same instant: convert each distinct value once.
    # Keyed by type too, so True and 1 (equal, same hash) are never confused.
    done: dict = {}
    for r in rows:
        v = r[at]
        memo = (v.__class__, v)
        out = done.get(memo, done)
        if out is done:
            out = done[memo] = convert(v)
        r[at] = out


class BulkInsert:
    """An INSERT for many rows straight through the driver's executemany.

    SQLAlchemy's own executemany builds a parameter dict per row through its compiler, which on a
    backlog drain costs as much as the database's work. This compiles the statement once per
    dialect and set of columns and applies the columns' bind processors (the public
    ``TypeEngine.bind_processor``) itself, so the values stored are exactly the same.
    """

    _cache: dict = {}

    def __init__(self, table, keys: tuple[str, ...], dialect):
        compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        self.positional = compiled.positional
        self.order = tuple(compiled.positiontup) if compiled.positional else keys
        self.procs = [(k, table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in keys]
        self.procs = [(k, f) for k, f in self.procs if f is not None]
        # SQLite: many rows per INSERT statement. The sqlite3 module releases the interpreter lock
        # around each statement step, and executemany steps once per row: a thread running Python
        # meanwhile (the next batch's checks, the event loop) makes every row wait for the lock
        # back, up to the switch interval each. One step for hundreds of rows waits once.
        self.multi_row = None
        if dialect.name == "sqlite" and self.positional and " VALUES " in self.sql:
            head, row = self.sql.rsplit(" VALUES ", 1)
            self.multi_row = (head + " VALUES ", row)
            self._multi_sql: dict[int, str] = {}

    def run_multi_row(self, conn, params) -> None:
        head, row = self.multi_row
        # The connection's own limit on bound values: 32766 since SQLite 3.32, 999 before, and
        # whatever a build set.
        per = max(1, min(_MULTI_ROW_MAX, _variable_limit(conn) // len(self.order)))
        chain = itertools.chain.from_iterable
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            sql = self._multi_sql.get(len(chunk))
            if sql is None:
                sql = self._multi_sql[len(chunk)] = head + ",".join([row] * len(chunk))
            conn.exec_driver_sql(sql, tuple(chain(chunk)))

    @classmethod
    def _for(cls, table, keys: tuple[str, ...], dialect) -> BulkInsert:
        key = (table.name, keys, dialect.name)
        op = cls._cache.get(key)
        if op is None:
            op = cls._cache[key] = cls(table, keys, dialect)
        return op

    @classmethod
    def run_tuples(cls, conn, table, keys: tuple[str, ...], rows: list[tuple]) -> None:
        """The same for rows given as tuples in ``keys`` order: the hot paths build those directly
        rather than a dict per row only to pick it apart again."""
        if not rows:
            return
        op = cls._for(table, keys, conn.dialect)
        if op.procs:
            rows = [list(r) for r in rows]
            for k, f in op.procs:
                _convert_column(rows, keys.index(k), f)
            rows = [tuple(r) for r in rows]
        if not op.positional:
            params = [dict(zip(keys, r, strict=True)) for r in rows]
        elif op.order == keys:
            params = rows
        else:
            pick = operator.itemgetter(*[keys.index(k) for k in op.order])
            params = [pick(r) for r in rows] if len(keys) > 1 else [(pick(r),) for r in rows]
        if op.multi_row is not None and len(params) > 1:
            op.run_multi_row(conn, params)
        else:
            conn.exec_driver_sql(op.sql, params)

    @classmethod
    def run(cls, conn, table, rows: list[dict]) -> None:
        if not rows:
            return
        keys = tuple(rows[0])
        op = cls._for(table, keys, conn.dialect)
        if op.procs:
            rows = [dict(r) for r in rows]
            for k, f in op.procs:
                _convert_column(rows, k, f)
        if op.positional:
            pick = operator.itemgetter(*op.order)
            params = [pick(r) for r in rows] if len(op.order) > 1 else [(pick(r),) for r in rows]
        else:
            params = rows
        conn.exec_driver_sql(op.sql, params)
