"""``check``, ``backup`` and ``restore`` of the terminal database."""

from __future__ import annotations

import sqlite3

import pytest

from app import paths
from app.errors import StorageError
from app.store import maintenance
from tests.integration.store.helpers import tiny_database


@pytest.fixture
def loaded(tmp_path):
    return tiny_database(tmp_path / "k.sqlite3")


def _outbox(path, *seqs):
    con = sqlite3.connect(path)
    for seq in seqs:
        con.execute("INSERT INTO outbox (terminal_id, seq, event_id, type, created_at, payload, hash) "
                    "VALUES ('T', ?, ?, 'x', 'now', '{}', 'h')", (seq, f"e{seq}"))
    con.commit()
    con.close()


def test_a_healthy_file_checks_ok(loaded):
    _outbox(loaded, 1, 2, 3)
    report = maintenance.check(loaded)
    assert report.ok, report.problems
    assert report.integrity == ["ok"] and report.revision == report.head and report.outbox_events == 3


def test_check_finds_an_outbox_gap(loaded):
    _outbox(loaded, 1, 2, 5)
    report = maintenance.check(loaded)
    assert not report.ok and report.outbox_gaps == ["T: seq 3..4 missing"]


def test_check_of_a_missing_file(tmp_path):
    report = maintenance.check(tmp_path / "nothing.sqlite3")
    assert not report.ok and "不存在" in report.problems[0]


def test_backup_and_restore(loaded, tmp_path):
    copy = maintenance.backup(loaded)
    assert copy.parent == paths.backup_dir()
    con = sqlite3.connect(loaded)
    con.execute("DELETE FROM settings")
    con.commit()
    con.close()
    result = maintenance.restore(copy, loaded)
    con = sqlite3.connect(loaded)
    assert con.execute("SELECT count(*) FROM settings").fetchone()[0] > 0
    con.close()
    kept = sqlite3.connect(result["kept_aside"])
    assert kept.execute("SELECT count(*) FROM settings").fetchone() == (0,)
    kept.close()
    assert maintenance.check(loaded).ok


def test_backup_to_a_named_file(loaded, tmp_path):
    target = maintenance.backup(loaded, tmp_path / "copy.sqlite3")
    assert target == tmp_path / "copy.sqlite3"
    with pytest.raises(StorageError) as info:
        maintenance.backup(loaded, target)
    assert info.value.code == "BACKUP_EXISTS"


def test_restore_refuses_a_bad_backup_and_keeps_the_current_file(loaded, tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    before = loaded.read_bytes()
    with pytest.raises(StorageError) as info:
        maintenance.restore(bad, loaded)
    assert info.value.code == "BACKUP_INVALID" and "nothing was restored" in info.value.en
    assert loaded.read_bytes() == before
    with pytest.raises(StorageError):
        maintenance.restore(tmp_path / "missing.sqlite3", loaded)
