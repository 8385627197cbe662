"""Acknowledged sales lost from the terminal's file are detected, and their numbers never reused
(issue 11, finding 4: one bit flipped in the WAL lost acknowledged sales, ``db check`` passed and the
next sale reused the lost ticket id, stock number and seq).

A real SQLite file, a real WAL with one byte flipped in its first frame (SQLite then drops every
transaction from that frame on, as after a torn write), and the reference server over loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from app.errors import RuleViolation, StorageError
from app.services.recovery import confirm_next_stock_no
from app.store import maintenance
from app.store.engine import open_database
from sync.client import SyncClient, make_terminal
from tests.integration.sync_client.helpers import CLERK, TerminalRig, departure_ids, server_events


def _counter(path, name: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]
    finally:
        con.close()


def _flip_first_wal_frame(wal) -> None:
    data = bytearray(wal.read_bytes())
    assert len(data) > 32 + 24 + 4096, "the last sales should still be in the WAL"
    data[32 + 24 + 300] ^= 0x01  # one bit of the first frame's page
    wal.write_bytes(bytes(data))


def _sold_then_flipped(server, rigs, tmp_path):
    """Three sales checkpointed into the file, two more only in the WAL, all five acknowledged by the
    server; then the file and its WAL as the PC finds them after the flip."""
    rig = rigs()
    assert rig.client.run_once().ok
    rig.open_shift("00100001")
    dep = departure_ids()[0]
    for _ in range(3):
        rig.sell(dep)
    assert rig.client.drain(timeout=10)
    con = sqlite3.connect(rig.path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for _ in range(2):
        rig.sell(dep)
    assert rig.client.drain(timeout=10)
    # 1 is the shift's opening, 2..6 the sales
    assert [seq for seq, _ in server_events(server, rig.client.terminal_id)] == [1, 2, 3, 4, 5, 6]
    copy = tmp_path / "after-the-flip" / "kezhan.sqlite3"
    copy.parent.mkdir()
    shutil.copyfile(rig.path, copy)
    shutil.copyfile(str(rig.path) + "-wal", str(copy) + "-wal")
    shutil.copyfile(str(rig.path) + ".instance", str(copy) + ".instance")  # the same PC, restarted
    _flip_first_wal_frame(copy.with_name(copy.name + "-wal"))
    return rig, copy


def test_a_flipped_wal_bit_that_lost_acknowledged_sales_stops_selling_and_no_number_is_reused(
    server, rigs, tmp_path
):
    first, copy = _sold_then_flipped(server, rigs, tmp_path)
    terminal_id = first.client.terminal_id
    first.client.close()
    db = open_database(copy, verify=True)  # consistent, only behind: the file's own checks pass
    terminal = make_terminal(db)
    client = SyncClient(db, server_url=server.url, terminal=terminal, timeout=(1.0, 3.0))
    rig = TerminalRig(copy, db, terminal, client)
    try:
        assert rig.outbox()[-1][0] == 4, "the flip should have dropped the last two sales"
        dep = departure_ids()[0]

        # Before any request: the acknowledged seq noted beside the file is past its counter.
        assert client.alarm()["code"] == "EVENTS_LOST"
        with pytest.raises(RuleViolation) as held:
            rig.sell(dep)
        assert held.value.code == "SYNC_ALARM" and "缺少省平台已确认的事件" in held.value.text("zh")

        report = client.run_once()  # the next sync meets the server's acknowledged seq
        assert report.error_kind == "alarm"
        alarm = client.alarm()
        assert alarm["code"] == "ROLLED_BACK" and alarm["server_high_water"] == 6 and alarm["local_last"] == 4
        assert "丢失了已确认的售票" in alarm["message"] and "acknowledged sales were lost" in alarm["en"]
        with pytest.raises(RuleViolation) as stopped:
            rig.sell(dep)
        assert stopped.value.code == "SYNC_ALARM"
        assert _counter(copy, f"outbox_seq:{terminal_id}") == 6
        assert _counter(copy, f"ticket_seq:{terminal_id}") == 5

        client.clear_alarm()  # the technician has looked
        with pytest.raises(RuleViolation) as roll:
            rig.sell(dep)
        assert roll.value.code == "STOCK_CONFIRM_REQUIRED"
        assert "00100005" in roll.value.text("zh") and "next blank on the roll" in roll.value.text("en")
        now = datetime.now(UTC)
        with pytest.raises(RuleViolation) as printed:
            confirm_next_stock_no(db, terminal, clerk=CLERK, stock_no="00100004", now=now)
        assert printed.value.code == "STOCK_NO_USED"
        confirmed = subprocess.run(  # the clerk reads the next blank off the roll
            [sys.executable, "-m", "app", "db", "--db", str(copy), "confirm-stock", "--clerk", CLERK,
             "--next", "00100006", "--json"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ, KEZHAN_HOME=str(tmp_path / "home")))
        assert confirmed.returncode == 0, confirmed.stderr
        assert json.loads(confirmed.stdout) == {"next_stock_no": "00100006"}

        sale = rig.sell(dep)
        assert sale.seq == 7
        assert sale.print_jobs[0].stock_no == "00100006"
        assert sale.ticket_ids[0].endswith("0000000006")
        assert client.drain(timeout=10)
        assert client.alarm() is None
        assert [seq for seq, _ in server_events(server, terminal_id)] == [1, 2, 3, 4, 5, 6, 7]
        ids = [t["ticket_id"] for t in server.server.export_tickets() if t.get("terminal_id") == terminal_id]
        assert len(ids) == len(set(ids)) == 6
        assert [a for a in server.server.alarms() if a["kind"] == "SEQ_REUSE"] == []
        assert maintenance.check(copy).ok  # the skipped seqs are a recorded gap, not damage
    finally:
        client.close()
        db.dispose()


def test_rows_removed_behind_sqlites_back_fail_db_check_and_the_window_does_not_open(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    rig.open_shift("00100001")
    for _ in range(4):
        rig.sell(departure_ids()[1])
    assert maintenance.check(rig.path).ok
    rig.client.close()
    rig.db.dispose()
    con = sqlite3.connect(rig.path)
    with con:
        con.execute("DELETE FROM outbox WHERE seq > 2")
        con.execute("UPDATE stock_rolls SET next_no = '00100003'")
    con.close()
    report = maintenance.check(rig.path)
    assert not report.ok
    assert any("events 3..5 are missing" in p for p in report.counters)
    assert any("the next blank 00100003 is already on a ticket" in p for p in report.counters)
    with pytest.raises(StorageError) as refused:
        open_database(rig.path, verify=True)
    assert refused.value.code == "DB_CORRUPT"
    assert "kezhan db check --full" in refused.value.text("zh")
