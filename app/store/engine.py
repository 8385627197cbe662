"""Opening the terminal's SQLite file, and migrating it.

One place sets the connection pragmas (WAL, ``synchronous=FULL``, foreign keys, busy timeout), so a
commit is durable the moment it returns and a sale survives a power cut. Write transactions start
with ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing half-way.

:func:`migrate` is the only way a schema changes. It refuses files that are not ours (not SQLite,
another program's SQLite, a newer Kezhan's schema, a damaged file) with a :class:`StorageError` and
touches nothing; before applying any migration to an existing file it copies the file to the
backups folder with SQLite's online backup API.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from app import paths
from app.errors import KezhanError, StorageError

log = logging.getLogger("kezhan.store")

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision id. Opening a current file compares its alembic_version with this
# and never imports Alembic (a sixth of the window's start-up); Alembic is loaded only when a
# migration is due or the file's revision is not this one. tests/integration/store/
# test_store_migrations.py fails when a new migration lands without this line moving with it.
SCHEMA_HEAD = "0010"


def _is_head(revision: str | None) -> bool:
    """True when ``revision`` is the newest schema, told without Alembic. The versions folder is
    listed too (names start with the revision id), so a constant left behind by a new migration
    only costs the fast path — the file is still migrated."""
    if revision is None or revision != SCHEMA_HEAD:
        return False
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    return bool(names) and names[-1].startswith(f"{SCHEMA_HEAD}_")


@dataclass
class Database:
    path: Path
    engine: Engine
    sessions: sessionmaker[Session]  # reads: deferred BEGIN
    writes: sessionmaker[Session]  # writes: BEGIN IMMEDIATE
    # writes committed with synchronous=NORMAL: durable against a crash of the program at once,
    # against a power loss once flush() has run (the gate's checks: docs/gate.md § Durability)
    writes_flush_later: sessionmaker[Session] | None = None
    # write_cursor's connection, kept checked out of the pool between transactions: the pool's
    # check-out and check-in (some 20 µs) were a tenth of a gate scan. The lock keeps a second
    # thread off it while one uses it; that thread takes a pooled connection as before.
    _kept: object = field(default=None, init=False, repr=False, compare=False)
    _kept_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            try:
                yield session
            except (sa_exc.DBAPIError, sqlite3.Error) as exc:
                raise storage_error(exc, self.path) from None

    @contextmanager
    def transaction(self, *, flush_later: bool = False) -> Iterator[Session]:
        """One write transaction: commit on success; roll back on any error. Database failures
        (disk full, damaged file, locked too long) become a StorageError saying which.

        The commit is durable (``synchronous=FULL``: the WAL is synced before COMMIT returns) unless
        ``flush_later``: then it is committed with ``synchronous=NORMAL`` — other connections see it
        and a crash of the program keeps it (the operating system holds the WAL), but a power loss
        before the next :meth:`flush` (or the next durable commit, or a checkpoint) may lose it.
        Only a caller that shows its result first and calls :meth:`flush` right after may ask for it."""
        maker = self.writes_flush_later if flush_later and self.writes_flush_later is not None else self.writes
        session = maker()
        try:
            yield session
            session.commit()
        except KezhanError:
            session.rollback()
            raise
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            _quiet_rollback(session)
            raise storage_error(exc, self.path) from None
        except BaseException:
            _quiet_rollback(session)
            raise
        finally:
            session.close()

    @contextmanager
    def write_cursor(self, *, flush_later: bool = False) -> Iterator[sqlite3.Cursor]:
        """One write transaction as :meth:`transaction` makes it, on a connection's own sqlite3
        cursor, without an ORM session: for the gate's scan, where the session's bookkeeping
        (some 50 µs) was a third of the verdict's time, and the sync worker's small writes. Same
        rules: BEGIN IMMEDIATE, commit on success, roll back on any error, database failures as a
        StorageError."""
        with self._held() as fairy:
            yield from self._write(fairy, flush_later)

    @contextmanager
    def read_cursor(self) -> Iterator[sqlite3.Cursor]:
        """One read as :meth:`read` makes it (one snapshot: BEGIN DEFERRED, then ROLLBACK), on a
        connection's own sqlite3 cursor. The sync worker reads a dozen small things a cycle; a
        session's engine connection, events and pool check-out around each cost the terminal more
        than the reads themselves."""
        with self._held() as fairy:
            con = fairy.driver_connection
            try:
                con.execute("BEGIN")
                cur = con.cursor()
                try:
                    yield cur
                finally:
                    cur.close()
                    if con.in_transaction:
                        con.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise storage_error(exc, self.path) from None

    @contextmanager
    def _held(self):
        """The kept connection (see ``_kept``) when no other thread is on it, else a pooled one.
        A kept connection whose user failed -- a database error, or a failure of an unknown kind
        -- goes back to the pool, which checks it, rather than being used again as it is."""
        if not self._kept_lock.acquire(blocking=False):
            with self._pooled() as fairy:
                yield fairy
            return
        try:
            if self._kept is None:
                self._kept = self._checkout()
            fairy = self._kept
            ok = False
            try:
                yield fairy
                ok = True
            except KezhanError as exc:
                ok = not isinstance(exc, StorageError)
                raise
            finally:
                if not ok:
                    self._kept = None
                    fairy.close()
        finally:
            self._kept_lock.release()

    def _checkout(self):
        try:
            return self.engine.raw_connection()
        except (sa_exc.DBAPIError, sqlite3.Error) as exc:
            raise storage_error(exc, self.path) from None

    @contextmanager
    def _pooled(self):
        fairy = self._checkout()
        try:
            yield fairy
        finally:
            fairy.close()

    def _write(self, fairy, flush_later: bool) -> Iterator[sqlite3.Cursor]:
        con = fairy.driver_connection
        try:
            _set_level(con, fairy.info, "NORMAL" if flush_later else None)
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from None
        cur = con.cursor()
        try:
            yield cur
            con.execute("COMMIT")
        except KezhanError:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        except sqlite3.Error as exc:
            _quiet_raw_rollback(con)
            raise storage_error(exc, self.path) from None
        except BaseException:
            _quiet_raw_rollback(con)
            raise
        finally:
            cur.close()

    def flush(self) -> None:
        """Make every commit so far durable against a power loss: the WAL file synced to the disk
        (what a ``synchronous=FULL`` commit does before it returns). SQLite's own ways do not fit:
        ``PRAGMA wal_checkpoint`` syncs only when it can copy frames (a reader's snapshot may hold
        them back) and writes the pages twice; a durable empty commit writes nothing, so syncs
        nothing. The file is opened for writing and closed at once; its cache is the file's, not
        the handle's, so fdatasync (FlushFileBuffers on Windows, which needs write access) writes out
        what SQLite's own handle wrote. SQLite opens it sharing read and write, as ``os.open`` does
        on Windows, and neither asks for delete access, so the two handles do not conflict. A
        missing WAL was checkpointed and removed, and the checkpoint synced the database file."""
        wal = f"{self.path}-wal"
        try:
            fd = os.open(wal, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error(exc, self.path) from None
        try:
            # What SQLite's own sync calls on Linux: the data and the size, not the times.
            (getattr(os, "fdatasync", None) or os.fsync)(fd)
        except OSError as exc:
            raise storage_error(exc, self.path) from None
        finally:
            os.close(fd)

    def dispose(self) -> None:
        with self._kept_lock:
            kept, self._kept = self._kept, None
        if kept is not None:
            kept.close()
        self.engine.dispose()


def raw_cursor(session: Session):
    """The sqlite3 cursor of the session's connection, inside the transaction the session holds: the
    counter's hot path and the bulk loaders write through it, a dozen statements for one fsync."""
    return session.connection().connection.dbapi_connection.cursor()


