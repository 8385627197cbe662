"""Creating and migrating the database file, and the connection settings that make commits durable."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app import paths
from app.errors import StorageError
from app.store.engine import _alembic_config, known_revisions, make_engine, migrate, open_database
from app.store.models import Base


def test_a_new_file_is_created_at_the_newest_schema(tmp_path):
    path = tmp_path / "new.sqlite3"
    result = migrate(path)
    _known, head = known_revisions()
    assert result == {"from": None, "to": head, "backup": None}
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"stations", "departures", "seats", "tickets", "passengers", "outbox", "audit_log", "users"} <= tables
    assert con.execute("SELECT code FROM roles ORDER BY code").fetchall() == [
        ("clerk",), ("gate",), ("supervisor",), ("technician",)]
    con.close()
    assert migrate(path)["backup"] is None  # already current: nothing to do, nothing copied


def test_every_connection_is_durable(tmp_path):
    db = open_database(tmp_path / "k.sqlite3")
    with db.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert con.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert con.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert con.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    db.dispose()


@contextmanager
def _file_at(path, revision: str, step=command.upgrade):
    """The file taken to ``revision`` by the migrations (``step``: upgrade or downgrade), open for
    the test to fill in the schema of that release; committed and closed after."""
    engine = make_engine(path)
    with engine.connect() as con:
        config = _alembic_config()
        config.attributes["connection"] = con
        step(config, revision)
        con.commit()
        yield con
        con.commit()
    engine.dispose()


def test_the_models_and_the_migrations_agree(tmp_path):
    path = tmp_path / "k.sqlite3"
    migrate(path)
    engine = make_engine(path)
    with engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_migration_backs_the_file_up_first(tmp_path):
    path = tmp_path / "old.sqlite3"
    migrate(path)
    # Down to the state of a file made before the first revision.
    with _file_at(path, "base", command.downgrade) as con:
        con.execute(text("CREATE TABLE precious (x)"))
        con.execute(text("INSERT INTO precious VALUES ('keep me')"))

    result = migrate(path)
    assert result["backup"] is not None
    backup = sqlite3.connect(result["backup"])
    assert backup.execute("SELECT x FROM precious").fetchall() == [("keep me",)]
    assert backup.execute("SELECT name FROM sqlite_master WHERE name = 'tickets'").fetchall() == []
    backup.close()
    assert str(paths.backup_dir()) in result["backup"]
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM tickets").fetchone() == (0,)
    con.close()


def test_the_audit_log_cannot_be_rewritten(tmp_path):
    path = tmp_path / "k.sqlite3"
    migrate(path)
    con = sqlite3.connect(path)
    con.execute("INSERT INTO audit_log (at, actor, terminal_id, action, subject, detail) "
                "VALUES ('2026-12-01T00:00:00Z', '1001', 'T', 'sell', 'x', '{}')")
    con.commit()
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(statement)
    assert con.execute("SELECT actor FROM audit_log").fetchall() == [("1001",)]
    con.close()


def test_a_folder_is_not_a_database(tmp_path):
    with pytest.raises(StorageError) as info:
        open_database(tmp_path)
    assert info.value.code == "DB_FOREIGN"


def test_a_file_of_the_previous_release_is_upgraded_after_a_backup(tmp_path):
    path = tmp_path / "previous.sqlite3"
    with _file_at(path, "0002") as con:
        con.execute(text("INSERT INTO settings (key, value) VALUES ('home_station', '\"330102001\"')"))
    result = migrate(path)
    _known, head = known_revisions()
    assert (result["from"], result["to"]) == ("0002", head)
    saved = sqlite3.connect(result["backup"])
    assert saved.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
    assert saved.execute("SELECT value FROM settings").fetchone() == ('"330102001"',)
    saved.close()
    con = sqlite3.connect(path)
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'stations'")}
    assert "ix_stations_pinyin_code" in indexes and "ix_stations_pinyin" not in indexes
    assert con.execute("SELECT value FROM settings").fetchone() == ('"330102001"',)
    con.close()


def test_outbox_events_of_a_0004_file_get_their_shift_on_upgrade(tmp_path):
    path = tmp_path / "0004.sqlite3"
    with _file_at(path, "0004") as con:
        for seq, type_, payload in ((1, "shift.opened", '{"shift_id":"T01-S000001"}'),
                                    (2, "ticket.refunded", '{"fee":200,"shift_id":"T01-S000001"}'),
                                    (3, "other", '{"note":"no shift"}')):
            con.execute(text("INSERT INTO outbox VALUES ('T01', :seq, :id, :type, 'now', :payload, 'h')"),
                        {"seq": seq, "id": f"e{seq}", "type": type_, "payload": payload})
    migrate(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT seq, shift_id FROM outbox ORDER BY seq").fetchall() == [
        (1, "T01-S000001"), (2, "T01-S000001"), (3, None)]
    # The payloads the hashes were computed over are untouched.
    assert con.execute("SELECT payload FROM outbox WHERE seq = 2").fetchone() == ('{"fee":200,"shift_id":"T01-S000001"}',)
    plan = " ".join(r[-1] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT payload FROM outbox WHERE shift_id = 'T01-S000001'"))
    assert "ix_outbox_shift_id" in plan
    con.close()


def test_a_0008_file_keeps_only_tags_for_feed_tickets_and_masks_again_on_upgrade(tmp_path):
    """Issue 11: a ticket from the feed held the full document hash and the old mask (region shown);
    after 0009 it holds the tag and the new mask. This terminal's own sale keeps its hash."""
    path = tmp_path / "0008.sqlite3"
    own, web = "a" * 64, "7f" + "b" * 62
    with _file_at(path, "0008"):
        pass
    con = sqlite3.connect(path)  # foreign keys off: the rows the migration touches, and no more
    with con:
        for ticket, order, channel, doc_hash, number in (("T1", "O1", "counter", own, "110101199003070011"),
                                                          ("T2", "W1", "web", web, None)):
            con.execute("INSERT INTO orders (id, channel, created_at, total) VALUES (?, ?, 'now', 0)", (order, channel))
            con.execute(
                "INSERT INTO tickets (id, order_id, departure_id, seat_no, status, ticket_type, fare, price, "
                "insurance, board, stop, doc_hash, times_changed, sold_at) VALUES (?, ?, 'D1', NULL, 'active', "
                "'full', 1, 1, 0, 'S1', 'S1', ?, 0, 'now')", (ticket, order, doc_hash))
            con.execute("INSERT INTO passengers VALUES (?, 'n', 'resident_id', '110101********0011', ?, ?)",
                        (ticket, doc_hash, number))
    con.close()
    migrate(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT id, doc_hash, doc_tag FROM tickets ORDER BY id").fetchall() == [
        ("T1", own, "aa"), ("T2", None, "7f")]
    assert con.execute("SELECT ticket_id, doc_masked, doc_hash FROM passengers ORDER BY ticket_id").fetchall() == [
        ("T1", "**************0011", own), ("T2", "**************0011", None)]
    con.close()


