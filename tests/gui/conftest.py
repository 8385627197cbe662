"""GUI test fixtures: a real demo database, the real services, the real simulators, real widgets.

The demo province is generated and loaded once per test session into a template file; each test
gets its own copy, so tests never see each other's sales. The clock is fixed at 07:00 station time
on the first demo day, so the day's departures are open for sale and the rules behave the same on
every run.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

ZONE = ZoneInfo("Asia/Shanghai")
CLERK, CLERK_PASSWORD = "1001", "1234"
CLERK2, CLERK2_PASSWORD = "1002", "2345"
SUPERVISOR, SUPERVISOR_PASSWORD = "9001", "9999"
FIRST_STOCK = "00100001"


class Clock:
    """The station clock the services see; tests move it forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now = self.now + timedelta(**kw)


@pytest.fixture(scope="session")
def demo_day():
    return datetime.now(ZONE).date()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, demo_day):
    from app.demodata import demo_province
    from app.store.engine import open_database
    from app.store.province import load_province
    from app.store.users import ensure_user

    folder = tmp_path_factory.mktemp("demo-db")
    path = folder / "template.sqlite3"
    db = open_database(path)
    doc = demo_province(demo_day)
    with db.transaction() as session:
        load_province(session, doc, zone=ZONE)
        ensure_user(session, CLERK, "李售票", "clerk", CLERK_PASSWORD)
        ensure_user(session, CLERK2, "张售票", "clerk", CLERK2_PASSWORD)
        ensure_user(session, SUPERVISOR, "王站长", "supervisor", SUPERVISOR_PASSWORD)
    db.engine.dispose()
    return path, doc


@pytest.fixture
def demo_db(demo_template, tmp_path):
    from app.store.engine import open_database

    template, doc = demo_template
    path = tmp_path / "kezhan.sqlite3"
    shutil.copyfile(template, path)
    db = open_database(path)
    yield db, doc
    db.engine.dispose()


@pytest.fixture
def clock(demo_day):
    return Clock(datetime.combine(demo_day, time(7, 0), tzinfo=ZONE).astimezone(UTC))


@pytest.fixture
def terminal(demo_template):
    from app.services.context import Terminal

    _, doc = demo_template
    home = doc["home_station"]
    return Terminal(station_code=home, terminal_id=f"{home}-T01", signing_key=bytes(range(32)),
                    doc_hash_key=b"kezhan-gui-tests-doc-hash-key-32")


@pytest.fixture
def backend(demo_db, terminal, clock):
    from app.ui import theme
    from app.ui.backend import Backend

    db, _ = demo_db
    return Backend(db, terminal, presale_days=10, clock=clock, language=theme.language)


@pytest.fixture
def window(qtbot, backend):
    """The counter window with no devices configured (jobs go to the preview only)."""
    from app.ui import theme
    from app.ui.app import build_window

    theme.set_language("zh_CN")
    win = build_window(backend, width=1366)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    theme.set_language("zh_CN")