def _quiet_raw_rollback(con: sqlite3.Connection) -> None:
    try:
        if con.in_transaction:
            con.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # as in _quiet_rollback


def _quiet_rollback(session: Session) -> None:
    try:
        session.rollback()
    except (sa_exc.DBAPIError, sqlite3.Error):
        # A full disk can fail the rollback's own journal write; SQLite has already undone the
        # transaction by then, and the caller is about to hear about the first error.
        pass


# What a technician is told, by the first of these phrases found in SQLite's message (lower case):
# (phrases, code, Chinese, English); ``{path}`` is the database file, ``{text}`` SQLite's own words.
_STORAGE_FAILURES = (
    (
        ("database or disk is full",),
        "DISK_FULL",
        "磁盘已满，操作未保存（已回滚）：{path}",
        "the disk is full; nothing was saved (rolled back): {path}",
    ),
    (
        ("malformed", "not a database", "file is encrypted"),
        "DB_CORRUPT",
        "数据库文件已损坏：{path}。请用 kezhan db restore 从备份恢复。",
        "the database file is damaged: {path}. Restore a backup with `kezhan db restore`.",
    ),
    (
        ("locked", "busy"),
        "DB_LOCKED",
        "数据库被其他程序占用：{path}",
        "the database is locked by another program: {path}",
    ),
    (
        ("readonly", "unable to open", "disk i/o"),
        "DB_IO",
        "无法写入数据库文件：{path}（{text}）",
        "cannot write the database file: {path} ({text})",
    ),
)