def test_a_0009_file_gets_the_rules_version_its_writers_move_whoever_they_are(tmp_path):
    """0010: any write to settings or ticket_keys, by any connection, moves counters.rules_version
    (a gate keeps the rules it read while it stays); the two indexes a scan touches are reshaped."""
    path = tmp_path / "0009.sqlite3"
    with _file_at(path, "0009") as con:
        con.execute(text("INSERT INTO settings (key, value) VALUES ('home_station', '\"330102001\"')"))
    migrate(path)
    con = sqlite3.connect(path, isolation_level=None)

    def version():
        return con.execute("SELECT value FROM counters WHERE name = 'rules_version'").fetchone()[0]

    seen = [version()]
    for statement in ("UPDATE settings SET value = '\"330102002\"' WHERE key = 'home_station'",
                      "INSERT INTO settings (key, value) VALUES ('gate', '{}')",
                      "DELETE FROM settings WHERE key = 'gate'",
                      "INSERT INTO ticket_keys (key_id, terminal_id, public_key) VALUES ('k1', 't1', 'x')",
                      "UPDATE ticket_keys SET revoked_at = '2026-12-01T00:00:00.000000Z' WHERE key_id = 'k1'",
                      "DELETE FROM ticket_keys WHERE key_id = 'k1'"):
        con.execute(statement)
        seen.append(version())
    assert seen == sorted(set(seen)), f"every write moves the version on: {seen}"
    con.execute("INSERT INTO counters (name, value) VALUES ('outbox_seq:T01', 1)")
    assert version() == seen[-1]  # other tables leave it alone

    indexes = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN "
                               "('ix_gate_checks_departure', 'ix_outbox_shift_id')").fetchall())
    assert "(departure_id, ticket_type, undone_at)" in indexes["ix_gate_checks_departure"]
    plan = " ".join(r[-1] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT ticket_type, count(*) FROM gate_checks WHERE departure_id = 'D1' "
        "AND undone_at IS NULL GROUP BY ticket_type"))
    assert "COVERING INDEX ix_gate_checks_departure" in plan
    assert "WHERE shift_id IS NOT NULL" in indexes["ix_outbox_shift_id"]
    plan = " ".join(r[-1] for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT payload FROM outbox WHERE shift_id = 'T01-S000001'"))
    assert "ix_outbox_shift_id" in plan
    con.close()
