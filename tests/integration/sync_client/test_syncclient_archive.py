"""Events the archive moved out of the live file still reach a server that lost them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.services import close_shift
from app.services.retention import archive_old_rows
from app.store.engine import backup_file
from sync.client.client import CURSOR_ACKED
from tests.integration.sync_client.helpers import ADMIN, CLERK, departure_ids, province_doc, server_events


def test_a_server_restored_from_its_backup_gets_the_archived_events_again(server, rigs, tmp_path):
    from sync.server import ServerThread

    rig = rigs()
    assert rig.client.run_once().ok
    server_copy = backup_file(tmp_path / "server.sqlite3", tmp_path / "server-before-sales.sqlite3")
    rig.open_shift()
    for dep in departure_ids()[:3]:
        rig.sell(dep)
    close_shift(rig.db, rig.terminal, clerk=CLERK, now=datetime.now(UTC))
    assert rig.client.run_once().ok
    everything = rig.outbox()
    assert server_events(server, rig.client.terminal_id) == everything

    # Ten days on, with a week's window for events: all but the newest acknowledged one are archived.
    report = archive_old_rows(rig.db, keep_days=7, zone=ZoneInfo("Asia/Shanghai"),
                              now=datetime.now(UTC) + timedelta(days=10), acked_cursor=CURSOR_ACKED)
    assert report.moved["outbox"] == len(everything) - 1
    assert rig.outbox() == everything[-1:]

    # The province's server comes back from a backup taken before any of these events.
    port = server.port
    server.stop()
    (tmp_path / "server.sqlite3").unlink()
    backup_file(server_copy, tmp_path / "server.sqlite3")
    restored = ServerThread(str(tmp_path / "server.sqlite3"), admin_token=ADMIN, province=province_doc(),
                            sweep_interval=None, port=port)
    restored.start()
    try:
        rig.client._probed = False  # as at the terminal's next start
        report = rig.client.run_once()
        assert report.ok, report
        assert server_events(restored, rig.client.terminal_id) == everything
    finally:
        restored.stop()
