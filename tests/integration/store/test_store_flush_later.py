"""Commits flushed later (the gate's checks, docs/gate.md § Durability): committed with
synchronous=NORMAL, seen by every connection and kept when the program dies, made durable against a
power loss by Database.flush(); every other write keeps synchronous=FULL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from app.errors import RuleViolation, StorageError
from app.store.engine import open_database, raw_cursor


def _level(cur) -> int:
    return cur.execute("PRAGMA synchronous").fetchone()[0]


@pytest.fixture
def db(tmp_path):
    db = open_database(tmp_path / "t.sqlite3")
    with db.transaction() as session:
        raw_cursor(session).execute("CREATE TABLE t (x INTEGER)")
    yield db
    db.dispose()


def test_only_a_flush_later_write_runs_at_normal_and_the_next_sale_is_full_again(db):
    full, normal = 2, 1
    for _ in range(3):  # whichever pooled connection each one gets
        with db.write_cursor(flush_later=True) as cur:
            assert _level(cur) == normal
            cur.execute("INSERT INTO t VALUES (1)")
        with db.transaction() as session:
            assert _level(raw_cursor(session)) == full
        with db.transaction(flush_later=True) as session:
            assert _level(raw_cursor(session)) == normal
        with db.write_cursor() as cur:
            assert _level(cur) == full
        with db.read() as session:
            assert _level(raw_cursor(session)) == full


def test_a_connection_opened_at_another_level_goes_back_to_it(tmp_path):
    db = open_database(tmp_path / "bulk.sqlite3", pragmas={"synchronous": "OFF"})
    try:
        with db.write_cursor(flush_later=True) as cur:
            assert _level(cur) == 1
        with db.transaction() as session:
            assert _level(raw_cursor(session)) == 0
    finally:
        db.dispose()


def test_the_write_cursor_commits_or_rolls_back_as_a_transaction_does(db):
    with db.write_cursor(flush_later=True) as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuleViolation):
        with db.write_cursor(flush_later=True) as cur:
            cur.execute("INSERT INTO t VALUES (2)")
            raise RuleViolation("不行", en="no", code="NO")
    with pytest.raises(StorageError) as info:
        with db.write_cursor() as cur:
            cur.execute("INSERT INTO t VALUES (3)")
            cur.execute("INSERT INTO no_such_table VALUES (1)")
    assert info.value.code == "DB_ERROR"
    with db.read() as session:
        assert raw_cursor(session).execute("SELECT x FROM t").fetchall() == [(1,)]


def test_flush_syncs_the_wal_and_a_missing_wal_is_nothing_to_flush(db, tmp_path):
    with db.write_cursor(flush_later=True) as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    assert (tmp_path / "t.sqlite3-wal").stat().st_size > 0
    db.flush()
    db.dispose()  # the last connection checkpoints and removes the WAL
    assert not (tmp_path / "t.sqlite3-wal").exists()
    db.flush()


def test_a_flush_later_commit_survives_the_program_dying_before_the_flush(tmp_path, db):
    path = tmp_path / "t.sqlite3"
    script = textwrap.dedent(f"""
        import os
        from app.store.engine import open_database
        db = open_database({str(path)!r})
        with db.write_cursor(flush_later=True) as cur:
            cur.execute("INSERT INTO t VALUES (42)")
        os._exit(0)  # no flush, no close, no checkpoint: a crash right after the verdict
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with db.read() as session:
        assert raw_cursor(session).execute("SELECT x FROM t").fetchall() == [(42,)]


def test_a_read_cursor_reads_one_snapshot_and_leaves_no_transaction_behind(db):
    with db.write_cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    with db.read_cursor() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (1,)
        # Another connection commits while the read is open: the read still sees its own snapshot.
        with db.transaction() as session:
            raw_cursor(session).execute("INSERT INTO t VALUES (2)")
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (1,)
        held = cur.connection
    assert not held.in_transaction  # a read left open would pin the WAL and hold back checkpoints
    # The same kept connection serves the next write, which sees both rows and commits.
    with db.write_cursor() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (2,)
        cur.execute("INSERT INTO t VALUES (3)")
    with db.read_cursor() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (3,)


def test_a_failed_read_cursor_says_what_failed_and_the_next_read_works(db):
    with pytest.raises(StorageError) as info:
        with db.read_cursor() as cur:
            cur.execute("SELECT * FROM no_such_table")
    assert info.value.code == "DB_ERROR"
    with db.read_cursor() as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (0,)
