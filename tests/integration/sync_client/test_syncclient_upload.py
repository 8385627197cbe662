"""Exactly-once upload through a link that loses requests and answers, and the alarms a terminal
restored from an older backup must raise."""

from __future__ import annotations

import shutil
import time

import pytest

from app.cli import main
from app.errors import RuleViolation
from app.store.engine import backup_file, open_database
from sync.client import SyncClient, make_terminal
from tests.integration.sync_client.helpers import check_invariants, departure_ids, server_events


def test_every_sale_reaches_the_server_once_through_lost_requests_and_answers(server, proxy, rigs):
    rig = rigs(via=proxy, batch_size=3, timeout=(1.0, 1.0))
    assert rig.client.run_once().ok
    rig.open_shift()
    deps = departure_ids()
    for i in range(12):
        rig.sell(deps[i % 3])
    proxy.match = "/v1/events"
    proxy.faults(
        ("drop_request", None),  # never reached the server
        ("drop_response", None),  # committed on the server, the terminal never heard
        ("cut_response", None),  # committed, answer cut mid-body
        ("delay", 1.6),  # committed, answer later than the terminal waits
        None,
        ("drop_response", None),
    )
    reports = []
    for _ in range(20):
        reports.append(rig.client.run_once())
        if reports[-1].ok and rig.client.pending_events() == 0:
            break
    assert rig.client.pending_events() == 0
    assert [r.error_kind for r in reports[:4]] == ["link"] * 4
    # The batches whose answers were lost came back as acknowledged duplicates, not second copies.
    assert sum(r.duplicates for r in reports) >= 3
    check_invariants(server, [rig])
    assert len(server.server.export_tickets()) == 12


