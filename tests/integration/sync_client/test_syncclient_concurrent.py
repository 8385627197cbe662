"""Several terminals selling at once, each behind a link that randomly loses requests and answers,
while the web channel sells the same departures: afterwards every sale is on the server exactly once,
no seat has two live tickets, and every conflict is a task on its terminal."""

from __future__ import annotations

import random
import threading
import time

from app.errors import RuleViolation
from tests.integration.sync_client.helpers import check_invariants, departure_ids
from tests.integration.sync_client.proxy import FaultProxy
from tests.integration.sync_client.test_syncclient_pull import web_sale


def test_concurrent_terminals_through_lossy_links_with_a_web_channel(server, rigs):
    proxies = [FaultProxy(server.port) for _ in range(3)]
    try:
        terminals = []
        for i, p in enumerate(proxies):
            rng = random.Random(100 + i)
            faults = [("drop_request", None), ("drop_response", None), ("cut_response", None), None, None, None]
            p.chooser = lambda line, rng=rng, faults=faults: rng.choice(faults) if "/v1/events" in line else None
            rig = rigs(via=p, batch_size=4, interval=0.2)
            rig.client.run_once()  # may or may not get through the lossy link; the loop carries on
            rig.open_shift()
            terminals.append(rig)
        deps = departure_ids()[:3]
        for rig in terminals:
            rig.client.start()
        sold: dict[str, list[str]] = {}

        def counter(rig, seed):
            rng = random.Random(seed)
            for _ in range(15):
                try:
                    sold.setdefault(rig.client.terminal_id, []).extend(rig.sell(rng.choice(deps)).ticket_ids)
                except RuleViolation:
                    pass
                rig.client.poke()
                time.sleep(rng.uniform(0, 0.03))

        def web():
            rng = random.Random(7)
            for _ in range(20):
                try:
                    web_sale(server, rng.choice(deps))
                except AssertionError:
                    pass  # sold out on the server: the web channel is refused, as it should be
                time.sleep(rng.uniform(0, 0.03))

        threads = [threading.Thread(target=counter, args=(rig, i)) for i, rig in enumerate(terminals)]
        threads.append(threading.Thread(target=web))
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for p in proxies:
            p.chooser = None  # the links heal
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(r.client.pending_events() for r in terminals):
            time.sleep(0.05)
        for rig in terminals:
            rig.client.stop()
            assert rig.client.run_once().ok  # one last pull: conflicts of the last batches become tasks
        assert all(r.client.pending_events() == 0 for r in terminals)
        assert sum(len(v) for v in sold.values()) >= 30
        assert any(kind != "pass" for p in proxies for _, kind in p.log)  # faults did happen
        check_invariants(server, terminals)
    finally:
        for p in proxies:
            p.close()
