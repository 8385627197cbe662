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


def enrolled_station(server, path):
    """A new terminal file at ``path`` with the clerk, enrolled with ``server``; open, for the
    caller to use or dispose of."""
    from app.store.engine import open_database
    from app.store.users import ensure_user
    from sync.client import enrol

    db = open_database(path)
    with db.transaction() as session:
        ensure_user(session, CLERK, "王售票", "clerk", CLERK_PW)
    enrol(db, server.url, issue_code(server.url))
    return db


def enrolled_window(qtbot, server, path, **client_kw):
    """A counter window on a new terminal file enrolled with ``server``, its sync client running
    fast (short interval, backoff and timeouts; ``client_kw`` overrides them). Returns (window,
    client, db); the caller closes."""
    from datetime import timedelta

    from app.ui import theme
    from app.ui.app import build_window
    from app.ui.backend import Backend
    from app.ui.sync_status import SyncStatus
    from sync.client import SyncClient, make_terminal

    db = enrolled_station(server, path)
    terminal = make_terminal(db)
    kw = {"interval": 0.3, "backoff_base": 0.05, "backoff_cap": 0.3, "timeout": (0.5, 2.0),
          "lease_horizon": timedelta(days=3), **client_kw}
    client = SyncClient(db, server_url=server.url, terminal=terminal, **kw)
    sync = SyncStatus(client)
    backend = Backend(db, terminal, language=theme.language, on_local_event=sync.nudge)
    theme.set_language("zh_CN")
    window = build_window(backend, sync=sync)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    return window, client, db