def test_queue_drains_when_the_link_returns_without_new_sales(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    rig.open_shift()
    proxy.cut()
    assert not rig.client.run_once().ok
    status = rig.statuses[-1]
    assert status.state == "offline" and status.offline_since is not None
    deps = departure_ids()
    sold = [rig.sell(deps[i % 6]) for i in range(8)]  # offline: from leased seats only
    assert rig.client.pending_events() == 9
    rig.client.start()
    time.sleep(0.5)
    assert rig.client.pending_events() == 9  # still cut: nothing went anywhere, nothing was lost
    proxy.restore()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (rig.client.pending_events() or not rig.client.online):
        time.sleep(0.05)
    rig.client.stop()
    assert rig.client.pending_events() == 0
    assert rig.statuses[-1].state == "online" and rig.statuses[-1].pending_events == 0
    check_invariants(server, [rig])
    on_server = {t["ticket_id"] for t in server.server.export_tickets()}
    assert {tid for s in sold for tid in s.ticket_ids} <= on_server


def test_a_gap_is_resent_from_the_seq_the_server_expects(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    rig.open_shift()
    for dep in departure_ids()[:3]:
        rig.sell(dep)
    # The terminal believes the first two were acknowledged; the server has none of them.
    with rig.db.transaction() as session:
        from sqlalchemy import text

        session.execute(text("INSERT INTO sync_cursors (name, value) VALUES ('upload_acked', '2') "
                             "ON CONFLICT (name) DO UPDATE SET value = '2'"))
    report = rig.client.run_once()
    assert report.ok, report
    assert server_events(server, rig.client.terminal_id) == rig.outbox()
    check_invariants(server, [rig])


def _synced_sale_and_backup(rig, backup_path):
    """A shift and one sale, uploaded; then a backup of the file as it stands. Returns the departures
    and the backup."""
    assert rig.client.run_once().ok
    rig.open_shift()
    deps = departure_ids()
    rig.sell(deps[0])
    assert rig.client.run_once().ok
    return deps, backup_file(rig.path, backup_path)


def _restore(rig, backup, server, **kw):
    rig.client.close()
    rig.db.dispose()
    for suffix in ("-wal", "-shm"):
        rig.path.with_name(rig.path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, rig.path)
    rig.db = open_database(rig.path)
    rig.terminal = make_terminal(rig.db)
    rig.client = SyncClient(rig.db, server_url=server.url, terminal=rig.terminal, on_status=rig.statuses.append,
                            **kw)


def _restore_one_sale_back(rig, server, tmp_path):
    """A backup after the first uploaded sale, a second sale uploaded, then that backup restored:
    the file stands one acknowledged sale behind the server."""
    deps, backup = _synced_sale_and_backup(rig, tmp_path / "older.sqlite3")
    rig.sell(deps[1])
    assert rig.client.run_once().ok
    _restore(rig, backup, server)


def test_database_restored_from_an_older_backup_is_detected_not_merged(server, rigs, tmp_path):
    rig = rigs()
    deps, backup = _synced_sale_and_backup(rig, tmp_path / "older.sqlite3")
    # A backup of the whole data folder: the instance file beside the database is as old as the
    # file (with today's, the copy is caught before it sells: test_syncclient_lost_events).
    beside = rig.path.with_name(rig.path.name + ".instance")
    older_beside = beside.read_bytes()
    for dep in deps[1:4]:
        rig.sell(dep)
    assert rig.client.run_once().ok
    before = server_events(server, rig.client.terminal_id)
    assert len(before) == 5

    beside.write_bytes(older_beside)
    _restore(rig, backup, server)
    # The restored file sells again: its next seq is one the server already holds, with other content.
    rig.sell(deps[4], seat_no=30)
    report = rig.client.run_once()
    assert not report.ok and report.error_kind == "alarm"
    status = rig.statuses[-1]
    assert status.state == "alarm" and status.alarm == "SEQ_REUSE"
    assert "备份" in status.alarm_message
    assert server_events(server, rig.client.terminal_id) == before  # nothing merged
    assert any(a["kind"] == "SEQ_REUSE" for a in server.server.alarms())
    # The alarm survives a restart and keeps the uploader stopped.
    rig.client.close()
    again = SyncClient(rig.db, server_url=server.url, on_status=rig.statuses.append)
    try:
        assert again.run_once().error_kind == "alarm"
        assert rig.statuses[-1].alarm == "SEQ_REUSE"
    finally:
        again.close()
    assert server_events(server, rig.client.terminal_id) == before


def test_restored_backup_is_detected_before_it_sells_again(server, rigs, tmp_path):
    rig = rigs()
    _restore_one_sale_back(rig, server, tmp_path)
    # Put the acknowledged cursor back a step too, as if the backup predated the last upload.
    with rig.db.transaction() as session:
        from sqlalchemy import text

        session.execute(text("UPDATE sync_cursors SET value = '1' WHERE name = 'upload_acked'"))
    report = rig.client.run_once()
    assert report.error_kind == "alarm"
    assert rig.statuses[-1].alarm == "ROLLED_BACK"


def test_restored_backup_is_caught_at_start_up_even_with_nothing_to_send(server, rigs, tmp_path):
    rig = rigs()
    # Everything acknowledged: the backup holds a clean state.
    _restore_one_sale_back(rig, server, tmp_path)
    assert rig.client.pending_events() == 0
    report = rig.client.run_once()
    assert report.error_kind == "alarm"
    assert rig.statuses[-1].alarm == "ROLLED_BACK"
    assert len(server_events(server, rig.client.terminal_id)) == 3


def test_the_start_up_probe_is_harmless_for_a_healthy_terminal(server, proxy, rigs):
    rig = rigs(via=proxy)
    assert rig.client.run_once().ok
    rig.open_shift()
    rig.sell(departure_ids()[0])
    assert rig.client.drain(timeout=10)
    rig.client.close()
    again = SyncClient(rig.db, server_url=proxy.url)
    try:
        report = again.run_once()
        assert report.ok and report.duplicates == 0
        assert any("/v1/events" in line for line, _ in proxy.log[-4:])
    finally:
        again.close()
    check_invariants(server, [rig])


def _batches_uploaded(server, monkeypatch) -> list[int]:
    """The first seq of every batch the server is handed."""
    seen: list[int] = []
    upload = server.server.upload

    def recording(terminal_id, events, **how):
        seen.append(events[0]["seq"])
        return upload(terminal_id, events, **how)

    monkeypatch.setattr(server.server, "upload", recording)
    return seen


def _selling_rig(rigs, departures):
    """A terminal with batches of two, synced, then a shift opened and a sale on each departure."""
    rig = rigs(batch_size=2)
    assert rig.client.run_once().ok
    rig.open_shift()
    for dep in departures:
        rig.sell(dep)
    return rig


def test_a_gap_answer_sends_the_missing_batches_before_any_later_one(server, rigs, monkeypatch):
    rig = _selling_rig(rigs, departure_ids()[:6])
    assert rig.client.pending_events() == 7
    with rig.db.transaction() as session:
        from sqlalchemy import text

        session.execute(text("INSERT INTO sync_cursors (name, value) VALUES ('upload_acked', '2') "
                             "ON CONFLICT (name) DO UPDATE SET value = '2'"))
    seen = _batches_uploaded(server, monkeypatch)
    report = rig.client.run_once()
    assert report.ok, report
    # 3-4 went out first; the gap answer sends 1-2 next, never a batch after 3-4.
    assert seen[:3] == [3, 1, 3]
    assert list(dict.fromkeys(seen[3:])) == [5, 7]
    assert server_events(server, rig.client.terminal_id) == rig.outbox()
    assert rig.client.pending_events() == 0
    check_invariants(server, [rig])


def test_no_batch_goes_after_a_seq_reuse_alarm(server, rigs, monkeypatch):
    rig = _selling_rig(rigs, departure_ids()[:3])
    assert rig.client.run_once().ok and rig.client.pending_events() == 0
    for dep in departure_ids()[3:6]:
        rig.sell(dep)
    # The terminal forgets that 3-4 were acknowledged, and its event 3 is now another one (well
    # formed, hashed as such): the server holds a different event under that seq.
    import json

    from sqlalchemy import text

    from app.domain.events import event_hash

    with rig.db.transaction() as session:
        row = session.execute(text("SELECT terminal_id, seq, event_id, type, created_at, payload FROM outbox "
                                   "WHERE seq = 3")).one()
        ev = dict(row._mapping, payload=json.loads(row.payload), created_at="2026-01-01T00:00:00Z")
        session.execute(text("UPDATE sync_cursors SET value = '2' WHERE name = 'upload_acked'"))
        session.execute(text("UPDATE outbox SET created_at = :c, hash = :h WHERE seq = 3"),
                        {"c": ev["created_at"], "h": event_hash(ev)})
    seen = _batches_uploaded(server, monkeypatch)
    report = rig.client.run_once()
    assert not report.ok
    assert seen == [3]
    assert rig.client.alarm()["code"] == "SEQ_REUSE"


def _restore_with_kezhan(rig, backup, server):
    """As a technician does it: `kezhan db restore`, then the counter starts again on the file."""
    rig.client.close()
    rig.db.dispose()
    assert main(["db", "--db", str(rig.path), "restore", str(backup)]) == 0
    rig.db = open_database(rig.path)
    rig.terminal = make_terminal(rig.db)
    rig.client = SyncClient(rig.db, server_url=server.url, terminal=rig.terminal, on_status=rig.statuses.append)


def test_a_restored_file_sells_only_after_the_server_has_agreed_with_it(server, proxy, rigs, tmp_path):
    rig = rigs(via=proxy)
    deps, backup = _synced_sale_and_backup(rig, tmp_path / "after-sync.sqlite3")  # nothing sold since: it agrees
    _restore_with_kezhan(rig, backup, server)
    rig.client = SyncClient(rig.db, server_url=proxy.url, terminal=rig.terminal, on_status=rig.statuses.append)
    # Offline, the restored file cannot know whether the server holds its next numbers: no sale.
    proxy.cut()
    assert not rig.client.run_once().ok
    with pytest.raises(RuleViolation) as refused:
        rig.sell(deps[1])
    assert refused.value.code == "SYNC_ALARM" and "备份恢复" in refused.value.message
    assert rig.client.alarm()["code"] == "RESTORED"
    # Back online, the probe finds the server in agreement: the alarm clears itself and sales go on.
    proxy.restore()
    assert rig.client.run_once().ok
    assert rig.client.alarm() is None
    rig.sell(deps[1])
    assert rig.client.drain(timeout=10)
    check_invariants(server, [rig])


def test_a_restored_older_file_turns_the_restore_alarm_into_a_rollback_alarm(server, rigs, tmp_path):
    rig = rigs()
    deps, backup = _synced_sale_and_backup(rig, tmp_path / "older.sqlite3")
    rig.sell(deps[1])
    assert rig.client.run_once().ok
    before = server_events(server, rig.client.terminal_id)
    _restore_with_kezhan(rig, backup, server)
    # The server holds an event this file never wrote: never cleared, a standing rollback alarm.
    report = rig.client.run_once()
    assert not report.ok and report.error_kind == "alarm"
    assert rig.client.alarm()["code"] == "ROLLED_BACK"
    with pytest.raises(RuleViolation) as refused:
        rig.sell(deps[2])
    assert refused.value.code == "SYNC_ALARM"
    assert server_events(server, rig.client.terminal_id) == before


def test_a_file_restored_from_before_its_first_event_is_caught_too(server, rigs, tmp_path):
    """Nothing in the restored outbox to send again: the probe asks with an empty batch, and the
    events the server holds for this terminal make it a rollback, before a ticket number is reused."""
    rig = rigs()
    assert rig.client.run_once().ok
    backup = backup_file(rig.path, tmp_path / "enrolled.sqlite3")
    rig.open_shift()
    deps = departure_ids()
    rig.sell(deps[0])
    assert rig.client.run_once().ok
    before = server_events(server, rig.client.terminal_id)
    assert len(before) == 2
    _restore_with_kezhan(rig, backup, server)
    assert rig.client.last_seq() == 0
    report = rig.client.run_once()
    assert not report.ok and report.error_kind == "alarm"
    assert rig.client.alarm()["code"] == "ROLLED_BACK"
    assert rig.client.alarm()["server_high_water"] == 2
    with pytest.raises(RuleViolation) as refused:
        rig.sell(deps[1])
    assert refused.value.code == "SYNC_ALARM"
    assert server_events(server, rig.client.terminal_id) == before


def test_a_file_restored_from_before_its_first_event_sells_again_where_the_server_has_nothing(server, rigs, tmp_path):
    rig = rigs()
    assert rig.client.run_once().ok
    backup = backup_file(rig.path, tmp_path / "enrolled.sqlite3")
    _restore_with_kezhan(rig, backup, server)
    assert rig.client.run_once().ok
    assert rig.client.alarm() is None
    rig.open_shift()
    rig.sell(departure_ids()[0])
    assert rig.client.drain(timeout=10)
    check_invariants(server, [rig])
