"""A terminal's data folder copied to a second PC is caught before the copy sells (issue 11, finding 5:
a cloned terminal sold 20 ticket ids and stock numbers the first PC also sold before anyone noticed).

Real files, the reference server over loopback; the second PC is played by a machine fingerprint
other than this one's, which is all that tells two PCs apart here.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
import requests

from app.errors import RuleViolation
from app.store.engine import open_database
from sync.client import SyncClient, make_terminal
from tests.integration.sync_client.helpers import ADMIN, TerminalRig, check_invariants, departure_ids

SECOND_PC = "fingerprint-of-a-second-pc"


def _copy_data_folder(rig, folder):
    """What a technician's copy of the folder holds: the database and the files beside it."""
    folder.mkdir()
    con = sqlite3.connect(rig.path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for name in (rig.path.name, rig.path.name + ".instance"):
        shutil.copyfile(rig.path.parent / name, folder / name)
    return folder / rig.path.name


def _terminal_on(path, server, **kw) -> TerminalRig:
    db = open_database(path)
    terminal = make_terminal(db)
    client = SyncClient(db, server_url=server.url, terminal=terminal, timeout=(1.0, 3.0), **kw)
    return TerminalRig(path, db, terminal, client)


def _server_alarms(server, kind: str) -> list[dict]:
    return [a for a in server.server.alarms() if a["kind"] == kind]


def test_a_copied_data_folder_on_a_second_pc_never_sells_and_the_province_is_told(server, rigs, tmp_path):
    first = rigs()
    assert first.client.run_once().ok
    first.open_shift("00100001")
    dep = departure_ids()[0]
    first.sell(dep)
    assert first.client.drain(timeout=10)

    clone = _terminal_on(_copy_data_folder(first, tmp_path / "second-pc"), server, machine=SECOND_PC)
    try:
        # Before any request: the file knows it was last used by another instance.
        assert clone.client.instance_id != first.client.instance_id
        assert clone.client.alarm()["code"] == "INSTANCE_NEW"
        with pytest.raises(RuleViolation) as held:
            clone.sell(dep)
        assert held.value.code == "SYNC_ALARM" and "数据文件夹被复制或搬移" in held.value.text("zh")

        for _ in range(2):
            assert clone.client.run_once().error_kind == "alarm"
        alarm = clone.client.alarm()
        assert alarm["code"] == "INSTANCE_CONFLICT"
        assert "本机的数据是复制来的副本" in alarm["message"] and "in use by the data on another PC" in alarm["en"]
        assert clone.client.current_status().state == "alarm"
        with pytest.raises(RuleViolation) as stopped:
            clone.sell(dep)
        assert stopped.value.code == "SYNC_ALARM"
        assert len(_server_alarms(server, "INSTANCE_CONFLICT")) == 1  # one alarm per clone, not per request

        # The original PC sells and syncs on, untouched.
        first.sell(dep)
        assert first.client.drain(timeout=10)
        assert first.client.alarm() is None
        check_invariants(server, [first])
        assert [seq for (seq, _h) in clone.outbox()] == [1, 2]  # the copy sold nothing
    finally:
        clone.close()


def test_the_same_folder_on_the_same_pc_is_the_same_instance(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    again = SyncClient(rig.db, server_url=server.url, terminal=rig.terminal, timeout=(1.0, 3.0))
    try:
        assert again.instance_id == rig.client.instance_id
        assert again.alarm() is None and again.run_once().ok
    finally:
        again.close()


def test_a_pc_really_replaced_is_let_in_by_the_admin_and_the_old_one_is_then_refused(server, rigs, tmp_path):
    old = rigs()
    assert old.client.run_once().ok
    new = _terminal_on(_copy_data_folder(old, tmp_path / "new-pc"), server, machine=SECOND_PC)
    try:
        assert new.client.run_once().error_kind == "alarm"
        r = requests.post(f"{server.url}/v1/admin/terminals/{old.client.terminal_id}/release-instance",
                          headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}, timeout=10)
        assert r.status_code == 200 and r.json()["released"] is True
        new.client.clear_alarm()  # the technician, once the province has released the old PC
        assert new.client.run_once().ok and new.client.alarm() is None
        assert old.client.run_once().error_kind == "alarm"
        assert old.client.alarm()["code"] == "INSTANCE_CONFLICT"
    finally:
        new.close()
