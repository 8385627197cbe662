"""SIGKILL of the terminal process while it uploads: nothing is lost, nothing is doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.client import SyncClient
from tests.integration.sync_client.helpers import check_invariants, departure_ids, server_events

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_sigkill_mid_upload_loses_nothing(server, proxy, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    rig.open_shift()
    deps = departure_ids()
    for i in range(120):
        rig.sell(deps[i % 6])
    total = rig.client.last_seq()
    rig.client.close()
    # Every answer to an upload is held back a while after the server committed the batch: a kill
    # in that window is the worst case (committed there, not acknowledged here).
    proxy.match = "/v1/events"
    proxy.mode = ("delay", 0.25)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for _round in range(2):
        child = subprocess.Popen([sys.executable, "-m", "tests.integration.sync_client.crash_child", str(rig.path),
                                  proxy.url], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "READY"
            seen = len([r for r in proxy.log if "/v1/events" in r[0]])
            deadline = time.monotonic() + 20
            while len([r for r in proxy.log if "/v1/events" in r[0]]) < seen + 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)  # inside the held-back answer
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            kills += 1
    on_server = len(server_events(server, rig.client.terminal_id))
    assert 0 < on_server < total
    acked = int(rig.rows("SELECT value FROM sync_cursors WHERE name = 'upload_acked'")[0][0])
    assert acked < on_server  # the kill landed between the server's commit and the local acknowledgement
    proxy.mode = None
    rig.client = SyncClient(rig.db, server_url=proxy.url)
    first = rig.client.run_once()
    assert first.ok and first.duplicates > 0  # the batch committed before the kill came back as known
    assert rig.client.drain(timeout=20)
    check_invariants(server, [rig])
    assert len(server.server.export_tickets()) == 120
    assert kills == 2
