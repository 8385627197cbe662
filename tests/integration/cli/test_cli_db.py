"""`kezhan db …` as a technician uses it, on real files: migrate, check, back up, break, restore."""

import json
import os
import subprocess
import sys


def kezhan(home, *args):
    env = dict(os.environ, KEZHAN_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=120)


def test_migrate_check_backup_break_restore(kezhan_home, tmp_path):
    db = kezhan_home / "kezhan.sqlite3"
    first = kezhan(kezhan_home, "db", "migrate", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["from"] is None and db.exists()
    again = kezhan(kezhan_home, "db", "migrate")
    assert again.stdout.startswith("already at schema")

    check = kezhan(kezhan_home, "db", "check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True

    backup = kezhan(kezhan_home, "db", "backup", str(tmp_path / "copy.sqlite3"), "--json")
    assert backup.returncode == 0, backup.stderr
    saved = json.loads(backup.stdout)["backup"]

    # Scribble over the middle of the file, as a failing disk would.
    data = bytearray(db.read_bytes())
    data[4096:8192] = b"\xde\xad\xbe\xef" * 1024
    db.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (kezhan_home / f"kezhan.sqlite3{suffix}").unlink(missing_ok=True)
    broken = kezhan(kezhan_home, "db", "check")
    assert broken.returncode == 1
    assert "✗" in broken.stdout and "Traceback" not in broken.stdout + broken.stderr

    restored = kezhan(kezhan_home, "db", "restore", saved, "--json")
    assert restored.returncode == 0, restored.stderr
    kept = json.loads(restored.stdout)["kept_aside"]
    assert kept and os.path.exists(kept)  # the damaged file is kept, not destroyed
    assert kezhan(kezhan_home, "db", "check").returncode == 0


def test_restoring_a_foreign_file_changes_nothing(kezhan_home, tmp_path):
    assert kezhan(kezhan_home, "db", "migrate").returncode == 0
    before = (kezhan_home / "kezhan.sqlite3").read_bytes()
    junk = tmp_path / "not-a-backup.sqlite3"
    junk.write_text("hello")
    result = kezhan(kezhan_home, "db", "restore", str(junk))
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("kezhan: ")
    assert (kezhan_home / "kezhan.sqlite3").read_bytes() == before


def test_migrating_a_newer_database_is_refused(kezhan_home):
    import sqlite3

    db = kezhan_home / "kezhan.sqlite3"
    assert kezhan(kezhan_home, "db", "migrate").returncode == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    result = kezhan(kezhan_home, "db", "migrate")
    assert result.returncode == 3
    assert "9999_from_the_future" in result.stderr and "Traceback" not in result.stderr
