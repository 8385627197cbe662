"""Reconciliation (对账) per terminal and day, and the export CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import requests

from app.cli import main
from sync import protocol

from .conftest import ADMIN, HOME, TOMORROW, Terminal, province_doc


def _day_of_sales(t):
    """Two sales (one with insurance), a refund with a fee, a void, on 2026-11-24 local; and one
    sale at 23:30 local the evening before, which belongs to the 23rd."""
    s1, s2, s3 = t.sale(TOMORROW, 1), t.sale(TOMORROW, 2), t.sale(TOMORROW, 3)
    s2["payload"]["tickets"][0]["insurance"] = 300
    s2["payload"]["payment"]["amount"] = s2["payload"]["payment"]["tendered"] = 3550
    s2["hash"] = protocol.event_hash(s2)
    s1["payload"]["sold_at"] = "2026-11-23T15:30:00Z"  # 23:30 on the 23rd in Asia/Shanghai
    s1["hash"] = protocol.event_hash(s1)
    t2 = s2["payload"]["tickets"][0]["ticket_id"]
    t3 = s3["payload"]["tickets"][0]["ticket_id"]
    refund = t.event("ticket.refunded", {"ticket_id": t2, "fee": 330, "refund_amount": 3220, "forced": False,
                                         "approved_by": None, "refunded_at": "2026-11-24T01:00:00Z",
                                         "clerk": "c01", "shift_id": "S1"})
    void = t.event("ticket.voided", {"ticket_id": t3, "stock_no": "A0003", "voided_at": "2026-11-24T00:01:00Z",
                                     "clerk": "c01", "shift_id": "S1"})
    r = t.upload([s1, s2, s3, refund, void])
    assert r.status_code == 200 and r.json()["conflicts"] == []
    return s1["payload"]["tickets"][0]["ticket_id"], t2, t3


def test_reconciliation_per_terminal_and_day(server):
    t = server.terminal()
    t1, t2, t3 = _day_of_sales(t)
    r = t.call("GET", "/v1/reconciliation?date=2026-11-24")
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["events"] == {"count": 4, "first_seq": 2, "last_seq": 5}
    assert rec["counts"]["ticket.sold"] == 2 and rec["counts"]["tickets_sold"] == 2
    assert rec["counts"]["ticket.refunded"] == 1 and rec["counts"]["ticket.voided"] == 1
    m = rec["money"]
    assert (m["sales"], m["refunds"], m["refund_fees"], m["voids"]) == (3250 + 3550, 3220, 330, 3250)
    assert m["net"] == 3250 + 3550 - 3220 - 3250
    assert m["by_method"] == {"cash": 3250 + 3550}
    assert {x["ticket_id"]: x["status"] for x in rec["tickets"]} == {t2: "refunded", t3: "voided"}
    # No ID numbers leave the server in a reconciliation; masked only.
    assert "11010119900307001X" not in r.text
    prev = t.call("GET", "/v1/reconciliation?date=2026-11-23").json()
    assert [x["ticket_id"] for x in prev["tickets"]] == [t1] and prev["money"]["sales"] == 3250
    # The admin asks the same question about any terminal and gets the same answer.
    admin = server.get_admin("/v1/admin/reconciliation", terminal=t.terminal_id, date="2026-11-24").json()
    assert admin == rec
    r = t.call("GET", "/v1/reconciliation?date=24-11-2026")
    assert r.status_code == 422


def test_export_tickets_cli(server, capsys):
    t = server.terminal()
    _day_of_sales(t)
    db = server.srv.db_url
    assert main(["server", "export-tickets", "--db", db, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 3
    assert {x["status"] for x in out["tickets"]} == {"active", "refunded", "voided"}
    assert main(["server", "export-tickets", "--db", db, "--date", "2026-11-23", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 1
    # The admin export over HTTP says the same.
    assert len(server.get_admin("/v1/admin/tickets", terminal=t.terminal_id).json()["tickets"]) == 3


def test_issue_code_and_revoke_cli(server, capsys):
    db = server.srv.db_url
    assert main(["server", "issue-code", "--db", db, "--station", HOME, "--json"]) == 0
    code = json.loads(capsys.readouterr().out)["code"]
    r = server.enrol_raw(code)
    assert r.status_code == 201
    t = Terminal(server.url, r.json()["terminal_id"], r.json()["secret"], server.clock)
    assert main(["server", "revoke", "--db", db, "--terminal", t.terminal_id]) == 0
    capsys.readouterr()
    assert t.call("GET", "/v1/leases").json()["error"] == "TERMINAL_REVOKED"
    # User errors: one line, non-zero exit, no traceback.
    assert main(["server", "issue-code", "--db", db, "--station", "000000000"]) == 6
    assert "UNKNOWN_STATION" not in capsys.readouterr().err  # the message, not the code, is for people
    assert main(["server", "export-tickets", "--db", db + ".missing", "--json"]) == 6


def test_kezhan_server_runs_until_interrupted(tmp_path):
    province = tmp_path / "province.json"
    province.write_text(json.dumps(province_doc(), ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "KEZHAN_ADMIN_TOKEN": ADMIN, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "server", "--db", str(tmp_path / "s.db"), "--port", "0",
         "--province", str(province)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        first = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in first, first + proc.stderr.read()
        url = first.strip().rsplit(" ", 1)[-1]
        deadline = time.monotonic() + 10
        while True:
            try:
                assert requests.get(url + "/v1/health", timeout=2).json()["status"] == "ok"
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        r = requests.post(url + "/v1/admin/enrolment-codes", json={"station": HOME},
                          headers={"Authorization": f"Bearer {ADMIN}", protocol.H_PROTOCOL: "1"}, timeout=5)
        assert r.status_code == 201
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "admin token (generated)" not in first + out  # it was given, so it is not printed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_server_options_work_before_or_after_serve():
    from app.cli import build_parser
    from app.commands import server as cmd

    p = build_parser()
    a = p.parse_args(["server", "--db", "a.db", "--port", "0", "--empty"])
    assert (a.func, a.db, a.port, a.empty) == (cmd.run_serve, "a.db", 0, True)
    b = p.parse_args(["server", "--db", "b.db", "serve", "--port", "9"])
    assert (b.func, b.db, b.port, b.host) == (cmd.run_serve, "b.db", 9, "127.0.0.1")
    c = p.parse_args(["server", "serve", "--db", "c.db", "--province", "p.json"])
    assert (c.db, c.province, c.port) == ("c.db", "p.json", cmd.DEFAULT_PORT)
    d = p.parse_args(["server", "issue-code", "--db", "d.db", "--station", HOME, "--json"])
    assert (d.func, d.db, d.station, d.json) == (cmd.run_issue_code, "d.db", HOME, True)
