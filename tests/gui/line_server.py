"""The reference server on loopback with the small test line, for the window's sync tests (the
``server`` fixture in conftest.py), and the helpers those tests share."""

from __future__ import annotations

from tests.integration.line_province import HOME, departure, line_province

ADMIN = "admin-token-for-gui-tests"
CLERK, CLERK_PW = "1001", "clerk-one"


def province_doc() -> dict:
    """The test line, its departures tomorrow and the day after."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    days = [(datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=n)).date().isoformat() for n in (1, 2)]
    return line_province([departure(day, hhmm, 40) for day in days for hhmm in ("09:00", "13:00")], seats=40)


def issue_code(server_url: str) -> str:
    import requests

    r = requests.post(server_url + "/v1/admin/enrolment-codes", json={"station": HOME},
                      headers={"Authorization": f"Bearer {ADMIN}", "Kezhan-Protocol": "1"}, timeout=10)
    r.raise_for_status()
    return r.json()["code"]


def server_events(srv, terminal_id: str) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from sync.server import models

    events = models.events
    with srv.server.engine.connect() as conn:
        query = select(events.c.seq, events.c.hash).where(events.c.terminal_id == terminal_id)
        return [tuple(r) for r in conn.execute(query.order_by(events.c.seq))]


def line_server(tmp_path):
    from sync.server import ServerThread

    srv = ServerThread(str(tmp_path / "server.sqlite3"), admin_token=ADMIN, province=province_doc(),
                       sweep_interval=None)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
