"""The server's bulk insert stores exactly what SQLAlchemy's own insert stores, whether the rows go
one statement each or hundreds to a statement (SQLite), on both engines, across a statement boundary and with the
columns' own conversions (aware datetimes, booleans, NULLs)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from sync.server import db as server_db
from sync.server import feed, models

AT = datetime(2026, 11, 24, 3, 4, 5, 678901, tzinfo=UTC)


def _rows(n: int) -> list[tuple]:
    return [("seat" if i % 3 else "lease", f"D{i // 40}/{i % 40 + 1}", None if i % 5 else f"330102001-T0{i % 9 + 1}",
             bool(i % 7 == 0), None if i % 7 == 0 else f'{{"n":{i},"name":"客站"}}', AT + timedelta(seconds=i % 4))
            for i in range(n)]


def _stored(engine):
    T = models.changes
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(T.c.kind, T.c.key, T.c.scope, T.c.deleted, T.c.data, T.c.at).order_by(T.c.id))]


@pytest.mark.parametrize("n", [1, 2, server_db._MULTI_ROW_MAX, 2 * server_db._MULTI_ROW_MAX + 3])
@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_bulk_insert_stores_what_sqlalchemy_stores(tmp_path, request, engine_name, n):
    if engine_name == "sqlite":
        urls = [str(tmp_path / f"{name}.sqlite3") for name in ("fast", "plain")]
    else:
        pg = request.getfixturevalue("postgres")
        urls = [pg.new_database() for _ in range(2)]
    fast, plain = (server_db.make_engine(url) for url in urls)
    for engine in (fast, plain):
        server_db.init_schema(engine)
    rows = _rows(n)
    with fast.begin() as conn:
        server_db.BulkInsert.run_tuples(conn, models.changes, feed._FEED_COLUMNS, rows)
    with plain.begin() as conn:
        conn.execute(models.changes.insert(), [dict(zip(feed._FEED_COLUMNS, r, strict=True)) for r in rows])
    assert _stored(fast) == _stored(plain)
    assert len(_stored(fast)) == n and _stored(fast)[0][5] == AT
    fast.dispose()
    plain.dispose()


def test_sqlite_inserts_hundreds_of_rows_per_statement(tmp_path):
    """One statement step per row lets any other busy thread (the event loop reading the next
    request) hold the interpreter lock between rows; a batch must not take a statement per row."""
    engine = server_db.make_engine(str(tmp_path / "s.sqlite3"))
    server_db.init_schema(engine)
    statements = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO changes"):
            statements.append(executemany)

    with engine.begin() as conn:
        server_db.BulkInsert.run_tuples(conn, models.changes, feed._FEED_COLUMNS, _rows(1000))
    assert statements == [False] * -(-1000 // server_db._MULTI_ROW_MAX)
    assert len(_stored(engine)) == 1000


def test_a_sqlite_built_with_a_low_limit_on_bound_values_still_takes_a_whole_batch(tmp_path):
    """SQLite before 3.32 allows 999 bound values per statement (builds may set any limit): a batch
    of events (9 columns) is cut into statements the connection accepts."""
    engine = server_db.make_engine(str(tmp_path / "s.sqlite3"))
    server_db.init_schema(engine)

    @event.listens_for(engine, "connect")
    def _low_limit(dbapi_connection, _record):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    engine.dispose()  # connections made from now on have the low limit
    with engine.begin() as conn:
        assert conn.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) == 999
        server_db.BulkInsert.run_tuples(conn, models.changes, feed._FEED_COLUMNS, _rows(1000))
    assert len(_stored(engine)) == 1000
