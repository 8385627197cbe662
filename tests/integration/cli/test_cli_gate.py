"""``kezhan gate``: an enrolled terminal file whose 08:00 leaves twenty minutes from the real clock,
checked from the command line as a script would."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.cli import main
from app.domain.ed25519 import PrivateKey
from app.services import PassengerIn, PaymentIn, open_shift, refund, sell
from app.store.engine import open_database
from app.store.models import SyncIdentity
from app.store.province import load_province
from app.store.sync_state import record_enrolment
from app.store.users import ensure_user
from sync.client.identity import make_terminal
from tests.integration.store.tiny_province import (
    D_0800,
    D_1400,
    HOME,
    ID_A,
    ID_B,
    ID_C,
    NINGBO,
    tiny_province,
)

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def station(tmp_path, monkeypatch):
    """(db path, {name: print job}) with three tickets on the 08:00 (one refunded) and one on the 14:00."""
    path = tmp_path / "kezhan.sqlite3"
    now = datetime.now(UTC)
    leaves = (now + timedelta(minutes=20)).astimezone(ZONE)
    doc = tiny_province()
    for d in doc["departures"]:
        d["date"] = leaves.date().isoformat()
        if d["id"] == D_0800:
            d["time"] = leaves.strftime("%H:%M")
        elif d["id"] == D_1400:
            d["time"] = (leaves + timedelta(minutes=30)).strftime("%H:%M")
    key = PrivateKey.generate()
    raw = key.private_bytes()
    public = key.public_key().public_bytes()
    db = open_database(path)
    with db.transaction() as session:
        load_province(session, doc)
        ensure_user(session, "1001", "王售票", "clerk", "clerk-one")
        ensure_user(session, "2001", "赵检票", "gate", "gate-pass")
        record_enrolment(session, SyncIdentity(terminal_id=f"{HOME}-T01", station_code=HOME,
                                               server_url="http://127.0.0.1:9", secret="s" * 32,
                                               signing_key=base64.b64encode(raw).decode(), key_id="T01",
                                               enrolled_at=now), base64.b64encode(public).decode(), None)
    terminal = make_terminal(db)
    open_shift(db, terminal, clerk="1001", first_stock_no="00100001", last_stock_no="00100500", now=now)
    jobs = {}
    for name, doc_no, dep in (("张三", ID_A, D_0800), ("李四", ID_B, D_0800), ("王五", ID_C, D_1400)):
        r = sell(db, terminal, clerk="1001", departure_id=dep, stop=NINGBO,
                 passengers=[PassengerIn("full", name, doc_number=doc_no)], payment=PaymentIn("cash"), now=now)
        jobs[name] = r.print_jobs[0]
    refund(db, terminal, clerk="1001", ticket_id=jobs["李四"].ticket_id, now=now)
    db.dispose()
    monkeypatch.setenv("KEZHAN_PASSWORD", "gate-pass")
    return path, jobs, leaves.date().isoformat()


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_status_open_check_stop_and_roadbill(station, capsys, tmp_path):
    path, jobs, day = station
    db = ["--db", str(path)]
    # The day is named: twenty minutes from now may be tomorrow already.
    assert main(["gate", "status", "--date", day, "--json", *db]) == 0
    status = _json(capsys)
    [d] = [d for d in status["departures"] if d["id"] == D_0800]
    assert d["state"] == "waiting" and d["sold"] == 1 and d["gate"] == "3"

    assert main(["gate", "open", D_0800, "--plate", "浙A12345", "--driver", "王师傅", "--user", "2001", "--json",
                 *db]) == 0
    assert _json(capsys)["state"] == "checking"

    assert main(["gate", "check", jobs["张三"].ticket_code, "--departure", D_0800, "--user", "2001", "--json",
                 *db]) == 0
    v = _json(capsys)
    assert v["verdict"] == "BOARD" and v["ticket_id"] == jobs["张三"].ticket_id and v["departure_id"] == D_0800
    assert v["seat_no"] == jobs["张三"].seat_no and "请上车" in v["message"] and v["en"].startswith("Board")

    assert main(["gate", "check", jobs["张三"].ticket_code, "--departure", D_0800, "--user", "2001", "--json",
                 *db]) == 1
    assert _json(capsys)["verdict"] == "ALREADY_CHECKED"
    assert main(["gate", "check", jobs["李四"].ticket_code, "--departure", D_0800, "--user", "2001", "--json",
                 *db]) == 1
    assert _json(capsys)["verdict"] == "REFUNDED"
    assert main(["gate", "check", jobs["王五"].ticket_code, "--departure", D_0800, "--user", "2001", "--json",
                 *db]) == 1
    assert _json(capsys)["verdict"] == "WRONG_DEPARTURE"
    assert main(["gate", "check", "not a code", "--departure", D_0800, "--user", "2001", *db]) == 1
    assert capsys.readouterr().out.startswith("UNREADABLE")

    png = tmp_path / "bill.png"
    assert main(["gate", "stop", D_0800, "--user", "2001", "--json", "--png", str(png), *db]) == 0
    bill = _json(capsys)
    assert bill["number"] == f"{HOME}-T01-000001" and bill["totals"]["count"] == 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["gate", "roadbill", D_0800, "--json", *db]) == 0
    assert _json(capsys)["number"] == bill["number"]
    assert main(["gate", "check", jobs["张三"].ticket_code, "--departure", D_0800, "--user", "2001", "--json",
                 *db]) == 1


def test_a_clerk_cannot_check_and_a_wrong_password_is_refused(station, capsys, monkeypatch):
    path, jobs, _day = station
    monkeypatch.setenv("KEZHAN_PASSWORD", "clerk-one")
    assert main(["gate", "check", jobs["张三"].ticket_code, "--departure", D_0800, "--user", "1001",
                 "--db", str(path)]) != 0
    assert "检票口" in capsys.readouterr().err
    monkeypatch.setenv("KEZHAN_PASSWORD", "wrong")
    assert main(["gate", "check", jobs["张三"].ticket_code, "--departure", D_0800, "--user", "2001",
                 "--db", str(path)]) != 0
    assert "密码错误" in capsys.readouterr().err
