"""The real reference server on loopback, a fault-injecting proxy in front of it, and terminals that
sell through app.services and sync through sync.client."""

from __future__ import annotations

import itertools

import pytest

from tests.integration.sync_client.helpers import ADMIN, TerminalRig, province_doc
from tests.integration.sync_client.proxy import FaultProxy


@pytest.fixture
def server(tmp_path):
    from sync.server import ServerThread

    srv = ServerThread(str(tmp_path / "server.sqlite3"), admin_token=ADMIN, province=province_doc(),
                       sweep_interval=None)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def proxy(server):
    p = FaultProxy(server.port)
    yield p
    p.close()


@pytest.fixture
def rigs(server, tmp_path):
    made: list[TerminalRig] = []
    counter = itertools.count(1)

    def make(*, via: FaultProxy | None = None, **client_kw) -> TerminalRig:
        rig = TerminalRig.create(server, tmp_path / f"terminal{next(counter)}", via=via, **client_kw)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()
