"""Damage and restore on real files: a restore while another program has the file open, a damaged
file the counter would sell into, a 0-byte file, folder names SQLite's URIs read as syntax."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from app.errors import StorageError
from app.services.station import hold_station, open_station
from app.store import maintenance
from app.store.engine import migrate, open_database
from tests.integration.store.helpers import tiny_database


def _settings(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM settings").fetchone()[0]
    finally:
        con.close()


def _scribble(path, table: str = "stations") -> None:
    """A failing disk's work on one page of a table no sale writes: the header, the schema and the
    sale's own tables are intact, so a sale still commits into the file."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    con.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size:root * page_size] = b"\xde\xad\xbe\xef" * (page_size // 4)
    path.write_bytes(bytes(data))


class Holder:
    """Another process with the database open, until closed: a counter between two sales."""

    SCRIPT = textwrap.dedent("""
        import sys
        from pathlib import Path
        path, how = Path(sys.argv[1]), sys.argv[2]
        if how == "window":
            from app.services.station import hold_station
            lock = hold_station(path, "kezhan gui")
        from app.store.engine import open_database
        db = open_database(path, upgrade=False)
        with db.read() as session:   # the pool keeps the connection open afterwards
            session.connection()
        print("ready", flush=True)
        sys.stdin.readline()
    """)

    def __init__(self, path, how: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(path), how], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
        assert self.proc.stdout.readline().strip() == "ready"

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.mark.parametrize("how", ["connection", "window"])
def test_restore_refuses_while_another_program_has_the_file_open(tmp_path, how):
    live = tiny_database(tmp_path / "k.sqlite3")
    copy = maintenance.backup(live, tmp_path / "copy.sqlite3")
    con = sqlite3.connect(live)
    con.execute("DELETE FROM settings")
    con.commit()
    con.close()
    holder = Holder(live, how)
    try:
        with pytest.raises(StorageError) as refused:
            maintenance.restore(copy, live)
        assert refused.value.code == "DB_IN_USE" and "nothing was restored" in refused.value.en
        if how == "window":
            # Which program to close: the one that holds the window's lock, with its process.
            assert f"kezhan gui (process {holder.proc.pid}" in refused.value.en
        assert _settings(live) == 0  # the live file is as the counter left it
        assert not list(tmp_path.glob("k.sqlite3.before-restore-*"))
    finally:
        holder.close()
    maintenance.restore(copy, live)  # closed: the restore goes through
    assert _settings(live) > 0


def test_a_second_window_on_one_database_is_refused_naming_the_first(tmp_path):
    live = tiny_database(tmp_path / "k.sqlite3")
    holder = Holder(live, "window")
    try:
        with pytest.raises(StorageError) as refused:
            hold_station(live, "kezhan gui")
        assert refused.value.code == "DB_IN_USE"
        assert f"kezhan gui（进程 {holder.proc.pid}" in refused.value.message
    finally:
        holder.close()
    with hold_station(live, "kezhan gui"):  # the first has gone: the lock died with it
        pass


def test_a_damaged_file_is_refused_before_anything_is_sold_into_it(tmp_path):
    live = tiny_database(tmp_path / "k.sqlite3")
    _scribble(live)
    assert not maintenance.check(live).ok
    with pytest.raises(StorageError) as refused:
        open_station(live, verify=True)
    error = refused.value
    assert error.code == "DB_CORRUPT"
    for way_out in ("kezhan db check --full", "kezhan db restore", "kezhan sync enrol"):
        assert way_out in error.message and way_out in error.en


def test_an_intact_file_opens_with_the_check(tmp_path):
    live = tiny_database(tmp_path / "k.sqlite3")
    db = open_station(live, verify=True)
    db.dispose()


def test_a_zero_byte_file_is_refused_not_made_a_new_database(tmp_path):
    live = tmp_path / "k.sqlite3"
    live.write_bytes(b"")
    with pytest.raises(StorageError) as refused:
        open_database(live)
    assert refused.value.code == "DB_EMPTY" and "kezhan db restore" in refused.value.en
    assert live.stat().st_size == 0
    # The deliberate set-up path still makes one there.
    assert migrate(live)["to"]
    assert live.stat().st_size > 0


@pytest.mark.parametrize("folder", ["station#1", "100%", "a%23b", "x?mode=rw"])
def test_backup_restore_and_migrate_in_a_folder_named_like_uri_syntax(tmp_path, folder):
    live = tiny_database(tmp_path / folder / "k.sqlite3")
    assert _settings(live) > 0
    copy = maintenance.backup(live, tmp_path / folder / "copy.sqlite3")
    assert _settings(copy) == _settings(live)  # the backup holds the data, not an empty database
    assert maintenance.check(copy).ok
    con = sqlite3.connect(live)
    con.execute("DELETE FROM settings")
    con.commit()
    con.close()
    maintenance.restore(copy, live)
    assert _settings(live) > 0
