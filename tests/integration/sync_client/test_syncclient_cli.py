"""``kezhan sync`` and ``kezhan export tickets`` against the real server."""

from __future__ import annotations

import json

from app.cli import main
from app.store.engine import open_database
from app.store.users import ensure_user
from sync.client import make_terminal
from tests.integration.sync_client.helpers import CLERK, CLERK_PW, TerminalRig, departure_ids, issue_code


def run(capsys, *argv) -> tuple[int, dict | str]:
    code = main(list(argv))
    out = capsys.readouterr()
    text = out.out
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text + out.err


def test_enrol_sync_once_status_and_export(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    db_file = str(tmp_path / "cli.sqlite3")
    code, out = run(capsys, "sync", "--status", "--db", db_file)
    assert code == 6 and "kezhan sync enrol" in out  # not enrolled: one readable line

    code, out = run(capsys, "sync", "enrol", "--server", server.url, "--code", "WRON-GCOD-EXXX", "--db", db_file)
    assert code == 6 and "注册" in out

    code, out = run(capsys, "sync", "enrol", "--server", server.url, "--code", issue_code(server.url),
                    "--db", db_file, "--json")
    assert code == 0 and out["terminal_id"].endswith("-T01")

    code, out = run(capsys, "sync", "--once", "--json", "--db", db_file)
    assert code == 0 and out["report"]["ok"] and out["status"]["state"] == "online"
    coverage = out["status"]["lease_coverage"]
    assert coverage["departures"] >= 1 and coverage["covered"] == coverage["departures"]

    db = open_database(db_file)
    with db.transaction() as session:
        ensure_user(session, CLERK, "王售票", "clerk", CLERK_PW)
    rig = TerminalRig(tmp_path / "cli.sqlite3", db, make_terminal(db), client=None)
    rig.open_shift()
    sold = [rig.sell(dep).ticket_ids[0] for dep in departure_ids()[:3]]
    db.dispose()

    code, out = run(capsys, "sync", "--status", "--json", "--db", db_file)
    assert code == 0 and out["pending_events"] == 4

    code, out = run(capsys, "sync", "--once", "--db", db_file)
    assert code == 0 and "pending      0 event(s)" in out

    code, out = run(capsys, "export", "tickets", "--json", "--db", db_file)
    assert code == 0 and sorted(t["ticket_id"] for t in out["tickets"]) == sorted(sold)
    server_side = server.server.export_tickets(terminal_id=out["terminal_id"])
    import hashlib

    digest = hashlib.sha256("\n".join(sorted(f"{t['ticket_id']}:{t['status']}" for t in server_side)).encode())
    assert out["digest"] == digest.hexdigest()

    code, out = run(capsys, "sync", "tasks", "--json", "--db", db_file)
    assert code == 0 and out == {"tasks": []}


def test_sync_once_with_the_server_down_says_so_in_one_line(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    db_file = str(tmp_path / "cli.sqlite3")
    assert run(capsys, "sync", "enrol", "--server", server.url, "--code", issue_code(server.url),
               "--db", db_file)[0] == 0
    server.stop()
    code, out = run(capsys, "sync", "--once", "--db", db_file)
    assert code == 6
    assert "Traceback" not in out and "省平台连接中断" in out


def test_simulate_reports_both_sides_and_the_invariants_hold(server, capsys, monkeypatch, tmp_path):
    from tests.integration.sync_client.helpers import ADMIN, HOME

    monkeypatch.setenv("KEZHAN_HOME", str(tmp_path / "home"))
    code, report = run(capsys, "simulate", "--server", server.url, "--admin-token", ADMIN, "--terminals", "3",
                       "--sales", "12", "--web-sales", "10", "--offline-windows", "2", "--seed", "5",
                       "--station", HOME, "--json")
    assert code == 0, report
    assert report["ok"] and report["converged"]
    assert report["missing"] == [] and report["duplicated"] == [] and report["double_sold_seats"] == []
    assert report["conflicts_without_task"] == [] and report["event_mismatches"] == []
    assert report["offline_sales"] > 0
    assert report["terminal_sales"] == report["server_tickets_by_channel"].get("terminal", 0)
    assert report["web_sales"] == report["server_tickets_by_channel"].get("web", 0)
    assert len(server.server.list_terminals()) == 3
    # The text a technician reads gives the calls under load, while selling and while draining.
    from app.commands.simulate import _text

    text = _text(report)
    # The last offline stretch's sales waited for the links: they went up while draining. (How many
    # calls fell while selling depends on how the short online stretches and the worker met.)
    drained = report["upload"]["draining"]["calls"]
    assert report["backlog_when_links_returned"] > 0 and drained > 0
    assert f"upload             {report['upload']['calls']} calls, p50" in text
    assert f"  while draining   {drained} calls, p50" in text
    assert "\npull               " in text and "  while selling    " in text
    assert text.endswith("verdict            OK")