def storage_error(exc: BaseException, path: Path | str) -> StorageError:
    """Turn a sqlite3 / SQLAlchemy database error into a message a technician can act on."""
    orig = getattr(exc, "orig", exc)
    text = str(orig)
    low = text.lower()
    # A full disk is known by its error name too, whatever the message's wording.
    full = getattr(orig, "sqlite_errorname", "") == "SQLITE_FULL"
    for phrases, code, zh, en in _STORAGE_FAILURES:
        if any(phrase in low for phrase in phrases) or (full and code == "DISK_FULL"):
            return StorageError(zh.format(path=path, text=text), en=en.format(path=path, text=text), code=code)
    return StorageError(
        f"数据库错误：{text}（{path}）", en=f"database error: {text} ({path})", code="DB_ERROR"
    )


def _set_pragmas(extra: dict[str, object] | None):
    def on_connect(dbapi_connection, record):
        # Take transaction control away from the sqlite3 module: the "begin" hook below issues BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        for key, value in (extra or {}).items():
            cursor.execute(f"PRAGMA {key} = {value}")
        cursor.close()
        # The connection's own level: a transaction that asks for another sets it back after it.
        level = str((extra or {}).get("synchronous", "FULL")).upper()
        record.info["synchronous_default"] = record.info["synchronous"] = level

    return on_connect


def _begin(conn):
    options = conn.get_execution_options()
    mode = options.get("sqlite_begin", "DEFERRED")
    # Straight to the driver: this runs once per operation, on the sale's critical path.
    driver = conn.connection.driver_connection
    _set_level(driver, conn.connection.info, options.get("sqlite_synchronous"))
    driver.execute(f"BEGIN {mode}")


def _set_level(driver, info: dict, level: str | None) -> None:
    """The connection's sync level for the transaction about to begin: ``level``, or the
    connection's own (FULL unless opened with another). SQLite refuses to change it inside a
    transaction, so it is set before BEGIN, and only when it differs: a pooled connection a
    flush-later write used goes back to FULL for the next sale."""
    level = level or info.get("synchronous_default", "FULL")
    if info.get("synchronous", "FULL") != level:
        driver.execute(f"PRAGMA synchronous = {level}")
        info["synchronous"] = level


