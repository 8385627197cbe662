"""Files that are not a healthy Kezhan database, a full disk, a bad config: a clear message, nothing
overwritten, never a traceback."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys

import pytest

from app.config import load
from app.errors import ConfigError, StorageError
from app.store import maintenance
from app.store.engine import migrate, open_database
from app.store.province import load_province
from app.store.queries import departures_to
from tests.integration.store.helpers import tiny_database
from tests.integration.store.tiny_province import tiny_province


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(path, code):
    before = _digest(path)
    with pytest.raises(StorageError) as info:
        open_database(path)
    assert info.value.code == code
    assert _digest(path) == before, "the file was changed"
    return info.value


def test_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("这不是数据库\n" * 100, encoding="utf-8")
    error = _refused(path, "DB_FOREIGN")
    assert "不是客站数据库" in error.message and "not a Kezhan database" in error.en


def test_another_programs_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id, name)")
    con.commit()
    con.close()
    error = _refused(path, "DB_FOREIGN")
    assert "其他程序" in error.message


def test_a_file_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "newer.sqlite3"
    migrate(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    con.commit()
    con.close()
    error = _refused(path, "DB_TOO_NEW")
    assert "更新版本" in error.message and "9999_from_the_future" in error.en


def test_a_damaged_file_is_refused(tmp_path):
    path = tmp_path / "damaged.sqlite3"
    migrate(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(data))
    error = _refused(path, "DB_CORRUPT")
    assert "损坏" in error.message and "restore" in error.en
    report = maintenance.check(path)
    assert not report.ok and report.problems


def test_damage_in_the_data_is_found_by_check(tmp_path):
    path = tiny_database(tmp_path / "k.sqlite3")
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'seats'").fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start + 8:start + page_size] = b"\x00\xff" * ((page_size - 8) // 2)
    path.write_bytes(bytes(data))
    report = maintenance.check(path)
    assert not report.ok
    assert report.integrity != ["ok"]
    # Reading the damaged table is a StorageError the counter can show, not a traceback.
    db = open_database(path)
    with pytest.raises(StorageError) as info:
        with db.read() as session:
            departures_to(session, "330203001", "2026-12-01")
    db.dispose()
    assert info.value.code == "DB_CORRUPT"


def test_a_full_disk_rolls_back_and_says_so(tmp_path):
    path = tmp_path / "k.sqlite3"
    migrate(path)
    con = sqlite3.connect(path)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    # max_page_count caps the file where it is: the next growth fails like a full disk.
    db = open_database(path, pragmas={"max_page_count": pages + 2})
    with pytest.raises(StorageError) as info:
        with db.transaction() as session:
            load_province(session, tiny_province())
    assert info.value.code == "DISK_FULL"
    assert "磁盘已满" in info.value.message and "rolled back" in info.value.en
    db.dispose()
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM stations").fetchone() == (0,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[station]\ntimezone = "Mars/Olympus"\n', "station.timezone"),
        ("[terminal]\npresale_days = 400\n", "presale_days"),
        ('[terminal]\npresale_days = "ten"\n', "whole number"),
        ("[station\ncode = 1\n", "TOML"),
        ('[database]\nsize = "big"\n', "unknown setting"),
    ],
)
def test_a_bad_config_value_is_one_clear_error(tmp_path, toml, needle):
    path = tmp_path / "kezhan.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_the_storage_message_is_one_line_without_a_traceback(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("hello", encoding="utf-8")
    script = (
        "import sys\nfrom app.errors import KezhanError\nfrom app.store.engine import open_database\n"
        "try:\n    open_database(sys.argv[1])\nexcept KezhanError as e:\n    print(e.text('en'))\n    sys.exit(e.exit_code)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)
    assert out.returncode == 3
    assert out.stdout.count("\n") == 1 and "not a Kezhan database" in out.stdout and not out.stderr
