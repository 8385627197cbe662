"""The technician's side of retention: the window in kezhan.toml, shown by `kezhan doctor` and
`kezhan db check`, honoured by `kezhan db archive`; the quick check by default, the full one on demand."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.store.engine import open_database
from app.store.province import load_province
from tests.integration.store.tiny_province import tiny_province


def kezhan(home, *args):
    env = dict(os.environ, KEZHAN_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120)


def station(home, keep_days=None):
    config = '[station]\ncode = "330102001"\n[terminal]\nid = "330102001-T01"\n'
    if keep_days is not None:
        config += f"[database]\nkeep_days = {keep_days}\n"
    (home / "kezhan.toml").write_text(config)
    db = open_database(home / "kezhan.sqlite3")
    with db.transaction() as session:
        load_province(session, tiny_province())
    db.dispose()
    return home / "kezhan.sqlite3"


def break_an_index(path):
    """An index that no longer matches its table: what only the full integrity_check reads."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX ix_stations_pinyin_code ON stations (name, code)' "
                "WHERE name = 'ix_stations_pinyin_code'")
    con.commit()
    con.close()


def test_the_window_is_set_in_the_config_and_shown(kezhan_home):
    station(kezhan_home, keep_days=30)
    check = kezhan(kezhan_home, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "keeps 30 days live ([database] keep_days)" in check.stdout
    assert json.loads(kezhan(kezhan_home, "db", "check", "--json").stdout)["retention"]["keep_days"] == 30
    doctor = json.loads(kezhan(kezhan_home, "doctor", "--json").stdout)
    database = next(c for c in doctor["checks"] if c["name"] == "database")
    assert "keeps 30 days live" in database["detail"]


def test_the_default_window_is_90_days(kezhan_home):
    station(kezhan_home)
    assert "keeps 90 days live" in kezhan(kezhan_home, "db", "check").stdout


def test_a_window_too_short_is_refused_in_one_line(kezhan_home):
    station(kezhan_home, keep_days=2)
    result = kezhan(kezhan_home, "db", "archive")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "keep_days" in result.stderr and "7..3660" in result.stderr


def test_db_archive_honours_the_configured_window(kezhan_home):
    station(kezhan_home, keep_days=40)
    result = kezhan(kezhan_home, "db", "archive", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert report["keep_days"] == 40
    assert report["window_first_date"] in {(today - timedelta(days=40 + k)).isoformat() for k in (0, 1)}
    assert report["enrolled"] is False and report["moved"].get("tickets", 0) == 0
    override = json.loads(kezhan(kezhan_home, "db", "archive", "--keep-days", "60", "--json").stdout)
    assert override["keep_days"] == 60


def test_doctor_uses_the_quick_check_and_db_check_full_reads_every_index(kezhan_home):
    path = station(kezhan_home)
    break_an_index(path)

    doctor = json.loads(kezhan(kezhan_home, "doctor", "--json").stdout)
    integrity = next(c for c in doctor["checks"] if c["name"] == "integrity")
    assert integrity["status"] == "ok" and "quick_check ok" in integrity["detail"]
    assert "kezhan db check --full" in integrity["detail"]

    quick = kezhan(kezhan_home, "db", "check", "--json")
    assert quick.returncode == 0 and json.loads(quick.stdout)["mode"] == "quick"

    full = kezhan(kezhan_home, "db", "check", "--full")
    assert full.returncode == 1
    assert "integrity_check failed" in full.stdout and "missing from index ix_stations_pinyin_code" in full.stdout


def test_the_technician_sets_the_window_with_one_command(kezhan_home):
    station(kezhan_home, keep_days=30)
    result = kezhan(kezhan_home, "db", "retention", "--keep-days", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keeps 120 days live" in result.stdout
    assert "keep_days = 120" in (kezhan_home / "kezhan.toml").read_text()
    assert json.loads(kezhan(kezhan_home, "db", "check", "--json").stdout)["retention"]["keep_days"] == 120
    shown = json.loads(kezhan(kezhan_home, "db", "retention", "--json").stdout)
    assert shown["keep_days"] == 120 and shown["saved_to"] is None


def test_a_bad_window_is_refused_and_never_written(kezhan_home):
    station(kezhan_home, keep_days=30)
    result = kezhan(kezhan_home, "db", "retention", "--keep-days", "3")
    assert result.returncode != 0 and "Traceback" not in result.stderr and "7..3660" in result.stderr
    assert "keep_days = 30" in (kezhan_home / "kezhan.toml").read_text()
