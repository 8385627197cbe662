"""The worker loop: woken by each local event, backing off while the link is down, stopped by its event;
and a revoked terminal stops syncing with an alarm."""

from __future__ import annotations

import random
import time

import requests

from sync.client import Backoff
from tests.integration.sync_client.helpers import ADMIN, departure_ids


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling():
    b = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    ceilings = [0.5, 1, 2, 4, 8, 8, 8]
    delays = [b.next_delay() for _ in ceilings]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # drawn, not fixed
    b.reset()
    assert b.next_delay() <= 0.5


def test_a_local_event_wakes_the_loop_long_before_its_timer(server, rigs):
    rig = rigs(interval=60.0)
    assert rig.client.run_once().ok
    rig.open_shift()
    rig.client.start()
    time.sleep(0.2)  # the loop's first cycle is done; it now sleeps for a minute
    rig.sell(departure_ids()[0])
    rig.client.poke()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and rig.client.pending_events():
        time.sleep(0.02)
    assert rig.client.pending_events() == 0
    started = time.monotonic()
    rig.client.stop()
    assert time.monotonic() - started < 2  # stop wakes it too


def test_while_the_link_is_down_the_loop_backs_off_instead_of_hammering(server, proxy, rigs):
    rig = rigs(via=proxy, backoff_base=0.1, backoff_cap=0.4, interval=60.0)
    assert rig.client.run_once().ok
    proxy.cut()
    before = len(rig.statuses)
    rig.client.start()
    time.sleep(1.5)
    rig.client.stop()
    attempts = len(rig.statuses) - before
    assert 3 <= attempts <= 40
    assert rig.statuses[-1].state == "offline"


def test_a_revoked_terminal_stops_syncing_with_an_alarm(server, rigs):
    rig = rigs()
    assert rig.client.run_once().ok
    requests.post(server.url + f"/v1/admin/terminals/{rig.client.terminal_id}/revoke", timeout=10,
                  headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}).raise_for_status()
    report = rig.client.run_once()
    assert report.error_kind == "alarm"
    assert rig.statuses[-1].state == "alarm" and rig.statuses[-1].alarm == "TERMINAL_REVOKED"
    assert rig.client.run_once().error_kind == "alarm"