def sqlite_uri(path: Path | str, **params: str) -> str:
    """A ``file:`` URI for sqlite3's ``uri=True``: the path percent-encoded, so a folder named
    ``a#b`` or ``50%`` is that folder and not a fragment or an escape (an f-string URI cut the
    path at ``#`` and made a backup read an empty database)."""
    uri = Path(path).absolute().as_uri()
    if params:
        uri += "?" + urlencode(params)
    return uri


def make_engine(path: Path, pragmas: dict[str, object] | None = None) -> Engine:
    # The URL object keeps the path as given: a URL string would be parsed, ``#`` and ``%`` included.
    url = URL.create("sqlite+pysqlite", database=str(path))
    engine = create_engine(url, future=True)
    event.listen(engine, "connect", _set_pragmas(pragmas))
    event.listen(engine, "begin", _begin)
    return engine


def open_database(
    path: Path | str,
    *,
    upgrade: bool = True,
    pragmas: dict[str, object] | None = None,
    verify: bool = False,
) -> Database:
    """Open (and by default create or migrate) the terminal database at ``path``.

    ``pragmas`` adds per-connection pragmas (e.g. ``{"cache_size": -20000}``). A missing file is
    created; an existing empty (0-byte) file is refused: it is a database that lost its content, and
    only ``kezhan db migrate`` makes a fresh one there on purpose. ``verify`` runs SQLite's quick
    check first and refuses a damaged file (what the counter window does before it sells).
    """
    path = Path(path)
    refuse_empty(path)
    if verify:
        verify_intact(path)
    if upgrade:
        migrate(path)
    else:
        _require_current(path)
    engine = make_engine(path, pragmas)
    writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    writer_flush_later = engine.execution_options(sqlite_begin="IMMEDIATE", sqlite_synchronous="NORMAL")
    return Database(
        path=path,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        writes=sessionmaker(writer, expire_on_commit=False),
        writes_flush_later=sessionmaker(writer_flush_later, expire_on_commit=False),
    )


def refuse_empty(path: Path) -> None:
    """A 0-byte file where a database should be: a truncated or wiped file, never a new station."""
    if path.is_file() and path.stat().st_size == 0:
        raise StorageError(
            f"数据库文件是空的（0 字节）：{path}。请用 kezhan db restore 从备份恢复；"
            "确要在此新建数据库时，删除该文件后运行 kezhan db migrate。",
            en=f"the database file is empty (0 bytes): {path}. Restore a backup with `kezhan db restore`; "
            "to set up a new database here on purpose, delete the file and run `kezhan db migrate`.",
            code="DB_EMPTY",
        )


DAMAGED_WAY_OUT = (
    "技术员：运行 kezhan db check --full 查看损坏之处，用 kezhan db restore 从备份恢复，"
    "或换一个新文件重新注册（kezhan sync enrol）。",
    "Technician: run `kezhan db check --full` to see what is damaged, restore a backup with "
    "`kezhan db restore`, or re-enrol on a new file (`kezhan sync enrol`).",
)


def quick_check(path: Path) -> list[str]:
    """SQLite's ``PRAGMA quick_check`` on a read-only connection: the problems it names, or a
    "not a database" style failure, as text; empty when the file is intact."""
    try:
        con = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            rows = [row[0] for row in con.execute("PRAGMA quick_check(20)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def counter_check(path: Path) -> list[str]:
    """The outbox, ticket and stock counters against the rows they number (``outbox.counter_problems``):
    a file that lost acknowledged rows behind SQLite's back, or whose counters went back, would
    otherwise issue a seq, ticket id or stock number again."""
    from app.store import archive, outbox

    try:
        con = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"outbox", "counters", "tickets", "stock_rolls", "settings"} <= tables:
                return []
            return outbox.counter_problems(con.cursor(), archive.archived_marks(con))
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]


def verify_intact(path: Path) -> None:
    """Refuse a file that fails SQLite's quick check: a sale committed into damaged pages may be
    unreadable afterwards. Cheap enough for a start-up (every page once, no index comparison)."""
    if not path.is_file():
        return
    problems = quick_check(path) or counter_check(path)
    if problems:
        zh, en = DAMAGED_WAY_OUT
        raise StorageError(
            f"数据库文件已损坏，不能售票：{path}（{problems[0]}）。{zh}",
            en=f"the database file is damaged; nothing can be sold into it: {path} ({problems[0]}). {en}",
            code="DB_CORRUPT",
            problems=problems,
        )


# --- migrations ------------------------------------------------------------------------------------


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> tuple[set[str], str]:
    """All revisions this build knows, and the head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return {rev.revision for rev in script.walk_revisions()}, script.get_current_head()


def inspect_file(path: Path) -> str | None:
    """The schema revision of an existing file; None for a missing or empty file (a new database).

    Raises StorageError for a file that is not ours, too new or damaged — without writing to it.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    if path.is_dir():
        raise StorageError(
            f"数据库路径是一个文件夹：{path}", en=f"the database path is a folder: {path}", code="DB_FOREIGN"
        )
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header != SQLITE_HEADER:
        raise StorageError(
            f"不是客站数据库文件（也不是 SQLite 文件）：{path}。文件未改动。",
            en=f"not a Kezhan database (not even an SQLite file): {path}. The file was not touched.",
            code="DB_FOREIGN",
        )
    try:
        con = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return None
            if "alembic_version" not in tables:
                raise StorageError(
                    f"这是其他程序的 SQLite 数据库，不是客站数据库：{path}。文件未改动。",
                    en=f"an SQLite database of another program, not Kezhan's: {path}. The file was not touched.",
                    code="DB_FOREIGN",
                )
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise storage_error(exc, path) from None
    revision = row[0] if row else None
    if revision is None or _is_head(revision):
        return revision
    known, _head = known_revisions()
    if revision not in known:
        raise StorageError(
            f"数据库来自更新版本的客站（结构版本 {revision}），请升级本程序。文件未改动：{path}",
            en=f"the database comes from a newer Kezhan (schema {revision}); upgrade this program. "
            f"The file was not touched: {path}",
            code="DB_TOO_NEW",
        )
    return revision


def _require_current(path: Path) -> None:
    revision = inspect_file(path)
    if _is_head(revision):
        return
    _known, head = known_revisions()
    if revision != head:
        raise StorageError(
            f"数据库结构需要升级（{revision or '空'} → {head}）：请运行 kezhan db migrate",
            en=f"the database schema needs migrating ({revision or 'empty'} -> {head}): run `kezhan db migrate`",
            code="DB_NEEDS_MIGRATION",
        )


def backup_file(source: Path, dest: Path) -> Path:
    """Copy a live database with SQLite's online backup API (consistent even while others write)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(sqlite_uri(source, mode="ro"), uri=True)
        try:
            src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            out = sqlite3.connect(dest)
            try:
                src.backup(out)
            finally:
                out.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        dest.unlink(missing_ok=True)
        raise storage_error(exc, source) from None
    return dest


def migrate(path: Path | str) -> dict:
    """Bring the file at ``path`` to the newest schema. Returns ``{from, to, backup}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    revision = inspect_file(path)
    if _is_head(revision):
        return {"from": revision, "to": revision, "backup": None}
    _known, head = known_revisions()
    result = {"from": revision, "to": head, "backup": None}
    if revision == head:
        return result
    if path.exists() and path.stat().st_size > 0:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = paths.backup_dir() / f"{path.stem}-before-{head}-{stamp}.sqlite3"
        backup_file(path, dest)
        result["backup"] = str(dest)
        log.info("backed up %s to %s before migrating %s -> %s", path, dest, revision, head)
    from alembic import command

    engine = make_engine(path)
    try:
        with engine.connect() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    except sa_exc.DBAPIError as exc:
        raise storage_error(exc, path) from None
    finally:
        engine.dispose()
    log.info("migrated %s from %s to %s", path, revision, head)
    return result
